/**
 * The benchmark's own control block: a few Int32 words in a SharedArrayBuffer, for what the transports under test
 * do not carry themselves. The acknowledgements of the ring modes, the doorbells of the ringbuf.js peer (which has
 * no way to wait), the start signal, the gate through which the main thread gives each mode its turns, and an abort
 * flag that the main thread raises when anything fails.
 *
 *   ACK            windows the receiver has verified; the sender waits until it reaches the windows sent
 *   ACK_WAITER     the sender is parked on ACK: the receiver notifies only then
 *   DATA_BELL      ringbuf: bumped by the sender after a push while the receiver sleeps on it
 *   DATA_WAITER    ringbuf: the receiver is parked on DATA_BELL
 *   SPACE_BELL     ringbuf: bumped by the receiver after a pop while the sender sleeps on it
 *   SPACE_WAITER   ringbuf: the sender is parked on SPACE_BELL
 *   ENDED          ringbuf: sizes the sender has finished (an end marker has no place in a raw byte stream)
 *   READY          the receiver is attached and waiting: the sender starts only then
 *   ABORT          non-zero: every wait throws
 *   GATE           how many sizes the main thread has let the sender start: it runs the modes size by size
 *   GATE_WAITER    the sender is parked on GATE
 *   TRIPS          latency: round trips the ping has made; the main thread's stall watchdog reads it
 *
 * Why an Int32 counter for the ring modes' acks, rather than a second ring back: an ack carries no data, so one
 * `Atomics.add` plus a notify only when the sender's sleeper flag is up is the cheapest signal there is, and every
 * ring mode (shared, zerocopy, ringbuf) gets the same one. The postMessage and process modes acknowledge over their
 * own transport, as their users would (and the transfer mode's ack brings the buffers back).
 *
 * Waiting here is shmcomm's default strategy (spin for 30 µs, then park, with the sleeper-flag handshake explained
 * in src/wait.ts), so the peers are waited for exactly as fast as shmcomm's own rings.
 */
import { DEFAULT_SPIN_MICROS } from '../wait.js';

const SLOT = 16; // Int32 slots per 64-byte cache line: words written by different threads sit on different lines
export const ACK = 0 * SLOT;
export const ACK_WAITER = 1 * SLOT;
export const DATA_BELL = 2 * SLOT;
export const DATA_WAITER = 3 * SLOT;
export const SPACE_BELL = 4 * SLOT;
export const SPACE_WAITER = 5 * SLOT;
export const ENDED = 6 * SLOT;
export const READY = 7 * SLOT;
export const ABORT = 8 * SLOT;
export const GATE = 9 * SLOT;
export const GATE_WAITER = 10 * SLOT;
export const TRIPS = 11 * SLOT;
const WORDS = 12 * SLOT;

const SPIN_MS = DEFAULT_SPIN_MICROS / 1000;
const SPINS_PER_CLOCK_READ = 64;
const PARK_SLICE_MS = 25; // a parked waiter looks at ABORT at least this often

/** Thrown in a worker that waited when the main thread aborted the run. */
export class BenchAbortedError extends Error {
  constructor() {
    super('the benchmark was aborted');
    this.name = 'BenchAbortedError';
  }
}

export function createControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(WORDS * 4));
}

/** Main thread: stop the run. Every waiter wakes (at once if parked here, within a slice otherwise) and throws. */
export function abortControl(words: Int32Array): void {
  Atomics.store(words, ABORT, 1);
  for (const slot of [ACK, DATA_BELL, SPACE_BELL, READY, GATE]) Atomics.notify(words, slot);
}

/**
 * Blocks until `ready()` is true: spins on it for 30 µs, then parks on the word `bell` with the flag `sleeper` up.
 * The other side makes `ready()` true *then* reads the flag and, when it is up, bumps `bell` and notifies (`ring`).
 * All of these are sequentially consistent, so the wake-up cannot be lost (the argument is in src/wait.ts).
 */
export function waitUntil(words: Int32Array, bell: number, sleeper: number, ready: () => boolean, sliceMs = PARK_SLICE_MS): void {
  if (ready()) return;
  const spinUntil = performance.now() + SPIN_MS;
  for (;;) {
    for (let i = 0; i < SPINS_PER_CLOCK_READ; i++) if (ready()) return;
    if (Atomics.load(words, ABORT) !== 0) throw new BenchAbortedError();
    if (performance.now() >= spinUntil) break;
  }
  try {
    for (;;) {
      Atomics.store(words, sleeper, 1);
      const seen = Atomics.load(words, bell);
      if (ready()) return;
      if (Atomics.load(words, ABORT) !== 0) throw new BenchAbortedError();
      Atomics.wait(words, bell, seen, sliceMs);
    }
  } finally {
    Atomics.store(words, sleeper, 0);
  }
}

/** The other side of `waitUntil`: after making the waited-for condition true. */
export function ring(words: Int32Array, bell: number, sleeper: number): void {
  if (Atomics.load(words, sleeper) !== 0) {
    Atomics.add(words, bell, 1);
    Atomics.notify(words, bell);
  }
}

/** The acknowledgement of the ring modes, both ends. */
export class AckCounter {
  private readonly words: Int32Array;
  private target = 0;
  private readonly reached = (): boolean => Atomics.load(this.words, ACK) - this.target >= 0;

  constructor(words: Int32Array) {
    this.words = words;
    this.target = Atomics.load(words, ACK);
  }

  /** Receiver: one more window verified. The counter is its own bell. */
  acknowledge(): void {
    Atomics.add(this.words, ACK, 1);
    if (Atomics.load(this.words, ACK_WAITER) !== 0) Atomics.notify(this.words, ACK);
  }

  /** Sender: waits for the acknowledgement of the window it just sent. */
  awaitNext(): void {
    this.target = (this.target + 1) | 0;
    waitUntil(this.words, ACK, ACK_WAITER, this.reached);
  }
}

/** Main thread: lets the sender start sizes 0 to `sizes - 1`. The gate is its own bell, as ACK is. */
export function openGate(words: Int32Array, sizes: number): void {
  Atomics.store(words, GATE, sizes);
  if (Atomics.load(words, GATE_WAITER) !== 0) Atomics.notify(words, GATE);
}

/** Sender: waits until the main thread lets it start size `index` (parked meanwhile: other modes are measuring). */
export function awaitGate(words: Int32Array, index: number): void {
  // Slices of a second: the abort notifies GATE, so they only bound a missed one, and seven modes' senders waking
  // every 25 ms would be 280 wake-ups a second beside the mode that measures.
  waitUntil(words, GATE, GATE_WAITER, () => Atomics.load(words, GATE) > index, 1000);
}

/** Receiver: attached and listening. */
export function signalReady(words: Int32Array): void {
  Atomics.store(words, READY, 1);
  Atomics.notify(words, READY);
}

/** Sender: waits for `signalReady` (parks at once: this is set-up, not a measurement). */
export function awaitReady(words: Int32Array): void {
  while (Atomics.load(words, READY) === 0) {
    if (Atomics.load(words, ABORT) !== 0) throw new BenchAbortedError();
    Atomics.wait(words, READY, 0, PARK_SLICE_MS);
  }
}
