/**
 * The shared arena: one SharedArrayBuffer that every rank of a launch on the shared transport maps, for allreduce and
 * reduce of large typed arrays and bcast of large binary values (collectives/, arenaReduction and arenaBcast); it is
 * the buffer of a shared WebAssembly.Memory, so that the reductions can combine in WebAssembly SIMD (simd.ts). It is
 * MPI's shared-memory collectives in miniature (Open MPI's coll/sm, MPI_Win_allocate_shared): instead of passing pieces
 * of an array round a ring of channels, copied into a ring and out of it at every hop, each rank copies its array into
 * the arena once, the ranks combine it where it lies, and each copies the result out once (bcast: the root copies its
 * value in, the others copy it out).
 *
 *     size lines of 64 bytes    rank r's line: the kind (a codec type code) and length of the array it passed, its
 *                               op and root, and which call of reduce or allreduce it is in (bcast writes none)
 *     size slots                rank r's slot at 64·size + r·slotBytes; slotBytes is a multiple of 64
 *
 * The arena holds no counters: the ranks take turns on it at barriers of their own, one per collective (the control
 * block's ARENA_BARRIERS), and every rank calls the collectives in the same order (MPI's rule), so they agree on what
 * each slot holds at every moment. Every collective on it ends at its barrier, once nobody reads it any more, so the
 * next one may write at once. A rank that breaks the rule (barrier() or bcast where the others allreduce) waits at
 * another barrier than theirs, and the watchdog reports it.
 */
import { availableParallelism } from 'node:os';
import { encodedType } from './codec.js';
import { elementwise, OP_NAMES, typedArrayKind, typedArrayOver, type OpName, type TypedArray } from './reduce-ops.js';
import { SimdCombiner, simdModule } from './simd.js';
import { sharedMemory, type WasmMemory, type WasmModule } from './wasm.js';

/** The slots' total bytes unless launch is told otherwise (`arenaBytes`): 8 MiB a rank for 2, 4 MiB for 4 ranks. */
export const DEFAULT_ARENA_BYTES = 16 * 2 ** 20;
/** The most `arenaBytes` may be. */
export const MAX_ARENA_BYTES = 2 ** 31;

const LINE_BYTES = 64;

/**
 * What launch hands every rank: the bytes of a slot, where reductions put their results (`resultsInSlotZero`, decided
 * once, so that every rank agrees), and the arena's memory: a shared WebAssembly.Memory with the SIMD module compiled
 * for it (simd.ts), or, where the process may not reserve a WebAssembly.Memory (`ulimit -v` on Node 20: wasm.ts), a
 * plain SharedArrayBuffer.
 */
export type ArenaWiring = { readonly slotBytes: number; readonly resultsInSlotZero: boolean } & (
  | { readonly memory: WasmMemory; readonly module: WasmModule }
  | { readonly memory: SharedArrayBuffer }
);

export class SharedArena {
  readonly wiring: ArenaWiring;
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  /** Bytes of each rank's slot: the largest piece of an array that one pass of a reduction takes. */
  readonly slotBytes: number;
  /** The whole arena as bytes, for copies into and out of the slots. */
  readonly bytes: Uint8Array;
  /**
   * Where rank r's share of a reduction's result goes: `resultSlot(r)`. Into its own slot while every rank has a core
   * of its own; into slot 0 when ranks outnumber cores, whence the whole result is copied out in one piece. On the Zen
   * 4 VM of docs/PERFORMANCE.md ("The fold in one pass, and where it writes"), 2 ranks on 2 cores took a third more
   * time at 1 and 2 MiB with the results in slot 0 (each write takes a line from the other core, whose rank runs at the
   * same time), and 4 and 8 ranks 15 to 25% less.
   */
  readonly resultsInSlotZero: boolean;
  /** The SIMD combine over this arena; undefined where it is a plain SharedArrayBuffer (elementwise() combines). */
  readonly simd: SimdCombiner | undefined;
  private readonly lines: Float64Array;

  /** An arena whose slots share `arenaBytes` (rounded down to a multiple of 64 a slot; at least 64 a slot). */
  static create(size: number, arenaBytes: number): SharedArena {
    const slotBytes = slotBytesOf(size, arenaBytes);
    if (slotBytes < LINE_BYTES) {
      throw new RangeError(
        `An arena of ${arenaBytes} bytes has less than ${LINE_BYTES} bytes a slot for ${size} ranks`,
      );
    }
    const bytes = size * (LINE_BYTES + slotBytes);
    const memory = sharedMemory(bytes);
    const resultsInSlotZero = size > availableParallelism();
    const wiring: ArenaWiring = memory === undefined
      ? { memory: new SharedArrayBuffer(bytes), slotBytes, resultsInSlotZero }
      : { memory, module: simdModule(), slotBytes, resultsInSlotZero };
    return new SharedArena(wiring, size);
  }

  constructor(wiring: ArenaWiring, size: number) {
    this.wiring = wiring;
    this.buffer = 'module' in wiring ? wiring.memory.buffer : wiring.memory;
    this.simd = 'module' in wiring ? new SimdCombiner(wiring.module, wiring.memory) : undefined;
    this.size = size;
    this.resultsInSlotZero = wiring.resultsInSlotZero;
    this.slotBytes = wiring.slotBytes;
    this.bytes = new Uint8Array(this.buffer);
    this.lines = new Float64Array(this.buffer, 0, (size * LINE_BYTES) / 8);
  }

  /** The slots together, from slotOffset(0): bcast puts a value of up to this many bytes there whole. */
  get dataBytes(): number {
    return this.size * this.slotBytes;
  }

  /** Where rank `rank`'s slot starts, in bytes from the arena's start. */
  slotOffset(rank: number): number {
    return this.size * LINE_BYTES + rank * this.slotBytes;
  }

  /** Elements `from` to `to` of rank `rank`'s slot, seen as a typed array of `like`'s kind (in place, no copy). */
  view(rank: number, like: TypedArray, from: number, to: number): TypedArray {
    return typedArrayOver(like, this.buffer, this.slotOffset(rank) + from * like.BYTES_PER_ELEMENT, to - from);
  }

  /** The slot that holds rank `rank`'s share of a reduction's result once it has combined it. */
  resultSlot(rank: number): number {
    return this.resultsInSlotZero ? 0 : rank;
  }

  /**
   * Elements `from` to `to` of slot `into` become every slot's elements combined, in `like`'s kind and from the left
   * in rank order: slot 0 ∘ slot 1 ∘ ... ∘ slot size-1. One pass over all the slots, 16 bytes a step in WebAssembly
   * SIMD (simd.ts) where the kind and op have an instruction. elementwise() does the rest, the same fold a slot at a
   * time: in slot 0 up to slot `into`, then on in slot `into` (elements `from` to `to` of every slot are the
   * combining rank's alone: it combines its own share).
   */
  combine(name: OpName, like: TypedArray, into: number, from: number, to: number): void {
    const elementBytes = like.BYTES_PER_ELEMENT;
    const at = (q: number) => this.slotOffset(q) + from * elementBytes;
    const bytes = (to - from) * elementBytes;
    const done = this.simd?.fold(typedArrayKind(like)!, name, at(into), at(0), this.slotBytes, this.size, bytes) ?? 0;
    const rest = from + done / elementBytes;
    if (rest === to) return;
    const result = this.view(into, like, rest, to);
    let partial = this.view(0, like, rest, to);
    for (let q = 1; q < this.size; q++) {
      const out = q < into ? partial : result;
      elementwise(name, partial, this.view(q, like, rest, to), out);
      partial = out;
    }
  }

  /**
   * Rank `rank` writes in its line what it passed: the kind of its array (a codec type code) and its length, the op,
   * the root (-1 for allreduce), and which call of the collective this is for it (Comm.reductionCallInternal).
   */
  setShape(rank: number, array: TypedArray, call: number, name: OpName, root: number): void {
    const at = rank * (LINE_BYTES / 8);
    this.lines[at] = encodedType(array);
    this.lines[at + 1] = array.length;
    this.lines[at + 2] = call;
    this.lines[at + 3] = OP_NAMES.indexOf(name);
    this.lines[at + 4] = root;
  }

  /** What rank `rank` wrote in its line; read after a barrier that follows its `setShape`. */
  shapeOf(rank: number): { type: number; length: number; call: number; name: OpName; root: number } {
    const [at, lines] = [rank * (LINE_BYTES / 8), this.lines];
    const name = OP_NAMES[lines[at + 3]!]!;
    return { type: lines[at]!, length: lines[at + 1]!, call: lines[at + 2]!, name, root: lines[at + 4]! };
  }
}

function slotBytesOf(size: number, arenaBytes: number): number {
  return Math.floor(arenaBytes / size / LINE_BYTES) * LINE_BYTES;
}
