/**
 * `shmcomm bench bandwidth`: MB/s between two worker threads per message size and mode, next to the one-thread
 * memcpy ceiling, like OSU osu_bw. This file is the main thread's part: it starts one pair of workers per mode
 * (bandwidth-worker.ts), lets the modes measure by turns, size by size, collects what they measured and verified,
 * and prints the table and the chart.
 *
 * Fairness, in one place (the details are in the files of each mode):
 * - every mode starts from a filled Float64Array in the sender's own memory and ends when the receiver has checked
 *   the message's stamps, one at each end, one in the middle and one in every 256 KiB (payload.ts): no mode can skip
 *   or reuse a message, or any 256 KiB of one;
 * - every receiver ends with every byte of the message pulled to its core: those of clone, shared, ringbuf and
 *   process with a copy of it; zerocopy's reads it where it lies in the ring (a WebAssembly SIMD sum), the transfer
 *   modes' compare the array they were handed with what was sent, and none of these copies it out (a note under the
 *   table says so). For these three the bytes change from message to message (payload-whole.ts), so that a message
 *   made of an earlier one's bytes fails too;
 * - the sender times from before its first measured window to after its last acknowledgement;
 * - acknowledgements: one Int32 counter for the three ring modes (shared, zerocopy, ringbuf), the transport itself
 *   for the postMessage and process modes (signal.ts says why);
 * - every wait is shmcomm's default spin-then-park, ringbuf.js's included (it has none of its own);
 * - a window carries at most 64 MiB (payload.ts), so 64 MiB messages go one per acknowledgement in every mode.
 */
import { MessageChannel } from 'node:worker_threads';
import { RING_HEADER_BYTES, RingBuffer } from '../ring.js';
import { sharedMemory, type WasmMemory } from '../wasm.js';
import { DEFAULT_COLUMNS, Progress, shouldUseColor, terminalColumns, wrap, wrapText } from '../term.js';
import type { BandwidthMode, BandwidthOptions } from './args.js';
import { isRingMode, type BandwidthJob, type BandwidthReport, type RingMode } from './bandwidth-job.js';
import { createRingbufStorage } from './bandwidth-rings.js';
import { renderChart } from './chart.js';
import { formatNumber, formatSize, listed, logSizes } from './format.js';
import { PeerGroup, stallMsFor } from './peers.js';
import {
  Eta, formatDuration, formatShortCount, headerLine, jsonText, machine, processOutput, VerificationError, writeCsv,
  type BenchOutput,
} from './report.js';
import { abortControl, createControl, openGate } from './signal.js';
import {
  busy, describeLine, lineAtStart, measureLineMicros, probeProgress, sharesCache, stateChangeNote,
} from './line-probe.js';
import { renderTable } from './table.js';

/**
 * `--ring auto`: each ring mode at the size it streams best at on this machine (docs/PERFORMANCE.md has the sweeps).
 * shmcomm's modes copy with C's `memcpy` (src/copy.ts). zerocopy's receiver reads every byte in place, and is fastest
 * on 4 MiB: on the Zen 4 VM, 64 KiB to 16 MiB, four runs by turns near (2026-11-29), 38 to 39 GB/s from 256 KiB to
 * 4 MiB on 4 MiB, 32 to 35 on 8, 20 to 25 on 2 and 9 on 1 MiB, whose lines the receiver must pull out of the sender's
 * L2 (a receiver that read only the stamps was fastest on 1 MiB, which stayed in the caches). shared copies out of
 * the ring, and its sender, copying faster than the receiver, keeps the ring nearly full: the receiver reads lines
 * written about a ring ago. On a ring no larger than a core's L2 (1 MiB on the Zen 4 VM; 512 KiB on the Zen 3 VM,
 * `lscpu`) those lines are still dirty in the sender's L2, and each must be pulled out of it; on 2 MiB they have gone
 * to the L3 the cores share. On a 2-core Zen 4 VM (cpu family 25) with its two threads 0.03 to 0.06 µs apart, shared
 * streamed 22 to 31 GB/s at 128 KiB on 2 MiB against 10 to 14 on 1 MiB, eight runs by turns; on the family-26 VM in its
 * far state rings of 256 KiB to 2 MiB had tied, and 32 MiB lost 10 to 25% from 64 KiB up. ringbuf.js copies with
 * `set()`, which depends on how far apart the two cores are (line-probe.ts). When a cache line crosses from one to the
 * other in under 0.25 µs, they share a cache, and a 1 MiB ring keeps the whole stream in it. When they do not, a 32 MiB
 * ring is better for it: the receiver reads lines the sender wrote long ago, gone from the sender's cache, instead of
 * pulling dirty lines out of it. When the probe finds the machine busy (BUSY_LINE_MICROS), twice, it tells no state:
 * ringbuf then gets a fixed ring, the near state's 1 MiB, since threads that take turns on one core share its caches
 * too.
 */
export const AUTO_RING_BYTES = {
  zerocopy: 4 * 2 ** 20,
  shared: 2 * 2 ** 20,
  ringbufNear: 2 ** 20,
  ringbufFar: 32 * 2 ** 20,
  ringbufBusy: 2 ** 20,
} as const;

export type { RingMode };

/** `--ring auto`'s ring for `mode`, given the one-way time of a cache line between the two threads (µs). */
export function autoRingBytes(mode: RingMode, lineMicros: number): number {
  if (mode !== 'ringbuf') return AUTO_RING_BYTES[mode];
  if (busy(lineMicros)) return AUTO_RING_BYTES.ringbufBusy;
  return sharesCache(lineMicros) ? AUTO_RING_BYTES.ringbufNear : AUTO_RING_BYTES.ringbufFar;
}

/** The ring a ring mode ran on; for a copying mode under auto, the line time measured at the start (`lineMicros`). */
export interface RingChoice {
  mode: RingMode;
  bytes: number;
  lineMicros?: number;
  /** zerocopy, where sharedMemory gave no WebAssembly.Memory (wasm.ts says why): its receiver reads in JavaScript. */
  readInJs?: true;
}

/**
 * The ring for `mode`: `--ring`'s size, or auto's: shmcomm's own, or for ringbuf the one that suits the line time
 * measured at the start of the run. The copying modes' choices carry that line time (`lineMicros`): their speed
 * depends on the state it tells.
 */
function chooseRing(mode: RingMode, fixedBytes: number | undefined, lineMicros: number): RingChoice {
  if (fixedBytes !== undefined) return { mode, bytes: fixedBytes };
  const bytes = autoRingBytes(mode, lineMicros);
  return mode === 'zerocopy' ? { mode, bytes } : { mode, bytes, lineMicros };
}

/**
 * The header's words for the rings of a run: `ring 4 MiB`, or each auto choice, and the line time measured at the
 * start (which says the machine's state, and chose ringbuf's ring, unless the machine was busy).
 */
export function describeRings(choices: readonly RingChoice[], fixedBytes: number | undefined, lineMicros = NaN): string {
  const rings = fixedBytes !== undefined ? `ring ${formatSize(fixedBytes)}`
    : `rings (auto): ${choices.map(({ mode, bytes }) => `${mode} ${formatSize(bytes)}`).join(', ')}`;
  if (Number.isNaN(lineMicros)) return rings;
  const ringbuf = busy(lineMicros) && choices.some(({ mode }) => mode === 'ringbuf')
    ? ', so ringbuf runs on its fixed ring, not one chosen by the state' : '';
  return `${rings} (${describeLine(lineMicros)}${ringbuf})`;
}

export interface BandwidthRow {
  mode: BandwidthMode;
  bytes: number;
  mbPerSec: number;
  messages: number;
  seconds: number;
  /** Ring modes: the ring the mode ran on; shared and ringbuf under auto, the line time measured at the start. */
  ringBytes?: number;
  lineMicros?: number;
  /**
   * With `--rounds N` (N > 1): each round's MB/s, in the order they ran. `mbPerSec`, `messages` and `seconds` are
   * then the median round's (for an even N, the lower of the two middle ones).
   */
  rounds?: number[];
}

/** The CSV's columns; `rounds` holds each round's MB/s, in the order they ran, apart by spaces (`--rounds`). */
export const BANDWIDTH_COLUMNS = ['mode', 'bytes', 'mbPerSec', 'messages', 'seconds', 'ringBytes', 'lineMicros', 'rounds'] as const;

export interface BandwidthEvents {
  /** A mode starts measuring a size. */
  onStart?: (mode: BandwidthMode, bytes: number) => void;
  /** A mode finished a size (measured, or skipped as too slow). */
  onFinish?: (mode: BandwidthMode, bytes: number) => void;
  /** A mode starts its workers (and the process mode its child), before any mode measures: once a mode. */
  onLaunch?: (mode: BandwidthMode) => void;
  /** The line probe starts a look, at the start of the run or at its end (its result comes in onLine). */
  onProbe?: (when: 'start' | 'end') => void;
  /** A ring mode's ring, chosen before any worker starts. */
  onRing?: (choice: RingChoice) => void;
  /** `--ring auto` measured the line time at the start of the run (which places ringbuf's ring) or at its end. */
  onLine?: (when: 'start' | 'end', lineMicros: number) => void;
}

const WORKER_URL = new URL('./bandwidth-worker.js', import.meta.url);
const CHILD_URL = new URL('./process-peer.js', import.meta.url);

/**
 * Measures every mode at every size of `opts` and returns the rows, mode by mode, sizes ascending. A size that a
 * slow mode skipped has no row. Rejects if any message failed verification; no worker or child survives the call.
 *
 * The modes take turns, size by size: every mode's workers start first and wait, parked, and the main thread lets
 * one mode at a time measure one size. A machine that changes state mid-run (this project's VM does, within seconds)
 * then moves a few sizes of every mode, not every size of a few modes: the modes of one row still compare.
 */
export async function measureBandwidth(
  opts: BandwidthOptions, events: BandwidthEvents = {}, measureLine: () => Promise<number> = measureLineMicros,
): Promise<BandwidthRow[]> {
  const sizes = logSizes(opts.minBytes, opts.maxBytes, opts.points);
  // Every round measures every size, by turns; the next round starts over. A noisy minute then costs each size one
  // round, not all of its rounds.
  const turnSizes = Array.from({ length: opts.rounds }, () => sizes).flat();
  // Auto places ringbuf's ring by the line time, measured before any worker starts (nothing else runs then), and
  // measures it again at the end: the state can change mid-run. It looks whenever a ring mode runs, whose speed the
  // state decides: the header says which state the run began in, the note whether it changed.
  const watching = opts.ringBytes === undefined && opts.modes.some(isRingMode);
  if (watching) events.onProbe?.('start');
  const startLine = watching ? await lineAtStart(measureLine) : NaN; // NaN: no ring is placed by it
  if (watching) events.onLine?.('start', startLine);
  const turns: ModeTurns[] = [];
  try {
    for (const mode of opts.modes) {
      events.onLaunch?.(mode);
      const ring = isRingMode(mode) ? chooseRing(mode, opts.ringBytes, startLine) : undefined;
      turns.push(await startMode(mode, turnSizes, opts, ring, events));
    }
    const anyFailure = new Promise<never>((_, reject) => { for (const turn of turns) turn.finished.catch(reject); });
    anyFailure.catch(() => {}); // awaited below; a failure between two awaits is not unhandled
    for (let index = 0; index < turnSizes.length; index++) {
      for (const turn of turns) await Promise.race([turn.measure(index), anyFailure]);
    }
    await Promise.all(turns.map((turn) => turn.finished));
  } catch (error) {
    for (const turn of turns) turn.fail(error); // each group wakes its workers, terminates them, kills children
    await Promise.allSettled(turns.map((turn) => turn.finished));
    throw error;
  }
  if (watching) {
    events.onProbe?.('end');
    events.onLine?.('end', await measureLine());
  }
  return turns.flatMap((turn) => turn.rows(sizes.length));
}

/** Rounds whose fastest is more than this many times their slowest: the machine moved under them. */
const SPREAD_NOTE_RATIO = 2;
/** The most rows a spread note names; it counts the rest. */
const SPREAD_NOTE_ROWS = 6;

/**
 * A note for a run with `--rounds` whose rounds of one mode and size disagree by more than 2x: on a shared machine a
 * round can fall to a fraction of the others (docs/PERFORMANCE.md, "The collapses are this VM's far state"), and a
 * reader of the table, which shows only the medians, should know which of them stand for rounds that far apart.
 */
export function spreadNote(rows: readonly BandwidthRow[]): string | undefined {
  const spread = rows.filter(({ rounds }) => rounds !== undefined && Math.max(...rounds) > SPREAD_NOTE_RATIO * Math.min(...rounds));
  if (spread.length === 0) return undefined;
  const named = spread.slice(0, SPREAD_NOTE_ROWS).map(({ mode, bytes, rounds }) =>
    `${mode} ${formatSize(bytes)} ${formatNumber(Math.min(...rounds!))} to ${formatNumber(Math.max(...rounds!))}`);
  const more = spread.length > SPREAD_NOTE_ROWS ? `, and ${spread.length - SPREAD_NOTE_ROWS} more` : '';
  return `Note: rounds that differ more than ${SPREAD_NOTE_RATIO}x, MB/s (the table shows their median): ${named.join(', ')}${more}.`;
}

/**
 * A note for a run with `--rounds N` where a mode skipped a size in some rounds but not all (a size over 16 MiB is
 * skipped when the round's previous size predicts a message slower than a second): that row's median is of fewer
 * rounds than the header says.
 */
export function fewerRoundsNote(rows: readonly BandwidthRow[], rounds: number): string | undefined {
  const fewer = rows.filter((row) => row.rounds !== undefined && row.rounds.length < rounds);
  if (fewer.length === 0) return undefined;
  const named = fewer.map(({ mode, bytes, rounds: measured }) => `${mode} ${formatSize(bytes)} in ${measured!.length}`);
  return `Note: measured in fewer of the ${rounds} rounds (skipped as too slow in the others): ${named.join(', ')}.`;
}

/**
 * The error of a size whose messages failed the receiver's checks: how many, and the first one's failure where the
 * receiver says (zerocopy's: `zerocopy: 2 of 40 messages of 64 KiB failed verification; the first, message 3: its
 * bytes sum to 0x1e0a33c0, not 0x1e0a3380`).
 */
export function verificationError(
  mode: BandwidthMode, report: { bytes: number; count: number; failures: number; firstFailure?: string },
): string {
  const first = report.firstFailure === undefined ? '' : `; the first, ${report.firstFailure}`;
  return `${mode}: ${report.failures} of ${report.count} messages of ${formatSize(report.bytes)} failed verification${first}`;
}

interface SizeOutcome {
  result?: { messages: number; seconds: number; sent: number };
  verified?: { count: number; failures: number };
  skipped?: boolean;
}

/** One mode's workers, started and waiting for their turns. */
interface ModeTurns {
  /** Lets the mode measure size `index`; resolves once it has (or has skipped it). */
  measure(index: number): Promise<void>;
  /** Settles when every worker of the mode is done (after the last size), or rejects with its failure. */
  finished: Promise<void>;
  /** Stops the mode from outside: another mode failed. */
  fail(error: unknown): void;
  /** The mode's rows, once finished: one per size of a round of `sizesPerRound`. */
  rows(sizesPerRound: number): BandwidthRow[];
}

/**
 * Starts the workers of `mode` (on `ringChoice`'s ring, for a ring mode); resolves once they are ready and waiting.
 * `sizes` has one entry per turn: with several rounds, each size comes back once a round.
 */
async function startMode(
  mode: BandwidthMode,
  sizes: number[],
  opts: BandwidthOptions,
  ringChoice: RingChoice | undefined,
  events: BandwidthEvents,
): Promise<ModeTurns> {
  const control = createControl();
  const job: BandwidthJob = {
    role: 'sender', mode, sizes, window: opts.window, seconds: opts.seconds, warmupSeconds: opts.warmupSeconds, control,
  };
  let shmRing: RingBuffer | undefined;
  const group = new PeerGroup<BandwidthReport>({
    abort: () => {
      abortControl(control);
      shmRing?.abort();
    },
    stallMs: stallMsFor(opts.seconds, opts.warmupSeconds),
  });
  let ready!: () => void;
  const started = new Promise<void>((resolve) => { ready = resolve; });
  // A turn ends when the sender has measured (or skipped) the size and the receiver has verified it: the receiver
  // is done with the size before the next mode begins. The process mode's receiver is a child that reports through
  // the sender's event loop, which waits at the gate until the next turn: its turns end on the measurement alone.
  let turnDone: (() => void) | undefined;
  let turn = 0; // the turn being measured
  const outcomes: SizeOutcome[] = sizes.map(() => ({}));
  const sizeDone = (index: number): boolean => {
    const { result, verified, skipped } = outcomes[index]!;
    return skipped === true || (result !== undefined && (verified !== undefined || mode === 'process'));
  };
  // Reports name a size, not a turn: each goes to the earliest turn of that size still without one of its kind
  // (the process mode's verifications come a turn late).
  const outcomeFor = (bytes: number, lacks: (outcome: SizeOutcome) => boolean): SizeOutcome =>
    outcomes.find((outcome, index) => sizes[index] === bytes && lacks(outcome))!;
  const onReport = (report: BandwidthReport): void => {
    if (report.type === 'ready') {
      ready();
      return;
    }
    if (report.type === 'start') {
      events.onStart?.(mode, report.bytes);
    } else if (report.type === 'result' || report.type === 'skip') {
      const outcome = outcomeFor(report.bytes, (o) => o.result === undefined && o.skipped !== true);
      if (report.type === 'result') outcome.result = report;
      else outcome.skipped = true;
      events.onFinish?.(mode, report.bytes);
    } else if (report.type === 'verified') {
      if (report.failures > 0) throw new VerificationError(verificationError(mode, report));
      outcomeFor(report.bytes, (o) => o.verified === undefined).verified = report;
    }
    if (sizeDone(turn)) turnDone?.();
  };

  if (mode === 'memcpy') {
    group.start(WORKER_URL, { ...job, role: 'memcpy' }, [], onReport);
  } else if (mode === 'process') {
    group.start(WORKER_URL, { ...job, childUrl: CHILD_URL.href }, [], onReport);
  } else if (ringChoice !== undefined) {
    let ring: SharedArrayBuffer;
    let memory: WasmMemory | undefined;
    // Touch every page of the data region now: a VM may fault fresh memory in at 0.55 GB/s (the first VM of
    // docs/PERFORMANCE.md; 6.2 on the Zen 4 VM: docs/probes/fresh-memory.mjs), and the first lap round a 32 MiB ring
    // would be measured at that speed.
    if (mode === 'ringbuf') {
      ring = createRingbufStorage(ringChoice.bytes);
      new Uint8Array(ring).fill(0, ring.byteLength - ringChoice.bytes);
    } else {
      // zerocopy's receiver reads every byte in WebAssembly, which reads only its own memory: its ring lies in one,
      // where the process can reserve one (else in a plain SharedArrayBuffer, read in JavaScript: `readInJs`).
      memory = mode === 'zerocopy' ? sharedMemory(RING_HEADER_BYTES + ringChoice.bytes) : undefined;
      shmRing = memory === undefined ? RingBuffer.create(ringChoice.bytes) : RingBuffer.createIn(memory.buffer, ringChoice.bytes);
      ring = shmRing.buffer;
      shmRing.data.fill(0);
      if (mode === 'zerocopy' && memory === undefined) ringChoice.readInJs = true;
    }
    events.onRing?.(ringChoice);
    group.start(WORKER_URL, { ...job, role: 'receiver', ring, memory }, [], onReport);
    group.start(WORKER_URL, { ...job, ring }, [], onReport);
  } else {
    const { port1, port2 } = new MessageChannel();
    group.start(WORKER_URL, { ...job, role: 'receiver', port: port2 }, [port2], onReport);
    group.start(WORKER_URL, { ...job, port: port1 }, [port1], onReport);
  }
  const finished = group.run();
  finished.catch(() => {}); // awaited by measureBandwidth; a failure before then is not unhandled
  await Promise.race([started, finished]);
  group.setIdle(true);

  return {
    measure: async (index) => {
      turn = index;
      const done = new Promise<void>((resolve) => { turnDone = resolve; });
      group.setIdle(false);
      openGate(control, index + 1);
      await done;
      turnDone = undefined;
      if (index < sizes.length - 1) group.setIdle(true); // after its last turn the group finishes, watched for stalls
    },
    finished,
    fail: (error) => group.fail(error),
    rows: (sizesPerRound) => rowsOf(mode, sizes, sizesPerRound, outcomes, ringChoice),
  };
}

/**
 * A mode's rows from its outcomes (one per turn, `sizesPerRound` turns a round), after checking that every size
 * measured was verified whole: one row per size, the median of its rounds.
 */
function rowsOf(
  mode: BandwidthMode, sizes: number[], sizesPerRound: number, outcomes: SizeOutcome[], ringChoice: RingChoice | undefined,
): BandwidthRow[] {
  const rows: BandwidthRow[] = [];
  const rounds = sizes.length / sizesPerRound;
  for (let index = 0; index < sizesPerRound; index++) {
    const bytes = sizes[index]!;
    const measured: { mbPerSec: number; messages: number; seconds: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const { result, verified, skipped } = outcomes[round * sizesPerRound + index]!;
      if (skipped) continue;
      if (result === undefined || verified === undefined) {
        throw new Error(`${mode}: no ${result === undefined ? 'measurement' : 'verification'} for ${formatSize(bytes)}`);
      }
      if (verified.count !== result.sent) {
        throw new Error(`${mode}: ${result.sent} messages of ${formatSize(bytes)} sent but ${verified.count} received`);
      }
      measured.push({ mbPerSec: (bytes * result.messages) / result.seconds / 1e6, messages: result.messages, seconds: result.seconds });
    }
    if (measured.length === 0) continue;
    const median = [...measured].sort((a, b) => a.mbPerSec - b.mbPerSec)[(measured.length - 1) >> 1]!;
    rows.push({
      mode, bytes, ...median,
      ringBytes: ringChoice?.bytes, lineMicros: ringChoice?.lineMicros, // JSON leaves out what is undefined
      rounds: rounds > 1 ? measured.map((m) => m.mbPerSec) : undefined,
    });
  }
  return rows;
}

/** Runs the bandwidth benchmark and prints its results: table and chart, or JSON; CSV on the side. */
export async function runBandwidth(opts: BandwidthOptions, output: BenchOutput = processOutput()): Promise<void> {
  const sizes = logSizes(opts.minBytes, opts.maxBytes, opts.points);
  const progress = new Progress(output.stderr);
  const steps = sizes.length * opts.modes.length * opts.rounds;
  const eta = new Eta(steps, opts.seconds + opts.warmupSeconds);
  let rows: BandwidthRow[];
  const rings: RingChoice[] = [];
  const timeline: { when: string; lineMicros: number }[] = [];
  try {
    let launched = 0;
    rows = await measureBandwidth(opts, {
      // Until the first size starts: the line probe, then the modes' workers, each started in turn (seconds, together)
      onProbe: (when) => progress.update(probeProgress('bandwidth', when)),
      onLaunch: (mode) => progress.update(`bandwidth: starting ${mode} (${++launched}/${opts.modes.length} modes)`),
      onStart: (mode, bytes) => {
        eta.start();
        const step = `${eta.done + 1}/${steps}`;
        progress.update(`bandwidth: ${mode} ${formatSize(bytes)} (${step}), ~${formatDuration(eta.secondsLeft())} left`);
      },
      onFinish: () => eta.finish(),
      onRing: (choice) => rings.push(choice),
      onLine: (when, lineMicros) => timeline.push({ when: `at the ${when}`, lineMicros }),
    });
  } finally {
    progress.done();
  }

  // The results first, the CSV after: a file that cannot be written then costs no result.
  output.stdout.write(opts.json
    ? jsonText(machine(), opts, rows, bandwidthNotes(opts, rows, timeline, rings))
    : bandwidthReport(opts, sizes, rows, rings, timeline, output));
  if (opts.csvFile !== undefined) await writeCsv(opts.csvFile, BANDWIDTH_COLUMNS, rows);
}

/** The notes at the end of a bandwidth run: what the in-place modes read, rounds far apart or skipped, the state. */
function bandwidthNotes(
  opts: BandwidthOptions, rows: readonly BandwidthRow[], timeline: readonly { when: string; lineMicros: number }[],
  rings: readonly RingChoice[],
): string[] {
  const zerocopyInJs = rings.some((ring) => ring.readInJs === true);
  const notes = [readingNote(opts.modes, zerocopyInJs), spreadNote(rows), fewerRoundsNote(rows, opts.rounds), stateChangeNote(timeline)];
  return notes.filter((note) => note !== undefined);
}

/**
 * What the receivers of zerocopy and the transfer modes do with a message, which they do not copy out: read every byte
 * of it where it lies, and check it. Their figures are then deliveries of every byte to the receiver's core, as the
 * copying modes' (and Open MPI's) are; before 2026-11-29 these receivers read only the stamps, and their figures were
 * what handing a message over costs, its bytes left in the sender's cache (docs/PERFORMANCE.md, "Method").
 * `zerocopyInJs`: this process could not reserve a WebAssembly.Memory or run WebAssembly SIMD (wasm.ts's sharedMemory),
 * and zerocopy's receiver sums in JavaScript.
 */
export function readingNote(modes: readonly BandwidthMode[], zerocopyInJs = false): string | undefined {
  const transfers = modes.filter((mode) => mode === 'transfer' || mode === 'transfer-alloc');
  const parts: string[] = [];
  if (modes.includes('zerocopy')) {
    const how = zerocopyInJs
      ? 'a sum in JavaScript, as this process could not reserve a WebAssembly.Memory or run WebAssembly SIMD: ' +
        'a few times slower than the WebAssembly SIMD one'
      : 'a WebAssembly SIMD sum';
    parts.push(`zerocopy's receiver reads every byte of each message where it lies in the ring (${how}, checked) and copies none out`);
  }
  if (transfers.length > 0) {
    const whose = transfers.length === 1 ? `the receiver of ${transfers[0]} compares` : `the receivers of ${listed(transfers)} compare`;
    const arrays = transfers.length === 1 ? 'the array it is' : 'the arrays they are';
    parts.push(`${whose} every byte of ${arrays} handed with what was sent (memcmp)`);
  }
  if (parts.length === 0) return undefined;
  const one = parts.length === 1 && transfers.length < 2;
  const figures = one ? 'its figure is a delivery' : 'their figures are deliveries';
  return `Note: ${parts.join(', and ')}: ${figures} to the receiver's core, not ${one ? 'a handoff' : 'handoffs'} ` +
    '(docs/PERFORMANCE.md, "Method").';
}

/**
 * The tables, chart and notes of a bandwidth run. The header, the tables, the chart, the line of messages a second
 * and the notes keep to the terminal's width (80 columns off a terminal): a table too wide goes in blocks of modes.
 */
function bandwidthReport(
  opts: BandwidthOptions, sizes: readonly number[], rows: readonly BandwidthRow[], rings: readonly RingChoice[],
  timeline: readonly { when: string; lineMicros: number }[], output: BenchOutput,
): string {
  const m = machine();
  const columns = terminalColumns(output.stdout);
  const startLine = timeline.find(({ when }) => when === 'at the start')?.lineMicros;
  const ringWords = rings.length > 0 ? `, ${describeRings(rings, opts.ringBytes, startLine)}` : '';
  // A measured round, not the mean of two: for an even N the slower of the middle two, and the header says so.
  const median = opts.rounds % 2 === 0 ? 'lower median' : 'median';
  const rounds = opts.rounds > 1 ? `, ${median} of ${opts.rounds} rounds` : '';
  const settings = `window ${opts.window}, ${opts.seconds} s per size${rounds}${ringWords}`;
  const lines = [headerLine('shmcomm bench bandwidth', m, settings, columns), ''];
  lines.push(bandwidthTables(opts.modes, sizes, rows, columns, opts.rounds));
  if (opts.chart) {
    const series = opts.modes.map((mode) => ({
      name: mode,
      points: rows.filter((row) => row.mode === mode).map((row) => ({ x: row.bytes, y: row.mbPerSec })),
    }));
    const color = shouldUseColor(output.stdout);
    lines.push('', renderChart(series, { color, yUnit: 'MB/s', title: 'Bandwidth (log-log)', columns }));
  }
  lines.push('', ...smallestLines(opts.modes, sizes[0]!, rows, columns));
  lines.push(...bandwidthNotes(opts, rows, timeline, rings).map((note) => wrapText(note, columns)));
  return `${lines.join('\n')}\n`;
}

/**
 * The MB/s table and, when memcpy ran with other modes, the table of ratios to it (ratioToMemcpy, for a run of
 * `rounds` rounds); a table wider than `columns` goes in blocks of modes, each with the sizes.
 */
export function bandwidthTables(
  modes: readonly BandwidthMode[], sizes: readonly number[], rows: readonly BandwidthRow[], columns = DEFAULT_COLUMNS,
  rounds = 1,
): string {
  const rowOf = (mode: BandwidthMode, bytes: number): BandwidthRow | undefined =>
    rows.find((row) => row.mode === mode && row.bytes === bytes);
  const rate = (mode: BandwidthMode, bytes: number): number => rowOf(mode, bytes)?.mbPerSec ?? NaN;
  const rateRows = sizes.map((bytes) => [formatSize(bytes), ...modes.map((mode) => formatNumber(rate(mode, bytes)))]);
  const skipped = sizes.some((bytes) => modes.some((mode) => !Number.isFinite(rate(mode, bytes)))); // shown as -
  const text = [
    `MB/s (1 MB = 10^6 bytes${skipped ? '; - = skipped' : ''})`,
    renderTable(['size', ...modes], rateRows, { width: columns }),
  ];
  const others = modes.filter((mode) => mode !== 'memcpy');
  if (modes.includes('memcpy') && others.length > 0) {
    const ratioRows = sizes.map((bytes) => [
      formatSize(bytes),
      ...others.map((mode) => formatRatio(ratioToMemcpy(rowOf(mode, bytes), rowOf('memcpy', bytes), rounds))),
    ]);
    const ratios = renderTable(['size', ...others], ratioRows, { width: columns });
    const which = rounds > 1 ? `, ${rounds % 2 === 0 ? 'lower median' : 'median'} of the rounds' own ratios` : '';
    text.push('', wrapText(`Ratio to memcpy (one copy in one thread${which})`, columns), ratios);
  }
  return text.join('\n');
}

/**
 * A mode's ratio to memcpy at one size. Where both ran all `rounds` rounds, the median of each round's own ratio:
 * the modes take turns within a round, seconds apart, so a round's two figures met the same machine, and a round in
 * which the machine changed state (this VM's do, "two states" in docs/PERFORMANCE.md) moves both. The ratio of the two
 * medians could pair one mode's fast round with memcpy's slow one. Otherwise (one round, or a round skipped) the ratio
 * of the two rows' figures; NaN where either has no row.
 */
export function ratioToMemcpy(row: BandwidthRow | undefined, memcpy: BandwidthRow | undefined, rounds: number): number {
  if (row === undefined || memcpy === undefined) return NaN;
  const mine = row.rounds, its = memcpy.rounds;
  if (rounds < 2 || mine?.length !== rounds || its?.length !== rounds) return row.mbPerSec / memcpy.mbPerSec;
  const ratios = mine.map((rate, round) => rate / its[round]!).sort((a, b) => a - b);
  return ratios[(rounds - 1) >> 1]!; // as the rows' median: for an even count the lower of the middle two
}

/** `0.62x`, `1.05x`, `0.0031x`; `-` when unknown. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '-';
  return `${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}x`;
}

/**
 * Messages per second at the smallest size, per mode: what the per-message overhead allows. Lines of at most
 * `columns`, broken between two modes.
 */
export function smallestLines(
  modes: readonly BandwidthMode[], bytes: number, rows: readonly BandwidthRow[], columns: number,
): string[] {
  const parts = modes.map((mode, index) => {
    const row = rows.find((r) => r.mode === mode && r.bytes === bytes);
    const comma = index < modes.length - 1 ? ',' : '';
    return `${mode} ${row ? formatShortCount(row.messages / row.seconds) : '-'}${comma}`;
  });
  return wrap([`Messages/s at ${formatSize(bytes)}:`, ...parts], columns);
}
