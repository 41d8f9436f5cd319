import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { SharedArena } from '../src/arena.js';
import { copyOf, elementwise, typedArrayOver, type OpName, type TypedArray } from '../src/reduce-ops.js';
import { sharedMemory } from '../src/wasm.js';
import { Float16, memoryUnderAddressLimit, prng, testSeed, underAddressLimit } from './helpers.js';

// Float16Array (which has no SIMD instruction) last, where the runtime has one: without it, the draws from a seed are
// what they were before it was added.
const KINDS = [
  Float64Array, Float32Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array, Uint8Array,
  Uint8ClampedArray, BigInt64Array, BigUint64Array, ...(Float16 === undefined ? [] : [Float16]),
] as const;
const OPS: OpName[] = ['sum', 'prod', 'min', 'max'];

/** Values at the edges of each kind, placed among the random ones: what wraps, saturates, rounds or is signed. */
const EDGES: Record<string, (number | bigint)[]> = {
  Float64Array: [NaN, -0, 0, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 1 / 3, -2.5],
  Float32Array: [NaN, -0, 0, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45, 1 / 3, 16777217],
  Int32Array: [-(2 ** 31), 2 ** 31 - 1, -1, 0, 65536, 46341],
  Uint32Array: [2 ** 32 - 1, 2 ** 31, 0, 1, 65536, 46341],
  Int16Array: [-32768, 32767, -1, 0, 256, 182],
  Uint16Array: [65535, 32768, 0, 1, 256, 182],
  Int8Array: [-128, 127, -1, 0, 16],
  Uint8Array: [255, 128, 0, 1, 16],
  Uint8ClampedArray: [255, 254, 128, 0, 1],
  BigInt64Array: [-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, 2n ** 32n],
  BigUint64Array: [2n ** 64n - 1n, 2n ** 63n, 0n, 1n, 2n ** 32n],
  Float16Array: [NaN, -0, 0, Infinity, -Infinity, 65504, 2 ** -24, 1 / 3, 2049],
};

/** Equal as stored values: NaN equals NaN (its sign and payload may differ, as between V8's tiers), -0 is not 0. */
function same(a: number | bigint, b: number | bigint): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

test("the arena combine folds every slot into a rank's own as elementwise() does, at any offset and length, and no more", () => {
  const seed = testSeed('simd combine');
  const random = prng(seed);
  const size = 4;
  const withSimd = SharedArena.create(size, size * 4096);
  assert.ok(withSimd.simd !== undefined);
  // Where the process cannot have a WebAssembly.Memory, the arena is a SharedArrayBuffer and elementwise() combines:
  // the expected values come from the same code there, so on it this checks the offsets and the operands' order.
  const plain = new SharedArena({ memory: new SharedArrayBuffer(size * (64 + 4096)), slotBytes: 4096, resultsInSlotZero: false }, size);
  assert.is(plain.simd, undefined);
  for (const arena of [withSimd, plain]) for (const Kind of KINDS) for (const name of OPS) {
    const like = new Kind(0) as unknown as TypedArray;
    const perSlot = arena.slotBytes / like.BYTES_PER_ELEMENT;
    for (let round = 0; round < 12; round++) {
      // Random bytes in every slot (for floats: every exponent, NaNs included), then edge values at random places.
      const bytes = arena.bytes.subarray(arena.slotOffset(0), arena.slotOffset(size - 1) + arena.slotBytes);
      for (let i = 0; i < bytes.length; i++) bytes[i] = random() * 256; // from the seed, so that SEED= replays it
      const slots = Array.from({ length: size }, (_, q) => arena.view(q, like, 0, perSlot));
      for (const slot of slots) {
        for (let i = 0; i < 40; i++) slot[Math.floor(random() * perSlot)] = pick(random, EDGES[Kind.name]!);
      }
      // Runs from a random element (16-byte steps start anywhere) of 0 to 80 bytes, then longer ones, some with a tail.
      const from = Math.floor(random() * 40);
      const to = Math.min(perSlot, from + Math.floor(((round < 6 ? 80 : arena.slotBytes / 2) * random()) / like.BYTES_PER_ELEMENT));
      const rank = Math.floor(random() * size); // combined into: any slot, the first and last included
      const before = slots.map((slot) => copyOf(slot));
      // From the left: ((slot 0 ∘ slot 1) ∘ slot 2) ∘ slot 3, each step rounded to the kind as JavaScript stores it.
      const expected = copyOf(before[rank]!);
      const run = expected.subarray(from, to);
      run.set(before[0]!.subarray(from, to));
      for (let q = 1; q < size; q++) elementwise(name, run, before[q]!.subarray(from, to), run);
      arena.combine(name, like, rank, from, to);
      const where = `seed ${seed}, ${arena === plain ? 'plain' : 'SIMD'} arena: ${Kind.name} ${name}, elements ${from} ` +
        `to ${to} into slot ${rank}`;
      for (let i = 0; i < perSlot; i++) {
        if (!same(slots[rank]![i]!, expected[i]!)) {
          const operands = before.map((slot) => slot[i]).join(' ∘ ');
          assert.unreachable(`${where}: element ${i} is ${slots[rank]![i]}, expected ${expected[i]} (${operands})`);
        }
      }
      for (let q = 0; q < size; q++) {
        if (q === rank) continue;
        // Slot 0's elements from..to are the combining rank's to use (elementwise() keeps its partial fold there).
        const changed = Array.from(slots[q]!, (x, i) => same(x, before[q]![i]!) || (q === 0 && i >= from && i < to)).indexOf(false);
        assert.is(changed, -1, `${where}: element ${changed} of slot ${q} changed`);
      }
    }
  }
});

test('the SIMD fold takes whole 16 bytes of the kinds and ops it has an instruction for, and leaves the rest', () => {
  const arena = SharedArena.create(3, 3 * 4096);
  const simd = arena.simd!;
  const [dst, src] = [arena.slotOffset(0), arena.slotOffset(1)];
  const pair = (kind: string, name: OpName, dst: number, other: number, bytes: number) =>
    simd.fold(kind, name, dst, dst, other - dst, 2, bytes); // dst = dst ∘ other anywhere: a fold of 2 from dst
  assert.is(pair('Float64Array', 'sum', dst, src, 40), 32);
  assert.is(pair('Float64Array', 'sum', dst, src, 8), 0);
  assert.is(pair('Int8Array', 'prod', dst, src, 4096), 0); // no 8-bit multiply in SIMD
  assert.is(pair('Uint8ClampedArray', 'prod', dst, src, 4096), 0);
  assert.is(pair('BigInt64Array', 'min', dst, src, 4096), 0); // nor 64-bit min and max
  // At any address: bytes 3 to 4002 of slot 0 get the larger of themselves and bytes 5 to 4004 of slot 1; the first
  // 3 and the last 2 of the 4,005 bytes asked for are left (4,000 is the largest multiple of 16).
  const bytes = (q: number) => new Uint8Array(arena.buffer, arena.slotOffset(q), 4096);
  bytes(0).forEach((_, i, array) => (array[i] = (i * 7) & 0xff));
  bytes(1).forEach((_, i, array) => (array[i] = (i * 13 + 5) & 0xff));
  const [mine, theirs] = [bytes(0).slice(), bytes(1).slice()];
  assert.is(pair('Uint8Array', 'max', dst + 3, src + 5, 4005), 4000);
  const wanted = mine.map((x, i) => (i >= 3 && i < 4003 ? Math.max(x, theirs[i + 2]!) : x));
  assert.is(bytes(0).findIndex((x, i) => x !== wanted[i]), -1);
  // A stride below zero: slot 1's bytes become its own ∘ slot 0's (addresses wrap at 2^32, so src - dst < 0 serves).
  const before1 = bytes(1).slice();
  const now0 = bytes(0).slice();
  assert.is(pair('Uint8Array', 'sum', src, dst, 4096), 4096);
  assert.is(bytes(1).findIndex((x, i) => x !== ((before1[i]! + now0[i]!) & 0xff)), -1);
  // 64-bit products wrap as BigUint64Array stores them: 2^63 + 3 times 6 is 18 mod 2^64 (and (2^64 - 1) times 6, -6).
  const words = (q: number) => new BigUint64Array(arena.buffer, arena.slotOffset(q), 4);
  words(0).set([2n ** 63n + 3n, 2n ** 64n - 1n, 7n, 1n]);
  words(1).set([6n, 6n, 5n, 2n ** 32n]);
  assert.is(pair('BigUint64Array', 'prod', dst, src, 32), 32);
  assert.equal(Array.from(words(0)), [18n, 2n ** 64n - 6n, 35n, 2n ** 32n]);
  // A fold of three from the left into the middle run, in 64-byte steps and then 16-byte ones: 12 Float64 (96 bytes)
  // of slot 1 become (0.1 + 0.2) + 0.3, which is 0.6000000000000001 (0.1 + (0.2 + 0.3) is 0.6); the 13th is left.
  const view = (q: number) => typedArrayOver(new Float64Array(0) as unknown as TypedArray, arena.buffer, arena.slotOffset(q), 13);
  [0.1, 0.2, 0.3].forEach((x, q) => view(q).set(new Float64Array(13).fill(x) as unknown as TypedArray));
  assert.is(simd.fold('Float64Array', 'sum', arena.slotOffset(1), dst, arena.slotBytes, 3, 13 * 8), 96);
  assert.equal(Array.from(view(1)), [...Array(12).fill(0.6000000000000001), 0.2]);
  assert.equal([...Array.from(view(0)), ...Array.from(view(2))], [...Array(13).fill(0.1), ...Array(13).fill(0.3)], 'the other runs are read, not written');
});

test('under a limited address space (ulimit -v) a launch runs: on a plain arena where V8 cannot reserve a WebAssembly.Memory, on the SIMD one where it can', () => {
  // V8 reserves 8 to 10 GiB of addresses for every WebAssembly.Memory. Under 8 GB Node 20's V8 refuses the memory, and
  // the arena is a plain SharedArrayBuffer whose combine is elementwise()'s; Node 24's reserves the memory's own pages
  // and checks bounds in the module's code, and the arena is WebAssembly's, with SIMD, as without the limit.
  const memory = memoryUnderAddressLimit();
  console.log(`  under ulimit -v 8000000, ${memory ? 'a WebAssembly.Memory: the SIMD arena' : 'no WebAssembly.Memory: a plain arena'}`);
  assertArena((script) => underAddressLimit(['--input-type=module', '-e', script]), memory);
  assert.ok(sharedMemory(1 << 20) !== undefined, 'without the limit, a WebAssembly.Memory');
});

test('where V8 refuses a WebAssembly.Memory, or there is no WebAssembly, the arena is plain', () => {
  // --wasm-max-mem-pages=1: V8 refuses a memory of more pages with the RangeError it throws under `ulimit -v` on
  // Node 20 ("WebAssembly.Memory(): could not allocate memory"), on every Node.
  assertArena((script) => spawnSync(process.execPath, ['--wasm-max-mem-pages=1', '--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: 60_000,
  }), false);
  // `node --jitless` has no WebAssembly, on Node 20 and 24 (Node 20's V8 says so on stderr); Node 24 refuses Node
  // 20's --no-expose-wasm ("bad option"), a V8 flag its V8 no longer has.
  const noWasm = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e',
    `import { sharedMemory } from '${WASM}'; console.log(sharedMemory(1 << 20) === undefined);`], { encoding: 'utf8', timeout: 60_000 });
  assert.is(noWasm.stdout, 'true\n');
  assert.match(noWasm.stderr, /^(Warning: disabling flag --expose_wasm due to conflicting flags\n)?$/);
});

test('where V8 has no WebAssembly SIMD (an x64 CPU without SSE4.1), the arena is plain and its reductions right', () => {
  // `--no-enable-sse4-1` makes V8 act as on such a CPU: a module with a SIMD instruction does not compile ("Wasm SIMD
  // unsupported"; SharedArena.create threw that).
  assertArena((script) => spawnSync(process.execPath, ['--no-enable-sse4-1', '--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: 60_000,
  }), false);
});

const WASM = new URL('../src/wasm.js', import.meta.url).href;

/**
 * Runs, in the process that `run` starts with the script it is given, a launch of 3 ranks whose reductions use the
 * arena (test/fixtures/arena-fallback.ts), and checks whether the process had a WebAssembly.Memory (`memory`), that
 * every rank's arena combined with SIMD exactly then, and that every rank's checksum is right: rank r holds
 * (r + 1)(i mod 7), so 3 ranks sum to 6 (i mod 7).
 */
function assertArena(run: (script: string) => SpawnSyncReturns<string>, memory: boolean): void {
  const index = new URL('../src/index.js', import.meta.url).href;
  const program = new URL('./fixtures/arena-fallback.js', import.meta.url).href;
  const script = `import { launch } from '${index}'; import { sharedMemory } from '${WASM}';
    console.log(JSON.stringify({ memory: sharedMemory(1 << 20) !== undefined, ranks: await launch('${program}', { size: 3, timeoutMs: 30000 }) }));`;
  const child = run(script);
  assert.is(child.stderr, '');
  let expected = 0;
  for (let i = 0; i < 16_384; i++) expected += 6 * (i % 7) * (i % 5);
  const rank = { arena: true, simd: memory, checksum: expected };
  assert.equal(JSON.parse(child.stdout), { memory, ranks: [rank, rank, rank] });
  assert.is(child.status, 0);
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

test.run();
