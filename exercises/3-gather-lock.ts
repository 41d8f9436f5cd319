/**
 * The lock of exercise 3 (gather): a mutex in one Int32 of a SharedArrayBuffer, the classic futex design
 * (Drepper, "Futexes Are Tricky", "Mutex, Take 3", with a short spin first, and an unlock that exchanges in 0
 * where the paper decrements and then stores 0). The word is 0 when free, 1 when held, 2 when held and someone
 * may be asleep waiting for it.
 *
 * - Taking it is one `Atomics.compareExchange(word, 0, 0, 1)`: "if it is 0, make it 1", in one indivisible step,
 *   returning what was there. 0 back means we own it; two threads can never both see 0.
 * - A held lock is usually released within a microsecond, so we first retry a little (spin, reading the word and
 *   trying only when it reads 0), then sleep with `Atomics.wait`, after setting the word to 2 so the holder knows
 *   to wake someone.
 * - Releasing sets 0, and calls `Atomics.notify` only when the word said 2: waking costs, not waking is free.
 *
 * Atomics operations are sequentially consistent: everything the holder wrote before `unlock` (the frame, the
 * ring's head) is visible to the next thread whose `lock` succeeds.
 */

const SPINS = 200;

/** Blocks until the calling thread owns the lock in `word[0]` (worker threads only: the main thread may not wait). */
export function lock(word: Int32Array): void {
  for (let i = 0; i < SPINS; i++) {
    // Read before trying: a compareExchange, even one that fails, takes the cache line away from the holder.
    if (Atomics.load(word, 0) === 0 && Atomics.compareExchange(word, 0, 0, 1) === 0) return;
  }
  // Still held: mark it contended and sleep while it stays so. exchange() returning 0 means it was just freed,
  // and it is now ours (marked 2, which at worst costs one needless notify at unlock).
  while (Atomics.exchange(word, 0, 2) !== 0) Atomics.wait(word, 0, 2);
}

/** Releases the lock; wakes one sleeper if there may be one. */
export function unlock(word: Int32Array): void {
  if (Atomics.exchange(word, 0, 0) === 2) Atomics.notify(word, 0, 1);
}
