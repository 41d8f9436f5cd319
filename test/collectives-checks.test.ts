// Collectives given mistakes: bad arguments, values that do not go together, calls that do not match (each reported
// as its rank's failure or as a deadlock), views still held; and what else the checks fixture runs (the arena's bcast,
// scratch arrays, gather's copies). Split from collectives.test.ts, which with these took 231 and 234 s of the 240 s
// that test/run.mjs gives a file, on 2 loaded cores, and 406 s beside a little more load (run.mjs kills it at 240).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { DeadlockError, launch, RankFailedError, type TransportName } from '../src/index.js';

const PROGRAMS = new URL('./fixtures/collectives-programs.js', import.meta.url).href;
const CHECKS = new URL('./fixtures/collectives-checks.js', import.meta.url).href;
const TRANSPORTS: TransportName[] = ['shared', 'transfer', 'clone'];
const run = <R = unknown>(size: number, transport: TransportName, args: object, extra: object = {}) =>
  launch<R>(PROGRAMS, { size, transport, args, timeoutMs: 60_000, ...extra });
/** What a launch rejected with, or null if it resolved. */
const rejection = (launched: Promise<unknown>): Promise<unknown> => launched.then(() => null, (e: unknown) => e);
/** A rank program of collectives-checks on the shared transport, with a short deadlockMs: what it rejected with. */
const deadlockIn = (size: number, args: object) =>
  rejection(launch(CHECKS, { size, transport: 'shared', args, timeoutMs: 60_000, deadlockMs: 300 }));

test('bad input is refused in the rank that made the mistake, with what was given and allowed', async () => {
  const OP = "Expected `op` to be 'sum', 'prod', 'min', 'max' or a function, got \"avg\"";
  const VALUES = 'Expected `values` to be an array of 4 values (one per rank)';
  // [call, size, mistaken rank, failing rank, error class, message]
  const cases: [string, number, number, number, string, string][] = [
    ['op', 4, 1, 1, 'TypeError', OP],
    ['allreduceOp', 4, 3, 3, 'TypeError', OP],
    ['root', 4, 2, 2, 'RangeError', 'Expected `root` to be a rank from 0 to 3, got 4'],
    ['fractionRoot', 4, 3, 3, 'TypeError', 'Expected `root` to be an integer rank from 0 to 3, got 0.5'],
    ['scatterLength', 4, 0, 0, 'RangeError', `${VALUES}, got an array of length 3`],
    ['scatterLength', 1, 0, 0, 'RangeError', 'Expected `values` to be an array of 1 value (one per rank), got an array of length 3'],
    ['alltoallLength', 4, 2, 2, 'RangeError', `${VALUES}, got an array of length 0`],
    ['bcastBuffer', 4, 2, 2, 'RangeError', "bcast(): rank 2 passed a 40-byte buffer for the root's 32-byte value"],
    ['intoKind', 4, 1, 1, 'RangeError', 'Expected `into` to be a Float64Array of 3 elements like the value, got an Int32Array of 3'],
    ['intoNumber', 4, 3, 3, 'TypeError', '`into` is for typed-array values, got 1 to reduce'],
    // A function's result goes into `into` whole or not at all (set() would take part of it, or nothing from a number).
    ['intoFunctionNumber', 4, 2, 2, 'TypeError', '`into` takes a Float64Array of 2 elements, but the op returned a number'],
    ['intoFunctionShort', 4, 0, 0, 'TypeError', '`into` takes a Float64Array of 2 elements, but the op returned a Float64Array of 1'],
    ['alltoallNotArray', 4, 1, 1, 'TypeError', `${VALUES}, got "abcd"`],
    // Slips with `into` and the root: reduce takes `into` fourth, after the root; allreduce third, and no root
    ['reduceIntoAsRoot', 4, 2, 2, 'TypeError', 'Expected `root` to be an integer rank from 0 to 3, got a Float64Array ' +
      '(`into` comes after the root: reduce(value, op, root, into))'],
    ['reduceIntoOption', 4, 1, 1, 'TypeError', 'Expected `root` to be an integer rank from 0 to 3, got an object ' +
      '(`into` is an argument, not an option: reduce(value, op, root, into))'],
    ['reduceIntoOptionAfterRoot', 4, 0, 0, 'TypeError', 'Expected `into` to be a typed array, got an object ' +
      '(`into` is an argument, not an option: reduce(value, op, root, into))'],
    ['allreduceIntoOption', 4, 3, 3, 'TypeError', 'Expected `into` to be a typed array, got an object ' +
      '(`into` is an argument, not an option: allreduce(value, op, into))'],
    ['allreduceRoot', 4, 1, 1, 'TypeError', 'Expected `into` to be a typed array, got 0 (allreduce takes no root: allreduce(value, op, into))'],
    ['allreduceRootNumber', 4, 2, 2, 'TypeError', 'Expected `into` to be a typed array, got 0 (allreduce takes no root: allreduce(value, op, into))'],
    ['bcastSwapped', 4, 1, 1, 'TypeError', 'Expected `root` to be an integer rank from 0 to 3, got an object (the value comes first: bcast(value, root))'],
    ['reduceSwapped', 4, 2, 2, 'TypeError', "Expected `op` to be 'sum', 'prod', 'min', 'max' or a function, got 1 " +
      "(the value comes first: reduce(value, 'sum'))"],
    ['allreduceSwapped', 4, 1, 1, 'TypeError', "Expected `op` to be 'sum', 'prod', 'min', 'max' or a function, got 1 " +
      "(the value comes first: allreduce(value, 'max'))"],
    ['scatterSwapped', 4, 3, 3, 'TypeError', 'Expected `root` to be an integer rank from 0 to 3, got an array of length 4 ' +
      '(the values come first: scatter(values, root))'],
    ['string', 4, 1, 1, 'TypeError', "Expected a number, bigint or typed array to reduce with 'sum', got a string (pass a function to reduce other values)"],
    // Values that do not go together fail where they meet: at rank 0, which combines rank 1's value with its own.
    ['mixed', 2, 1, 0, 'TypeError', "Expected values of the same type to reduce with 'sum', got a number and a bigint"],
    ['lengths', 2, 1, 0, 'RangeError', "Expected typed arrays of the same length to reduce with 'max', got 3 and 4"],
    ['kinds', 2, 1, 0, 'TypeError', "Expected typed arrays of the same kind to reduce with 'min', got Float64Array and Int32Array"],
  ];
  // Argument checks happen before any message moves, so one transport shows them; values meet on all three.
  const meetingCalls = ['mixed', 'lengths', 'kinds'];
  for (const transport of TRANSPORTS) {
    for (const [call, size, mistaken, failing, name, message] of cases) {
      if (transport !== 'shared' && !meetingCalls.includes(call)) continue;
      const label = `${transport} ${call}`;
      const err = await rejection(run(size, transport, { program: 'bad', call, rank: mistaken }));
      assert.instance(err, RankFailedError, `${label}: not a RankFailedError: ${String(err)}`);
      const failed = err as RankFailedError;
      assert.is(failed.message, `rank ${failing} failed: ${name}: ${message}`, label);
      assert.is(failed.rank, failing, label);
      assert.is((failed.cause as Error).name, name, label);
      assert.is((failed.cause as Error).message, message, label);
    }
  }
  // Every rank makes the mistake: whichever reports first is named.
  const err = await rejection(run(4, 'shared', { program: 'bad', call: 'op', rank: -1 }));
  assert.instance(err, RankFailedError);
  assert.match((err as Error).message, new RegExp(`^rank [0-3] failed: TypeError: ${OP.replace(/[()]/g, '\\$&')}$`));
});

test('mistakes that meet only in the values: allreduce of large arrays, bcast into a buffer, a DataView to sum', async () => {
  const KINDS = "TypeError: Expected typed arrays of the same kind to reduce with 'sum', got Float64Array and Int32Array";
  const LENGTHS = "RangeError: Expected typed arrays of the same length to reduce with 'sum', got 10000 and 9000";
  const BCAST = 'bcast(): rank 1 passed a 32-byte buffer';
  // [call, size, mistaken rank, what each rank that may fail first says]; `arena`: the shared transport's default
  const cases = (arena: boolean): [string, number, number, Record<number, string>][] => [
    // Either rank of the pair finds it first, and both say the same, the lower rank's array first.
    ['ringKinds', 2, 1, { 0: KINDS, 1: KINDS }],
    ['ringLengths', 2, 1, { 0: LENGTHS, 1: LENGTHS }],
    // Rank 1 has the shorter array. Round the ring, rank 1 finds it in its left neighbour's header, rank 2 in rank
    // 1's; in the arena, every rank reads every rank's header, and all say the same.
    ['ringLengths', 3, 1, arena ? { 0: LENGTHS, 1: LENGTHS, 2: LENGTHS }
      : { 1: LENGTHS, 2: "RangeError: Expected typed arrays of the same length to reduce with 'sum', got 9000 and 10000" }],
    ['bcastSmaller', 4, 2, { 2: "RangeError: bcast(): rank 2 passed a 24-byte buffer for the root's 32-byte value" }],
    ['bcastNotBinary', 2, 1, { 1: `TypeError: ${BCAST}, but the root's value is a string, not a typed array, DataView or ArrayBuffer` }],
    ['dataView', 4, 1, {
      1: "TypeError: Expected a number, bigint or typed array to reduce with 'sum', got a DataView (pass a function to reduce other values)",
    }],
  ];
  const settings: [TransportName, number | undefined][] = [['shared', undefined], ['shared', 0], ['transfer', undefined], ['clone', undefined]];
  for (const [transport, arenaBytes] of settings) {
    for (const [call, size, rank, expected] of cases(transport === 'shared' && arenaBytes === undefined)) {
      const label = `${transport}${arenaBytes === 0 ? ' (no arena)' : ''} ${call} on ${size} ranks`;
      const err = await rejection(launch(CHECKS, { size, transport, arenaBytes, args: { program: 'mismatch', call, rank }, timeoutMs: 60_000 }));
      assert.instance(err, RankFailedError, `${label}: not a RankFailedError: ${String(err)}`);
      const failed = err as RankFailedError;
      assert.ok(failed.rank in expected, `${label}: rank ${failed.rank} failed: ${failed.message}`);
      assert.is(failed.message, `rank ${failed.rank} failed: ${expected[failed.rank]}`, label);
    }
  }
});

test('round the ring, both ranks of a mismatched pair refuse it, and the next allreduce works', async () => {
  const refused = "TypeError: Expected typed arrays of the same kind to reduce with 'sum', got Float64Array and Int32Array";
  const settings: [TransportName, number | undefined][] = [['shared', 0], ['transfer', undefined], ['clone', undefined]];
  for (const [transport, arenaBytes] of settings) {
    const launched = launch(CHECKS, { size: 2, transport, arenaBytes, args: { program: 'ringMismatch' }, timeoutMs: 60_000, deadlockMs: 300 });
    const results = await launched.catch((err: unknown) => String(err));
    assert.equal(results, [{ refused, again: 3 }, { refused, again: 3 }], transport);
  }
});

test('allreduce either side of the 64 KiB switch: each rank waits for its own algorithm, none returns', async () => {
  const RING = 'deadlock: rank 0 waits to receive from rank 1 in allreduce; rank 1 waits to receive from rank 0 in allreduce';
  const ARENA = "deadlock: rank 0 waits in allreduce (at the shared arena's barrier); rank 1 waits to receive from rank 0 in allreduce";
  const settings: [TransportName, number | undefined, string][] = [
    ['shared', undefined, ARENA], ['shared', 0, RING], ['transfer', undefined, RING], ['clone', undefined, RING],
  ];
  for (const [transport, arenaBytes, message] of settings) {
    const finished = new SharedArrayBuffer(8);
    const err = await rejection(launch(CHECKS, {
      size: 2, transport, arenaBytes, args: { program: 'mismatch', call: 'algorithms', rank: 1, finished }, timeoutMs: 60_000, deadlockMs: 300,
    }));
    assert.instance(err, DeadlockError, `${transport}: ${String(err)}`);
    assert.is((err as Error).message, message, transport);
    assert.equal(Array.from(new Int32Array(finished)), [0, 0], `${transport}: a rank returned a result`);
  }
});

test('shared, the arena: a mismatch throws the same error in every rank, and the next allreduce works', async () => {
  const results = await launch(CHECKS, { size: 4, transport: 'shared', args: { program: 'arenaMismatch' }, timeoutMs: 60_000 });
  const refused = "RangeError: Expected typed arrays of the same length to reduce with 'sum', got 10000 and 10008";
  const reduceRefused = "RangeError: Expected typed arrays of the same length to reduce with 'sum', got 262144 and 262152";
  const opRefused = "RangeError: allreduce(): rank 0 passed 'sum' and rank 1 'max'";
  const rootRefused = 'RangeError: reduce(): rank 1 passed root 1 and rank 2 root 2';
  assert.equal(results, [0, 1, 2, 3].map((rank) => ({
    refused, again: [10, 10], reduceRefused, reduced: rank === 1 ? [10, 10] : undefined,
    opRefused, rootRefused, afterRefusals: [10, 10], reducedAfter: rank === 1 ? 10 : undefined,
  })));
});

test('collective messages carry their call: a skipped call is reported, and later calls never take an earlier one\'s', async () => {
  for (const transport of ['shared', 'clone', 'transfer'] as const) {
    // deadlockMs 300, as deadlockIn: each report names one stuck rank and a finished one, the same whenever it comes
    // (the default grace of 1000 ms was most of this test's time).
    const err = await launch(CHECKS, { size: 2, transport, args: { program: 'skippedCall' }, timeoutMs: 30_000, deadlockMs: 300 })
      .catch((e: unknown) => e);
    assert.instance(err, DeadlockError, `${transport}: ${String(err)}`);
    assert.is((err as Error).message, 'deadlock: rank 0 waits to receive from rank 1 in gather (rank 1 has finished)', transport);
    // Before, rank 0's reduce took rank 1's 41 from the crossed first call: 141, not 201.
    const crossed = await launch(CHECKS, { size: 2, transport, args: { program: 'crossedThenAlike' }, timeoutMs: 30_000 });
    assert.equal(crossed, [['bcast value', 'next bcast', 201], [null, 'next bcast', null]], transport);
    // A collective inside another's op: the outer call goes on with its own tags (it had sent its result with the
    // inner call's, and waited for ever).
    const nested = await launch(CHECKS, { size: 2, transport, args: { program: 'nestedInOp' }, timeoutMs: 30_000 });
    assert.equal(nested, [[null, null], [21, 'from inside the op']], transport);
    // A deadlock in a collective inside another's op names the inner one, where the rank waits.
    const inner = await launch(CHECKS, { size: 2, transport, args: { program: 'nestedDeadlock' }, timeoutMs: 30_000, deadlockMs: 300 })
      .catch((e: unknown) => e);
    assert.instance(inner, DeadlockError, `${transport}: ${String(inner)}`);
    assert.is((inner as Error).message, 'deadlock: rank 0 waits to receive from rank 1 in bcast (rank 1 has finished)', transport);
    // One that fails after them has counted, though it sent nothing: the root's retry is a call ahead of rank 1.
    const args = { program: 'cloneRefusedRetry' };
    const ahead = await launch(CHECKS, { size: 2, transport, args, timeoutMs: 30_000, deadlockMs: 300 })
      .catch((e: unknown) => e);
    assert.instance(ahead, DeadlockError, `${transport}: ${String(ahead)}`);
    const behind = 'deadlock: rank 1 waits to receive from rank 0 in bcast (rank 0 has finished)';
    assert.is((ahead as Error).message, behind, transport);
    // A call refused by its own checks is not counted: called again, it meets the others' messages.
    const retried = await launch(CHECKS, { size: 3, transport, args: { program: 'rootRetries' }, timeoutMs: 30_000 });
    assert.equal(retried, [['RangeError', [6, 3]], null, null], transport);
  }
});

test('allreduce and reduce with a function that answers its first operand give a new array, never the rank\'s own', async () => {
  for (const transport of ['shared', 'clone'] as const) {
    const results = await launch(CHECKS, { size: 3, transport, args: { program: 'firstOperand' }, timeoutMs: 30_000 });
    assert.equal(results, [0, 1, 2].map((rank) => ({
      isOwn: false, values: [1, 1, 1, 1], reducedIsOwn: false, reduced: rank === 0 ? [1, 1, 1, 1] : undefined,
    })), transport);
  }
});

test('shared, the arena: a reduce whose ranks took the tree and the arena, and then met at different calls, is refused', async () => {
  // Before, the root of `swapped` got rank 1's second call (1 MiB) as the sum of its first, and its second was off
  // too; no error anywhere. Now every rank in the arena refuses, with the calls of the two ranks that differ first.
  const outOfStep = (lower: number, higher: number, calls: [number, number]) =>
    `RangeError: reduce(): rank ${lower} is at its call ${calls[0]} of reduce and rank ${higher} at its call ${calls[1]}: ` +
    'an earlier call had arrays of different lengths, which took different ways (typed arrays from 512 KiB go through the shared arena)';
  const swapped = await launch(CHECKS, { size: 2, transport: 'shared', args: { program: 'reduceOutOfStep', case: 'swapped' }, timeoutMs: 60_000 });
  assert.equal(swapped, [[outOfStep(0, 1, [1, 2])], [undefined, outOfStep(0, 1, [1, 2])]]);
  const oneSmall = await launch(CHECKS, { size: 3, transport: 'shared', args: { program: 'reduceOutOfStep', case: 'oneSmall' }, timeoutMs: 60_000 });
  assert.equal(oneSmall, [[outOfStep(1, 2, [1, 2])], [outOfStep(1, 2, [1, 2])], [undefined, outOfStep(1, 2, [1, 2])]]);
});

test('shared, the arena: ranks that wait there for a rank that has returned, or for one in barrier(), are reported', async () => {
  const gone = await deadlockIn(3, { program: 'skipsArena', call: 'allreduce' });
  assert.instance(gone, DeadlockError, String(gone));
  const line = (rank: number) => `rank ${rank} waits in allreduce (at the shared arena's barrier; rank 1 has finished without it)`;
  assert.is((gone as Error).message, `deadlock: ${line(0)}; ${line(2)}`);
  // Were the two barriers one, rank 1's barrier() would let rank 0's allreduce through with rank 1's old slot.
  const crossed = await deadlockIn(2, { program: 'barrierForAllreduce' });
  assert.instance(crossed, DeadlockError, String(crossed));
  assert.is((crossed as Error).message, "deadlock: rank 0 waits in allreduce (at the shared arena's barrier); rank 1 waits in barrier");
});

test('shared, the arena: bcast of every binary kind, into a buffer or not; a wrong buffer throws in its rank alone', async () => {
  const results = await launch(CHECKS, { size: 4, transport: 'shared', args: { program: 'arenaBcast' }, timeoutMs: 60_000 });
  const BIG = 262_144;
  const last = (BIG - 1) * 0.5 - 2; // the root's last element
  assert.equal(results, [0, 1, 2, 3].map((rank) => ({
    object: ['Float64Array', BIG, last, rank === 2], // the root gets its own array back, the others a copy
    inArena: 0.5 - 2,
    filled: [true, last],
    view: ['DataView', BIG * 8 - 8, 0.5 - 2], // the root's DataView from byte 8: its element 1
    buffer: ['ArrayBuffer', BIG * 8, rank === 2],
    fromShared: [rank === 2 ? 'SharedArrayBuffer' : 'ArrayBuffer', 7], // a copy, as send makes of one
    refused: rank === 1 ? "RangeError: bcast(): rank 1 passed a 2097088-byte buffer for the root's 2097152-byte value" : 'not refused',
    sum: [10, 10],
  })));
  const err = await deadlockIn(3, { program: 'skipsArena', call: 'bcast' });
  assert.instance(err, DeadlockError, String(err));
  const line = (rank: number) => `rank ${rank} waits in bcast (at the shared arena's barrier; rank 1 has finished without it)`;
  assert.is((err as Error).message, `deadlock: ${line(0)}; ${line(2)}`);
});

test('shared, the arena: bcast or reduce crossed with allreduce wait for each other, and are reported, instead of pairing up', async () => {
  const at = "(at the shared arena's barrier)";
  for (const call of ['bcast', 'reduce']) {
    const err = await deadlockIn(3, { program: 'crossedArena', call });
    assert.instance(err, DeadlockError, String(err));
    assert.is((err as Error).message, `deadlock: rank 0 waits in ${call} ${at}; rank 1 waits in allreduce ${at}; rank 2 waits in allreduce ${at}`);
  }
  const gone = await deadlockIn(3, { program: 'skipsArena', call: 'reduce' });
  assert.instance(gone, DeadlockError, String(gone));
  const line = (rank: number) => `rank ${rank} waits in reduce (at the shared arena's barrier; rank 1 has finished without it)`;
  assert.is((gone as Error).message, `deadlock: ${line(0)}; ${line(2)}`);
});

test('bcast: a rank with a wrong buffer passes the value on before it throws, through the tree and the arena', async () => {
  const wrong = (bytes: number) => `RangeError: bcast(): rank 1 passed a ${bytes - 64}-byte buffer for the root's ${bytes}-byte value`;
  for (const transport of TRANSPORTS) {
    const results = await launch(CHECKS, { size: 4, transport, args: { program: 'bcastInner' }, timeoutMs: 60_000 });
    assert.equal(results, [0, 1, 2, 3].map((rank) => rank === 1
      ? [wrong(80_000), wrong(2_097_152), 'last']
      : [10_000 - 1 + 10_000, 262_144 - 1 + 262_144, 'last']), transport);
  }
  // A rank below a buffer-mode rank gets the root's kind, whatever the buffer's kind and alignment, on every path.
  for (const transport of TRANSPORTS) {
    const kinds = await launch<string[]>(CHECKS, { size: 4, transport, args: { program: 'bcastKinds' }, timeoutMs: 60_000 });
    const small = 'Float64Array 80000 9999';
    const large = 'Float64Array 2097152 262143';
    assert.equal(kinds[3], [small, small, large, large], transport);
    assert.equal(kinds[1], ['Uint8Array 80000 -', 'Uint8Array 80000 -', 'Uint8Array 2097152 -', 'Uint8Array 2097152 -'], transport);
  }
  for (const size of [2, 3]) {
    const err = await rejection(launch(CHECKS, { size, transport: 'shared', args: { program: 'bcastDetached' }, timeoutMs: 60_000 }));
    assert.instance(err, RankFailedError, String(err));
    const DETACHED = 'a detached ArrayBuffer cannot be sent: only values that structured clone accepts can travel (its memory was transferred away)';
    assert.is((err as Error).message, `rank 0 failed: DataCloneError: ${DETACHED}`, `${size} ranks`);
  }
});

test('shared: every collective but barrier is refused on entry while a view is held, so that after release() none finds leftovers', async () => {
  const results = await launch(CHECKS, { size: 2, transport: 'shared', args: { program: 'heldView' }, timeoutMs: 60_000 });
  const ops = ['bcast', 'bcast', 'allreduce', 'allreduce', 'allreduce', 'reduce', 'gather', 'allgather', 'scatter', 'alltoall'];
  assert.equal(results, [0, 1].map((rank) => ({
    first: [1 - rank, 2],
    refused: ops.map((op) => `${op}() while holding a view of rank ${1 - rank}'s last message: release() it first`),
    bcast: 'B',
    sum: 21,
    small: [3, 3, 3, 3],
    ring: [2, 2],
    alltoall: [`0→${rank}`, `1→${rank}`],
  })));
});

test('shared: reductions of typed arrays into `into` allocate a scratch array per kind once, then no array memory', async () => {
  setFlagsFromString('--expose-gc'); // for the ranks' gc(), before they start: V8's flags are the process's
  for (const arenaBytes of [undefined, 0]) {
    const results = await launch(CHECKS, { size: 2, transport: 'shared', arenaBytes, args: { program: 'allocations' }, timeoutMs: 60_000 });
    const scratch = 32_768; // one array of 32 KiB: the Float64 scratch of recursive doubling, the Float32 one of reduce
    assert.equal(results, [0, 1].map((rank) => ({
      firstAllreduce: scratch,
      allreduce: 0, // 20 calls: not a new array per step
      firstReduce: rank === 0 ? scratch : 0, // a leaf, which only sends, takes no scratch
      reduce: 0,
      // Float64Array and Int32Array by turns: through the arena, which takes no scratch, or (arenaBytes 0) round the
      // ring, which keeps a scratch array for each kind
      kinds: 0,
      sums: [3, rank === 0 ? 3 : undefined, 2, 2],
    })), `arenaBytes ${arenaBytes}`);
  }
});

test('gather delivers what send would: a SharedArrayBuffer or a view over one copied, a view of part of a buffer alone, a resizable buffer fixed', async () => {
  for (const transport of TRANSPORTS) {
    const results = await launch(CHECKS, { size: 2, transport, args: { program: 'gatherShared' }, timeoutMs: 60_000 });
    // Each rank fills its own memory with 99 afterwards: only its own slot (the value itself) shows it.
    const own = 'SharedArrayBuffer 99,99,99,99,99,99,99,99';
    assert.equal(results, [
      {
        gathered: [own, 'ArrayBuffer 2,2,2,2,2,2,2,2'], gatheredViews: undefined, allgathered: [own, 'ArrayBuffer 2,2,2,2,2,2,2,2'],
        parts: ['Float64Array 5 with 1 MiB', 'Float64Array 6 alone'], // the root's own part is itself
        resizables: ['ArrayBuffer resizable 8', 'ArrayBuffer fixed 8'], // rank 1's arrives as send delivers it
        resizableViews: ['Float32Array resizable 8', 'Float32Array fixed 8'],
      },
      {
        gathered: undefined, gatheredViews: ['Int32Array 10,10', 'Int32Array 99,99'], allgathered: ['ArrayBuffer 1,1,1,1,1,1,1,1', own],
        parts: undefined, resizables: undefined, resizableViews: undefined,
      },
    ], transport);
  }
});

test.run();
