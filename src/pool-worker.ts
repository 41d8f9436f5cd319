/**
 * The worker side of `map` (src/pool.ts): import the user's module, then take item indices from the shared counter
 * until they run out, posting each result back as soon as it is ready.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CURRENT_ITEM, FINISHED, NEXT_ITEM, POOL_REPORT, type PoolJob, type PoolMessage, type PoolReport } from './pool.js';
import { importProgram } from './load.js';
import { reportUncaughtErrors, serializeError } from './thrown.js';

const { moduleUrl, exportName, items, shared: buffer, id } = workerData as PoolJob;
const shared = new Int32Array(buffer);
const port = parentPort!;
const post = (report: PoolReport) => port.postMessage({ from: POOL_REPORT, ...report } satisfies PoolMessage);

reportUncaughtErrors((error) => post({ kind: 'uncaught', error }));

async function run(): Promise<void> {
  let fn: unknown;
  try {
    fn = (await importProgram(moduleUrl))[exportName];
  } catch (err) {
    const error = serializeError(err);
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
      return post({ kind: 'itemFailed', index, error: serializeError(err) });
    }
  }
  Atomics.store(shared, CURRENT_ITEM + id, FINISHED);
  post({ kind: 'done', taken });
}

await run();
