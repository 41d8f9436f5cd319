// Probe: the most messages/s two threads can stream through shared memory when a message is only an index bump
// (no payload, no frame): the floor under any ring. Run: node docs/probes/stream-floor.mjs
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
// The floor of a ring: indices only, no payload, no frames. Producer publishes head per message; consumer
// reloads head only when it has caught up and publishes tail per message (Rigtorp-style caching on both sides).
const N = 20_000_000, CAP = 4096;
if (isMainThread) {
  for (let r = 0; r < 2; r++) {
    const sab = new SharedArrayBuffer(256);
    const ws = ['p', 'c'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab } }));
    const res = await Promise.all(ws.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    console.log('index-only stream:', res.map((x) => (x / 1e6).toFixed(1) + 'M/s').join(' '));
    await Promise.all(ws.map((w) => w.terminate()));
  }
} else {
  const w = new Int32Array(workerData.sab); const HEAD = 0, TAIL = 16;
  const t = performance.now();
  if (workerData.role === 'p') { let head = 0, cachedTail = 0; for (let i = 0; i < N; i++) { if (head - cachedTail >= CAP) { do cachedTail = Atomics.load(w, TAIL); while (head - cachedTail >= CAP); } head++; Atomics.store(w, HEAD, head); } }
  else { let tail = 0, cachedHead = 0; for (let i = 0; i < N; i++) { if (tail === cachedHead) { do cachedHead = Atomics.load(w, HEAD); while (tail === cachedHead); } tail++; Atomics.store(w, TAIL, tail); } }
  parentPort.postMessage(N / ((performance.now() - t) / 1000));
}
