/**
 * The collectives of Comm, built on its point-to-point messages. Each one is a classic algorithm, drawn above its
 * function for ranks 0..7 (`a→b`: a sends to b; the lines are steps, and the messages of one step run in parallel).
 *
 * The rules are MPI's: every rank calls the same collectives in the same order, with the same root and op, and
 * values of matching shape. Each collective sends with its own reserved negative tag, which ANY_TAG never matches,
 * so collective traffic and user messages never take each other's place. Messages between two ranks with the same
 * tag arrive in the order they were sent, so back-to-back collectives cannot mix up their messages as long as every
 * rank calls them in the same order. A rank that breaks the rules gets an error, or waits for ever (the launcher's
 * deadlock watchdog then names who waits for whom).
 *
 * Values from other ranks always arrive as copies. A rank's own value may come back to it as itself (bcast's
 * root, a rank's own slot in gather, allgather and alltoall); reductions of typed arrays return a new array, or the
 * caller's `into`.
 */
import type { Comm, ReduceOp } from './comm.js';
import { describe } from './describe.js';
import { copyOf, elementwise, kindName, newTypedArray, toReducer, typedArrayKind, type OpName, type TypedArray } from './reduce-ops.js';

/** Reserved tags, one per collective. User tags are >= 0 and ANY_TAG (-1) matches only those. */
const TAG = {
  bcast: -2,
  scatter: -3,
  gather: -4,
  allgather: -5,
  reduce: -6,
  allreduce: -7,
  alltoall: -8,
} as const;

/** Typed arrays this large are allreduced round a ring (least data moved) instead of by recursive doubling (fewest steps). */
const RING_ALLREDUCE_BYTES = 64 * 1024;

/**
 * Binomial tree, in ranks numbered relative to the root. The ranks that hold the value double at every step:
 * at step k every rank v < 2^k sends it to v + 2^k. So rank v receives once, from v minus its highest bit, then
 * sends on at every later step. log2(size) steps.
 *
 *     step 0: 0→1
 *     step 1: 0→2  1→3
 *     step 2: 0→4  1→5  2→6  3→7
 */
export function bcast<T>(comm: Comm, value: T, root: number): T {
  checkRoot(comm, root);
  const { size } = comm;
  const v = relative(comm.rank, root, size);
  let mask = 1;
  if (v > 0) {
    const highestBit = 1 << (31 - Math.clz32(v));
    const parent = absolute(v - highestBit, root, size);
    if (ArrayBuffer.isView(value)) {
      // Buffer mode (mpi4py's Bcast(buf)): a rank that passes a typed array gets the root's bytes in it, in place.
      const got = comm.recvIntoInternal(value, parent, TAG.bcast).value;
      if (got !== value.byteLength) {
        throw new RangeError(`bcast(): rank ${comm.rank} passed a ${value.byteLength}-byte buffer for the root's ${got}-byte value`);
      }
    } else {
      value = recv(comm, parent, TAG.bcast) as T;
    }
    mask = highestBit << 1;
  }
  for (; mask < size; mask <<= 1) {
    if (v + mask < size) comm.sendInternal(absolute(v + mask, root, size), value, TAG.bcast);
  }
  return value;
}

/**
 * Linear: the root sends each rank its own part. A tree would cost fewer steps at the root, but each part would be
 * copied through log2(size) ranks on its way; linear moves every part exactly once, and the sends go into
 * different channels, each drained by a rank that does nothing but wait for it.
 *
 *     0→1  0→2  0→3  ...  0→7
 */
export function scatter<T>(comm: Comm, values: readonly T[] | undefined, root: number): T {
  checkRoot(comm, root);
  if (comm.rank !== root) return recv(comm, root, TAG.scatter) as T;
  const parts = checkOnePerRank(comm, values);
  for (let offset = 1; offset < comm.size; offset++) {
    const dest = (root + offset) % comm.size;
    comm.sendInternal(dest, parts[dest], TAG.scatter);
  }
  return parts[root]!;
}

/**
 * Binomial tree towards the root (treeReduce below), where combining two partial results means putting the lists
 * end to end. The root's list is in rank order relative to it, so it rotates it back to rank order.
 */
export function gather<T>(comm: Comm, value: T, root: number): T[] | undefined {
  checkRoot(comm, root);
  const concat = (a: T[], b: T[]) => [...a, ...b];
  const inRelativeOrder = treeReduce(comm, [value], concat, root, TAG.gather);
  if (inRelativeOrder === undefined) return undefined;
  const values = new Array<T>(comm.size);
  for (let v = 0; v < comm.size; v++) values[absolute(v, root, comm.size)] = inRelativeOrder[v]!;
  return values;
}

/** Ring (ringAllgather below): size - 1 steps, each value crosses each channel of the ring once. */
export function allgather<T>(comm: Comm, value: T): T[] {
  const values = new Array<T>(comm.size);
  values[comm.rank] = value;
  ringAllgather(comm, values, comm.rank, TAG.allgather);
  return values;
}

/**
 * Binomial tree (treeReduce below). The tree keeps operands in rank order, so a function op needs only to be
 * associative: the root gets v0 ∘ v1 ∘ ... ∘ v(size-1). Named ops are commutative, so their tree hangs from the root
 * itself (float sums may then round differently for different roots); a function's tree hangs from rank 0
 * (relative order = rank order), which then passes the result to the root: one more message, for a guarantee that
 * holds for matrix products and string concatenation too. Typed arrays with a named op take treeReduceInto, which
 * allocates nothing per step; `into` receives the root's result.
 */
export function reduce<T>(comm: Comm, value: T, op: ReduceOp, root: number, into?: T): T | undefined {
  checkRoot(comm, root);
  const reducer = toReducer(op);
  reducer.check(value);
  if (into !== undefined && comm.rank === root) checkInto(value, into);
  if (reducer.name !== undefined && typedArrayKind(value) !== undefined) {
    return treeReduceInto(comm, value as TypedArray, reducer.name, root, into as TypedArray | undefined) as T | undefined;
  }
  const combine = reducer.combine as (a: T, b: T, reuse?: T) => T;
  let result: T | undefined;
  if (reducer.name !== undefined || root === 0) {
    result = treeReduce(comm, value, combine, root, TAG.reduce);
    if (result === value) result = ownResult(value);
  } else {
    result = treeReduce(comm, value, combine, 0, TAG.reduce);
    if (comm.rank === 0) comm.sendInternal(root, result, TAG.reduce);
    result = comm.rank === root ? (recv(comm, 0, TAG.reduce) as T) : undefined;
  }
  if (result === undefined || into === undefined || comm.rank !== root) return result;
  (into as TypedArray).set(result as TypedArray);
  return into;
}

/**
 * Small values: recursive doubling (recursiveDoubling below), log2(size) steps. Large typed arrays with a named op:
 * ring reduce-scatter then ring allgather (ringAllreduce below), which moves 2 (size-1)/size of the array per rank
 * instead of log2(size) whole arrays. Both give every rank the very same result, bit for bit. Each rank picks the
 * algorithm from its own value, which is one more reason why every rank must pass the same kind and length.
 */
export function allreduce<T>(comm: Comm, value: T, op: ReduceOp, into?: T): T {
  const reducer = toReducer(op);
  reducer.check(value);
  if (into !== undefined) checkInto(value, into);
  const isLarge = typedArrayKind(value) !== undefined && (value as TypedArray).byteLength >= RING_ALLREDUCE_BYTES;
  let result: T;
  if (comm.size === 1) result = into === undefined ? ownResult(value) : value;
  else if (reducer.name !== undefined && isLarge) {
    return ringAllreduce(comm, value as TypedArray, reducer.name, into as TypedArray | undefined) as T;
  } else result = recursiveDoubling(comm, value, reducer.combine as (a: T, b: T, reuse?: T) => T);
  if (into === undefined) return result;
  if (into !== result) (into as TypedArray).set(result as TypedArray);
  return into;
}

/** `into` (MPI's recvbuf) must be a typed array of the value's kind and length; it may be the value itself. */
function checkInto(value: unknown, into: unknown): void {
  if (typedArrayKind(value) === undefined) {
    throw new TypeError(`\`into\` is for typed-array values, got ${describe(value)} to reduce`);
  }
  const kind = typedArrayKind(into);
  if (kind === undefined) throw new TypeError(`Expected \`into\` to be a typed array, got ${describe(into)}`);
  if (kind !== typedArrayKind(value) || (into as TypedArray).length !== (value as TypedArray).length) {
    throw new RangeError(
      `Expected \`into\` to be ${kindName(value)} of ${(value as TypedArray).length} elements like the value, ` +
        `got ${kindName(into)} of ${(into as TypedArray).length}`,
    );
  }
}

/**
 * Pairwise exchange: at step k (1 .. size-1) every rank sends its part to rank + k and receives from rank - k.
 * Each step is a shift round the ring of ranks, done with exchange() below, so parts larger than a channel
 * cannot deadlock; every rank sends and receives exactly one message per step.
 *
 *     step 1: 0→1 1→2 ... 7→0     step 2: 0→2 1→3 ... 7→1     ...     step 7: 0→7 1→0 ... 7→6
 */
export function alltoall<T>(comm: Comm, values: readonly T[]): T[] {
  const parts = checkOnePerRank(comm, values);
  const { rank, size } = comm;
  const received = new Array<T>(size);
  received[rank] = parts[rank]!;
  for (let k = 1; k < size; k++) {
    const dest = (rank + k) % size;
    const source = (rank - k + size) % size;
    received[source] = exchange(comm, dest, parts[dest], source, TAG.alltoall) as T;
  }
  return received;
}

// ─── The algorithms shared by several collectives ─────────────────────────────────────────────────────────────

/**
 * Binomial tree reduction towards `root`, in ranks relative to it. At step k every rank with bit k set sends its
 * partial result to v - 2^k and is done; the others combine what v + 2^k sends (if it exists) after their own.
 * A partial result at v covers the ranks v .. v + 2^k - 1 and the one received covers the next 2^k ranks, so
 * combine(own, received) keeps the operands in (relative) rank order. Returns the result at the root only.
 *
 *     step 0: 1→0  3→2  5→4  7→6
 *     step 1: 2→0  6→4
 *     step 2: 4→0
 */
function treeReduce<T>(comm: Comm, value: T, combine: (a: T, b: T, reuse?: T) => T, root: number, tag: number): T | undefined {
  const { size } = comm;
  const v = relative(comm.rank, root, size);
  let partial = value;
  for (let mask = 1; mask < size; mask <<= 1) {
    if ((v & mask) !== 0) {
      comm.sendInternal(absolute(v - mask, root, size), partial, tag);
      return undefined;
    }
    if (v + mask < size) {
      const received = recv(comm, absolute(v + mask, root, size), tag) as T;
      partial = combine(partial, received, received); // the received value is ours: the result may go into it
    }
  }
  return partial;
}

/**
 * treeReduce for a typed array and a named op, with no allocation per step: each child's partial result arrives in
 * a scratch array kept per Comm and is combined into an accumulator, the caller's `into` on the root (a fresh array
 * there without one), a second scratch array on the ranks in between. The caller's `value` is never written.
 */
function treeReduceInto(comm: Comm, value: TypedArray, name: OpName, root: number, into: TypedArray | undefined): TypedArray | undefined {
  const { size } = comm;
  const v = relative(comm.rank, root, size);
  const length = value.length;
  const scratch = scratchFor(comm, value, 2 * length);
  const received = scratch.subarray(0, length);
  let partial = value;
  for (let mask = 1; mask < size; mask <<= 1) {
    if ((v & mask) !== 0) {
      comm.sendInternal(absolute(v - mask, root, size), compact(comm, partial), TAG.reduce);
      return undefined;
    }
    if (v + mask < size) {
      const operand = comm.recvOperandInternal(received, absolute(v + mask, root, size), TAG.reduce) as TypedArray;
      const accumulator =
        v !== 0 ? scratch.subarray(length, 2 * length) // the kept scratch may be longer than this call needs
        : into !== undefined ? into
        : partial === value ? newTypedArray(value, length)
        : partial;
      partial = typedArrayKind(operand) !== undefined
        ? elementwise(name, partial, operand, accumulator) // refuses another kind or length by name
        : (toReducer(name).combine(partial, operand) as TypedArray); // not an array: the reducer names what it is
    }
  }
  if (partial !== value) return partial; // the root combined something into its accumulator
  if (into === undefined) return copyOf(value); // one rank: still a new array, never the caller's own
  if (into !== value) into.set(value);
  return into;
}

/**
 * Recursive doubling: at step k every rank swaps its partial result with the rank whose number differs in bit k,
 * and both compute combine(lower ranks' partial, higher ranks' partial). The two partners combine the same two
 * operands in the same order, so after log2(size) steps every rank holds the same bits, even for float sums and
 * for a function that is not commutative (operands stay in rank order).
 *
 *     step 0: 0↔1 2↔3 4↔5 6↔7     step 1: 0↔2 1↔3 4↔6 5↔7     step 2: 0↔4 1↔5 2↔6 3↔7
 *
 * When size is not a power of two, say 2^n + extra, the first 2·extra ranks pair up first: each even one hands its
 * value to the odd one after it and sits out, the 2^n left renumber 0 .. 2^n - 1 in rank order, and at the end
 * each odd one hands the result back to its even partner.
 */
function recursiveDoubling<T>(comm: Comm, value: T, combine: (a: T, b: T, reuse?: T) => T): T {
  const { rank, size } = comm;
  const powerOfTwo = 1 << (31 - Math.clz32(size));
  const extra = size - powerOfTwo;
  let partial = value;
  let newRank: number; // this rank's number among the 2^n that take part; -1 if it sits out
  if (rank < 2 * extra) {
    if (rank % 2 === 0) {
      comm.sendInternal(rank + 1, value, TAG.allreduce);
      newRank = -1;
    } else {
      const received = recv(comm, rank - 1, TAG.allreduce) as T;
      partial = combine(received, partial, received);
      newRank = rank >> 1;
    }
  } else {
    newRank = rank - extra;
  }
  if (newRank >= 0) {
    for (let mask = 1; mask < powerOfTwo; mask <<= 1) {
      const partnerNew = newRank ^ mask;
      const partner = partnerNew < extra ? 2 * partnerNew + 1 : partnerNew + extra;
      const received = exchange(comm, partner, partial, partner, TAG.allreduce) as T;
      partial = partner < rank ? combine(received, partial, received) : combine(partial, received, received);
    }
  }
  if (rank < 2 * extra) {
    if (rank % 2 === 1) comm.sendInternal(rank - 1, partial, TAG.allreduce);
    else partial = recv(comm, rank + 1, TAG.allreduce) as T;
  }
  return partial;
}

/**
 * Ring allreduce for a large typed array and a named op (which works element by element): the array is cut into
 * `size` segments. Reduce-scatter: in size - 1 steps each rank sends one segment to its right neighbour and
 * combines the one from its left with its own values into the result, so a segment gathers one more rank's values at
 * every hop; afterwards rank r holds segment r + 1 fully reduced. Then the finished segments go round the ring as in
 * ringAllgather, into their places in the result.
 *
 *     segment s starts at rank s and travels s → s+1 → ... → s-1, the last rank, which holds it complete
 *
 * Each segment is combined in its own order, so float results may differ from reduce()'s in the last bits; every
 * rank still gets the same bits, since each segment is finished by one rank and copied to the others.
 */
function ringAllreduce(comm: Comm, value: TypedArray, name: OpName, into?: TypedArray): TypedArray {
  const { rank, size } = comm;
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  // The result goes into the caller's `into` (which may be `value` itself) or a new array; `value` is never written
  // otherwise. Each segment of the result is written once, combined from the left neighbour's partial and our own
  // values, or received finished, so our values are not copied into it first (16 MiB less memory traffic per rank
  // and call at 8 MiB; no faster on the Zen 4 VM of docs/PERFORMANCE.md, where the copy overlapped the waits).
  const result = into ?? newTypedArray(value, value.length);
  const segment = (array: TypedArray, index: number) =>
    array.subarray(Math.floor((index * array.length) / size), Math.floor(((index + 1) * array.length) / size));
  // Segments arrive into buffers we already have (no allocation per step): the left neighbour's partial sums into
  // one scratch segment, the finished segments straight into their place in the result.
  const scratch = scratchFor(comm, result, Math.ceil(result.length / size) + 1);
  for (let step = 0; step < size - 1; step++) {
    // Our own values of our own segment first; from then on, the segment we combined at the step before.
    const outgoing = step === 0 ? segment(value, rank) : segment(result, modulo(rank - step, size));
    const index = modulo(rank - step - 1, size);
    const target = segment(result, index);
    const received = scratch.subarray(0, target.length);
    exchangeInto(comm, right, compact(comm, outgoing), left, received, TAG.allreduce);
    elementwise(name, received, segment(value, index), target);
  }
  const finished = (rank + 1) % size;
  for (let step = 0; step < size - 1; step++) {
    // The ring allgather below, done in place: pass on the segment got at the previous step, take the next.
    const outgoing = segment(result, modulo(finished - step, size));
    exchangeInto(comm, right, compact(comm, outgoing), left, segment(result, modulo(finished - step - 1, size)), TAG.allreduce);
  }
  return result;
}

/**
 * Ring allgather: `blocks[own]` is this rank's block, and the rank to its left owns block own - 1. At each of
 * size - 1 steps every rank passes to its right the block it got at the previous step (its own at first), and
 * takes the next one from its left: after step s it holds blocks own, own - 1, ..., own - s - 1.
 *
 *     step 0: 0→1 sends b0, 1→2 b1, ..., 7→0 b7     step 1: 0→1 sends b7, 1→2 b0, ..., 7→0 b6     ...
 */
function ringAllgather(comm: Comm, blocks: unknown[], own: number, tag: number): void {
  const { rank, size } = comm;
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  for (let step = 0; step < size - 1; step++) {
    const outgoing = blocks[modulo(own - step, size)];
    blocks[modulo(own - step - 1, size)] = exchange(comm, right, outgoing, left, tag);
  }
}

/**
 * A scratch array of `like`'s kind with at least `length` elements, kept per Comm from call to call (ringAllreduce
 * and treeReduceInto use it, one call at a time; it never leaves them): fresh memory is expensive (page faults at
 * well under 1 GB/s on this kind of VM). It may be longer than asked: take a subarray of what you need.
 */
const scratchArrays = new WeakMap<Comm, TypedArray>();
function scratchFor(comm: Comm, like: TypedArray, length: number): TypedArray {
  const kept = scratchArrays.get(comm);
  if (kept !== undefined && typedArrayKind(kept) === typedArrayKind(like) && kept.length >= length) return kept;
  const scratch = newTypedArray(like, length);
  scratchArrays.set(comm, scratch);
  return scratch;
}

/** `exchange` that receives into `into` (a typed array of the message's size) instead of allocating. */
function exchangeInto(comm: Comm, dest: number, value: unknown, source: number, into: TypedArray, tag: number): void {
  if (comm.rank <= dest) {
    comm.sendInternal(dest, value, tag);
    comm.recvIntoInternal(into, source, tag);
  } else {
    comm.recvIntoInternal(into, source, tag);
    comm.sendInternal(dest, value, tag);
  }
}

/** A deadlock-free exchange (Comm.sendrecv's rule: along each edge the lower rank sends first). */
function exchange(comm: Comm, dest: number, value: unknown, source: number, tag: number): unknown {
  return comm.sendrecvInternal(dest, value, source, tag).value;
}

// ─── Small helpers ────────────────────────────────────────────────────────────────────────────────────────────

function recv(comm: Comm, source: number, tag: number): unknown {
  return comm.recvInternal(source, tag).value;
}

/** Rank numbers relative to the root, so that every tree can be drawn as if the root were rank 0. */
function relative(rank: number, root: number, size: number): number {
  return (rank - root + size) % size;
}

function absolute(v: number, root: number, size: number): number {
  return (v + root) % size;
}

/** n mod size, in 0 .. size - 1 also for negative n. */
function modulo(n: number, size: number): number {
  return ((n % size) + size) % size;
}

/** postMessage clones the whole buffer under a view; on 'clone', send a segment as an array of its own. */
function compact(comm: Comm, view: TypedArray): TypedArray {
  return comm.transport === 'clone' ? view.slice() : view;
}

/** A reduction that combined nothing (one rank) still returns a new typed array, never the caller's own. */
function ownResult<T>(value: T): T {
  return typedArrayKind(value) !== undefined ? (copyOf(value as TypedArray) as T) : value;
}

function checkRoot(comm: Comm, root: number): void {
  const last = comm.size - 1;
  if (!Number.isInteger(root)) {
    throw new TypeError(`Expected \`root\` to be an integer rank from 0 to ${last}, got ${describe(root)}`);
  }
  if (root < 0 || root > last) throw new RangeError(`Expected \`root\` to be a rank from 0 to ${last}, got ${root}`);
}

/** scatter's and alltoall's `values`: an array with exactly one element per rank. */
function checkOnePerRank<T>(comm: Comm, values: readonly T[] | undefined): readonly T[] {
  const expected = `Expected \`values\` to be an array of ${comm.size} values (one per rank)`;
  if (!Array.isArray(values)) throw new TypeError(`${expected}, got ${describe(values)}`);
  if (values.length !== comm.size) throw new RangeError(`${expected}, got an array of length ${values.length}`);
  return values;
}
