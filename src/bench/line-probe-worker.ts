/**
 * One side of line-probe.ts: side 0 writes its counter and waits for side 1 to echo it, `bounces` times; side 1
 * echoes. Side 0 reports the one-way time in µs (half a round trip).
 */
import { parentPort, workerData } from 'node:worker_threads';

const { counters, side, bounces } = workerData as { counters: Int32Array; side: 0 | 1; bounces: number };
const MINE = side * 16, THEIRS = (1 - side) * 16; // Int32 slots, a cache line apart
const started = performance.now();
for (let i = 1; i <= bounces; i++) {
  if (side === 0) {
    Atomics.store(counters, MINE, i);
    while (Atomics.load(counters, THEIRS) !== i);
  } else {
    while (Atomics.load(counters, THEIRS) !== i);
    Atomics.store(counters, MINE, i);
  }
}
parentPort!.postMessage(((performance.now() - started) * 1000) / bounces / 2);
