/**
 * The ring of ranks, each passing to its right and taking from its left: allgather (ringAllgather) and, for a large
 * typed array with no shared arena, allreduce (ringAllreduce: reduce-scatter, then allgather).
 */
import { encodedType, typeName } from '../codec.js';
import type { Comm } from '../comm.js';
import {
  checkOperands, elementwise, newTypedArray, typedArrayKind, type OpName, type TypedArray,
} from '../reduce-ops.js';
import { callTag, exchange, exchangeInto, modulo, scratchFor, TAG } from './common.js';

/**
 * Ring allgather: `blocks[own]` is this rank's block, and the rank to its left owns block own - 1. At each of
 * size - 1 steps every rank passes to its right the block it got at the previous step (its own at first), and
 * takes the next one from its left: after step s it holds blocks own, own - 1, ..., own - s - 1.
 *
 *     step 0: 0→1 sends b0, 1→2 b1, ..., 7→0 b7     step 1: 0→1 sends b7, 1→2 b0, ..., 7→0 b6     ...
 */
export function ringAllgather(comm: Comm, blocks: unknown[], own: number, tag: number): void {
  const { rank, size } = comm;
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  for (let step = 0; step < size - 1; step++) {
    const outgoing = blocks[modulo(own - step, size)];
    blocks[modulo(own - step - 1, size)] = exchange(comm, right, outgoing, left, tag);
  }
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
export function ringAllreduce(comm: Comm, value: TypedArray, name: OpName, into?: TypedArray): TypedArray {
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
    // ringAllgather above, done in place: pass on the segment got at the previous step, take the next.
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
function exchangeFirstSegments(
  comm: Comm,
  value: TypedArray,
  name: OpName,
  outgoing: TypedArray,
  received: TypedArray,
): void {
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
  try {
    if (left < rank) checkOperands(name, theirKind, theirLength, ourKind, ourLength);
    else checkOperands(name, ourKind, ourLength, theirKind, theirLength);
  } catch (mismatch) {
    // The last rank receives before it sends: refusing, it sends its header on first, or rank 0 (its right
    // neighbour) would wait for it and never meet the mismatch itself when it is theirs (on 2 ranks, always).
    if (rank > right) comm.sendInternal(right, header.ours, callTag(comm, TAG.allreduceRing));
    throw mismatch;
  }
  comm.recvIntoInternal(received, left, callTag(comm, TAG.allreduceRing));
  if (rank > right) {
    comm.sendInternal(right, header.ours, callTag(comm, TAG.allreduceRing));
    comm.sendInternal(right, outgoing, callTag(comm, TAG.allreduceRing));
  }
}

/** The ring allreduce's headers (exchangeFirstSegments), two small arrays kept per Comm. */
const ringHeaders = new WeakMap<Comm, { ours: Float64Array; theirs: Float64Array }>();
