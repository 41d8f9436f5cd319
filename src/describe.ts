/**
 * How error messages name a value they refuse: what was given, short enough for one line. One module for the whole
 * library, so that every "Expected ..., got ..." reads alike.
 */
import { types } from 'node:util';

/** Strings longer than this are named by their length, not quoted: a message must stay one line. */
const MAX_QUOTED = 40;

/**
 * A value for an error message: 4, "avg", 1n, undefined, a string of 5000 characters, an array of length 3,
 * a Float64Array, a Map, an object, a function (named f).
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length <= MAX_QUOTED ? JSON.stringify(value) : `a string of ${value.length} characters`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object' && typeof value !== 'function') return String(value); // number, boolean, symbol, undefined
  if (isPlainArray(value)) return `an array of length ${value.length}`;
  return nameOf(value);
}

/** Refuses a `signal` option that is not an AbortSignal (launch, map). */
export function checkSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal (new AbortController().signal), got ${describe(signal)}`);
  }
}

/**
 * launch's and map's `timeoutMs`: undefined or a number > 0 (Infinity, or anything above 2^31 - 1 ms, is no limit).
 * 0 is refused with why, and what to write for either meaning it may have had: a ring call's 0 does not wait, but a
 * run cannot end before its first `worker` starts; and elsewhere 0 often means "no limit" (`deadlockMs: 0` turns the
 * watchdog off), which it would not here.
 */
export function checkRunTimeout(timeoutMs: unknown, worker: 'rank' | 'worker'): void {
  if (timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs > 0)) return;
  const why = timeoutMs === 0 ? ` (0 would time out before any ${worker} starts; leave timeoutMs out, or pass Infinity, for no limit)` : '';
  throw new RangeError(`Expected \`timeoutMs\` to be a number of milliseconds > 0, got ${describe(timeoutMs)}${why}`);
}

/**
 * Refuses an options object with a key that `what` does not take, a typo that would otherwise be ignored, with the
 * option meant where it can tell: one slip away, or the name another tool gives it (`aliases`: MPI's and Python's
 * `processes` for launch's `size`): ``TypeError: Unknown launch option `ranks` (did you mean size?): expected size,
 * transport, ...``. Refuses options that are no object too (`new Sender(ring, 4096)`, which has no keys to refuse, and
 * was taken for none).
 */
export function refuseUnknownOptions(
  what: string, options: unknown, known: readonly string[], aliases: Readonly<Record<string, string>> = {},
): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected ${what} options to be an object (${known.join(', ')}), got ${describe(options)}`);
  }
  const unknown = Object.keys(options).find((name) => !known.includes(name));
  if (unknown === undefined) return;
  const meant = Object.hasOwn(aliases, unknown) ? ` (did you mean ${aliases[unknown]}?)` : didYouMean(unknown, known);
  throw new TypeError(`Unknown ${what} option \`${unknown}\`${meant}: expected ${known.join(', ')}`);
}

/**
 * ` (did you mean ring?)` when `text` is one slip away from one of `names` (letters swapped, one missing, one too many,
 * one wrong; two for a word of 8 letters or more; none for one of 2 letters or fewer), else ''. The first name as near
 * as any wins.
 */
export function didYouMean(text: string, names: readonly string[]): string {
  if (text.length < 3) return ''; // one slip in a word of two letters makes another word, not a typo
  const allowed = text.length >= 8 ? 2 : 1;
  const typed = text.toLowerCase();
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const name of names) {
    if (Math.abs(name.length - text.length) > allowed) continue; // more slips than allowed, whatever the letters
    const distance = slips(typed, name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

/** How many slips (an insertion, a deletion, a substitution, two neighbours swapped) turn `a` into `b`. */
function slips(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * What kind of thing a value is, without its contents: a string, a number, an array, a function (named f), a Map.
 * For a value received or refused, where its contents could be anything, of any size.
 */
export function kindOf(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value !== 'object' && typeof value !== 'function') return withArticle(typeof value);
  if (isPlainArray(value)) return 'an array';
  return nameOf(value);
}

/** An array, and not a Proxy of one (a revoked Proxy throws even at Array.isArray). */
function isPlainArray(value: unknown): value is unknown[] {
  return !types.isProxy(value) && Array.isArray(value);
}

/** An object or function by its constructor or name: a Map, an object, a Proxy, a class (named A), null. */
function nameOf(value: object | null): string {
  if (value === null) return 'null';
  if (types.isProxy(value)) return 'a Proxy'; // before anything that would read through it (a revoked one throws)
  if (typeof value === 'function') {
    const kind = isClass(value) ? 'class' : 'function';
    return value.name ? `a ${kind} (named ${value.name})` : `an anonymous ${kind}`;
  }
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return withArticle(typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'object');
}

/** A class: a function, but one that only `new` may call (its source begins with `class`). */
export function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value));
}

/** 'a Float64Array', 'an Int32Array', 'an object'; no 'an' before a 'u': a Uint8Array, said "you-". */
export function withArticle(noun: string): string {
  return `${/^[aeio]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

/**
 * A size in bytes as an adjective, with the article its number is read with: `a 64-byte`, `an 8-byte`, `an 800-byte`,
 * `an 11-byte`, `an 18000-byte` (eighteen thousand), `a 110-byte`.
 */
export function aBytes(bytes: number): string {
  const digits = String(bytes);
  const vowel = digits.startsWith('8') || (digits.length % 3 === 2 && /^1[18]/.test(digits)); // eight, eleven, eighteen
  return `${vowel ? 'an' : 'a'} ${digits}-byte`;
}

const typedArrayAt = (Object.getPrototypeOf(Uint8Array.prototype) as { at: (index: number) => unknown }).at;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')!.get!;

/**
 * True for a view that lies outside its resizable ArrayBuffer, which shrank below it: a typed array then reads 0
 * elements at offset 0 (as an empty one may), a DataView throws. Only a method that validates the array tells, and
 * `at()` does so without making anything (nor asking a species constructor, as `slice()` would): it throws a TypeError
 * for one out of bounds (or detached).
 */
export function isOutOfBounds(view: ArrayBufferView): boolean {
  if ((view.buffer as { resizable?: boolean }).resizable !== true) return false; // a SharedArrayBuffer only grows
  try {
    // This realm's functions, whatever realm the view is of: their TypeError is this realm's
    if (types.isDataView(view)) return (dataViewByteLength.call(view) as number) < 0; // throws when out of bounds
    typedArrayAt.call(view, 0);
    return false;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return !isDetached(view.buffer);
  }
}

/**
 * The bytes a view reads: its `byteLength`, or 0 for a DataView whose memory is gone (detached, or outside its
 * resizable ArrayBuffer), where `byteLength` throws; a typed array reads 0 bytes then.
 */
export function byteLengthOf(view: ArrayBufferView): number {
  try {
    return view.byteLength;
  } catch (error) {
    if (isDetached(view.buffer) || isOutOfBounds(view)) return 0;
    throw error;
  }
}

/** True for an ArrayBuffer whose memory was transferred away (its views read 0 bytes, and a DataView throws). */
export function isDetached(buffer: ArrayBufferLike): boolean {
  const detached = (buffer as { detached?: unknown }).detached; // from Node 22
  if (typeof detached === 'boolean') return detached;
  try {
    new Uint8Array(buffer); // Node 20 lacks ArrayBuffer.prototype.detached; constructing a view is the test
    return false;
  } catch {
    return true;
  }
}
