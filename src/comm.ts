/**
 * Comm: what a rank program sees. Point-to-point messages with MPI semantics (blocking, tags, any source,
 * non-overtaking), on whichever transport the launcher chose, plus the collectives (collectives.ts).
 *
 * Matching: a message that arrives with a tag nobody asked for yet waits in its source's queue; a later `recv`
 * looks in the queue before it looks at the channel. Messages from one source with the same tag therefore come
 * out in the order they were sent (MPI's non-overtaking rule), whatever else arrives in between.
 */
import type { SharedArena } from './arena.js';
import * as collectives from './collectives.js';
import { encodedType, isBinaryType } from './codec.js';
import { byteLengthOf, describe, kindOf } from './describe.js';
import {
  ANY_PEER, ARENA_BARRIERS, ARENA_OPS, BARRIER, COLLECTIVES, WAIT,
  type BarrierWords, type Collective, type ControlBlock, type WaitKind,
} from './control.js';
import type { Waiter, WaitStrategy } from './wait.js';
import { doesNotFitError, notBinaryError, type Receiver } from './channel.js';
import type { OpName } from './reduce-ops.js';
import type { SameKind, Sent, TypedArray, Widen } from './sent.js';
import { SharedTransport } from './transport/shared.js';
import type { Envelope, Transport, TransportName } from './transport/types.js';

/** Receive from whichever rank sends first. */
export const ANY_SOURCE = -1;
/** Receive a message whatever its (user) tag. */
export const ANY_TAG = -1;
/** The largest tag a program may use, 2^31 - 1 (tags run from 0); negative tags are reserved for the collectives. */
export const MAX_TAG = 2 ** 31 - 1;
/** Tags a collective call apart: the reserved tags of collectives/common.ts lie between -2 and -10, within a span of 16. */
const TAG_SPAN = 16;
/** The collective calls that tags tell apart before they repeat: -10 - 16 (2^20 - 1) is still a signed 32-bit tag. */
const CALLS_IN_TAGS = 2 ** 20;

/** A received message with where it came from. */
export interface Status<T = unknown> {
  /** The message (`recvWithStatus`), or the number of bytes received into the target (`recvInto`). */
  value: T;
  /** The rank it came from. */
  source: number;
  /** The tag it was sent with. */
  tag: number;
}

/** `op` of reduce/allreduce: a name, or a function combining two values (it should be associative). */
export type ReduceOp = OpName | ReduceFunction;
/** An `op` of reduce/allreduce that is a function: `a` comes from the lower ranks. */
export type ReduceFunction = (a: any, b: any) => any;
/** What the named ops ('sum', 'prod', 'min', 'max') combine: numbers, bigints, and typed arrays elementwise. */
export type Reducible = number | bigint | TypedArray;
/** What a named op gives for a value of type `T`: a number, a bigint, or a new typed array of `T`'s kind. */
export type Reduced<T> = T extends number ? number : T extends bigint ? bigint : Sent<T>;
/** What `into` of reduce/allreduce may be for a value of type `T`: a typed array of its kind; nothing else. */
export type IntoFor<T> = T extends TypedArray ? SameKind<T> : never;

/**
 * What a rank program gets from `launch` as its first argument: its rank, the size, and MPI-style messages. Every call
 * is blocking, with MPI's semantics (non-overtaking per source and tag; collectives called by every rank in the same
 * order), and belongs to this rank's own thread. Calls check their arguments first and throw `TypeError`/`RangeError`
 * in the rank that made the mistake, with what was given. When another rank fails (or the run times out, deadlocks or
 * is cancelled), a call that waits, or would wait, throws `CommAbortedError`. Comm sets no timeouts of its own:
 * `launch`'s `timeoutMs` bounds the run.
 */
export class Comm {
  /** This rank's number, from 0 to size - 1. */
  readonly rank: number;
  /** How many ranks run the program. */
  readonly size: number;
  /** How messages travel: 'shared' (rings), 'transfer' or 'clone' (postMessage). */
  readonly transport: TransportName;
  /** How this rank waits when it blocks: launch's `strategy` option. */
  readonly strategy: WaitStrategy;

  private readonly channels: Transport;
  private readonly control: ControlBlock;
  private readonly waiter: Waiter;
  /** Messages taken off a channel before anyone asked for them, per source (this rank's own sends included). */
  private readonly queues: Envelope[][];
  private nextAnySource = 0; // where recv(ANY_SOURCE) starts looking, so that no source starves
  private polled: Envelope | undefined; // a match that anyTurn read from a channel, for its caller
  private readonly copied: Status<number> = { value: 0, source: 0, tag: 0 }; // what recvInto answers, reused
  private readonly copiedInternally: Status<number> = { value: 0, source: 0, tag: 0 }; // the same, collectives'

  private operandType = 0; // the codec type of the message recvOperandInternal last copied into its target
  // The collective calls this rank has begun, past the checks of their arguments (a call refused there moved nothing):
  // the collectives number their reserved tags by it, and the arena checks that every rank is at the same call of
  // reduce or allreduce.
  private collectiveCalls = 0; // modulo CALLS_IN_TAGS
  /**
   * @internal What the current call takes off the collectives' reserved tags (collectives/common.ts, callTag()): 16 times its
   * number (collectiveCalls, this call included), so that each call's tags are its own.
   */
  tagOffsetInternal = 0;
  // The offsets of the calls that a collective inside another's op (a function of reduce) interrupted, put back as
  // it ends (enter and leave).
  private readonly outerTagOffsets: number[] = [];
  private readonly reductionCalls = { reduce: 0, allreduce: 0 };
  // What this rank is about to wait for, published to the control block only if the wait lasts (see WaitOptions.onWait).
  private waitKind: WaitKind = WAIT.none;
  private waitPeer = 0;
  // In waitOnDoorbell, the doorbell may wake this rank for messages it does not wait for (another source's on the
  // postMessage transports): those wakes are not progress, or a rank stuck in a cycle would look like it moves for as
  // long as others send to it. So one call is one wait, told to the control block once.
  private inDoorbellWait = false;
  private doorbellTold = false; // the control block was told of this doorbell wait

  /** @internal Built by the rank entry from what the launcher wired; programs receive it ready-made. */
  static createInternal(
    rank: number, size: number, channels: Transport, control: ControlBlock, strategy: WaitStrategy,
  ): Comm {
    return new Comm(rank, size, channels, control, strategy);
  }

  // Private: a program gets its Comm from launch (the declarations show `private constructor()`, so that `new Comm()`
  // does not type-check and then fail).
  private constructor(rank: number, size: number, channels: Transport, control: ControlBlock, strategy: WaitStrategy) {
    this.rank = rank;
    this.size = size;
    this.transport = channels.name;
    this.strategy = strategy;
    this.channels = channels;
    this.control = control;
    this.waiter = control.waiter({
      strategy,
      onWait: (waiting) => {
        if (this.inDoorbellWait) {
          if (!waiting) return; // woken for another's message: still the same wait (waitOnDoorbell ends it)
          this.doorbellTold = true;
        }
        control.setWaiting(rank, waiting ? this.waitKind : WAIT.none, this.waitPeer);
      },
      onStillWaiting: () => control.markLooked(rank),
    });
    this.queues = Array.from({ length: size }, () => []);
  }

  // ─── Point to point ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Sends `value` (anything structured clone accepts; typed arrays travel as raw bytes) to rank `dest`.
   * Returns once the value is copied out of your hands: you may change it right after. Blocks while the channel
   * is full, so two ranks that both send large messages first and receive second wait on each other for ever:
   * use `sendrecv` for exchanges (the deadlock watchdog reports the cycle if you don't). `undefined` is a value like
   * any other when passed (`send(1, undefined)`); a call with no value at all (`send(1)`) is refused.
   * @throws `TypeError`/`RangeError` for a `dest` that is not a rank or a bad `tag`; `DataCloneError` for a value
   *   structured clone refuses; `CommAbortedError`.
   */
  send(dest: number, value: unknown, tag = 0): void {
    // undefined is a message like any other, when passed; a call with no value at all is a slip (`send(1)`). The
    // count of arguments is read only for undefined, and TurboFan reads it without making the arguments object.
    if (value === undefined && arguments.length < 2) throw noValueError('send', dest);
    this.checkRank(dest, 'dest');
    this.checkTag(tag, 'tag');
    this.sendInternal(dest, value, tag | 0); // -0 as 0, as a ring's Int32 carries it, on every transport
  }

  /**
   * The value of the next message from `source` (default `ANY_SOURCE`) with `tag` (default `ANY_TAG`, any user tag).
   * Blocks until one comes. `T` is what the sender sent; the value is typed as it arrives (`recv<Buffer>()` is a
   * Uint8Array: `Sent`).
   * @throws `TypeError`/`RangeError` for a bad `source` or `tag`; `RangeError` for a receive from this rank itself (or
   *   from any rank, alone) that nothing it sent matches; `Error` from the source whose view `recvView` lends;
   *   `CommAbortedError`.
   */
  recv<T = unknown>(source = ANY_SOURCE, tag = ANY_TAG): Sent<T> {
    return this.recvWithStatus<T>(source, tag).value;
  }

  /** Like `recv` (same defaults, same errors), with the rank it came from and its tag: `{ value, source, tag }`. */
  recvWithStatus<T = unknown>(source = ANY_SOURCE, tag = ANY_TAG): Status<Sent<T>> {
    if (source !== ANY_SOURCE) this.checkRank(source, 'source');
    if (tag !== ANY_TAG) this.checkTag(tag, 'tag');
    this.refuseHeldSource(source, tag, 'recv');
    return this.recvInternal(source, tag) as Status<Sent<T>>;
  }

  /**
   * Sends to `dest` and receives from `source` without the deadlock that `send` then `recv` risks when every rank
   * does it with messages larger than a channel: along each edge the lower rank sends first and the higher one
   * receives first, so any cycle of exchanges (a swap, a shift round a ring) has a rank that unblocks it.
   * `S` is what this rank sends and `R` what `source` sends, by default the same; the value is typed as it arrives.
   * `source` defaults to `dest` (a swap); `tag`, default 0, is both the send's and the receive's.
   * @throws as `send` and `recv` do (`source` must be a rank: no `ANY_SOURCE`). A send that throws exchanges nothing,
   *   on either rank of the edge: a message received already stays, for the next receive.
   */
  sendrecv<S = unknown, R = S>(dest: number, value: S, source = dest, tag = 0): Sent<R> {
    if (value === undefined && arguments.length < 2) throw noValueError('sendrecv', dest);
    this.checkRank(dest, 'dest', 'sendrecv');
    this.checkRank(source, 'source', 'sendrecv');
    this.checkTag(tag, 'tag');
    this.refuseHeldSource(source, tag, 'sendrecv');
    return this.sendrecvInternal(dest, value, source, tag | 0).value as Sent<R>; // -0 as 0, as send()
  }

  /**
   * Receives the next message from `source` (a typed array, DataView or ArrayBuffer) into `target`, a typed array
   * or DataView of at least its size, and returns how many bytes arrived: MPI's `Recv` into a buffer (mpi4py's
   * buffer mode). On the shared transport, from a given source, the bytes go from the ring straight into `target`,
   * with no allocation: the answer `{ value: bytes, source, tag }` is one object per Comm, filled again by the next
   * `recvInto` (as MPI fills a status you pass it), so read it before then. `source` and `tag` default to any.
   * @throws `TypeError` for a `target` that is not a view, or a message that is not binary; `RangeError` for one larger
   *   than `target` (either way the message stays, for the next receive); else as `recv`.
   */
  recvInto(target: ArrayBufferView, source = ANY_SOURCE, tag = ANY_TAG): Readonly<Status<number>> {
    if (!ArrayBuffer.isView(target)) throw notATargetError(target);
    if (source !== ANY_SOURCE) this.checkRank(source, 'source');
    if (tag !== ANY_TAG) this.checkTag(tag, 'tag');
    this.refuseHeldSource(source, tag, 'recvInto');
    return this.recvIntoInternal(target, source, tag, this.copied);
  }

  /**
   * Zero-copy receive (shared transport): the next message from `source`, a typed array or a DataView, as a view into
   * the ring, valid until `release()` (one that travelled in chunks, above `Sender.chunkBytes`, is lent from a buffer
   * the channel keeps, filled by one copy: `Receiver.recvView`). Any other message (an ArrayBuffer included), or one
   * larger than half the ring less a 16-byte frame header (`maxMessage`), comes back as an ordinary owned value (and
   * `release()` is then harmless). On the other transports this is `recv`. `tag` defaults to any.
   * @throws `Error` while a view is held already; else as `recv`.
   */
  recvView<T = ArrayBufferView>(source: number, tag = ANY_TAG): T {
    this.checkRank(source, 'source', 'recvView');
    if (tag !== ANY_TAG) this.checkTag(tag, 'tag');
    if (this.control.viewFrom >= 0) throw new Error('recvView() while holding a view: release() it first');
    try {
      const receiver = this.viewableReceiver(source, tag);
      if (receiver !== undefined) {
        const message = receiver.recvView<T>()!;
        if (receiver.holding) this.control.viewFrom = source;
        return message.value;
      }
    } catch (err) {
      throw this.control.translate(err);
    }
    return this.recvInternal(source, tag).value as T;
  }

  /**
   * Gives the view from `recvView()` back to the channel. Using the view after this reads someone else's data. A no-op
   * when no view is held; never blocks.
   */
  release(): void {
    if (this.control.viewFrom < 0) return;
    const receiver = (this.channels as SharedTransport).receiver(this.control.viewFrom);
    this.control.viewFrom = -1;
    receiver.release();
  }

  // ─── Collectives (the algorithms are in collectives.ts and collectives/) ──────────────────────────────────────

  /**
   * Blocks until every rank has called `barrier()` (a shared counter with a generation number; allowed while a view
   * is held).
   * @throws `CommAbortedError`.
   */
  barrier(): void {
    this.barrierOn(BARRIER, WAIT.barrier, -1);
  }

  /**
   * @internal The barrier of `op`'s turns on the shared arena: apart from barrier()'s and from the other arena
   * collectives' (control.ts), and reported to the deadlock watchdog as a wait in `op`.
   */
  arenaBarrierInternal(op: (typeof ARENA_OPS)[number]): void {
    const index = ARENA_OPS.indexOf(op);
    this.barrierOn(ARENA_BARRIERS[index]!, WAIT.arena, index);
  }

  /** Waits at the barrier of `words`, reported to the watchdog as `kind` (and `peer`: which arena collective). */
  private barrierOn(words: BarrierWords, kind: typeof WAIT.barrier | typeof WAIT.arena, peer: number): void {
    this.awaiting(kind, peer);
    try {
      this.control.barrier(this.waiter, this.rank, words);
    } catch (err) {
      throw this.control.translate(err);
    }
  }

  /**
   * Every rank gets root's `value` (binomial tree; on the shared transport, from 3 ranks, a large binary value goes
   * through the shared arena). Buffer mode: a non-root rank that passes a typed array of the root's size gets the
   * bytes in it, in place, and no allocation on the shared transport (mpi4py's `Bcast(buf)`); a buffer of another
   * size, or a root value that is not binary, throws in that rank, saying so.
   *
   * The root gets its own value back, and so does a rank that passed a buffer; the others get it as it arrives
   * (`Sent`): hence `T | Sent<T>`, which is `T` but for binary values (a Buffer arrives as a Uint8Array). `root`
   * defaults to 0.
   * @throws `TypeError`/`RangeError` for a bad `root` or buffer; `DataCloneError`; `Error` while a view from `recvView`
   *   is held; `CommAbortedError`.
   */
  bcast<T>(value: T, root = 0): T | Sent<T> {
    this.refuseWhileHolding('bcast');
    const outer = this.enter('bcast');
    try {
      return collectives.bcast(this, value, root);
    } finally {
      this.leave(outer);
    }
  }

  /**
   * Root passes `values` (one per rank; other ranks' `values` are ignored); each rank gets its own element (the root
   * its own, the others a copy). `root` defaults to 0.
   * @throws `TypeError`/`RangeError` for a bad `root`, or on the root for `values` that are not one per rank;
   *   `DataCloneError`; `Error` while a view from `recvView` is held; `CommAbortedError`.
   */
  scatter<T>(values: readonly T[] | undefined, root = 0): T | Sent<T> {
    this.refuseWhileHolding('scatter');
    const outer = this.enter('scatter');
    try {
      return collectives.scatter(this, values, root);
    } finally {
      this.leave(outer);
    }
  }

  /**
   * Root gets every rank's value in rank order (its own as itself, the others' as they arrive); the others get
   * undefined. `root` defaults to 0.
   * @throws `TypeError`/`RangeError` for a bad `root`; `DataCloneError`; `Error` while a view from `recvView` is held;
   *   `CommAbortedError`.
   */
  gather<T>(value: T, root = 0): (T | Sent<T>)[] | undefined {
    this.refuseWhileHolding('gather');
    const outer = this.enter('gather');
    try {
      return collectives.gather(this, value, root);
    } finally {
      this.leave(outer);
    }
  }

  /**
   * Every rank gets every rank's value in rank order (its own as itself, the others' as they arrive).
   * @throws `DataCloneError`; `Error` while a view from `recvView` is held; `CommAbortedError`.
   */
  allgather<T>(value: T): (T | Sent<T>)[] {
    this.refuseWhileHolding('allgather');
    const outer = this.enter('allgather');
    try {
      return collectives.allgather(this, value);
    } finally {
      this.leave(outer);
    }
  }

  /**
   * Root gets the values of all ranks combined with `op` (typed arrays elementwise); the others get undefined. On the
   * root, `into` (MPI's recvbuf: a typed array of the value's kind and length, or `value` itself) receives the result
   * and is returned (with a named op and the shared transport, nothing of the array's size is allocated, once this
   * Comm keeps a scratch array of that kind and size: the first such call makes it, on the ranks that receive; from
   * 512 KiB, through the shared arena, none is needed); other ranks ignore it.
   *
   * The types refuse what the root would: a named op with a value that is not a number, bigint or typed array, and
   * `into` with a value that is not a typed array, or of another kind. A named op gives a number, a bigint or a new
   * typed array of the value's kind (`Reduced`); a function's result is typed as the value, widened
   * (`Widen<T> | Sent<T>`).
   *
   * This form: with `into`, the root gets `into` back, filled.
   * @throws `TypeError` for an unknown `op` or values it cannot combine; `RangeError` for typed arrays of different
   *   lengths; `TypeError`/`RangeError` for a bad `root` or `into`; `Error` while a view is held; `CommAbortedError`.
   */
  reduce<T extends Reducible, I extends IntoFor<T>>(value: T, op: ReduceOp, root: number, into: I): I | undefined;
  /**
   * Root gets the values of all ranks combined by the function `op(a, b)` (`a` from the lower ranks; it should be
   * associative), typed as the value, widened; the others get undefined. `root` defaults to 0; `into`, on the root,
   * receives a typed-array result.
   * @throws what `op` throws; `TypeError`/`RangeError` for a bad `root` or `into`; `DataCloneError` for a value
   *   structured clone refuses; `Error` while a view is held; `CommAbortedError`.
   */
  reduce<T, I extends IntoFor<T> = never>(value: T, op: ReduceFunction, root?: number, into?: I):
    Widen<T> | Sent<T> | I | undefined;
  /**
   * Root gets the values of all ranks combined with a named op, `'sum'`, `'prod'`, `'min'` or `'max'` (typed arrays
   * elementwise): a number, a bigint or a new typed array of the value's kind (`Reduced`); the others get undefined.
   * `root` defaults to 0.
   * @throws `TypeError` for an unknown `op` or values it cannot combine; `RangeError` for typed arrays of different
   *   lengths; `TypeError`/`RangeError` for a bad `root` or `into`; `Error` while a view is held; `CommAbortedError`.
   */
  reduce<T extends Reducible, I extends IntoFor<T> = never>(value: T, op: ReduceOp, root?: number, into?: I):
    Reduced<T> | I | undefined;
  reduce(value: unknown, op: ReduceOp, root = 0, into?: unknown): unknown {
    this.refuseWhileHolding('reduce');
    const outer = this.enter('reduce');
    try {
      return collectives.reduce(this, value, op, root, into);
    } finally {
      this.leave(outer);
    }
  }

  /**
   * Every rank gets the values of all ranks combined with `op`. For a typed array, `into` (MPI's recvbuf: an array of
   * the same kind and length, or `value` itself to reduce in place) receives the result, and no array is allocated
   * for it. Typed as `reduce` is.
   *
   * This form: with `into`, every rank gets `into` back, filled.
   * @throws `TypeError` for an unknown `op` or values it cannot combine; `RangeError` for typed arrays of different
   *   lengths; `TypeError`/`RangeError` for a bad `into`; `Error` while a view is held; `CommAbortedError`.
   */
  allreduce<T extends Reducible, I extends IntoFor<T>>(value: T, op: ReduceOp, into: I): I;
  /**
   * Every rank gets the values of all ranks combined by the function `op(a, b)` (`a` from the lower ranks; it should
   * be associative), typed as the value, widened; `into` receives a typed-array result.
   * @throws what `op` throws; `TypeError`/`RangeError` for a bad `into`; `DataCloneError` for a value structured clone
   *   refuses; `Error` while a view is held; `CommAbortedError`.
   */
  allreduce<T, I extends IntoFor<T> = never>(value: T, op: ReduceFunction, into?: I): Widen<T> | Sent<T> | I;
  /**
   * Every rank gets the values of all ranks combined with a named op, `'sum'`, `'prod'`, `'min'` or `'max'` (typed
   * arrays elementwise): a number, a bigint or a new typed array of the value's kind (`Reduced`).
   * @throws `TypeError` for an unknown `op` or values it cannot combine; `RangeError` for typed arrays of different
   *   lengths; `TypeError`/`RangeError` for a bad `into`; `Error` while a view is held; `CommAbortedError`.
   */
  allreduce<T extends Reducible, I extends IntoFor<T> = never>(value: T, op: ReduceOp, into?: I): Reduced<T> | I;
  allreduce(value: unknown, op: ReduceOp, into?: unknown): unknown {
    this.refuseWhileHolding('allreduce');
    const outer = this.enter('allreduce');
    try {
      return collectives.allreduce(this, value, op, into);
    } finally {
      this.leave(outer);
    }
  }

  /**
   * Rank r sends `values[d]` to every rank d and gets back one value from each, in rank order (its own part as
   * itself, the others as they arrive).
   * @throws `TypeError`/`RangeError` for `values` that are not one per rank; `DataCloneError`; `Error` while a view
   *   from `recvView` is held; `CommAbortedError`.
   */
  alltoall<T>(values: readonly T[]): (T | Sent<T>)[] {
    this.refuseWhileHolding('alltoall');
    const outer = this.enter('alltoall');
    try {
      return collectives.alltoall(this, values);
    } finally {
      this.leave(outer);
    }
  }

  // ─── Internals, also used by collectives.ts and collectives/ (tags below zero are theirs) ─────────────────────

  /**
   * @internal The shared arena, for allreduce, reduce and bcast of large values: the shared transport's, if launch
   * made one.
   */
  get arenaInternal(): SharedArena | undefined {
    return this.channels instanceof SharedTransport ? this.channels.arena : undefined;
  }

  /**
   * @internal How many calls of `op` this rank has begun (beginCollectiveInternal), this one included. A reduce whose
   * arrays differ in length from rank to rank can take the tree on one rank (whose leaves send and return) and the
   * arena on another, and a later call then meet an earlier one at the arena: the arena compares these numbers, and
   * refuses.
   */
  reductionCallInternal(op: 'reduce' | 'allreduce'): number {
    return this.reductionCalls[op];
  }

  /**
   * @internal A collective call passed its checks and begins: it takes the next number, which its tags carry
   * (tagOffsetInternal), and a reduce or allreduce is counted for reductionCallInternal too. A call refused by its own
   * checks is not counted: retried, it meets the others' messages. Left, it leaves its rank a call behind the ranks
   * that made it, if they went on without it (a leaf of reduce's tree, where the root refused its `into`). Calls pair
   * up in order: a later call of another collective waits, and is reported; one of the same collective meets the
   * others' previous call, as in MPI, except at the arena, which compares the reductionCallInternal numbers. Ranks
   * that wait in the call itself (at the arena) are reported there.
   */
  beginCollectiveInternal(reduction?: 'reduce' | 'allreduce'): void {
    this.collectiveCalls = (this.collectiveCalls + 1) % CALLS_IN_TAGS;
    this.tagOffsetInternal = TAG_SPAN * this.collectiveCalls;
    if (reduction !== undefined) this.reductionCalls[reduction]++;
  }

  /** @internal Sends without validating the tag, so collectives can use reserved (negative) tags. */
  sendInternal(dest: number, value: unknown, tag: number): void {
    if (dest === this.rank) {
      // The copy this transport would deliver, as if it had travelled (on 'clone' and 'transfer', nested
      // SharedArrayBuffers are shared, as postMessage shares them; the shared transport's codec refuses them).
      this.queues[dest]!.push({ value: this.channels.copyForSelf(value), tag, source: dest });
      return;
    }
    try {
      this.channels.send(dest, value, tag);
    } catch (err) {
      throw this.control.translate(err);
    }
  }

  /**
   * @internal `sendrecv` without validation, for the collectives' reserved tags. Sending to yourself never blocks. A
   * send that throws (a value structured clone refuses) exchanges nothing, whichever goes first: the higher rank puts
   * the message it received back where it was, queued or, newest from its source, at the end of its queue.
   */
  sendrecvInternal(dest: number, value: unknown, source: number, tag: number): Envelope {
    if (this.rank <= dest) {
      this.sendInternal(dest, value, tag);
      return this.recvInternal(source, tag);
    }
    const queue = this.queues[source]!;
    const queuedAt = findMatching(queue, tag);
    const received = this.recvInternal(source, tag);
    try {
      this.sendInternal(dest, value, tag);
    } catch (err) {
      if (queuedAt >= 0) queue.splice(queuedAt, 0, received);
      else queue.push(received);
      throw err;
    }
    return received;
  }

  /**
   * @internal For the reductions: the next message from `source`, copied into `target` when it is a typed array of the same
   * kind and length arriving through a ring (no allocation); otherwise the message itself, for the caller to combine
   * (or to refuse by name: a mismatched kind or length is reported by the reduction, not here). With `anyKind`
   * (bcast's buffer mode, which takes bytes), any binary message of `target`'s byte length is copied in, and
   * `operandTypeInternal` says what kind it was.
   */
  recvOperandInternal(target: ArrayBufferView, source: number, tag: number, anyKind = false): unknown {
    try {
      const receiver = this.viewableReceiver(source, tag);
      const next = receiver === undefined ? null : receiver.peekMeta();
      const fits = next !== null && next.bytes === target.byteLength &&
        (anyKind ? isBinaryType(next.type) : next.type === encodedType(target));
      if (receiver !== undefined && fits) {
        receiver.recvInto(target);
        this.operandType = next.type;
        return target;
      }
    } catch (err) {
      throw this.control.translate(err);
    }
    return this.recvInternal(source, tag).value;
  }

  /** @internal The codec type of the message that recvOperandInternal last copied straight into its target. */
  get operandTypeInternal(): number {
    return this.operandType;
  }

  /**
   * @internal `recvInto` without validation; the answer is `copied`, which the collectives leave at its default (an
   * object of their own), so that a collective never overwrites the answer of the user's last `recvInto`.
   */
  recvIntoInternal(
    target: ArrayBufferView, source: number, tag: number, copied = this.copiedInternally,
  ): Readonly<Status<number>> {
    this.control.receivingTag = tag;
    try {
      // viewableReceiver peeked already: peeking again only reads the header it holds
      const receiver = source === ANY_SOURCE ? undefined : this.viewableReceiver(source, tag);
      const next = receiver === undefined ? null : receiver.peekMeta();
      if (receiver !== undefined && next !== null && isBinaryType(next.type)) {
        const got = receiver.recvInto(target)!;
        copied.value = got.bytes;
        copied.source = source;
        copied.tag = got.tag;
        return copied;
      }
    } catch (err) {
      throw this.control.translate(err);
    }
    // A message that does not fit (or is not binary) stays where it was, for the next receive, as the ring leaves
    // it: one queued already is copied before it leaves the queue; one from the channel, the newest from its source,
    // goes to the end of its source's queue, behind the older ones.
    let message: Envelope;
    let queuedFrom: number;
    try {
      queuedFrom = this.queuedSource(source, tag); // from any source, this reads the channels too
    } catch (err) {
      throw this.control.translate(err);
    }
    if (queuedFrom >= 0) {
      const queue = this.queues[queuedFrom]!;
      const at = findMatching(queue, tag);
      copied.value = copyInto(target, queue[at]!.value);
      message = removeAt(queue, at);
      if (source === ANY_SOURCE) this.nextAnySource = (queuedFrom + 1) % this.size;
    } else {
      const turn = this.nextAnySource;
      message = this.awaitMessage(source, tag); // queuedSource has looked at the queues (and the channels) already
      try {
        copied.value = copyInto(target, message.value);
      } catch (err) {
        this.queues[message.source]!.push(message);
        this.nextAnySource = turn; // nothing was received: from any source, it is still the same source's turn
        throw err;
      }
    }
    copied.source = message.source;
    copied.tag = message.tag;
    return copied;
  }

  /**
   * @internal Which of two collective tags the next message from `source` with either of them carries: waits for one
   * (on the shared transport), queueing the messages of other tags that come first, as a receive would, and leaves
   * it where it is. bcast asks it whether its parent sends the value itself or a ticket to the arena.
   */
  nextTagInternal(source: number, tag: number, otherTag: number): number {
    const queue = this.queues[source]!;
    for (const message of queue) if (message.tag === tag || message.tag === otherTag) return message.tag;
    this.control.receivingTag = tag;
    if (!(this.channels instanceof SharedTransport)) throw new Error('nextTagInternal(): the shared transport only');
    try {
      const channels = this.channels;
      const receiver = channels.receiver(source);
      for (;;) {
        const next = receiver.peekMeta(); // null only at an end marker, which no rank writes: recvBlocking refuses it
        if (next !== null && (next.tag === tag || next.tag === otherTag)) return next.tag;
        queue.push(channels.recvBlocking(source)); // an Envelope as poll makes it (a spread of recv's answer: 0.8 µs)
      }
    } catch (err) {
      throw this.control.translate(err);
    }
  }

  /** @internal Receives a message matching `source` and `tag` (ANY_TAG matches user tags only). */
  recvInternal(source: number, tag: number): Envelope {
    this.control.receivingTag = tag; // for a deadlock report, should this receive wait (ControlBlock.setWaiting)
    let queued: Envelope | undefined;
    try {
      queued = this.takeQueued(source, tag); // from any source, this reads the channels too
    } catch (err) {
      throw this.control.translate(err);
    }
    return queued ?? this.awaitMessage(source, tag);
  }

  /** The next message from `source` with `tag` off the channels, when none is queued: blocks until one comes. */
  private awaitMessage(source: number, tag: number): Envelope {
    if (source === this.rank || (source === ANY_SOURCE && this.size === 1)) { // no other rank could send it
      const from = source === ANY_SOURCE ? 'any rank, alone,' : 'itself';
      throw new RangeError(`rank ${this.rank} waits to receive from ${from} ${this.unsentToSelf(tag)}: that would block for ever`);
    }
    try {
      for (;;) {
        const message = source === ANY_SOURCE ? this.pullAny() : this.pullFrom(source);
        if (matches(message.tag, tag)) return message;
        this.queues[message.source]!.push(message);
      }
    } catch (err) {
      throw this.control.translate(err);
    }
  }

  /** What a receive from this rank itself would wait for: "with nothing sent", or a tag none of its messages has. */
  private unsentToSelf(tag: number): string {
    const queued = this.queues[this.rank]!.length;
    if (queued === 0 || tag < 0) return 'with nothing sent';
    return `with tag ${tag}, which none of the ${queued} message${queued === 1 ? '' : 's'} it sent itself has`;
  }

  /**
   * The message a receive from `source` with `tag` takes without waiting, or undefined: from a rank, its oldest queued
   * match; from any source, the match of the source whose turn it is (anyTurn).
   */
  private takeQueued(source: number, tag: number): Envelope | undefined {
    if (source !== ANY_SOURCE) return takeMatching(this.queues[source]!, tag);
    const from = this.anyTurn(tag);
    if (from < 0) return undefined;
    this.nextAnySource = (from + 1) % this.size;
    const polled = this.polled;
    this.polled = undefined;
    return polled ?? takeMatching(this.queues[from]!, tag);
  }

  /**
   * The source whose queue holds the message a receive from `source` with `tag` would take first, or -1. From any
   * source, a match that anyTurn found on a channel is queued first, at the end of its source's queue (the newest).
   */
  private queuedSource(source: number, tag: number): number {
    if (source !== ANY_SOURCE) return findMatching(this.queues[source]!, tag) >= 0 ? source : -1;
    const from = this.anyTurn(tag);
    if (this.polled !== undefined) this.queues[from]!.push(this.polled);
    this.polled = undefined;
    return from;
  }

  /**
   * Whose turn it is, for a receive from any source with `tag` that does not wait: the first source from nextAnySource
   * on whose next message (its oldest queued match, or else the message at the head of its channel) matches, or -1.
   * A source's queued messages are not preferred to another's channel, before it in turn: a rank whose messages get
   * queued (by receives of another tag from it) would starve the others. A look at a source reads at most one message
   * of its channel; one that does not match is queued, and the looks go round again while some channel had one, so
   * that a source streaming other tags is not drained into its queue while another source has a match (with none, it
   * is, as before). A match read from a channel is left in `polled`.
   */
  private anyTurn(tag: number): number {
    for (let read = true; read;) {
      read = false;
      for (let i = 0; i < this.size; i++) {
        const from = (this.nextAnySource + i) % this.size;
        if (findMatching(this.queues[from]!, tag) >= 0) return from;
        if (from === this.rank) continue;
        const message = this.channels.poll(from); // nothing while recvView lends that channel's last message
        if (message === undefined) continue;
        if (matches(message.tag, tag)) {
          this.polled = message;
          return from;
        }
        this.queues[from]!.push(message);
        read = true;
      }
    }
    return -1;
  }

  /** The next message from `source`, whatever its tag; blocks. */
  private pullFrom(source: number): Envelope {
    return this.channels.poll(source) ?? this.channels.recvBlocking(source) ?? this.waitOnDoorbell(source);
  }

  /** The next message from whichever rank has one, starting after the last source served; blocks. */
  private pullAny(): Envelope {
    return this.pollAny() ?? this.waitOnDoorbell(ANY_SOURCE);
  }

  private pollAny(): Envelope | undefined {
    for (let i = 0; i < this.size; i++) {
      const source = (this.nextAnySource + i) % this.size;
      if (source === this.rank) continue;
      const message = this.channels.poll(source);
      if (message !== undefined) {
        this.nextAnySource = (source + 1) % this.size;
        return message;
      }
    }
    return undefined;
  }

  /**
   * Sleeps on this rank's doorbell until a message from `source` (or any) arrives. The flag goes up before we look
   * at the channels one last time, so a sender that publishes after our look sees the flag and rings.
   */
  private waitOnDoorbell(source: number): Envelope {
    this.awaiting(WAIT.recv, source === ANY_SOURCE ? ANY_PEER : source);
    this.inDoorbellWait = true;
    try {
      for (let woken = false; ; woken = true) {
        const seen = this.control.armDoorbell(this.rank);
        const message = source === ANY_SOURCE ? this.pollAny() : this.channels.poll(source);
        if (message !== undefined) return message;
        // Woken by another's message, and still nothing: a look in vain, for the watchdog (each wake starts a new
        // wait, whose own looks come only as it parks, or after 25 ms of `spin`, which a rank sent to more often would
        // never reach).
        if (woken) this.control.markLooked(this.rank);
        this.control.waitDoorbell(this.waiter, this.rank, seen, Infinity, undefined, 'recv');
      }
    } finally {
      this.inDoorbellWait = false;
      if (this.doorbellTold) this.control.setWaiting(this.rank, WAIT.none, this.waitPeer);
      this.doorbellTold = false;
      this.control.disarmDoorbell(this.rank);
    }
  }

  /**
   * The ring to read from in place, when the next message from `source` is the one asked for (blocks until one
   * comes). Throws the ring's own errors: its callers translate them.
   */
  private viewableReceiver(source: number, tag: number): Receiver | undefined {
    if (!(this.channels instanceof SharedTransport) || source === this.rank) return undefined;
    if (findMatching(this.queues[source]!, tag) >= 0) return undefined;
    this.control.receivingTag = tag;
    const channels = this.channels;
    const receiver = channels.receiver(source);
    for (;;) {
      const next = receiver.peekMeta(); // null only at an end marker, which no rank writes: recvBlocking refuses it
      if (next !== null && matches(next.tag, tag)) return receiver;
      this.queues[source]!.push(channels.recvBlocking(source)); // another tag: queue it, look at the next
    }
  }

  /**
   * Marks this rank as in collective `name`, for the deadlock watchdog ("rank 1 waits to receive from rank 0 in
   * bcast"), and returns the mark before, which the call puts back as it ends. A collective called inside another
   * (from reduce's op) marks itself while it runs, where the rank then waits.
   */
  private enter(name: Collective): number {
    const outer = this.control.within;
    this.control.within = COLLECTIVES.indexOf(name) + 1;
    if (outer !== 0) this.outerTagOffsets.push(this.tagOffsetInternal); // the outer call goes on with its own tags
    return outer;
  }

  /** Ends what enter() began: back to the mark before (and, inside another collective, to its tags). */
  private leave(outer: number): void {
    if (outer !== 0) this.tagOffsetInternal = this.outerTagOffsets.pop()!;
    this.control.within = outer;
  }

  /**
   * Says what this rank's next wait on the control block (a barrier, its doorbell) waits for: the deadlock watchdog
   * is told only if the wait lasts (WaitOptions.onWait). A ring's waits tell it themselves (SharedTransport gives each
   * ring side its own onWait).
   *
   * Errors: every internal method through which a call may block (sendInternal, recvInternal, recvIntoInternal,
   * recvOperandInternal, recvView, barrier) turns the ring's or doorbell's AbortedError into a CommAbortedError naming
   * the rank that failed (`control.translate`), in a catch of its own; the helpers they call (pullFrom, pullAny,
   * waitOnDoorbell, viewableReceiver) leave that to them. A helper that took each call as a closure would allocate
   * one per message.
   */
  private awaiting(kind: WaitKind, peer: number): void {
    this.waitKind = kind;
    this.waitPeer = peer;
  }

  /**
   * While a view from `recvView()` is held, the next message on its source's channel cannot be read (the ring lends
   * the one before it), so a receive from that source is refused, by the name of the call that asked, unless a
   * message it matches is queued already (one of another tag that recvView read past). One from any source skips
   * that channel until release(), and the deadlock watchdog reports it if nothing else comes.
   */
  private refuseHeldSource(source: number, tag: number, op: string): void {
    if (source >= 0 && source === this.control.viewFrom && findMatching(this.queues[source]!, tag) < 0) {
      throw new Error(`${op}() from rank ${source} while holding a view of its last message: release() it first`);
    }
  }

  /**
   * A collective is refused on entry while a view from `recvView()` is held, before anything moves (barrier() uses no
   * channel and goes ahead): it may need any rank's channel at any of its steps, and some ranks send before they
   * receive, so one refused halfway would leave messages behind that a retry after release() would take as its own.
   */
  private refuseWhileHolding(op: string): void {
    const held = this.control.viewFrom;
    if (held >= 0) throw new Error(`${op}() while holding a view of rank ${held}'s last message: release() it first`);
  }

  private checkRank(value: number, name: string, call = 'send'): void {
    if (!Number.isInteger(value)) {
      // mpi4py's order is send(value, dest): an array or an object where the rank belongs is the likely mistake.
      const swapped = name === 'dest' && typeof value === 'object' && value !== null;
      const hint = swapped ? ` (the rank comes first: ${call}(dest, value))` : '';
      throw new TypeError(`Expected \`${name}\` to be an integer rank from 0 to ${this.size - 1}, got ${describe(value)}${hint}`);
    }
    if (value < 0 || value >= this.size) {
      // recv, recvWithStatus and recvInto take ANY_SOURCE (-1) before they check a source: sendrecv and recvView don't.
      const anySource = value === ANY_SOURCE && name === 'source';
      const hint = anySource ? ` (ANY_SOURCE: ${call}() receives from a given rank)` : '';
      throw new RangeError(`Expected \`${name}\` to be a rank from 0 to ${this.size - 1}, got ${value}${hint}`);
    }
  }

  private checkTag(value: number, name: string): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_TAG) {
      // Only send and sendrecv check ANY_TAG (-1): a message goes with a tag of its own.
      const hint = value === ANY_TAG ? ' (ANY_TAG matches a receive, but a message is sent with a tag of its own)' : '';
      const message = `Expected \`${name}\` to be an integer from 0 to ${MAX_TAG}, got ${describe(value)}${hint}`;
      throw Number.isInteger(value) ? new RangeError(message) : new TypeError(message); // as checkRank's: type, range
    }
  }
}

/**
 * send() or sendrecv() called with a rank and nothing else. Sending undefined is allowed (it is a value, with a short
 * code of its own), but only when passed: the types require the value too.
 */
function noValueError(call: string, dest: unknown): TypeError {
  const rank = typeof dest === 'number' ? String(dest) : 'dest';
  return new TypeError(
    `Expected a value after the rank: ${call}(dest, value), got ${call}(${describe(dest)}) with none ` +
      `(undefined is sent when passed: ${call}(${rank}, undefined))`,
  );
}

/**
 * recvInto's refusal of a `target` that is no view. A number there is a rank given first (the buffer comes first, as
 * in MPI's Recv(buf, source)); an ArrayBuffer needs a view over it.
 */
function notATargetError(target: unknown): TypeError {
  const hint = typeof target === 'number' ? ' (the buffer comes first: recvInto(buffer, source, tag))'
    : target instanceof ArrayBuffer || target instanceof SharedArrayBuffer ? ' (pass a view of it: new Uint8Array(buffer))'
    : '';
  return new TypeError(`Expected \`target\` to be a typed array or DataView, got ${describe(target)}${hint}`);
}

/** Copies a received binary value into `target`; the bytes copied. */
function copyInto(target: ArrayBufferView, value: unknown): number {
  const bytes =
    ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    : value instanceof ArrayBuffer ? new Uint8Array(value)
    : undefined;
  if (bytes === undefined) throw notBinaryError(kindOf(value));
  const room = byteLengthOf(target); // a DataView's byteLength throws once detached
  if (bytes.length > room) throw doesNotFitError(bytes.length, room);
  if (bytes.length > 0) new Uint8Array(target.buffer, target.byteOffset, room).set(bytes); // a detached target has room 0
  return bytes.length;
}

/** ANY_TAG matches every user tag (>= 0) but never the collectives' reserved negative tags. */
function matches(messageTag: number, wanted: number): boolean {
  return wanted === ANY_TAG ? messageTag >= 0 : messageTag === wanted;
}

function takeMatching(queue: Envelope[], tag: number): Envelope | undefined {
  const at = findMatching(queue, tag);
  return at < 0 ? undefined : removeAt(queue, at);
}

/** Takes `queue[at]` out; the first with shift(), which makes no array, where splice() makes one of what it took. */
function removeAt(queue: Envelope[], at: number): Envelope {
  return at === 0 ? queue.shift()! : queue.splice(at, 1)[0]!;
}

/** Where the first message of `queue` that `tag` matches is, or -1. */
function findMatching(queue: readonly Envelope[], tag: number): number {
  for (let i = 0; i < queue.length; i++) {
    if (matches(queue[i]!.tag, tag)) return i;
  }
  return -1;
}
