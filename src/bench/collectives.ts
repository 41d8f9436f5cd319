/**
 * `shmcomm bench collectives`: time per call of bcast, reduce, allreduce and barrier, per transport, rank count and
 * message size. This file is the main thread's part: one `launch` per (transport, rank count) runs every (op, size)
 * of the run inside it (collectives-rank.ts, where the method is described: warm-up, a repetition count decided by
 * rank 0 and broadcast, back-to-back calls with no barrier between them, the slowest rank's time, a checked result);
 * then the table, or JSON; CSV on the side.
 *
 * While a launch runs, rank 0 counts the measurements it has started in a shared Int32; the main thread reads it a
 * few times a second for the progress line (the launcher only hears from ranks when they finish).
 */
import { availableParallelism } from 'node:os';
import { TimeoutError } from '../errors.js';
import { defaultStrategy, launch } from '../launch.js';
import type { WaitStrategy } from '../wait.js';
import { DEFAULT_COLUMNS, Progress, terminalColumns, wrapText } from '../term.js';
import type { CollectiveOp, CollectivesOptions, Transport } from './args.js';
import { formatRatio } from './bandwidth.js';
import type { CollectivesJob, Measurement, PlannedMeasurement } from './collectives-rank.js';
import { formatCount, formatNumber, formatSize, listed } from './format.js';
import { describeLine, lineAtStart, measureLineMicros, stateChangeNote } from './line-probe.js';
import { Eta, formatDuration, headerLine, jsonText, machine, processOutput, writeCsv, type BenchOutput } from './report.js';
import { renderTable } from './table.js';

/** One measurement: every rank called `op` `calls` times; the slowest rank took `microsPerCall` per call. */
export interface CollectiveRow {
  transport: Transport;
  ranks: number;
  op: CollectiveOp;
  /** Payload bytes; 0 for barrier, which moves none. */
  bytes: number;
  microsPerCall: number;
  calls: number;
  /** How the ranks waited when blocked. */
  strategy: WaitStrategy;
}

export const COLLECTIVES_COLUMNS = ['transport', 'ranks', 'op', 'bytes', 'microsPerCall', 'calls', 'strategy'] as const;

/** Which measurement an event is about. */
export interface CollectiveStep {
  transport: Transport;
  ranks: number;
  op: CollectiveOp;
  bytes: number;
}

export interface CollectivesEvents {
  /** A launch starts its ranks (worker start-up: tens of milliseconds per rank). */
  onLaunch?: (transport: Transport, ranks: number) => void;
  /** A measurement starts. Every step gets one onStart, then one onFinish, in order. */
  onStart?: (step: CollectiveStep) => void;
  onFinish?: (step: CollectiveStep) => void;
  /** The one-way time of a cache line between two threads (line-probe.ts): before the first launch, after the last. */
  onLine?: (when: 'start' | 'end', lineMicros: number) => void;
}

const RANK_URL = new URL('./collectives-rank.js', import.meta.url);
/** From this size up, the table also shows MB/s: below it, a call's time is mostly fixed costs. */
const RATE_FROM_BYTES = 64 * 1024;
/** How often the main thread reads rank 0's progress counter. */
const POLL_MS = 100;
/**
 * A launch's time bound, a backstop (the deadlock watchdog reports a hang): start-up and slack for a loaded machine, a
 * generous multiple of the time budget, and for each measurement the least calls it makes (two warm-up rounds, a timed
 * one, the check) moving every rank's message at SLOW_BYTES_PER_SECOND, far below clone's 0.1 GB/s at 64 MiB.
 */
const LAUNCH_SLACK_MS = 60_000;
const BUDGET_OVERSHOOT = 10;
const LEAST_CALLS = 6;
const SLOW_BYTES_PER_SECOND = 50e6;

/** The (op, size) measurements of one launch, in order: ops as given, each at every size (barrier at none). */
export function collectivesPlan(opts: Pick<CollectivesOptions, 'ops' | 'sizes'>): PlannedMeasurement[] {
  const plan: PlannedMeasurement[] = [];
  for (const op of opts.ops) {
    if (op === 'barrier') plan.push({ op, bytes: 0 });
    else for (const bytes of opts.sizes) plan.push({ op, bytes });
  }
  return plan;
}

/**
 * Measures every op at every size, for every transport and rank count of `opts`: rows by transport, then rank
 * count, then op and size. Rejects if a launch fails (a wrong result, a timeout); no worker survives the call. The
 * line probe looks before and after (`onLine`): how far apart the two cores are moves two ranks' times, and a busy
 * machine, whose threads take turns on a core, moves every time.
 */
export async function measureCollectives(
  opts: CollectivesOptions, events: CollectivesEvents = {}, measureLine: () => Promise<number> = measureLineMicros,
): Promise<CollectiveRow[]> {
  events.onLine?.('start', await lineAtStart(measureLine));
  const rows: CollectiveRow[] = [];
  for (const transport of opts.transports) {
    for (const ranks of opts.ranks) rows.push(...(await measureLaunch(transport, ranks, opts, events)));
  }
  events.onLine?.('end', await measureLine());
  return rows;
}

/** What still compares in a collectives run that met a busy machine or two states: each launch ran alone. */
const LAUNCHES_ONE_AFTER_ANOTHER = 'nor do transports and rank counts, each measured in a launch of its own, one after another';

async function measureLaunch(transport: Transport, ranks: number, opts: CollectivesOptions, events: CollectivesEvents): Promise<CollectiveRow[]> {
  const plan = collectivesPlan(opts);
  const progress = new Int32Array(new SharedArrayBuffer(4));
  const job: CollectivesJob = { plan, seconds: opts.seconds, warmupSeconds: opts.warmupSeconds, progress };
  const stepOf = (index: number): CollectiveStep => ({ transport, ranks, ...plan[index]! });

  // Turns the counter into onStart/onFinish events; a measurement too quick to be seen still gets both.
  let announced = 0;
  const announceUpTo = (started: number): void => {
    for (; announced < started; announced++) {
      if (announced > 0) events.onFinish?.(stepOf(announced - 1));
      events.onStart?.(stepOf(announced));
    }
  };
  events.onLaunch?.(transport, ranks);
  const poller = setInterval(() => announceUpTo(Atomics.load(progress, 0)), POLL_MS);
  let results: Measurement[][];
  const timeoutMs = launchBoundMs(plan, ranks, opts);
  try {
    results = await launch<Measurement[]>(RANK_URL, {
      size: ranks, transport, strategy: opts.strategy, arenaBytes: opts.arenaBytes, args: job, timeoutMs,
    });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const started = Atomics.load(progress, 0); // measurements rank 0 began: none while the ranks start up
    const step = stepOf(Math.max(0, started - 1));
    const what = started === 0 ? 'the start' : step.op === 'barrier' ? 'barrier' : `${step.op} of ${formatSize(step.bytes)}`;
    const advice = 'try smaller --sizes, fewer --ranks or a shorter --time';
    throw new TimeoutError('launch', timeoutMs, `${what} on ${ranks} ranks (${transport}): ${error.detail}; ${advice}`);
  } finally {
    clearInterval(poller);
  }
  announceUpTo(plan.length);
  events.onFinish?.(stepOf(plan.length - 1));

  const measured = results[0]!;
  if (measured.length !== plan.length) {
    throw new Error(`${transport}, ${ranks} ranks: ${plan.length} measurements planned, rank 0 returned ${measured.length}`);
  }
  const strategy = opts.strategy ?? defaultStrategy(ranks);
  return measured.map(({ op, bytes, microsPerCall, calls }) => ({ transport, ranks, op, bytes, microsPerCall, calls, strategy }));
}

/** How long the launch that runs `plan` on `ranks` ranks may take (LAUNCH_SLACK_MS above). */
export function launchBoundMs(plan: readonly PlannedMeasurement[], ranks: number, opts: Pick<CollectivesOptions, 'seconds' | 'warmupSeconds'>): number {
  const budgetMs = plan.length * (opts.seconds + opts.warmupSeconds) * 1000 * BUDGET_OVERSHOOT;
  const movedBytes = plan.reduce((sum, { bytes }) => sum + LEAST_CALLS * ranks * bytes, 0);
  return Math.ceil(LAUNCH_SLACK_MS + budgetMs + (movedBytes / SLOW_BYTES_PER_SECOND) * 1000);
}

/** Runs the collectives benchmark and prints its results: the table, or JSON; CSV on the side. */
export async function runCollectives(opts: CollectivesOptions, output: BenchOutput = processOutput()): Promise<void> {
  const total = opts.transports.length * opts.ranks.length * collectivesPlan(opts).length;
  const progress = new Progress(output.stderr);
  const eta = new Eta(total, opts.seconds + opts.warmupSeconds);
  let rows: CollectiveRow[];
  const timeline: { when: string; lineMicros: number }[] = [];
  try {
    rows = await measureCollectives(opts, {
      onLaunch: (transport, ranks) => {
        eta.start(); // each group of ranks starts anew: its start-up belongs to the average
        progress.update(`bench collectives: ${transport}, starting ${ranks} ranks (${eta.done}/${total}), ${formatDuration(eta.secondsLeft())} left`);
      },
      onStart: ({ transport, ranks, op, bytes }) => {
        const what = op === 'barrier' ? op : `${op} ${formatSize(bytes)}`;
        progress.update(`bench collectives: ${transport}, ${ranks} ranks, ${what} (${eta.done + 1}/${total}), ${formatDuration(eta.secondsLeft())} left`);
      },
      onFinish: () => eta.finish(),
      onLine: (when, lineMicros) => timeline.push({ when: `at the ${when}`, lineMicros }),
    });
  } finally {
    progress.done();
  }

  // The results first, the CSV after: a file that cannot be written then costs no result.
  const notes = collectivesNotes(opts, rows, timeline);
  output.stdout.write(opts.json
    ? jsonText(machine(), opts, rows, notes)
    : collectivesReport(opts, rows, timeline[0]!.lineMicros, notes, output));
  if (opts.csvFile !== undefined) await writeCsv(opts.csvFile, COLLECTIVES_COLUMNS, rows);
}

/** The table of a collectives run that began at line time `startLine`, with its notes (the ratios among them). */
function collectivesReport(
  opts: CollectivesOptions, rows: readonly CollectiveRow[], startLine: number, notes: readonly string[], output: BenchOutput,
): string {
  const columns = terminalColumns(output.stdout); // the header, the table and the notes keep to it
  const m = machine();
  const waits = opts.strategy !== undefined
    ? `waits: ${opts.strategy}`
    : `waits (auto): ${opts.ranks.map((ranks) => `${ranks} ranks ${defaultStrategy(ranks)}`).join(', ')}`;
  const arena = !opts.transports.includes('shared') ? '' : `, arena ${opts.arenaBytes === 0 ? 'none' : formatSize(opts.arenaBytes)}`;
  const settings = `${opts.seconds} s per measurement after ${opts.warmupSeconds} s of warm-up, ${waits}${arena} ` +
    `(${describeLine(startLine)})`;
  const lines = [headerLine('shmcomm bench collectives', m, settings, columns), ''];
  lines.push(collectivesTable(rows, columns));
  for (const note of notes) lines.push('', wrapText(note, columns));
  return `${lines.join('\n')}\n`;
}

/** The lines after the table: shared against clone, a word on more ranks than cores, on a busy or changing machine. */
function collectivesNotes(
  opts: CollectivesOptions, rows: readonly CollectiveRow[], timeline: readonly { when: string; lineMicros: number }[],
): string[] {
  const oversubscribed = oversubscribedLine(opts.ranks, availableParallelism(), opts.strategy); // the count defaultStrategy uses
  const state = stateChangeNote(timeline, LAUNCHES_ONE_AFTER_ANOTHER);
  return [ratioLine(rows, opts), oversubscribed, state].filter((note) => note !== undefined);
}

/** The table of every row, with its title; wider than `columns`, it repeats the first four columns in each block. */
export function collectivesTable(rows: readonly CollectiveRow[], columns = DEFAULT_COLUMNS): string {
  const header = ['transport', 'ranks', 'op', 'size', 'µs/call', 'MB/s', 'calls'];
  const cells = rows.map((row) => [
    row.transport,
    String(row.ranks),
    row.op,
    row.op === 'barrier' ? '-' : formatSize(row.bytes),
    formatNumber(row.microsPerCall),
    row.bytes >= RATE_FROM_BYTES ? formatNumber(row.bytes / row.microsPerCall) : '-', // bytes per µs = MB/s
    formatCount(row.calls),
  ]);
  const title = 'Time per call, µs: the slowest rank, calls back to back (lower is better); ' +
    `MB/s = payload bytes / time per call, from ${formatSize(RATE_FROM_BYTES)}`;
  // Numbers to the right, whether or not a column holds one (a table of barriers has only '-' for size and MB/s)
  const align = ['left', 'right', 'left', 'right', 'right', 'right', 'right'] as const;
  return [wrapText(title, columns), renderTable(header, cells, { width: columns, leading: 4, align })].join('\n');
}

/**
 * `shared vs clone at 8 MiB (clone's time per call ÷ shared's; above 1x shared is faster): bcast 2 ranks 3.10x, ...`, or
 * undefined when either transport, or all three ops, are missing from the run.
 */
export function ratioLine(rows: readonly CollectiveRow[], opts: Pick<CollectivesOptions, 'ops' | 'sizes' | 'ranks'>): string | undefined {
  const largest = opts.sizes[opts.sizes.length - 1]!;
  const time = (transport: Transport, ranks: number, op: CollectiveOp): number =>
    rows.find((row) => row.transport === transport && row.ranks === ranks && row.op === op && row.bytes === largest)?.microsPerCall ?? NaN;
  const parts: string[] = [];
  for (const op of ['bcast', 'reduce', 'allreduce'] as const) {
    if (!opts.ops.includes(op)) continue;
    const perRanks = opts.ranks.map((ranks) => `${ranks} ranks ${formatRatio(time('clone', ranks, op) / time('shared', ranks, op))}`);
    parts.push(`${op} ${perRanks.join(', ')}`);
  }
  const ran = (transport: Transport): boolean => rows.some((row) => row.transport === transport);
  if (parts.length === 0 || !ran('shared') || !ran('clone')) return undefined;
  return `shared vs clone at ${formatSize(largest)} (clone's time per call ÷ shared's; above 1x shared is faster): ${parts.join('; ')}`;
}

/** The footnote for rank counts above the number of cores, or undefined when there are none. */
export function oversubscribedLine(rankCounts: readonly number[], cores: number, strategy?: WaitStrategy): string | undefined {
  const over = rankCounts.filter((ranks) => ranks > cores);
  if (over.length === 0) return undefined;
  const waits =
    strategy === undefined ? 'they park at once when they wait (Atomics.wait: launch\'s choice when ranks outnumber cores)'
    : strategy === 'park' ? 'they park at once when they wait (Atomics.wait)'
    : strategy === 'spinThenPark' ? 'they spin, then park, when they wait'
    : 'they spin when they wait, holding a core the rank they wait for may need';
  return `Note: ${listed(over)} ranks on ${cores} ${cores === 1 ? 'core' : 'cores'} are oversubscribed (expected): ${waits}; ` +
    'the runs complete, but their times include waiting for a core.';
}
