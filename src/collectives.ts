/**
 * The collectives of Comm, built on its point-to-point messages. Each one is a classic algorithm, drawn above its
 * function for ranks 0..7 (`a→b`: a sends to b; the lines are steps, and the messages of one step run in parallel).
 *
 * The rules are MPI's: every rank calls the same collectives in the same order, with the same root and op, and
 * values of matching shape. Each collective sends with reserved negative tags of its own, which ANY_TAG never
 * matches, so collective traffic and user messages never take each other's place; and each call's tags are its own
 * (tag() below numbers them by the call), so no call takes the messages of another. A rank that breaks the rules
 * gets an error where a collective can see it (kinds and lengths where values meet; ops and roots too through the
 * arena), or waits, and the launcher's deadlock watchdog names who waits for whom. What no rank waits for goes
 * unseen, as in MPI: ranks that each think themselves bcast's root, or pass different ops to a small reduce, return
 * what their own calls computed.
 *
 * Values from other ranks always arrive as copies. A rank's own value may come back to it as itself (bcast's
 * root, a rank's own slot in gather, allgather and alltoall); reductions of typed arrays return a new array, or the
 * caller's `into`.
 */
import type { SharedArena } from './arena.js';
import { allocate, copyAsSent, decode, elementSize, encode, encodedType, isBinaryType, typeName } from './codec.js';
import type { Comm, ReduceOp } from './comm.js';
import { copyBytes } from './copy.js';
import { describe, kindOf } from './describe.js';
import {
  checkOperands, copyOf, elementwise, kindName, newTypedArray, toReducer, typedArrayKind, type OpName, type TypedArray,
} from './reduce-ops.js';

/**
 * Reserved tags, one per collective, one more for the ring allreduce, and one for bcast's tickets to the arena. User
 * tags are >= 0 and ANY_TAG (-1) matches only those. Each rank chooses its allreduce algorithm from its own value: if
 * two ranks choose differently (arrays of different lengths either side of LARGE_ALLREDUCE_BYTES), each waits for
 * the messages (or at the barrier) of its own algorithm, and the deadlock watchdog reports it, instead of reading the
 * other algorithm's as its own.
 */
const TAG = {
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
function callTag(comm: Comm, reserved: number): number {
  return reserved - comm.tagOffsetInternal;
}

/**
 * Typed arrays this large are allreduced through the shared arena (arenaReduction) where there is one, and round a
 * ring (least data moved through channels) where there is none; smaller ones by recursive doubling (fewest steps).
 */
const LARGE_ALLREDUCE_BYTES = 64 * 1024;

/**
 * reduce goes through the arena (arenaReduction) for typed arrays from 512 KiB. On 2 to 8 ranks of the Zen 4 VM of
 * docs/PERFORMANCE.md ("reduce through the arena") it was 1.6 to 2.5x faster than its tree at 512 KiB, 1.4 to 2.6x
 * at 1 MiB and 1.3 to 1.6x at 8 MiB; at 256 KiB 0.84 to 1.62x (faster on 2 ranks, slower on 8, split on 3 and 4),
 * and at 64 KiB 0.33 to 0.83x: the barriers hold every rank, where the tree's leaves send and go on.
 */
const ARENA_REDUCE_BYTES = 512 * 1024;

/**
 * Binomial tree, in ranks numbered relative to the root. The ranks that hold the value double at every step:
 * at step k every rank v < 2^k sends it to v + 2^k. So rank v receives once, from v minus its highest bit, then
 * sends on at every later step. log2(size) steps.
 *
 *     step 0: 0→1
 *     step 1: 0→2  1→3
 *     step 2: 0→4  1→5  2→6  3→7
 *
 * A large binary value on the shared transport goes through the arena instead (arenaBcast below), and only a
 * 16-byte ticket takes the tree.
 */
export function bcast<T>(comm: Comm, value: T, root: number): T {
  checkRoot(comm, root);
  comm.beginCollectiveInternal();
  const { size } = comm;
  const v = relative(comm.rank, root, size);
  const parent = v === 0 ? -1 : absolute(v - highestBit(v), root, size);
  const arena = size >= ARENA_BCAST_RANKS ? comm.arenaInternal : undefined;
  if (arena !== undefined) {
    // The root decides by its value; the others learn it from what their parent sends first, the value or a ticket
    // (nextTagInternal waits for it, and looks at its tag).
    const ticket = callTag(comm, TAG.bcastArena);
    const takesArena =
      v === 0 ? fitsArena(arena, value, size) : comm.nextTagInternal(parent, callTag(comm, TAG.bcast), ticket) === ticket;
    if (takesArena) return arenaBcast(comm, arena, value, v, parent, root);
  }
  if (v === 0) {
    sendToChildren(comm, v, root, value, callTag(comm, TAG.bcast));
    return value;
  }
  if (!ArrayBuffer.isView(value)) {
    const got = recv(comm, parent, callTag(comm, TAG.bcast)) as T;
    sendToChildren(comm, v, root, got, callTag(comm, TAG.bcast));
    return got;
  }
  // Buffer mode (mpi4py's Bcast(buf)): the root's bytes into this rank's array. The ranks below get the root's value,
  // of the root's kind, whatever this rank's buffer is; one that does not fit is refused after they have it.
  const got = comm.recvOperandInternal(value, parent, callTag(comm, TAG.bcast), true);
  const refused = got === value ? undefined : fillBuffer(comm, value, got);
  sendToChildren(comm, v, root, got === value ? asKind(value, comm.operandTypeInternal) : got, callTag(comm, TAG.bcast));
  if (refused !== undefined) throw refused;
  return value;
}

/** Sends `message` to rank v's children in the binomial tree (ranks relative to `root`), the nearest first. */
function sendToChildren(comm: Comm, v: number, root: number, message: unknown, tag: number): void {
  const { size } = comm;
  for (let mask = v === 0 ? 1 : highestBit(v) << 1; mask < size; mask <<= 1) {
    if (v + mask < size) comm.sendInternal(absolute(v + mask, root, size), message, tag);
  }
}

/** `buffer`'s bytes as codec type `type`: itself when it is of that kind, else a view of them (a copy, misaligned). */
function asKind(buffer: ArrayBufferView, type: number): unknown {
  if (encodedType(buffer) === type) return buffer;
  const bytes = bytesOf(buffer);
  return decode(type, bytes, { inPlace: bytes.byteOffset % elementSize(type) === 0 });
}

/** v's highest set bit: the step at which rank v (relative to the root) receives, from v minus it. */
function highestBit(v: number): number {
  return 1 << (31 - Math.clz32(v));
}

/**
 * bcast goes through the arena from 3 ranks, for a value whose copies at the other ranks come to 3 MiB or more
 * ((size - 1) × its bytes: 1.5 MiB on 3 ranks, 1 MiB on 4, 438 KiB on 8). On 2 ranks the tree's one copy into a
 * channel and one out of it run at once, on two cores, where the arena's run one after the other; for small values
 * the barrier that ends an arena bcast costs more than the copies it saves (the tree's calls overlap, back to back).
 * The rule sits at or a little above the crossovers measured on the Zen 4 VM of docs/PERFORMANCE.md ("bcast through
 * the arena"): between 1 and 8 MiB on 3 ranks, about 512 KiB on 4, between 256 and 512 KiB on 8.
 */
const ARENA_BCAST_RANKS = 3;
const ARENA_BCAST_COPIES_BYTES = 3 * 2 ** 20;

/**
 * The root's value goes through the arena: a binary value large enough (above) that the arena holds whole. A
 * detached one takes the tree, whose send refuses it by the same DataCloneError as on 2 ranks (a DataView over a
 * detached buffer throws at its byteLength).
 */
function fitsArena(arena: SharedArena, value: unknown, size: number): boolean {
  if (!isBinaryType(encodedType(value))) return false;
  let bytes: number;
  try {
    bytes = (value as ArrayBufferView | ArrayBufferLike).byteLength;
  } catch {
    return false;
  }
  return (size - 1) * bytes >= ARENA_BCAST_COPIES_BYTES && bytes <= arena.dataBytes;
}

/**
 * bcast of a large binary value through the shared arena: the root copies it into the arena's slots, then a ticket
 * (its type code and byte length, 16 bytes on its own tag) goes down the binomial tree in its place, and every other
 * rank passes the ticket on and copies the value out: one copy in at the root and one copy out a rank, where the
 * tree copies the value into a channel and out of one at every edge (2 (size-1) copies of it in all, against size).
 * A rank that passed a buffer gets the bytes in it (its byte length must be the root's); any other gets a new value
 * of the root's type. Every rank ends at the arena's barrier, after which nobody reads the arena any more: the next
 * collective on it may write. (A rank that passes no buffer does not know whether the root's value is large, so
 * every rank below the root first looks at which of the two tags its parent's next message carries.)
 */
function arenaBcast<T>(comm: Comm, arena: SharedArena, value: T, v: number, parent: number, root: number): T {
  let ticket = bcastTickets.get(comm);
  if (ticket === undefined) bcastTickets.set(comm, (ticket = new Float64Array(2)));
  // Up to the tickets, a failure (the root's copy in) throws before anyone waits at the barrier: it is reported as
  // itself, not as the others' wait for a ticket. From there every rank reaches the barrier, even one whose buffer
  // does not fit, so that the next collective on the arena finds the ranks together.
  if (v === 0) {
    const { type, bytes } = encode(value); // a view of the value's own bytes
    copyBytes(arena.bytes, arena.slotOffset(0), bytes);
    ticket[0] = type;
    ticket[1] = bytes.length;
  } else {
    comm.recvIntoInternal(ticket, parent, callTag(comm, TAG.bcastArena));
  }
  sendToChildren(comm, v, root, ticket, callTag(comm, TAG.bcastArena));
  try {
    return v === 0 ? value : (copyFromArena(comm, arena, ticket[0]!, ticket[1]!, value) as T);
  } finally {
    comm.arenaBarrierInternal('bcast');
  }
}

/** bcast's tickets, a small array kept per Comm. */
const bcastTickets = new WeakMap<Comm, Float64Array>();

/** The root's value, `byteLength` bytes of codec type `type` from the arena's first slot, into `buffer` or a new value. */
function copyFromArena(comm: Comm, arena: SharedArena, type: number, byteLength: number, buffer: unknown): unknown {
  const from = arena.bytes.subarray(arena.slotOffset(0), arena.slotOffset(0) + byteLength);
  if (ArrayBuffer.isView(buffer)) {
    if (buffer.byteLength !== byteLength) throw wrongBuffer(comm, buffer, byteLength);
    copyBytes(bytesOf(buffer), 0, from);
    return buffer;
  }
  const fresh = allocate(type, byteLength);
  copyBytes(fresh.bytes, 0, from);
  return fresh.value;
}

/**
 * bcast's buffer mode, when the root's value did not go straight from the ring into `buffer` (as a binary value of
 * its byte length does on the shared transport, whatever its kind, with no allocation): copies `got`'s bytes in,
 * or returns the error that refuses it by bcast's name, saying what the root sent.
 */
function fillBuffer(comm: Comm, buffer: ArrayBufferView, got: unknown): Error | undefined {
  const bytes = ArrayBuffer.isView(got) ? bytesOf(got) : got instanceof ArrayBuffer ? new Uint8Array(got) : undefined;
  if (bytes === undefined) {
    return new TypeError(
      `bcast(): rank ${comm.rank} passed a ${buffer.byteLength}-byte buffer, but the root's value is ${kindOf(got)}, ` +
        'not a typed array, DataView or ArrayBuffer',
    );
  }
  if (bytes.length !== buffer.byteLength) return wrongBuffer(comm, buffer, bytes.length);
  bytesOf(buffer).set(bytes); // transports other than 'shared'
  return undefined;
}

/** bcast's error for a buffer that is not the size of the root's value. */
function wrongBuffer(comm: Comm, buffer: ArrayBufferView, rootBytes: number): RangeError {
  return new RangeError(`bcast(): rank ${comm.rank} passed a ${buffer.byteLength}-byte buffer for the root's ${rootBytes}-byte value`);
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
 * Binomial tree towards the root (treeReduce below), where combining two partial results means putting the lists
 * end to end. The root's list is in rank order relative to it, so it rotates it back to rank order.
 *
 * The values travel inside lists, where `send`'s rules for a binary message of its own do not apply: so each rank's
 * value is first made what `send` would deliver (asSent below), and reaches the root as it would through `send`.
 */
export function gather<T>(comm: Comm, value: T, root: number): T[] | undefined {
  checkRoot(comm, root);
  const concat = (a: T[], b: T[]) => [...a, ...b];
  const own = comm.rank === root ? value : asSent(value); // the root's own value stays itself, as in every collective
  comm.beginCollectiveInternal();
  const inRelativeOrder = treeReduce(comm, [own], concat, root, callTag(comm, TAG.gather));
  if (inRelativeOrder === undefined) return undefined;
  const values = new Array<T>(comm.size);
  for (let v = 0; v < comm.size; v++) values[absolute(v, root, comm.size)] = inRelativeOrder[v]!;
  return values;
}

/** Ring (ringAllgather below): size - 1 steps, each value crosses each channel of the ring once. */
export function allgather<T>(comm: Comm, value: T): T[] {
  comm.beginCollectiveInternal();
  const values = new Array<T>(comm.size);
  values[comm.rank] = value;
  ringAllgather(comm, values, comm.rank, callTag(comm, TAG.allgather));
  return values;
}

/**
 * Binomial tree (treeReduce below). The tree keeps operands in rank order, so a function op needs only to be
 * associative: the root gets v0 ∘ v1 ∘ ... ∘ v(size-1). Named ops are commutative, so their tree hangs from the root
 * itself (float sums may then round differently for different roots); a function's tree hangs from rank 0
 * (relative order = rank order), which then passes the result to the root: one more message, for a guarantee that
 * holds for matrix products and string concatenation too. Typed arrays with a named op take treeReduceInto, which
 * allocates nothing per step, or from ARENA_REDUCE_BYTES the shared arena (arenaReduction below) where there is one;
 * `into` receives the root's result.
 */
export function reduce<T>(comm: Comm, value: T, op: ReduceOp, root: number, into?: T): T | undefined {
  checkRoot(comm, root);
  const reducer = toReducer(op);
  reducer.check(value);
  if (into !== undefined && comm.rank === root) checkInto(value, into);
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
 * Small values: recursive doubling (recursiveDoubling below), log2(size) steps. Typed arrays of 64 KiB and more
 * with a named op: through the shared arena on the shared transport (arenaReduction below: each rank copies its
 * array in and the result out once), or else ring reduce-scatter then ring allgather (ringAllreduce below), which
 * moves 2 (size-1)/size of the array per rank instead of log2(size) whole arrays. Each gives every rank the very
 * same result, bit for bit. Each rank picks the algorithm from its own value, which is one more reason why every
 * rank must pass the same kind and length (ranks that pick differently wait for each other until the deadlock
 * watchdog reports it). Typed arrays with a named op allocate no array of their size per step: what the others send
 * arrives in scratch arrays kept per Comm, or lies in the arena (which takes a few small views a piece).
 */
export function allreduce<T>(comm: Comm, value: T, op: ReduceOp, into?: T): T {
  const reducer = toReducer(op);
  reducer.check(value);
  if (into !== undefined) checkInto(value, into);
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
function treeReduce<T>(comm: Comm, value: T, combine: (a: T, b: T) => T, root: number, tag: number): T | undefined {
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
      partial = combine(partial, received);
    }
  }
  return partial;
}

/**
 * treeReduce for a typed array and a named op, with no allocation per step: each child's partial result arrives in
 * a scratch array kept per Comm and is combined into an accumulator, the caller's `into` on the root (a fresh array
 * there without one), a second scratch array on the ranks in between. Leaves, which only send, take no scratch.
 * The caller's `value` is never written (unless it is `into`).
 */
function treeReduceInto(comm: Comm, value: TypedArray, name: OpName, root: number, into: TypedArray | undefined): TypedArray | undefined {
  const { size } = comm;
  const v = relative(comm.rank, root, size);
  const length = value.length;
  let received: TypedArray | undefined; // where children's partial results arrive, once this rank has one to take
  let accumulator: TypedArray | undefined;
  let partial = value;
  for (let mask = 1; mask < size; mask <<= 1) {
    if ((v & mask) !== 0) {
      comm.sendInternal(absolute(v - mask, root, size), partial, callTag(comm, TAG.reduce));
      return undefined;
    }
    if (v + mask < size) {
      if (received === undefined) {
        const scratch = scratchFor(comm, value, v === 0 ? length : 2 * length); // may be longer than this call needs
        received = scratch.subarray(0, length);
        accumulator = v !== 0 ? scratch.subarray(length, 2 * length) : (into ?? newTypedArray(value, length));
      }
      const operand = comm.recvOperandInternal(received, absolute(v + mask, root, size), callTag(comm, TAG.reduce));
      partial = combineInto(name, partial, operand, accumulator!);
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
function recursiveDoubling<T>(comm: Comm, value: T, combine: (a: T, b: T) => T): T {
  const { rank, size } = comm;
  const powerOfTwo = 1 << (31 - Math.clz32(size));
  const extra = size - powerOfTwo;
  let partial = value;
  let newRank: number; // this rank's number among the 2^n that take part; -1 if it sits out
  if (rank < 2 * extra) {
    if (rank % 2 === 0) {
      comm.sendInternal(rank + 1, value, callTag(comm, TAG.allreduce));
      newRank = -1;
    } else {
      const received = recv(comm, rank - 1, callTag(comm, TAG.allreduce)) as T;
      partial = combine(received, partial);
      newRank = rank >> 1;
    }
  } else {
    newRank = rank - extra;
  }
  if (newRank >= 0) {
    for (let mask = 1; mask < powerOfTwo; mask <<= 1) {
      const partnerNew = newRank ^ mask;
      const partner = partnerNew < extra ? 2 * partnerNew + 1 : partnerNew + extra;
      const received = exchange(comm, partner, partial, partner, callTag(comm, TAG.allreduce)) as T;
      partial = partner < rank ? combine(received, partial) : combine(partial, received);
    }
  }
  if (rank < 2 * extra) {
    if (rank % 2 === 1) comm.sendInternal(rank - 1, partial, callTag(comm, TAG.allreduce));
    else partial = recv(comm, rank + 1, callTag(comm, TAG.allreduce)) as T;
  }
  return partial;
}

/**
 * recursiveDoubling for a typed array and a named op, with no allocation per step: the same steps, partners and
 * operand order (so the same bits on every rank), but each partner's partial result arrives in a scratch array kept
 * per Comm (straight from the ring, on the shared transport; the other transports deliver a new array anyway) and
 * is combined into the result, the caller's `into` or one new array. A rank that sits out receives the result
 * straight into it. The caller's `value` is never written (unless it is `into`).
 */
function recursiveDoublingInto(comm: Comm, value: TypedArray, name: OpName, into: TypedArray | undefined): TypedArray {
  const { rank, size } = comm;
  const powerOfTwo = 1 << (31 - Math.clz32(size));
  const extra = size - powerOfTwo;
  const result = into ?? newTypedArray(value, value.length);
  const newRank = rank < 2 * extra ? (rank % 2 === 0 ? -1 : rank >> 1) : rank - extra; // as in recursiveDoubling
  if (newRank < 0) {
    comm.sendInternal(rank + 1, value, callTag(comm, TAG.allreduce));
    const got = comm.recvOperandInternal(result, rank + 1, callTag(comm, TAG.allreduce));
    if (got !== result) result.set(got as TypedArray); // of value's kind and length: rank + 1 combined it with value
    return result;
  }
  const received = scratchFor(comm, value, value.length).subarray(0, value.length);
  let partial = value;
  if (rank < 2 * extra) {
    const operand = comm.recvOperandInternal(received, rank - 1, callTag(comm, TAG.allreduce));
    partial = combineInto(name, operand, partial, result);
  }
  for (let mask = 1; mask < powerOfTwo; mask <<= 1) {
    const partnerNew = newRank ^ mask;
    const partner = partnerNew < extra ? 2 * partnerNew + 1 : partnerNew + extra;
    const operand = exchangeOperand(comm, partner, partial, received, callTag(comm, TAG.allreduce));
    partial = partner < rank ? combineInto(name, operand, partial, result) : combineInto(name, partial, operand, result);
  }
  if (rank < 2 * extra) comm.sendInternal(rank - 1, result, callTag(comm, TAG.allreduce));
  return result; // partial is result by now: with size > 1, every rank that takes part combined at least once
}

/**
 * Allreduce, or reduce to `root`, of a large typed array with a named op through the shared arena (arena.ts): MPI's
 * shared-memory collectives. The array goes through in pieces of one slot, and the ranks take turns on the arena at
 * three barriers a piece:
 *
 *     copy in     rank r: its piece of `value` → slot r
 *     barrier     every slot holds its rank's piece
 *     combine     rank r: share r (its 1/size of the piece) of slot 0 ∘ slot 1 ∘ ... ∘ slot size-1 → share r of slot r,
 *                 or of slot 0 when ranks outnumber cores (arena.resultSlot)
 *     barrier     every share is finished
 *     copy out    every rank: share q of its slot → the result, for every q (reduce: the root alone)
 *     barrier     the slots are free again (every rank has copied the piece out)
 *
 * So each rank copies its array in once and the result out once, and its combine reads 1/size of the array from each
 * slot, in one pass; the ring allreduce copies 2 (size-1)/size of the array into channels and as much out of them, at 2
 * (size-1) steps. On 2 ranks that is as much copying (the arena still takes one step less, and no channel), and from 3
 * ranks up ever more: 1.5x at 4, 1.75x at 8. reduce (from ARENA_REDUCE_BYTES) is the same with one copy out, at the
 * root; its tree sends every rank's partial whole through channels, and its combines run one after another up the tree,
 * where here every rank combines its share at once, in WebAssembly SIMD (arena.combine). The barriers are the
 * collective's own on the arena (ControlBlock's ARENA_BARRIERS), not barrier()'s or another collective's: a rank that
 * calls barrier() where the others call allreduce waits there, for the watchdog to report, instead of releasing them
 * onto slots nobody wrote for this call. Each share is combined by one rank, from the left in rank order, so every rank
 * gets the same bits, which may differ in the last bits from another algorithm's grouping. On the first piece every
 * rank also writes into the arena its array's kind and length, its op and root, and which call of the collective this
 * is for it, and after the first barrier every rank checks all of them (checkShapes): a mismatch throws the same error
 * in every rank, before anything is combined. Returns the result: on every rank for allreduce, on the root for reduce
 * (undefined elsewhere).
 */
function arenaReduction(
  comm: Comm,
  arena: SharedArena,
  collective: 'allreduce' | 'reduce',
  value: TypedArray,
  name: OpName,
  into?: TypedArray,
  root?: number,
): TypedArray | undefined {
  const { rank, size } = comm;
  const length = value.length;
  const elementBytes = value.BYTES_PER_ELEMENT;
  const result = collective === 'allreduce' || rank === root ? into ?? newTypedArray(value, length) : undefined;
  const valueBytes = bytesOf(value);
  const resultBytes = result === undefined ? undefined : bytesOf(result);
  const perSlot = Math.floor(arena.slotBytes / elementBytes);
  for (let start = 0; start < length; start += perSlot) {
    const count = Math.min(perSlot, length - start);
    const share = (q: number) => [Math.floor((q * count) / size), Math.floor(((q + 1) * count) / size)] as const;
    const piece = valueBytes.subarray(start * elementBytes, (start + count) * elementBytes);
    copyBytes(arena.bytes, arena.slotOffset(rank), piece);
    if (start === 0) arena.setShape(rank, value, comm.reductionCallInternal(collective), name, root ?? -1);
    comm.arenaBarrierInternal(collective);
    if (start === 0) checkShapes(comm, arena, collective, name);
    const [ownFrom, ownTo] = share(rank);
    arena.combine(name, value, arena.resultSlot(rank), ownFrom, ownTo);
    comm.arenaBarrierInternal(collective);
    if (resultBytes !== undefined) {
      const copyOut = (slot: number, from: number, to: number) => {
        const at = arena.slotOffset(slot);
        const finished = arena.bytes.subarray(at + from * elementBytes, at + to * elementBytes);
        copyBytes(resultBytes, (start + from) * elementBytes, finished);
      };
      if (arena.resultsInSlotZero) copyOut(0, 0, count); // every share: in one piece
      else for (let q = 0; q < size; q++) copyOut(q, ...share(q));
    }
    comm.arenaBarrierInternal(collective);
  }
  return result;
}

/**
 * After every rank wrote its array's shape in the arena: the same error in every rank when two of them differ,
 * thrown after one more barrier, so that no rank goes on to write its line for the next call while another still
 * reads the lines of this one. Ranks at different calls of the collective come first: a reduce whose arrays differed
 * in length took the tree on some ranks and the arena on others, and those on the tree may have gone on to a later
 * call. Then ops and roots, then kinds and lengths, lower rank first, as elementwise() words it.
 */
function checkShapes(comm: Comm, arena: SharedArena, collective: 'allreduce' | 'reduce', name: OpName): void {
  try {
    for (let q = 0; q + 1 < arena.size; q++) {
      const lower = arena.shapeOf(q);
      const higher = arena.shapeOf(q + 1);
      if (lower.call !== higher.call) {
        const from = (collective === 'reduce' ? ARENA_REDUCE_BYTES : LARGE_ALLREDUCE_BYTES) / 1024;
        throw new RangeError(
          `${collective}(): rank ${q} is at its call ${lower.call} of ${collective} and rank ${q + 1} at its call ` +
            `${higher.call}: an earlier call had arrays of different lengths, which took different ways ` +
            `(typed arrays from ${from} KiB go through the shared arena)`,
        );
      }
      const [ours, theirs] = [`${collective}(): rank ${q} passed`, `and rank ${q + 1}`];
      if (lower.name !== higher.name) throw new RangeError(`${ours} '${lower.name}' ${theirs} '${higher.name}'`);
      if (lower.root !== higher.root) throw new RangeError(`${ours} root ${lower.root} ${theirs} root ${higher.root}`);
      checkOperands(name, typeName(lower.type), lower.length, typeName(higher.type), higher.length);
    }
  } catch (mismatch) {
    comm.arenaBarrierInternal(collective);
    throw mismatch;
  }
}

/** The bytes of a typed array or DataView, in place. */
function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
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
    if (step === 0) exchangeFirstSegments(comm, value, name, outgoing, received);
    else exchangeInto(comm, right, outgoing, left, received, callTag(comm, TAG.allreduceRing));
    elementwise(name, received, segment(value, index), target);
  }
  const finished = (rank + 1) % size;
  for (let step = 0; step < size - 1; step++) {
    // The ring allgather below, done in place: pass on the segment got at the previous step, take the next.
    const outgoing = segment(result, modulo(finished - step, size));
    const into = segment(result, modulo(finished - step - 1, size));
    exchangeInto(comm, right, outgoing, left, into, callTag(comm, TAG.allreduceRing));
  }
  return result;
}

/**
 * The ring's first step, with a header just before each segment: this rank's kind and length, for its right
 * neighbour to check before it takes any of our data. The ring moves segments only, so without it a left neighbour
 * with another kind or length would be combined as garbage, or fail halfway with a message about segments. A
 * mismatch anywhere shows between two neighbours (if every rank's left neighbour agrees with it, all agree), and is
 * refused as the small path's elementwise() refuses it, lower rank's array first. The header rides the same channel
 * just before the segment, so it adds no wait; it is sent from, and received into, arrays kept per Comm.
 */
function exchangeFirstSegments(comm: Comm, value: TypedArray, name: OpName, outgoing: TypedArray, received: TypedArray): void {
  const { rank, size } = comm;
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  let header = ringHeaders.get(comm);
  if (header === undefined) ringHeaders.set(comm, (header = { ours: new Float64Array(2), theirs: new Float64Array(2) }));
  header.ours[0] = encodedType(value);
  header.ours[1] = value.length;
  if (rank <= right) { // exchangeInto's order, two messages each way
    comm.sendInternal(right, header.ours, callTag(comm, TAG.allreduceRing));
    comm.sendInternal(right, outgoing, callTag(comm, TAG.allreduceRing));
  }
  comm.recvIntoInternal(header.theirs, left, callTag(comm, TAG.allreduceRing));
  const [ourKind, ourLength] = [typedArrayKind(value)!, value.length];
  const [theirKind, theirLength] = [typeName(header.theirs[0]!), header.theirs[1]!];
  if (left < rank) checkOperands(name, theirKind, theirLength, ourKind, ourLength);
  else checkOperands(name, ourKind, ourLength, theirKind, theirLength);
  comm.recvIntoInternal(received, left, callTag(comm, TAG.allreduceRing));
  if (rank > right) {
    comm.sendInternal(right, header.ours, callTag(comm, TAG.allreduceRing));
    comm.sendInternal(right, outgoing, callTag(comm, TAG.allreduceRing));
  }
}

/** The ring allreduce's headers (exchangeFirstSegments), two small arrays kept per Comm. */
const ringHeaders = new WeakMap<Comm, { ours: Float64Array; theirs: Float64Array }>();

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
 * A scratch array of `like`'s kind with at least `length` elements, kept per Comm and kind from call to call
 * (ringAllreduce, recursiveDoublingInto and treeReduceInto use it, one call at a time; it never leaves them): fresh
 * memory is expensive (page faults at well under 1 GB/s on this kind of VM), and a program that reduces two kinds
 * by turns keeps one of each. It may be longer than asked: take a subarray of what you need.
 */
const scratchArrays = new WeakMap<Comm, Map<string, TypedArray>>();
function scratchFor(comm: Comm, like: TypedArray, length: number): TypedArray {
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
function combineInto(name: OpName, lower: unknown, higher: unknown, result: TypedArray): TypedArray {
  if (typedArrayKind(lower) !== undefined && typedArrayKind(higher) !== undefined) {
    return elementwise(name, lower as TypedArray, higher as TypedArray, result);
  }
  return toReducer(name).combine(lower, higher) as TypedArray; // throws: not two typed arrays
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

/** `exchange` for the reductions: the partner's value arrives in `target` when it can (see recvOperand). */
function exchangeOperand(comm: Comm, partner: number, value: unknown, target: TypedArray, tag: number): unknown {
  if (comm.rank <= partner) {
    comm.sendInternal(partner, value, tag);
    return comm.recvOperandInternal(target, partner, tag);
  }
  const operand = comm.recvOperandInternal(target, partner, tag);
  comm.sendInternal(partner, value, tag);
  return operand;
}

/** A deadlock-free exchange (Comm.sendrecv's rule: along each edge the lower rank sends first). */
function exchange(comm: Comm, dest: number, value: unknown, source: number, tag: number): unknown {
  return comm.sendrecvInternal(dest, value, source, tag).value;
}

function recv(comm: Comm, source: number, tag: number): unknown {
  return comm.recvInternal(source, tag).value;
}

// ─── Small helpers ────────────────────────────────────────────────────────────────────────────────────────────

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

/**
 * `value` as `send` would deliver it, for a list: a SharedArrayBuffer, or a view over one, copied (inside a list
 * V8's serializer refuses one and postMessage shares it), and so is a view of part of its buffer (inside a list
 * postMessage carries the whole buffer along: 1 MiB for 8 bytes of a 1 MiB array). The codec's copy, as `send`
 * makes it; anything else as it is.
 */
function asSent<T>(value: T): T {
  if (ArrayBuffer.isView(value)) {
    const { buffer } = value;
    const whole = value.byteOffset === 0 && value.byteLength === buffer.byteLength;
    if (whole && !(buffer instanceof SharedArrayBuffer)) return value;
  } else if (!(value instanceof SharedArrayBuffer)) {
    return value;
  }
  return copyAsSent(value) as T;
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
