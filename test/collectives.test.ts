import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { DeadlockError, launch, RankFailedError, type TransportName } from '../src/index.js';
import {
  ARENA_PERIOD, arenaRound, arenaValues, bytesOf, digest, inputs, large, matmul, OPS, rootsFor, stressSeq, stressSize, tiled, type Matrix,
} from './fixtures/collectives-programs.js';
import { fillPattern, testSeed } from './helpers.js';
import { elementwise, type OpName, type TypedArray } from '../src/reduce-ops.js';

const PROGRAMS = new URL('./fixtures/collectives-programs.js', import.meta.url).href;
const CHECKS = new URL('./fixtures/collectives-checks.js', import.meta.url).href;
const TRANSPORTS: TransportName[] = ['shared', 'transfer', 'clone'];
const RING_BYTES = 65_536;
const run = <R = unknown>(size: number, transport: TransportName, args: object, extra: object = {}) =>
  launch<R>(PROGRAMS, { size, transport, args, timeoutMs: 60_000, ...extra });
const ranks = (size: number) => Array.from({ length: size }, (_, rank) => rank);
/** What a launch rejected with, or null if it resolved. */
const rejection = (launched: Promise<unknown>): Promise<unknown> => launched.then(() => null, (e: unknown) => e);
/** A rank program of collectives-checks on the shared transport, with a short deadlockMs: what it rejected with. */
const deadlockIn = (size: number, args: object) =>
  rejection(launch(CHECKS, { size, transport: 'shared', args, timeoutMs: 60_000, deadlockMs: 300 }));

// ─── What every rank should get, computed here without the library's algorithms ────────────────────────────

type Op = (typeof OPS)[number];

/** Folds a column of exact values (as bigints for integers) in rank order. */
function foldExact<V extends number | bigint>(op: Op, values: V[]): V {
  return values.reduce((a, b) => {
    if (op === 'sum') return ((a as number) + (b as number)) as V;
    if (op === 'prod') return ((a as number) * (b as number)) as V;
    if (op === 'min') return (b < a ? b : a) as V;
    return (b > a ? b : a) as V;
  });
}

/** The named op applied to every rank's value of one type: numbers, bigints, typed arrays element by element. */
function expectedReduction(op: Op, type: string, size: number): unknown {
  const values = ranks(size).map((rank) => (inputs.reducible(rank) as Record<string, unknown>)[type]);
  if (type === 'number' || type === 'bigint') return foldExact(op, values as number[]);
  const arrays = values as (Float64Array | Int32Array | BigInt64Array)[];
  const column = (i: number) => arrays.map((array) => array[i]!);
  if (type === 'Float64Array') return Float64Array.from({ length: arrays[0]!.length }, (_, i) => foldExact(op, column(i) as number[]));
  const bits = type === 'Int32Array' ? 32 : 64;
  const wrapped = Array.from({ length: arrays[0]!.length }, (_, i) =>
    BigInt.asIntN(bits, foldExact(op, column(i).map((x) => BigInt(x)))));
  return type === 'Int32Array' ? Int32Array.from(wrapped, Number) : BigInt64Array.from(wrapped);
}

function expectedBattery(rank: number, size: number): Record<string, unknown> {
  const all = ranks(size);
  const expected: Record<string, unknown> = {};
  for (const root of rootsFor(size)) {
    expected[`bcast @${root}`] = inputs.bcast(root);
    expected[`scatter @${root}`] = inputs.scatter(root, size)[rank];
    expected[`gather @${root}`] = rank === root ? all.map(inputs.gather) : undefined;
  }
  expected.allgather = all.map(inputs.allgather);
  expected.alltoall = all.map((source) => inputs.alltoall(source, rank));
  for (const op of OPS) {
    for (const type of Object.keys(inputs.reducible(0))) {
      const result = expectedReduction(op, type, size);
      for (const root of rootsFor(size)) expected[`reduce ${op} ${type} @${root}`] = rank === root ? result : undefined;
      expected[`allreduce ${op} ${type}`] = result;
    }
  }
  const letters = all.map(inputs.letter).join('');
  let product: Matrix = [[1, 0], [0, 1]];
  for (const other of all) product = matmul(product, inputs.matrix(other));
  for (const root of rootsFor(size)) {
    expected[`reduce letters @${root}`] = rank === root ? letters : undefined;
    expected[`reduce matrices @${root}`] = rank === root ? product : undefined;
  }
  expected['allreduce letters'] = letters;
  expected['allreduce matrices'] = product;
  expected.checks = { untouched: true, newArray: true };
  return expected;
}

/** Typed arrays compared element by element, naming the first difference (a diff of 2 MiB helps nobody). */
function assertSameArray(got: unknown, expected: ArrayLike<number | bigint>, label: string): void {
  const kind = expected.constructor.name;
  if (!ArrayBuffer.isView(got) || got.constructor.name !== kind) assert.unreachable(`${label}: expected a ${kind}, got ${String(got)}`);
  const array = got as unknown as ArrayLike<number | bigint>;
  assert.is(array.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (array[i] !== expected[i]) assert.unreachable(`${label}: element ${i} is ${array[i]}, expected ${expected[i]}`);
  }
}

/** Every collective on 2 MiB typed arrays (through 64 KiB rings: chunked messages), checked element by element. */
async function checkLarge(size: number, transport: TransportName, extra: object = {}): Promise<void> {
  const length = (2 * 2 ** 20) / 8;
  const results = await run<Record<string, unknown>>(size, transport, { program: 'large', length }, { ringBytes: RING_BYTES, ...extra });
  const floats = ranks(size).map((rank) => large.floats(rank, length));
  const ints = ranks(size).map((rank) => large.ints(rank, length));
  const elementwise = <A extends Float64Array | Int32Array>(arrays: A[], combine: (a: number, b: number) => number): A => {
    const out = arrays[0]!.slice() as A;
    for (const array of arrays.slice(1)) for (let i = 0; i < length; i++) out[i] = combine(out[i]!, array[i]!);
    return out;
  };
  const sum = elementwise(floats, (a, b) => a + b);
  const max = elementwise(floats, Math.max);
  const prod = elementwise(ints, Math.imul);
  const intSum = elementwise(ints, (a, b) => a + b);
  const partLength = Math.ceil(length / size);
  const last = size - 1;
  for (const rank of ranks(size)) {
    const got = results[rank]!;
    const label = `${transport} ${JSON.stringify(extra)} size ${size} rank ${rank}`;
    assertSameArray(got.sum, sum, `${label}: allreduce sum`);
    assertSameArray(got.max, max, `${label}: allreduce max`);
    assertSameArray(got.prod, prod, `${label}: allreduce prod of Int32Array`);
    assertSameArray(got.byFunction, sum, `${label}: allreduce with a function`);
    if (rank === last) assertSameArray(got.reduced, intSum, `${label}: reduce to the last rank`);
    else assert.is(got.reduced, undefined);
    assertSameArray(got.bcast, floats[1 % size]!, `${label}: bcast`);
    assertSameArray(got.scattered, large.part(last, rank, partLength), `${label}: scatter`);
    if (rank === 0) {
      const gathered = got.gathered as unknown[];
      assert.is(gathered.length, size);
      for (const source of ranks(size)) assertSameArray(gathered[source], large.part(source, 0, partLength), `${label}: gather[${source}]`);
    } else {
      assert.is(got.gathered, undefined);
    }
    for (const source of ranks(size)) {
      assertSameArray((got.allgathered as unknown[])[source], large.part(source, source, partLength), `${label}: allgather[${source}]`);
      assertSameArray((got.exchanged as unknown[])[source], large.part(source, rank, partLength), `${label}: alltoall[${source}]`);
    }
    assert.is(got.untouched, true, `${label}: the input array was written`);
  }
}

// ─── Tests ─────────────────────────────────────────────────────────────────────────────────────────────────

for (const transport of TRANSPORTS) {
  test(`${transport}: every collective on 1 to 8 ranks, roots first/middle/last, every op on every type`, async () => {
    for (let size = 1; size <= 8; size++) {
      const results = await run<Record<string, unknown>>(size, transport, { program: 'battery' });
      for (const rank of ranks(size)) {
        const expected = expectedBattery(rank, size);
        assert.equal(Object.keys(results[rank]!).sort(), Object.keys(expected).sort(), `size ${size} rank ${rank}: keys`);
        for (const key of Object.keys(expected)) {
          assert.equal(results[rank]![key], expected[key], `size ${size} rank ${rank}: ${key}`);
        }
      }
    }
  });

  test(`${transport}: 2 MiB typed arrays through 64 KiB rings (${transport === 'shared' ? 'the arena' : 'ring allreduce'}, chunked messages)`, async () => {
    for (const size of [1, 3, 8]) await checkLarge(size, transport);
  });

  test(`${transport}: alltoall stress, seeded random sizes up to 4x the ring, checked byte by byte`, async () => {
    const seed = testSeed(`${transport} alltoall stress`);
    const rounds = 6;
    const maxBytes = 4 * RING_BYTES;
    for (const size of [3, 8]) {
      const results = await run<{ problems: number; checksum: number }>(size, transport,
        { program: 'stress', seed, rounds, maxBytes }, { ringBytes: RING_BYTES });
      for (const rank of ranks(size)) {
        let checksum = 0;
        for (let round = 0; round < rounds; round++) {
          for (const source of ranks(size)) {
            const bytes = new Uint8Array(stressSize(seed, source, rank, round, maxBytes));
            fillPattern(bytes, stressSeq(source, rank, round));
            checksum = digest(checksum, bytes);
          }
        }
        assert.equal(results[rank], { problems: 0, checksum }, `seed ${seed}, size ${size}, rank ${rank}`);
      }
    }
  });

  test(`${transport}: collectives never take user messages, and ANY_TAG never takes theirs`, async () => {
    for (const size of [1, 2, 5]) {
      const results = await run(size, transport, { program: 'noStealing' });
      assert.equal(results, ranks(size).map((rank) => {
        const prev = (rank - 1 + size) % size;
        return {
          sum: (size * (size - 1)) / 2,
          all: ranks(size),
          user: { value: `user ${prev}`, source: prev, tag: 7 },
          early: rank === 1 ? 'after bcast' : null,
          b: 'B',
        };
      }), `size ${size}`);
    }
  });
}

test('shared: 2 MiB typed arrays through the arena in pieces of an odd slot, and with no arena (ring allreduce)', async () => {
  for (const size of [3, 8]) {
    await checkLarge(size, 'shared', { arenaBytes: size * 64 * 1094 }); // 70,016-byte slots: 30 pieces (uneven shares on 3 ranks)
    await checkLarge(size, 'shared', { arenaBytes: 0 });
  }
});

test('shared: allreduce, reduce and bcast stress through the arena, seeded kinds, ops, roots, targets and lengths (in pieces on 2, 3 and 5 ranks; bcast through the arena on 4)', async () => {
  const seed = testSeed('arena stress');
  const rounds = 45;
  // 70,016-byte slots: pieces and shares end where no power of two does; 4 ranks on 1,280,000-byte slots: the arena
  // holds a bcast of 1 MiB (3 MiB of copies at the other ranks) and more whole
  for (const [size, slotBytes] of [[2, 64 * 1094], [3, 64 * 1094], [5, 64 * 1094], [4, 64 * 20_000]] as const) {
    const results = await run(size, 'shared', { program: 'arenaStress', seed, rounds, slotBytes }, { arenaBytes: size * slotBytes });
    const checksums = ranks(size).map(() => 0);
    for (let round = 0; round < rounds; round++) {
      const { collective, root, kind, op, length } = arenaRound(seed, round, slotBytes, size);
      let bytes: Uint8Array;
      if (collective === 'bcast') bytes = bytesOf(arenaValues(kind, root, round, length));
      else {
        // Every rank's values repeat every ARENA_PERIOD elements, and so does their elementwise fold: fold one period
        // (the library's elementwise, in rank order, as before on the whole arrays), then repeat it to the length.
        const period = Math.min(length, ARENA_PERIOD);
        const head = arenaValues(kind, 0, round, period);
        const fold = (into: ArrayBufferView, more: ArrayBufferView) => elementwise(op, into as TypedArray, more as TypedArray, into as TypedArray);
        for (let rank = 1; rank < size; rank++) fold(head, arenaValues(kind, rank, round, period));
        const expected = new kind(length);
        expected.set(head as never);
        bytes = bytesOf(tiled(expected, period));
      }
      for (const rank of ranks(size)) {
        if (collective !== 'reduce' || rank === root) checksums[rank] = digest(checksums[rank]!, bytes);
      }
    }
    assert.equal(results, checksums.map((checksum) => ({ problems: 0, checksum })), `seed ${seed}, size ${size}`);
  }
});

test('a reduction of numbers whose result is -0 gives -0 on every rank, even one that passed +0', async () => {
  for (const transport of TRANSPORTS) {
    const got = await run<string[]>(2, transport, { program: 'signedZeros' });
    assert.equal(got, [['-0', '-0', '0', '-0', 'null'], ['-0', '-0', '0', '-0', '-0']], transport);
  }
});

test('elementwise: every op at every length from 0 to 9 (four a turn, then the rest), into a new array, into a, into b, on doubles, int32 and bigints', () => {
  // The library's typed arrays are any of the eleven kinds, seen through one interface.
  const combine = <A extends Float64Array | Int32Array>(name: OpName, a: A, b: A, out: A): A =>
    elementwise(name, a as unknown as TypedArray, b as unknown as TypedArray, out as unknown as TypedArray) as unknown as A;
  const reference: Record<OpName, (x: number, y: number) => number> = {
    sum: (x, y) => x + y, prod: (x, y) => x * y, min: Math.min, max: Math.max,
  };
  for (const name of ['sum', 'prod', 'min', 'max'] as const) {
    for (let length = 0; length <= 9; length++) {
      const a = Float64Array.from({ length }, (_, i) => (i % 3) - 1.5 + i);
      const b = Float64Array.from({ length }, (_, i) => 2.25 - i);
      const expected = Array.from(a, (x, i) => reference[name](x, b[i]!));
      const fresh = new Float64Array(length);
      assert.equal(Array.from(combine(name, a, b, fresh)), expected, `${name}, ${length} elements`);
      for (const into of ['a', 'b'] as const) {
        const [x, y] = [a.slice(), b.slice()];
        const out = into === 'a' ? x : y;
        assert.is(combine(name, x, y, out), out);
        assert.equal(Array.from(out), expected, `${name}, ${length} elements, into ${into}`);
      }
      // Integers wrap as stores into their kind do; 'prod' of Int32 multiplies as Math.imul.
      const ints = Int32Array.from({ length }, (_, i) => 0x40000000 + i);
      const product = combine(name, ints, ints.slice(), new Int32Array(length));
      const wrapped = Array.from(ints, (x) => (name === 'prod' ? Math.imul(x, x) : reference[name](x, x) | 0));
      assert.equal(Array.from(product), wrapped, `${name}, ${length} Int32 elements`);
      // Bigints wrap as stores into their kind do, in place too.
      const big = BigInt64Array.from({ length }, (_, i) => 2n ** 62n - BigInt(i));
      const other = BigInt64Array.from({ length }, (_, i) => BigInt(i) - 2n ** 62n - 3n);
      const bigReference: Record<OpName, (x: bigint, y: bigint) => bigint> = {
        sum: (x, y) => x + y, prod: (x, y) => x * y, min: (x, y) => (x < y ? x : y), max: (x, y) => (x > y ? x : y),
      };
      const bigExpected = Array.from(big, (x, i) => BigInt.asIntN(64, bigReference[name](x, other[i]!)));
      const bigOut = elementwise(name, big as unknown as TypedArray, other as unknown as TypedArray, big as unknown as TypedArray);
      assert.equal(Array.from(bigOut as unknown as BigInt64Array), bigExpected, `${name}, ${length} BigInt64 elements, into a`);
    }
  }
});

test("a function op's array, or typed array of another kind, of into's length goes into `into`, converted", async () => {
  const program = `export default (comm) => {
    const into = new Float64Array(2);
    const all = comm.allreduce(new Float64Array([comm.rank + 1, 10]), (a, b) => Array.from(a, (x, i) => x + b[i]), into);
    const root = comm.rank === 0 ? new Float64Array(2) : undefined;
    const one = comm.reduce(new Float64Array([1, 2]), (a, b) => Float32Array.from(a, (x, i) => x + b[i]), 0, root);
    return [all === into, Array.from(into), one === root, one && Array.from(one)];
  }`;
  const results = await launch(`data:text/javascript,${encodeURIComponent(program)}`, { size: 2, timeoutMs: 30_000 });
  assert.equal(results, [[true, [3, 20], true, [2, 4]], [true, [3, 20], true, undefined]]);
});

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

test('allreduce with a function that answers its first operand gives every rank a new array, never its own', async () => {
  for (const transport of ['shared', 'clone'] as const) {
    const results = await launch(CHECKS, { size: 3, transport, args: { program: 'firstOperand' }, timeoutMs: 30_000 });
    assert.equal(results, [0, 1, 2].map(() => ({ isOwn: false, values: [1, 1, 1, 1] })), transport);
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
