/**
 * How far apart the two cores that run our threads are: two worker threads bounce one counter through shared
 * memory, spinning, and the one-way time of a bounce is the time a cache line takes to cross from one to the other.
 *
 * On a virtual machine that number is not a constant. On the first 2-core VM this project was measured on (cpu
 * family 26), it is either about 0.1 µs (the two vCPUs share a cache, likely one core complex: a spinning thread does
 * not slow the other, as it would on one core's two hyperthreads) or about 0.5 µs (they do not), and the VM moves
 * between the two within minutes. Which ring suits ringbuf depends on it (see AUTO_RING_BYTES in bandwidth.ts), so
 * `--ring auto` looks before it chooses, and the copying modes' speed depends on it, so the header of a run says
 * which state it began in.
 * docs/probes/latency-floor.mjs measures the same, stand-alone and longer (2 million bounces, no warm-up or bound).
 */
import { startWorker } from '../workers.js';

/** Bounces per measurement (about 10 to 50 ms), and a time bound for when the two threads share one core. */
const BOUNCES = 100_000;
const MAX_MS = 50;

const WORKER_URL = new URL('./line-probe-worker.js', import.meta.url);

/** The one-way time, in µs, of a cache line between two worker threads (the median of three measurements). */
export async function measureLineMicros(): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < 3; run++) times.push(await bounce());
  return times.sort((a, b) => a - b)[1]!;
}

async function bounce(): Promise<number> {
  const counters = new Int32Array(new SharedArrayBuffer(192)); // two counters and a ready flag, a line apart each
  const workerData = (side: number) => ({ counters, side, bounces: BOUNCES, maxMs: MAX_MS });
  const workers = [0, 1].map((side) => startWorker(WORKER_URL, { workerData: workerData(side) }));
  try {
    const results = await Promise.all(workers.map((worker) => new Promise<number>((resolve, reject) => {
      worker.once('message', resolve).once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the line probe's worker exited (code ${code}) before it reported`)));
    })));
    return results[0]!;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
