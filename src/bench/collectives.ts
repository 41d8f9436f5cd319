/**
 * `shmcomm bench collectives`: time per call of bcast, reduce, allreduce and barrier, per transport, rank count and
 * message size. This file is the main thread's part: one `launch` per (transport, rank count) runs every (op, size)
 * of the run inside it (collectives-rank.ts, where the method is described: warm-up, a repetition count decided by
 * rank 0 and broadcast, back-to-back calls with no barrier between them, the slowest rank's time, a checked result),
 * the transports of a rank count by turns (measureCollectives); then the table, or JSON; CSV on the side.
 */
import { availableParallelism } from 'node:os';
import { TimeoutError } from '../errors.js';
import { defaultStrategy, launch } from '../launch.js';
import type { WaitStrategy } from '../wait.js';
import { DEFAULT_COLUMNS, Progress, terminalColumns, wrapText } from '../term.js';
import type { CollectiveOp, CollectivesOptions, Transport } from './args.js';
import { formatRatio } from './bandwidth.js';
import {
  TURN_DONE, TURN_GATE, TURN_READY, TURN_SLOTS, TURNS_STOPPED, type CollectivesJob, type Measurement, type PlannedMeasurement,
} from './collectives-rank.js';
import { formatCount, formatNumber, formatSize, listed } from './format.js';
import { describeLine, lineAtStart, measureLineMicros, probeProgress, stateChangeNote } from './line-probe.js';
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
  /** The line probe starts a look, before the first launch or after the last (its result comes in onLine). */
  onProbe?: (when: 'start' | 'end') => void;
  /** The one-way time of a cache line between two threads (line-probe.ts): before the first launch, after the last. */
  onLine?: (when: 'start' | 'end', lineMicros: number) => void;
}

const RANK_URL = new URL('./collectives-rank.js', import.meta.url);
/** From this size up, the table also shows MB/s: below it, a call's time is mostly fixed costs. */
const RATE_FROM_BYTES = 64 * 1024;
/** The longest the main thread waits for a turn's word before it looks again (reach). */
const REACH_WAIT_MS = 1000;
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
 *
 * The transports take turns, as the bandwidth benchmark's modes do: for each rank count, one launch per transport
 * starts, and once all their ranks are ready, each (op, size) is measured on every transport in turn, back to back,
 * while the other launches' ranks wait parked. This VM changes state within seconds (docs/PERFORMANCE.md, "two
 * states"): measured one launch after another, shared and clone could meet different machines, and the ratio between
 * them moved with it. Rank counts still run one after another, so at most one launch per transport is alive at once.
 */
export async function measureCollectives(
  opts: CollectivesOptions, events: CollectivesEvents = {}, measureLine: () => Promise<number> = measureLineMicros,
  rankUrl: URL = RANK_URL, // tests pass a rank program with a fault
): Promise<CollectiveRow[]> {
  events.onProbe?.('start');
  events.onLine?.('start', await lineAtStart(measureLine));
  const measured = new Map<string, CollectiveRow[]>(); // by `${transport} ${ranks}`
  for (const ranks of opts.ranks) {
    const rows = await measureByTurns(opts.transports, ranks, opts, events, rankUrl);
    opts.transports.forEach((transport, index) => measured.set(`${transport} ${ranks}`, rows[index]!));
  }
  events.onProbe?.('end');
  events.onLine?.('end', await measureLine());
  return opts.transports.flatMap((transport) => opts.ranks.flatMap((ranks) => measured.get(`${transport} ${ranks}`)!));
}

/** What still compares in a collectives run that met a busy machine or two states. */
const TRANSPORTS_BY_TURNS =
  'the transports of one op, size and rank count do, measured by turns, back to back (rank counts ran one after another)';

/** One launch of the benchmark's ranks, taking its turns (collectives-rank.ts). */
interface TurnTaker {
  transport: Transport;
  turns: Int32Array;
  results: Promise<Measurement[][]>;
}

/**
 * Runs the plan on `ranks` ranks of every transport in `transports`, by turns: one launch each, started together;
 * resolves with each launch's rows, in the order of `transports`.
 */
async function measureByTurns(
  transports: readonly Transport[], ranks: number, opts: CollectivesOptions, events: CollectivesEvents, rankUrl: URL,
): Promise<CollectiveRow[][]> {
  const plan = collectivesPlan(opts);
  // A launch waits through the other launches' turns too: its bound is theirs together.
  const timeoutMs = transports.length * launchBoundMs(plan, ranks, opts);
  // Announced before any launch starts: a callback that throws then leaves no launch running, ungated.
  for (const transport of transports) events.onLaunch?.(transport, ranks);
  const launches: TurnTaker[] = transports.map((transport) => {
    const turns = new Int32Array(new SharedArrayBuffer(TURN_SLOTS * Int32Array.BYTES_PER_ELEMENT));
    const job: CollectivesJob = { plan, seconds: opts.seconds, warmupSeconds: opts.warmupSeconds, turns };
    const results = launch<Measurement[]>(rankUrl, {
      size: ranks, transport, strategy: opts.strategy, arenaBytes: opts.arenaBytes, args: job, timeoutMs,
    });
    return { transport, turns, results };
  });
  const failed = new Promise<never>((_, reject) => { for (const { results } of launches) results.catch(reject); });
  failed.catch(() => {}); // raced below; a failure between two waits is not unhandled

  let current: { transport: Transport; step: number } | undefined; // the turn under way, for a timeout's message
  try {
    for (const { turns } of launches) await reach(turns, TURN_READY, ranks, failed);
    for (let step = 0; step < plan.length; step++) {
      for (const { transport, turns } of launches) {
        current = { transport, step };
        events.onStart?.({ transport, ranks, ...plan[step]! });
        Atomics.store(turns, TURN_GATE, step + 1);
        Atomics.notify(turns, TURN_GATE);
        await reach(turns, TURN_DONE, step + 1, failed);
        events.onFinish?.({ transport, ranks, ...plan[step]! });
      }
    }
  } catch (error) {
    for (const { turns } of launches) { // the ranks waiting at their gates throw, and their launches end
      Atomics.store(turns, TURN_GATE, TURNS_STOPPED);
      Atomics.notify(turns, TURN_GATE);
    }
    await Promise.allSettled(launches.map(({ results }) => results));
    if (!(error instanceof TimeoutError)) throw error;
    const step = current === undefined ? undefined : plan[current.step]!;
    const what = step === undefined ? 'the start' : step.op === 'barrier' ? 'barrier' : `${step.op} of ${formatSize(step.bytes)}`;
    const where = `${ranks} ranks (${current?.transport ?? transports.join(', ')})`;
    const advice = 'try smaller --sizes, fewer --ranks or a shorter --time';
    throw new TimeoutError('launch', timeoutMs, `${what} on ${where}: ${error.detail}; ${advice}`);
  }

  const strategy = opts.strategy ?? defaultStrategy(ranks);
  return Promise.all(launches.map(async ({ transport, results }) => {
    const measured = (await results)[0]!;
    if (measured.length !== plan.length) {
      throw new Error(`${transport}, ${ranks} ranks: ${plan.length} measurements planned, rank 0 returned ${measured.length}`);
    }
    return measured.map(({ op, bytes, microsPerCall, calls }) => ({ transport, ranks, op, bytes, microsPerCall, calls, strategy }));
  }));
}

/** Resolves once `turns[slot]` has reached `value` (ranks store it), or rejects with the first launch that failed. */
async function reach(turns: Int32Array, slot: number, value: number, failed: Promise<never>): Promise<void> {
  for (;;) {
    const seen = Atomics.load(turns, slot);
    if (seen >= value) return;
    // A bounded wait: one left pending would outlive a run that failed meanwhile
    const wait = Atomics.waitAsync(turns, slot, seen, REACH_WAIT_MS);
    if (wait.async) await Promise.race([wait.value, failed]);
  }
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
      onProbe: (when) => progress.update(probeProgress('collectives', when)),
      // The launches of one rank count start together, one a transport: the line names them all, not the last
      onLaunch: (_transport, ranks) => {
        eta.start(); // each group of ranks starts anew: its start-up belongs to the average
        const launches = `${opts.transports.join(', ')}, ${ranks} ranks each (${eta.done}/${total})`;
        progress.update(`collectives: starting ${launches}, ~${formatDuration(eta.secondsLeft())} left`);
      },
      onStart: ({ transport, ranks, op, bytes }) => {
        const what = op === 'barrier' ? op : `${op} ${formatSize(bytes)}`;
        // `collectives:`, as the others' `bandwidth:` and `latency:`: at 60 columns `bench ` cut off the time left
        const step = `${transport}, ${ranks} ranks, ${what} (${eta.done + 1}/${total})`;
        progress.update(`collectives: ${step}, ~${formatDuration(eta.secondsLeft())} left`);
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
  const state = stateChangeNote(timeline, TRANSPORTS_BY_TURNS);
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
