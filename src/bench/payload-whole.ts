/**
 * The payload of the modes whose receivers check every byte (zerocopy, transfer, transfer-alloc), and how they check
 * it: zerocopy by a sum of the message's words, where it lies in the ring (word-sum.ts); the transfer modes by
 * comparing the array they were handed with what it should be, byte for byte (C's memcmp).
 *
 * payload.ts's stamps say which message a piece belongs to, but the bytes between them are the same in every message:
 * a sender that moved the stamps alone, into a ring (or a recycled array) that still held an earlier message's bytes,
 * would pass. So here the bytes themselves change from message to message, at a cost to the sender per message of
 * the stamps' order, with no pass over the message:
 *
 *   the sender's source   patternAt(0), patternAt(1), ...: (SHIFTS - 1) * SHIFT_STEP elements longer than a message
 *   message seq           the window of `elements` elements from element SHIFT_STEP * windowOf(seq) on, stamped
 *
 * windowOf(seq) is one of SHIFTS windows 64 bytes apart (so that every window starts at the same place in a cache
 * line, and memcpy copies each alike), picked by a hash of seq: no period that a ring's layout could fall into step
 * with. The pattern grows with the index, so each unstamped element of a window differs from that of every other
 * window at its place: a message made of an earlier one's bytes fails, unless the two share their window, once in
 * SHIFTS, at random. The sender writes the stamps into the window, and before the next message puts the pattern back
 * where they were (the windows overlap): twice payload.ts's few stores, and a hash (on the Zen 4 VM, 8-byte messages
 * on one thread, 7 to 10 ns a message more than the stamps alone).
 *
 * zerocopy's receiver sums every 32-bit word of the message, mod 2^32, and checks
 *
 *   sum - the words of the stamps it read  ==  unstamped(seq)  (the window's words less those under its stamps)
 *
 * after it has checked the stamps themselves (samplesOk): the sum of the message is then expected(seq), the window's
 * with the stamps' words in. The windows' sums are computed once per size from the pattern (two words of each of
 * `elements + 120` elements); per message, the receiver adds up the stamps' words it reads, a few (3, and one per
 * 256 KiB). A message whose bytes were not all moved, or came from another message, or changed on the way, or were
 * not read, fails. The transfer modes' receivers keep a source of their own and compare the array they got with its
 * window for seq, stamped (`VaryingSource.prepare`): C's memcmp, through Buffer.compare, the fastest read of an
 * ArrayBuffer we know of in Node 20 (a JavaScript loop that summed it made transfer 3.5 to 4x slower,
 * docs/PERFORMANCE.md, "Method").
 */
import { Buffer } from 'node:buffer';
import { expectedAt, patternAt, sampleIndices, stamp } from './payload.js';

/** How many windows the source holds (a power of two): a message shares its bytes with another's once in SHIFTS. */
export const SHIFTS = 16;
/** Elements between two windows: 64 bytes, a cache line. */
export const SHIFT_STEP = 8;

/** Which window message `seq` is (0 to SHIFTS - 1): a mix of all of seq's bits (murmur3's last step), then 4 of them. */
export function windowOf(seq: number): number {
  let h = seq | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & (SHIFTS - 1); // not (h >>> 0) % SHIFTS: a uint32 past 2^31 is a double, and % of one took 18 ns
}

/** The sender's source for messages of `bytes` bytes: SHIFTS windows over one array, stamped one at a time. */
export class VaryingSource {
  /** One view a window, made once: windows[windowOf(seq)] is message seq once `prepare(seq)` returned. */
  readonly windows: Float64Array<ArrayBuffer>[];
  private readonly whole: Float64Array<ArrayBuffer>;
  private readonly samples: Int32Array;
  private stamped = -1; // the element where the stamped window starts, -1 for none
  private readonly windowBytes: (Uint8Array<ArrayBuffer> | undefined)[] = [];

  constructor(bytes: number) {
    const elements = bytes / 8;
    this.whole = new Float64Array(elements + (SHIFTS - 1) * SHIFT_STEP);
    for (let i = 0; i < this.whole.length; i++) this.whole[i] = patternAt(i);
    this.windows = Array.from({ length: SHIFTS }, (_, k) => this.whole.subarray(k * SHIFT_STEP, k * SHIFT_STEP + elements));
    this.samples = sampleIndices(elements);
  }

  /** The bytes of window `index` (made on first use, then kept): what a receiver compares a message with. */
  bytesOf(index: number): Uint8Array<ArrayBuffer> {
    const window = this.windows[index]!;
    this.windowBytes[index] ??= new Uint8Array(window.buffer, window.byteOffset, window.byteLength);
    return this.windowBytes[index]!;
  }

  /** Makes message `seq` in its window (the stamps of the last one undone first); returns the window's index. */
  prepare(seq: number): number {
    const samples = this.samples;
    const whole = this.whole;
    const stamped = this.stamped;
    if (stamped >= 0) for (let k = 0; k < samples.length; k++) whole[stamped + samples[k]!] = patternAt(stamped + samples[k]!);
    const index = windowOf(seq);
    stamp(this.windows[index]!, seq);
    this.stamped = index * SHIFT_STEP;
    return index;
  }
}

/** What each window's chunk at one place of a message sums to (MessageSums.chunkSums). */
interface ChunkSums {
  first: number;
  count: number;
  sums: Int32Array;
}

/**
 * The receiver's side: the sum of the 32-bit words of each message of `bytes` bytes, and of each chunk of it. A sum
 * does not depend on the order of the words, so two chunks of a message in each other's place sum as the message
 * does; where neither holds a stamp (zerocopy's chunks are a quarter of the ring: 16 KiB on a 64 KiB ring, and the
 * stamps are 256 KiB apart) nothing else would see it. The chunk sums do: the pattern grows with the index, so the
 * bytes of one place sum differently from those of another.
 */
export class MessageSums {
  private readonly base = new Int32Array(SHIFTS);
  private readonly samples: Int32Array;
  private readonly elements: number;
  private readonly chunks: (ChunkSums | undefined)[] = []; // by the chunk's place in the message: 0, 1, 2, ...

  constructor(bytes: number) {
    const elements = bytes / 8;
    this.elements = elements;
    this.samples = sampleIndices(elements);
    // The window sums, one element at a time: window 0 whole, then each next one a step on.
    let sum = 0;
    for (let i = 0; i < elements; i++) sum = (sum + wordsOf(patternAt(i))) | 0;
    for (let k = 0; k < SHIFTS; k++) {
      const first = k * SHIFT_STEP;
      let base = sum;
      for (let s = 0; s < this.samples.length; s++) base = (base - wordsOf(patternAt(first + this.samples[s]!))) | 0;
      this.base[k] = base;
      for (let i = first; i < first + SHIFT_STEP; i++) sum = (sum - wordsOf(patternAt(i)) + wordsOf(patternAt(i + elements))) | 0;
    }
  }

  /**
   * The sum of message `seq`'s words but for its stamps' (its window's, less the words under the stamps): what a
   * receiver that has found every stamp right (payload.ts's samplesOk) compares with the message's sum less the words
   * of the stamps it read (`stampWords`), which then hold exactly what `expected` adds. Cheaper than `expected`, which
   * converts every stamp's value to words: a few nanoseconds a message.
   */
  unstamped(seq: number): number {
    return this.base[windowOf(seq)]!;
  }

  /**
   * The sums of the chunk of `count` elements from element `first` of a message, one per window (`windowOf(seq)`),
   * less the words under its stamps: what the chunk's words sum to, less those of the stamps read in it
   * (`stampWords`), once its stamps are right. Computed the first time a chunk is seen at place `index` of a message,
   * then kept while the chunks there keep their place and length: a sender's chunks are the same in every message.
   */
  chunkSums(index: number, first: number, count: number): Int32Array {
    const known = this.chunks[index];
    if (known !== undefined && known.first === first && known.count === count) return known.sums;
    const sums = new Int32Array(SHIFTS);
    let sum = 0; // the pattern's words over the chunk of window 0, then of each next window, a step on
    for (let i = first; i < first + count; i++) sum = (sum + wordsOf(patternAt(i))) | 0;
    for (let k = 0; k < SHIFTS; k++) {
      const start = k * SHIFT_STEP + first; // where the chunk of window k begins in the source
      let chunk = sum;
      for (let s = 0; s < this.samples.length; s++) {
        const sample = this.samples[s]!;
        if (sample >= first && sample < first + count) chunk = (chunk - wordsOf(patternAt(k * SHIFT_STEP + sample))) | 0;
      }
      sums[k] = chunk;
      for (let i = start; i < start + SHIFT_STEP; i++) sum = (sum - wordsOf(patternAt(i)) + wordsOf(patternAt(i + count))) | 0;
    }
    this.chunks[index] = { first, count, sums };
    return sums;
  }

  /** The sum message `seq` has: its window's, with its stamps in. */
  expected(seq: number): number {
    let sum = this.base[windowOf(seq)]!;
    for (let s = 0; s < this.samples.length; s++) sum = (sum + wordsOf(expectedAt(this.samples[s]!, seq, this.elements))) | 0;
    return sum;
  }
}

const scratch = new Float64Array(1);
const scratchWords = new Int32Array(scratch.buffer);

/** The sum of the two 32-bit words of a double as a Float64Array stores it (little-endian, as the typed arrays are). */
export function wordsOf(value: number): number {
  scratch[0] = value;
  return (scratchWords[0]! + scratchWords[1]!) | 0;
}

/**
 * The sum of the 32-bit words of the stamps (`samples`) that fall in elements `[first, first + count)` of a message,
 * which sit in `words` (a view of 32-bit words) from element `at` on (two words an element).
 */
export function stampWords(words: Int32Array, at: number, first: number, count: number, samples: Int32Array): number {
  const end = first + count;
  let sum = 0;
  for (let k = 0; k < samples.length; k++) {
    const index = samples[k]!;
    if (index < first) continue;
    if (index >= end) break;
    const word = 2 * (at + index - first);
    sum = (sum + words[word]! + words[word + 1]!) | 0;
  }
  return sum;
}

/**
 * Whether `received` holds the same bytes as `expected`, compared by C's memcmp (Buffer.compare): every byte of
 * `received` is read, and the reading stops at the first that differs.
 */
export function sameBytes(received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === expected.length && Buffer.compare(received, expected) === 0;
}

/** The first byte at which `received` and `expected` differ (or where the shorter ends): for a failure's message. */
export function firstDifference(received: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(received.length, expected.length);
  for (let i = 0; i < length; i++) if (received[i] !== expected[i]) return i;
  return length;
}
