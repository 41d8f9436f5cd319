import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementwise, kindName, toReducer, type TypedArray } from '../src/reduce-ops.js';
import { errorOf } from './helpers.js';

const like = (array: ArrayBufferView) => array as unknown as TypedArray;

test("the named ops on numbers: min and max as Math's, NaN and the sign of zero included; on bigints exactly", () => {
  const combine = (name: 'sum' | 'prod' | 'min' | 'max', a: unknown, b: unknown) => toReducer(name).combine(a, b);
  const shown = (value: unknown) => (Object.is(value, -0) ? '-0' : String(value));
  const pairs: Array<[number, number]> = [[NaN, 1], [1, NaN], [-0, 0], [0, -0], [-Infinity, 2], [3, 2.5]];
  assert.equal(pairs.map(([a, b]) => shown(combine('min', a, b))), ['NaN', 'NaN', '-0', '-0', '-Infinity', '2.5']);
  assert.equal(pairs.map(([a, b]) => shown(combine('max', a, b))), ['NaN', 'NaN', '0', '0', '2', '3']);
  assert.equal(pairs.map(([a, b]) => shown(combine('sum', a, b))), ['NaN', 'NaN', '0', '0', '-Infinity', '5.5']);
  assert.equal(pairs.map(([a, b]) => shown(combine('prod', a, b))), ['NaN', 'NaN', '-0', '-0', '-Infinity', '7.5']);
  // A product of large integers is the double product, not Math.imul's 32 bits.
  assert.is(combine('prod', 2 ** 31 + 1, 3), 6442450947);
  const big = 2n ** 80n;
  assert.equal(['sum', 'prod', 'min', 'max'].map((name) => combine(name as 'sum', big, -3n)), [big - 3n, -3n * big, -3n, big]);
});

test('the named ops refuse what they cannot combine, naming both kinds, the lower rank first', () => {
  const message = (fn: () => unknown, kind: new (...args: never[]) => Error) => {
    const err = errorOf(fn);
    assert.instance(err, kind);
    return err.message;
  };
  const [a, b] = [like(new Float64Array(3)), like(new Float64Array(4))];
  assert.is(message(() => elementwise('max', a, b, a), RangeError),
    "Expected typed arrays of the same length to reduce with 'max', got 3 and 4");
  assert.is(message(() => elementwise('min', a, like(new Int32Array(3)), a), TypeError),
    "Expected typed arrays of the same kind to reduce with 'min', got Float64Array and Int32Array");
  assert.is(message(() => toReducer('sum').combine(1, 2n), TypeError),
    "Expected values of the same type to reduce with 'sum', got a number and a bigint");
  assert.is(message(() => toReducer('sum').check(new DataView(new ArrayBuffer(8))), TypeError),
    "Expected a number, bigint or typed array to reduce with 'sum', got a DataView (pass a function to reduce other values)");
  for (const value of [1, 2n, new Int8Array(1), Buffer.from('x')]) toReducer('prod').check(value);
});

test("an op that is not one: refused by name, with the swapped arguments' hint only for a call that has them", () => {
  const message = (fn: () => unknown) => {
    const err = errorOf(fn);
    assert.instance(err, TypeError);
    return err.message;
  };
  const expected = "Expected `op` to be 'sum', 'prod', 'min', 'max' or a function, got";
  assert.is(message(() => toReducer([1, 2] as never, 'sum', 'allreduce')),
    `${expected} an array of length 2 (the value comes first: allreduce(value, 'sum'))`);
  assert.is(message(() => toReducer('Sum' as never, 'sum')), `${expected} "Sum"`);
  assert.is(message(() => toReducer(undefined as never, 'avg', 'reduce')), `${expected} undefined`);
  assert.equal([kindName('x'), kindName(new DataView(new ArrayBuffer(1))), kindName(new Int8Array(1)), kindName([]), kindName(null)],
    ['a string', 'a DataView', 'an Int8Array', 'an array', 'null']);
});

test.run();
