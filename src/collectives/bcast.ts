/**
 * bcast: down a binomial tree, or for a large binary value through the shared arena, with a ticket down the tree.
 */
import type { SharedArena } from '../arena.js';
import { allocate, decodeBytes, elementSize, encode, encodedType, isBinaryType } from '../codec.js';
import type { Comm } from '../comm.js';
import { copyBytes } from '../copy.js';
import { aBytes, kindOf } from '../describe.js';
import { absolute, bytesOf, callTag, checkRoot, recv, relative, TAG } from './common.js';

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
  checkRoot(comm, root, 'bcast');
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

/** v's highest set bit: the step at which rank v (relative to the root) receives, from v minus it. */
function highestBit(v: number): number {
  return 1 << (31 - Math.clz32(v));
}

/** `buffer`'s bytes as codec type `type`: itself when it is of that kind, else a view of them (a copy, misaligned). */
function asKind(buffer: ArrayBufferView, type: number): unknown {
  if (encodedType(buffer) === type) return buffer;
  const bytes = bytesOf(buffer);
  return decodeBytes(type, bytes, bytes.byteOffset % elementSize(type) === 0);
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

/**
 * The root's value, `byteLength` bytes of codec type `type` from the arena's first slot, into `buffer` or a new value.
 */
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
      `bcast(): rank ${comm.rank} passed ${aBytes(buffer.byteLength)} buffer, but the root's value is ${kindOf(got)}, ` +
        'not a typed array, DataView or ArrayBuffer',
    );
  }
  if (bytes.length !== buffer.byteLength) return wrongBuffer(comm, buffer, bytes.length);
  bytesOf(buffer).set(bytes); // transports other than 'shared'
  return undefined;
}

/** bcast's error for a buffer that is not the size of the root's value. */
function wrongBuffer(comm: Comm, buffer: ArrayBufferView, rootBytes: number): RangeError {
  return new RangeError(`bcast(): rank ${comm.rank} passed ${aBytes(buffer.byteLength)} buffer for the root's ${rootBytes}-byte value`);
}
