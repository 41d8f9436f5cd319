/**
 * Waiting for a shared Int32 word to change: spin a little, then park in `Atomics.wait`.
 *
 * Why both: a spinning thread sees a change within nanoseconds but burns its core; a parked thread costs nothing but
 * needs the other side to call `Atomics.notify`, and the wake-up costs a futex and a context switch (a bare parked
 * ping-pong, `node docs/probes/park-floor.mjs`: 12 to 14 µs on the first VM of docs/PERFORMANCE.md, 23 to 35 on the Zen
 * 4 VM most of the time). On two cores the other thread may even be scheduled on *our* core, so an unbounded spin can
 * starve the very thread it waits for: every spin has a time budget, then parks (unless the caller asked for pure
 * `spin`).
 *
 * The sleeper flag: `Atomics.notify` costs ~50 ns even when nobody sleeps, so the side that moves an index only
 * notifies when the waiter has raised its flag. The waiter raises the flag, *then* re-reads the word; the mover stores
 * the word, *then* reads the flag. All four are sequentially consistent atomics, so at least one side sees the other's
 * store: either the waiter sees the new value and does not sleep, or the mover sees the flag and notifies. That notify
 * may come before the waiter is inside `Atomics.wait`, and is not lost either: `Atomics.wait(words, index, seen)`
 * compares the word with `seen` and goes to sleep as one step, as far as `notify` can tell, and returns 'not-equal' at
 * once if the word has moved. So a wake-up that follows a moved word can never be lost: the flag only makes it safe to
 * skip `notify`. (A notify that leaves the watched word as it was, as an abort's, can come just before the sleep and be
 * missed: so a park sleeps in slices, PARK_SLICE_MS below.) One thread may have several async waits pending on one
 * word: the flag stays up until the last of them ends (each Waiter counts its own; the first to end must not lower the
 * flag under the others, which would then sleep out their slice unnotified). It is stored, not added to: a thread
 * terminated while it slept leaves its flag up, and the next sleeper on that side lowers it for good as it wakes.
 */
import { describe, refuseUnknownOptions } from './describe.js';
import { AbortedError, TimeoutError } from './errors.js';

/** How a blocked call waits: `spin` (lowest latency, burns a core), `park` (sleeps at once), or both in turn. */
export type WaitStrategy = 'spin' | 'park' | 'spinThenPark';

/** Every `WaitStrategy`, in order: `['spin', 'park', 'spinThenPark']` (for a CLI's choices, or to validate input). */
export const WAIT_STRATEGIES: readonly WaitStrategy[] = ['spin', 'park', 'spinThenPark'];

/** How one side of a ring waits when it blocks: the part of `RingOptions` that is not `corkBytes`. */
export interface WaitOptions {
  /**
   * `'spin'` (lowest latency, holds a core), `'park'` (sleeps in `Atomics.wait` at once) or `'spinThenPark'` (spins
   * `spinMicros`, then parks). Default `'spinThenPark'` (`launch` picks its own: `defaultStrategy`); another name is a
   * `TypeError`.
   */
  strategy?: WaitStrategy | undefined;
  /**
   * How long `spinThenPark` spins before it parks, in microseconds, and how long a spinning wait lasts before
   * `onWait` hears of it (one that parks is reported as it parks). Default 30; a finite number >= 0, else a
   * `RangeError`.
   */
  spinMicros?: number | undefined;
  /**
   * Called with true once a blocking wait has lasted `spinMicros` or parks (a wait that ends sooner is not reported)
   * and with false when that wait ends; an async wait (`readAsync`, ...) reports every wait, at once. The ranks layer
   * records there what each rank waits for, for the deadlock watchdog. What it throws ends the wait and reaches the
   * caller. Default: none.
   */
  onWait?: ((waiting: boolean) => void) | undefined;
  /**
   * Called while a reported wait goes on, each time the waiter has looked and found nothing: every 25 ms or so, parked
   * or spinning. The ranks layer counts these looks for the watchdog, which then tells a rank stuck in its wait from
   * one that has had no core to look with (a machine far oversubscribed). Default: none.
   */
  onStillWaiting?: (() => void) | undefined;
}

/** The options checkWaitOptions checks: the callbacks take no checking. */
type CheckedWaitOptions = Required<Omit<WaitOptions, 'onWait' | 'onStillWaiting'>>;

export const DEFAULT_SPIN_MICROS = 30;

/**
 * A parked waiter is woken by `notify`, but an abort can slip in between our last check and the start of
 * `Atomics.wait`; sleeping in slices bounds how late such a waiter notices (the common case is woken at once).
 */
const PARK_SLICE_MS = 25;
/** How often a wait that spins on and on (strategy 'spin') calls onStillWaiting, at most. */
const STILL_WAITING_MS = 25;

/** Atomics.load calls between two looks at the clock while spinning (a clock read costs ~25 ns). */
const SPINS_PER_CLOCK_READ = 64;

/** Validates wait options once, where a ring or comm is set up, so the hot path need not. */
export function checkWaitOptions(options: WaitOptions): CheckedWaitOptions {
  const strategy = options.strategy ?? 'spinThenPark';
  if (!WAIT_STRATEGIES.includes(strategy)) {
    throw new TypeError(`Expected \`strategy\` to be one of ${WAIT_STRATEGIES.join(', ')}, got ${describe(strategy)}`);
  }
  const spinMicros = options.spinMicros ?? DEFAULT_SPIN_MICROS;
  if (!(spinMicros >= 0 && Number.isFinite(spinMicros))) {
    throw new RangeError(`Expected \`spinMicros\` to be a finite number >= 0, got ${describe(spinMicros)}`);
  }
  return { strategy, spinMicros };
}

/**
 * Turns a blocking call's options into an absolute `performance.now()` deadline (Infinity without `timeoutMs`). The
 * call per message passes no options: that case alone is inlined, as checkTimeout's is.
 */
export function deadlineFor(options: { timeoutMs?: number } | undefined): number {
  return options === undefined ? Infinity : deadlineOf(options);
}

function deadlineOf(options: { timeoutMs?: number }): number {
  checkGivenTimeout(options);
  const timeoutMs = options?.timeoutMs;
  return timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
}

/**
 * Throws unless a blocking call's options hold a `timeoutMs` that is a number >= 0, or nothing: `{ timeout: 5 }`, a
 * typo, would wait for ever, and so would `read(100)`, a number where the options go. A blocking call checks them as it
 * starts, before it takes or writes anything, not only once it has to wait: a bad value must not cut a message in
 * chunks short. The rule (README, "One rule for `timeoutMs`"): undefined and Infinity wait for ever, 0 does not wait (a
 * TimeoutError at once where the call would have to), and anything else that is not a number >= 0 is refused. Options
 * without a `timeoutMs` are looked at whole (their type, their keys); with one, only it is, so a call per message pays a
 * typeof.
 */
export function checkTimeout(options: { timeoutMs?: number } | undefined): void {
  // The call per message passes no options: that case alone is kept small enough to be inlined (docs/PERFORMANCE.md,
  // "Errors out of line").
  if (options !== undefined) checkGivenTimeout(options);
}

function checkGivenTimeout(options: { timeoutMs?: number } | null): void {
  const timeoutMs = options?.timeoutMs; // `?.`: null options are none, as map's are
  if (timeoutMs === undefined) {
    if (options === null) return;
    if (typeof options !== 'object') {
      const example = typeof options === 'number' ? options : 100;
      throw new TypeError(`Expected a blocking call's options like { timeoutMs: ${example} }, got ${describe(options)}`);
    }
    refuseUnknownOptions('blocking call', options, ['timeoutMs'], { timeout: 'timeoutMs' });
  } else if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw new RangeError(`Expected \`timeoutMs\` to be a number >= 0, got ${describe(timeoutMs)}`);
  }
}

/**
 * One side's way of waiting on the words of one shared Int32Array (a ring's header, a comm's control block).
 * `state` is the slot whose `abortBit`, once set, makes every wait throw `AbortedError`.
 */
export class Waiter {
  readonly words: Int32Array;
  readonly options: CheckedWaitOptions;
  private readonly onWait: ((waiting: boolean) => void) | undefined;
  private readonly onStillWaiting: (() => void) | undefined;
  private readonly state: number;
  private readonly abortBit: number;

  constructor(words: Int32Array, state: number, abortBit: number, options: WaitOptions = {}) {
    this.words = words;
    this.state = state;
    this.abortBit = abortBit;
    this.options = checkWaitOptions(options);
    this.onWait = options.onWait;
    this.onStillWaiting = options.onStillWaiting;
  }

  /** True once the abort bit is set; cheap enough to call before starting a blocking call. */
  get aborted(): boolean {
    return (Atomics.load(this.words, this.state) & this.abortBit) !== 0;
  }

  /**
   * Blocks until `Atomics.load(words, index) !== seen`, with the flag in slot `sleeper` up while parked.
   * `deadline` is a `performance.now()` time (Infinity for none); `timeoutMs` only names the budget in the
   * `TimeoutError`. `op` names the call in errors, e.g. `read`.
   *
   * `onWait` hears of a wait only once it has lasted `spinMicros` (or parks, whichever comes first): the waits of
   * two threads streaming end within a few spins, and telling the deadlock watchdog of each one costs two stores
   * to a line the other rank reads (7 to 9% of a ping-pong's time, the first VM of docs/PERFORMANCE.md, 2026-11-26:
   * "The deadlock watchdog hears only of waits that last"). A deadlock is still seen: its waits last.
   */
  wait(index: number, seen: number, sleeper: number, deadline: number, timeoutMs: number | undefined, op: string): void {
    const words = this.words;
    const { strategy, spinMicros } = this.options;
    let observed = false;
    try {
      if (strategy === 'park') {
        if (Atomics.load(words, index) !== seen) return; // nothing to wait for: nothing to report
      } else {
        // The first round of spins runs before the clock is read: a message that is about to arrive (the common
        // case when two threads stream) then costs no clock read at all.
        for (let i = 0; i < SPINS_PER_CLOCK_READ; i++) {
          if (Atomics.load(words, index) !== seen) return;
        }
        const observeAt = performance.now() + spinMicros / 1000;
        const spinUntil = strategy === 'spin' ? deadline : Math.min(observeAt, deadline); // then park, or time out
        let stillAt = Infinity; // when a wait that spins on tells onStillWaiting next
        for (;;) {
          for (let i = 0; i < SPINS_PER_CLOCK_READ; i++) {
            if (Atomics.load(words, index) !== seen) return;
          }
          if (this.aborted) throw new AbortedError(op);
          const now = performance.now();
          if (now >= spinUntil) break;
          if (!observed && now >= observeAt) { // `spin` never parks: its long waits are reported here
            observed = true;
            this.onWait?.(true);
            stillAt = now + STILL_WAITING_MS;
          } else if (now >= stillAt) { // after spins that found nothing
            this.onStillWaiting?.();
            stillAt = now + STILL_WAITING_MS;
          }
        }
      }
      if (!observed) {
        observed = true;
        this.onWait?.(true);
      }
      this.park(index, seen, sleeper, deadline, timeoutMs, op);
    } finally {
      if (observed) this.onWait?.(false);
    }
  }

  /** Sleeps in `Atomics.wait`, with the sleeper flag up, until the word moves from `seen`. */
  private park(index: number, seen: number, sleeper: number, deadline: number, timeoutMs: number | undefined, op: string): void {
    const words = this.words;
    this.raise(sleeper); // before sleepFor's look at the word (the top of this file)
    try {
      for (;;) {
        const sleepMs = this.sleepFor(index, seen, deadline, timeoutMs, op);
        if (sleepMs === 0) return;
        this.onStillWaiting?.(); // sleepFor looked and found nothing
        Atomics.wait(words, index, seen, sleepMs);
        if (Atomics.load(words, index) !== seen) return;
      }
    } finally {
      this.lower(sleeper);
    }
  }

  /** This thread's waits parked on each sleeper flag (several async ones may be pending at once). */
  private readonly parked = new Map<number, number>();

  /** Raises the flag in slot `sleeper` for one more wait of ours (sequentially consistent, as the top says). */
  private raise(sleeper: number): void {
    const count = this.parked.get(sleeper) ?? 0;
    this.parked.set(sleeper, count + 1);
    Atomics.store(this.words, sleeper, 1);
  }

  /** Lowers the flag in slot `sleeper` once none of our waits is parked on it any more. */
  private lower(sleeper: number): void {
    const count = this.parked.get(sleeper)! - 1;
    this.parked.set(sleeper, count);
    if (count === 0) Atomics.store(this.words, sleeper, 0);
  }

  /**
   * With the sleeper flag raised: looks at the word once more (the order that makes a lost wake-up impossible, see
   * the top of this file) and says how long to sleep: 0 when the word has moved already. Throws once aborted or past
   * the deadline.
   */
  private sleepFor(index: number, seen: number, deadline: number, timeoutMs: number | undefined, op: string): number {
    if (Atomics.load(this.words, index) !== seen) return 0;
    if (this.aborted) throw new AbortedError(op);
    const left = deadline - performance.now();
    if (left <= 0) throw new TimeoutError(op, timeoutMs ?? 0);
    return Math.min(left, PARK_SLICE_MS);
  }

  /**
   * The same wait for code that must keep its event loop: parks in `Atomics.waitAsync` (no spinning).
   * A pending `waitAsync` does not keep a worker alive (nodejs/node#44729), so a timer holds the loop open.
   */
  async waitAsync(index: number, seen: number, sleeper: number, deadline: number, timeoutMs: number | undefined, op: string): Promise<void> {
    const words = this.words;
    const keepAlive = setInterval(() => {}, 1 << 30);
    let told = false; // onWait(true) returned: onWait(false) is owed
    let raised = false;
    try {
      this.onWait?.(true); // a user's onWait may throw: the finally still clears the interval
      told = true;
      this.raise(sleeper);
      raised = true;
      for (;;) {
        const sleepMs = this.sleepFor(index, seen, deadline, timeoutMs, op);
        if (sleepMs === 0) return;
        this.onStillWaiting?.();
        const result = Atomics.waitAsync(words, index, seen, sleepMs);
        if (result.async) await result.value;
        if (Atomics.load(words, index) !== seen) return;
      }
    } finally {
      clearInterval(keepAlive);
      if (raised) this.lower(sleeper);
      if (told) this.onWait?.(false);
    }
  }
}
