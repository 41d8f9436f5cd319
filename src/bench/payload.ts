/**
 * What the benchmarks move and how the receiver checks it, shared by the main thread, the workers and the child
 * process, so that both ends agree without talking.
 *
 * Every mode starts from one `Float64Array` in the sender's own (non-shared) memory, filled once with
 * `patternAt(i)`. Before each message the sender writes stamps into it, values derived from the message's sequence
 * number: the first, middle and last elements, and one element in every 256 KiB (`STAMP_EVERY`, the largest chunk a
 * ring mode moves), which also carries the number of its stretch; nothing else changes. The receiver checks the
 * stamps against `expectedAt`: cheap (three loads, plus one per 256 KiB), and it catches a message, or any 256 KiB
 * of one, that was not moved, moved stale (another message's), moved twice or out of place, or truncated, because its
 * stamps belong to another message or another stretch, or are missing. What these stamps cannot catch is damage
 * between them, where the bytes are the same in every message. So the modes whose receivers copy the message out of
 * a ring, shared and ringbuf, add roving stamps (`RovingStamps`): two in each 256 KiB, at places that move from message
 * to message. The receivers that hold the message where it lies, zerocopy's and the transfer modes', check every byte,
 * of a source whose bytes change from message to message (payload-whole.ts). clone's and process's end with a copy of
 * every byte that structured clone, or deserializing, made.
 */

/**
 * One more stamp every this many elements (256 KiB), at this offset in each stretch: off its start, so that the
 * stamps of one message do not all fall on one page offset.
 */
export const STAMP_EVERY = 32_768;
const STAMP_OFFSET = 12_345;

/** An ordinary element: exact in a double for any index below 2^52. */
export function patternAt(index: number): number {
  return index + 0.5;
}

/** The middle element's index, which carries a stamp. */
export function middleOf(elements: number): number {
  return elements >> 1;
}

/**
 * The value element `index` of message `seq` holds, in a message of `elements` elements. The first element wins
 * over the last, and the last over the middle, where they coincide (messages of one or two elements).
 */
export function expectedAt(index: number, seq: number, elements: number): number {
  if (index === 0) return seq + 0.25;
  if (index === elements - 1) return -(seq + 0.75);
  if (index === middleOf(elements)) return seq + 0.125;
  if (index % STAMP_EVERY === STAMP_OFFSET) return stretchStamp(index, seq);
  return patternAt(index);
}

/**
 * The stamp of message `seq` at `index`, one in each 256 KiB stretch: it holds the stretch's number too, so that a
 * stretch delivered twice, or where another belongs, is caught. Exact in a double while seq < 2^32 and the message
 * has fewer than 2^18 stretches (64 GiB).
 */
function stretchStamp(index: number, seq: number): number {
  return seq + 0.375 + Math.floor(index / STAMP_EVERY) * 2 ** 32;
}

/** Writes message `seq`'s stamps into the sender's source array (in the same precedence as `expectedAt`). */
export function stamp(source: Float64Array, seq: number): void {
  const elements = source.length;
  for (let i = STAMP_OFFSET; i < elements; i += STAMP_EVERY) source[i] = stretchStamp(i, seq);
  source[middleOf(elements)] = seq + 0.125;
  source[elements - 1] = -(seq + 0.75);
  source[0] = seq + 0.25;
}

/** A fresh non-shared source of `bytes` bytes (a multiple of 8), filled with the pattern. */
export function makeSource(bytes: number): Float64Array<ArrayBuffer> {
  const source = new Float64Array(bytes / 8);
  for (let i = 0; i < source.length; i++) source[i] = patternAt(i);
  return source;
}

/** Whether element `index` of a message of `elements` elements holds one of its fixed stamps (`expectedAt`). */
function isStamp(index: number, elements: number): boolean {
  return index === 0 || index === elements - 1 || index === middleOf(elements) || index % STAMP_EVERY === STAMP_OFFSET;
}

/** Roving stamps in each 256 KiB stretch of a message (`RovingStamps`): two, one for each half of a 32-bit hash. */
export const ROVING = 2;

/**
 * Stamps that change place: ROVING in each 256 KiB stretch of a message, at places a hash of the message's sequence
 * number picks, each holding a value of its place and message (`rovingAt`). The sender undoes the last message's and
 * writes the next one's (`restamp`) before its fixed stamps, which win where the two fall on one place; the receiver of
 * a copy looks at this message's places (`mismatch`). A hash and a few stores or loads a stretch, and no pass over it.
 *
 * What they catch that the fixed stamps do not: part of a message not moved (the receiver's buffer, or the ring,
 * still holding an earlier message's bytes there), moved from the wrong place, or moved twice, wherever it lies, once
 * a roving stamp lands in it: a fault that comes back message after message is caught within a few, in proportion to
 * its size (4 KiB of a 64 KiB message: one message in eight). A single stray byte, seldom. Messages of 3 elements or
 * fewer (8 to 24 bytes) are all fixed stamps, and have none; at 4 elements only element 1 is free, and most messages'
 * two places fall on the fixed stamps.
 */
export class RovingStamps {
  private readonly places: Int32Array; // the last message's: two a stretch
  private readonly elements: number;

  constructor(elements: number) {
    this.elements = elements;
    this.places = new Int32Array(elements > 3 ? ROVING * Math.ceil(elements / STAMP_EVERY) : 0);
  }

  /**
   * In the sender's `source`: puts the pattern back at the last message's places, then stamps message `seq`'s. Its
   * fixed stamps (`stamp`) go in after: they win where the two fall on one place, and they are back where this put the
   * pattern over one (before the first message, `places` is all 0: element 0, a fixed stamp).
   */
  restamp(source: Float64Array, seq: number): void {
    const places = this.places;
    const elements = this.elements;
    for (let p = 0, first = 0; p < places.length; p += ROVING, first += STAMP_EVERY) {
      const last0 = places[p]!;
      const last1 = places[p + 1]!;
      source[last0] = patternAt(last0);
      source[last1] = patternAt(last1);
      const h = placeHash(seq, p);
      const length = Math.min(STAMP_EVERY, elements - first);
      const place0 = first + place(h & 0xffff, length);
      const place1 = first + place(h >>> 16, length);
      places[p] = place0;
      places[p + 1] = place1;
      source[place0] = rovingAt(place0, seq);
      source[place1] = rovingAt(place1, seq);
    }
  }

  /**
   * In a copy of message `seq` the receiver made: the first roving place that does not hold what it should, or -1.
   * A place that is a fixed stamp's is left to `samplesOk`.
   */
  mismatch(message: Float64Array, seq: number): number {
    const stretches = this.places.length;
    const elements = this.elements;
    for (let p = 0, first = 0; p < stretches; p += ROVING, first += STAMP_EVERY) {
      const h = placeHash(seq, p);
      const length = Math.min(STAMP_EVERY, elements - first);
      const place0 = first + place(h & 0xffff, length);
      const place1 = first + place(h >>> 16, length);
      if (message[place0] !== rovingAt(place0, seq) && !isStamp(place0, elements)) return place0;
      if (message[place1] !== rovingAt(place1, seq) && !isStamp(place1, elements)) return place1;
    }
    return -1;
  }
}

/**
 * A mix of message `seq` and `p`, the index in `places` of a stretch's first place (ROVING times the stretch's
 * number): murmur3's last step, as payload-whole.ts's windowOf. seq + 1, since the mix of 0 is 0: message 0's two
 * places in the first stretch would both be element 0, a fixed stamp.
 */
function placeHash(seq: number, p: number): number {
  let h = Math.imul(seq + 1, 0x9e3779b1) ^ p;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A 16-bit hash scaled to a place from 0 to `length` - 1 (at most 2^15: the product fits in 31 bits): a multiply and
 * a shift, where `%` would divide.
 */
function place(half: number, length: number): number {
  return (half * length) >>> 16;
}

/**
 * What a roving stamp of message `seq` holds at element `index`: negative, where the pattern is positive, and exact
 * for any index below 2^42 (the index, and 10 bits of seq as a fraction), so that it differs from any other place's
 * roving stamp, and from those of the 1,023 messages before at its own. (It may equal a fixed stamp's value, the last
 * element's of another message: harmless, as a check compares a place with what that place should hold.)
 */
export function rovingAt(index: number, seq: number): number {
  return -(index + 1) - (seq & 1023) * (1 / 1024);
}

/** The element indices the receiver checks in a message of `elements` elements, its stamps: ascending, no repeats. */
export function sampleIndices(elements: number): Int32Array<ArrayBuffer> {
  const picked = new Set<number>([0, middleOf(elements), elements - 1]);
  for (let i = STAMP_OFFSET; i < elements; i += STAMP_EVERY) picked.add(i);
  return Int32Array.from([...picked].sort((a, b) => a - b));
}

/**
 * Checks the samples of message `seq` that fall in elements `[first, first + count)` of the message, which sit in
 * `view` from element `at` on. Returns true when they all hold what they should. Used whole (`first = 0`) by the
 * receivers that get the message in one piece, and chunk by chunk by those that read it in place.
 */
export function samplesOk(
  view: Float64Array,
  at: number,
  first: number,
  count: number,
  seq: number,
  elements: number,
  samples: Int32Array,
): boolean {
  const end = first + count;
  for (let k = 0; k < samples.length; k++) {
    const index = samples[k]!;
    if (index < first) continue;
    if (index >= end) break;
    if (view[at + index - first] !== expectedAt(index, seq, elements)) return false;
  }
  return true;
}

/**
 * What is wrong with message `seq` that a receiver copied whole into `message`, for the run's error: its fixed
 * stamps (`samples`), then its roving ones; '' where nothing is.
 */
export function copyFailure(message: Float64Array, seq: number, samples: Int32Array, roving: RovingStamps): string {
  if (!messageOk(message, seq, message.length, samples)) return `its stamps are not message ${seq}'s`;
  const index = roving.mismatch(message, seq);
  return index < 0 ? '' : `its element ${index} is ${message[index]}, not ${rovingAt(index, seq)}`;
}

/** A whole message that arrived as its own array: right length and right samples. */
export function messageOk(message: unknown, seq: number, elements: number, samples: Int32Array): boolean {
  if (!(message instanceof Float64Array) || message.length !== elements) return false;
  return samplesOk(message, 0, 0, elements, seq, elements, samples);
}

/**
 * Bytes in flight per window at most: a window is `min(window, WINDOW_BYTES / bytes)` messages (at least one).
 * Without a cap, 64 messages of 64 MiB would queue 4 GiB of clones, and a single window of them would take longer
 * than the whole default run. osu_bw itself stops at 4 MiB, where 64 messages are 256 MiB.
 */
export const WINDOW_BYTES = 64 * 2 ** 20;

/** The messages between two acknowledgements for messages of `bytes` bytes. Both ends compute the same. */
export function windowFor(bytes: number, window: number): number {
  return Math.max(1, Math.min(window, Math.floor(WINDOW_BYTES / bytes)));
}

/**
 * A size above this is skipped by a mode whose single message would take longer than `SLOW_MESSAGE_SECONDS`
 * (predicted from the previous size's rate): clone and process at 32 and 64 MiB. Skipped sizes are gaps.
 */
export const SKIP_ABOVE_BYTES = 16 * 2 ** 20;
export const SLOW_MESSAGE_SECONDS = 1;
/**
 * The smallest size whose rate predicts a larger one's: below it the rate is mostly the cost per message (shared
 * made 13 MB/s at 8 B, which predicted 1.9 s for one message of 24 MiB; it took 4 ms).
 */
export const PREDICTS_FROM_BYTES = 2 ** 20;

/**
 * Whether turn `index` of `sizes` (one entry per turn, rounds one after another, each ascending) begins a round: it
 * then has no previous size to predict its speed from. A round's largest size says nothing about the next one's
 * smallest, and with `--min` above `SKIP_ABOVE_BYTES` it could have had a size skipped that round 1 measured.
 */
export function startsRound(sizes: readonly number[], index: number): boolean {
  return index === 0 || sizes[index]! <= sizes[index - 1]!;
}

/** Whether to skip `bytes` given the rate (MB/s) the mode reached at the previous size (from PREDICTS_FROM_BYTES). */
export function shouldSkip(bytes: number, previousMbPerSec: number | undefined): boolean {
  if (bytes <= SKIP_ABOVE_BYTES || previousMbPerSec === undefined) return false;
  return bytes / (previousMbPerSec * 1e6) > SLOW_MESSAGE_SECONDS;
}
