// launch: the module a rank runs, what it returns and prints, the options, Node's options; a rank that fails, a
// deadlock, a timeout or an abort are in launch-faults.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CommAbortedError, launch, map, RankFailedError, type TransportName } from '../src/index.js';
import { defaultStrategy } from '../src/launch.js';
import { syntaxErrorAt } from '../src/load.js';
import {
  exitFlag, failure, linesPerWriter, nestedList, noWorkerLeft, readNothingUntilExit, startedWorkers,
} from './helpers.js';

const PROGRAMS = new URL('./fixtures/ranks-programs.js', import.meta.url);
const TRANSPORTS: TransportName[] = ['shared', 'transfer', 'clone'];

test('a module that is missing, fails to load, or has no default export', async () => {
  // A file that is not there is named before any rank starts (each rank's import failed alike, blaming shmcomm's loader).
  const nowhere = new URL('./fixtures/no-such-module.js', import.meta.url);
  const before = startedWorkers();
  let err = await failure(launch(nowhere, { size: 2, timeoutMs: 30_000 }));
  assert.is(err.message, `Expected \`moduleUrl\` to name a file, got "${nowhere.href}": there is none`);
  assert.is((err as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  const folder = new URL('./fixtures/', import.meta.url);
  err = await failure(launch(folder, { size: 2, timeoutMs: 30_000 }));
  assert.is(err.message, `Expected \`moduleUrl\` to name a file, got "${folder.href}": it is not a file`);
  const through = pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), 'launch.test.js', 'program.mjs'));
  err = await failure(launch(through, { size: 2, timeoutMs: 30_000 })); // a path through a file: stat's ENOTDIR
  assert.match(err.message, /: it cannot be read \(ENOTDIR: not a directory/);
  assert.is((err as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  err = await failure(launch('file://elsewhere/program.mjs', { size: 2, timeoutMs: 30_000 }));
  assert.match(err.message, /^Expected `moduleUrl` to be a file: URL of a path here, got "file:\/\/elsewhere\/program\.mjs": /);
  assert.is(startedWorkers(), before);
  // One the program imports is the rank's failure, as the program's own
  const importer = mkdtempSync(join(tmpdir(), 'shmcomm-importer-'));
  try {
    writeFileSync(join(importer, 'main.mjs'), "import './absent.mjs';\nexport default () => 1;\n");
    err = await failure(launch(pathToFileURL(join(importer, 'main.mjs')), { size: 1, timeoutMs: 30_000 }));
    assert.instance(err, RankFailedError);
    assert.match(err.message, /^rank 0 failed: Error: Cannot find module '.*absent\.mjs' imported from .*main\.mjs/);
  } finally {
    rmSync(importer, { recursive: true, force: true });
  }
  err = await failure(launch(new URL('./fixtures/ranks-load-error.js', import.meta.url), { size: 2, timeoutMs: 30_000 }));
  assert.match(err.message, /^rank [01] failed: Error: cannot load this module$/);
  err = await failure(launch(new URL('./fixtures/ranks-no-default.js', import.meta.url), { size: 1, timeoutMs: 30_000 }));
  assert.match(err.message, /^rank 0 failed: TypeError: file:.*ranks-no-default\.js has no default export, where a rank runs `export default function main\(comm\) \{\.\.\.\}`$/);
  // `export function main` where `export default` was meant: the functions it exports by name are named
  const named = 'data:text/javascript,export function main(comm) { return comm.rank; } export const helper = () => 1;';
  err = await failure(launch(named, { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, `rank 0 failed: TypeError: ${named} has no default export (it exports helper, main by name), ` +
    'where a rank runs `export default function main(comm) {...}`');
  // TypeScript, where this Node runs none (Node 20; 22.6 and later may strip the types): what to do, in launch and map.
  if (!(process.features as { typescript?: unknown }).typescript) {
    const typed = mkdtempSync(join(tmpdir(), 'shmcomm-typed-'));
    try {
      const file = join(typed, 'main.ts');
      writeFileSync(file, 'export default function main(): number {\n  return 1;\n}\n');
      const advice = `Unknown file extension ".ts" for ${file}: Node ${process.version} runs TypeScript only with type ` +
        'stripping (from Node 22.6; on by default from 22.18 and 23.6): compile the file with tsc and pass the .js (README, "A first program")';
      err = await failure(launch(pathToFileURL(file), { size: 2, timeoutMs: 30_000 }));
      assert.match(err.message, /^rank [01] failed: TypeError: /);
      assert.is(err.message.replace(/^rank [01] failed: TypeError: /, ''), advice);
      err = await failure(map(file, [1], { timeoutMs: 30_000 }));
      assert.is(err.message, `could not load module ${pathToFileURL(file).href}: ${advice}`);
      assert.is((err.cause as { code?: string }).code, 'ERR_UNKNOWN_FILE_EXTENSION');
    } finally {
      rmSync(typed, { recursive: true, force: true });
    }
  }
  err = await failure(launch('data:text/javascript,export default 42', { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, 'rank 0 failed: TypeError: data:text/javascript,export default 42 has a default export of a number, ' +
    'where a rank runs `export default function main(comm) {...}`');
  // A class is a function only `new` may call: refused by name, not with V8's "cannot be invoked without 'new'"
  const aClass = 'data:text/javascript,export default class Main {}';
  err = await failure(launch(aClass, { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, `rank 0 failed: TypeError: ${aClass} has a default export of a class (named Main), ` +
    'where a rank runs `export default function main(comm) {...}`');
  // TypeScript's CommonJS: `exports.default`, which import() gives inside the default export, as the whole exports
  const compiled = mkdtempSync(join(tmpdir(), 'shmcomm-cjs-'));
  try {
    const file = join(compiled, 'main.cjs');
    writeFileSync(file, '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n' +
      'exports.tenfold = void 0;\nconst tenfold = (x) => x * 10;\nexports.tenfold = tenfold;\n' +
      'function main(comm) {\n    return (0, exports.tenfold)(comm.rank + 1);\n}\nexports.default = main;\n');
    assert.equal(await launch(pathToFileURL(file), { size: 2, timeoutMs: 30_000 }), [10, 20]);
    assert.equal((await map(file, [1, 2], { exportName: 'tenfold', timeoutMs: 30_000 })).results, [10, 20]);
    // Without exports.default it has no default export, as a bundler reads it: what tsc writes for `export function
    // main` is told so, as the ES module is (before, 'has a default export of an object': the whole exports)
    writeFileSync(file, '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n' +
      'exports.main = main;\nexports.other = 1;\nfunction main(comm) {\n    return comm.rank;\n}\n');
    err = await failure(launch(pathToFileURL(file), { size: 1, timeoutMs: 30_000 }));
    assert.is(err.message, `rank 0 failed: TypeError: ${pathToFileURL(file).href} has no default export (it exports ` +
      'main by name), where a rank runs `export default function main(comm) {...}`');
    err = await failure(map(file, [1], { timeoutMs: 30_000 }));
    assert.is(err.message, `module ${pathToFileURL(file).href} has no export "default" (a function); it exports main ` +
      "by name (map's `exportName` option names the one to call)");
  } finally {
    rmSync(compiled, { recursive: true, force: true });
  }
  // A syntax error says where it is (import() alone says "Unexpected token ';'" and no more), in launch and in map.
  const dir = mkdtempSync(join(tmpdir(), 'shmcomm-syntax-'));
  try {
    const typo = join(dir, 'typo.mjs');
    writeFileSync(typo, 'export default function main() {\n  return 1 +;\n}\n');
    err = await failure(launch(pathToFileURL(typo), { size: 2, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank [01] failed: SyntaxError: Unexpected token ';' \(at .*typo\.mjs:2: return 1 \+;\)$/);
    err = await failure(map(pathToFileURL(typo), [1], { exportName: 'default', timeoutMs: 30_000 }));
    assert.match(err.message, /^could not load module file:.*typo\.mjs: Unexpected token ';' \(at .*typo\.mjs:2: return 1 \+;\)$/);
    // In a module that the program imports: --check finds nothing in the program itself, and the message says so.
    writeFileSync(join(dir, 'imports-typo.mjs'), "import main from './typo.mjs';\nexport default main;\n");
    err = await failure(launch(pathToFileURL(join(dir, 'imports-typo.mjs')), { size: 1, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank 0 failed: SyntaxError: Unexpected token ';' \(node --check finds no mistake in .*imports-typo\.mjs itself\)$/);
    // CommonJS, on 8 ranks: the launching thread runs one check for all of them (each rank ran its own before).
    const cjs = join(dir, 'typo.cjs');
    writeFileSync(cjs, 'module.exports = function main() {\n  return 1 +;\n};\n');
    err = await failure(launch(pathToFileURL(cjs), { size: 8, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank \d failed: SyntaxError: Unexpected token ';' \(at .*typo\.cjs:2: return 1 \+;\)$/, err.message);
    // A .js file in a package without "type", with module syntax and a mistake: Node 20.20's --check passes it (it
    // parses as no CommonJS, and Node then skips the module parse); checked as a module, it says where. Where Node
    // does not detect module syntax (before 20.19), such a file is CommonJS, with the hint of the test below.
    const typeless = join(dir, 'typeless');
    const inNodeModules = join(dir, 'app', 'node_modules', 'pkg');
    for (const folder of [typeless, inNodeModules]) {
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'package.json'), '{}\n');
      writeFileSync(join(folder, 'typo.js'), 'export default function main() {\n  return 1 +;\n}\n');
      writeFileSync(join(folder, 'fine.js'), 'export default 1;\n');
    }
    const detects = await import(pathToFileURL(join(typeless, 'fine.js')).href).then(() => true, () => false);
    for (const folder of detects ? [typeless, inNodeModules] : []) { // under node_modules no flag sets the type
      err = await failure(launch(pathToFileURL(join(folder, 'typo.js')), { size: 1, timeoutMs: 30_000 }));
      assert.match(err.message, /^rank 0 failed: SyntaxError: Unexpected token ';' \(at .*typo\.js:2: return 1 \+;\)$/);
    }
    // ... one that only imports it is still found to have no mistake of its own,
    writeFileSync(join(typeless, 'imports-typo.js'), "import main from './typo.js';\nexport default main;\n");
    err = await failure(launch(pathToFileURL(join(typeless, 'imports-typo.js')), { size: 1, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank 0 failed: SyntaxError: Unexpected token ';' \(node --check finds no mistake in /);
    assert.match(err.message, /typeless\/imports-typo\.js itself\)$/);
    // ... and a CommonJS file with a top-level return (no module's syntax) keeps --check's answer.
    const script = join(typeless, 'returns.js');
    writeFileSync(script, 'if (require) return;\nmodule.exports = 1;\n');
    assert.is(syntaxErrorAt(pathToFileURL(script).href), ` (node --check finds no mistake in ${script} itself)`);
    // A minified file: its one line is not pasted whole into the message, only 80 characters of it.
    const minified = join(dir, 'minified.mjs');
    const source = `export default function main() { const a = [${'1,'.repeat(30_000)}]; return 1 +; }`;
    writeFileSync(minified, `${source}\n`);
    err = await failure(launch(pathToFileURL(minified), { size: 1, timeoutMs: 30_000 }));
    const located = /^rank 0 failed: SyntaxError: Unexpected token ';' \(at .*minified\.mjs:1: (.*)\)$/;
    const shown = located.exec(err.message)?.[1];
    assert.ok(shown !== undefined, err.message.slice(0, 300));
    assert.ok(shown.replaceAll('…', '').length === 80 && source.includes(shown.replaceAll('…', '')), shown);
    // A long line where Node puts its caret: the 80 characters around it, the mistake in the middle.
    const long = join(dir, 'long.mjs');
    const [ones, twos] = ['1,'.repeat(100), '2,'.repeat(100)];
    const line = `export const a = [${ones}]; export default () => 1 +; export const b = [${twos}];`;
    writeFileSync(long, `${line}\n`);
    const caret = line.indexOf('1 +;') + 3; // under the ';'
    assert.is(syntaxErrorAt(pathToFileURL(long).href), ` (at ${long}:1: …${line.slice(caret - 40, caret + 40)}…)`);
    // A program that is not a file keeps Node's message: no URL of its whole source appended.
    err = await failure(launch('data:text/javascript,export default () => 1 +;', { size: 1, timeoutMs: 30_000 }));
    assert.is(err.message, "rank 0 failed: SyntaxError: Unexpected token ';'");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await noWorkerLeft('modules that did not load');
});

test('a program file that launches itself with no isMainThread guard: each rank refuses, instead of launching again', async () => {
  // Before, every rank imported the file and launched 2 ranks more, and so on, until the heap ran out.
  const url = new URL('./fixtures/unguarded.js', import.meta.url);
  const err = await failure(launch(url, { size: 2, timeoutMs: 30_000 }));
  assert.instance(err, RankFailedError);
  assert.is(err.message, `rank ${(err as RankFailedError).rank} failed: Error: launch() was called as a worker imported ` +
    `${url.href}: called at a module's top level, it runs again in every worker that imports the module; guard that ` +
    'line with `if (isMainThread)` (node:worker_threads)');
  // map's workers likewise, for a module that maps itself at its top level.
  const source = "import { map } from '" + new URL('../src/index.js', import.meta.url).href + "';\n" +
    'export const square = (x) => x * x;\nawait map(import.meta.url, [1], { exportName: "square" });\n';
  const mapsItself = `data:text/javascript,${encodeURIComponent(source)}`;
  const mapped = await failure(map(mapsItself, [1], { exportName: 'square', timeoutMs: 30_000 }));
  assert.is(mapped.message, `could not load module ${mapsItself}: map() was called as a worker imported ${mapsItself}: ` +
    "called at a module's top level, it runs again in every worker that imports the module; guard that line with " +
    '`if (isMainThread)` (node:worker_threads)');
  await noWorkerLeft('an unguarded program');
});

test('a return value that cannot be cloned', async () => {
  const err = await failure(launch('data:text/javascript,export default () => () => 1', { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, 'rank 0 failed: TypeError: the return value cannot be sent back to the launcher: () => 1 could not be cloned.');
});

test('a return value the launching thread cannot read fails its rank at once, even with a timer left', async () => {
  // 6,000 deep: a worker's 4 MiB stack posts it, this thread's smaller stack cannot read it (structured clone here
  // gives up near 2,000), so the report comes as a 'messageerror' and is dropped. Before, launch said `exited with code
  // 0 before returning a result`, or, with an interval left in the rank, waited for the timeout ("rank 1 is running").
  assert.throws(() => structuredClone(nestedList(6000)), /Maximum call stack size exceeded/);
  for (const keepAlive of [false, true]) {
    const started = performance.now();
    const args = { program: 'nestsDeeply', depth: 6000, keepAlive };
    const err = await failure(launch(PROGRAMS, { size: 2, args, timeoutMs: 20_000 }));
    assert.instance(err, RankFailedError, `keepAlive: ${keepAlive}`);
    assert.is(err.message, 'rank 1 failed: the launching thread could not read its return value: RangeError: ' +
      'Maximum call stack size exceeded', `keepAlive: ${keepAlive}`);
    assert.instance(err.cause, RangeError);
    assert.ok(performance.now() - started < 10_000, `settled after ${(performance.now() - started).toFixed(0)} ms`);
    await noWorkerLeft(`an unreadable return value (keepAlive: ${keepAlive})`);
  }
  // What a rank posts itself that this thread cannot read is still not its report: the run goes on.
  const source = "import { parentPort } from 'node:worker_threads';\n" +
    'export default () => {\n  let l = null;\n  for (let i = 0; i < 6000; i++) l = { next: l };\n' +
    '  parentPort.postMessage(l);\n  return 1;\n};\n';
  const own = `data:text/javascript,${encodeURIComponent(source)}`;
  assert.equal(await launch(own, { size: 2, timeoutMs: 20_000 }), [1, 1]);
});

test("what follows a message the launching thread cannot read still comes, though it reads nothing until the end", async () => {
  // Node trap (docs/probes/exit-drain.mjs): had the rank's worker exited, Node's drain of its messages would stop at
  // the unreadable one, and the reports after it would be lost: the result (launch said "exited with code 0 before
  // returning a result") or 'resultPosted'. The worker stays until launch terminates it.
  const flag = exitFlag();
  const own = launch(PROGRAMS, { size: 1, args: { program: 'postsUnreadable', flag }, timeoutMs: 30_000 });
  await readNothingUntilExit(flag);
  assert.equal(await own, ['rank 0']);
  const deep = exitFlag();
  const result = failure(launch(PROGRAMS, { size: 2, args: { program: 'nestsDeeply', depth: 6000, flag: deep }, timeoutMs: 30_000 }));
  await readNothingUntilExit(deep);
  const err = await result;
  assert.instance(err, RankFailedError);
  assert.is(err.message, 'rank 1 failed: the launching thread could not read its return value: RangeError: ' +
    'Maximum call stack size exceeded');
  await noWorkerLeft('a message the launching thread could not read');
});

test('what ranks print comes out whole, though launch terminates their workers as soon as they report', () => {
  // Node trap (src/worker-stdio.ts): a worker's stdout and stderr post their chunks to the launching thread a batch at
  // a time, and terminating the worker dropped what they still held: of 10,000 lines a rank printed, often 1 came out.
  // A rank reports once its output has gone, whether it returned or threw.
  // And what the thread took of it waited in its pipe to a process.stdout that held more than it took at once: the
  // last line, printed once launch settled, came out thousands of lines early on Node 24 (src/worker-stdio.ts).
  const index = new URL('../src/index.js', import.meta.url).href;
  const lines = 10_000;
  const script = `import { launch } from '${index}';
    const run = (label, throwOn) => launch('${PROGRAMS.href}', { size: 2, timeoutMs: 30000,
      args: { program: 'prints', label, lines: ${lines}, throwOn } });
    const returned = await run('returned');
    const threw = await run('threw', 1).catch((err) => err.message);
    console.log(JSON.stringify([returned, threw]));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 2 ** 20 });
  assert.is(child.status, 0, child.stderr.slice(-2000));
  assert.is(child.stdout.trimEnd().split('\n').at(-1), '[[0,1],"rank 1 failed: Error: rank 1 printed, then threw"]');
  const each = (stream: string) => Object.fromEntries(['returned', 'threw'].flatMap((label) =>
    [0, 1].map((rank) => [`${label} rank ${rank} ${stream}`, lines])));
  assert.equal(linesPerWriter(child.stdout, /^(returned|threw) rank \d out \d+$/), each('out'));
  assert.equal(linesPerWriter(child.stderr, /^(returned|threw) rank \d err \d+$/), each('err'));
});

test('12 ranks printing into a full stdout make Node warn of no leak: each worker of ours allows its pipe one listener', () => {
  // Node trap (nodejs/node#37582, src/workers.ts): Node pipes each worker's stdout into the process's, and each pipe
  // waits for a full one with a 'drain' listener: at the 11th Node warned "MaxListenersExceededWarning: Possible
  // EventEmitter memory leak detected. 11 drain listeners added to [Socket]". Here stdout fills (corked, a high-water
  // mark's worth written) once every rank has started, and only then do the ranks print, so each pipe waits.
  const index = new URL('../src/index.js', import.meta.url).href;
  const program = `data:text/javascript,export default (comm, { flag }) => {
    Atomics.add(flag, 1, 1); Atomics.wait(flag, 0, 0, 30000); console.log('rank ' + comm.rank); return comm.rank; }`;
  const script = `import { launch } from '${index}';
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const before = process.stdout.getMaxListeners();
    const run = launch(${JSON.stringify(program)}, { size: 12, args: { flag }, timeoutMs: 30000 });
    while (Atomics.load(flag, 1) < 12) await new Promise((wake) => setTimeout(wake, 5));
    process.stdout.cork();
    process.stdout.write('.'.repeat(process.stdout.writableHighWaterMark) + '\\n');
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const ranks = await run;
    const waiting = process.stdout.listenerCount('drain');
    process.stdout.uncork();
    console.log(JSON.stringify({ ranks, before, waiting, after: process.stdout.getMaxListeners() }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(child.stderr, '', 'no warning');
  assert.is(child.status, 0);
  const lines = child.stdout.trimEnd().split('\n');
  assert.equal(JSON.parse(lines.at(-1)!), { ranks: [...Array(12).keys()], before: 10, waiting: 12, after: 10 });
  assert.equal(lines.slice(1, -1).sort(), [...Array(12).keys()].map((rank) => `rank ${rank}`).sort());
});

test('ranks spin, then park, while each can have a core; with more ranks than cores they park at once', async () => {
  assert.is(defaultStrategy(2, 2), 'spinThenPark');
  assert.is(defaultStrategy(3, 2), 'park');
  assert.is(defaultStrategy(8, 16), 'spinThenPark');
  const crowded = availableParallelism() + 1;
  if (crowded > 256) return; // a machine with 256 cores or more cannot be crowded by launch's 256 ranks
  const got = await launch<{ strategy: string }>(PROGRAMS, { size: crowded, args: { program: 'identity' }, timeoutMs: 60_000 });
  assert.equal(got.map((rank) => rank.strategy), new Array(crowded).fill('park'));
  const told = await launch<{ strategy: string }>(PROGRAMS, { size: crowded, strategy: 'spinThenPark', args: { program: 'identity' }, timeoutMs: 60_000 });
  assert.equal(told.map((rank) => rank.strategy), new Array(crowded).fill('spinThenPark'), 'an explicit strategy wins');
});

test('bad launch options are refused with what was given and allowed', async () => {
  const ARENA = 'Expected `arenaBytes` to be 0 (no arena) or an integer from 64 bytes a rank';
  const cases: [object, string][] = [
    [{ size: 0 }, 'Expected `size` to be an integer from 1 to 256, got 0'],
    [{ size: 257 }, 'Expected `size` to be an integer from 1 to 256, got 257'],
    [{ size: 2.5 }, 'Expected `size` to be an integer from 1 to 256, got 2.5'],
    [{ size: '2' }, 'Expected `size` to be an integer from 1 to 256, got "2"'],
    [{ size: 2, transport: 'pigeon' }, 'Expected `transport` to be one of shared, transfer, clone, got "pigeon"'],
    [{ size: 2, ringBytes: 1000 }, 'Expected `ringBytes` to be a power of two from 64 to 1073741824, got 1000'],
    [{ size: 2, ringBytes: '65536' }, 'Expected `ringBytes` to be a power of two from 64 to 1073741824, got "65536"'],
    [{ size: 2, transport: 1n }, 'Expected `transport` to be one of shared, transfer, clone, got 1n'],
    [{ size: 2, arenaBytes: '1024' }, `${ARENA} (128 for 2) to 2147483648, got "1024"`],
    [{ size: 2, timeoutMs: -1 }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got -1'],
    [{ size: 2, timeoutMs: '300' }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got "300"'], // was taken
    [{ size: 2, timeoutMs: NaN }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got NaN'],
    // 0 is a ring call's "do not wait", and elsewhere often "no limit": here it would only time out, so it says why
    [{ size: 2, timeoutMs: 0 }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got 0 ' +
      '(0 would time out before any rank starts; leave timeoutMs out, or pass Infinity, for no limit)'],
    [{ size: 2, ringBytes: 4096, chunkBytes: 4096 }, 'Expected `chunkBytes` to be a multiple of 8 from 8 to 2032 (half a 4096-byte ring, less a frame header), got 4096'],
    [{ size: 2, chunkBytes: 4 }, 'Expected `chunkBytes` to be a multiple of 8 from 8 to 8388592 (half a 16777216-byte ring, less a frame header), got 4'],
    [{ size: 2, chunkBytes: 1001 }, 'Expected `chunkBytes` to be a multiple of 8 from 8 to 8388592 (half a 16777216-byte ring, less a frame header), got 1001'],
    [{ size: 2, strategy: 'nap' }, 'Expected `strategy` to be one of spin, park, spinThenPark, got "nap"'],
    [{ size: 2, deadlockMs: -1 }, 'Expected `deadlockMs` to be a number >= 0 (0 turns the watchdog off), got -1'],
    [{ size: 2, deadlockMs: true }, 'Expected `deadlockMs` to be a number >= 0 (0 turns the watchdog off), got true'],
    [{ size: 2, args: { onDone: () => 1 } }, 'Expected `args` to be a value that structured clone accepts (every rank gets a copy): () => 1 could not be cloned.'],
    [{ size: 4, arenaBytes: 255 }, `${ARENA} (256 for 4) to 2147483648, got 255`],
    [{ size: 2, arenaBytes: 2 ** 31 + 64 }, `${ARENA} (128 for 2) to 2147483648, got 2147483712`],
    [{ size: 2, arenaBytes: 1e6 + 0.5 }, `${ARENA} (128 for 2) to 2147483648, got 1000000.5`],
    [{ size: 2, arenaBytes: -1 }, `${ARENA} (128 for 2) to 2147483648, got -1`],
    [{ size: 1, ranks: 4 }, 'Unknown launch option `ranks` (did you mean size?): expected size, transport, ringBytes, chunkBytes, arenaBytes, timeoutMs, args, strategy, deadlockMs, signal'],
  ];
  for (const [options, message] of cases) {
    const err = await failure(launch(PROGRAMS, options as never));
    assert.is(err.message, message);
  }
  assert.is((await failure(launch(PROGRAMS, null as never))).message, 'Expected launch options like { size: 4 }, got null');
  const err = await failure(launch('./relative.js', { size: 1 }));
  assert.is(err.message, 'Expected `moduleUrl` to be a file: URL such as import.meta.url (or a data: URL), got "./relative.js"; ' +
    'for a path, pass pathToFileURL(path) (node:url) or new URL(path, import.meta.url)');
  // The arguments swapped, as a URL and as a string: named before the options are looked at (a URL has no `size`)
  const MODULE = 'Expected `moduleUrl` to be a file: URL such as import.meta.url (or a data: URL)';
  for (const url of [PROGRAMS, PROGRAMS.href]) {
    const swapped = await failure(launch({ size: 2 } as never, url as never));
    assert.instance(swapped, TypeError);
    assert.is(swapped.message, `${MODULE}, got an object (the module comes first: launch(moduleUrl, options))`);
  }
  // The module left out, as a newcomer does: the same hint, where it said only `got an object`
  const noModule = await failure((launch as (options: object) => Promise<unknown>)({ size: 2 }));
  assert.is(noModule.message, `${MODULE}, got an object (the module comes first: launch(moduleUrl, options))`);
  const notUrl = await failure(launch(5 as never, { size: 1 }));
  assert.instance(notUrl, TypeError);
  assert.is(notUrl.message, `${MODULE}, got 5`); // it said got "5"; an object was "[object Object]"
});

test('chunkBytes: 1 MiB travels in chunks unless told (recvView assembles it), and is lent from the ring as one frame', async () => {
  // spinThenPark whatever the core count: under 'park' (ranks outnumbering cores) the default chunk is a quarter
  // ring, 1 MiB here, and the message would be one frame.
  const run = (chunkBytes?: number) =>
    launch<{ inRing: boolean; whole: boolean } | null>(PROGRAMS, {
      size: 2, ringBytes: 4 * 2 ** 20, chunkBytes, strategy: 'spinThenPark', args: { program: 'bigView' }, timeoutMs: 30_000,
    });
  assert.equal((await run())[1], { inRing: false, whole: true }, 'chunked: assembled out of the ring');
  assert.equal((await run(2 * 2 ** 20 - 16))[1], { inRing: true, whole: true }, 'one frame: in place');
});

test('whatever a rank throws, from a timer or not, launch names it and settles', async () => {
  const cases: [string, string, string | undefined][] = [
    ['null from a timer', 'rank 1 failed: Error: non-error thrown: null', undefined],
    ['a string from a timer', 'rank 1 failed: Error: non-error thrown: "late boom"', undefined],
    ['an object without a prototype', 'rank 1 failed: Error: non-error thrown: an object', undefined],
    ['a revoked Proxy', 'rank 1 failed: Error: non-error thrown: a Proxy', undefined],
    // Before, the getter's own error was reported in its place: 'rank 1 failed: Error: constructor getter trap'.
    ['an object whose constructor getter throws', 'rank 1 failed: Error: non-error thrown: an object', undefined],
    ['an object with a message and a code', 'rank 1 failed: Error: plain boom', 'E_PLAIN'],
    ['an Error whose code is a function', 'rank 1 failed: Error: boom with a strange code', undefined],
    ['an error that is its own cause, from a timer', 'rank 1 failed: Error: round and round', undefined],
    ['a rejection nobody handles, with a chain of causes', 'rank 1 failed: Error: top', undefined],
  ];
  for (const [what, message, code] of cases) {
    // deadlockMs 0: only the failure itself can end the run (the timeout says otherwise)
    const err = await failure(launch(PROGRAMS, { size: 2, args: { program: 'throwsAnything', what }, deadlockMs: 0, timeoutMs: 30_000 }));
    assert.instance(err, RankFailedError, what);
    assert.is(err.message, message, what);
    assert.is((err.cause as { code?: unknown }).code, code, what);
    await noWorkerLeft(what);
    if (what === 'an error that is its own cause, from a timer') {
      assert.is(((err.cause as Error).cause as Error).message, '(a cycle: this cause is an error above it)');
    }
    if (what === 'a rejection nobody handles, with a chain of causes') {
      const middle = (err.cause as Error).cause as AggregateError;
      assert.instance(middle, AggregateError);
      assert.is(middle.message, 'middle');
      assert.equal(middle.errors.map((e: Error) => `${e.name}: ${e.message}`), ['TypeError: one', 'Error: non-error thrown: "two"']);
      const deepest = middle.cause as RangeError & { status: number; code: number; details?: unknown };
      assert.instance(deepest, RangeError);
      assert.equal([deepest.message, deepest.status, deepest.code, deepest.details], ['deepest', 404, 42, undefined]);
    }
  }
});

test('a rank that handles uncaught errors itself keeps them: the run goes on', async () => {
  for (const once of [false, true]) {
    const results = await launch(PROGRAMS, { size: 2, args: { program: 'ownHandler', once }, timeoutMs: 30_000 });
    assert.equal(results, ['handled: recoverable on rank 0', 'handled: recoverable on rank 1'], `once: ${once}`);
  }
});

test("what a rank posts on parentPort itself is not taken for its report", async () => {
  for (const transport of TRANSPORTS) {
    assert.equal(await launch(PROGRAMS, { size: 3, transport, args: { program: 'postsItsOwn' }, timeoutMs: 30_000 }), [6, 6, 6], transport);
  }
});

test('a timeoutMs past what a timer can hold (over 2^31 - 1 ms, Infinity) is no bound, not an instant timeout', async () => {
  for (const timeoutMs of [2 ** 31 - 0.5, 2 ** 31, 1e12, Infinity]) {
    const got = await launch<{ rank: number }>(PROGRAMS, { size: 2, args: { program: 'identity' }, timeoutMs });
    assert.equal(got.map((r) => r.rank), [0, 1], String(timeoutMs));
  }
});

for (const transport of TRANSPORTS) {
  test(`${transport}: typed arrays over SharedArrayBuffers arrive as copies: allreduce and allgather leave inputs alone`, async () => {
    const got = await launch<{ sum: number[]; input: number[]; gathered: number[]; rawSeen: number[] }>(PROGRAMS,
      { size: 3, transport, args: { program: 'sharedInputs' }, timeoutMs: 30_000 });
    for (let rank = 0; rank < 3; rank++) {
      const others = [0, 1, 2].filter((other) => other !== rank);
      const rawSeen = rank === 0 ? new Array(8).fill(0) : [];
      assert.equal(got[rank], { sum: [6, 6, 6, 6], input: new Array(4).fill(rank + 1), gathered: others, rawSeen }, `rank ${rank}`);
    }
  });
}

test('holding a view from recvView: a receive from its source is refused until release(), unless already queued', async () => {
  const [, shared] = await launch<any>(PROGRAMS, { size: 2, args: { program: 'heldView' }, timeoutMs: 30_000 });
  assert.equal(shared, {
    first: [1, 2],
    queued: 'read past, queued',
    refused: ['recv', 'recvInto', 'sendrecv'].map((op) => `${op}() from rank 0 while holding a view of its last message: release() it first`),
    next: [3, 4],
  });
  const [, clone] = await launch<any>(PROGRAMS, { size: 2, transport: 'clone', args: { program: 'heldView' }, timeoutMs: 30_000 });
  assert.equal(clone, { first: [1, 2], queued: 'read past, queued', refused: [], next: [3, 4] }, 'clone: recvView is recv, nothing is held');
});

test('launch and map under any Node options: `--input-type=module -e`, V8 options, per-process options', () => {
  const index = new URL('../src/index.js', import.meta.url).href;
  const ring = new URL('./fixtures/ranks-ring.js', import.meta.url).href;
  const square = new URL('./fixtures/pool-square.js', import.meta.url).href;
  const body = `console.log(JSON.stringify(await launch('${ring}', { size: 3, timeoutMs: 30000 })));
    console.log(JSON.stringify((await map('${square}', [1, 2, 3], { workers: 2, timeoutMs: 30000 })).results));`;
  const asModule = `import { launch, map } from '${index}';\n${body}`;
  const asScript = `import('${index}').then(async ({ launch, map }) => {\n${body}\n});`; // -e without --input-type
  // A worker refuses --input-type (its code is a file), and refuses V8's and per-process options passed explicitly:
  // before, the second and third threw "Initiated Worker with invalid execArgv flags: --max-old-space-size=512".
  const vm = ['--max-old-space-size=512', '--expose-gc', '--stack-size=2000', '--title=shmcomm-test'];
  const runs: [string[], string?][] = [
    [['--input-type=module', '-e', asModule]], [[...vm, '-e', asScript]], [[...vm, '--input-type=module', '-e', asModule]],
    [['-e', asModule], '--input-type=module'], // from NODE_OPTIONS, which workers read too
    [['-e', asScript], '--title="x --input-type=y"'], // inside a quoted value it is no option: NODE_OPTIONS stays whole
  ];
  for (const [argv, nodeOptions] of runs) {
    const env = nodeOptions === undefined ? process.env : { ...process.env, NODE_OPTIONS: nodeOptions };
    const child = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 60_000, env });
    const label = `${argv.filter((option) => option.startsWith('--')).join(' ')} NODE_OPTIONS=${nodeOptions ?? ''}`;
    assert.is(child.stderr, '', label);
    assert.is(child.stdout, '[3,0,1]\n[1,4,9]\n', label);
    assert.is(child.status, 0, label);
  }
});

test("a rank's error and a map function's are at their .ts lines when the launching thread maps sources", () => {
  // Source maps are a thread's own setting: a worker does not inherit the launcher's process.setSourceMapsEnabled(),
  // so launch and map pass it on (the shmcomm command turns it on for the exercises a learner edits). The workers turn
  // it on before shmcomm loads (worker-entry.ts), so shmcomm's own frames are at their .ts lines too.
  const index = new URL('../src/index.js', import.meta.url).href;
  const faults = new URL('./fixtures/pool-faults.js', import.meta.url).href;
  const lineOf = (file: string, text: string) => {
    const source = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    return source.split('\n').findIndex((line) => line.includes(text)) + 1;
  };
  const rankLine = lineOf('test/fixtures/ranks-programs.ts', "throw new Error('boom in rank 1')");
  const mapLine = lineOf('test/fixtures/pool-faults.ts', "throw new BoomError('boom')");
  const sendLine = lineOf('src/comm.ts', "this.checkRank(dest, 'dest');");
  const encodeLine = lineOf('src/codec.ts', 'return encodeAs(encodedType(value), value);');
  assert.ok(rankLine > 0 && mapLine > 0 && sendLine > 0 && encodeLine > 0, 'the lines that throw');
  for (const enabled of [true, false]) {
    const script = `import { launch, map } from '${index}';
      process.setSourceMapsEnabled(${enabled});
      const at = (text) => (err) => err.cause.stack.split('\\n').find((line) => line.includes(text)).trim();
      const report = new SharedArrayBuffer(16);
      const rank = await launch('${PROGRAMS.href}', { size: 4, args: { program: 'throws', report }, timeoutMs: 30000 })
        .catch(at('/fixtures/'));
      const item = await map('${faults}', [1, 3], { workers: 1, exportName: 'throwsOnThree', timeoutMs: 30000 })
        .catch(at('/fixtures/'));
      const send = await launch('${PROGRAMS.href}', { size: 2, args: { program: 'sendsToNoRank' }, timeoutMs: 30000 })
        .catch(at('at Comm.send '));
      const encode = await map('${faults}', [1], { workers: 1, exportName: 'encodesAFunction', timeoutMs: 30000 })
        .catch(at('at encode '));
      console.log(JSON.stringify([rank, item, send, encode]));`;
    // Without --enable-source-maps, which workers would inherit: the setting of the thread is what is passed on.
    const argv = ['--input-type=module', '-e', script];
    const child = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 });
    assert.is(child.status, 0, child.stderr);
    const [rank, item, send, encode] = JSON.parse(child.stdout) as [string, string, string, string];
    if (enabled) {
      assert.match(rank, new RegExp(`^at failAfter \\(/.*/test/fixtures/ranks-programs\\.ts:${rankLine}:\\d+\\)$`));
      assert.match(item, new RegExp(`^at throwsOnThree \\(/.*/test/fixtures/pool-faults\\.ts:${mapLine}:\\d+\\)$`));
      assert.match(send, new RegExp(`^at Comm\\.send \\(/.*/src/comm\\.ts:${sendLine}:\\d+\\)$`));
      assert.match(encode, new RegExp(`^at encode \\(/.*/src/codec\\.ts:${encodeLine}:\\d+\\)$`));
    } else {
      assert.match(rank, /^at failAfter \(file:\/\/\/.*\/dist\/test\/fixtures\/ranks-programs\.js:\d+:\d+\)$/);
      assert.match(item, /^at throwsOnThree \(file:\/\/\/.*\/dist\/test\/fixtures\/pool-faults\.js:\d+:\d+\)$/);
      assert.match(send, /^at Comm\.send \(file:\/\/\/.*\/dist\/src\/comm\.js:\d+:\d+\)$/);
      assert.match(encode, /^at encode \(file:\/\/\/.*\/dist\/src\/codec\.js:\d+:\d+\)$/);
    }
  }
});

test('CommAbortedError names the failed rank', () => {
  const err = new CommAbortedError(3, 'it threw or exited');
  assert.is(err.message, 'aborted because rank 3 failed: it threw or exited');
  assert.is(err.code, 'SHMCOMM_COMM_ABORTED');
});

test.run();
