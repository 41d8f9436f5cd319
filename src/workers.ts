/**
 * Starting and stopping our workers (launch's ranks, map's pool, the benchmarks' peers).
 *
 * How they get the parent's Node options. A worker left to itself (`execArgv` unset) inherits them all, V8's
 * and per-process ones included (`--max-old-space-size`, `--expose-gc`, `--stack-size`, `--title`), which Node
 * refuses when they are passed explicitly. Only one inherited option breaks a worker: `--input-type`, the case of
 * `node --input-type=module -e '...'` ("--input-type can only be used with string input via --eval, --print, or
 * STDIN"), though our workers' code is a file. Then the parent's options go explicitly, without it, and without those
 * Node names as invalid for a worker: V8's and per-process options apply to the whole process anyway. Where it comes
 * from NODE_OPTIONS, which workers read as well, they get an environment without it.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { handOnStdio } from './worker-stdio.js';

/** Where launch's ranks and map's workers start: it turns source maps on, then loads rank.js or pool-worker.js. */
export const WORKER_ENTRY = new URL('./worker-entry.js', import.meta.url);

/** What WORKER_ENTRY reads of a worker's data; RankData (rank.ts) and PoolJob (pool.ts) carry it. */
export interface WorkerEntryData {
  /** The module the worker runs. */
  entry: 'rank' | 'pool';
  /** The launching thread's `process.sourceMapsEnabled` (Node 20.7 and later; undefined before). */
  sourceMaps: boolean | undefined;
}

/**
 * Whether a worker's exit code 13 says that its program's promise can never settle (nothing is left on its event loop
 * that could settle it: worker-entry.ts then sets Node's code for that), and not the program's `process.exit(13)`.
 * The worker's 'exit' event tells them apart: it carries the code of `process.exit()` (or `process.exitCode`), and 0
 * when the worker ends for the promise. `eventCode` is the code that event carried, which the worker kept in shared
 * memory as it exited. A program that removes the worker's 'exit' listeners, or sets `process.exitCode = 13` in one
 * of its own after the event, is still read as a promise that never settled.
 */
export function neverSettled(exitCode: number, eventCode: number): boolean {
  return exitCode === 13 && eventCode !== 13;
}

/** How long terminating workers may take before we go on without the ones that did not stop. */
export const TERMINATE_WAIT_MS = 1000;

/** The options given explicitly, once the parent's have been found to need it; undefined: inherit them. */
let explicit: string[] | undefined = process.execArgv.some(isInputType) ? withoutInputType(process.execArgv) : undefined;

/** NODE_OPTIONS's words, a double-quoted one whole (`--require "/a b/pre.cjs"`), as Node splits them. */
const nodeOptions = (process.env.NODE_OPTIONS ?? '').match(/(?:[^\s"]+|"(?:\\.|[^"\\])*")+/g) ?? [];
/** Whether they hold --input-type, which workers would read there too: then each gets an environment without it. */
const inputTypeInNodeOptions = nodeOptions.some(isInputType);

/** A Worker for `url`, started with the parent's Node options as far as a worker may have them (above). */
export function startWorker(url: URL, options: WorkerOptions): Worker {
  for (;;) {
    try {
      const env = inputTypeInNodeOptions && { env: { ...process.env, NODE_OPTIONS: withoutInputType(nodeOptions).join(' ') } };
      const worker = new Worker(url, { ...options, ...(explicit && { execArgv: explicit }), ...env });
      allowOutputListeners(1);
      worker.once('exit', () => allowOutputListeners(-1));
      return worker;
    } catch (error) {
      // Drop what Node names as invalid for a worker, and try again; anything else (or nothing of ours named) throws.
      const refused = explicit === undefined ? [] : refusedOptions(error);
      if (!explicit?.some((option) => refused.includes(option))) throw error;
      explicit = explicit.filter((option) => !refused.includes(option));
    }
  }
}

/**
 * Node trap (nodejs/node#37582): Node pipes each worker's stdout and stderr into the process's own, and a pipe whose
 * destination is full waits for it with a 'drain' listener of its own: 12 ranks printing into `| less` had Node warn
 * of a leak ("MaxListenersExceededWarning: Possible EventEmitter memory leak detected. 11 drain listeners added to
 * [Socket]"). So while a worker of ours lives, the process's stdout and stderr allow one listener more; a stream that
 * allows any number (0, or Infinity) is left so.
 */
function allowOutputListeners(more: number): void {
  for (const stream of [process.stdout, process.stderr]) {
    const max = stream.getMaxListeners();
    if (max !== 0 && max !== Infinity) stream.setMaxListeners(Math.max(1, max + more));
  }
}

function isInputType(option: string): boolean {
  return option === '--input-type' || option.startsWith('--input-type=');
}

/**
 * The parent's options less --input-type, and less the script of `-e`/`-p` (the worker runs a file: its own
 * execArgv would otherwise carry a copy of the whole script), each with its value.
 */
function withoutInputType(argv: readonly string[]): string[] {
  const kept: string[] = [];
  const withValue = ['--input-type', '-e', '--eval', '-p', '--print'];
  for (let i = 0; i < argv.length; i++) {
    const option = argv[i]!;
    if (withValue.includes(option)) i++; // and its value
    else if (!withValue.some((name) => option.startsWith(`${name}=`))) kept.push(option);
  }
  return kept;
}

/** The options that Node's ERR_WORKER_INVALID_EXEC_ARGV names ("... invalid execArgv flags: --a=1, --b"), or none. */
function refusedOptions(error: unknown): string[] {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return [];
  const listed = /flags: (.*)$/.exec((error as Error).message)?.[1];
  return listed === undefined ? [] : listed.split(', ');
}

/**
 * Terminates `workers`, waiting TERMINATE_WAIT_MS at most: terminate() cannot stop a worker inside a blocking native
 * call (a synchronous child process, a read that never returns). Those are unref()'d, so that they keep nothing
 * waiting but the process's own exit. What the workers printed is handed on before it resolves (handOnStdio).
 */
export async function terminateWithin(workers: readonly Worker[]): Promise<void> {
  await waitAtMost(Promise.all(workers.map((worker) => worker.terminate())), TERMINATE_WAIT_MS);
  for (const worker of workers) {
    worker.unref();
    handOnStdio(worker);
  }
}

/**
 * Settles as `promise` does, or resolves after `ms` at the latest, and clears its timer either way: left to run out,
 * such a timer outlived every launch and map by up to a second (a failed launch left two), in a process that may launch
 * again and again.
 */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((ok) => { timer = setTimeout(ok, ms).unref(); })]);
  } finally {
    clearTimeout(timer);
  }
}
