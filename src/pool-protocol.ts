/**
 * What map's main thread (pool.ts) and its workers (pool-worker.ts) share: the layout of the shared buffer, a
 * worker's job and its reports. A module of its own because pool-worker.ts is a worker's entry point, which must not
 * import the main thread's side (as rank-report.ts is for launch).
 */
import type { SerializedError } from './thrown.js';
import type { WorkerEntryData } from './workers.js';

/**
 * The shared buffer, in Int32 slots: on its first cache line the next index to hand out (NEXT_ITEM), the one word
 * every worker contends for; then a line per worker (`workerLine`), where it says which item it works on, or LOADING
 * (its module) or FINISHED (CURRENT_ITEM), and how many items it has done (DONE_ITEMS: results go back in batches, so a
 * timeout counts here). A line each, so that a worker's stores at every item do not take the line from the others:
 * these words are there to say who is stuck where, and how far map got.
 */
export const NEXT_ITEM = 0;
/** Slots of a worker's line, from `workerLine(id)`; EXIT_EVENT: the code of its 'exit' event (workers.ts). */
export const CURRENT_ITEM = 0, DONE_ITEMS = 1, EXIT_EVENT = 2;
/** CURRENT_ITEM while the worker imports the module, and once it has no item left. */
export const LOADING = -2, FINISHED = -1;
const SLOTS_PER_LINE = 16;
/** The first slot of worker `id`'s line. */
export const workerLine = (id: number): number => SLOTS_PER_LINE * (1 + id);

/** What a pool worker gets as `workerData` (worker-entry.ts reads `entry` and `sourceMaps` first). */
export interface PoolJob extends WorkerEntryData {
  entry: 'pool';
  moduleUrl: string;
  exportName: string;
  items: readonly unknown[];
  shared: SharedArrayBuffer;
  id: number;
}

/** What a pool worker posts back. */
export type PoolReport =
  | { kind: 'results'; indices: number[]; values: unknown[] } // in batches (pool-worker.ts)
  | { kind: 'itemFailed'; index: number; error: SerializedError }
  | { kind: 'setupFailed'; message: string; error?: SerializedError }
  | { kind: 'uncaught'; error: SerializedError } // thrown where nothing catches it (a timer)
  | { kind: 'done'; taken: number };

/**
 * A PoolReport as posted: `from` tells it apart from a message that the user's function posts on
 * `parentPort` itself, which `map` leaves alone.
 */
export type PoolMessage = PoolReport & { from: typeof POOL_REPORT };
export const POOL_REPORT = 'shmcomm pool report';

/** Whether a message from a pool worker is its report (and not the user's function's own). */
export function isPoolReport(message: unknown): message is PoolMessage {
  return typeof message === 'object' && message !== null && (message as { from?: unknown }).from === POOL_REPORT;
}
