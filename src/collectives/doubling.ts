/**
 * Recursive doubling, allreduce's algorithm for small values: for any value (recursiveDoubling) and, allocating
 * nothing per step, for a typed array and a named op (recursiveDoublingInto).
 */
import type { Comm } from '../comm.js';
import { newTypedArray, type OpName, type TypedArray } from '../reduce-ops.js';
import { callTag, combineInto, exchange, exchangeOperand, recv, scratchFor, TAG } from './common.js';

/**
 * Recursive doubling: at step k every rank swaps its partial result with the rank whose number differs in bit k,
 * and both compute combine(lower ranks' partial, higher ranks' partial). The two partners combine the same two
 * operands in the same order, so after log2(size) steps every rank holds the same bits, even for float sums and
 * for a function that is not commutative (operands stay in rank order). NaNs aside: both partners compute each NaN, and
 * V8's tiers do not agree on a NaN's sign and payload (a fuzz met NaNs of other bits on 2 ranks of 6, Float32 sums),
 * where the arena and the ring compute each element on one rank and copy it.
 *
 *     step 0: 0↔1 2↔3 4↔5 6↔7     step 1: 0↔2 1↔3 4↔6 5↔7     step 2: 0↔4 1↔5 2↔6 3↔7
 *
 * When size is not a power of two, say 2^n + extra, the first 2·extra ranks pair up first: each even one hands its
 * value to the odd one after it and sits out, the 2^n left renumber 0 .. 2^n - 1 in rank order, and at the end
 * each odd one hands the result back to its even partner.
 */
export function recursiveDoubling<T>(comm: Comm, value: T, combine: (a: T, b: T) => T): T {
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
export function recursiveDoublingInto(
  comm: Comm,
  value: TypedArray,
  name: OpName,
  into: TypedArray | undefined,
): TypedArray {
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
