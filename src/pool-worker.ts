/**
 * The worker side of `map` (src/pool.ts): import the user's module, then take item indices from the shared counter
 * until they run out, posting the results back in batches (Batch, below).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CURRENT_ITEM, DONE_ITEMS, FINISHED, NEXT_ITEM, workerLine, POOL_REPORT, type PoolJob, type PoolMessage, type PoolReport } from './pool.js';
import { importProgram } from './load.js';
import { reportUncaughtErrors, serializeError } from './thrown.js';

const { moduleUrl, exportName, items, shared: buffer, id } = workerData as PoolJob;
const line = workerLine(id);
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
  const batch = new Batch();
  // Atomics.add returns the old value, so each index goes to exactly one worker, whoever asks first.
  for (let index = Atomics.add(shared, NEXT_ITEM, 1); index < items.length; index = Atomics.add(shared, NEXT_ITEM, 1)) {
    taken++;
    Atomics.store(shared, line + CURRENT_ITEM, index);
    let value: unknown;
    try {
      value = await fn(items[index], index);
    } catch (err) {
      // An earlier result of the batch that cannot be cloned failed first.
      return post(batch.flush() ?? { kind: 'itemFailed', index, error: serializeError(err) });
    }
    Atomics.store(shared, line + DONE_ITEMS, taken); // for a timeout's count: the results may wait in the batch
    const refused = batch.add(index, value);
    if (refused !== undefined) return post(refused);
  }
  const refused = batch.flush();
  if (refused !== undefined) return post(refused);
  Atomics.store(shared, line + CURRENT_ITEM, FINISHED);
  post({ kind: 'done', taken });
}

/**
 * The results not yet posted. A postMessage costs the two threads about 2 µs, which was most of map's time for a quick
 * function (1M squares on 2 workers took 2.3 s): results go back in batches, of BATCH_ITEMS at most, and at least
 * every BATCH_MS, so that a slow function's results (and a timeout's count of the items done) are not held back.
 * Results of one batch are cloned together: two of them that hold one object arrive holding one copy of it.
 */
class Batch {
  private indices: number[] = [];
  private values: unknown[] = [];
  private started = 0;

  /** Adds a result; posts the batch when it is full or old enough. A report of the item that cannot be cloned, if one. */
  add(index: number, value: unknown): PoolReport | undefined {
    if (this.indices.length === 0) this.started = performance.now();
    this.indices.push(index);
    this.values.push(value);
    if (this.indices.length < BATCH_ITEMS && performance.now() - this.started < BATCH_MS) return undefined;
    return this.flush();
  }

  /**
   * Posts the batch. A value that structured clone refuses makes postMessage throw before it sends anything: then
   * each result goes on its own, up to the one refused, which is that item's failure.
   */
  flush(): PoolReport | undefined {
    const { indices, values } = this;
    if (indices.length === 0) return undefined;
    this.indices = [];
    this.values = [];
    try {
      post({ kind: 'results', indices, values });
      return undefined;
    } catch {
      for (let k = 0; k < indices.length; k++) {
        try {
          post({ kind: 'results', indices: [indices[k]!], values: [values[k]] });
        } catch (err) {
          return { kind: 'itemFailed', index: indices[k]!, error: serializeError(err) };
        }
      }
      return undefined; // not reached: the batch held a value that cannot be cloned
    }
  }
}

/** The most results a batch holds, and the longest it holds them (ms). */
const BATCH_ITEMS = 1024;
const BATCH_MS = 20;

await run();
