/**
 * One side of line-probe.ts. Once side 1 is running (READY), and after a warm-up, side 0 writes its counter and
 * waits for side 1 to echo it, up to `bounces` times or `maxMs` milliseconds (the warm-up: WARMUP bounces or a tenth
 * of that), then writes STOP; side 1 echoes until it reads STOP. The time bounds matter when both threads share one
 * core: each bounce can then cost a scheduler time slice. Side 0 reports the one-way time in µs (half a round trip).
 */
import { parentPort, workerData } from 'node:worker_threads';

const { counters, side, bounces, maxMs } = workerData as { counters: Int32Array; side: 0 | 1; bounces: number; maxMs: number };
const MINE = side * 16, THEIRS = (1 - side) * 16; // Int32 slots, a cache line apart
const READY = 32; // side 1 sets it once it runs: side 0 does not time the other thread's start-up
const STOP = -1;
const WARMUP = 1000;

/** Side 0: bounces after the first `done`, up to `count` of them or `ms` milliseconds; returns the last one made. */
function bounce(done: number, count: number, ms: number): number {
  const until = performance.now() + ms;
  const last = done + count;
  while (done < last && (done % 16 !== 0 || performance.now() < until)) { // the clock read every 16 bounces
    done++;
    Atomics.store(counters, MINE, done);
    while (Atomics.load(counters, THEIRS) !== done);
  }
  return done;
}

if (side === 0) {
  while (Atomics.load(counters, READY) === 0);
  const warm = bounce(0, WARMUP, maxMs / 10);
  const started = performance.now();
  const done = bounce(warm, bounces, maxMs);
  const elapsed = performance.now() - started;
  Atomics.store(counters, MINE, STOP);
  parentPort!.postMessage((elapsed * 1000) / (done - warm) / 2);
} else {
  Atomics.store(counters, READY, 1);
  for (let i = 1; ; i++) {
    let seen: number;
    while ((seen = Atomics.load(counters, THEIRS)) !== i && seen !== STOP);
    if (seen === STOP) break;
    Atomics.store(counters, MINE, i);
  }
  parentPort!.postMessage(0);
}
