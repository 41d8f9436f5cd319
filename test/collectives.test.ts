import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { launch, type TransportName } from '../src/index.js';
import {
  ARENA_PERIOD, arenaRound, arenaValues, bytesOf, digest, inputs, large, matmul, OPS, rootsFor, stressSeq, stressSize, tiled, type Matrix,
} from './fixtures/collectives-programs.js';
import { fillPattern, Float16, testSeed } from './helpers.js';
import { elementwise, type OpName, type TypedArray } from '../src/reduce-ops.js';

const PROGRAMS = new URL('./fixtures/collectives-programs.js', import.meta.url).href;
const TRANSPORTS: TransportName[] = ['shared', 'transfer', 'clone'];
const RING_BYTES = 65_536;
const run = <R = unknown>(size: number, transport: TransportName, args: object, extra: object = {}) =>
  launch<R>(PROGRAMS, { size, transport, args, timeoutMs: 60_000, ...extra });
const ranks = (size: number) => Array.from({ length: size }, (_, rank) => rank);

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

test('round the ring, segment s of the array folds from rank s on, in ring order, on every rank', async () => {
  // Segment s of n elements is [floor(s n / size), floor((s + 1) n / size)) (collectives/ring.ts). In it rank s passes
  // 1e16, rank s + 1 passes -1e16 and rank s - 1 passes 1 (the others 0): folded from rank s on, round the ring, that
  // is 1; from any other rank on, 0 (1e16 + 1 and 1 - 1e16 round to ±1e16). n is no multiple of the sizes.
  const program = `export default (comm, n) => {
    const { rank, size } = comm;
    const values = new Float64Array(n);
    for (let s = 0; s < size; s++) {
      const value = rank === s ? 1e16 : rank === (s + 1) % size ? -1e16 : rank === (s - 1 + size) % size ? 1 : 0;
      values.fill(value, Math.floor((s * n) / size), Math.floor(((s + 1) * n) / size));
    }
    const sum = comm.allreduce(values, 'sum');
    const wrong = [];
    for (let i = 0; i < n; i++) if (sum[i] !== 1) wrong.push(i);
    return wrong.slice(0, 5);
  }`;
  const n = 10_001; // 80 KB: from 64 KiB allreduce goes round the ring where there is no arena
  for (const size of [3, 5]) {
    for (const transport of TRANSPORTS) {
      const results = await launch(`data:text/javascript,${encodeURIComponent(program)}`,
        { size, transport, args: n, arenaBytes: 0, timeoutMs: 60_000 });
      assert.equal(results, ranks(size).map(() => []), `${transport}, size ${size}: the first elements not 1`);
    }
  }
});

test('a reduction of numbers whose result is -0 gives -0 on every rank, even one that passed +0', async () => {
  for (const transport of TRANSPORTS) {
    const got = await run<string[]>(2, transport, { program: 'signedZeros' });
    assert.equal(got, [['-0', '-0', '0', '-0', 'null'], ['-0', '-0', '0', '-0', '-0']], transport);
  }
});

test('elementwise: every op at every length from 0 to 9 (four a turn, then the rest), into a new array, into a, into b, on doubles, int32 and bigints', () => {
  // The library's typed arrays are any of the kinds, seen through one interface.
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

(Float16 === undefined ? test.skip : test)('elementwise on Float16Arrays (Node 24): every op rounds each result to float16 as a store does, at every length from 0 to 9', () => {
  const combine = (name: OpName, a: Float32Array, b: Float32Array, out: Float32Array) =>
    elementwise(name, a as unknown as TypedArray, b as unknown as TypedArray, out as unknown as TypedArray) as unknown as Float32Array;
  const Half = Float16!;
  // 2048 + 1 rounds to even, 65504 (the largest float16) overflows, 0.1 is 0.0999755859375 as a float16, 3 × 1/3 is 1
  const a = new Half([2048, 0.1, 65504, -0, 1.5, 3, NaN]);
  const b = new Half([1, 0.1, 65504, 0, -0.5, 1 / 3, 1]);
  const expected: Record<OpName, number[]> = {
    sum: [2048, 0.199951171875, Infinity, 0, 1, 3.333984375, NaN],
    prod: [2048, 0.0099945068359375, Infinity, -0, -0.75, 1, NaN], // products too, not Math.imul's integers
    min: [1, 0.0999755859375, 65504, -0, -0.5, 0.333251953125, NaN],
    max: [2048, 0.0999755859375, 65504, 0, 1.5, 3, NaN],
  };
  const reference: Record<OpName, (x: number, y: number) => number> = {
    sum: (x, y) => x + y, prod: (x, y) => x * y, min: Math.min, max: Math.max,
  };
  const shown = (values: ArrayLike<number>) => Array.from(values, (x) => (Object.is(x, -0) ? '-0' : String(x)));
  for (const name of OPS) {
    const out = combine(name, a, b, new Half(a.length));
    assert.is(out.constructor.name, 'Float16Array');
    assert.equal(shown(out), shown(expected[name]), name);
    for (let length = 0; length <= 9; length++) {
      const x = new Half(Array.from({ length }, (_, i) => 0.1 * i + 1 / 3));
      const y = new Half(Array.from({ length }, (_, i) => 2.25 - 1.7 * i));
      const rounded = shown(new Half(Array.from(x, (value, i) => reference[name](value, y[i]!))));
      assert.equal(shown(combine(name, x, y, new Half(length))), rounded, `${name}, ${length} elements`);
      const into = y.slice();
      assert.equal(shown(combine(name, x, into, into)), rounded, `${name}, ${length} elements, into b`);
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

test.run();
