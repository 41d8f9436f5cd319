// The six exercises, run through their exported run() with small settings: their deterministic output is checked
// exactly (never their speed), and no worker may outlive a run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../src/bench/options.js';
import { EXERCISE_NAMES, runExercise, WrongResultError } from '../src/exercises.js';
import type { Comm } from '../src/index.js';
import * as sample from '../exercises/1-sample.js';
import * as ring from '../exercises/2-ring.js';
import * as gather from '../exercises/3-gather.js';
import * as broadcast from '../exercises/4-broadcast.js';
import * as reduce from '../exercises/5-reduce.js';
import * as bandwidth from '../exercises/6-bandwidth.js';
import { errorOf, noWorkerLeft } from './helpers.js';

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => {
    throw new Error('expected a rejection, and it resolved');
  }, (error: Error) => error);
}

/** Asserts that `error` is a WrongResultError with this message. */
function isWrongResult(error: Error, message: string): void {
  assert.instance(error, WrongResultError);
  assert.is(error.message, message);
}

/** An `out` that keeps the lines. */
function capture(): { out: (line: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { out: (line) => lines.push(line), lines };
}

test('sample: the pool splits 11 batches over its workers, the ranks gather the same results', async () => {
  const { out, lines } = capture();
  const result = await sample.run({ ranks: 2, batchSize: 2000, out });
  const expected = Array.from({ length: 11 }, (_, i) => sample.countPrimes({ from: i * 2000, to: (i + 1) * 2000 }));
  assert.equal(result.results, expected);
  assert.equal(result.gathered, expected);
  assert.is(result.itemsPerWorker.length, 2);
  assert.is(result.itemsPerWorker.reduce((a, b) => a + b, 0), 11);
  assert.ok(lines.includes(`   primes per batch (in input order): [${expected.join(', ')}]`), lines.join('\n'));
  assert.ok(lines.includes('a) pool: map(countPrimes, 11 batches of 2,000 numbers) on 2 workers'), lines.join('\n'));
  assert.ok(lines.includes(`   batches per worker: [${result.itemsPerWorker.join(', ')}] (sum 11; the split depends on timing: run it again)`));
  assert.equal(result.batchesPerRank, [6, 5]);
  assert.ok(lines.includes('b) 2 ranks (shared): rank r takes batches r, r + 2, ... (a fixed split: the same every run)'));
  assert.ok(lines.includes('   batches per rank, as rank 0 counted them: [6, 5] (sum 11)'));
  const total = expected.reduce((a, b) => a + b, 0); // 2,464 primes below 22,000
  assert.ok(lines.includes(`   same as the pool's: yes; total primes below 22,000: ${total}`), lines.join('\n'));
  await noWorkerLeft('the exercise returned');
});

test('sample: the pool counts its workers, says why when fewer than asked, and that one has no split to vary', async () => {
  const { out, lines } = capture();
  const fewer = await sample.run({ ranks: 4, batches: 3, batchSize: 100, out });
  assert.is(fewer.itemsPerWorker.length, 3);
  assert.is(lines[0], 'a) pool: map(countPrimes, 3 batches of 100 numbers) on 3 workers (4 asked: map starts at most one worker per batch)');
  assert.equal(fewer.batchesPerRank, [1, 1, 1, 0]);
  assert.ok(lines.includes('   batches per rank, as rank 0 counted them: [1, 1, 1, 0] (sum 3)'), lines.join('\n'));
  lines.length = 0;
  await sample.run({ ranks: 1, batches: 1, batchSize: 1, out });
  assert.is(lines[0], 'a) pool: map(countPrimes, 1 batch of 1 number) on 1 worker');
  assert.is(lines[2], '   batches per worker: [1] (sum 1; one worker takes them all, every run)');
  assert.is(lines[3], 'b) 1 rank (shared): rank r takes batches r, r + 1, ... (a fixed split: the same every run)');
  // One worker has no split that timing could change: the line says so, not "run it again".
  lines.length = 0;
  await sample.run({ ranks: 1, batches: 3, batchSize: 10, out });
  assert.is(lines[2], '   batches per worker: [3] (sum 3; one worker takes them all, every run)');
  await noWorkerLeft('the exercise returned');
});

test('sample: batches and batchSize must be integers of at least 1, and ranks one from 1 to 256', async () => {
  const { out, lines } = capture();
  for (const name of ['batches', 'batchSize'] as const) {
    for (const value of [0, -1, 2.5, NaN]) {
      assert.is((await rejection(sample.run({ ranks: 1, [name]: value, out }))).message,
        `Expected \`${name}\` to be an integer of at least 1, got ${value}`);
    }
  }
  // ranks, which are map's workers too: named as the exercise's option, not as map's `workers`
  for (const value of [0, -1, 1.5, NaN, 257]) {
    assert.is((await rejection(sample.run({ ranks: value, batches: 2, batchSize: 10, out }))).message,
      `Expected \`ranks\` to be an integer from 1 to 256, got ${value}`);
  }
  assert.equal(lines, []); // refused before anything ran
  await noWorkerLeft('the exercise refused its options');
});

test('sample: a batch that never reached rank 0 makes a NO and a WrongResultError, holes included', () => {
  const { out, lines } = capture();
  const pool = [5, 7, 9];
  const holey = new Array<number>(3); // rank 0's list when batch 1 never came
  holey[0] = 5;
  holey[2] = 9;
  for (const gathered of [holey, [5, 7], [5, 7, 9, 11]]) {
    isWrongResult(errorOf(() => sample.checkGathered(gathered, pool, 300, out)), 'sample: rank 0 did not gather the same results as the pool');
  }
  assert.equal(lines, [
    '   same as the pool\'s: NO; rank 0\'s total: 14, the pool\'s total primes below 300: 21',
    '   same as the pool\'s: NO; rank 0\'s total: 12, the pool\'s total primes below 300: 21',
    '   same as the pool\'s: NO; rank 0\'s total: 32, the pool\'s total primes below 300: 21',
  ]);
  lines.length = 0;
  sample.checkGathered([5, 7, 9], pool, 300, out);
  assert.equal(lines, ['   same as the pool\'s: yes; total primes below 300: 21']);
});

test('ring: the token visits every rank once and comes back, over exactly N connections', async () => {
  const { out, lines } = capture();
  const result = await ring.run({ ranks: 4, out });
  assert.equal(result, { path: [0, 1, 2, 3, 0], connections: 4 });
  assert.equal(lines, [
    'ring of 4 ranks over 4 one-way shared rings: connection i carries rank i → rank (i + 1) % 4',
    'token path: 0 → 1 → 2 → 3 → 0',
    'connections: 4, one per rank (launch would wire every ordered pair: 12)',
  ]);
  assert.equal((await ring.run({ ranks: 3, transport: 'clone', out })).path, [0, 1, 2, 0]);
  assert.equal((await ring.run({ ranks: 5, transport: 'transfer', out })).path, [0, 1, 2, 3, 4, 0]);
  lines.length = 0;
  assert.equal((await ring.run({ ranks: 1, out })).path, [0, 0]);
  assert.equal(lines, [
    'ring of 1 rank over 1 one-way shared ring: connection i carries rank i → rank (i + 1) % 1',
    'token path: 0 → 0',
    'connections: 1, from rank 0 back to itself (launch would wire none: 1 rank makes no pair)',
  ]);
  // One rank over ports: both ends of the one channel go to it, two different ports in one transfer list.
  assert.equal((await ring.run({ ranks: 1, transport: 'transfer', out })).path, [0, 0]);
  await noWorkerLeft('the exercise returned');
});

test('ring: a path that is not every rank in order and back to 0 is WRONG and a WrongResultError', () => {
  const { out, lines } = capture();
  ring.checkPath([0, 1, 2, 0], 3, out);
  assert.equal(lines, ['token path: 0 → 1 → 2 → 0']);
  lines.length = 0;
  isWrongResult(errorOf(() => ring.checkPath([0, 2, 1, 0], 3, out)),
    'ring: the token went 0 → 2 → 1 → 0, not 0 → 1 → 2 → 0');
  isWrongResult(errorOf(() => ring.checkPath([0, 1, 2], 3, out)), 'ring: the token went 0 → 1 → 2, not 0 → 1 → 2 → 0');
  isWrongResult(errorOf(() => ring.checkPath([0, 1, 2, 3, 0], 3, out)),
    'ring: the token went 0 → 1 → 2 → 3 → 0, not 0 → 1 → 2 → 0');
  assert.equal(lines, [
    'token path: 0 → 2 → 1 → 0, WRONG: expected 0 → 1 → 2 → 0',
    'token path: 0 → 1 → 2, WRONG: expected 0 → 1 → 2 → 0',
    'token path: 0 → 1 → 2 → 3 → 0, WRONG: expected 0 → 1 → 2 → 0',
  ]);
});

test('gather: --unsafe is caught, the lock and one ring per producer deliver everything, rank 0 prints the list', async () => {
  const { out, lines } = capture();
  const result = await gather.run({ ranks: 3, unsafe: true, messages: 300, out });
  assert.ok(result.caught, `the unsafe run went unnoticed: ${JSON.stringify(result.unsafe)}`);
  assert.ok(lines.includes('   → caught: producers that share a single-producer ring overwrite each other\'s frames'));
  for (const verdict of [result.locked, result.rings]) {
    assert.equal({ ...verdict, ms: 0 }, { received: 600, expected: 600, badChecksum: 0, outOfOrder: 0, error: '', ms: 0 });
  }
  assert.equal(result.list, [1, 4]);
  assert.equal(result.gathered, [0, 1, 4]);
  assert.ok(lines.includes('b) one connection per pair (launch, shared): rank 0 received, from rank 1 up: [1, 4]'), lines.join('\n'));
  assert.ok(lines.includes('   comm.gather (rank 0\'s own value first): [0, 1, 4]'));
  await noWorkerLeft('the exercise returned');
});

test('gather: without --unsafe the unsafe run is skipped; part b works over clone', async () => {
  const { out, lines } = capture();
  const result = await gather.run({ ranks: 4, transport: 'clone', messages: 100, out });
  assert.is(result.unsafe, undefined);
  assert.is(result.caught, false);
  assert.is(result.locked.received, 300);
  assert.ok(lines.includes('   no lock: skipped (run with --unsafe to watch several producers corrupt one ring)'));
  assert.ok(lines.includes('   (part a always uses shared rings; --transport clone is for part b)'), lines.join('\n'));
  assert.equal(result.gathered, [0, 1, 4, 9]);
  await gather.run({ ranks: 1, out }).then(() => assert.unreachable('1 rank accepted'), (error: Error) => {
    assert.is(error.message, 'Expected `ranks` to be at least 2 for gather, got 1');
  });
  await noWorkerLeft('the exercise returned');
});

test('gather: the lock line is worded by the ratio measured', () => {
  const took = (ratio: string) => `the lock took ${ratio}x the time of one ring per producer here:`;
  const expected = 'as expected: with one producer nobody contends for the lock (try --ranks 3 or more)';
  const cases: [ratio: number, size: number, cores: number, lines: string[]][] = [
    [1.43, 4, 2, [
      `${took('1.4')} each locked write takes the lock,`,
      'attaches a fresh RingBuffer (new views of the buffer, the shared head re-read), and waits while another',
      'producer holds the lock; separate rings let all producers write at once (--ranks 2: the lock alone)',
    ]],
    [0.94, 4, 2, [
      `${took('0.9')} no cost measured this time.`,
      '4 threads take turns on 2 cores whichever way they write, and the lock\'s cost drowns in that: run it again',
    ]],
    [1.04, 4, 8, [`${took('1.0')} no cost measured this time.`, 'A draw, as happens on a busy machine: run it again']],
    [0.5, 4, 8, [`${took('0.5')} no cost measured this time.`, 'The lock won, as can happen on a busy machine: run it again']],
    [1.2, 2, 2, [
      `${took('1.2')} with one producer nobody contends, so the difference is`,
      'an uncontended lock plus a fresh RingBuffer.attach() at every message (or noise)',
    ]],
    // With 2 ranks, a lock no slower than separate rings is what to expect: one producer never waits for the lock.
    [1.04, 2, 2, [`${took('1.0')} no cost measured,`, expected]],
    [0.5, 2, 2, [`${took('0.5')} no cost measured,`, expected]],
    [0.5, 2, 1, [`${took('0.5')} no cost measured,`, expected]],
  ];
  for (const [ratio, size, cores, lines] of cases) assert.equal(gather.compareLock(ratio, size, cores), lines, `${ratio}x, ${size} ranks`);
});

test('gather: a safe run that lost messages prints WRONG and is a WrongResultError; messages must be 1 or more', async () => {
  const { out, lines } = capture();
  const lost = { received: 599, expected: 600, badChecksum: 1, outOfOrder: 2, error: 'TimeoutError: read timed out after 10000 ms', ms: 5 };
  isWrongResult(errorOf(() => gather.checkSafe('with a lock', lost, out)), 'gather: the locked run lost or damaged messages');
  isWrongResult(errorOf(() => gather.checkSafe('one ring per producer', { ...lost, error: '' }, out)),
    'gather: the run with one ring per producer lost or damaged messages');
  assert.equal(lines, [
    '   with a lock:           WRONG: rank 0 got 599 of 600 messages, 1 with a bad checksum, 2 out of sequence,',
    '                          then TimeoutError: read timed out after 10000 ms',
    '   one ring per producer: WRONG: rank 0 got 599 of 600 messages, 1 with a bad checksum, 2 out of sequence',
  ]);
  lines.length = 0;
  gather.checkSafe('with a lock', { ...lost, received: 600, badChecksum: 0, outOfOrder: 0, error: '', ms: 3 }, out);
  assert.equal(lines, ['   with a lock:           all 600 intact and in order, 3.0 ms (5.00 µs a message)']);
  for (const messages of [0, -1, 2.5]) {
    assert.is((await rejection(gather.run({ ranks: 2, messages, out }))).message, `Expected \`messages\` to be an integer of at least 1, got ${messages}`);
  }
});

test('gather: part b\'s lists must be the squares, from rank 1 and rank 0; else WRONG, a WrongResultError', () => {
  const { out, lines } = capture();
  gather.checkPartB([1, 4, 9], [0, 1, 4, 9], 4, 'clone', out);
  assert.equal(lines, [
    'b) one connection per pair (launch, clone): rank 0 received, from rank 1 up: [1, 4, 9]',
    '   comm.gather (rank 0\'s own value first): [0, 1, 4, 9]',
  ]);
  lines.length = 0;
  isWrongResult(errorOf(() => gather.checkPartB([4, 1], [0, 1, 4], 3, 'shared', out)),
    'gather: rank 0 received [4, 1], not [1, 4]');
  isWrongResult(errorOf(() => gather.checkPartB([1], [0, 1, 4], 3, 'shared', out)),
    'gather: rank 0 received [1], not [1, 4]');
  isWrongResult(errorOf(() => gather.checkPartB([1, 4], [1, 4], 3, 'shared', out)),
    'gather: comm.gather gave [1, 4], not [0, 1, 4]');
  assert.equal(lines, [
    'b) one connection per pair (launch, shared): rank 0 received, from rank 1 up: [4, 1], WRONG: expected [1, 4]',
    '   comm.gather (rank 0\'s own value first): [0, 1, 4]',
    'b) one connection per pair (launch, shared): rank 0 received, from rank 1 up: [1], WRONG: expected [1, 4]',
    '   comm.gather (rank 0\'s own value first): [0, 1, 4]',
    'b) one connection per pair (launch, shared): rank 0 received, from rank 1 up: [1, 4]',
    '   comm.gather (rank 0\'s own value first): [1, 4], WRONG: expected [0, 1, 4]',
  ]);
  isWrongResult(errorOf(() => gather.checkPartB([], [], 2, 'shared', out)),
    'gather: rank 0 received [], not [1]; comm.gather gave [], not [0, 1]');
});

test('broadcast: every rank gets every element in its place, every way', async () => {
  const { out, lines } = capture();
  const bytes = 64 * 1024;
  const none = { linear: 0, tree: 0, bcast: 0, shared: 0 };
  for (const transport of ['shared', 'clone'] as const) {
    const result = await broadcast.run({ ranks: 3, transport, bytes, rounds: 1, out });
    assert.equal(result.wrongRounds, [none, none, none]);
    assert.equal(result.firstWrong, Array.from({ length: 3 }, () => ({ linear: '', tree: '', bcast: '', shared: '' })));
    for (const way of ['linear', 'tree', 'bcast', 'shared'] as const) assert.ok(result.ms[way] >= 0 && result.ms[way] < Infinity);
  }
  assert.ok(lines.includes('every element in its place, every rank, every way, every round: yes'), lines.join('\n'));
  const header = 'broadcast of a Float64Array of 64 KiB (8,192 elements: 0.5, 1.5, 2.5, ...) from rank 0 to 3 ranks over';
  assert.equal(lines.filter((line) => line.startsWith('broadcast of ')), [`${header} shared, best of 1`, `${header} clone, best of 1`]);
  assert.is(lines[0], `${header} shared, best of 1`);
  await noWorkerLeft('the exercise returned');
});

test('broadcast: a way that delivers in the warm-up round only is caught in every round after it', () => {
  // Rank 1 of 2, with a comm whose bcast fills the target the first time only: the old value must not pass again.
  const elements = 16;
  const right = Float64Array.from({ length: elements }, (_, i) => i + 0.5);
  const shared = new SharedArrayBuffer(elements * 8);
  new Float64Array(shared).set(right); // as rank 0 would have written it
  let bcasts = 0;
  const comm = {
    rank: 1,
    size: 2,
    barrier: () => {},
    recv: () => right.slice(), // linear and tree: a new array every time
    bcast: (into: Float64Array) => {
      if (bcasts++ === 0) into.set(right);
      return into;
    },
  } as unknown as Comm;
  const report = broadcast.default(comm, { elements, rounds: 2, shared });
  assert.equal(report.wrongRounds, { linear: 0, tree: 0, bcast: 2, shared: 0 });
  assert.equal(report.firstWrong, { linear: '', tree: '', bcast: 'element 0 is 0, not 0.5', shared: '' });
});

test('broadcast: rank 0 clears the shared buffer, so a write that stops working is caught, not an old value', () => {
  // Rank 0 of 2, with a comm whose barriers undo rank 0's write into the shared buffer after the warm-up round: the
  // barrier before that write keeps what the buffer holds, the one after puts it back. Had rank 0 not cleared the
  // buffer, what it puts back would be the warm-up's right array, and every round would pass.
  const elements = 16;
  const shared = new SharedArrayBuffer(elements * 8);
  const inPlace = new Float64Array(shared);
  let barriers = 0;
  let before = new Float64Array(elements);
  const comm = {
    rank: 0,
    size: 2,
    send: () => {}, // linear and tree
    bcast: (value: Float64Array) => value,
    barrier: () => {
      // Two barriers a way, four ways a round, in the order linear, tree, bcast, shared.
      const round = Math.floor(barriers / 8);
      const call = barriers++ % 8;
      if (call === 6) before = inPlace.slice(); // before the shared way: rank 0 is about to write
      if (call === 7 && round > 0) inPlace.set(before); // after it: the write never happened
    },
  } as unknown as Comm;
  const report = broadcast.default(comm, { elements, rounds: 2, shared });
  assert.equal(report.wrongRounds, { linear: 0, tree: 0, bcast: 0, shared: 2 });
  assert.equal(report.firstWrong, { linear: '', tree: '', bcast: '', shared: 'element 0 is 0, not 0.5' });
});

test('broadcast: an array with its pieces in the wrong places is caught, though its sum is right', () => {
  const right = Float64Array.from({ length: 8 }, (_, i) => i + 0.5);
  assert.is(broadcast.firstWrong(right, 8), '');
  const swapped = Float64Array.from([...right.subarray(4), ...right.subarray(0, 4)]); // the same sum
  assert.is(broadcast.firstWrong(swapped, 8), 'element 0 is 4.5, not 0.5');
  assert.is(broadcast.firstWrong(right.subarray(0, 7), 8), '7 elements, not 8');
  assert.is(broadcast.firstWrong(new Float64Array(1), 1), 'element 0 is 0, not 0.5');
});

test('broadcast: the check line names every wrong rank and way, and a wrong one is a WrongResultError', () => {
  const { out, lines } = capture();
  const right = { linear: 0, tree: 0, bcast: 0, shared: 0 };
  const nothing = { linear: '', tree: '', bcast: '', shared: '' };
  const zeros = 'element 0 is 0, not 0.5';
  const reports = [
    { wrongRounds: right, firstWrong: nothing },
    { wrongRounds: { ...right, bcast: 3 }, firstWrong: { ...nothing, bcast: zeros } },
  ];
  const message = 'broadcast: a rank got a wrong array (the check line says which)';
  isWrongResult(errorOf(() => broadcast.checkArrays(reports, 3, out)), message);
  // Two wrong ways on 3 ranks: the labels are the table's for 3 ranks.
  const shifted = 'element 4 is 0.5, not 4.5';
  const three = [...reports, { wrongRounds: { ...right, linear: 1 }, firstWrong: { ...nothing, linear: shifted } }];
  isWrongResult(errorOf(() => broadcast.checkArrays(three, 3, out)), message);
  broadcast.checkArrays([reports[0]!], 3, out);
  const check = 'every element in its place, every rank, every way, every round:';
  assert.equal(lines, [
    `${check} WRONG: rank 1, comm.bcast into a buffer: ${zeros}, in 3 of 4 rounds, warm-up included`,
    `${check} WRONG: rank 1, comm.bcast into a buffer: ${zeros}, in 3 of 4 rounds; rank 2, linear (rank 0 sends 2 ` +
      `times): ${shifted}, in 1 of 4 rounds, warm-up included`,
    `${check} yes`,
  ]);
});

test('broadcast: rounds and bytes are checked; the first elements listed are the ones there are', async () => {
  assert.equal([1, 2, 3, 4].map(broadcast.firstElements), ['0.5', '0.5, 1.5', '0.5, 1.5, 2.5', '0.5, 1.5, 2.5, ...']);
  const { out, lines } = capture();
  for (const rounds of [0, -1, 1.5]) {
    assert.is((await rejection(broadcast.run({ ranks: 1, bytes: 8, rounds, out }))).message,
      `Expected \`rounds\` to be an integer of at least 1, got ${rounds}`);
  }
  for (const bytes of [0, 12]) {
    assert.is((await rejection(broadcast.run({ ranks: 1, bytes, out }))).message, `Expected \`bytes\` to be a multiple of 8, at least 8, got ${bytes}`);
  }
  await broadcast.run({ ranks: 1, bytes: 8, rounds: 1, out });
  assert.is(lines[0], 'broadcast of a Float64Array of 8 B (1 element: 0.5) from rank 0 to 1 rank over shared, best of 1');
  await noWorkerLeft('the exercise returned');
});

/** A table's rows with the time (and what follows it) cut off. */
const labels = (rows: string[]) => rows.map((row) => row.replace(/ +[\d.]+ ms.*$/, ''));

test('broadcast: counts in the singular where they are 1, and the times in one column', async () => {
  const { out, lines } = capture();
  for (const ranks of [1, 2, 3]) await broadcast.run({ ranks, bytes: 1024, rounds: 1, out });
  assert.equal(lines.filter((line) => line.startsWith('broadcast of')).map((line) => line.match(/to \d+ ranks?/)![0]),
    ['to 1 rank', 'to 2 ranks', 'to 3 ranks']);
  const rows = lines.filter((line) => line.startsWith('  '));
  assert.equal(labels(rows), [
    ...[0, 1, 2].flatMap((n) => [
      `  linear (rank 0 sends ${n} time${n === 1 ? '' : 's'})`, `  binomial tree (${n} step${n === 1 ? '' : 's'})`, '  comm.bcast into a buffer',
      '  one SharedArrayBuffer, read in place',
    ]),
  ]);
  for (const row of rows) assert.is(row.indexOf(' ms'), 48, row); // 2 + the longest label (36) + 1 + 9 for the time
  await noWorkerLeft('the exercise returned');
});

test('reduce: linear, tree and comm.reduce give the closed forms, for numbers and elementwise for arrays', async () => {
  const { out, lines } = capture();
  for (const [ranks, transport] of [[3, 'shared'], [5, 'transfer']] as const) {
    const n = ranks;
    const results = await reduce.run({ ranks, transport, bytes: 4096, rounds: 1, out });
    assert.equal(results.map((r) => r.way), ['linear', 'tree', 'comm.reduce']);
    for (const r of results) {
      assert.is(r.number, (n * (n + 1)) / 2);
      assert.equal(r.arrayHead, [0, 1, 2, 3].map((i) => n * i + (n * (n - 1)) / 2));
      assert.is(r.arrayWrongRounds, 0);
    }
  }
  assert.ok(lines.includes('numbers: rank r holds r + 1; closed form N(N+1)/2 = 6'), lines.join('\n'));
  assert.ok(lines.some((line) => /^ {2}tree \(3 steps\) +10, 15, 20, 25, \.\.\. +[\d.]+ ms {2}all 512 elements right$/.test(line)), lines.join('\n'));
  assert.ok(lines.some((line) => /^ {2}comm\.reduce +15 +[\d.]+ ms {2}right$/.test(line)), lines.join('\n'));
  await noWorkerLeft('the exercise returned');
});

test('reduce: counts in the singular where they are 1, and each table in its columns', async () => {
  const { out, lines } = capture();
  await reduce.run({ ranks: 1, bytes: 32, rounds: 1, out });
  await reduce.run({ ranks: 2, bytes: 32, rounds: 1, out });
  assert.equal(lines.filter((line) => line.startsWith('reduce:')), [
    'reduce: sum onto rank 0 of 1 rank over shared, best of 1',
    'reduce: sum onto rank 0 of 2 ranks over shared, best of 1',
  ]);
  const rows = lines.filter((line) => line.startsWith('  '));
  assert.equal(labels(rows), [
    '  linear (0 steps)         1', '  tree (0 steps)           1', '  comm.reduce              1',
    '  linear (0 steps)    0, 1, 2, 3, ...', '  tree (0 steps)      0, 1, 2, 3, ...', '  comm.reduce         0, 1, 2, 3, ...',
    '  linear (1 step)         3', '  tree (1 step)           3', '  comm.reduce             3',
    '  linear (1 step)    1, 3, 5, 7, ...', '  tree (1 step)      1, 3, 5, 7, ...', '  comm.reduce        1, 3, 5, 7, ...',
  ]);
  assert.ok(rows.slice(3, 6).every((row) => row.endsWith('ms  all 4 elements right')), rows.join('\n'));
  await noWorkerLeft('the exercise returned');
});

/**
 * Rank 0 of 2, with a comm whose receives bring wrong values in the rounds `wrongIn` says (linear and tree receive a
 * number, then an array, each: four receives a round; a wrong array has its first 3 elements wrong), and whose
 * comm.reduce is always right.
 */
function reduceComm(elements: number, wrongIn: (round: number) => boolean): Comm {
  let receives = 0;
  return {
    rank: 0,
    size: 2,
    barrier: () => {},
    recv: () => {
      const wrong = wrongIn(Math.floor(receives / 4));
      const number = receives++ % 2 === 0;
      if (number) return wrong ? 0 : 2; // rank 1 holds 2
      return Float64Array.from({ length: elements }, (_, i) => (wrong && i < 3 ? 0 : 1 + i)); // rank 1's: 1 + i
    },
    reduce: (value: number | Float64Array) => (typeof value === 'number' ? value + 2 : value.map((x, i) => x + 1 + i)),
  } as unknown as Comm;
}

test('reduce: a way that is wrong in one round only stays wrong, for numbers and arrays', () => {
  const elements = 8;
  const results = reduce.default(reduceComm(elements, (round) => round === 0), { elements, rounds: 2 });
  const fields = (r: reduce.WayResult) =>
    [r.way, r.number, r.numberWrongRounds, r.arrayHead, r.arrayWrongRounds, r.arrayWrongElements];
  assert.equal(results.map(fields), [
    ['linear', 1, 1, [0, 1, 2, 7], 1, 3],
    ['tree', 1, 1, [0, 1, 2, 7], 1, 3],
    ['comm.reduce', 3, 0, [1, 3, 5, 7], 0, 0],
  ]);
});

test('reduce: a way wrong in every round counts its wrong elements once, and its rounds warm-up included', () => {
  // Was "12 elements WRONG (over 4 rounds)" for an array of 8: the wrong elements were summed over the rounds.
  const elements = 8;
  const results = reduce.default(reduceComm(elements, () => true), { elements, rounds: 3 });
  const { out, lines } = capture();
  const settings = { ranks: 2, transport: 'shared', bytes: elements * 8, rounds: 3 } as const;
  isWrongResult(errorOf(() => reduce.report(results, settings, out)), 'reduce: wrong sums from linear, tree');
  assert.equal(lines.filter((line) => line.startsWith('  ')).map((line) => line.replace(/ +[\d.]+ ms {2}/, ' | ')), [
    '  linear (1 step)         1 | WRONG in 4 of 4 rounds, warm-up included (expected 3)',
    '  tree (1 step)           1 | WRONG in 4 of 4 rounds, warm-up included (expected 3)',
    '  comm.reduce             3 | right',
    '  linear (1 step)    0, 1, 2, 7, ... | WRONG in 4 of 4 rounds, warm-up included (3 of 8 elements in the first)',
    '  tree (1 step)      0, 1, 2, 7, ... | WRONG in 4 of 4 rounds, warm-up included (3 of 8 elements in the first)',
    '  comm.reduce        1, 3, 5, 7, ... | all 8 elements right',
  ]);
});

test('reduce: every row has a verdict, a wrong one says what was expected and is a WrongResultError', async () => {
  const { out, lines } = capture();
  const row = {
    number: 3, numberWrongRounds: 0, ms: 0.1,
    arrayHead: [1, 3, 5, 7], arrayWrongRounds: 0, arrayWrongElements: 0, arrayMs: 0.2,
  };
  const results = [
    { ...row, way: 'linear' as const, number: 1, numberWrongRounds: 1 },
    { ...row, way: 'tree' as const, arrayHead: [0, 1, 2, 3], arrayWrongRounds: 2, arrayWrongElements: 3 },
    { ...row, way: 'comm.reduce' as const },
  ];
  isWrongResult(errorOf(() => reduce.report(results, { ranks: 2, transport: 'shared', bytes: 32, rounds: 1 }, out)),
    'reduce: wrong sums from linear, tree');
  assert.equal(lines, [
    'reduce: sum onto rank 0 of 2 ranks over shared, best of 1',
    'numbers: rank r holds r + 1; closed form N(N+1)/2 = 3',
    '  linear (1 step)         1     0.10 ms  WRONG in 1 of 2 rounds, warm-up included (expected 3)',
    '  tree (1 step)           3     0.10 ms  right',
    '  comm.reduce             3     0.10 ms  right',
    'arrays: rank r holds a Float64Array of 32 B, element i = r + i; closed form N·i + N(N-1)/2 = 1, 3, 5, 7, ...',
    '  linear (1 step)    1, 3, 5, 7, ...     0.20 ms  all 4 elements right',
    '  tree (1 step)      0, 1, 2, 3, ...     0.20 ms  WRONG in 2 of 2 rounds, warm-up included (3 of 4 elements in the first)',
    '  comm.reduce        1, 3, 5, 7, ...     0.20 ms  all 4 elements right',
  ]);
  for (const rounds of [0, -1, 1.5]) {
    assert.is((await rejection(reduce.run({ ranks: 1, bytes: 32, rounds, out }))).message,
      `Expected \`rounds\` to be an integer of at least 1, got ${rounds}`);
  }
});

test('bandwidth: one rank program over clone, transfer and shared; a row per size, every array checked', async () => {
  const { out, lines } = capture();
  const result = await bandwidth.run({ minBytes: 8, maxBytes: 700, seconds: 0.01, ranks: 3, transport: 'clone', out });
  assert.equal(result.sizes, [8, 32, 128, 512]);
  for (const transport of ['clone', 'transfer', 'shared'] as const) {
    assert.is(result.mbPerSec[transport].length, 4, transport);
    for (const mbPerSec of result.mbPerSec[transport]) assert.ok(mbPerSec > 0, `${transport}: ${mbPerSec}`);
  }
  assert.is(result.wrong, 0);
  assert.ok(result.received >= 3 * 4 * 2 * 64, `${result.received} arrays`); // 2 windows or more a size and transport
  assert.equal(lines.slice(0, 4), [
    'bandwidth always runs on 2 ranks (--ranks 3 ignored)',
    'bandwidth measures all three transports (--transport clone ignored)',
    'bandwidth: rank 0 sends windows of up to 64 Uint8Arrays to rank 1, which checks each and acknowledges',
    '0.01 s per size and transport; MB/s of arrays received (1 MB = 10^6 bytes)',
  ]);
  // The header's words, whatever the columns' widths (a slow clone's figure, 0.0471 on a loaded machine, widens its own)
  assert.equal(lines[4]!.trim().split(/ {2,}/), ['size', 'clone', 'transfer', 'shared'], lines.join('\n'));
  assert.match(lines[5]!, /^─+( {2}─+){3}$/);
  const rows = lines.slice(6, 10).map((line) => line.trim().split(/ {2,}/));
  assert.equal(rows.map((row) => row[0]), ['8 B', '32 B', '128 B', '512 B']);
  for (const row of rows) {
    assert.is(row.length, 4, row.join('|'));
    for (const cell of row.slice(1)) assert.ok(Number(cell.replaceAll(',', '')) > 0, cell);
  }
  // The course's log-log chart, between blank lines: its title, the sizes under the axis, a legend of the marks.
  assert.equal(lines.slice(10, 13), ['', 'MB/s by size (log-log)', 'MB/s']);
  const legend = lines.indexOf('─o─ clone   ─x─ transfer   ─+─ shared');
  assert.ok(legend > 13, lines.join('\n'));
  assert.match(lines[legend - 2]!, /^ +└┬[─┬]+┬$/);
  assert.match(lines[legend - 1]!, /^ +8 B .* 512 B$/);
  assert.is(lines[legend + 1], '');
  assert.match(lines[legend + 2]!, /^arrays a second at 8 B: clone [\d,]+, transfer [\d,]+, shared [\d,]+$/);
  const checked = `rank 1 checked ${result.received.toLocaleString('en')} arrays`;
  assert.is(lines[legend + 3], `${checked} (length, first and last byte): all right`);
  assert.is(lines.length, legend + 4, lines.join('\n'));
  await noWorkerLeft('the exercise returned');
});

test('bandwidth: a wrong array is WRONG and a WrongResultError; its options are checked', async () => {
  const { out, lines } = capture();
  isWrongResult(errorOf(() => bandwidth.checkArrays(1000, 3, out)), 'bandwidth: rank 1 received 3 wrong arrays');
  isWrongResult(errorOf(() => bandwidth.checkArrays(1, 1, out)), 'bandwidth: rank 1 received 1 wrong array');
  bandwidth.checkArrays(1, 0, out);
  assert.equal(lines, [
    'rank 1 checked 1,000 arrays (length, first and last byte): 3 WRONG',
    'rank 1 checked 1 array (length, first and last byte): 1 WRONG',
    'rank 1 checked 1 array (length, first and last byte): all right',
  ]);
  lines.length = 0;
  const refused: [Parameters<typeof bandwidth.run>[0], string][] = [
    [{ minBytes: 0 }, 'Expected `minBytes` to be an integer of at least 1, got 0'],
    [{ minBytes: 1.5 }, 'Expected `minBytes` to be an integer of at least 1, got 1.5'],
    [{ minBytes: 64, maxBytes: 8 }, 'Expected `maxBytes` to be an integer of at least minBytes (64), got 8'],
    [{ seconds: 0 }, 'Expected `seconds` to be more than 0, got 0'],
    [{ seconds: NaN }, 'Expected `seconds` to be more than 0, got NaN'],
  ];
  for (const [options, message] of refused) {
    assert.is((await rejection(bandwidth.run({ ...options, out }))).message, message);
  }
  assert.equal(lines, []); // refused before anything ran
});

test('runExercise: names the six exercises when the name is unknown, and runs a known one', async () => {
  assert.equal(EXERCISE_NAMES, ['sample', 'ring', 'gather', 'broadcast', 'reduce', 'bandwidth']);
  try {
    await runExercise('nope', { ranks: undefined, transport: 'shared' });
    assert.unreachable('an unknown exercise ran');
  } catch (error) {
    assert.instance(error, UsageError);
    assert.is((error as Error).message, 'Unknown exercise "nope": expected one of sample, ring, gather, broadcast, ' +
      'reduce, bandwidth, a number from 1 to 6, or a file\'s name such as 1-sample');
  }
  const { out, lines } = capture();
  assert.equal(await runExercise('ring', { ranks: 3, transport: 'shared', out }), { path: [0, 1, 2, 0], connections: 3 });
  assert.is(lines[1], 'token path: 0 → 1 → 2 → 0');
  // --unsafe reaches the exercise: with 2 ranks there is one producer, nothing to race with.
  await runExercise('gather', { ranks: 2, transport: 'shared', unsafe: true, out });
  assert.ok(lines.includes('   no lock: one producer has nothing to race with; --unsafe needs --ranks 3 or more'), lines.join('\n'));
  assert.ok(lines.includes('a) rank 1 sends 10,000 checksummed messages to rank 0 over ONE ring'), lines.join('\n'));
  lines.length = 0;
  assert.equal(await runExercise('2', { ranks: 2, out }), { path: [0, 1, 0], connections: 2 }); // by number
  assert.equal(await runExercise('2-ring', { ranks: 1, out }), { path: [0, 0], connections: 1 }); // by file name
  lines.length = 0;
  await runExercise('ring', { ranks: 2, transport: undefined, unsafe: true, out }); // the exercise's own transport
  assert.is(lines[0], '(--unsafe is for gather only: ignored)');
  assert.is(lines[2], 'token path: 0 → 1 → 0');
  await noWorkerLeft('the exercise returned');
});

/** The files a module loads, itself included: its relative static imports and re-exports, followed through. */
function staticImports(url: URL, seen = new Set<string>()): Set<string> {
  if (seen.has(url.href)) return seen;
  seen.add(url.href);
  // Built files have one `import ... from "./x.js"` per module (esbuild's output); bare names (node:...) are left out.
  for (const [, specifier] of readFileSync(url, 'utf8').matchAll(/^\s*(?:import|export)\s[^;]*?from\s*["'](\.[^"']+)["']/gm)) {
    staticImports(new URL(specifier!, url), seen);
  }
  return seen;
}

test('exercises: a rank worker loads the library and the exercise, not the command line\'s parser', () => {
  for (const file of ['1-sample', '2-ring', '3-gather', '4-broadcast', '5-reduce', '6-bandwidth']) {
    const loaded = [...staticImports(new URL(`../exercises/${file}.js`, import.meta.url))];
    assert.ok(loaded.some((url) => url.endsWith('/dist/src/index.js')), `${file}: the walk found the library`);
    const parsers = ['/dist/src/bench/args.js', '/dist/src/bench/options.js', '/dist/src/exercises.js'];
    const parser = loaded.filter((url) => parsers.some((file) => url.endsWith(file)));
    assert.equal(parser, [], file);
  }
});

test('ring, gather: an error in a rank of their own Workers is at its .ts line when the thread maps sources', () => {
  // The shmcomm command maps sources; a worker does not inherit that, so ring and gather ask for it as launch does.
  // A child process (with no node options, as the command has) swaps in a Worker that gives every rank a buffer that
  // is no ring, so the first rank to attach one fails, in the exercise's own code.
  const lineOf = (file: string, text: string) => {
    const source = readFileSync(new URL(`../../exercises/${file}`, import.meta.url), 'utf8');
    return source.split('\n').findIndex((line) => line.includes(text)) + 1;
  };
  const ringLine = lineOf('2-ring.ts', 'const inbox = RingBuffer.attach(job.receiveFrom');
  const gatherLine = lineOf('3-gather.ts', '.map((b) => RingBuffer.attach(b));');
  assert.ok(ringLine > 0 && gatherLine > 0, 'the lines that attach');
  const exercise = (file: string) => new URL(`../exercises/${file}.js`, import.meta.url).href;
  const script = `import workerThreads from 'node:worker_threads';
    import { syncBuiltinESMExports } from 'node:module';
    process.setSourceMapsEnabled(true);
    const Original = workerThreads.Worker;
    workerThreads.Worker = class extends Original {
      constructor(url, options) {
        const noRing = new SharedArrayBuffer(64);
        super(url, { ...options, workerData: { ...options.workerData, receiveFrom: noRing, rings: [noRing] } });
      }
    };
    syncBuiltinESMExports();
    const at = (file) => (error) => error.cause.stack.split('\\n').find((line) => line.includes(file)).trim();
    const ring = await import('${exercise('2-ring')}');
    const gather = await import('${exercise('3-gather')}');
    const quiet = () => {};
    const ringAt = await ring.run({ ranks: 2, out: quiet }).catch(at('2-ring'));
    const gatherAt = await gather.run({ ranks: 2, messages: 1, out: quiet }).catch(at('3-gather'));
    console.log(JSON.stringify([ringAt, gatherAt]));`;
  const dir = mkdtempSync(join(tmpdir(), 'shmcomm-exercise-'));
  try {
    writeFileSync(join(dir, 'maps.mjs'), script);
    const child = spawnSync(process.execPath, [join(dir, 'maps.mjs')], { encoding: 'utf8', timeout: 60_000 });
    assert.is(child.status, 0, child.stderr);
    const [ringAt, gatherAt] = JSON.parse(child.stdout) as [string, string];
    assert.match(ringAt, new RegExp(`^at connect \\(/.*/exercises/2-ring\\.ts:${ringLine}:\\d+\\)$`));
    assert.match(gatherAt, new RegExp(`^at <anonymous> \\(/.*/exercises/3-gather\\.ts:${gatherLine}:\\d+\\)$`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runExercise: too few ranks for an exercise is a usage error, before anything starts', async () => {
  try {
    await runExercise('gather', { ranks: 1, transport: undefined });
    assert.unreachable('gather ran on one rank');
  } catch (error) {
    assert.instance(error, UsageError);
    assert.is((error as Error).message, 'Expected `--ranks` to be at least 2 for gather, got 1');
    assert.is((error as UsageError).option, '--ranks');
  }
});

test.run();
