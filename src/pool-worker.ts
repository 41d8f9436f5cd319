/**
 * The worker side of `map` (src/pool.ts): import the user's module, then take item indices from the shared counter
 * until they run out, posting each result back as soon as it is ready.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CURRENT_ITEM, FINISHED, NEXT_ITEM, type PoolJob, type PoolReport, type SerializedError } from './pool.js';

const { moduleUrl, exportName, items, shared: buffer, id } = workerData as PoolJob;
const shared = new Int32Array(buffer);
const port = parentPort!;
const post = (report: PoolReport) => port.postMessage(report);

async function run(): Promise<void> {
  let fn: unknown;
  try {
    fn = ((await import(moduleUrl)) as Record<string, unknown>)[exportName];
  } catch (err) {
    const error = serialize(err);
    return post({ kind: 'setupFailed', message: `could not load module ${moduleUrl}: ${error.message}`, error });
  }
  if (typeof fn !== 'function') {
    const found = fn === undefined ? '' : `; it is ${fn === null ? 'null' : `a ${typeof fn}`}`;
    return post({ kind: 'setupFailed', message: `module ${moduleUrl} has no export "${exportName}" (a function)${found}` });
  }

  let taken = 0;
  // Atomics.add returns the old value, so each index goes to exactly one worker, whoever asks first.
  for (let index = Atomics.add(shared, NEXT_ITEM, 1); index < items.length; index = Atomics.add(shared, NEXT_ITEM, 1)) {
    taken++;
    Atomics.store(shared, CURRENT_ITEM + id, index);
    try {
      const value: unknown = await fn(items[index], index);
      // Inside the try: a value that cannot be cloned makes postMessage throw, and that is this item's failure.
      post({ kind: 'result', index, value });
    } catch (err) {
      return post({ kind: 'itemFailed', index, error: serialize(err) });
    }
  }
  Atomics.store(shared, CURRENT_ITEM + id, FINISHED);
  post({ kind: 'done', taken });
}

function serialize(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: `non-error thrown: ${safeString(err)}` };
  const code = (err as { code?: unknown }).code;
  return { name: String(err.name), message: String(err.message), stack: err.stack, ...(typeof code === 'string' ? { code } : {}) };
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

await run();
