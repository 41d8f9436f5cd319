import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { syncBuiltinESMExports } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShmcommError, TimeoutError, WorkerFailedError } from '../src/index.js';
import { map } from '../src/pool.js';
import {
  childPids, exitFlag, linesPerWriter, noWorkerLeft, pendingTimers, processWarnings, prng, readNothingUntilExit, startedWorkers, testSeed, within,
} from './helpers.js';

const square = new URL('./fixtures/pool-square.js', import.meta.url);
const faults = new URL('./fixtures/pool-faults.js', import.meta.url);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The rejection of `promise`, which must come within `ms`. */
async function rejection(promise: Promise<unknown>, ms = 30_000): Promise<Error & { cause?: unknown }> {
  const outcome = await within(promise.then(() => 'a result', (err: unknown) => err), ms, 'a rejection');
  assert.instance(outcome, Error, `expected a rejection, got ${String(outcome)}`);
  return outcome as Error;
}

/**
 * `err` is map's WorkerFailedError with these fields and message, and its `cause` is or is not there; `worker` may be
 * a list of the ids the race allows, and `message` then a function of the id it gave.
 */
function assertWorkerFailed(err: Error, expected: {
  worker: number | number[]; item: number; message: string | ((worker: number) => string); hasCause: boolean;
  exitCode?: number;
}): WorkerFailedError {
  assert.instance(err, WorkerFailedError);
  assert.instance(err, ShmcommError);
  const failed = err as WorkerFailedError;
  assert.is(failed.name, 'WorkerFailedError');
  assert.is(failed.code, 'SHMCOMM_WORKER_FAILED');
  const workers = typeof expected.worker === 'number' ? [expected.worker] : expected.worker;
  assert.ok(workers.includes(failed.worker), `worker ${failed.worker}, expected one of ${workers.join(', ')}`);
  assert.is(failed.item, expected.item);
  const message = typeof expected.message === 'string' ? expected.message : expected.message(failed.worker);
  assert.is(failed.message, message);
  assert.is('cause' in failed, expected.hasCause, `cause: ${String(failed.cause)}`);
  assert.is(failed.exitCode, expected.exitCode, 'the exit code of a worker that exited, else undefined');
  return failed;
}

test('squares of 0..999 on 3 workers, in input order', async () => {
  const { results, itemsPerWorker } = await map<number, number>(square, range(1000), { workers: 3 });
  assert.equal(results, range(1000).map((x) => x * x));
  assert.is(itemsPerWorker.length, 3);
  assert.is(sum(itemsPerWorker), 1000);
  assert.ok(itemsPerWorker.every((n) => Number.isInteger(n) && n >= 0));
});

test('11 items on 2 workers: the split is whatever the race gave', async () => {
  const { results, itemsPerWorker } = await map<number, number>(square, range(11), { workers: 2 });
  console.log(`  11 items on 2 workers: itemsPerWorker = [${itemsPerWorker.join(', ')}]`);
  assert.equal(results, range(11).map((x) => x * x));
  assert.is(itemsPerWorker.length, 2);
  assert.is(sum(itemsPerWorker), 11);
});

test('an async function with seeded random delays', async () => {
  const random = prng(testSeed('async map'));
  const items = range(40).map((x) => ({ x, delayMs: Math.floor(random() * 20) }));
  const { results, itemsPerWorker } = await map<{ x: number; delayMs: number }, number>(square, items, {
    workers: 4, exportName: 'slowSquare', timeoutMs: 30_000,
  });
  console.log(`  40 sleepy items on 4 workers: itemsPerWorker = [${itemsPerWorker.join(', ')}]`);
  assert.equal(results, range(40).map((x) => x * x));
  assert.is(sum(itemsPerWorker), 40);
});

test('a named export gets (item, index); objects come back whole', async () => {
  const { results } = await map(square, [2, 3, 4], { exportName: 'cube', workers: 2 });
  assert.equal(results, [{ index: 0, cube: 8 }, { index: 1, cube: 27 }, { index: 2, cube: 64 }]);
});

test('the module may be a URL string or a file path', async () => {
  assert.equal((await map(square.href, [5], { workers: 1 })).results, [25]);
  assert.equal((await map(fileURLToPath(square), [6, 7])).results, [36, 49]);
  assert.equal((await map(relative(process.cwd(), fileURLToPath(square)), [8])).results, [64]);
});

test('a relative path whose first part has a colon is a path where the file exists, else a URL', async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'shmcomm-pool-'));
  const cwd = process.cwd();
  try {
    mkdirSync(join(dir, 'v2:lib'));
    copyFileSync(fileURLToPath(square), join(dir, 'v2:lib', 'square.js'));
    process.chdir(dir);
    assert.equal((await map('v2:lib/square.js', [9])).results, [81]);
    // A data: URL is one, whatever the current directory holds.
    mkdirSync(join(dir, 'data:text'));
    writeFileSync(join(dir, 'data:text', 'javascript,export default (x) => x + 1'), 'export default () => "from disk";\n');
    assert.equal((await map('data:text/javascript,export default (x) => x + 1', [1])).results, [2]);
    // No such file: a URL, whose scheme import() then refuses (not a path under the current directory).
    const err = await rejection(map('https://example.com/f.mjs', [1]));
    assert.match(err.message, /^could not load module https:\/\/example\.com\/f\.mjs: .*'https:'/);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ES module syntax in a .js file that Node reads as CommonJS: where, and what to do', async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'shmcomm-pool-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }');
    writeFileSync(join(dir, 'f.js'), 'export default (x) => x * 5;\n');
    const file = join(dir, 'f.js');
    const err = await rejection(map(file, [1]));
    const message = `could not load module ${pathToFileURL(file).href}: Unexpected token 'export' (at ${file}:1: ` +
      `export default (x) => x * 5;); Node reads ${file} as CommonJS: name it .mjs, or set "type": "module" in its package.json`;
    assertWorkerFailed(err, { worker: 0, item: -1, hasCause: true, message });
    // The cause says where too, as launch's does.
    assert.is((err.cause as Error).message, err.message.slice(`could not load module ${pathToFileURL(file).href}: `.length));
    // A .cjs file is CommonJS whatever its package.json says: only its name helps
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
    const cjs = join(dir, 'f.cjs');
    writeFileSync(cjs, 'export default (x) => x * 5;\n');
    const refused = await rejection(map(cjs, [1]));
    assert.match(refused.message, new RegExp(`; Node reads ${cjs.replace(/[.]/g, '\\.')} as CommonJS: name it \\.mjs$`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a syntax error: WorkerFailedError, whose cause is the SyntaxError, both saying where it is', async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'shmcomm-pool-'));
  try {
    const file = join(dir, 'typo.mjs');
    writeFileSync(file, 'export default function square(x) {\n  return x *;\n}\n');
    const err = await rejection(map(file, [1, 2, 3], { workers: 2, timeoutMs: 30_000 }));
    const where = `Unexpected token ';' (at ${file}:2: return x *;)`;
    const message = `could not load module ${pathToFileURL(file).href}: ${where}`;
    assertWorkerFailed(err, { worker: [0, 1], item: -1, hasCause: true, message });
    const cause = err.cause as SyntaxError & { code?: string };
    assert.instance(cause, SyntaxError);
    assert.is(cause.code, 'SHMCOMM_PARSE_ERROR');
    assert.is(cause.message, where);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await noWorkerLeft('a module with a syntax error');
});

test('the default worker count is capped by the item count', async () => {
  const { itemsPerWorker } = await map(square, [1, 2]);
  assert.ok(itemsPerWorker.length >= 1 && itemsPerWorker.length <= 2, `${itemsPerWorker.length} workers`);
  assert.is(sum(itemsPerWorker), 2);
  assert.is((await map(square, [1, 2, 3], { workers: 8 })).itemsPerWorker.length, 3);
});

test('on a machine of more than 256 cores, the default count of workers is no RangeError', async () => {
  const cores = os.availableParallelism;
  try {
    os.availableParallelism = () => 384;
    syncBuiltinESMExports(); // pool.ts's own import of it sees the change
    assert.is((await map(square, range(3), { timeoutMs: 60_000 })).itemsPerWorker.length, 3); // it threw, with 384
  } finally {
    os.availableParallelism = cores;
    syncBuiltinESMExports();
  }
});

test('empty items: no worker started', async () => {
  const before = startedWorkers();
  assert.equal(await map(square, []), { results: [], itemsPerWorker: [] });
  assert.is(startedWorkers(), before);
});

test('a throwing item names the item and the worker, with the original error as cause', async () => {
  const err = await rejection(map(faults, range(8), { workers: 2, exportName: 'throwsOnThree' }));
  const message = (worker: number) => `item 3 failed in worker ${worker}: boom`;
  assertWorkerFailed(err, { worker: [0, 1], item: 3, hasCause: true, message });
  const cause = err.cause as Error & { code?: string };
  assert.instance(cause, Error);
  assert.is(cause.name, 'BoomError');
  assert.is(cause.message, 'boom');
  assert.is(cause.code, 'E_BOOM');
  assert.match(cause.stack ?? '', /^BoomError: boom\n/);
  assert.match(cause.stack ?? '', /pool-faults/);
  // One worker: every field is known. Items 0 to 2 came back before it failed; the rejection is item 3's all the same.
  const alone = await rejection(map(faults, range(8), { workers: 1, exportName: 'throwsOnThree' }));
  assertWorkerFailed(alone, { worker: 0, item: 3, hasCause: true, message: 'item 3 failed in worker 0: boom' });
  assert.is((alone.cause as Error).name, 'BoomError');
  await noWorkerLeft('an item threw');
});

test("an item's error keeps its chain of causes, an AggregateError's errors, and fields that hold primitives", async () => {
  const err = await rejection(map(faults, [1], { exportName: 'rejectsWithCauses' }));
  assertWorkerFailed(err, { worker: 0, item: 0, hasCause: true, message: 'item 0 failed in worker 0: top' });
  assert.is((err.cause as Error).message, 'top');
  const middle = (err.cause as Error).cause as AggregateError;
  assert.instance(middle, AggregateError);
  assert.is(middle.message, 'middle');
  assert.equal(middle.errors.map((e: Error) => `${e.name}: ${e.message}`), ['TypeError: one']);
  const deepest = middle.cause as RangeError & { status: number; code: number; details?: unknown };
  assert.instance(deepest, RangeError);
  assert.equal([deepest.message, deepest.status, deepest.code, deepest.details], ['deepest', 404, 42, undefined]);
});

test('a thrown non-Error is still reported', async () => {
  const err = await rejection(map(faults, [1], { exportName: 'throwsAString' }));
  const message = 'item 0 failed in worker 0: non-error thrown: "a string, not an Error"';
  assertWorkerFailed(err, { worker: 0, item: 0, hasCause: true, message });
  assert.instance(err.cause, Error);
  assert.is((err.cause as Error).message, 'non-error thrown: "a string, not an Error"');
});

/** `err` is worker 0's failure on item `item`, whose result structured clone refused. */
function assertCloneRefused(err: Error, item: number): void {
  const cause = err.cause as Error;
  assert.is(cause.name, 'DataCloneError');
  assert.match(cause.message, /could not be cloned/);
  const message = `item ${item} failed in worker 0: ${cause.message}`;
  assertWorkerFailed(err, { worker: 0, item, hasCause: true, message });
}

test('a value that cannot be cloned is that item\'s failure', async () => {
  assertCloneRefused(await rejection(map(faults, [1, 2], { workers: 1, exportName: 'returnsAFunction' })), 0);
});

test('results come back in batches: 5,000 squares on 2 workers, each in its place', async () => {
  const { results, itemsPerWorker } = await map<number, number>(square, range(5000), { workers: 2 });
  assert.is(results.length, 5000);
  for (let i = 0; i < 5000; i++) if (results[i] !== i * i) assert.unreachable(`results[${i}] = ${results[i]}`);
  assert.is(sum(itemsPerWorker), 5000);
  const mixed = await map<number | string>(faults, range(3000), { workers: 2, exportName: 'squareOrString' });
  assert.equal(mixed.results, range(3000).map((x) => (x % 2 === 0 ? x * x : String(x * x))));
});

test('a result the main thread cannot read fails its item: a result is never silently missing', async () => {
  // Item 2's result is nested 6,000 deep: the worker posts it, the main thread's smaller stack cannot read it, and
  // Node drops the message ('messageerror'). Before, map resolved with results[2] undefined.
  const err = await rejection(map(faults, range(5), { workers: 2, exportName: 'nestsDeeplyOnTwo' }));
  assertWorkerFailed(err, {
    worker: [0, 1], item: 2, hasCause: true,
    message: (worker) => `item 2 failed in worker ${worker}: the main thread could not read its result: ` +
      'Maximum call stack size exceeded',
  });
  assert.instance(err.cause, RangeError);
  await noWorkerLeft('an unreadable result');
  // What the function posts itself that the main thread cannot read is not map's: the results are all there.
  const { results } = await map<number, number>(faults, range(4), { workers: 2, exportName: 'postsUnreadable' });
  assert.equal(results, range(4));
});

test("what follows a message the main thread cannot read still comes, though it reads nothing until the end", async () => {
  // Node trap (docs/probes/exit-drain.mjs): had the worker exited, Node's drain of its messages would stop at the
  // unreadable one, and the results and 'done' after it would be lost ("worker 0 exited with code 0 before finishing
  // its items (finished)", which CI met once). The worker stays until map terminates it.
  const flag = exitFlag();
  const mapped = map<{ x: number; flag: Int32Array }, number>(faults, range(4).map((x) => ({ x, flag })),
    { workers: 1, exportName: 'postsUnreadableLast', timeoutMs: 30_000 });
  await readNothingUntilExit(flag);
  const { results, itemsPerWorker } = await mapped;
  assert.equal(results, range(4));
  assert.equal(itemsPerWorker, [4]);
  await noWorkerLeft('a message the main thread could not read');
});

test('what the function prints comes out whole, though map terminates its workers as soon as they report', () => {
  // Node trap (src/worker-stdio.ts): a worker's stdout and stderr post their chunks to the main thread a batch at a
  // time, and terminating the worker dropped what they still held: of 10,000 lines an item printed, often 1 came out.
  // A worker posts 'done', or an item's failure, once its output has gone.
  // And what the thread took of it waited in its pipe to a process.stdout that held more than it took at once: the
  // last line, printed once map settled, came out thousands of lines early on Node 24 (src/worker-stdio.ts).
  const index = new URL('../src/index.js', import.meta.url).href;
  const lines = 10_000;
  const script = `import { map } from '${index}';
    const run = (xs, workers) => map('${faults.href}', xs.map((x) => ({ x, lines: ${lines} })),
      { workers, exportName: 'printsThenThrowsOnThree', timeoutMs: 30000 });
    const { results } = await run([1, 2], 2);
    const threw = await run([3], 1).catch((err) => err.message);
    console.log(JSON.stringify([results, threw]));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 2 ** 20 });
  assert.is(child.status, 0, child.stderr.slice(-2000));
  assert.is(child.stdout.trimEnd().split('\n').at(-1), '[[1,2],"item 0 failed in worker 0: item 3 printed, then threw"]');
  const each = (stream: string) => Object.fromEntries([1, 2, 3].map((x) => [`item ${x} ${stream}`, lines]));
  assert.equal(linesPerWriter(child.stdout, /^item \d out \d+$/), each('out'));
  assert.equal(linesPerWriter(child.stderr, /^item \d err \d+$/), each('err'));
});

test('a value that cannot be cloned fails its own item at once: the function is not called again', async () => {
  // 700 returns a function, and 701 would loop for ever: 700's failure is told at once, before 701 is called.
  const options = { workers: 1, exportName: 'refusesSevenHundred', timeoutMs: 10_000 };
  assertCloneRefused(await rejection(map(faults, range(1000), options)), 700);
});

test('an object goes back as the function returned it, even one it changes and returns again', async () => {
  const { results } = await map<{ value: number }>(faults, range(10), { workers: 1, exportName: 'reusesOneObject' });
  assert.equal(results, range(10).map((x) => ({ value: x * x })));
  assert.is(new Set(results).size, 10, 'a copy each');
});

test('a timeout counts the items done, though their results wait in a batch', async () => {
  const err = await rejection(map(faults, range(5), { workers: 1, exportName: 'spinsFromThree', timeoutMs: 4000 }));
  assert.instance(err, TimeoutError);
  assert.is(err.message, 'map timed out after 4000 ms: 3 of 5 items done; worker 0 on item 3');
  await noWorkerLeft('map timed out on item 3');
});

test('process.exit in a worker rejects, naming the worker, the code and the item it was on (in the message)', async () => {
  const err = await rejection(map(faults, range(5), { workers: 2, exportName: 'exitsOnTwo' }));
  assertWorkerFailed(err, {
    worker: [0, 1], item: -1, hasCause: false, exitCode: 3,
    message: (worker) => `worker ${worker} exited with code 3 before finishing its items (on item 2)`,
  });
  await noWorkerLeft('a worker exited');
});

test('a promise that can never settle: Node exits the worker with code 13, and the message says so', async () => {
  const err = await rejection(map(faults, range(4), { workers: 1, exportName: 'neverSettlesOnTwo', timeoutMs: 30_000 }));
  const message = 'worker 0 exited with code 13 before finishing its items (on item 2): ' +
    "the function's promise for item 2 never settled (nothing was left that could settle it)";
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: false, exitCode: 13, message });
  // A top-level await in the module that never settles: the worker never gets to an item.
  const source = 'await new Promise(() => {});\nexport default (x) => x;\n';
  const stuck = await rejection(map(`data:text/javascript,${encodeURIComponent(source)}`, [1], { timeoutMs: 30_000 }));
  const loading = 'worker 0 exited with code 13 before finishing its items (loading the module): ' +
    "the module's top-level await never settled (nothing was left that could settle it)";
  assertWorkerFailed(stuck, { worker: 0, item: -1, hasCause: false, exitCode: 13, message: loading });
  // The function's own process.exit(13) is an exit like any other (its 'exit' event carries the 13; Node's, a 0).
  const exits = await rejection(map('data:text/javascript,export default () => process.exit(13)', [1], { timeoutMs: 30_000 }));
  const exited = 'worker 0 exited with code 13 before finishing its items (on item 0)';
  assertWorkerFailed(exits, { worker: 0, item: -1, hasCause: false, exitCode: 13, message: exited });
  await noWorkerLeft('promises that never settled');
  // Nothing else on stderr: Node 24 printed `Warning: Detected unsettled top-level await` at a line of shmcomm's own.
  const index = new URL('../src/index.js', import.meta.url).href;
  const script = `import { map } from '${index}';
    const options = { workers: 1, exportName: 'neverSettlesOnTwo' };
    console.log(await map('${faults.href}', [0, 1, 2, 3], options).catch((err) => err.message));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(child.stdout, `${message}\n`, child.stderr);
  assert.is(child.stderr, '');
});

test('an uncaught error in a worker, outside any item', async () => {
  const err = await rejection(map(faults, [1], { exportName: 'throwsLater' }));
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: true, message: 'worker 0 failed: late boom' });
  assert.instance(err.cause, Error);
  assert.is((err.cause as Error).message, 'late boom');
  assert.match((err.cause as Error).stack ?? '', /pool-faults/);
  await noWorkerLeft('an uncaught error');
});

test('a rejection that nothing handles, left by the last item of a function that never awaits: a failure too', async () => {
  // One worker, so that item 2's rejection comes after every result; it was lost: map resolved with [1, 2, 3]
  const err = await rejection(map(faults, [1, 2, 3], { workers: 1, exportName: 'leavesARejectionOnTwo' }));
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: true, message: 'worker 0 failed: nobody handles me' });
  assert.is((err.cause as Error).name, 'BoomError');
  await noWorkerLeft('an unhandled rejection');
});

test("an uncaught error that Node reports itself (the worker's 'error' event): a WorkerFailedError too", async () => {
  const err = await rejection(map(faults, [1], { exportName: 'dropsTheHandlersThenThrowsLater', timeoutMs: 30_000 }));
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: true, message: 'worker 0 failed: late boom, no handler' });
  assert.instance(err.cause, Error);
  assert.is((err.cause as Error).message, 'late boom, no handler');
  await noWorkerLeft("the worker's error event");
});

test('an error that is its own cause, thrown from a timer, is reported with the cycle cut', async () => {
  const err = await rejection(map(faults, [1], { exportName: 'throwsItsOwnCauseLater' }));
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: true, message: 'worker 0 failed: round and round' });
  const cause = err.cause as Error;
  assert.is(cause.message, 'round and round');
  assert.is((cause.cause as Error).message, '(a cycle: this cause is an error above it)');
  await noWorkerLeft('map rejected');
});

test('a function that handles uncaught errors itself keeps them', async () => {
  assert.equal((await map(faults, [1, 2, 3], { workers: 2, exportName: 'ownHandler' })).results, [2, 4, 6]);
});

test('null thrown from a timer, outside any item', async () => {
  const err = await rejection(map(faults, [1], { exportName: 'throwsNullLater' }));
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: true, message: 'worker 0 failed: non-error thrown: null' });
  assert.is((err.cause as Error).message, 'non-error thrown: null');
  await noWorkerLeft('map rejected');
});

test("what a function posts on parentPort itself is not taken for the pool's reports", async () => {
  const { results, itemsPerWorker } = await map<number, number>(faults, range(6), { workers: 2, exportName: 'postsItsOwn' });
  assert.equal(results, [0, 10, 20, 30, 40, 50]);
  assert.is(sum(itemsPerWorker), 6);
});

test('a module that does not exist is refused before any worker starts, with where a relative path led', async () => {
  const before = startedWorkers();
  const missing = new URL('./fixtures/pool-no-such-module.js', import.meta.url);
  let err = await rejection(map(missing, [1, 2], { workers: 2 }));
  assert.is(err.message, `Expected \`moduleUrl\` to name a file, got "${missing.href}": there is none`);
  assert.is((err as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  const path = relative(process.cwd(), fileURLToPath(missing));
  err = await rejection(map(path, [1]));
  assert.is(err.message, `Expected \`moduleUrl\` to name a file, got "${path}" (${fileURLToPath(missing)}, from the ` +
    `current directory): there is none; for one beside your module, pass new URL("${path}", import.meta.url)`);
  err = await rejection(map(fileURLToPath(missing), []));
  assert.is(err.message, `Expected \`moduleUrl\` to name a file, got "${fileURLToPath(missing)}": there is none`, 'empty items too');
  assert.is(startedWorkers(), before);
  // One the module imports is a worker's failure, as the module's own
  const importer = mkdtempSync(join(os.tmpdir(), 'shmcomm-pool-'));
  try {
    writeFileSync(join(importer, 'main.mjs'), "import './absent.mjs';\nexport default (x) => x;\n");
    const url = pathToFileURL(join(importer, 'main.mjs'));
    err = await rejection(map(url, [1, 2], { workers: 2 }));
    const cause = err.cause as Error & { code?: string };
    assert.is(cause.code, 'ERR_MODULE_NOT_FOUND');
    assert.match(cause.message, /^Cannot find module '.*absent\.mjs' imported from .*main\.mjs/);
    assertWorkerFailed(err, { worker: [0, 1], item: -1, hasCause: true, message: `could not load module ${url.href}: ${cause.message}` });
  } finally {
    rmSync(importer, { recursive: true, force: true });
  }
});

test('a module that throws while it loads', async () => {
  const broken = new URL('./fixtures/pool-broken.js', import.meta.url);
  const err = await rejection(map(broken, [1]));
  const message = `could not load module ${broken.href}: pool-broken refuses to load`;
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: true, message });
  assert.is((err.cause as Error).name, 'SyntaxError');
  assert.instance(err.cause, SyntaxError);
  assert.is((err.cause as { code?: unknown }).code, undefined, 'thrown as it ran: no SHMCOMM_PARSE_ERROR');
});

test('a missing export, and an export that is not a function', async () => {
  let err = await rejection(map(faults, [1, 2], { workers: 2 }));
  // The functions it exports by name are named, three of them (in the namespace's order, by name), where one is meant
  const noDefault = `module ${faults.href} has no export "default" (a function); it exports blocksInNativeCode, ` +
    'dropsTheHandlersThenThrowsLater, encodesAFunction and 21 more by name (map\'s `exportName` option names the one to call)';
  assertWorkerFailed(err, { worker: [0, 1], item: -1, hasCause: false, message: noDefault });
  const square = 'data:text/javascript,export function square(x) { return x * x; } export class Square {}';
  err = await rejection(map(square, [1], { exportName: 'sqare' }));
  const misspelt = `module ${square} has no export "sqare" (a function); it exports square by name (map's \`exportName\` ` +
    'option names the one to call)';
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: false, message: misspelt });
  // CommonJS: Node 23 and later add the export 'module.exports' (here the function), which no program names
  const dir = mkdtempSync(join(os.tmpdir(), 'shmcomm-pool-'));
  try {
    const cjs = join(dir, 'square.cjs');
    writeFileSync(cjs, 'module.exports = function square(x) { return x * x; };\nmodule.exports.cube = (x) => x ** 3;\n');
    err = await rejection(map(cjs, [1], { exportName: 'sqare' }));
    const named = `module ${pathToFileURL(cjs).href} has no export "sqare" (a function); it exports cube by name ` +
      "(map's `exportName` option names the one to call)";
    assertWorkerFailed(err, { worker: 0, item: -1, hasCause: false, message: named });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  err = await rejection(map(faults, [1], { exportName: 'notAFunction' }));
  const message = `module ${faults.href} has no export "notAFunction" (a function); it is a number`;
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: false, message });
  const aClass = 'data:text/javascript,export class Square {}';
  err = await rejection(map(aClass, [1], { exportName: 'Square' }));
  const classMessage = `module ${aClass} has no export "Square" (a function); it is a class (named Square)`;
  assertWorkerFailed(err, { worker: 0, item: -1, hasCause: false, message: classMessage });
});

test('bad arguments are thrown with what was given', async () => {
  for (const [workers, shown] of [[0, '0'], [-1, '-1'], [1.5, '1.5'], [257, '257'], [NaN, 'NaN'], ['2', '"2"']] as const) {
    const err = await rejection(map(square, [1], { workers: workers as number }));
    assert.instance(err, RangeError);
    assert.is(err.message, `Expected \`workers\` to be an integer from 1 to 256, got ${shown}`);
  }
  const notArray = await rejection(map(square, 'abc' as unknown as string[]));
  assert.instance(notArray, TypeError);
  assert.is(notArray.message, 'Expected `items` to be an array, got "abc"');
  // An array iterator is an Iterator where there is one (Node 22 and later: Iterator helpers), else an object
  const anIterator = typeof (globalThis as { Iterator?: unknown }).Iterator === 'function' ? 'an Iterator' : 'an object';
  for (const [iterable, shown] of [[new Set([1]), 'a Set'], [[1].values(), anIterator], [new Float64Array(1), 'a Float64Array']] as const) {
    const err = await rejection(map(square, iterable as never)); // Python's map takes any iterable
    assert.is(err.message, `Expected \`items\` to be an array, got ${shown} (an iterable, which map does not take: [...items] makes an array of it)`);
  }
  const generator = await rejection(map(square, (function* numbers() { yield 1; })() as never));
  assert.is(generator.message, 'Expected `items` to be an array, got an object (an iterable, which map does not take: [...items] makes an array of it)');
  const swapped = await rejection(map([1] as never, square as never));
  assert.instance(swapped, TypeError);
  assert.is(swapped.message, 'Expected `items` to be an array, got a URL (the module comes first: map(moduleUrl, items, options))');
  const optionsAsItems = await rejection(map(square, { workers: 2 } as never));
  assert.instance(optionsAsItems, TypeError);
  assert.is(optionsAsItems.message, 'Expected `items` to be an array, got an object (the items come before the options: map(moduleUrl, items, options))');
  const badTimeout = await rejection(map(square, [1], { timeoutMs: 0 }));
  assert.instance(badTimeout, RangeError);
  assert.is(badTimeout.message, 'Expected `timeoutMs` to be a number of milliseconds > 0, got 0 ' +
    '(0 would time out before any worker starts; leave timeoutMs out, or pass Infinity, for no limit)');
  for (const [timeoutMs, shown] of [[-1, '-1'], [NaN, 'NaN'], ['300', '"300"']] as const) {
    const err = await rejection(map(square, [1], { timeoutMs: timeoutMs as number }));
    assert.instance(err, RangeError);
    assert.is(err.message, `Expected \`timeoutMs\` to be a number of milliseconds > 0, got ${shown}`); // as launch's
  }
  const badExport = await rejection(map(square, [1], { exportName: 7 as unknown as string }));
  assert.is(badExport.message, 'Expected `exportName` to be a string, got 7');
  const notUrl = await rejection(map(5 as unknown as string, [1]));
  assert.instance(notUrl, TypeError);
  assert.is(notUrl.message, 'Expected `moduleUrl` to be a URL (import.meta.url) or a file path, got 5');
  // Python's pool.map(square, items): a function where the module goes
  const named = await rejection(map(function twice(x: number) { return 2 * x; } as never, [1]));
  assert.instance(named, TypeError);
  assert.is(named.message, 'Expected `moduleUrl` to be a URL (import.meta.url) or a file path, got a function (named ' +
    'twice) (no function can be sent to a worker thread: pass the URL of the module that exports twice, with ' +
    'exportName: "twice" unless it is the default export)');
  const bound = await rejection(map(function twice(x: number) { return 2 * x; }.bind(null) as never, [1]));
  assert.is(bound.message, 'Expected `moduleUrl` to be a URL (import.meta.url) or a file path, got a function (named ' +
    'bound twice) (no function can be sent to a worker thread: pass the URL of the module that exports twice, with ' +
    'exportName: "twice" unless it is the default export)');
  const anonymous = await rejection(map(((x: number) => x * x) as never, [1]));
  assert.is(anonymous.message, 'Expected `moduleUrl` to be a URL (import.meta.url) or a file path, got an anonymous ' +
    'function (no function can be sent to a worker thread: export it from a module, and pass that module\'s URL)');
  const notCloneable = await rejection(map(square, [1, () => 2]));
  assert.instance(notCloneable, TypeError);
  assert.is(notCloneable.message, 'Expected `items` to be values that structured clone accepts (every worker gets a copy ' +
    'of them): () => 2 could not be cloned.');
  assert.equal((await map(square, [3], null as never)).results, [9], 'null options: the defaults');
  const notOptions = await rejection(map(square, [1], 4 as never)); // { workers: 4 } meant: it was ignored
  assert.is(notOptions.message, 'Expected map options like { workers: 4 }, got 4');
  const unknown = await rejection(map(square, [1], { worker: 2 } as never));
  assert.instance(unknown, TypeError);
  assert.is(unknown.message, 'Unknown map option `worker` (did you mean workers?): expected workers, exportName, timeoutMs, signal');
});

test("signal: an abort terminates every worker and rejects with the signal's reason; one aborted already starts none", async () => {
  const before = startedWorkers();
  const reason = new Error('cancelled by the caller');
  const err = await rejection(map(faults, [1], { exportName: 'spinsForEver', signal: AbortSignal.abort(reason) }));
  assert.is(err, reason);
  assert.is(startedWorkers(), before);
  const controller = new AbortController();
  const run = rejection(map(faults, [1, 2], { workers: 2, exportName: 'spinsForEver', signal: controller.signal }));
  setTimeout(() => controller.abort(), 300);
  const aborted = await run;
  assert.is(aborted.name, 'AbortError');
  await noWorkerLeft('map was cancelled');
  const bad = await rejection(map(square, [1], { signal: 'stop' as unknown as AbortSignal }));
  assert.is(bad.message, 'Expected `signal` to be an AbortSignal (new AbortController().signal), got "stop"');
});

test('map leaves no timer behind once it settles: one that returned, failed or timed out', async () => {
  const timers = pendingTimers();
  try {
    assert.equal((await map<number>(square, [1, 2, 3], { workers: 2 })).results, [1, 4, 9]);
    assert.is(await timers.pending(), 0, 'after a map that returned');
    assert.instance(await rejection(map(faults, [1, 3], { workers: 2, exportName: 'throwsOnThree' })), WorkerFailedError);
    assert.is(await timers.pending(), 0, 'after an item threw');
    assert.instance(await rejection(map(faults, [1], { exportName: 'spinsForEver', timeoutMs: 300 })), TimeoutError);
    assert.is(await timers.pending(), 0, 'after a timeout');
  } finally {
    timers.stop();
  }
  await noWorkerLeft('maps that left no timer');
});

test('maps running at once on one signal add one abort listener to it, gone once they end: Node warns of none', async () => {
  const warnings = processWarnings();
  try {
    // 12 at once, beyond Node's 10 listeners of one event: a server's shutdown signal, given to every map it starts
    const { signal } = new AbortController();
    const runs = Array.from({ length: 12 }, (_, i) => map<number>(square, [i], { workers: 1, signal }));
    const all = Promise.all(runs);
    all.catch(() => {}); // awaited below, after the count
    assert.is(getEventListeners(signal, 'abort').length, 1);
    const results = await all;
    assert.equal(results.map(({ results: [squared] }) => squared), runs.map((_, i) => i * i));
    assert.is(getEventListeners(signal, 'abort').length, 0);
    assert.equal(await warnings.seen(), []);
    // One signal still cancels every map on it, a failed one's listener gone
    const controller = new AbortController();
    const failed = rejection(map(faults, [3], { exportName: 'throwsOnThree', signal: controller.signal }));
    const spinning = [1, 2].map(() => rejection(map(faults, [1], { exportName: 'spinsForEver', signal: controller.signal })));
    assert.is((await failed).name, 'WorkerFailedError');
    assert.is(getEventListeners(controller.signal, 'abort').length, 1);
    setTimeout(() => controller.abort(new Error('shutting down')), 300);
    for (const run of spinning) assert.is((await run).message, 'shutting down');
    assert.is(getEventListeners(controller.signal, 'abort').length, 0);
  } finally {
    warnings.stop();
  }
  await noWorkerLeft('maps on one signal');
});

test('timeoutMs stops a function that never returns (a busy loop)', async () => {
  const started = performance.now();
  const err = await rejection(map(faults, [1, 2], { workers: 2, exportName: 'spinsForEver', timeoutMs: 300 }), 10_000);
  const ms = performance.now() - started;
  assert.instance(err, TimeoutError);
  const timeout = err as TimeoutError;
  assert.is(timeout.code, 'SHMCOMM_TIMEOUT');
  assert.is(timeout.op, 'map');
  assert.is(timeout.ms, 300);
  assert.match(timeout.message, /^map timed out after 300 ms: 0 of 2 items done; worker 0 (on item [01]|loading the module), worker 1 (on item [01]|loading the module)$/);
  assert.ok(ms >= 290 && ms < 10_000, `took ${ms.toFixed(0)} ms`);
  await noWorkerLeft('map timed out on a busy loop');
});

test('timeoutMs bounds map even where terminate() cannot stop a worker (a blocking native call)', async () => {
  // The function's `sleep 5` (a child process of ours), watched while map runs: map must settle before it ends. Before,
  // map awaited terminate(), which waited for the sleep; now it waits 1 s for it at most. The order of the two, not a
  // duration, so that a loaded machine's slow timers cannot fail it.
  const sleeps = new Set<number>();
  const look = setInterval(() => { for (const pid of childPids()) sleeps.add(pid); }, 20);
  let err: Error;
  try {
    err = await rejection(map(faults, [1], { exportName: 'blocksInNativeCode', timeoutMs: 300 }), 10_000);
  } finally {
    clearInterval(look);
  }
  const stillSleeping = childPids();
  assert.instance(err, TimeoutError);
  // On a loaded machine the worker may still be loading its module at 300 ms, as the test above allows
  assert.match(err.message, /^map timed out after 300 ms: 0 of 1 items done; worker 0 (on item 0|loading the module)$/);
  for (const pid of sleeps) assert.ok(stillSleeping.includes(pid), `map settled only once the sleep (process ${pid}) had ended`);
  if (sleeps.size === 0) console.log('  the worker was stopped before its native call (or there is no /proc): the order went unchecked');
  for (const deadline = performance.now() + 15_000; childPids().length > 0 && performance.now() < deadline;) {
    await new Promise((ok) => setTimeout(ok, 100)); // the sleep ends by itself: no process outlives the test
  }
  assert.equal(childPids(), []);
});

test('a timeout longer than any timer still lets a quick map finish', async () => {
  assert.equal((await map(square, [3], { timeoutMs: 2 ** 40 })).results, [9]);
  assert.equal((await map(square, [4], { timeoutMs: Infinity })).results, [16]);
});

test('a pool still works after all those failures', async () => {
  assert.equal((await map(square, range(10), { workers: 3 })).results, range(10).map((x) => x * x));
});

test.run();
