import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runInNewContext } from 'node:vm';
import {
  TYPE, allocate, copyAsSent, decode, elementSize, encode, encodedType, isBinaryType, isFixedLength, sliceOf, typeName,
  viewAs,
} from '../src/codec.js';
import { DataCloneError } from '../src/errors.js';
import { createSecretKey } from 'node:crypto';
import { BlockList, SocketAddress } from 'node:net';
import { bitsOf, errorOf, Float16, HALF_BITS, prng, testSeed } from './helpers.js';
import { compile } from '../src/wasm.js';

// One sample of every typed-array kind, with the awkward values of each: negatives, limits, NaN, -0, big bigints.
const SAMPLES: Array<[number, string, ArrayBufferView]> = [
  [TYPE.int8, 'Int8Array', new Int8Array([0, -1, 127, -128, 42])],
  [TYPE.uint8, 'Uint8Array', new Uint8Array([0, 1, 255, 128])],
  [TYPE.uint8c, 'Uint8ClampedArray', new Uint8ClampedArray([0, 255, 300, -5])],
  [TYPE.int16, 'Int16Array', new Int16Array([-32768, 32767, -1, 0])],
  [TYPE.uint16, 'Uint16Array', new Uint16Array([0, 65535, 1234])],
  [TYPE.int32, 'Int32Array', new Int32Array([-2147483648, 2147483647, -7])],
  [TYPE.uint32, 'Uint32Array', new Uint32Array([0, 4294967295, 99])],
  [TYPE.float32, 'Float32Array', new Float32Array([1.5, -0, NaN, Infinity, -3.25])],
  [TYPE.float64, 'Float64Array', new Float64Array([Math.PI, -0, NaN, -Infinity, Number.MIN_VALUE, -1e308])],
  [TYPE.bigint64, 'BigInt64Array', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -5n])],
  [TYPE.biguint64, 'BigUint64Array', new BigUint64Array([0n, 2n ** 64n - 1n, 2n ** 53n + 3n])],
];

/** The last codec code this runtime knows: TYPE.float16 where it has Float16Array. */
const LAST_CODE = Float16 === undefined ? TYPE.bigint : TYPE.float16;

/** Element by element with Object.is, so NaN equals NaN and -0 differs from 0. */
function assertSameElements(actual: ArrayLike<number | bigint>, expected: ArrayLike<number | bigint>): void {
  assert.is(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `element ${i}: ${String(actual[i])} !== ${String(expected[i])}`);
  }
}

/** What `fn` threw (and a failed assertion if it did not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.unreachable('expected a throw');
}

function cloneError(value: unknown): DataCloneError {
  const err = thrown(() => encode(value));
  assert.instance(err, DataCloneError);
  return err as DataCloneError;
}

function rangeErrorMessage(fn: () => unknown): string {
  const err = thrown(fn);
  assert.instance(err, RangeError);
  return (err as RangeError).message;
}

test('every typed-array kind round-trips to the same constructor and identical elements', () => {
  for (const [code, name, sample] of SAMPLES) {
    const encoded = encode(sample);
    assert.is(encoded.type, code, name);
    assert.is(encodedType(sample), code, name);
    assert.is(encoded.bytes.byteLength, sample.byteLength, name);
    const decoded = decode(encoded.type, encoded.bytes) as ArrayLike<number | bigint> & ArrayBufferView;
    assert.is(decoded.constructor.name, name);
    assertSameElements(decoded, sample as unknown as ArrayLike<number | bigint>);
    assert.is(typeName(code), name);
    assert.is(elementSize(code), (sample as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
    assert.ok(isBinaryType(code));
  }
});

test('encode is a view over the value\'s own memory; decode owns fresh, exactly sized memory', () => {
  const source = new Float64Array([1, 2, 3]);
  const encoded = encode(source);
  assert.is(encoded.bytes.buffer, source.buffer);
  const decoded = decode(encoded.type, encoded.bytes) as Float64Array;
  assert.is.not(decoded.buffer, source.buffer);
  assert.is(decoded.buffer.byteLength, 24);
  assert.ok(decoded.buffer instanceof ArrayBuffer);
  source[0] = 99;
  assert.is(decoded[0], 1);
});

test('decode refuses an option it does not know, which would otherwise copy where a view was asked for', () => {
  const encoded = encode(new Float64Array([1.5, 2.5]));
  const err = errorOf(() => decode(encoded.type, encoded.bytes, { inplace: true } as never));
  assert.instance(err, TypeError);
  assert.is(err.message, 'Unknown decode option `inplace` (did you mean inPlace?): expected inPlace');
  const view = decode(encoded.type, encoded.bytes, { inPlace: true }) as Float64Array;
  assert.is(view.buffer, encoded.bytes.buffer); // in place: over the same memory
  assert.equal([...view], [1.5, 2.5]);
});

test('a subarray encodes only its own bytes', () => {
  const whole = new Int16Array([10, 20, 30, 40, 50]);
  const part = whole.subarray(1, 3);
  const encoded = encode(part);
  assert.is(encoded.bytes.byteOffset, 2);
  assert.is(encoded.bytes.byteLength, 4);
  assert.equal(Array.from(encoded.bytes), [20, 0, 30, 0]);
  const decoded = decode(encoded.type, encoded.bytes) as Int16Array;
  assert.equal(Array.from(decoded), [20, 30]);
  assert.is(decoded.byteOffset, 0);
  assert.is(decoded.buffer.byteLength, 4);
});

test('a Node Buffer comes back as a plain Uint8Array with only its bytes', () => {
  const buffer = Buffer.from('héllo'); // pooled: a small window on a larger ArrayBuffer
  const encoded = encode(buffer);
  assert.is(encoded.type, TYPE.uint8);
  assert.is(encoded.bytes.byteLength, 6);
  const decoded = decode(encoded.type, encoded.bytes) as Uint8Array;
  assert.is(decoded.constructor, Uint8Array);
  assert.equal(Array.from(decoded), [0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f]);
});

test('DataView round-trips with its own window only', () => {
  const buffer = new ArrayBuffer(16);
  new Uint8Array(buffer).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const view = new DataView(buffer, 3, 4);
  const encoded = encode(view);
  assert.is(encoded.type, TYPE.dataview);
  const decoded = decode(encoded.type, encoded.bytes) as DataView;
  assert.instance(decoded, DataView);
  assert.is(decoded.byteOffset, 0);
  assert.is(decoded.byteLength, 4);
  assert.is(decoded.getUint32(0), 0x03040506);
});

test('ArrayBuffer round-trips as a copy', () => {
  const buffer = new Uint8Array([9, 8, 7]).buffer;
  const encoded = encode(buffer);
  assert.is(encoded.type, TYPE.bytes);
  assert.is(encoded.bytes.buffer, buffer);
  const decoded = decode(encoded.type, encoded.bytes) as ArrayBuffer;
  assert.is(decoded.constructor, ArrayBuffer);
  assert.is.not(decoded, buffer);
  assert.equal(Array.from(new Uint8Array(decoded)), [9, 8, 7]);
});

test('a SharedArrayBuffer, or a view over one, arrives as non-shared bytes', () => {
  const shared = new SharedArrayBuffer(8);
  new Uint8Array(shared).set([1, 2, 3, 4, 5, 6, 7, 8]);
  const asBytes = decode(TYPE.bytes, encode(shared).bytes);
  assert.is((asBytes as object).constructor, ArrayBuffer);
  assert.equal(Array.from(new Uint8Array(asBytes as ArrayBuffer)), [1, 2, 3, 4, 5, 6, 7, 8]);
  const view = new Uint16Array(shared, 2, 2);
  const encoded = encode(view);
  assert.is(encoded.type, TYPE.uint16);
  const decoded = decode(encoded.type, encoded.bytes) as Uint16Array;
  assert.ok(decoded.buffer instanceof ArrayBuffer);
  assert.equal(Array.from(decoded), [0x0403, 0x0605]);
});

test('structured values round-trip through V8\'s serializer', () => {
  const sparse = [1, , 3];
  const value = {
    nested: { deep: { list: [1, 'two', { three: 3 }] } },
    map: new Map<unknown, unknown>([['a', 1], [2, { b: true }]]),
    set: new Set(['x', 'y']),
    date: new Date(Date.UTC(2024, 1, 29, 12, 0, 0)),
    regexp: /ab+c/giu,
    big: 2n ** 100n + 1n,
    negZero: -0,
    nan: NaN,
    sparse,
    nothing: undefined,
    empty: null,
    text: 'héllo wörld 😀 日本',
    floats: new Float64Array([1.5, -2.5]),
  };
  const encoded = encode(value);
  assert.is(encoded.type, TYPE.serialized);
  assert.is(encodedType(value), TYPE.serialized);
  assert.not.ok(isBinaryType(TYPE.serialized));
  const decoded = decode(encoded.type, encoded.bytes) as typeof value;
  assert.equal(decoded.nested, { deep: { list: [1, 'two', { three: 3 }] } });
  assert.instance(decoded.map, Map);
  assert.equal([...decoded.map], [['a', 1], [2, { b: true }]]);
  assert.equal([...decoded.set], ['x', 'y']);
  assert.is(decoded.date.toISOString(), '2024-02-29T12:00:00.000Z');
  assert.is(decoded.regexp.source, 'ab+c');
  assert.is(decoded.regexp.flags, 'giu');
  assert.is(decoded.big, 1267650600228229401496703205377n);
  assert.ok(Object.is(decoded.negZero, -0));
  assert.ok(Number.isNaN(decoded.nan));
  assert.is(decoded.sparse.length, 3);
  assert.not.ok(1 in decoded.sparse);
  assert.is(decoded.sparse[2], 3);
  assert.ok('nothing' in decoded);
  assert.is(decoded.nothing, undefined);
  assert.is(decoded.empty, null);
  assert.is(decoded.text, 'héllo wörld 😀 日本');
  assert.instance(decoded.floats, Float64Array);
  assert.equal(Array.from(decoded.floats), [1.5, -2.5]);
});

test('copyAsSent gives what a ring would deliver: a fresh copy of the plain kind, never the value itself', () => {
  const floats = Float64Array.of(1.5, -0, NaN);
  const copy = copyAsSent(floats) as Float64Array;
  assert.ok(copy !== floats && copy.buffer !== floats.buffer);
  assertSameElements(copy, [1.5, -0, NaN]);
  const text = copyAsSent(Buffer.from('hi')) as Uint8Array;
  assert.equal([text.constructor, Array.from(text)], [Uint8Array, [104, 105]]);
  const shared = new SharedArrayBuffer(2);
  const bytes = copyAsSent(shared) as ArrayBuffer;
  assert.equal([bytes.constructor, bytes.byteLength], [ArrayBuffer, 2]);
  const value = { list: [1, 'two'], when: new Date(0) };
  const cloned = copyAsSent(value) as typeof value;
  assert.ok(cloned !== value && cloned.list !== value.list && cloned.when !== value.when);
  assert.equal(cloned, value);
  assert.is(copyAsSent('short'), 'short');
});

test('isFixedLength is false for a resizable ArrayBuffer and a growable SharedArrayBuffer, true for the others', () => {
  const buffers = [
    new ArrayBuffer(8), new SharedArrayBuffer(8), new ArrayBuffer(8, { maxByteLength: 16 }),
    new SharedArrayBuffer(8, { maxByteLength: 16 } as never),
  ];
  assert.equal(buffers.map(isFixedLength), [true, true, false, false]);
});

test('a small typed array decodes into memory of its own, from aligned bytes or not, shared or not', () => {
  for (const [code, , sample] of SAMPLES) {
    const { bytes } = encode(sample);
    if (bytes.length > 64) continue; // V8 keeps up to 64 bytes on its heap: the fast way is for those
    for (const shared of [false, true]) {
      for (const offset of [0, 8, 1, 3]) { // a payload in a ring is aligned; decode() takes any bytes
        const length = offset + bytes.length;
        const source = shared ? new Uint8Array(new SharedArrayBuffer(length)) : new Uint8Array(length);
        source.set(bytes, offset);
        const view = source.subarray(offset, offset + bytes.length);
        const decoded = decode(code, view) as Uint8Array;
        const label = `${typeName(code)}, ${shared ? 'shared' : 'plain'}, at ${offset}`;
        assert.is(decoded.constructor, sample.constructor, label);
        assert.ok(!(decoded.buffer instanceof SharedArrayBuffer) && decoded.buffer !== source.buffer, label);
        const before = Array.from(new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength));
        assert.equal(before, Array.from(bytes), label);
        view.fill(0xee); // the source's bytes change: the decoded value does not
        assert.equal(Array.from(new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength)), before, label);
      }
    }
  }
});

test('primitives and errors round-trip', () => {
  const cases: [unknown, number][] = [
    [0, TYPE.number], [-1.5, TYPE.number], [-0, TYPE.number], [NaN, TYPE.number], [Infinity, TYPE.number],
    [Number.MAX_VALUE, TYPE.number], [5e-324, TYPE.number], ['x', TYPE.string], ['', TYPE.string],
    ['héllo 😀 日本', TYPE.string], ['\ud800 a lone surrogate \udfff', TYPE.string], ['y'.repeat(32), TYPE.string],
    ['z'.repeat(33), TYPE.serialized], [true, TYPE.constant], [false, TYPE.constant], [null, TYPE.constant],
    [undefined, TYPE.constant], [0n, TYPE.bigint], [-1n, TYPE.bigint], [2n ** 63n - 1n, TYPE.bigint],
    [-(2n ** 63n), TYPE.bigint], [2n ** 63n, TYPE.serialized], [12345678901234567890n, TYPE.serialized],
    [-(2n ** 63n) - 1n, TYPE.serialized],
  ];
  for (const [value, type] of cases) {
    const encoded = encode(value);
    assert.is(encoded.type, type, String(value));
    assert.is(encodedType(value), type, String(value));
    assert.ok(Object.is(decode(encoded.type, encoded.bytes), value), String(value)); // -0 and NaN as they were
  }
  assert.equal(decode(TYPE.serialized, encode(new Number(3)).bytes), new Number(3)); // an object: serialized
  // Their codes' payloads: a number's 8 bytes, a constant's one, a short string's two a code unit.
  assert.equal(Array.from(encode(1.5).bytes), Array.from(new Uint8Array(Float64Array.of(1.5).buffer)));
  assert.equal([undefined, null, false, true].map((value) => Array.from(encode(value).bytes)), [[0], [1], [2], [3]]);
  assert.equal(Array.from(encode('A\u0101').bytes), [0x41, 0, 0x01, 0x01]);
  // Each encoding has bytes of its own: a second one does not change the first.
  const [one, two] = [encode(1), encode(2)];
  assert.equal([decode(TYPE.number, one.bytes), decode(TYPE.number, two.bytes)], [1, 2]);
  // Payloads that are not what their code says are refused, as a corrupt frame would be.
  assert.is(rangeErrorMessage(() => decode(TYPE.number, new Uint8Array(7))), 'A number needs 8 bytes, got 7');
  assert.is(rangeErrorMessage(() => decode(TYPE.bigint, new Uint8Array(9))), 'A bigint needs 8 bytes, got 9');
  assert.is(rangeErrorMessage(() => decode(TYPE.constant, Uint8Array.of(4))),
    'A constant needs 1 byte from 0 to 3, got the byte 4');
  assert.is(rangeErrorMessage(() => decode(TYPE.constant, new Uint8Array(2))),
    'A constant needs 1 byte from 0 to 3, got 2 bytes');
  assert.is(rangeErrorMessage(() => decode(TYPE.string, new Uint8Array(3))),
    'A short string needs an even number of bytes, 64 at most, got 3');
  const error = decode(TYPE.serialized, encode(new TypeError('bad thing')).bytes) as Error;
  assert.instance(error, TypeError);
  assert.is(error.message, 'bad thing');
});

test('serialized decode owns what it returns: nested typed arrays do not alias the input bytes', () => {
  const { bytes } = encode({ raw: new Uint8Array([1, 2, 3]), text: 'abc', buffer: new ArrayBuffer(2) });
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  const decoded = decode(TYPE.serialized, shared, { inPlace: true }) as { raw: Uint8Array; text: string; buffer: ArrayBuffer };
  shared.fill(0xee);
  assert.equal(Array.from(decoded.raw), [1, 2, 3]);
  assert.is(decoded.text, 'abc');
  assert.equal(Array.from(new Uint8Array(decoded.buffer)), [0, 0]);
  assert.not.ok(decoded.raw.buffer instanceof SharedArrayBuffer);
});

test('a view nested in a value arrives over a buffer of its own bytes alone, of its plain kind', () => {
  // Node's v8.deserialize handed a nested view back over the whole message it read, or over an 8 KiB Buffer pool
  // where the message placed it at an offset not a multiple of its element size (the 'x' before it does).
  const whole = new Float64Array([0.5, 1.5, 2.5, 3.5]);
  const value = {
    x: 'x', floats: Float64Array.of(1.5, 2.5), middle: whole.subarray(1, 3), text: Buffer.from('hi'),
    window: new DataView(new ArrayBuffer(16), 4, 8), big: BigInt64Array.of(-1n),
  };
  const decoded = decode(TYPE.serialized, encode(value).bytes) as typeof value;
  const shapes = Object.entries(decoded).filter(([, v]) => ArrayBuffer.isView(v)).map(([key, v]) => {
    const view = v as ArrayBufferView;
    return [key, view.constructor.name, view.byteOffset, view.byteLength, view.buffer.byteLength];
  });
  assert.equal(shapes, [
    ['floats', 'Float64Array', 0, 16, 16], ['middle', 'Float64Array', 0, 16, 16], ['text', 'Uint8Array', 0, 2, 2],
    ['window', 'DataView', 0, 8, 8], ['big', 'BigInt64Array', 0, 8, 8],
  ]);
  assert.equal([...decoded.floats, ...decoded.middle], [1.5, 2.5, 1.5, 2.5]);
  assert.is(new TextDecoder().decode(decoded.text), 'hi');
  assert.equal([...decoded.big], [-1n]);
});

test("Node's own cloneable objects, detached views and buffers inside a value are refused with what is wrong and where", () => {
  const key = createSecretKey(Buffer.from('0123456789abcdef'));
  assert.is(cloneError({ user: { key } }).message,
    "an object containing a SecretKeyObject cannot be sent: Node's own objects (a KeyObject, a Blob, a MessagePort, " +
    "...) cannot go through a ring; postMessage clones some (a KeyObject, a Blob, a BlockList) on the 'clone' and " +
    "'transfer' transports (at value.user.key)");
  const { port1, port2 } = new MessageChannel();
  assert.ok(cloneError({ reply: port1 }).message.startsWith(
    "an object containing a MessagePort cannot be sent: Node's own objects"), 'a port: refused for what it is');
  port1.close();
  port2.close();
  assert.is(cloneError([new Blob(['hi'])]).message.split(':')[0], 'an array containing a Blob cannot be sent');
  const detached = new Float64Array(4);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  assert.is(cloneError({ ok: 1, detached }).message,
    'an object containing a Float64Array cannot be sent: its ArrayBuffer is detached (its memory was transferred ' +
    'away) (at value.detached)');
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
  assert.is(cloneError({ ok: 1, buffer }).message,
    'an object containing an ArrayBuffer cannot be sent: it is detached (its memory was transferred away) (at ' +
    'value.buffer)');
});

test("Node's objects that Node 22 and later clone by a method of their own are refused wherever they sit, not sent as {}", () => {
  // V8's serializer writes a Blob as {} where Node clones it by that method (Node 22 and later), and refuses it as a
  // host object on Node 20: the same refusals on both.
  const refusal = "cannot be sent: Node's own objects (a KeyObject, a Blob, a MessagePort, ...) cannot go through a ring";
  for (const [object, kind] of [
    [new Blob(['bytes']), 'a Blob'], [new File(['x'], 'f.txt'), 'a File'], [new BlockList(), 'a BlockList'],
    [new SocketAddress({}), 'a SocketAddress'],
  ] as const) {
    assert.ok(cloneError(object).message.startsWith(`${kind} ${refusal}`), kind);
  }
  const blob = new Blob(['bytes']);
  const cycle: Record<string, unknown> = { name: 'cycle' };
  cycle['self'] = cycle;
  cycle['blob'] = blob;
  const where = (value: unknown): string => cloneError(value).message.replace(/.*\(at (.*)\)$/, '$1');
  assert.is(where({ files: new Map<string, unknown>([['a', 1], ['b', { blob }]]) }), 'value.files[map value #1].blob');
  assert.is(where([1, new Set(['x', blob])]), 'value[1][set entry #1]');
  assert.is(where({ error: new Error('failed', { cause: [blob] }) }), 'value.error.cause[0]');
  assert.is(where({ cycle }), 'value.cycle.blob');
  let deep: unknown = blob;
  for (let i = 0; i < 2000; i++) deep = [deep];
  assert.is(where(deep), `value${'[0]'.repeat(2000)}`);
  // Parts shared 2^29 ways (a walk as a tree would never end) and a Blob at the bottom: found all the same
  let shared: unknown[] = [{}];
  for (let i = 0; i < 29; i++) shared = [shared, shared];
  let copy = decode(TYPE.serialized, encode(shared).bytes) as unknown[];
  for (let i = 0; i < 29; i++) {
    assert.is(copy[0], copy[1]); // shared still: structured clone keeps the references
    copy = copy[0] as unknown[];
  }
  assert.equal(copy, [{}]);
  assert.is(where([shared, [blob]]), 'value[1][0]');
  // A getter runs once, as structured clone runs it, whether or not the value holds an object written as {}
  let reads = 0;
  const counted = { empty: {}, get x() { reads++; return 2; } };
  assert.equal(decode(TYPE.serialized, encode(counted).bytes), { empty: {}, x: 2 });
  assert.is(reads, 1);
  // A DOMException has Node's method too (Node 22 and later), but V8 writes it as an Error: sent beside a {} as alone
  const failure = new DOMException('gone', 'AbortError');
  const alone = decode(TYPE.serialized, encode(failure).bytes);
  assert.equal(decode(TYPE.serialized, encode({ failure, empty: {} }).bytes), { failure: alone, empty: {} });
});


(Float16 === undefined ? test.skip : test)('a Float16Array (Node 24) round-trips as its kind, bit for bit: whole, a subarray, nested, in place', () => {
  const half = new Float16!(Uint16Array.from(HALF_BITS).buffer);
  const encoded = encode(half);
  assert.equal([encoded.type, encodedType(half), typeName(TYPE.float16), elementSize(TYPE.float16)], [19, 19, 'Float16Array', 2]);
  assert.ok(isBinaryType(TYPE.float16));
  assert.is(encoded.bytes.buffer, half.buffer); // a view of its own memory, as for every kind
  const decoded = decode(encoded.type, encoded.bytes) as ArrayBufferView;
  assert.is(decoded.constructor.name, 'Float16Array');
  assert.equal(bitsOf(decoded), HALF_BITS);
  const part = new Float16!(half.buffer, 2, 3); // elements 1 to 3
  const copy = copyAsSent(part) as ArrayBufferView;
  assert.equal([copy.constructor.name, copy.byteLength, copy.buffer.byteLength], ['Float16Array', 6, 6]);
  assert.equal(bitsOf(copy), HALF_BITS.slice(1, 4));
  const nested = decode(TYPE.serialized, encode({ half, part }).bytes) as { half: ArrayBufferView; part: ArrayBufferView };
  assert.equal([nested.half.constructor.name, nested.part.constructor.name], ['Float16Array', 'Float16Array']);
  assert.equal([bitsOf(nested.half), bitsOf(nested.part)], [HALF_BITS, HALF_BITS.slice(1, 4)]);
  const ring = new Uint8Array(new SharedArrayBuffer(32));
  ring.set(encoded.bytes, 2);
  const inPlace = decode(TYPE.float16, ring.subarray(2, 18), { inPlace: true }) as ArrayBufferView;
  assert.equal([inPlace.constructor.name, inPlace.buffer, inPlace.byteOffset], ['Float16Array', ring.buffer, 2]);
  assert.equal(bitsOf(inPlace), HALF_BITS);
  assert.is(rangeErrorMessage(() => decode(TYPE.float16, ring.subarray(1, 5), { inPlace: true })),
    'Cannot view Float16Array in place at byte offset 1: the offset must be a multiple of the element size, 2');
  assert.is(rangeErrorMessage(() => decode(TYPE.float16, new Uint8Array(3))),
    'Float16Array needs a byte length that is a multiple of 2, got 3');
  const { value, bytes } = allocate(TYPE.float16, 4);
  assert.equal([(value as ArrayBufferView).constructor.name, bytes.buffer], ['Float16Array', (value as ArrayBufferView).buffer]);
});

(Float16 === undefined ? test : test.skip)('without Float16Array (Node 20 and 22) its code, 19, is unknown, and no value encodes to it', () => {
  assert.is(rangeErrorMessage(() => decode(TYPE.float16, new Uint8Array(2))),
    'Unknown codec type code 19: expected an integer from 1 to 18');
  assert.not.ok(isBinaryType(TYPE.float16));
  assert.is(encodedType(Float32Array.of(1.5)), TYPE.float32);
});

test('inPlace decode is a view sharing memory with the bytes', () => {
  const ring = new Uint8Array(new SharedArrayBuffer(64));
  const payload = ring.subarray(16, 40);
  payload.set(encode(new Float64Array([1, 2, 3])).bytes);
  const view = decode(TYPE.float64, payload, { inPlace: true }) as Float64Array;
  assert.is(view.buffer, ring.buffer);
  assert.is(view.byteOffset, 16);
  assert.equal(Array.from(view), [1, 2, 3]);
  view[1] = -0.5;
  assert.equal(Array.from(new Float64Array(ring.buffer, 24, 1)), [-0.5]);
  ring[16] = 0; ring[22] = 0xf0; ring[23] = 0x3f; // writing the source bytes shows through the view: 1.0 again
  assert.is(view[0], 1);
  const dataView = decode(TYPE.dataview, ring.subarray(3, 7), { inPlace: true }) as DataView;
  dataView.setUint8(0, 77);
  assert.is(ring[3], 77);
});

test('sliceOf copies the bytes at an offset into a fresh plain array of the kind, and refuses a misaligned offset or length', () => {
  // What Receiver.recv does with a short array in its ring: the ring's data seen as the kind, then a slice of it.
  const ring = new Uint8Array(new SharedArrayBuffer(64));
  new Float64Array(ring.buffer).set([0.5, 1.5, 2.5, 3.5, 4.5]);
  const copy = sliceOf(TYPE.float64, viewAs(TYPE.float64, ring), 8, 24) as Float64Array;
  assert.equal([copy.constructor, copy.buffer instanceof ArrayBuffer, Array.from(copy)], [Float64Array, true, [1.5, 2.5, 3.5]]);
  const ints = sliceOf(TYPE.int16, viewAs(TYPE.int16, ring.subarray(8)), 2, 4) as Int16Array;
  assert.equal(Array.from(ints), Array.from(new Int16Array(ring.buffer, 10, 2)));
  assert.is(rangeErrorMessage(() => sliceOf(TYPE.float64, viewAs(TYPE.float64, ring), 4, 8)),
    'sliceOf(): byte offset 4 is not a multiple of 8');
  assert.is(rangeErrorMessage(() => sliceOf(TYPE.float64, viewAs(TYPE.float64, ring), 8, 12)),
    'Float64Array needs a byte length that is a multiple of 8, got 12');
});

test('a misaligned inPlace decode is a RangeError naming the offset and the element size', () => {
  const bytes = new Uint8Array(new ArrayBuffer(32), 4, 16);
  assert.is(
    rangeErrorMessage(() => decode(TYPE.float64, bytes, { inPlace: true })),
    'Cannot view Float64Array in place at byte offset 4: the offset must be a multiple of the element size, 8',
  );
  // Int32 needs only 4-byte alignment, and a copy needs none.
  assert.is((decode(TYPE.int32, bytes, { inPlace: true }) as Int32Array).length, 4);
  assert.is((decode(TYPE.float64, bytes) as Float64Array).length, 2);
});

test('a length that is not a multiple of the element size is a RangeError', () => {
  assert.is(
    rangeErrorMessage(() => decode(TYPE.int32, new Uint8Array(6))),
    'Int32Array needs a byte length that is a multiple of 4, got 6',
  );
  assert.is(
    rangeErrorMessage(() => decode(TYPE.biguint64, new Uint8Array(12), { inPlace: true })),
    'BigUint64Array needs a byte length that is a multiple of 8, got 12',
  );
});

test('an unknown type code is a RangeError naming the code', () => {
  for (const code of [0, LAST_CODE + 1, 255, -1, 1.5]) {
    assert.is(
      rangeErrorMessage(() => decode(code, new Uint8Array(8))),
      `Unknown codec type code ${code}: expected an integer from 1 to ${LAST_CODE}`,
    );
    assert.not.ok(isBinaryType(code));
  }
  assert.is(rangeErrorMessage(() => typeName(0)), `Unknown codec type code 0: expected an integer from 1 to ${LAST_CODE}`);
});

test('a serialized value whose nested view is corrupt or cut short is a RangeError saying so', () => {
  const encoded = encode({ f: new Float64Array([1, 2]) });
  assert.is(encoded.type, TYPE.serialized);
  // header ff 0f, '{' 6f, "f" 22 01 66, the host object 5c with its type 0a (10, Float64Array), length 10 (16), bytes
  assert.equal(Array.from(encoded.bytes.subarray(0, 10)), [0xff, 0x0f, 0x6f, 0x22, 0x01, 0x66, 0x5c, 0x0a, 0x10, 0]);
  assert.is(
    rangeErrorMessage(() => decode(TYPE.serialized, encoded.bytes.subarray(0, 20))),
    'Corrupt serialized value: a nested Float64Array claims 16 bytes, more than are left',
  );
  const withType = (code: number) => {
    const bytes = Uint8Array.from(encoded.bytes);
    bytes[7] = code;
    return bytes;
  };
  // A code that the encoder never writes there: a number would be a primitive where V8 wants an object, a nested
  // serialized value could nest again and again, an ArrayBuffer travels as V8's own.
  for (const [code, name] of [[TYPE.number, 'number'], [TYPE.serialized, 'serialized'], [TYPE.bytes, 'ArrayBuffer'],
    [52, 'unknown']] as const) {
    assert.is(
      rangeErrorMessage(() => decode(TYPE.serialized, withType(code))),
      `Corrupt serialized value: a nested view has the type code ${code} (${name}), where a typed array's or a ` +
        `DataView's (2 to 13${Float16 === undefined ? '' : ' or 19'}) belongs`,
    );
  }
});

test('corrupt or cut bytes of any code decode to a value or throw, at once and with no large allocation', () => {
  const random = prng(testSeed('corrupt bytes'));
  const samples: unknown[] = [
    { list: [1, 'a string longer than thirty-two code units', -0], f: new Float64Array([1, NaN]), map: new Map() },
    [new Int16Array([1, -2]), new DataView(new ArrayBuffer(3)), new ArrayBuffer(4), 2n ** 100n, -(2n ** 70n)],
    { deep: { deeper: [[[new Set(['x'])]]] }, when: new Date(0), error: new RangeError('e') },
    new BigInt64Array([-1n]), 3.5, 'short', -5n, true,
  ];
  const encoded = samples.map((sample) => encode(sample)).map(({ type, bytes }) => ({ type, bytes: bytes.slice() }));
  const started = performance.now();
  const heapBefore = process.memoryUsage().arrayBuffers;
  const failures = new Set<string>();
  for (let round = 0; round < 5000; round++) {
    const { type, bytes: original } = encoded[round % encoded.length]!;
    // Half the time cut short, half the time one to four bytes overwritten (at random, 0xff, or a varint's high bit).
    let bytes = original.subarray(0, Math.floor(random() * original.length));
    if (random() < 0.5) {
      bytes = Uint8Array.from(original);
      for (let k = Math.floor(random() * 4); k >= 0; k--) {
        const r = random();
        const value = r < 0.3 ? 0xff : r < 0.6 ? 0x80 | Math.floor(random() * 128) : Math.floor(random() * 256);
        bytes[Math.floor(random() * bytes.length)] = value;
      }
    }
    try {
      decode(type, bytes);
    } catch (err) {
      // RangeError: the codec's checks; Error: V8's "Unable to deserialize cloned data." (nothing else, no TypeError)
      const kind = (err as Error).constructor;
      assert.ok(kind === RangeError || kind === Error, `round ${round}: ${String(err)}`);
      failures.add(kind.name);
    }
  }
  assert.ok(performance.now() - started < 10_000, `5000 decodes took ${performance.now() - started} ms`);
  assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 64 * 2 ** 20, 'no large buffer was allocated');
  assert.equal([...failures].sort(), ['Error', 'RangeError']);
});

test("decode's arguments: the type code first, then a Uint8Array, then { inPlace }, each refused by name", () => {
  const typeError = (fn: () => unknown) => {
    const err = thrown(fn);
    assert.instance(err, TypeError);
    return (err as TypeError).message;
  };
  const encoded = encode(Float64Array.of(1.5));
  const TYPE_CODE = `Expected \`type\` to be a codec type code from 1 to ${LAST_CODE}`;
  // The bytes first, as in decode(bytes, options): it said 'Unknown codec type code 0,0,0,0,0,0,248,63: ...'
  assert.is(typeError(() => decode(encoded.bytes as never, { inPlace: true } as never)),
    `${TYPE_CODE}, got a Uint8Array (the type code comes first: decode(type, bytes, options))`);
  // An Encoded whole: it said 'Unknown codec type code [object Object]: ...'
  assert.is(typeError(() => decode(encoded as never, undefined as never)),
    `${TYPE_CODE}, got an object (pass its fields: decode(encoded.type, encoded.bytes))`);
  assert.is(typeError(() => decode(null as never, encoded.bytes)), `${TYPE_CODE}, got null`);
  // An object with a `type` but no `bytes` is not an Encoded: no hint to pass its fields
  assert.is(typeError(() => decode({ type: TYPE.float64 } as never, encoded.bytes)), `${TYPE_CODE}, got an object`);
  // Not a Uint8Array: an array decoded to an empty ArrayBuffer, with no error
  assert.is(typeError(() => decode(TYPE.bytes, [1, 2] as never)), 'Expected `bytes` to be a Uint8Array, got an array of length 2');
  assert.is(typeError(() => decode(TYPE.float64, new Float64Array(1) as never)), 'Expected `bytes` to be a Uint8Array, got a Float64Array');
  // Options, checked as launch's and the ring's are: a misspelt one copied where a view was asked for, 1 was false
  assert.is(typeError(() => decode(encoded.type, encoded.bytes, { inplace: true } as never)), 'Unknown decode option `inplace` (did you mean inPlace?): expected inPlace');
  assert.is(typeError(() => decode(encoded.type, encoded.bytes, { inPlace: 1 } as never)), 'Expected `inPlace` to be a boolean, got 1');
  assert.is(typeError(() => decode(encoded.type, encoded.bytes, true as never)), 'Expected decode options like { inPlace: true }, got true');
  // What is allowed: no options, {}, null (as before), inPlace either way, a Buffer, and another realm's Uint8Array
  for (const options of [undefined, {}, null, { inPlace: false }, { inPlace: undefined }]) {
    assertSameElements(decode(encoded.type, encoded.bytes, options as never) as Float64Array, [1.5]);
  }
  const inPlace = decode(encoded.type, encoded.bytes, { inPlace: true }) as Float64Array;
  assert.is(inPlace.buffer, encoded.bytes.buffer);
  assert.is(decode(TYPE.string, Buffer.from([104, 0, 105, 0])), 'hi');
  const foreign = runInNewContext('new Uint8Array([104, 0])') as Uint8Array;
  assert.is(decode(TYPE.string, foreign), 'h');
});

test('the type table: names, element sizes, codes', () => {
  assert.equal(TYPE, {
    bytes: 1, int8: 2, uint8: 3, uint8c: 4, int16: 5, uint16: 6, int32: 7, uint32: 8,
    float32: 9, float64: 10, bigint64: 11, biguint64: 12, dataview: 13, serialized: 14, number: 15, constant: 16,
    string: 17, bigint: 18, float16: 19, // a code added after the others, which kept theirs
  });
  const short = [TYPE.number, TYPE.constant, TYPE.string, TYPE.bigint];
  assert.equal(short.map(typeName), ['number', 'constant', 'string', 'bigint']);
  assert.equal(short.map(isBinaryType), [false, false, false, false]);
  assert.is(typeName(TYPE.bytes), 'ArrayBuffer');
  assert.is(typeName(TYPE.dataview), 'DataView');
  assert.is(typeName(TYPE.serialized), 'serialized');
  assert.is(elementSize(TYPE.bytes), 1);
  assert.is(elementSize(TYPE.dataview), 1);
  assert.is(elementSize(TYPE.serialized), 1);
  assert.ok(isBinaryType(TYPE.bytes));
  assert.ok(isBinaryType(TYPE.dataview));
});

test('refused values throw DataCloneError naming the type', () => {
  function foo(): void {}
  const cases: Array<[unknown, string, string]> = [
    [foo, 'a function (named foo)',
      'a function (named foo) cannot be sent: only values that structured clone accepts can travel'],
    [Symbol('s'), 'a symbol', 'a symbol cannot be sent: only values that structured clone accepts can travel'],
    [new WeakMap(), 'a WeakMap', 'a WeakMap cannot be sent: only values that structured clone accepts can travel'],
    [Promise.resolve(1), 'a Promise',
      'a Promise cannot be sent: only values that structured clone accepts can travel'],
    [class Point {}, 'a class (named Point)',
      'a class (named Point) cannot be sent: only values that structured clone accepts can travel'],
    [{ a: 1, b: { handler: foo } }, 'an object containing a function (named foo)',
      'an object containing a function (named foo) cannot be sent: only values that structured clone accepts can ' +
      'travel (at value.b.handler)'],
    [[1, 2, Symbol('x')], 'an array containing a symbol',
      'an array containing a symbol cannot be sent: only values that structured clone accepts can travel ' +
      '(at value[2])'],
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, [foo]], 'an array containing a function (named foo)',
      'an array containing a function (named foo) cannot be sent: only values that structured clone accepts can ' +
      'travel (at value[11][0])'],
    [Object.assign([1], { onClick: foo, 'odd key': Symbol('s') }), 'an array containing a function (named foo)',
      'an array containing a function (named foo) cannot be sent: only values that structured clone accepts can ' +
      'travel (at value.onClick)'],
    [Object.assign([1], { 'odd key': Symbol('s') }), 'an array containing a symbol',
      'an array containing a symbol cannot be sent: only values that structured clone accepts can travel ' +
      '(at value["odd key"])'],
    [new Map([['k', { 'odd key': new WeakSet() }]]), 'a Map containing a WeakSet',
      'a Map containing a WeakSet cannot be sent: only values that structured clone accepts can travel ' +
      '(at value[map value #0]["odd key"])'],
    [new Error('failed', { cause: foo }), 'an Error containing a function (named foo)',
      'an Error containing a function (named foo) cannot be sent: only values that structured clone accepts can ' +
      'travel (at value.cause)'],
    [new Proxy({}, {}), 'a Proxy', 'a Proxy cannot be sent: only values that structured clone accepts can travel'],
    [{ shared: new SharedArrayBuffer(8) }, 'an object containing a SharedArrayBuffer',
      'an object containing a SharedArrayBuffer cannot be sent: a SharedArrayBuffer travels alone or behind a view (a ' +
      'view may sit anywhere in the value), as a copy of its bytes (at value.shared)'],
  ];
  for (const [value, valueType, message] of cases) {
    const err = cloneError(value);
    assert.is(err.valueType, valueType);
    assert.is(err.message, message);
    assert.is(err.name, 'DataCloneError');
    assert.is(err.code, 'SHMCOMM_DATA_CLONE');
  }
  // The cheap type query never throws: it does not look inside.
  assert.is(encodedType(foo), TYPE.serialized);
});

test("another realm's buffers travel as this realm's, and its Map, Set and Error are searched for the culprit", () => {
  // A vm context (or an iframe's) has constructors of its own: `instanceof ArrayBuffer` is false for its buffers.
  const [buffer, shared] = runInNewContext(
    'const b = new ArrayBuffer(3); new Uint8Array(b).set([1, 2, 3]); [b, new SharedArrayBuffer(2)]',
  ) as [ArrayBuffer, SharedArrayBuffer];
  const encodedBuffer = encode(buffer);
  assert.is(encodedBuffer.type, TYPE.bytes);
  assert.equal(Array.from(new Uint8Array(decode(TYPE.bytes, encodedBuffer.bytes) as ArrayBuffer)), [1, 2, 3]);
  assert.is(encode(shared).type, TYPE.bytes);
  const nestedShared = cloneError(runInNewContext('({ shared: new SharedArrayBuffer(8) })'));
  assert.is(
    nestedShared.message,
    'an object containing a SharedArrayBuffer cannot be sent: a SharedArrayBuffer travels alone or behind a view ' +
      '(a view may sit anywhere in the value), as a copy of its bytes (at value.shared)',
  );
  const cases: Array<[string, string]> = [
    ["new Map([['k', Symbol('s')]])", 'a Map containing a symbol cannot be sent: only values that structured clone ' +
      'accepts can travel (at value[map value #0])'],
    ["new Set([1, Symbol('s')])", 'a Set containing a symbol cannot be sent: only values that structured clone ' +
      'accepts can travel (at value[set entry #1])'],
    ["new Error('failed', { cause: Symbol('s') })", 'an Error containing a symbol cannot be sent: only values that ' +
      'structured clone accepts can travel (at value.cause)'],
  ];
  for (const [source, message] of cases) assert.is(cloneError(runInNewContext(source)).message, message);
});

test('a WebAssembly.Module, which V8 would serialize as nothing at all, is refused', () => {
  // The 8 bytes of an empty module: the magic "\0asm" and version 1.
  const module = compile(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  const err = cloneError(module);
  assert.is(err.valueType, 'a WebAssembly.Module');
  assert.is(
    err.message,
    "a WebAssembly.Module cannot be sent: only postMessage carries one, on the 'clone' and 'transfer' transports",
  );
});

test('a cycle around an uncloneable value is still explained', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  cyclic.callback = () => 1;
  assert.is(
    cloneError(cyclic).message,
    'an object containing an anonymous function cannot be sent: only values that structured clone accepts can ' +
      'travel (at value.callback)',
  );
  const ok: Record<string, unknown> = { n: 1 };
  ok.self = ok;
  const decoded = decode(TYPE.serialized, encode(ok).bytes) as Record<string, unknown>;
  assert.is(decoded.self, decoded);
});

test('a detached ArrayBuffer is refused with a DataCloneError', () => {
  const buffer = new ArrayBuffer(8);
  const view = new Float64Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  assert.is(cloneError(buffer).message,
    'a detached ArrayBuffer cannot be sent: only values that structured clone accepts can travel ' +
    '(its memory was transferred away)');
  assert.is(cloneError(view).valueType, 'a detached ArrayBuffer');
  assert.is(encode(new ArrayBuffer(0)).bytes.byteLength, 0); // empty is not detached
});

test('a DataView over a detached ArrayBuffer is refused with the same DataCloneError', () => {
  const buffer = new ArrayBuffer(8);
  const view = new DataView(buffer, 2, 4);
  structuredClone(buffer, { transfer: [buffer] }); // from here on, view.byteLength throws a TypeError
  assert.is(cloneError(view).message,
    'a detached ArrayBuffer cannot be sent: only values that structured clone accepts can travel ' +
    '(its memory was transferred away)');
  assert.is(encode(new DataView(new ArrayBuffer(0))).bytes.byteLength, 0); // empty is not detached
});

test('a view outside its resizable ArrayBuffer, which shrank below it, is refused, not sent as an empty array', () => {
  const buffer = new ArrayBuffer(32, { maxByteLength: 64 });
  const array = new Float64Array(buffer, 8, 2);
  const view = new DataView(buffer, 8, 16);
  const tracking = new Int32Array(buffer, 8); // follows the buffer's length
  const empty = new Uint8Array(buffer, 0, 0);
  buffer.resize(8);
  assert.equal([array.length, array.byteOffset], [0, 0]); // as an empty array at offset 0 reads
  const why = 'cannot be sent: only values that structured clone accepts can travel (the buffer shrank below it)';
  assert.is(cloneError(array).message, `a Float64Array out of bounds of its resizable ArrayBuffer ${why}`);
  assert.is(cloneError(view).message, `a DataView out of bounds of its resizable ArrayBuffer ${why}`);
  assert.is(cloneError({ array }).message, 'an object containing a Float64Array cannot be sent: it lies out of bounds ' +
    'of its resizable ArrayBuffer (the buffer shrank below it) (at value.array)');
  // In bounds, they go: an empty view at offset 0, and a length-tracking one that starts at the buffer's end
  assert.equal([encode(empty).bytes.byteLength, encode(tracking).bytes.byteLength], [0, 0]);
  assert.equal(Array.from(copyAsSent(tracking) as Int32Array), []);
  buffer.resize(24);
  assert.equal(Array.from(copyAsSent(array) as Float64Array), [0, 0]); // in bounds once more
  // Views of another realm (a vm context), empty and in bounds: sent, not taken for out of bounds
  const foreign = runInNewContext('const b = new ArrayBuffer(8, { maxByteLength: 16 }); [new DataView(b, 8), new Uint8Array(b, 8)]');
  for (const view of foreign as ArrayBufferView[]) assert.is(encode(view).bytes.byteLength, 0);
  // ... and out of bounds: the same refusal (a DataView's getter of that realm throws that realm's TypeError)
  const outside = runInNewContext('const b = new ArrayBuffer(32, { maxByteLength: 64 }); const v = [new DataView(b, 8, 16), new Int16Array(b, 8, 8)]; b.resize(8); v');
  for (const [view, kind] of [[(outside as ArrayBufferView[])[0], 'a DataView'], [(outside as ArrayBufferView[])[1], 'an Int16Array']] as const) {
    assert.is(cloneError(view).message, `${kind} out of bounds of its resizable ArrayBuffer ${why}`);
  }
});

test('errors that are not clone failures pass through unchanged', () => {
  const value = { get boom(): number { throw new TypeError('getter failed'); } };
  const err = thrown(() => encode(value));
  assert.instance(err, TypeError);
  assert.is((err as TypeError).message, 'getter failed');
  // One that throws once only: its error still, not a DataCloneError from the search for a culprit that follows
  let reads = 0;
  const once = { get boom(): number { if (reads++ === 0) throw new RangeError('first read failed'); return 1; } };
  const first = thrown(() => encode(once));
  assert.instance(first, RangeError);
  assert.equal([(first as RangeError).message, reads], ['first read failed', 1]);
});

test('allocate gives a fresh value of each type and bytes over its memory', () => {
  for (const [code, name, sample] of SAMPLES) {
    const size = elementSize(code);
    const { value, bytes } = allocate(code, 4 * size);
    const typed = value as ArrayBufferView & ArrayLike<number | bigint>;
    assert.is(typed.constructor.name, name);
    assert.is(typed.length, 4);
    assert.is(bytes.buffer, typed.buffer);
    assert.is(bytes.byteLength, 4 * size);
    bytes.set(encode(sample).bytes.subarray(0, size)); // fill the first element through the bytes
    assert.ok(Object.is(typed[0], (sample as unknown as ArrayLike<number | bigint>)[0]), name);
  }
  const asBytes = allocate(TYPE.bytes, 5);
  assert.instance(asBytes.value, ArrayBuffer);
  assert.is(asBytes.bytes.buffer, asBytes.value);
  assert.is(asBytes.bytes.byteLength, 5);
  const asView = allocate(TYPE.dataview, 3);
  assert.instance(asView.value, DataView);
  asView.bytes.set([1, 2, 3]);
  assert.is((asView.value as DataView).getUint8(2), 3);

  // serialized: no value yet; fill the bytes, then decode them.
  const encoded = encode({ hello: ['world'] });
  const serialized = allocate(TYPE.serialized, encoded.bytes.byteLength);
  assert.is(serialized.value, undefined);
  serialized.bytes.set(encoded.bytes.subarray(0, 4));
  serialized.bytes.set(encoded.bytes.subarray(4), 4);
  assert.equal(decode(TYPE.serialized, serialized.bytes), { hello: ['world'] });

  assert.is(allocate(TYPE.float64, 0).bytes.byteLength, 0);
  assert.is(
    rangeErrorMessage(() => allocate(TYPE.float64, 12)),
    'Float64Array needs a byte length that is a multiple of 8, got 12',
  );
  assert.is(rangeErrorMessage(() => allocate(TYPE.bytes, -1)), 'Expected `byteLength` to be an integer from 0 and up, got -1');
  // Not a whole number of bytes, nor one past 2^53: refused, not rounded down by the ArrayBuffer it would make
  for (const byteLength of [1.5, NaN, Infinity, 2 ** 53]) {
    assert.is(rangeErrorMessage(() => allocate(TYPE.bytes, byteLength)),
      `Expected \`byteLength\` to be an integer from 0 and up, got ${byteLength}`);
  }
  assert.is(rangeErrorMessage(() => allocate(99, 8)), `Unknown codec type code 99: expected an integer from 1 to ${LAST_CODE}`);
  assert.is(rangeErrorMessage(() => allocate('1' as never, 8)), `Unknown codec type code "1": expected an integer from 1 to ${LAST_CODE}`);
});

test.run();
