/**
 * launch: start `size` ranks on worker threads, wire their channels, collect their return values, and watch them:
 * a rank that throws or exits aborts the others, a run where every rank waits and nothing moves is a deadlock,
 * and `timeoutMs` bounds the whole run (the watchdog is in watchdog.ts). Whatever happens, every worker is terminated
 * before `launch` settles, but one stuck in a blocking native call, which nothing can stop: launch goes on without it
 * after TERMINATE_WAIT_MS (workers.ts).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { whenAborted } from './abort-signal.js';
import { DEFAULT_ARENA_BYTES, MAX_ARENA_BYTES, SharedArena } from './arena.js';
import { checkChunkBytes } from './channel.js';
import { checkRunTimeout, checkSignal, describe, refuseUnknownOptions } from './describe.js';
import { ABORT_REASON, ControlBlock } from './control.js';
import { DeadlockError, RankFailedError, TimeoutError } from './errors.js';
import { PARSE_ERROR, refuseNoProgramFile, refuseWhileImporting, withSyntaxErrorAt } from './load.js';
import { isRankReport, type RankReport } from './rank-report.js';
import type { RankData } from './rank.js';
import { MAX_RING_BYTES, MIN_RING_BYTES, RingBuffer } from './ring.js';
import type { ResultOf } from './sent.js';
import { asError, reviveError } from './thrown.js';
import { TRANSPORT_NAMES, type TransportName, type TransportWiring } from './transport/types.js';
import { checkWaitOptions, type WaitStrategy } from './wait.js';
import { describeWaits, watchForDeadlock } from './watchdog.js';
import { neverSettled, startWorker, terminateWithin, waitAtMost, WORKER_ENTRY } from './workers.js';

/**
 * The second argument of `launch`: only `size` is required. Each option is checked before any rank starts, and `launch`
 * rejects with a `TypeError` or `RangeError` that names it, as it does for a name not listed here (``Unknown launch
 * option `ranks` ...``).
 */
export interface LaunchOptions {
  /** How many ranks: an integer from 1 to 256 (`MAX_RANKS`). */
  size: number;
  /** How messages travel: 'shared' (rings in shared memory), 'transfer' or 'clone' (postMessage). Default 'shared'. */
  transport?: TransportName | undefined;
  /**
   * Data bytes of each ring (shared transport): a power of two from 64 B to 1 GiB. Default: the largest power of two
   * within 256 MiB / (size × (size - 1)), since all rings share that budget, at most 16 MiB and at least 4 KiB: 16 MiB
   * up to 4 ranks, 4 MiB for 8.
   */
  ringBytes?: number | undefined;
  /**
   * The shared transport's largest frame: a message of up to this many bytes travels as one frame, a larger one in
   * chunks of this size. Default: 256 KiB, or a quarter ring when the ranks park or on rings under 1 MiB
   * (`defaultChunkBytes`, exported). A multiple of 8 from 8 to half the ring less 16 bytes (`maxMessage`); that much
   * lets `recvView` lend every typed array of up to `maxMessage` bytes in place, at the price of slower
   * `recv`/`recvInto` of large messages (docs/PERFORMANCE.md).
   */
  chunkBytes?: number | undefined;
  /**
   * Bytes of the shared arena (shared transport), through which allreduce of typed arrays from 64 KiB and reduce from
   * 512 KiB go (every rank gets a slot of arenaBytes / size, rounded down to a multiple of 64, and a larger array
   * goes through in pieces of a slot), and bcast of a binary value that it holds whole, from 3 ranks, when the other
   * ranks' copies come to 3 MiB or more. 0 for none: allreduce then goes round a ring of ranks, reduce and bcast down
   * their trees. Default 16 MiB; else an integer from 64 bytes a rank to 2 GiB. The memory behind it is rounded up to
   * whole 64 KiB WebAssembly pages, and pages that are never written cost no memory.
   */
  arenaBytes?: number | undefined;
  /**
   * Reject with a TimeoutError (and stop every rank) if the run takes longer. Default, and `Infinity` (or anything
   * above 2^31 - 1 ms): no limit. 0 is refused, unlike a ring call's 0 (do not wait): no run ends before its workers
   * start, and 0 for "no limit" (as `deadlockMs: 0` turns the watchdog off) would be taken the other way.
   */
  timeoutMs?: number | undefined;
  /**
   * Passed to every rank's program as its second argument, a structured-clone copy each (a value structured clone
   * refuses is a `TypeError`). Default undefined.
   */
  args?: unknown;
  /**
   * How blocked ranks wait. Default: 'spinThenPark' when every rank can have a core of its own, 'park' when there are
   * more ranks than cores (`defaultStrategy`). Another name is a `TypeError`.
   */
  strategy?: WaitStrategy | undefined;
  /**
   * How long, in milliseconds, a rank must wait, unchanged, to count as settled in a deadlock (the watchdog, which then
   * rejects with a `DeadlockError`). Default 1000; a number >= 0, and 0 turns the watchdog off.
   */
  deadlockMs?: number | undefined;
  /**
   * Cancels the run when it aborts: every rank is stopped, as after `timeoutMs`, and launch rejects with the signal's
   * `reason` (an `AbortError` DOMException unless you give one); one aborted already rejects before any rank starts.
   * Default: none; anything but an `AbortSignal` is a `TypeError`.
   */
  signal?: AbortSignal | undefined;
}

/** The largest `size` that `launch` takes: 256 ranks (65,280 rings on the shared transport). */
export const MAX_RANKS = 256;
/** Every option of LaunchOptions: another name is a mistake (`ranks: 4` for `size: 4` would run one rank). */
const LAUNCH_OPTIONS = [
  'size', 'transport', 'ringBytes', 'chunkBytes', 'arenaBytes', 'timeoutMs', 'args', 'strategy', 'deadlockMs', 'signal',
] as const satisfies readonly (keyof LaunchOptions)[];
/** What other tools call launch's options (MPI's ranks and `-np`, Python's processes): the refusal names ours. */
const LAUNCH_ALIASES = { ranks: 'size', np: 'size', n: 'size', processes: 'size', workers: 'size', timeout: 'timeoutMs' };
/**
 * Rings of all pairs share this budget by default, so 256 ranks (65,280 rings) still fit in memory; a few ranks get
 * big rings, up to 16 MiB (large messages then stream through the shared L3 cache, not out of the other core's L2:
 * docs/PERFORMANCE.md). Pages of a SharedArrayBuffer that are never written cost no memory, until glibc gives a
 * ring memory it has used before, which it zeroes: README, `ringBytes`.
 */
const RING_BUDGET_BYTES = 256 * 2 ** 20;
const DEFAULT_RING_BYTES = 16 * 2 ** 20;
/** After an abort, how long ranks get to notice it and finish on their own before they are terminated. */
const SETTLE_MS = 1000;
/**
 * The same after `timeoutMs` (or the `signal`'s abort), shorter: the caller bounded the run, and a rank still going
 * then is usually one that never calls shmcomm (a loop, a timer) and would not notice the abort anyway. Ranks blocked
 * in shmcomm wake at once.
 * With SETTLE_MS, `timeoutMs: 500` rejected after 1.5 s.
 */
const TIMEOUT_SETTLE_MS = 100;

/**
 * Runs the module at `moduleUrl` on `size` ranks: each imports it and calls its default export with its `Comm`
 * and `args`. Resolves with every rank's return value, in rank order; rejects with the first failure.
 *
 * The type argument is the program's type, `launch<typeof main>`, whose return types the results, or the type of
 * each result, `launch<number>` (`ResultOf`). `moduleUrl` is a `file:` or `data:` URL (`import.meta.url`), not a path;
 * guard the call with `isMainThread` in a file that is its own program.
 *
 * Rejects with `RankFailedError` (a rank threw, exited or could not start; `cause` is its error), `DeadlockError`,
 * `TimeoutError` (`timeoutMs`), or the `signal`'s reason; every worker is stopped before it settles. Bad arguments
 * reject too, before any rank starts: a `TypeError` or `RangeError` for an option, or for a `moduleUrl` that is not
 * such a URL; an `Error` with `code` `ERR_MODULE_NOT_FOUND` for a `file:` URL that names no file; an `Error` when
 * called as a worker imports its program.
 */
export async function launch<P = unknown>(moduleUrl: string | URL, options: LaunchOptions): Promise<ResultOf<P>[]> {
  refuseWhileImporting('launch');
  const settings = checkOptions(moduleUrl, options);
  const { size, signal } = settings;
  signal?.throwIfAborted();
  const control = ControlBlock.create(size);
  const { wirings, rings, transferLists } = wire(settings);

  const results: unknown[] = new Array(size);
  const finished: boolean[] = new Array(size).fill(false);
  const unreadable: (Error | undefined)[] = new Array(size); // each rank's latest message that we could not read: why
  const workers: Worker[] = [];
  // Each rank's end: its report (a result or an error) or its worker's exit, whichever comes first. A rank that
  // returned but left a timer or a socket open has ended for the run, though its worker has not exited.
  const ends: Promise<unknown>[] = [];
  const ended: (() => void)[] = [];
  let over = false; // finish() has run: the run's outcome is decided
  let done = 0;

  return new Promise<ResultOf<P>[]>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let stopListening: (() => void) | undefined; // to the signal

    /**
     * Ends the run: the first failure wins (a rank that then fails only because of it, with CommAbortedError, is not
     * the news); ranks get a moment to finish, then every worker is terminated.
     */
    const finish = (error?: unknown, reason?: number, failedRank = -1) => {
      if (over) return;
      over = true;
      for (const timer of timers) clearTimeout(timer);
      stopListening?.();
      if (error !== undefined) {
        control.abort(reason ?? ABORT_REASON.rankFailed, failedRank);
        for (const ring of rings) ring.abort();
      }
      const stillRunning = ends.filter((_, rank) => !finished[rank]);
      const bounded = reason === ABORT_REASON.timeout || reason === ABORT_REASON.cancelled; // the caller wants out
      const settle = error === undefined ? 0 : bounded ? TIMEOUT_SETTLE_MS : SETTLE_MS;
      // terminateWithin: a worker stuck in a blocking native call does not hold the run past TERMINATE_WAIT_MS.
      const terminateAll = () => terminateWithin(workers);
      waitAtMost(Promise.all(stillRunning), settle).then(terminateAll).finally(() => {
        if (error === undefined) resolve(results as ResultOf<P>[]);
        else reject(error);
      });
    };

    const onReport = (rank: number, report: RankReport) => {
      if (report.kind === 'uncaught') return onUncaught(rank, reviveError(report));
      if (report.kind === 'resultPosted') return onResultPosted(rank);
      ended[rank]!();
      if (finished[rank]) return;
      finished[rank] = true;
      if (report.kind === 'result') {
        results[rank] = report.value;
        if (++done === size) finish();
        return;
      }
      if (over) return;
      // A syntax error in the program: every rank met it, and this thread says where it is, once (load.ts).
      const message = report.code === PARSE_ERROR ? withSyntaxErrorAt(report.message, settings.moduleUrl) : report.message;
      const original = reviveError({ ...report, message });
      finish(new RankFailedError(rank, `${report.name}: ${message}`, original), ABORT_REASON.rankFailed, rank);
    };

    /**
     * An error that nothing caught in a rank (rank.ts posts it), or that its worker died of. A rank that returned its
     * result may still throw, from a timer it left behind: while the run goes on, that is a failure of its program too.
     */
    const onUncaught = (rank: number, err: Error) => {
      ended[rank]!();
      if (over) return;
      const after = finished[rank] ? ' (after returning its result)' : '';
      finished[rank] = true;
      finish(new RankFailedError(rank, `${err.name}: ${err.message}${after}`, err), ABORT_REASON.rankFailed, rank);
    };

    /**
     * The rank posted its result just before this report (rank.ts): if the result has not come, this thread could not
     * read it, and Node dropped it with a 'messageerror' (a value nested deeper than this thread's stack allows, which
     * the worker's larger stack could write). Before, launch waited for the worker's exit, and then said that the rank
     * exited before returning; or, a timer keeping the worker, for ever.
     */
    const onResultPosted = (rank: number) => {
      if (finished[rank]) return; // its result came
      ended[rank]!();
      finished[rank] = true;
      if (over) return;
      const err = unreadable[rank];
      const why = err === undefined ? 'its return value was posted but never reached the launching thread'
        : `the launching thread could not read its return value: ${err.name}: ${err.message}`;
      finish(new RankFailedError(rank, why, err), ABORT_REASON.rankFailed, rank);
    };

    const onExit = (rank: number, code: number) => {
      ended[rank]!();
      if (over) return;
      if (finished[rank]) {
        // A rank that returned its result, then exited with an error code (process.exit(7) in a timer it left), while
        // the run goes on: a failure of its program, as a late throw is.
        const late = `exited with code ${code} (after returning its result)`;
        if (code !== 0) finish(new RankFailedError(rank, late, undefined, code), ABORT_REASON.rankFailed, rank);
        return;
      }
      finished[rank] = true;
      const promise = control.startedOf(rank) ? "its program's promise" : "the import of its program (a top-level await)";
      const why = neverSettled(code, control.exitEventOf(rank))
        ? `${promise} never settled (nothing was left that could settle it; exit code 13)`
        : `exited with code ${code} before returning a result`;
      finish(new RankFailedError(rank, why, undefined, code), ABORT_REASON.rankFailed, rank);
    };

    try {
      for (let rank = 0; rank < size; rank++) {
        const workerData: RankData = {
          entry: 'rank',
          moduleUrl: settings.moduleUrl,
          rank,
          size,
          transport: settings.transport,
          strategy: settings.strategy,
          chunkBytes: settings.chunkBytes,
          control: control.buffer,
          wiring: wirings[rank]!,
          args: settings.args,
          sourceMaps: process.sourceMapsEnabled,
        };
        const worker = startWorker(WORKER_ENTRY, { workerData, transferList: transferLists[rank] });
        ends.push(new Promise<void>((ok) => ended.push(ok)));
        worker.on('message', (message: unknown) => {
          if (isRankReport(message)) onReport(rank, message); // else the program's own postMessage: not ours
        });
        // A message this thread cannot read: one the program posted, or the rank's result (onResultPosted tells: the
        // result's error is then the latest, as nothing is posted between the result and that report).
        worker.on('messageerror', (err: unknown) => { unreadable[rank] = asError(err); });
        worker.on('error', (thrown: unknown) => onUncaught(rank, asError(thrown))); // before rank.ts took over
        worker.on('exit', (code) => onExit(rank, code));
        workers.push(worker);
      }
    } catch (err) {
      // A worker that cannot even be created (a resource limit at rank 40 of 64): stop the ones already started. Or
      // `args` that structured clone refuses, which the first rank's workerData meets.
      const refused = asError(err).name === 'DataCloneError';
      finish(refused ? new TypeError(`Expected \`args\` to be a value that structured clone accepts (every rank gets ` +
        `a copy): ${asError(err).message}`, { cause: err }) : asError(err), ABORT_REASON.startFailed);
      return;
    }

    // setTimeout fires at once past 2^31 - 1 ms, so a longer bound (25 days, Infinity) is no bound at all.
    if (settings.timeoutMs !== undefined && settings.timeoutMs <= 2 ** 31 - 1) {
      const ms = settings.timeoutMs;
      timers.push(setTimeout(() => finish(new TimeoutError('launch', ms, describeWaits(control, finished).join('; ')), ABORT_REASON.timeout), ms));
    }
    if (settings.deadlockMs > 0) watchForDeadlock(control, finished, settings.deadlockMs, timers, (cycle) =>
      finish(new DeadlockError(cycle), ABORT_REASON.deadlock));
    if (signal !== undefined) stopListening = whenAborted(signal, () => finish(signal.reason, ABORT_REASON.cancelled));
  });
}

/** Allocates the channels: rings for every ordered pair, or a MessageChannel for every pair. */
function wire(settings: Settings): { wirings: TransportWiring[]; rings: RingBuffer[]; transferLists: MessagePort[][] } {
  const { size } = settings;
  const wirings: TransportWiring[] = Array.from({ length: size }, () => ({}));
  const transferLists: MessagePort[][] = Array.from({ length: size }, () => []);
  const rings: RingBuffer[] = [];
  if (settings.transport === 'shared') {
    for (const wiring of wirings) {
      wiring.outgoing = new Array(size).fill(null);
      wiring.incoming = new Array(size).fill(null);
    }
    for (let from = 0; from < size; from++) {
      for (let to = 0; to < size; to++) {
        if (from === to) continue;
        const ring = RingBuffer.create(settings.ringBytes);
        rings.push(ring);
        wirings[from]!.outgoing![to] = ring.buffer;
        wirings[to]!.incoming![from] = ring.buffer;
      }
    }
    if (size > 1 && settings.arenaBytes > 0) {
      const arena = SharedArena.create(size, settings.arenaBytes);
      for (const wiring of wirings) wiring.arena = arena.wiring;
    }
  } else {
    for (const wiring of wirings) wiring.ports = new Array(size).fill(null);
    for (let a = 0; a < size; a++) {
      for (let b = a + 1; b < size; b++) {
        const { port1, port2 } = new MessageChannel();
        wirings[a]!.ports![b] = port1;
        wirings[b]!.ports![a] = port2;
        transferLists[a]!.push(port1);
        transferLists[b]!.push(port2);
      }
    }
  }
  return { wirings, rings, transferLists };
}

interface Settings {
  moduleUrl: string;
  size: number;
  transport: TransportName;
  ringBytes: number;
  arenaBytes: number;
  chunkBytes: number | undefined;
  timeoutMs: number | undefined;
  args: unknown;
  strategy: WaitStrategy;
  deadlockMs: number;
  signal: AbortSignal | undefined;
}

function checkOptions(moduleUrl: string | URL, options: LaunchOptions): Settings {
  // The module before the options: launch(options, url) is told so, not that a string is no options object (and
  // launch({ size }, new URL(...)) not that the URL has no `size`); so is launch({ size }), the module left out.
  if (typeof moduleUrl !== 'string' && !(moduleUrl instanceof URL)) {
    const swapped = typeof moduleUrl === 'object' && moduleUrl !== null
      && (typeof options === 'string' || (options as unknown) instanceof URL || options === undefined);
    throw new TypeError(
      `Expected \`moduleUrl\` to be a file: URL such as import.meta.url (or a data: URL), got ${describe(moduleUrl)}` +
        (swapped ? ' (the module comes first: launch(moduleUrl, options))' : ''),
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected launch options like { size: 4 }, got ${describe(options)}`);
  }
  refuseUnknownOptions('launch', options, LAUNCH_OPTIONS, LAUNCH_ALIASES);
  const { size, transport = 'shared', timeoutMs, args, strategy, deadlockMs = 1000, signal } = options;
  if (!Number.isInteger(size) || size < 1 || size > MAX_RANKS) {
    throw new RangeError(`Expected \`size\` to be an integer from 1 to ${MAX_RANKS}, got ${describe(size)}`);
  }
  if (!TRANSPORT_NAMES.includes(transport)) {
    throw new TypeError(`Expected \`transport\` to be one of ${TRANSPORT_NAMES.join(', ')}, got ${describe(transport)}`);
  }
  const pairs = Math.max(1, size * (size - 1));
  const ringBytes = options.ringBytes ?? Math.max(4096, Math.min(DEFAULT_RING_BYTES, floorPowerOfTwo(RING_BUDGET_BYTES / pairs)));
  if (!Number.isInteger(ringBytes) || ringBytes < MIN_RING_BYTES || ringBytes > MAX_RING_BYTES || (ringBytes & (ringBytes - 1)) !== 0) {
    throw new RangeError(`Expected \`ringBytes\` to be a power of two from ${MIN_RING_BYTES} to ${MAX_RING_BYTES}, got ${describe(ringBytes)}`);
  }
  const chunkBytes = options.chunkBytes === undefined ? undefined : checkChunkBytes(options.chunkBytes, ringBytes);
  const { arenaBytes = DEFAULT_ARENA_BYTES } = options;
  if (!Number.isInteger(arenaBytes) || (arenaBytes !== 0 && (arenaBytes < 64 * size || arenaBytes > MAX_ARENA_BYTES))) {
    throw new RangeError(
      `Expected \`arenaBytes\` to be 0 (no arena) or an integer from 64 bytes a rank (${64 * size} for ${size}) ` +
        `to ${MAX_ARENA_BYTES}, got ${describe(arenaBytes)}`,
    );
  }
  checkRunTimeout(timeoutMs, 'rank');
  if (!(typeof deadlockMs === 'number' && deadlockMs >= 0)) {
    throw new RangeError(`Expected \`deadlockMs\` to be a number >= 0 (0 turns the watchdog off), got ${describe(deadlockMs)}`);
  }
  checkSignal(signal);
  const url = moduleUrl instanceof URL ? moduleUrl.href : moduleUrl;
  if (!/^(file|data):/.test(url)) {
    throw new TypeError(
      `Expected \`moduleUrl\` to be a file: URL such as import.meta.url (or a data: URL), got ${JSON.stringify(url)}; ` +
        'for a path, pass pathToFileURL(path) (node:url) or new URL(path, import.meta.url)',
    );
  }
  if (url.startsWith('file:')) refuseNoProgramFile(url);
  return {
    moduleUrl: url, size, transport, ringBytes, arenaBytes, chunkBytes, timeoutMs, args,
    strategy: checkWaitOptions({ strategy: strategy ?? defaultStrategy(size) }).strategy, deadlockMs, signal,
  };
}

/**
 * How ranks wait unless told: spin, then park, while every rank can have a core of its own (a message that arrives
 * within the spin costs no system call); park at once when there are more ranks than cores, since a spinning rank then
 * holds a core that the rank it waits for may need. On 2 cores (`shmcomm bench collectives --ranks 4,8 --sizes 8,64KiB
 * --transports shared --time 0.5 --warmup 0.3 --strategy park`, against `spinThenPark`; the first VM of
 * docs/PERFORMANCE.md, 2026-11-26, far state): 8 ranks 1.06 to 1.64x faster parked, 4 ranks from 7% slower (bcast,
 * reduce) to 1.9x faster (allreduce of 64 KiB); 2 ranks: allreduce of 8 bytes 5.5 µs spinning, 40 µs parked.
 */
export function defaultStrategy(size: number, cores = availableParallelism()): WaitStrategy {
  return size > cores ? 'park' : 'spinThenPark';
}

function floorPowerOfTwo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}
