/**
 * The arena's combine in WebAssembly SIMD: a fold of `count` runs of elements in the shared arena, `stride` bytes
 * apart, 16 bytes a step (2 Float64, 4 Int32, 16 Uint8), where V8's typed-array loop goes element by element:
 *
 *     dst[i] = src[i] ∘ src[i + stride] ∘ ... ∘ src[i + (count - 1) stride]      (from the left, in that order)
 *
 * where dst may be one of the runs. A rank folds its share of every slot into its own slot this way (arena.ts),
 * reading each slot once and writing once; two slots at a time, as it first did, read and wrote the share again for
 * every slot (size - 1 passes). One thread,
 * Float64 'sum' of 256 Ki elements on the Zen 4 VM of docs/PERFORMANCE.md: 0.3 to 0.4 ns an element a pair of runs,
 * 1.4 in reduce-ops' elementwise().
 *
 * WebAssembly reads and writes only its own memory, so the arena is one: a shared WebAssembly.Memory, whose buffer is
 * the SharedArrayBuffer that every rank maps (arena.ts). The module is small enough to be written out here, byte by
 * byte: one function for each SIMD instruction that some kind and op need, each the loop
 *
 *     (func (param $dst i32) (param $src i32) (param $stride i32) (param $count i32) (param $end i32)
 *           (local $at i32) (local $left i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 *       block loop                                                  ;; 64 bytes a turn, while they fit
 *         (br_if 1 (i32.gt_u (i32.add (local.get $dst) (i32.const 64)) (local.get $end)))   ;; end - dst: 16 k
 *         $a = (v128.load offset=0 (local.get $src)), and $b, $c, $d at offsets 16, 32 and 48
 *         $at = $src, $left = $count - 1
 *         block loop                                                ;; ∘ the same 64 bytes of each next run
 *           (br_if 1 (i32.eqz (local.get $left)))
 *           $at += $stride
 *           $a = (f64x2.add (local.get $a) (v128.load offset=0 (local.get $at))), and $b, $c, $d
 *           $left -= 1
 *           (br 0)
 *         end end
 *         (v128.store offset=0 (local.get $dst) (local.get $a)), and $b, $c, $d    ;; after every load of them
 *         $dst += 64, $src += 64
 *         (br 0)
 *       end end
 *       block loop                                                  ;; then 16 bytes a turn, to the end: the same
 *         (br_if 1 (i32.ge_u (local.get $dst) (local.get $end)))    ;; with $a alone
 *         ...
 *       end end)
 *
 * with f64x2.add replaced by the function's instruction. Addresses wrap at 2^32, as wasm32's do, so a stride may be
 * negative: dst = dst ∘ other, for two runs anywhere, is a fold of 2 from src = dst with stride other - dst. Each
 * instruction gives the value that
 * storing a ∘ b into the array's kind gives in JavaScript (reduce-ops.ts), bit for bit but for NaN's sign and payload
 * (which V8's own tiers do not agree on either): integer lanes wrap, Uint8Clamped's sum saturates (i8x16.add_sat_u),
 * i32x4.mul keeps the low 32 bits as Math.imul does, and a Float32 sum or product rounded once to float32 is what
 * JavaScript's double result rounds to (a double holds more than twice float32's bits). The kinds and ops without an
 * instruction (products of 8-bit lanes, min and max of 64-bit integers, every op of Float16Array's) are left to
 * elementwise(), as is the last bytes % 16 of a run.
 *
 * The thread that launches the ranks compiles the module once (simdModule) and hands it to every rank with the
 * arena's memory; each rank instantiates it over that memory. Where the process cannot have a WebAssembly.Memory
 * (wasm.ts's sharedMemory says why), the arena is a plain SharedArrayBuffer whose combine is elementwise()'s.
 */
import type { OpName } from './reduce-ops.js';
import {
  CODES, compile, instantiate, join, memarg, memoryModule, OPCODES, signed, simd, type WasmMemory, type WasmModule,
} from './wasm.js';

/** The SIMD instruction that combines 16 bytes of each kind (typedArrayKind's names) with each op, where one does. */
const INSTRUCTIONS: Readonly<Record<string, Partial<Record<OpName, keyof typeof SIMD_OPCODES>>>> = {
  Float64Array: { sum: 'f64x2.add', prod: 'f64x2.mul', min: 'f64x2.min', max: 'f64x2.max' },
  Float32Array: { sum: 'f32x4.add', prod: 'f32x4.mul', min: 'f32x4.min', max: 'f32x4.max' },
  Int32Array: { sum: 'i32x4.add', prod: 'i32x4.mul', min: 'i32x4.min_s', max: 'i32x4.max_s' },
  Uint32Array: { sum: 'i32x4.add', prod: 'i32x4.mul', min: 'i32x4.min_u', max: 'i32x4.max_u' },
  Int16Array: { sum: 'i16x8.add', prod: 'i16x8.mul', min: 'i16x8.min_s', max: 'i16x8.max_s' },
  Uint16Array: { sum: 'i16x8.add', prod: 'i16x8.mul', min: 'i16x8.min_u', max: 'i16x8.max_u' },
  Int8Array: { sum: 'i8x16.add', min: 'i8x16.min_s', max: 'i8x16.max_s' },
  Uint8Array: { sum: 'i8x16.add', min: 'i8x16.min_u', max: 'i8x16.max_u' },
  Uint8ClampedArray: { sum: 'i8x16.add_sat_u', min: 'i8x16.min_u', max: 'i8x16.max_u' },
  BigInt64Array: { sum: 'i64x2.add', prod: 'i64x2.mul' },
  BigUint64Array: { sum: 'i64x2.add', prod: 'i64x2.mul' },
};

/** The SIMD opcodes used (after the 0xfd prefix; WebAssembly's SIMD proposal, "Binary encoding"). */
const SIMD_OPCODES = {
  'v128.load': 0x00, 'v128.store': 0x0b,
  'i8x16.add': 0x6e, 'i8x16.add_sat_u': 0x70,
  'i8x16.min_s': 0x76, 'i8x16.min_u': 0x77, 'i8x16.max_s': 0x78, 'i8x16.max_u': 0x79,
  'i16x8.add': 0x8e, 'i16x8.mul': 0x95,
  'i16x8.min_s': 0x96, 'i16x8.min_u': 0x97, 'i16x8.max_s': 0x98, 'i16x8.max_u': 0x99,
  'i32x4.add': 0xae, 'i32x4.mul': 0xb5,
  'i32x4.min_s': 0xb6, 'i32x4.min_u': 0xb7, 'i32x4.max_s': 0xb8, 'i32x4.max_u': 0xb9,
  'i64x2.add': 0xce, 'i64x2.mul': 0xd5,
  'f32x4.add': 0xe4, 'f32x4.mul': 0xe6, 'f32x4.min': 0xe8, 'f32x4.max': 0xe9,
  'f64x2.add': 0xf0, 'f64x2.mul': 0xf2, 'f64x2.min': 0xf4, 'f64x2.max': 0xf5,
} as const;

// The functions' parameters and locals, by their indices: five i32 parameters, two i32 locals, four v128 locals.
const [DST, SRC, STRIDE, COUNT, END, AT, LEFT] = [0, 1, 2, 3, 4, 5, 6];
const LANES = [7, 8, 9, 10]; // $a, $b, $c, $d: 64 bytes of the fold, in four registers of 16

let compiledModule: WasmModule | undefined;

/** The module, compiled once a thread (28 functions, one an instruction). */
export function simdModule(): WasmModule {
  compiledModule ??= compile(moduleBytes());
  return compiledModule;
}

type Fold = (dst: number, src: number, stride: number, count: number, end: number) => void;

/** Combines runs of elements in one shared memory (every rank makes its own, over the same memory). */
export class SimdCombiner {
  private readonly functions: Record<string, unknown>;

  constructor(module: WasmModule, memory: WasmMemory) {
    this.functions = instantiate(module, memory);
  }

  /**
   * dst[i] = src[i] ∘ src[i + stride] ∘ ... ∘ src[i + (count - 1) stride] over `bytes` bytes from byte addresses
   * `dst` and `src` of the memory, 16 bytes a step (the header's loop); dst may be one of the runs. Returns how many
   * bytes from the start it combined: all but the last bytes % 16, or 0 where the kind and op have no instruction (the
   * caller combines the rest).
   */
  fold(kind: string, name: OpName, dst: number, src: number, stride: number, count: number, bytes: number): number {
    const instruction = INSTRUCTIONS[kind]?.[name];
    const whole = bytes - (bytes % 16);
    if (instruction === undefined || whole === 0) return 0;
    (this.functions[instruction] as Fold)(dst, src, stride, count, dst + whole);
    return whole;
  }
}

/** The module's bytes: one function a distinct instruction of INSTRUCTIONS, exported under the instruction's name. */
function moduleBytes(): Uint8Array {
  const instructions = [...new Set(Object.values(INSTRUCTIONS).flatMap((ops) => Object.values(ops)))];
  const { i32, v128 } = CODES;
  return memoryModule(instructions.map((instruction) => ({
    name: instruction,
    params: [i32, i32, i32, i32, i32], // $dst $src $stride $count $end
    results: [],
    locals: [[2, i32], [LANES.length, v128]], // $at and $left, then the lanes
    body: foldBody(SIMD_OPCODES[instruction]),
  })));
}

/** The function of the header's comment, for one SIMD opcode. */
function foldBody(opcode: number): number[] {
  const { block, loop, end, br, brIf, localGet, localSet, i32Const, i32Eqz, i32GtU, i32GeU, i32Add, i32Sub } = OPCODES;
  const empty = CODES.emptyBlockType;
  const load = simd(SIMD_OPCODES['v128.load']);
  const store = simd(SIMD_OPCODES['v128.store']);
  const combine = simd(opcode);
  const add = (local: number, bytes: number[]) => join([localGet, local], bytes, [i32Add, localSet, local]);
  // The fold of `lanes` registers of 16 bytes: load them from $src, ∘ the same bytes of each next run, store at $dst.
  const fold = (lanes: number[]) => join(
    ...lanes.map((lane, k) => join([localGet, SRC], load, memarg(16 * k), [localSet, lane])),
    [localGet, SRC, localSet, AT],
    [localGet, COUNT, i32Const], signed(1), [i32Sub, localSet, LEFT],
    [block, empty, loop, empty],
    [localGet, LEFT, i32Eqz, brIf, 1],
    add(AT, [localGet, STRIDE]),
    ...lanes.map((lane, k) => join([localGet, lane, localGet, AT], load, memarg(16 * k), combine, [localSet, lane])),
    [localGet, LEFT, i32Const], signed(1), [i32Sub, localSet, LEFT],
    [br, 0],
    [end, end],
    ...lanes.map((lane, k) => join([localGet, DST, localGet, lane], store, memarg(16 * k))),
    add(DST, [i32Const, ...signed(16 * lanes.length)]),
    add(SRC, [i32Const, ...signed(16 * lanes.length)]),
  );
  return join(
    [block, empty, loop, empty],
    [localGet, DST, i32Const], signed(64), [i32Add, localGet, END, i32GtU, brIf, 1],
    fold(LANES),
    [br, 0],
    [end, end],
    [block, empty, loop, empty],
    [localGet, DST, localGet, END, i32GeU, brIf, 1],
    fold(LANES.slice(0, 1)),
    [br, 0],
    [end, end],
  );
}
