/**
 * How the latency benchmark's ping measures (latency-worker.ts holds the modes): round trips timed in batches of about
 * half a millisecond, sized from the warm-up, and the median of the batches' per-trip times, halved: a few batches hit
 * by a scheduler hiccup or a GC do not move it. With `--iterations N`, exactly N round trips are timed, in about 20
 * batches. Apart from the worker, so that a test can drive it with an endpoint of its own.
 */
import type { LatencyJob, LatencyReport } from './latency-worker.js';
import { TRIPS } from './signal.js';

/** The ping's side of one mode. Only `roundTrip` and `finish` may be asynchronous. */
export interface PingEndpoint {
  begin(bytes: number): void;
  /** Sends message `seq`, waits for it to come back and checks it; false when it came back wrong. */
  roundTrip(seq: number): boolean | Promise<boolean>;
  finish(): void | Promise<void>;
}

const TARGET_BATCH_MS = 0.5;
const ITERATION_BATCHES = 20;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Measures every size of `job` through `endpoint`, and tells `report` each size's start and result: warm-up trips
 * (one at least), then batches of trips, timed one by one, until the time (or `--iterations`) is spent.
 */
export async function drive(
  job: LatencyJob, endpoint: PingEndpoint, report: (message: LatencyReport) => void,
): Promise<void> {
  for (const bytes of job.sizes) {
    report({ type: 'start', bytes });
    endpoint.begin(bytes);
    let seq = 0;
    let failures = 0;
    // `count` round trips; a synchronous endpoint never awaits inside the loop (a microtask per trip would cost
    // about as much as a spinning ring's whole round trip).
    // Each trip also shows the main thread's watchdog that the run moves (TRIPS): a plain store, not an atomic one,
    // the cheapest write there is, read once a second; the count may wrap, it need only change.
    const trips = async (count: number): Promise<void> => {
      for (let k = 0; k < count; k++) {
        const outcome = endpoint.roundTrip(seq++);
        job.control[TRIPS] = seq;
        if (outcome === true) continue;
        if (outcome === false || !(await outcome)) failures++;
      }
    };
    // Warm up (one trip at least), and learn how long a trip takes to size the batches.
    const warmStart = performance.now();
    const warmUntil = warmStart + job.warmupSeconds * 1000;
    do await trips(1); while (performance.now() < warmUntil);
    const tripMs = (performance.now() - warmStart) / seq;
    let batch = Math.max(1, Math.min(100_000, Math.round(TARGET_BATCH_MS / tripMs)));
    if (job.iterations !== undefined) batch = Math.max(1, Math.floor(job.iterations / ITERATION_BATCHES));
    const oneWay: number[] = [];
    let roundTrips = 0;
    let measuredMs = 0;
    const budget = job.seconds * 1000;
    for (;;) {
      const count = job.iterations === undefined ? batch : Math.min(batch, job.iterations - roundTrips);
      if (count <= 0) break;
      const started = performance.now();
      await trips(count);
      const elapsed = performance.now() - started;
      oneWay.push((elapsed * 1000) / count / 2);
      roundTrips += count;
      measuredMs += elapsed;
      if (job.iterations === undefined && measuredMs >= budget) break;
    }
    // Every echo is checked, the warm-up's too: `failures` is of `checked`, not of the timed `roundTrips`
    const seconds = measuredMs / 1000;
    report({ type: 'result', bytes, microseconds: median(oneWay), roundTrips, seconds, failures, checked: seq });
  }
  await endpoint.finish();
}
