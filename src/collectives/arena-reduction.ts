/**
 * reduce and allreduce of large typed arrays through the shared arena (arena.ts), and the sizes from which they take
 * it.
 */
import type { SharedArena } from '../arena.js';
import { typeName } from '../codec.js';
import type { Comm } from '../comm.js';
import { copyBytes } from '../copy.js';
import { checkOperands, newTypedArray, type OpName, type TypedArray } from '../reduce-ops.js';
import { bytesOf } from './common.js';

/**
 * Typed arrays this large are allreduced through the shared arena (arenaReduction) where there is one, and round a
 * ring (least data moved through channels) where there is none; smaller ones by recursive doubling (fewest steps).
 */
export const LARGE_ALLREDUCE_BYTES = 64 * 1024;

/**
 * reduce goes through the arena (arenaReduction) for typed arrays from 512 KiB. On 2 to 8 ranks of the Zen 4 VM of
 * docs/PERFORMANCE.md ("reduce through the arena") it was 1.6 to 2.5x faster than its tree at 512 KiB, 1.4 to 2.6x
 * at 1 MiB and 1.3 to 1.6x at 8 MiB; at 256 KiB 0.84 to 1.62x (faster on 2 ranks, slower on 8, split on 3 and 4),
 * and at 64 KiB 0.33 to 0.83x: the barriers hold every rank, where the tree's leaves send and go on.
 */
export const ARENA_REDUCE_BYTES = 512 * 1024;

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
export function arenaReduction(
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
