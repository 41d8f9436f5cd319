// Probe: 8-byte messages streamed one by one through shmcomm's ring (write, then peek/release), two threads;
// the last line corks the producer (RingBuffer.cork: one publication per 16 messages).
// Run after npm run build: node docs/probes/ring-small.mjs
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { RingBuffer } from '../../dist/src/ring.js';
const N = 2_000_000;
if (isMainThread) {
  for (const [strategy, cork] of [['spinThenPark', false], ['spin', false], ['spinThenPark', true]]) {
    const ring = RingBuffer.create(1 << 16);
    const ws = ['p', 'c'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab: ring.buffer, strategy, cork } }));
    const res = await Promise.all(ws.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    console.log(strategy + (cork ? ' corked' : ''), res.map((x) => x.toFixed(2) + 'M msg/s').join(' '));
    await Promise.all(ws.map((w) => w.terminate()));
  }
} else {
  const ring = RingBuffer.attach(workerData.sab, { strategy: workerData.strategy });
  const msg = new Uint8Array(8);
  const t = performance.now();
  if (workerData.role === 'p') { if (workerData.cork) ring.cork(); for (let i = 0; i < N; i++) { msg[0] = i; ring.write(msg); } ring.uncork(); }
  else { for (let i = 0; i < N; i++) { ring.peek(); ring.release(); } }
  parentPort.postMessage(N / (performance.now() - t) / 1000);
}
