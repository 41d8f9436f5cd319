// Probe: 8-byte messages streamed one by one through shmcomm's ring (write, then peek/release), two threads.
// Run after npm run build: node docs/probes/ring-small.mjs
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { RingBuffer } from '../../dist/src/ring.js';
const N = 2_000_000;
if (isMainThread) {
  for (const strategy of ['spinThenPark', 'spin']) {
    const ring = RingBuffer.create(1 << 16);
    const ws = ['p', 'c'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab: ring.buffer, strategy } }));
    const res = await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
    console.log(strategy, res.map((x) => x.toFixed(2) + 'M msg/s').join(' '));
    await Promise.all(ws.map((w) => w.terminate()));
  }
} else {
  const ring = RingBuffer.attach(workerData.sab, { strategy: workerData.strategy });
  const msg = new Uint8Array(8);
  const t = performance.now();
  if (workerData.role === 'p') { for (let i = 0; i < N; i++) { msg[0] = i; ring.write(msg); } }
  else { for (let i = 0; i < N; i++) { ring.peek(); ring.release(); } }
  parentPort.postMessage(N / (performance.now() - t) / 1000);
}
