/**
 * The worker side of `map` (src/pool.ts): import the user's module, then take item indices from the shared counter
 * until they run out, posting the results back: primitives in batches, anything else at once (Batch, below).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  CURRENT_ITEM, DONE_ITEMS, EXIT_EVENT, FINISHED, NEXT_ITEM, POOL_REPORT, workerLine, type PoolJob, type PoolMessage, type PoolReport,
} from './pool-protocol.js';
import { isClass, kindOf } from './describe.js';
import { functionsByName, importProgram } from './load.js';
import { reportUncaughtErrors, serializeError } from './thrown.js';
import { stdioFlushed } from './worker-stdio.js';

const { moduleUrl, exportName, items, shared: buffer, id } = workerData as PoolJob;
const line = workerLine(id);
const shared = new Int32Array(buffer);
const port = parentPort!;
const post = (report: PoolReport) => port.postMessage({ from: POOL_REPORT, ...report } satisfies PoolMessage);
/** Posts a report after which map may terminate this worker: once what the function printed has gone (stdioFlushed). */
const postLast = async (report: PoolReport) => {
  await stdioFlushed();
  post(report);
};

reportUncaughtErrors((error) => post({ kind: 'uncaught', error }));
process.on('exit', (code) => Atomics.store(shared, line + EXIT_EVENT, code)); // what an exit code of 13 was: workers.ts

async function run(): Promise<void> {
  let module: Record<string, unknown>;
  try {
    module = await importProgram(moduleUrl);
  } catch (err) {
    const error = serializeError(err);
    return postLast({ kind: 'setupFailed', message: `could not load module ${moduleUrl}: ${error.message}`, error });
  }
  const fn = module[exportName];
  if (typeof fn !== 'function' || isClass(fn)) {
    const named = functionsByName(module);
    const found = fn !== undefined ? `; it is ${kindOf(fn)}`
      : named === '' ? '' : `; it exports ${named} by name (map's \`exportName\` option names the one to call)`;
    return postLast({ kind: 'setupFailed', message: `module ${moduleUrl} has no export "${exportName}" (a function)${found}` });
  }

  let taken = 0;
  const batch = new Batch();
  // Atomics.add returns the old value, so each index goes to exactly one worker, whoever asks first.
  for (let index = Atomics.add(shared, NEXT_ITEM, 1); index < items.length; index = Atomics.add(shared, NEXT_ITEM, 1)) {
    taken++;
    Atomics.store(shared, line + CURRENT_ITEM, index);
    try {
      const value: unknown = await fn(items[index], index);
      // Inside the try: a value that cannot be cloned makes postMessage throw, and that is this item's failure.
      if (isPrimitive(value)) batch.add(index, value);
      else post({ kind: 'results', indices: [index], values: [value] });
    } catch (err) {
      return postLast({ kind: 'itemFailed', index, error: serializeError(err) });
    }
    Atomics.store(shared, line + DONE_ITEMS, taken); // for a timeout's count: results may wait in the batch
  }
  batch.flush();
  Atomics.store(shared, line + CURRENT_ITEM, FINISHED);
  // A rejection that nothing handles becomes an uncaught error only once the microtasks of this turn have run: one
  // left by a function that never awaits would come after 'done', and the map would resolve without it. A turn of the
  // event loop first lets Node report it (reportUncaughtErrors), and this worker ends there.
  await new Promise((resolve) => setImmediate(resolve));
  await postLast({ kind: 'done', taken });
}

/**
 * The results not yet posted. A postMessage costs the two threads a few µs, which would be most of map's time for a
 * quick function (a million squares on 2 workers: 1.6 s with a postMessage a result, README): results that are
 * primitives (numbers, strings, bigints, booleans, null, undefined) go back in batches, of BATCH_ITEMS at most, posted
 * once a result finds the batch full or BATCH_MS old. Only primitives: they cannot change while they wait, and
 * structured clone takes every one of them. An object goes at once, on its own: cloned later, it would arrive as the
 * function left it by then (one that reuses the object it returns would give every item its last state), and one that
 * structured clone refuses must fail its own item before the function is called on the next.
 */
class Batch {
  private indices: number[] = [];
  private values: unknown[] = [];
  private started = 0;

  /** Adds a result; posts the batch when it is full or BATCH_MS old. */
  add(index: number, value: unknown): void {
    if (this.indices.length === 0) this.started = performance.now();
    this.indices.push(index);
    this.values.push(value);
    if (this.indices.length >= BATCH_ITEMS || performance.now() - this.started >= BATCH_MS) this.flush();
  }

  /** Posts the batch, if it holds anything. */
  flush(): void {
    if (this.indices.length === 0) return;
    post({ kind: 'results', indices: this.indices, values: this.values });
    this.indices = [];
    this.values = [];
  }
}

/** Whether `value` may wait in a batch: a primitive that structured clone takes (not a symbol). */
function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol');
}

/** The most results a batch holds, and the longest it holds them (ms). */
const BATCH_ITEMS = 1024;
const BATCH_MS = 20;

await run();
