/**
 * What the benchmarks move and how the receiver checks it, shared by the main thread, the workers and the child
 * process, so that both ends agree without talking.
 *
 * Every mode starts from one `Float64Array` in the sender's own (non-shared) memory, filled once with
 * `patternAt(i)`. Before each message the sender writes stamps into it, values derived from the message's sequence
 * number: the first, middle and last elements, and one element in every 256 KiB (`STAMP_EVERY`, the largest chunk a
 * ring mode moves), which also carries the number of its stretch; nothing else changes. The receiver checks the
 * stamps against `expectedAt`, and nothing else: cheap (three loads, plus one per 256 KiB), and it catches a message,
 * or any 256 KiB of one, that was not moved, moved stale (another message's), moved twice or out of place, or
 * truncated, because its stamps belong to another message or another stretch, or are missing. What it cannot catch
 * is damage between two stamps: the bytes there are the same in every message. The receivers that hold the message
 * where it lies, zerocopy's and the transfer modes', check every byte besides, of a source whose bytes change from
 * message to message (payload-whole.ts); the others end with a copy of every byte (clone's, process's deserialized).
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
