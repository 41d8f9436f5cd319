/**
 * The binomial tree towards a root, reduce's and gather's: for any value (treeReduce) and, allocating nothing per
 * step, for a typed array and a named op (treeReduceInto).
 */
import type { Comm } from '../comm.js';
import { copyOf, newTypedArray, type OpName, type TypedArray } from '../reduce-ops.js';
import { absolute, callTag, combineInto, recv, relative, scratchFor, TAG } from './common.js';

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
export function treeReduce<T>(
  comm: Comm,
  value: T,
  combine: (a: T, b: T) => T,
  root: number,
  tag: number,
): T | undefined {
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
export function treeReduceInto(
  comm: Comm,
  value: TypedArray,
  name: OpName,
  root: number,
  into: TypedArray | undefined,
): TypedArray | undefined {
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
