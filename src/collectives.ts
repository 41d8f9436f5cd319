/**
 * The collectives of Comm, built on its point-to-point messages. Each one is a classic algorithm, drawn above its
 * function for ranks 0..7 (`a→b`: a sends to b; the lines are steps, and the messages of one step run in parallel).
 *
 * The rules are MPI's: every rank calls the same collectives in the same order, with the same root and op, and values
 * of matching shape. Each collective sends with reserved negative tags of its own, which ANY_TAG never matches, so
 * collective traffic and user messages never take each other's place; and each call's tags are its own (callTag() in
 * collectives/common.ts numbers them by the call), so no call takes the messages of another. A rank that breaks the
 * rules gets an error where a collective can see it (kinds and lengths where values meet; ops and roots too through the
 * arena), or waits, and the launcher's deadlock watchdog names who waits for whom. What no rank waits for goes unseen,
 * as in MPI: ranks that each think themselves bcast's root, or pass different ops to a small reduce, return what their
 * own calls computed.
 *
 * Values from other ranks always arrive as copies. A rank's own value may come back to it as itself (bcast's root, a
 * rank's own slot in gather, allgather and alltoall); reductions of typed arrays return a new array, or the caller's
 * `into`.
 */
import { copyAsSent, isFixedLength } from './codec.js';
import type { Comm, ReduceOp } from './comm.js';
import { describe, kindOf } from './describe.js';
import { copyOf, kindName, toReducer, typedArrayKind, type TypedArray } from './reduce-ops.js';
import { arenaReduction, ARENA_REDUCE_BYTES, LARGE_ALLREDUCE_BYTES } from './collectives/arena-reduction.js';
import { absolute, callTag, checkRoot, exchange, recv, TAG } from './collectives/common.js';
import { recursiveDoubling, recursiveDoublingInto } from './collectives/doubling.js';
import { ringAllgather, ringAllreduce } from './collectives/ring.js';
import { treeReduce, treeReduceInto } from './collectives/tree.js';

export { bcast } from './collectives/bcast.js';

/**
 * Linear: the root sends each rank its own part. A tree would cost fewer steps at the root, but each part would be
 * copied through log2(size) ranks on its way; linear moves every part exactly once, and the sends go into
 * different channels, each drained by a rank that does nothing but wait for it.
 *
 *     0→1  0→2  0→3  ...  0→7
 */
export function scatter<T>(comm: Comm, values: readonly T[] | undefined, root: number): T {
  checkRoot(comm, root, 'scatter');
  if (comm.rank !== root) {
    comm.beginCollectiveInternal();
    return recv(comm, root, callTag(comm, TAG.scatter)) as T;
  }
  const parts = checkOnePerRank(comm, values);
  comm.beginCollectiveInternal();
  for (let offset = 1; offset < comm.size; offset++) {
    const dest = (root + offset) % comm.size;
    comm.sendInternal(dest, parts[dest], callTag(comm, TAG.scatter));
  }
  return parts[root]!;
}

/**
 * Binomial tree towards the root (treeReduce, in collectives/tree.ts), where combining two partial results means
 * putting the lists end to end. The root's list is in rank order relative to it, so it rotates it back to rank order.
 *
 * The values travel inside lists, where `send`'s rules for a binary message of its own do not apply: so each rank's
 * value is first made what `send` would deliver (asSent, at the end of this file), and reaches the root as it would
 * through `send`.
 */
export function gather<T>(comm: Comm, value: T, root: number): T[] | undefined {
  checkRoot(comm, root, 'gather');
  const concat = (a: T[], b: T[]) => [...a, ...b];
  const own = comm.rank === root ? value : asSent(value); // the root's own value stays itself, as in every collective
  comm.beginCollectiveInternal();
  const inRelativeOrder = treeReduce(comm, [own], concat, root, callTag(comm, TAG.gather));
  if (inRelativeOrder === undefined) return undefined;
  const values = new Array<T>(comm.size);
  for (let v = 0; v < comm.size; v++) values[absolute(v, root, comm.size)] = inRelativeOrder[v]!;
  return values;
}

/** Ring (ringAllgather, in collectives/ring.ts): size - 1 steps, each value crosses each channel of the ring once. */
export function allgather<T>(comm: Comm, value: T): T[] {
  comm.beginCollectiveInternal();
  const values = new Array<T>(comm.size);
  values[comm.rank] = value;
  ringAllgather(comm, values, comm.rank, callTag(comm, TAG.allgather));
  return values;
}

/**
 * Binomial tree (treeReduce, in collectives/tree.ts). The tree keeps operands in rank order, so a function op needs
 * only to be associative: the root gets v0 ∘ v1 ∘ ... ∘ v(size-1). Named ops are commutative, so their tree hangs from
 * the root itself (float sums may then round differently for different roots); a function's tree hangs from rank 0
 * (relative order = rank order), which then passes the result to the root: one more message, for a guarantee that holds
 * for matrix products and string concatenation too. Typed arrays with a named op take treeReduceInto, which allocates
 * nothing per step, or from ARENA_REDUCE_BYTES the shared arena (arenaReduction, in collectives/arena-reduction.ts)
 * where there is one; `into` receives the root's result.
 */
export function reduce<T>(comm: Comm, value: T, op: ReduceOp, root: number, into?: T): T | undefined {
  checkRoot(comm, root, 'reduce');
  const reducer = toReducer(op, value, 'reduce');
  reducer.check(value);
  if (into !== undefined && comm.rank === root) checkInto(value, into, 'reduce');
  comm.beginCollectiveInternal('reduce');
  if (reducer.name !== undefined && typedArrayKind(value) !== undefined) {
    const [array, target] = [value as TypedArray, into as TypedArray | undefined];
    const arena = comm.arenaInternal;
    if (arena !== undefined && array.byteLength >= ARENA_REDUCE_BYTES) {
      return arenaReduction(comm, arena, 'reduce', array, reducer.name, target, root) as T | undefined;
    }
    return treeReduceInto(comm, array, reducer.name, root, target) as T | undefined;
  }
  const combine = reducer.combine as (a: T, b: T) => T;
  let result: T | undefined;
  if (reducer.name !== undefined || root === 0) {
    result = treeReduce(comm, value, combine, root, callTag(comm, TAG.reduce));
    if (Object.is(result, value)) result = ownResult(value); // not ===: a result of -0 is not a rank's own +0
  } else {
    result = treeReduce(comm, value, combine, 0, callTag(comm, TAG.reduce));
    if (comm.rank === 0) comm.sendInternal(root, result, callTag(comm, TAG.reduce));
    result = comm.rank === root ? (recv(comm, 0, callTag(comm, TAG.reduce)) as T) : undefined;
  }
  if (result === undefined || into === undefined || comm.rank !== root) return result;
  return copiedInto(result, into);
}

/**
 * Small values: recursive doubling (recursiveDoubling, in collectives/doubling.ts), log2(size) steps. Typed arrays of
 * 64 KiB and more with a named op: through the shared arena on the shared transport (arenaReduction: each rank copies
 * its array in and the result out once), or else ring reduce-scatter then ring allgather (ringAllreduce, in
 * collectives/ring.ts), which moves 2 (size-1)/size of the array per rank instead of log2(size) whole arrays. Each
 * gives every rank the very same result, bit for bit (but for a NaN's sign and payload by recursive doubling, whose
 * partners each compute it: doubling.ts). Each rank picks the algorithm from its own value, which is one more reason
 * why every rank must pass the same kind and length (ranks that pick differently wait for each other until the deadlock
 * watchdog reports it). Typed arrays with a named op allocate no array of their size per step: what the others send
 * arrives in scratch arrays kept per Comm, or lies in the arena (which takes a few small views a piece).
 */
export function allreduce<T>(comm: Comm, value: T, op: ReduceOp, into?: T): T {
  const reducer = toReducer(op, value, 'allreduce');
  reducer.check(value);
  if (into !== undefined) checkInto(value, into, 'allreduce');
  comm.beginCollectiveInternal('allreduce');
  let result: T;
  if (comm.size === 1) result = into === undefined ? ownResult(value) : value;
  else if (reducer.name !== undefined && typedArrayKind(value) !== undefined) {
    const array = value as TypedArray;
    const target = into as TypedArray | undefined;
    const arena = comm.arenaInternal;
    if (array.byteLength < LARGE_ALLREDUCE_BYTES) return recursiveDoublingInto(comm, array, reducer.name, target) as T;
    // allreduce's arenaReduction returns the result on every rank: only reduce's is undefined (off its root)
    if (arena !== undefined) return arenaReduction(comm, arena, 'allreduce', array, reducer.name, target)! as T;
    return ringAllreduce(comm, array, reducer.name, target) as T;
  } else result = recursiveDoubling(comm, value, reducer.combine as (a: T, b: T) => T);
  // A function may answer its `a`. Object.is, not ===: a result of -0 is not a rank's own +0.
  if (into === undefined) return Object.is(result, value) ? ownResult(value) : result;
  return copiedInto(result, into);
}

/**
 * A function op's result, copied into `into` (checked against the value already) by `set`, which converts the
 * elements of an array or a typed array of another kind: refused unless it is one of `into`'s length, since `set`
 * takes a shorter one in part, and nothing of a number, leaving old contents where the result belongs.
 */
function copiedInto<T>(result: T, into: T): T {
  if (result === into) return into;
  const target = into as TypedArray;
  const isList = Array.isArray(result) || typedArrayKind(result) !== undefined;
  if (!isList || (result as ArrayLike<unknown>).length !== target.length) {
    throw new TypeError(
      `\`into\` takes ${kindName(into)} of ${target.length} elements, but the op returned ${describeResult(result)}`,
    );
  }
  target.set(result as TypedArray);
  return into;
}

/** `a number`, `an array of length 1`, `a Float32Array of 1`: what a function op returned, for copiedInto's refusal. */
function describeResult(value: unknown): string {
  if (typedArrayKind(value) !== undefined) return `${kindName(value)} of ${(value as TypedArray).length}`;
  return Array.isArray(value) ? describe(value) : kindOf(value);
}

/**
 * `into` (MPI's recvbuf) must be a typed array of the value's kind and length; it may be the value itself. On the way
 * to a refusal (not before: an allreduce into a buffer runs this every call), two slips are named first, whatever the
 * value: an options object (`{ into }`), and for allreduce a number, a root as reduce takes one there.
 */
function checkInto(value: unknown, into: unknown, call: 'reduce' | 'allreduce'): void {
  const kind = typedArrayKind(into);
  const valueKind = typedArrayKind(value);
  if (kind === undefined || valueKind === undefined) {
    const hint = intoHint(into, call);
    if (hint !== '') throw new TypeError(`Expected \`into\` to be a typed array, got ${describe(into)} (${hint})`);
    if (valueKind === undefined) throw new TypeError(`\`into\` is for typed-array values, got ${describe(value)} to reduce`);
    throw new TypeError(`Expected \`into\` to be a typed array, got ${describe(into)}`);
  }
  if (kind !== valueKind || (into as TypedArray).length !== (value as TypedArray).length) {
    throw new RangeError(
      `Expected \`into\` to be ${kindName(value)} of ${(value as TypedArray).length} elements like the value, ` +
        `got ${kindName(into)} of ${(into as TypedArray).length}`,
    );
  }
}

/** What an `into` that is no typed array likely means, with what to write; '' for no guess. */
function intoHint(into: unknown, call: 'reduce' | 'allreduce'): string {
  const args = call === 'reduce' ? 'reduce(value, op, root, into)' : 'allreduce(value, op, into)';
  if (typeof into === 'object' && into !== null && 'into' in into) return `\`into\` is an argument, not an option: ${args}`;
  if (call === 'allreduce' && typeof into === 'number') return `allreduce takes no root: ${args}`;
  return '';
}

/**
 * Pairwise exchange: at step k (1 .. size-1) every rank sends its part to rank + k and receives from rank - k. Each
 * step is a shift round the ring of ranks, done with exchange() (collectives/common.ts), so parts larger than a channel
 * cannot deadlock; every rank sends and receives exactly one message per step.
 *
 *     step 1: 0→1 1→2 ... 7→0     step 2: 0→2 1→3 ... 7→1     ...     step 7: 0→7 1→0 ... 7→6
 */
export function alltoall<T>(comm: Comm, values: readonly T[]): T[] {
  const parts = checkOnePerRank(comm, values);
  comm.beginCollectiveInternal();
  const { rank, size } = comm;
  const received = new Array<T>(size);
  received[rank] = parts[rank]!;
  for (let k = 1; k < size; k++) {
    const dest = (rank + k) % size;
    const source = (rank - k + size) % size;
    received[source] = exchange(comm, dest, parts[dest], source, callTag(comm, TAG.alltoall)) as T;
  }
  return received;
}

// ─── Small helpers ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * `value` as `send` would deliver it, for a list: a SharedArrayBuffer, or a view over one, copied (inside a list
 * V8's serializer refuses one and postMessage shares it), and so is a view of part of its buffer (inside a list
 * postMessage carries the whole buffer along: 1 MiB for 8 bytes of a 1 MiB array), and a resizable ArrayBuffer or a
 * view over one (inside a list it would arrive resizable, where `send` delivers a fixed one). The codec's copy, as
 * `send` makes it; anything else as it is.
 */
function asSent<T>(value: T): T {
  if (ArrayBuffer.isView(value)) {
    const { buffer } = value;
    const whole = value.byteOffset === 0 && value.byteLength === buffer.byteLength;
    if (whole && buffer instanceof ArrayBuffer && isFixedLength(buffer)) return value;
  } else if (!(value instanceof SharedArrayBuffer) && !(value instanceof ArrayBuffer && !isFixedLength(value))) {
    return value;
  }
  return copyAsSent(value) as T;
}

/** A reduction that combined nothing (one rank) still returns a new typed array, never the caller's own. */
function ownResult<T>(value: T): T {
  return typedArrayKind(value) !== undefined ? (copyOf(value as TypedArray) as T) : value;
}

/** scatter's and alltoall's `values`: an array with exactly one element per rank. */
function checkOnePerRank<T>(comm: Comm, values: readonly T[] | undefined): readonly T[] {
  const expected = `Expected \`values\` to be an array of ${comm.size} value${comm.size === 1 ? '' : 's'} (one per rank)`;
  if (!Array.isArray(values)) throw new TypeError(`${expected}, got ${describe(values)}`);
  if (values.length !== comm.size) throw new RangeError(`${expected}, got an array of length ${values.length}`);
  return values;
}
