/**
 * How error messages name a value they refuse: what was given, short enough for one line. One function for the whole
 * library, so that every "Expected ..., got ..." reads alike.
 */

/** A value for an error message: 4, "avg", 1n, undefined, an array of length 3, a Float64Array, a Map, an object. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return value.name ? `a function (named ${value.name})` : 'an anonymous function';
  if (typeof value !== 'object' || value === null) return String(value); // number, boolean, symbol, undefined, null
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return withArticle(typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'object');
}

/** 'a Float64Array', 'an Int32Array', 'an object'; no 'an' before a 'u': a Uint8Array, said "you-". */
export function withArticle(noun: string): string {
  return `${/^[aeio]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}
