// Probe: the least one-way latency two threads can have here: each bounces a counter through shared memory, spinning.
// Run: node docs/probes/latency-floor.mjs
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
const N = 2_000_000;
if (isMainThread) {
  for (let r = 0; r < 3; r++) {
    const sab = new SharedArrayBuffer(256);
    const ws = ['a', 'b'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab } }));
    const res = await Promise.all(ws.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    console.log('one-way, µs:', res[0].toFixed(3));
    await Promise.all(ws.map((w) => w.terminate()));
  }
} else {
  const w = new Int32Array(workerData.sab); const A = 0, B = 16;
  const t = performance.now();
  if (workerData.role === 'a') { for (let i = 1; i <= N; i++) { Atomics.store(w, A, i); while (Atomics.load(w, B) !== i); } }
  else { for (let i = 1; i <= N; i++) { while (Atomics.load(w, A) !== i); Atomics.store(w, B, i); } }
  parentPort.postMessage((performance.now() - t) * 1000 / N / 2);
}
