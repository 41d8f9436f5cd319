/**
 * `shmcomm bench latency`: one-way latency between two worker threads per message size and mode, like OSU
 * osu_latency (ping-pong, half the round trip, median of batches). This is the main thread's part: one pair of
 * workers per mode (latency-worker.ts, where the modes and the method are described), then the table and chart.
 */
import { MessageChannel } from 'node:worker_threads';
import { RingBuffer, FRAME_HEADER_BYTES, RING_HEADER_BYTES } from '../ring.js';
import { Progress, shouldUseColor, terminalColumns, wrapText } from '../term.js';
import { LATENCY_RING_MODES, MAX_LATENCY_RING_MESSAGE, type LatencyMode, type LatencyOptions } from './args.js';
import { renderChart } from './chart.js';
import { formatNumber, formatSize, logSizes } from './format.js';
import type { LatencyJob, LatencyReport } from './latency-worker.js';
import { describeLine, lineAtStart, measureLineMicros, probeProgress, stateChangeNote } from './line-probe.js';
import { PeerGroup, stallMsFor } from './peers.js';
import {
  Eta, formatDuration, headerLine, jsonText, machine, processOutput, VerificationError, writeCsv, type BenchOutput,
} from './report.js';
import { TRIPS, abortControl, createControl } from './signal.js';
import { renderTable } from './table.js';

/** One measurement: the median one-way latency of `roundTrips` round trips timed over `seconds`. */
export interface LatencyRow {
  mode: LatencyMode;
  bytes: number;
  microseconds: number;
  roundTrips: number;
  seconds: number;
}

export const LATENCY_COLUMNS = ['mode', 'bytes', 'microseconds', 'roundTrips', 'seconds'] as const;

export interface LatencyEvents {
  onStart?: (mode: LatencyMode, bytes: number) => void;
  onFinish?: (mode: LatencyMode, bytes: number) => void;
  /** The line probe starts a look, before the first mode or after the last (its result comes in onLine). */
  onProbe?: (when: 'start' | 'end') => void;
  /** The one-way time of a cache line between two threads (line-probe.ts), before the first mode and after the last. */
  onLine?: (when: 'start' | 'end', lineMicros: number) => void;
}

const WORKER_URL = new URL('./latency-worker.js', import.meta.url);
const CHILD_URL = new URL('./process-peer.js', import.meta.url);

/** The smallest ring (a power of two, 4 KiB at least) whose frames hold a message of `bytes`. */
export function ringBytesFor(bytes: number): number {
  let ring = 4096;
  while (ring / 2 - FRAME_HEADER_BYTES < bytes) ring *= 2;
  if (bytes > MAX_LATENCY_RING_MESSAGE) {
    throw new RangeError(`Expected latency messages of at most ${MAX_LATENCY_RING_MESSAGE} bytes (half a 1 GiB ring, less a frame header), got ${bytes}`);
  }
  return ring;
}

/**
 * Measures every mode at every size; rows mode by mode, sizes ascending. No worker or child survives the call. The
 * line probe looks before and after (`onLine`): how far apart the two cores are decides the ring modes' latency, and
 * a busy machine, whose threads take turns on a core, makes every mode's far off.
 */
export async function measureLatency(
  opts: LatencyOptions, events: LatencyEvents = {}, measureLine: () => Promise<number> = measureLineMicros,
): Promise<LatencyRow[]> {
  const sizes = logSizes(opts.minBytes, opts.maxBytes, opts.points);
  events.onProbe?.('start');
  events.onLine?.('start', await lineAtStart(measureLine));
  const rows: LatencyRow[] = [];
  for (const mode of opts.modes) rows.push(...(await measureMode(mode, sizes, opts, events)));
  events.onProbe?.('end');
  events.onLine?.('end', await measureLine());
  return rows;
}

/** What still compares in a latency run that met a busy machine or two states: each mode ran all its sizes alone. */
const MODES_ONE_AFTER_ANOTHER = 'nor do modes, which ran one after another';

async function measureMode(mode: LatencyMode, sizes: number[], opts: LatencyOptions, events: LatencyEvents): Promise<LatencyRow[]> {
  const control = createControl();
  const job: LatencyJob = {
    role: 'ping', mode, sizes, iterations: opts.iterations, seconds: opts.seconds, warmupSeconds: opts.warmupSeconds, control,
  };
  const rings: RingBuffer[] = [];
  const group = new PeerGroup<LatencyReport>({
    abort: () => {
      abortControl(control);
      for (const ring of rings) ring.abort();
    },
    stallMs: stallMsFor(opts.seconds, opts.warmupSeconds),
    progress: () => Atomics.load(control, TRIPS), // a slow round trip is no stall: none for a minute is
  });
  const rows: LatencyRow[] = [];
  const onReport = (report: LatencyReport): void => {
    if (report.type === 'start') events.onStart?.(mode, report.bytes);
    if (report.type !== 'result') return;
    if (report.failures > 0) throw new VerificationError(echoError(mode, report));
    const { bytes, microseconds, roundTrips, seconds } = report;
    rows.push({ mode, bytes, microseconds, roundTrips, seconds });
    events.onFinish?.(mode, bytes);
  };

  if (mode === 'process') {
    group.start(WORKER_URL, { ...job, childUrl: CHILD_URL.href }, [], onReport);
  } else if (LATENCY_RING_MODES.includes(mode)) {
    const bytes = ringBytesFor(sizes[sizes.length - 1]!);
    rings.push(RingBuffer.create(bytes), RingBuffer.create(bytes));
    // Touch every page now, as the bandwidth benchmark does: small messages walk round a ring sized for the largest,
    // and untouched, each new page faulted in mid-measurement (32 KiB took 21 to 24 µs with --max 64MiB, 3 alone).
    for (const ring of rings) new Uint8Array(ring.buffer).fill(0, RING_HEADER_BYTES);
    const buffers: [SharedArrayBuffer, SharedArrayBuffer] = [rings[0]!.buffer, rings[1]!.buffer];
    group.start(WORKER_URL, { ...job, role: 'pong', rings: buffers }, [], onReport);
    group.start(WORKER_URL, { ...job, rings: buffers }, [], onReport);
  } else {
    const { port1, port2 } = new MessageChannel();
    group.start(WORKER_URL, { ...job, role: 'pong', port: port2 }, [port2], onReport);
    group.start(WORKER_URL, { ...job, port: port1 }, [port1], onReport);
  }
  await group.run();
  return rows;
}

/**
 * The error of a size whose echoes came back wrong: `spin: 3 of 4001 echoes of 64 B came back wrong`, of every echo
 * checked, the warm-up's too (`roundTrips` counts only the timed ones, and a mode that fails every echo had more
 * failures than those).
 */
export function echoError(mode: LatencyMode, report: { bytes: number; failures: number; checked: number }): string {
  return `${mode}: ${report.failures} of ${report.checked} echoes of ${formatSize(report.bytes)} came back wrong`;
}

/** Runs the latency benchmark and prints its results: table and chart, or JSON; CSV on the side. */
export async function runLatency(opts: LatencyOptions, output: BenchOutput = processOutput()): Promise<void> {
  const sizes = logSizes(opts.minBytes, opts.maxBytes, opts.points);
  const total = sizes.length * opts.modes.length;
  const progress = new Progress(output.stderr);
  const eta = new Eta(total, opts.iterations === undefined ? opts.seconds + opts.warmupSeconds : opts.warmupSeconds);
  let rows: LatencyRow[];
  const timeline: { when: string; lineMicros: number }[] = [];
  try {
    rows = await measureLatency(opts, {
      onProbe: (when) => progress.update(probeProgress('latency', when)),
      onStart: (mode, bytes) => {
        eta.start();
        progress.update(`latency: ${mode} ${formatSize(bytes)} (${eta.done + 1}/${total}), ~${formatDuration(eta.secondsLeft())} left`);
      },
      onFinish: () => eta.finish(),
      onLine: (when, lineMicros) => timeline.push({ when: `at the ${when}`, lineMicros }),
    });
  } finally {
    progress.done();
  }

  // The results first, the CSV after: a file that cannot be written then costs no result.
  const notes = [stateChangeNote(timeline, MODES_ONE_AFTER_ANOTHER)].filter((note) => note !== undefined);
  output.stdout.write(opts.json
    ? jsonText(machine(), settingsOf(opts), rows, notes)
    : latencyReport(opts, sizes, rows, timeline[0]!.lineMicros, notes, output));
  if (opts.csvFile !== undefined) await writeCsv(opts.csvFile, LATENCY_COLUMNS, rows);
}

/** The options as the JSON tells them: under --iterations, no time per size, which was not used. */
function settingsOf(opts: LatencyOptions): Omit<LatencyOptions, 'seconds'> {
  if (opts.iterations === undefined) return opts;
  const { seconds: _unused, ...settings } = opts;
  return settings;
}

/** The table, (unless --no-chart) the chart and the notes of a latency run that began at line time `startLine`. */
function latencyReport(
  opts: LatencyOptions, sizes: readonly number[], rows: readonly LatencyRow[], startLine: number, notes: readonly string[],
  output: BenchOutput,
): string {
  const m = machine();
  const each = opts.iterations === undefined ? `${opts.seconds} s per size` : `${opts.iterations} round trips per size`;
  const columns = terminalColumns(output.stdout); // the header, the table, the chart and the notes keep to it
  const settings = `${each}, median of batches (${describeLine(startLine)})`;
  const lines = [headerLine('shmcomm bench latency', m, settings, columns), ''];
  const cell = (mode: LatencyMode, bytes: number): string =>
    formatNumber(rows.find((row) => row.mode === mode && row.bytes === bytes)?.microseconds ?? NaN);
  lines.push(wrapText('One-way latency, µs (half a round trip; lower is better)', columns));
  const cells = sizes.map((bytes) => [formatSize(bytes), ...opts.modes.map((mode) => cell(mode, bytes))]);
  lines.push(renderTable(['size', ...opts.modes], cells, { width: columns }));
  if (opts.chart) {
    const series = opts.modes.map((mode) => ({
      name: mode,
      points: rows.filter((row) => row.mode === mode).map((row) => ({ x: row.bytes, y: row.microseconds })),
    }));
    const color = shouldUseColor(output.stdout);
    lines.push('', renderChart(series, { color, yUnit: 'µs', title: 'One-way latency (log-log)', columns }));
  }
  for (const note of notes) lines.push('', wrapText(note, columns));
  return `${lines.join('\n')}\n`;
}
