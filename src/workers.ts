/**
 * Starting and stopping our workers (launch's ranks, map's pool, the benchmarks' peers).
 *
 * How they get the parent's Node options. A worker left to itself (`execArgv` unset) inherits them all, V8's
 * and per-process ones included (`--max-old-space-size`, `--expose-gc`, `--stack-size`, `--title`), which Node
 * refuses when they are passed explicitly. Only one inherited option breaks a worker: `--input-type`, the case of
 * `node --input-type=module -e '...'` ("--input-type can only be used with string input via --eval, --print, or
 * STDIN"), though our workers' code is a file. Then the parent's options go explicitly, without it, and without those
 * Node names as invalid for a worker: V8's and per-process options apply to the whole process anyway.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** How long terminating workers may take before we go on without the ones that did not stop. */
export const TERMINATE_WAIT_MS = 1000;

/** The options given explicitly, once the parent's have been found to need it; undefined: inherit them. */
let explicit: string[] | undefined = hasInputType(process.execArgv) ? withoutInputType(process.execArgv) : undefined;

/** A Worker for `url`, started with the parent's Node options as far as a worker may have them (above). */
export function startWorker(url: URL, options: WorkerOptions): Worker {
  for (;;) {
    try {
      return new Worker(url, explicit === undefined ? options : { ...options, execArgv: explicit });
    } catch (error) {
      const refused = explicit === undefined ? [] : refusedOptions(error);
      if (refused.length === 0) throw error;
      explicit = explicit!.filter((option) => !refused.includes(option));
    }
  }
}

function hasInputType(argv: readonly string[]): boolean {
  return argv.some((option) => option === '--input-type' || option.startsWith('--input-type='));
}

function withoutInputType(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++; // and its value
    else if (!argv[i]!.startsWith('--input-type=')) kept.push(argv[i]!);
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
 * waiting but the process's own exit.
 */
export async function terminateWithin(workers: readonly Worker[]): Promise<void> {
  await Promise.race([
    Promise.all(workers.map((worker) => worker.terminate())),
    new Promise((ok) => setTimeout(ok, TERMINATE_WAIT_MS).unref()),
  ]);
  for (const worker of workers) worker.unref();
}
