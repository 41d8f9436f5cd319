/**
 * `map`: Python's `Pool.map` for worker threads. Every worker gets the whole item list once; a shared atomic
 * counter hands out item indices, so a fast worker simply takes more of them (dynamic load balancing), and the
 * results come back by `postMessage` (primitives in batches: pool-worker.ts), to be put in input order.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { whenAborted } from './abort-signal.js';
import { checkRunTimeout, checkSignal, describe, refuseUnknownOptions } from './describe.js';
import { TimeoutError, WorkerFailedError } from './errors.js';
import { PARSE_ERROR, refuseNoProgramFile, refuseWhileImporting, syntaxErrorAt } from './load.js';
import type { ResultOf } from './sent.js';
import {
  CURRENT_ITEM, DONE_ITEMS, EXIT_EVENT, FINISHED, isPoolReport, LOADING, workerLine, type PoolJob,
} from './pool-protocol.js';
import { asError, reviveError } from './thrown.js';
import { neverSettled, startWorker, terminateWithin, WORKER_ENTRY } from './workers.js';

/**
 * Options of {@link map}, all optional. Each is checked before any worker starts, and `map` rejects with a `TypeError`
 * or `RangeError` that names it, as it does for a name not listed here (``Unknown map option `worker` ...``).
 */
export interface MapOptions {
  /**
   * How many workers to start: an integer from 1 to 256 (`MAX_WORKERS`). Default `os.availableParallelism()`, 256 at
   * most; never more than there are items.
   */
  workers?: number | undefined;
  /** The export of the module to call as `(item, index) => R | Promise<R>`, a string; default `'default'`. */
  exportName?: string | undefined;
  /**
   * Bounds the whole map: past it, every worker is terminated and `map` rejects with a `TimeoutError`. Default, and
   * `Infinity` (or anything above 2^31 - 1 ms): no limit. 0 is refused, as launch's is.
   */
  timeoutMs?: number | undefined;
  /**
   * Cancels the map when it aborts: every worker is terminated and `map` rejects with the signal's `reason`; one
   * aborted already starts no worker. Default: none; anything but an `AbortSignal` is a `TypeError`.
   */
  signal?: AbortSignal | undefined;
}

/** What {@link map} resolves with: the results in input order, and how the items were shared out. */
export interface MapResult<R> {
  /** `results[i]` is the function's value for `items[i]`, as structured clone delivers it. */
  results: R[];
  /** How many items each worker took; it sums to `items.length`, and the split is uneven by design. */
  itemsPerWorker: number[];
}

/** The most workers `map` starts: 256 (`MapOptions.workers` above it is a `RangeError`). */
export const MAX_WORKERS = 256;
/** Every option of MapOptions: another name is a mistake (`worker: 2` would start one per core). */
const MAP_OPTIONS = ['workers', 'exportName', 'timeoutMs', 'signal'] as const satisfies readonly (keyof MapOptions)[];
/** What Python's Pool and launch call map's options: the refusal names ours. */
const MAP_ALIASES = { processes: 'workers', size: 'workers', timeout: 'timeoutMs' };


/**
 * What `items` that are no array likely mean: the module and the items swapped (`map(items, url)`), an iterable given
 * as Python's map takes one (a Set; a generator, which describe() calls an object; an array's iterator, an Iterator on
 * Node 22 and later), or the options given where the items go (`map(url, { workers: 2 })`).
 */
function itemsHint(moduleUrl: unknown, items: unknown): string {
  if (Array.isArray(moduleUrl) && (typeof items === 'string' || items instanceof URL)) {
    return ' (the module comes first: map(moduleUrl, items, options))';
  }
  if (typeof items === 'object' && items !== null && Symbol.iterator in items) {
    return ' (an iterable, which map does not take: [...items] makes an array of it)';
  }
  const isOptions = typeof items === 'object' && items !== null && Object.keys(items).some((key) => (MAP_OPTIONS as readonly string[]).includes(key));
  return isOptions ? ' (the items come before the options: map(moduleUrl, items, options))' : '';
}

/**
 * What a function where the module goes likely means: Python's `pool.map(f, items)`. No function can be sent to a
 * worker thread (structured clone refuses it, and its closure could not come along): each worker imports the module
 * that exports it.
 */
function moduleUrlHint(moduleUrl: unknown): string {
  if (typeof moduleUrl !== 'function') return '';
  const name = moduleUrl.name.replace(/^(bound )+/, ''); // square.bind(null) is named 'bound square'
  return name === '' ? ' (no function can be sent to a worker thread: export it from a module, and pass that module\'s URL)'
    : ` (no function can be sent to a worker thread: pass the URL of the module that exports ${name}, with ` +
      `exportName: ${JSON.stringify(name)} unless it is the default export)`;
}

/**
 * Calls a module's function on every item, in worker threads, and resolves with the results in input order.
 *
 * Type arguments: one, the function's type (`map<typeof square>`: the results are typed from what it returns) or the
 * type of each result (`map<number>`); or two, the items' type and the results' (`map<number, number>`).
 *
 * `moduleUrl` is a URL (`new URL('./square.js', import.meta.url)`, `import.meta.url`) or a file path (relative
 * ones from the current directory). Each worker imports it, so a module may be its own launcher if it guards its
 * launching code with `isMainThread`. Items and results travel by structured clone (results that are primitives in
 * batches). A file that is not there is refused before any worker starts (an Error, `code` ERR_MODULE_NOT_FOUND);
 * empty `items` resolve at once, with no worker started.
 *
 * Rejects, after terminating every worker, with a `WorkerFailedError` (`worker`, `item`, `cause`, `exitCode`): when the
 * function throws (`item 3 failed in worker 1: boom`, with the original error as `cause`) or returns a value that
 * cannot be cloned, or that this thread cannot read (nested deeper than its stack allows); when the module fails to
 * load or lacks the export, an error goes uncaught (in a timer, or a rejection that nothing handles), or a worker
 * exits early (`process.exit`, or a promise that can never settle: exit code 13), with `item` -1. With a
 * `TimeoutError` past `timeoutMs`, or the `signal`'s reason. Bad arguments reject too, before any worker starts: a
 * `TypeError` or `RangeError` for `items` that are not an array (or hold a value that structured clone refuses), a
 * `moduleUrl` that is neither a URL nor a path, or an option; an `Error` when called as a worker imports its program.
 *
 * This form takes one type argument: the function's type or each result's.
 *
 * @example
 * const { results, itemsPerWorker } = await map<number>(new URL('./square.js', import.meta.url), [1, 2, 3]);
 */
export async function map<R = unknown>(
  moduleUrl: string | URL, items: readonly unknown[], options?: MapOptions,
): Promise<MapResult<ResultOf<R>>>;
/**
 * `map` with two type arguments, the items' type `T` and the results' `R` (`map<number, number>(url, [1, 2, 3])`), so
 * that `items` are checked too: calls the module's function on every item in worker threads, and resolves with the
 * results in input order and how many items each worker took. Rejects, after terminating every worker, with a
 * `WorkerFailedError` when an item's call or a worker fails, a `TimeoutError` past `timeoutMs`, the `signal`'s reason,
 * or a `TypeError`/`RangeError` for bad arguments (before any worker starts).
 */
export async function map<T, R>(
  moduleUrl: string | URL, items: readonly T[], options?: MapOptions,
): Promise<MapResult<ResultOf<R>>>;
export async function map(
  moduleUrl: string | URL, items: readonly unknown[], options: MapOptions = {},
): Promise<MapResult<unknown>> {
  refuseWhileImporting('map');
  if (!Array.isArray(items)) throw new TypeError(`Expected \`items\` to be an array, got ${describe(items)}${itemsHint(moduleUrl, items)}`);
  if (typeof moduleUrl !== 'string' && !(moduleUrl instanceof URL)) {
    const got = `${describe(moduleUrl)}${moduleUrlHint(moduleUrl)}`;
    throw new TypeError(`Expected \`moduleUrl\` to be a URL (import.meta.url) or a file path, got ${got}`);
  }
  if (options !== null && typeof options !== 'object') { // null: the defaults, as undefined
    throw new TypeError(`Expected map options like { workers: 4 }, got ${describe(options)}`);
  }
  refuseUnknownOptions('map', options ?? {}, MAP_OPTIONS, MAP_ALIASES);
  const { workers, exportName = 'default', timeoutMs, signal } = options ?? {};
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)) {
    throw new RangeError(`Expected \`workers\` to be an integer from 1 to ${MAX_WORKERS}, got ${describe(workers)}`);
  }
  if (typeof exportName !== 'string') throw new TypeError(`Expected \`exportName\` to be a string, got ${describe(exportName)}`);
  checkRunTimeout(timeoutMs, 'worker');
  checkSignal(signal);
  // A string is a path when it is not a URL; one of another scheme than import()'s own (`v2:lib/f.js`) is a path too
  // when such a file exists. A file: or data: URL is one whatever the current directory holds.
  const ownScheme = typeof moduleUrl === 'string' && /^(file|data|node):/i.test(moduleUrl);
  const isPath = typeof moduleUrl === 'string' && !ownScheme
    && (isAbsolute(moduleUrl) || !URL.canParse(moduleUrl) || existsSync(moduleUrl));
  const href = isPath ? pathToFileURL(moduleUrl).href : String(moduleUrl);
  if (href.startsWith('file:')) refuseNoProgramFile(href, isPath ? (moduleUrl as string) : undefined);
  signal?.throwIfAborted();
  if (items.length === 0) return { results: [], itemsPerWorker: [] };

  const count = Math.min(workers ?? Math.min(availableParallelism(), MAX_WORKERS), items.length);
  const shared = new Int32Array(new SharedArrayBuffer(workerLine(count) * Int32Array.BYTES_PER_ELEMENT));
  for (let id = 0; id < count; id++) shared[workerLine(id) + CURRENT_ITEM] = LOADING;
  const started: Worker[] = [];
  let timer: NodeJS.Timeout | undefined;
  let stopListening: (() => void) | undefined; // to the signal
  try {
    return await new Promise<MapResult<unknown>>((resolve, reject) => {
      if (signal !== undefined) stopListening = whenAborted(signal, () => reject(signal.reason));
      const results = new Array<unknown>(items.length);
      const itemsPerWorker = new Array<number>(count).fill(0);
      let finished = 0;
      let setupFailed = false;
      // Which results came, how many from each worker, and the error of each worker's latest message that this thread
      // could not read: a result nested deeper than this thread's stack allows (a worker's is larger) is dropped by
      // Node with a 'messageerror', which cannot say whose message it was. A worker's 'done' comes after all its
      // results: one that took more items than sent results that came lost some (`short`), and once every worker is
      // done, the items without a result are the lost ones.
      const came = new Uint8Array(items.length);
      const received = new Array<number>(count).fill(0);
      const unreadable = new Array<Error | undefined>(count);
      const short: number[] = [];
      // Read by the main thread while workers run, so it may be one item late; good enough to say who is stuck.
      const whereIs = (id: number) => {
        const index = Atomics.load(shared, workerLine(id) + CURRENT_ITEM);
        if (index === LOADING) return 'loading the module';
        return index === FINISHED ? 'finished' : `on item ${index}`;
      };
      // setTimeout fires at once past 2^31 - 1 ms, so a longer bound (25 days) is no bound at all.
      if (timeoutMs !== undefined && timeoutMs <= 2 ** 31 - 1) {
        timer = setTimeout(() => {
          const where = itemsPerWorker.map((_, id) => `worker ${id} ${whereIs(id)}`).join(', ');
          let done = 0;
          for (let id = 0; id < count; id++) done += Atomics.load(shared, workerLine(id) + DONE_ITEMS);
          reject(new TimeoutError('map', timeoutMs, `${done} of ${items.length} items done; ${where}`));
        }, timeoutMs);
      }
      for (let id = 0; id < count; id++) {
        const sourceMaps = process.sourceMapsEnabled;
        const job: PoolJob = { entry: 'pool', moduleUrl: href, exportName, items, shared: shared.buffer, id, sourceMaps };
        let worker: Worker;
        try {
          worker = startWorker(WORKER_ENTRY, { workerData: job });
        } catch (err) { // the first worker's workerData meets an item that structured clone refuses
          const refused = asError(err).name === 'DataCloneError';
          reject(refused ? new TypeError('Expected `items` to be values that structured clone accepts (every worker ' +
            `gets a copy of them): ${asError(err).message}`, { cause: err }) : err);
          return;
        }
        started.push(worker);
        let done = false;
        worker.on('message', (report: unknown) => {
          if (!isPoolReport(report)) return; // the user's function posted it: not ours
          if (report.kind === 'results') {
            const { indices, values } = report;
            for (let k = 0; k < indices.length; k++) {
              results[indices[k]!] = values[k];
              came[indices[k]!] = 1;
            }
            received[id] += indices.length;
          } else if (report.kind === 'done') {
            done = true;
            itemsPerWorker[id] = report.taken;
            if (received[id]! < report.taken) short.push(id);
            if (++finished < count) return;
            if (short.length === 0) return resolve({ results, itemsPerWorker });
            // The first lost item, and the worker that lost it when one did (when several did, the first of them).
            const [lost, err] = [came.indexOf(0), unreadable[short[0]!]];
            const why = err === undefined ? 'its result never reached the main thread'
              : `the main thread could not read its result: ${err.message}`;
            reject(new WorkerFailedError(short[0]!, lost, `item ${lost} failed in worker ${short[0]}: ${why}`, err));
          } else if (report.kind === 'uncaught') {
            const cause = reviveError(report.error);
            reject(new WorkerFailedError(id, -1, `worker ${id} failed: ${cause.message}`, cause));
          } else if (report.kind === 'itemFailed') {
            const cause = reviveError(report.error);
            const message = `item ${report.index} failed in worker ${id}: ${cause.message}`;
            reject(new WorkerFailedError(id, report.index, message, cause));
          } else if (!setupFailed) {
            setupFailed = true; // every worker may say so: the first is told, and a syntax error located once
            // A syntax error: where it is, in the message and in its cause, as launch says it.
            const where = report.error?.code === PARSE_ERROR ? syntaxErrorAt(href) : '';
            const cause = report.error && reviveError({ ...report.error, message: `${report.error.message}${where}` });
            reject(new WorkerFailedError(id, -1, `${report.message}${where}`, cause));
          }
        });
        // A message this thread cannot read: a result (a 'done' then tells), or one the function posted itself.
        worker.on('messageerror', (err: unknown) => { unreadable[id] = asError(err); });
        // Node trap (nodejs/node#51679): a worker that cannot start or calls process.exit() sends no message at
        // all, so 'error' and 'exit' are what stop map from waiting for ever.
        worker.on('error', (thrown: unknown) => { // an uncaught throw in a timer may be anything, null included
          const err = asError(thrown);
          reject(new WorkerFailedError(id, -1, `worker ${id} failed: ${err.message}`, err));
        });
        worker.on('exit', (code) => {
          if (done) return;
          const exited = `worker ${id} exited with code ${code} before finishing its items (${whereIs(id)})`;
          const line = workerLine(id);
          const why = neverSettled(code, Atomics.load(shared, line + EXIT_EVENT))
            ? `: ${unsettledPromise(Atomics.load(shared, line + CURRENT_ITEM))}` : '';
          reject(new WorkerFailedError(id, -1, `${exited}${why}`, undefined, code));
        });
      }
    });
  } finally {
    clearTimeout(timer);
    stopListening?.();
    // terminate() also stops a function stuck in an endless loop, which is what makes timeoutMs a real bound; one in
    // a blocking native call it cannot stop, and map does not wait for that past TERMINATE_WAIT_MS.
    await terminateWithin(started);
  }
}

/**
 * What Node's exit code 13 means (workers.ts, neverSettled; launch says it of a rank too): the worker's main promise
 * could never settle, nothing being left on its event loop (a timer, a socket) that could settle it. Here that promise
 * is the function's, on the item `at` (the worker's CURRENT_ITEM slot), or the module's import (a top-level await).
 */
function unsettledPromise(at: number): string {
  const promise = at === LOADING ? "the module's top-level await" : `the function's promise for item ${at}`;
  return `${promise} never settled (nothing was left that could settle it)`;
}

