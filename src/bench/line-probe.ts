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

/**
 * The progress line while the line probe runs, at the start of a run or at its end (`bandwidth: probing the machine's
 * state`): each look starts two workers three times, which takes seconds on a busy machine.
 */
export function probeProgress(benchmark: string, when: 'start' | 'end'): string {
  return `${benchmark}: probing the machine's state${when === 'end' ? ' at the end' : ''}`;
}

/** Below this one-way line time (µs) the two cores are taken to share a cache. */
export const NEAR_LINE_MICROS = 0.25;

/**
 * From this "line time" (µs) the probe did not time a cache line crossing alone: its two threads took turns on a
 * core of a machine busy with something else (3,700 µs measured beside another benchmark, 2.2 µs under a lighter
 * load). Cores apart (the far state of docs/PERFORMANCE.md) take 0.26 to 0.68 µs on its three VMs.
 */
const BUSY_LINE_MICROS = 1;

/** True when a cache line crosses between the two threads fast enough for them to share a cache. */
export const sharesCache = (lineMicros: number): boolean => lineMicros < NEAR_LINE_MICROS;
/** True when the probe's threads took turns: the reading tells a busy machine, not a state. */
export const busy = (lineMicros: number): boolean => lineMicros >= BUSY_LINE_MICROS;

/**
 * A line time in two decimals, or, where those would round it up onto a threshold it is below, in three, cut rather
 * than rounded: 0.2496 is `0.249` (it shares a cache), not `0.25`, which the threshold would put in the other state.
 */
function microsText(lineMicros: number): string {
  const roundsOntoThreshold = [NEAR_LINE_MICROS, BUSY_LINE_MICROS].some(
    (threshold) => lineMicros < threshold && lineMicros.toFixed(2) === threshold.toFixed(2),
  );
  return roundsOntoThreshold ? (Math.floor(lineMicros * 1000) / 1000).toFixed(3) : lineMicros.toFixed(2);
}

/** What a line time at the start of a run tells, for a benchmark's header: the state, or a busy machine. */
export function describeLine(lineMicros: number): string {
  const micros = microsText(lineMicros);
  if (busy(lineMicros)) {
    return `the line probe took ${micros} µs a bounce, at a second try too: its threads took turns, the machine is busy`;
  }
  return `a line crosses in ${micros} µs: ${sharesCache(lineMicros) ? 'the threads share a cache' : 'they share no cache'}`;
}

/**
 * The line time at the start of a run. A busy reading tells no state, only that the probe's threads took turns on a
 * core; a busy moment may pass, so the probe looks once more before the run settles for it (and for ringbuf's
 * fixed ring).
 */
export async function lineAtStart(measureLine: () => Promise<number>): Promise<number> {
  const first = await measureLine();
  return busy(first) ? measureLine() : first;
}

/** What still compares in a run that met a busy machine or two states: bandwidth's modes run size by size, by turns. */
const MODES_BY_TURNS = 'the modes of one size do, they ran back to back';

/**
 * A note for a run whose line time crossed NEAR_LINE_MICROS (`timeline`: each measurement and when it was made):
 * the machine changed state during the run, so some sizes met one machine and some the other; `compares` says what
 * still compares. A line time from BUSY_LINE_MICROS is no state: the machine was busy.
 */
export function stateChangeNote(
  timeline: readonly { when: string; lineMicros: number }[], compares = MODES_BY_TURNS,
): string | undefined {
  const points = timeline.map(({ when, lineMicros }) => `${microsText(lineMicros)} µs ${when}`).join(', ');
  if (timeline.some(({ lineMicros }) => busy(lineMicros))) {
    return `Note: the machine was busy during the run (a cache line between the threads: ${points}): figures met ` +
      `at a busy moment may be far off, and sizes measured at different moments do not compare; ${compares}.`;
  }
  const near = timeline.filter(({ lineMicros }) => sharesCache(lineMicros)).length;
  if (near === 0 || near === timeline.length) return undefined;
  return `Note: the machine changed state during the run (a cache line between the threads: ${points}): sizes ` +
    `measured in different states do not compare; ${compares} (docs/PERFORMANCE.md, "this machine has two states").`;
}
