/**
 * What the collectives' algorithms (collectives.ts and the files beside this one) are made of: their reserved tags,
 * rank numbers relative to a root, the deadlock-free exchange of two ranks, and the scratch arrays that keep the
 * reductions of typed arrays from allocating per step.
 */
import type { Comm } from '../comm.js';
import { describe } from '../describe.js';
import { elementwise, newTypedArray, toReducer, typedArrayKind, type OpName, type TypedArray } from '../reduce-ops.js';

/**
 * Reserved tags, one per collective, one more for the ring allreduce, and one for bcast's tickets to the arena. User
 * tags are >= 0 and ANY_TAG (-1) matches only those. Each rank chooses its allreduce algorithm from its own value: if
 * two ranks choose differently (arrays of different lengths either side of LARGE_ALLREDUCE_BYTES), each waits for
 * the messages (or at the barrier) of its own algorithm, and the deadlock watchdog reports it, instead of reading the
 * other algorithm's as its own.
 */
export const TAG = {
  bcast: -2,
  scatter: -3,
  gather: -4,
  allgather: -5,
  reduce: -6,
  allreduce: -7,
  alltoall: -8,
  allreduceRing: -9,
  bcastArena: -10,
} as const;

/**
 * TAG's `reserved` tag in this rank's current collective call: less 16 times the call's number, which counts the calls
 * begun, this one included, up to 2^20 (Comm.beginCollectiveInternal, once a call has passed its checks, sets
 * Comm.tagOffsetInternal). Ranks that call the same collectives in the same order use the same tags, call by call. A
 * rank that skipped a call, or made another, sends tags that nobody waits for and waits for tags that nobody sends:
 * the watchdog reports it ("rank 0 waits to receive from rank 1 in gather (rank 1 has finished)"). With one tag a
 * collective, it would pair up with an earlier call's messages and return wrong values.
 */
export function callTag(comm: Comm, reserved: number): number {
  return reserved - comm.tagOffsetInternal;
}

// ─── Rank numbers ─────────────────────────────────────────────────────────────────────────────────────────────

/** Rank numbers relative to the root, so that every tree can be drawn as if the root were rank 0. */
export function relative(rank: number, root: number, size: number): number {
  return (rank - root + size) % size;
}

export function absolute(v: number, root: number, size: number): number {
  return (v + root) % size;
}

/** n mod size, in 0 .. size - 1 also for negative n. */
export function modulo(n: number, size: number): number {
  return ((n % size) + size) % size;
}

// ─── Two ranks at a time ──────────────────────────────────────────────────────────────────────────────────────

/** A deadlock-free exchange (Comm.sendrecv's rule: along each edge the lower rank sends first). */
export function exchange(comm: Comm, dest: number, value: unknown, source: number, tag: number): unknown {
  return comm.sendrecvInternal(dest, value, source, tag).value;
}

/** The value of the next message from `source` with `tag` (a collective's own: no checks, no status). */
export function recv(comm: Comm, source: number, tag: number): unknown {
  return comm.recvInternal(source, tag).value;
}

/** `exchange` that receives into `into` (a typed array of the message's size) instead of allocating. */
export function exchangeInto(
  comm: Comm,
  dest: number,
  value: unknown,
  source: number,
  into: TypedArray,
  tag: number,
): void {
  if (comm.rank <= dest) {
    comm.sendInternal(dest, value, tag);
    comm.recvIntoInternal(into, source, tag);
  } else {
    comm.recvIntoInternal(into, source, tag);
    comm.sendInternal(dest, value, tag);
  }
}

/** `exchange` for the reductions: the partner's value arrives in `target` when it can (see recvOperand). */
export function exchangeOperand(comm: Comm, partner: number, value: unknown, target: TypedArray, tag: number): unknown {
  if (comm.rank <= partner) {
    comm.sendInternal(partner, value, tag);
    return comm.recvOperandInternal(target, partner, tag);
  }
  const operand = comm.recvOperandInternal(target, partner, tag);
  comm.sendInternal(partner, value, tag);
  return operand;
}

// ─── The reductions of typed arrays ───────────────────────────────────────────────────────────────────────────

/**
 * A scratch array of `like`'s kind with at least `length` elements, kept per Comm and kind from call to call
 * (ringAllreduce, recursiveDoublingInto and treeReduceInto use it, one call at a time; it never leaves them): fresh
 * memory is expensive (page faults: 0.55 GB/s on the first VM of docs/PERFORMANCE.md, 6.2 on the Zen 4 VM, `node
 * docs/probes/fresh-memory.mjs`), and a program that reduces two kinds by turns keeps one of each. It may be longer
 * than asked: take a subarray of what you need.
 */
const scratchArrays = new WeakMap<Comm, Map<string, TypedArray>>();
export function scratchFor(comm: Comm, like: TypedArray, length: number): TypedArray {
  let byKind = scratchArrays.get(comm);
  if (byKind === undefined) scratchArrays.set(comm, (byKind = new Map()));
  const kind = typedArrayKind(like)!;
  const kept = byKind.get(kind);
  if (kept !== undefined && kept.length >= length) return kept;
  const scratch = newTypedArray(like, length);
  byKind.set(kind, scratch);
  return scratch;
}

/**
 * lower ∘ higher into `result` (a named op on a typed array `lower` or `higher`): elementwise when both are typed
 * arrays, which refuses another kind or length by name; anything else (a number from a rank that passed one) is
 * refused by the reducer, which names both.
 */
export function combineInto(name: OpName, lower: unknown, higher: unknown, result: TypedArray): TypedArray {
  if (typedArrayKind(lower) !== undefined && typedArrayKind(higher) !== undefined) {
    return elementwise(name, lower as TypedArray, higher as TypedArray, result);
  }
  return toReducer(name).combine(lower, higher) as TypedArray; // throws: not two typed arrays
}

/** The bytes of a typed array or DataView, in place. */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

// ─── Arguments ────────────────────────────────────────────────────────────────────────────────────────────────

/** `root` of bcast, scatter, gather and reduce (`call`): a rank of this Comm. */
export function checkRoot(comm: Comm, root: number, call: 'bcast' | 'scatter' | 'gather' | 'reduce'): void {
  const last = comm.size - 1;
  if (!Number.isInteger(root)) {
    throw new TypeError(`Expected \`root\` to be an integer rank from 0 to ${last}, got ${describe(root)}${rootHint(root, call)}`);
  }
  if (root < 0 || root > last) throw new RangeError(`Expected \`root\` to be a rank from 0 to ${last}, got ${root}`);
}

/**
 * What an object where the root belongs likely means: for reduce, an `into` given in the root's place (allreduce takes
 * it third) or in an options object; for the others, the arguments swapped (`bcast(0, value)`). A string or a number
 * gets no guess: it may be a root read from text.
 */
function rootHint(root: unknown, call: 'bcast' | 'scatter' | 'gather' | 'reduce'): string {
  if (typeof root !== 'object' || root === null) return '';
  if (call === 'reduce') {
    if (ArrayBuffer.isView(root)) return ' (`into` comes after the root: reduce(value, op, root, into))';
    if ('into' in root) return ' (`into` is an argument, not an option: reduce(value, op, root, into))';
    return '';
  }
  return call === 'scatter' ? ' (the values come first: scatter(values, root))' : ` (the value comes first: ${call}(value, root))`;
}
