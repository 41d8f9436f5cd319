// Probe: what the bandwidth benchmark's method costs by itself. An index-only stream (no payload, no frame,
// spinning, the head published at every message) in which the receiver acknowledges every WINDOW messages and the
// sender waits for that acknowledgement before its next window, as osu_bw and `shmcomm bench bandwidth` do.
// Compare with stream-floor.mjs, the same stream without acknowledgements. (A producer that batches its
// publications, as a corked shmcomm ring does, can go faster than this.)
// Run: node docs/probes/window-floor.mjs   (WINDOW=16 node docs/probes/window-floor.mjs for another window)
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const N = 20_000_000, CAPACITY = 4096;
const WINDOW = Number(process.env.WINDOW ?? 64);
if (!Number.isInteger(WINDOW) || WINDOW < 1) throw new RangeError(`WINDOW must be an integer from 1, got ${process.env.WINDOW}`);
const HEAD = 0, TAIL = 16, ACK = 32; // Int32 slots, a cache line apart

if (isMainThread) {
  for (let run = 0; run < 3; run++) {
    const sab = new SharedArrayBuffer(256);
    const workers = ['producer', 'consumer'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab } }));
    const rates = await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    console.log(`index-only stream, acknowledged every ${WINDOW}:`, rates.map((x) => `${(x / 1e6).toFixed(1)}M/s`).join(' '));
    await Promise.all(workers.map((w) => w.terminate()));
  }
} else {
  const words = new Int32Array(workerData.sab);
  const started = performance.now();
  if (workerData.role === 'producer') {
    let head = 0, cachedTail = 0;
    for (let i = 0; i < N; i++) {
      while (head - cachedTail >= CAPACITY) cachedTail = Atomics.load(words, TAIL);
      Atomics.store(words, HEAD, ++head);
      if (head % WINDOW === 0) while (Atomics.load(words, ACK) !== head / WINDOW);
    }
  } else {
    let tail = 0, cachedHead = 0;
    for (let i = 0; i < N; i++) {
      while (tail === cachedHead) cachedHead = Atomics.load(words, HEAD);
      Atomics.store(words, TAIL, ++tail);
      if (tail % WINDOW === 0) Atomics.store(words, ACK, tail / WINDOW);
    }
  }
  parentPort.postMessage(N / ((performance.now() - started) / 1000));
}
