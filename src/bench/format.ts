/**
 * Sizes, rates and size ranges for the benchmark: parsing `--max 64MiB`, printing `64 KiB` and `12,345 MB/s`, and
 * the log-spaced message sizes of a run.
 *
 * Sizes are binary (1 KiB = 1024 bytes): messages are Float64Arrays and rings are powers of two, so binary units
 * give round numbers. `K`, `M` and `G` are accepted as short forms of KiB, MiB and GiB (as in `dd` and `ls -h`).
 * `KB`, `MB` and `GB` are refused: a reader cannot tell whether they mean 1000 or 1024, and rates here are in
 * decimal megabytes (1 MB/s = 10^6 bytes per second, as OSU and most network tools report).
 */

const UNIT_BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
};

// A number (digits, optionally a fraction), optional spaces, an optional unit. The sign is captured so that
// "-8" gets the "positive" message rather than the "such as 64KiB" one.
const SIZE_PATTERN = /^([+-]?)(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i;

export interface ParseSizeOptions {
  /** Accept 0 bytes (default false: message sizes and rings are never empty). */
  allowZero?: boolean;
  /** The largest size the caller takes, if it has a limit: a larger one is refused by it, however large. */
  max?: number;
}

/**
 * The number of bytes that `text` names: `'8'`, `'8B'`, `'64KiB'`, `'1.5 MiB'`, `'2G'`.
 * `name` is the option the text came from; it appears in the message of the `RangeError` thrown for anything else:
 * ``Expected `--max` to be a size such as 64KiB or 8MiB, got "abc"``.
 */
export function parseSize(text: string, name = 'size', { allowZero = false, max }: ParseSizeOptions = {}): number {
  const given = text.trim();
  const match = SIZE_PATTERN.exec(given);
  const unit = match ? match[3]!.toLowerCase() : '';
  if (!match || UNIT_BYTES[unit] === undefined) {
    const hint = /^[kmg]b$/.test(unit) ? ` (sizes are binary: write ${unit[0]!.toUpperCase()}iB)` : '';
    throw new RangeError(`Expected \`${name}\` to be a size such as 64KiB or 8MiB, got "${text}"${hint}`);
  }
  const bytes = Number(match[2]) * UNIT_BYTES[unit]!;
  const lowest = allowZero ? 'a size of 0 or more' : 'a positive size';
  if (match[1] === '-' && bytes !== 0) throw new RangeError(`Expected \`${name}\` to be ${lowest}, got "${text}"`);
  if (bytes === 0 && !allowZero) throw new RangeError(`Expected \`${name}\` to be ${lowest}, got "${text}"`);
  if (!Number.isInteger(bytes)) {
    throw new RangeError(`Expected \`${name}\` to be a whole number of bytes, got "${text}" (${bytes} bytes)`);
  }
  if (max !== undefined && bytes > max) throw new RangeError(`Expected \`${name}\` to be at most ${formatSize(max)}, got "${text}"`);
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`Expected \`${name}\` to be at most ${formatSize(Number.MAX_SAFE_INTEGER)}, got "${text}"`);
  }
  return bytes;
}

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * A byte count for people: `8 B`, `1000 B`, `64 KiB`, `1.5 MiB`, `1.32 KiB`. The unit is the largest one the count
 * reaches; the number keeps three significant digits (or all of its integer digits), without trailing zeros. A
 * count just short of the next unit goes up to it: 1,048,568 bytes (1023.99 KiB) is `1 MiB`, not `1024 KiB`.
 */
export function formatSize(bytes: number): string {
  let unit = 0;
  let value = bytes;
  while (Math.abs(value) >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit > 0 && unit < SIZE_UNITS.length - 1 && Math.abs(Number(trimDecimals(value))) >= 1024) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? String(value) : trimDecimals(value)} ${SIZE_UNITS[unit]}`;
}

/** `value` with about three significant digits: 1023.4 -> "1023", 12.34 -> "12.3", 1.5 -> "1.5", 64 -> "64". */
function trimDecimals(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  // Drop the zeros after the point that toFixed pads with: "1.50" -> "1.5", "64.0" -> "64".
  return value.toFixed(magnitude >= 10 ? 1 : 2).replace(/\.?0+$/, '');
}

/**
 * A measurement for a table cell, with three significant digits and no unit: 21345.6 -> "21,346", 123.4 -> "123",
 * 12.34 -> "12.3", 1.234 -> "1.23", 0.01234 -> "0.0123". Not a finite number -> "-" (a mode that did not run).
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value === 0) return '0';
  // Round first, so that 9.996 becomes "10.0" rather than "10.00" (four digits).
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
  const magnitude = Math.abs(rounded);
  if (magnitude >= 100) return groupThousands(rounded);
  if (magnitude >= 10) return rounded.toFixed(1);
  if (magnitude >= 1) return rounded.toFixed(2);
  return rounded.toPrecision(3);
}

/** A count for people: "1,776,101" (an integer, grouped by thousands). */
export function formatCount(count: number): string {
  return groupThousands(Math.round(count));
}

// Locale-independent grouping (toLocaleString would print "21.346" in some locales).
function groupThousands(integer: number): string {
  const digits = String(Math.abs(integer));
  let grouped = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) grouped += ',';
    grouped += digits[i];
  }
  return integer < 0 ? `-${grouped}` : grouped;
}

/**
 * About `points` message sizes from `min` to `max` bytes, evenly spaced on a log scale, ascending, without
 * duplicates. The first is exactly `min` and the last exactly `max`; those between are rounded to multiples of 8
 * (a whole number of Float64Array elements), so close sizes can merge and fewer than `points` may come back.
 */
export function logSizes(min: number, max: number, points: number): number[] {
  if (!Number.isSafeInteger(min) || min < 1) {
    throw new RangeError(`Expected \`min\` to be a positive integer, got ${min}`);
  }
  if (!Number.isSafeInteger(max) || max < min) {
    throw new RangeError(`Expected \`max\` to be an integer of at least min (${min}), got ${max}`);
  }
  if (min === max) return [min];
  if (!Number.isInteger(points) || points < 2) {
    throw new RangeError(`Expected \`points\` to be an integer of at least 2 when min < max, got ${points}`);
  }
  const ratio = max / min;
  const sizes = [min];
  for (let i = 1; i < points - 1; i++) {
    const exact = min * ratio ** (i / (points - 1));
    const rounded = Math.max(8, Math.round(exact / 8) * 8);
    // Rounding can land on (or before) the previous size, or on max itself: skip those.
    if (rounded > sizes[sizes.length - 1]! && rounded < max) sizes.push(rounded);
  }
  sizes.push(max);
  return sizes;
}

/** `a`, `a and b`, `a, b and c`: words (or numbers) in a sentence. */
export function listed(words: readonly (string | number)[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}
