/** How error messages name values: describe() gives the value when it is short, kindOf() only what it is. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aBytes, describe, kindOf, refuseUnknownOptions, withArticle } from '../src/describe.js';
import { errorOf } from './helpers.js';

class Point {}
const revoked = Proxy.revocable({}, {});
revoked.revoke();

test('describe: short values as they are, long or structured ones by what they are', () => {
  const cases: [unknown, string][] = [
    [4, '4'], [0.5, '0.5'], [NaN, 'NaN'], [true, 'true'], [undefined, 'undefined'], [null, 'null'], [12n, '12n'],
    ['avg', '"avg"'], ['x'.repeat(40), JSON.stringify('x'.repeat(40))], ['x'.repeat(41), 'a string of 41 characters'],
    [Symbol('s'), 'Symbol(s)'], [[1, 2, 3], 'an array of length 3'], [new Float64Array(2), 'a Float64Array'],
    [new Int32Array(1), 'an Int32Array'], [new Uint8Array(1), 'a Uint8Array'], [new ArrayBuffer(8), 'an ArrayBuffer'],
    [new Map(), 'a Map'], [{}, 'an object'], [Object.create(null), 'an object'], [new Point(), 'a Point'],
    [function onClick() {}, 'a function (named onClick)'], [() => {}, 'an anonymous function'], [Point, 'a class (named Point)'],
    [revoked.proxy, 'a Proxy'],
  ];
  for (const [value, expected] of cases) assert.is(describe(value), expected);
});

test('kindOf: never the contents', () => {
  const cases: [unknown, string][] = [
    [4, 'a number'], ['x'.repeat(10_000), 'a string'], [12n, 'a bigint'], [Symbol('s'), 'a symbol'], [undefined, 'undefined'],
    [null, 'null'], [[1, 2], 'an array'], [new Map(), 'a Map'], [{ a: 1 }, 'an object'], [function f() {}, 'a function (named f)'],
  ];
  for (const [value, expected] of cases) assert.is(kindOf(value), expected);
  assert.equal(['object', 'Int8Array', 'Uint8Array', 'Error', 'Map'].map(withArticle), ['an object', 'an Int8Array', 'a Uint8Array', 'an Error', 'a Map']);
});

test('aBytes: a size as an adjective, with the article its number is read with', () => {
  const cases: [number, string][] = [
    [64, 'a 64-byte'], [8, 'an 8-byte'], [80, 'an 80-byte'], [800, 'an 800-byte'], [8192, 'an 8192-byte'],
    [11, 'an 11-byte'], [18, 'an 18-byte'], [11_000, 'an 11000-byte'], [18_432, 'an 18432-byte'], [110, 'a 110-byte'],
    [181, 'a 181-byte'], [1, 'a 1-byte'], [0, 'a 0-byte'], [1_100_000, 'a 1100000-byte'], [11_000_000, 'an 11000000-byte'],
  ];
  for (const [bytes, expected] of cases) assert.is(aBytes(bytes), expected, String(bytes));
});

test('an unknown option is refused with the one meant: one slip away, or by the name another tool gives it', () => {
  const known = ['size', 'transport', 'timeoutMs'];
  const aliases = { ranks: 'size', np: 'size', timeout: 'timeoutMs' };
  const refusal = (options: object) => errorOf(() => refuseUnknownOptions('launch', options, known, aliases));
  const cases: [object, string][] = [
    [{ size: 2, ranks: 2 }, ' (did you mean size?)'], // an alias
    [{ np: 2 }, ' (did you mean size?)'], // an alias of two letters, where no slip is counted
    [{ timeout: 5 }, ' (did you mean timeoutMs?)'],
    [{ tranport: 'clone' }, ' (did you mean transport?)'], // one letter missing
    [{ timeoutms: 5 }, ' (did you mean timeoutMs?)'], // the case
    [{ strategy: 'spin' }, ''], // nothing near
    [{ toString: 1 }, ''], // an alias table's own properties are no aliases
  ];
  for (const [options, meant] of cases) {
    const err = refusal(options);
    assert.instance(err, TypeError);
    const name = Object.keys(options).find((key) => !known.includes(key));
    assert.is(err.message, `Unknown launch option \`${name}\`${meant}: expected size, transport, timeoutMs`, name);
  }
  assert.not.throws(() => refuseUnknownOptions('launch', { size: 1, timeoutMs: 5 }, known, aliases));
});

test.run();
