/**
 * The copy every path of shmcomm makes: bytes into or out of shared memory.
 *
 * A trap measured on the first VM of docs/PERFORMANCE.md (`node docs/probes/copy-primitive.mjs`):
 * `TypedArray.prototype.set` copies to or from a SharedArrayBuffer with V8's relaxed copy, a word at a time (so that a
 * racing thread can never tear a word), and tops out near 20 GB/s, where the same `set()` between plain ArrayBuffers,
 * or C's `memcpy`, runs 2 to 4x faster. Node's `Buffer.prototype.fill(value, start, end)`, given a `value` of exactly
 * `end - start` bytes, fills the range with one copy of it, and does so with C's `memcpy` (its documented behaviour:
 * `value` repeated over the range, here exactly once). It costs a call into C++ first (about 45 ns), so it pays from
 * about 1.5 KiB on; out of shared memory, one thread, 2026-11-26 08:29: 2 KiB 145 → 106 ns, 16 KiB 821 → 289 ns, 256
 * KiB 12.9 → 2.9 µs.
 *
 * A plain `memcpy` is safe here because the rings never let two threads touch the same bytes at once: a byte is
 * written by the producer before HEAD is published and read by the consumer after it loads HEAD (ring.ts explains
 * the ordering), so there is no race for the relaxed copy to protect against.
 */
import { Buffer } from 'node:buffer';
import { aBytes, describe } from './describe.js';

/** Payloads up to this many bytes are copied with a loop: `set()` has a fixed cost that a short loop does not pay. */
export const SMALL_COPY_BYTES = 32;
/** Payloads of this many bytes or more are copied with C's `memcpy` (through `Buffer.prototype.fill`). */
export const NATIVE_COPY_BYTES = 1536;
/**
 * The same for a copy out of a ring, whose lines the other core has just written: they arrive no faster for a faster
 * copy, so the call into C++ pays later. Two threads, the first VM of docs/PERFORMANCE.md, near state, 2026-11-26
 * (`shmcomm bench bandwidth --modes shared,zerocopy,ringbuf --min 1KiB --max 4KiB --points 4`, six runs of each build
 * by turns): at 1.59 KiB shared made 9.7 GB/s copying out with `set()` against 8.3 with `memcpy`; at 2.52 KiB 11.9
 * against 14.1.
 */
export const NATIVE_COPY_OUT_BYTES = 2048;

const fill = Buffer.prototype.fill;

/**
 * Copies all of `source` into `target` from byte `at` on, as `target.set(source, at)` would, by the fastest means for
 * its length: a loop up to 32 bytes, `set()` below 1.5 KiB, C's `memcpy` from there. Both must be Uint8Arrays, the
 * bytes must fit, and the two ranges must not overlap in one buffer (the loop copies forwards, and `memcpy` does not
 * handle overlap; `set()` does). Throws a TypeError or RangeError that says which rule was broken. Two
 * SharedArrayBuffer objects over the same memory (one that came back in a message) are two buffers to it.
 */
export function copyBytes(target: Uint8Array, at: number, source: Uint8Array): void {
  if (!(target instanceof Uint8Array) || !(source instanceof Uint8Array)) {
    throw new TypeError(`copyBytes() copies between Uint8Arrays, got ${describe(target)} and ${describe(source)}`);
  }
  if (!Number.isInteger(at) || at < 0 || at + source.length > target.length) throw fitRefusal(target, at, source);
  const from = source.byteOffset, to = target.byteOffset + at, length = source.length;
  if (target.buffer === source.buffer && length > 0 && from < to + length && to < from + length) {
    throw new RangeError(`copyBytes(): the source, bytes ${from} to ${from + length} of its buffer, overlaps ` +
      `the target's bytes ${to} to ${to + length} of the same buffer`);
  }
  copyRange(target, at, source, source.length, NATIVE_COPY_BYTES);
}

/** copyBytes's error for an `at` where `source` does not fit in `target`, or that is no integer. */
function fitRefusal(target: Uint8Array, at: number, source: Uint8Array): RangeError {
  return atRefusal('copyBytes', at)
    ?? new RangeError(`copyBytes(): ${source.length} bytes do not fit in ${aBytes(target.length)} target at byte ${at}`);
}

/**
 * @internal copyBytes's and copyHeld's error for an `at` that is no integer (`'2'`, 0.5, NaN): it says so, where the
 * bytes may well fit at the byte it names. Undefined for an integer.
 */
export function atRefusal(call: string, at: number): RangeError | undefined {
  if (Number.isInteger(at)) return undefined;
  return new RangeError(`${call}(): Expected \`at\` to be an integer byte offset, got ${describe(at)}`);
}

/**
 * `copyBytes` without its checks, for the rings, which have made them: copies the first `length` bytes of `source`
 * (never more, even if a view of a growable buffer grew meanwhile) to `target[at]`, with `memcpy` from `nativeFrom`.
 * `source` must hold at least `length` bytes: `fill()` repeats a shorter one over the range.
 */
export function copyRange(target: Uint8Array, at: number, source: Uint8Array, length: number, nativeFrom: number): void {
  if (length <= SMALL_COPY_BYTES) {
    for (let i = 0; i < length; i++) target[at + i] = source[i]!;
  } else if (length < nativeFrom) {
    target.set(source.length === length ? source : source.subarray(0, length), at);
  } else {
    fill.call(target, source, at, at + length); // the first `length` bytes of source, once
  }
}
