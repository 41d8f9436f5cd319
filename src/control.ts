/**
 * The control block: one SharedArrayBuffer that every rank and the launcher see, whatever the transport.
 * It holds what the ranks need to block and to be woken, and what the launcher needs to watch them:
 *
 *   line 0              ABORT (1 once aborted)  REASON  FAILED_RANK
 *   line 1              BARRIER.arrived                         ranks that reached the current barrier
 *   line 2              BARRIER.generation                      bumped by the last rank in: everyone waits on it
 *   lines 3, 4          the same two for allreduce's barrier on the shared arena
 *   lines 5, 6          the same two for bcast's barrier on the shared arena
 *   lines 7, 8          the same two for reduce's barrier on the shared arena
 *   line 9 + r          DOORBELL  ASLEEP  WAIT_KIND  WAIT_PEER  PROGRESS  BARRIER_SLEEPER  WAIT_IN  STARTED
 *                       EXIT_EVENT  LOOKS  WAIT_TAG  VIEW_FROM (a line per rank)
 *
 * A rank's DOORBELL is how `recv(ANY_SOURCE)` (and every receive on the postMessage transports) sleeps on one word
 * instead of polling every channel: a sender bumps it, and notifies, only when ASLEEP says the rank is parked.
 * WAIT_KIND / WAIT_PEER say what the rank waits for right now, WAIT_IN in which collective (if any), WAIT_TAG with
 * which tag it receives (-1: any, or a collective's), and PROGRESS counts waits that ended, LOOKS the times a rank in a
 * wait looked and found nothing (WaitOptions.onStillWaiting): from these the launcher tells a deadlock (everyone waits
 * and nothing moves) from a slow computation, and from a rank that had no core to look with, and says where each rank
 * is (watchdog.ts). STARTED is set once the rank's program is imported, as it is called; EXIT_EVENT holds the code of
 * the rank's 'exit' event, as its worker exits (workers.ts, neverSettled).
 */
import { AbortedError, CommAbortedError } from './errors.js';
import { Waiter, type WaitOptions } from './wait.js';

const SLOTS_PER_LINE = 16; // Int32 slots in a 64-byte cache line: each rank's words sit on a line of their own
const ABORT = 0;
const REASON = 1;
const FAILED_RANK = 2;
/** The words of a barrier: the ranks in it, and its generation. */
export interface BarrierWords {
  arrived: number;
  generation: number;
}
/**
 * Comm's barrier(), and one for each collective on the shared arena (collectives/), apart: a rank in one never
 * releases a rank in another, so a program that calls barrier() where another rank calls allreduce, or allreduce
 * where another calls bcast, waits, and the watchdog reports it, instead of the two pairing up and a rank reading
 * slots that nobody wrote for its call.
 */
export const BARRIER: BarrierWords = { arrived: 1 * SLOTS_PER_LINE, generation: 2 * SLOTS_PER_LINE };
/** The collectives that take turns on the shared arena, each with a barrier of its own (ARENA_BARRIERS[i]). */
export const ARENA_OPS = ['allreduce', 'bcast', 'reduce'] as const;
export const ARENA_BARRIERS: readonly BarrierWords[] = [
  { arrived: 3 * SLOTS_PER_LINE, generation: 4 * SLOTS_PER_LINE },
  { arrived: 5 * SLOTS_PER_LINE, generation: 6 * SLOTS_PER_LINE },
  { arrived: 7 * SLOTS_PER_LINE, generation: 8 * SLOTS_PER_LINE },
];
const FIRST_RANK_LINE = 9;
// Offsets inside a rank's line.
const DOORBELL = 0;
const ASLEEP = 1;
const WAIT_KIND = 2;
const WAIT_PEER = 3;
const PROGRESS = 4;
const BARRIER_SLEEPER = 5; // the sleeper flag Waiter.wait takes; a barrier's last rank notifies whatever it says
const WAIT_IN = 6;
const STARTED = 7;
const EXIT_EVENT = 8;
const LOOKS = 9;
const WAIT_TAG = 10;
const VIEW_FROM = 11;

const ABORTED = 1;

/**
 * What a rank waits for; the deadlock watchdog prints these. `arena`: at the shared arena's barrier of the collective
 * that WAIT_PEER numbers in ARENA_OPS.
 */
export const WAIT = { none: 0, recv: 1, send: 2, barrier: 3, arena: 4 } as const;
export type WaitKind = (typeof WAIT)[keyof typeof WAIT];

/** The collectives a wait can be in (WAIT_IN holds the index + 1; 0: none): a deadlock report names the call. */
export const COLLECTIVES = ['bcast', 'scatter', 'gather', 'allgather', 'reduce', 'allreduce', 'alltoall'] as const;
export type Collective = (typeof COLLECTIVES)[number];

/** Why the launcher aborted the run. */
export const ABORT_REASON = { rankFailed: 1, timeout: 2, deadlock: 3, startFailed: 4, cancelled: 5 } as const;

/** `WAIT_PEER` value of a receive from any source. */
export const ANY_PEER = -1;

export class ControlBlock {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  private readonly words: Int32Array;

  static create(size: number): ControlBlock {
    return new ControlBlock(new SharedArrayBuffer((FIRST_RANK_LINE + size) * SLOTS_PER_LINE * 4), size);
  }

  constructor(buffer: SharedArrayBuffer, size: number) {
    this.buffer = buffer;
    this.size = size;
    this.words = new Int32Array(buffer);
  }

  /** A waiter over this block that throws when the run is aborted; `onWait` as in WaitOptions. */
  waiter(options: WaitOptions): Waiter {
    return new Waiter(this.words, ABORT, ABORTED, options);
  }

  // ─── Doorbells ──────────────────────────────────────────────────────────────────────────────────────────

  /** Receiver `rank`: raises its ASLEEP flag and returns the doorbell's value; check the channels after this. */
  armDoorbell(rank: number): number {
    const line = this.line(rank);
    Atomics.store(this.words, line + ASLEEP, 1);
    return Atomics.load(this.words, line + DOORBELL);
  }

  /** Receiver `rank`: sleeps until the doorbell moves from `seen` (or throws on abort / at the deadline). */
  waitDoorbell(waiter: Waiter, rank: number, seen: number, deadline: number, timeoutMs: number | undefined, op: string): void {
    const line = this.line(rank);
    waiter.wait(line + DOORBELL, seen, line + ASLEEP, deadline, timeoutMs, op);
  }

  /** Receiver `rank`: lowers its flag once it found a message without sleeping. */
  disarmDoorbell(rank: number): void {
    Atomics.store(this.words, this.line(rank) + ASLEEP, 0);
  }

  /**
   * Sender, after it published a message for `rank`: rings the doorbell if the rank may be asleep.
   * The message was published before this load, and the receiver raised its flag before it looked for messages:
   * both sequentially consistent, so either it sees our message or we see its flag.
   */
  ringDoorbell(rank: number): void {
    const line = this.line(rank);
    if (Atomics.load(this.words, line + ASLEEP) !== 0) {
      Atomics.add(this.words, line + DOORBELL, 1);
      Atomics.notify(this.words, line + DOORBELL);
    }
  }

  // ─── Barrier ────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * A central counter barrier with a generation number: the last rank to arrive resets the counter and bumps the
   * generation, which releases everyone waiting on it. The generation read *before* arriving is what we wait on,
   * so a rank that is slow to go to sleep cannot miss the release. `which`: BARRIER or one of ARENA_BARRIERS.
   */
  barrier(waiter: Waiter, rank: number, which = BARRIER, deadline = Infinity, timeoutMs?: number): void {
    const words = this.words;
    const generation = Atomics.load(words, which.generation);
    if (Atomics.add(words, which.arrived, 1) === this.size - 1) {
      Atomics.store(words, which.arrived, 0);
      Atomics.add(words, which.generation, 1);
      Atomics.notify(words, which.generation);
      return;
    }
    // Several ranks sleep on the generation, so the last one always notifies: the flag slot is each rank's own (a
    // rank is in one barrier at a time, so the barriers share it).
    waiter.wait(which.generation, generation, this.line(rank) + BARRIER_SLEEPER, deadline, timeoutMs, 'barrier');
  }

  // ─── What each rank waits for ───────────────────────────────────────────────────────────────────────────

  /**
   * The collective this thread's rank is in (its index + 1 in COLLECTIVES; 0: none). A plain field of this thread's
   * ControlBlock, which setWaiting copies into the rank's line as a wait begins: a store to the line at every call
   * would take the line from the ranks that read its ASLEEP word as they send (bcast of 8 bytes on 2 ranks: 0.15 µs,
   * and 0.21 to 0.27 with a store a call; docs/PERFORMANCE.md, "A word on a line that the senders read").
   */
  within = 0;

  /**
   * The tag this thread's rank receives with (-1: any tag, or a collective's own), set as a receive begins, which
   * setWaiting copies into the rank's line as within is: a deadlock report then says `waits to receive from rank 0 with
   * tag 2`, where rank 0 sent with tag 1.
   */
  receivingTag = -1;

  /**
   * The rank whose message this thread's rank holds as a view (Comm.recvView lends it until release(); -1: none),
   * which setWaiting copies as it does within: the ring it lies in cannot take back its room meanwhile, so a deadlock
   * report says why a sender to this rank finds the channel full.
   */
  viewFrom = -1;

  /** Rank `rank` starts (`kind` != none) or stops waiting; a stop counts as progress. */
  setWaiting(rank: number, kind: WaitKind, peer: number): void {
    const line = this.line(rank);
    if (kind === WAIT.none) {
      Atomics.store(this.words, line + WAIT_KIND, WAIT.none);
      Atomics.add(this.words, line + PROGRESS, 1);
    } else {
      Atomics.store(this.words, line + WAIT_PEER, peer);
      Atomics.store(this.words, line + WAIT_IN, this.within);
      Atomics.store(this.words, line + WAIT_TAG, this.receivingTag);
      Atomics.store(this.words, line + VIEW_FROM, this.viewFrom);
      Atomics.store(this.words, line + WAIT_KIND, kind);
    }
  }

  /** Rank `rank`: its program is imported, and runs from now on. */
  markStarted(rank: number): void {
    Atomics.store(this.words, this.line(rank) + STARTED, 1);
  }

  /** Launcher: whether `rank` got as far as calling its program (else it is still starting: a worker, an import). */
  startedOf(rank: number): boolean {
    return Atomics.load(this.words, this.line(rank) + STARTED) !== 0;
  }

  /** Rank `rank`, in its 'exit' event: the code the event carries (0 when Node ends the worker itself). */
  markExitEvent(rank: number, code: number): void {
    Atomics.store(this.words, this.line(rank) + EXIT_EVENT, code);
  }

  /** Launcher: the code of `rank`'s 'exit' event, once its worker has exited (0 before). */
  exitEventOf(rank: number): number {
    return Atomics.load(this.words, this.line(rank) + EXIT_EVENT);
  }

  /** Rank `rank`, in a wait that goes on: it looked again and found nothing (a Waiter's onStillWaiting). */
  markLooked(rank: number): void {
    Atomics.add(this.words, this.line(rank) + LOOKS, 1);
  }

  /**
   * Launcher: what `rank` waits for now, in which collective, with which tag (a receive; -1 for any), holding a view of
   * whose message (-1: none), how many waits it has finished, and how many times it has looked in vain (`looks`). Can
   * be stale at once.
   */
  waitingOf(rank: number): {
    kind: WaitKind; peer: number; within: Collective | undefined; tag: number; viewFrom: number; progress: number;
    looks: number;
  } {
    const line = this.line(rank);
    return {
      kind: Atomics.load(this.words, line + WAIT_KIND) as WaitKind,
      peer: Atomics.load(this.words, line + WAIT_PEER),
      within: COLLECTIVES[Atomics.load(this.words, line + WAIT_IN) - 1],
      tag: Atomics.load(this.words, line + WAIT_TAG),
      viewFrom: Atomics.load(this.words, line + VIEW_FROM),
      progress: Atomics.load(this.words, line + PROGRESS),
      looks: Atomics.load(this.words, line + LOOKS),
    };
  }

  // ─── Abort ──────────────────────────────────────────────────────────────────────────────────────────────

  /** Launcher: aborts the run; every rank that waits, or will wait, throws `CommAbortedError`. */
  abort(reason: number, failedRank = -1): void {
    Atomics.store(this.words, REASON, reason);
    Atomics.store(this.words, FAILED_RANK, failedRank);
    Atomics.or(this.words, ABORT, ABORTED);
    for (let rank = 0; rank < this.size; rank++) {
      const line = this.line(rank);
      Atomics.add(this.words, line + DOORBELL, 1);
      Atomics.notify(this.words, line + DOORBELL);
    }
    for (const barrier of [BARRIER, ...ARENA_BARRIERS]) Atomics.notify(this.words, barrier.generation);
  }

  get aborted(): boolean {
    return (Atomics.load(this.words, ABORT) & ABORTED) !== 0;
  }

  /** The error a rank throws once the run is aborted. */
  abortError(): CommAbortedError {
    const failed = Atomics.load(this.words, FAILED_RANK);
    const reason = Atomics.load(this.words, REASON);
    const text =
      reason === ABORT_REASON.rankFailed ? 'it threw or exited'
      : reason === ABORT_REASON.timeout ? 'the launch timed out'
      : reason === ABORT_REASON.deadlock ? 'a deadlock was detected'
      : reason === ABORT_REASON.startFailed ? "a rank's worker could not be started"
      : reason === ABORT_REASON.cancelled ? "the launch was cancelled (its AbortSignal)"
      : 'the launcher stopped the run';
    return new CommAbortedError(failed, text);
  }

  /** Turns the ring's or the waiter's `AbortedError` into the rank-level `CommAbortedError`; others pass. */
  translate(err: unknown): unknown {
    return err instanceof AbortedError ? this.abortError() : err;
  }

  private line(rank: number): number {
    return (FIRST_RANK_LINE + rank) * SLOTS_PER_LINE;
  }
}
