/**
 * The codec: a value <-> (one-byte type code, payload bytes). The ring moves bytes; this file decides what they mean.
 *
 * Typed arrays (all 11 kinds, and Float16Array where the runtime has it: Node 24 and later), `DataView` and
 * `ArrayBuffer` travel as their raw bytes, tagged with their kind, and come back as the same kind. This is the fast
 * path: `encode` hands out a view of the value's own memory (no copy), and `decode` can hand back a view straight into
 * the ring (`inPlace`). A number, a bigint that fits in 64 bits, `undefined`, `null`, a boolean and a string of up to
 * SHORT_STRING code units have short codes of their own (a number or a bigint as its 8 bytes), since V8's serializer
 * costs about 2 µs a value, ten times what the ring costs to move it. Everything else goes through V8's serializer
 * (`node:v8`), the structured-clone algorithm that `postMessage` runs; what it refuses is refused with a
 * `DataCloneError` that names what was wrong and where.
 *
 * Caveats a user may meet:
 * - A Node `Buffer` is a Uint8Array: it comes back as a plain `Uint8Array`, at the top level or nested.
 * - A typed array or DataView nested in a value comes back over a buffer of its own bytes alone, as one at the top
 *   level does: two views of one buffer arrive over two buffers, where postMessage would carry the whole buffer once
 *   (and, for a Buffer, the 8 KiB pool it was cut from).
 * - A `SharedArrayBuffer`, or a view over one, is sent as a copy of its bytes: it comes back as an `ArrayBuffer`
 *   (or a view over a fresh, non-shared one). Nested inside an object, a view over one is copied too, but
 *   V8's serializer refuses a SharedArrayBuffer itself.
 * - Class instances arrive as plain objects (structured clone keeps own enumerable data, not prototypes).
 * - Node's own cloneable objects (a KeyObject, a Blob, a BlockList, ...) travel only by postMessage, which has a
 *   port to carry them: the 'clone' and 'transfer' transports take them, the shared one refuses them.
 */
import { DefaultDeserializer, DefaultSerializer } from 'node:v8';
import { types } from 'node:util';
import { copyRange, NATIVE_COPY_OUT_BYTES } from './copy.js';
import { describe, isDetached, isOutOfBounds, kindOf, refuseUnknownOptions } from './describe.js';
import { DataCloneError } from './errors.js';

/**
 * The one-byte type codes of a frame (`Encoded.type`, `decode`'s `type`, `MessageMeta.type`), by what they carry. 0 is
 * never used, so a zeroed (never written) header is detectably bad.
 */
export const TYPE = {
  /** An ArrayBuffer's bytes (or a SharedArrayBuffer's, sent as a copy): decodes to an ArrayBuffer. */
  bytes: 1,
  /** An Int8Array's bytes. */
  int8: 2,
  /** A Uint8Array's bytes (a Buffer's too: it decodes to a plain Uint8Array). */
  uint8: 3,
  /** A Uint8ClampedArray's bytes. */
  uint8c: 4,
  /** An Int16Array's bytes. */
  int16: 5,
  /** A Uint16Array's bytes. */
  uint16: 6,
  /** An Int32Array's bytes. */
  int32: 7,
  /** A Uint32Array's bytes. */
  uint32: 8,
  /** A Float32Array's bytes. */
  float32: 9,
  /** A Float64Array's bytes. */
  float64: 10,
  /** A BigInt64Array's bytes. */
  bigint64: 11,
  /** A BigUint64Array's bytes. */
  biguint64: 12,
  /** A DataView's bytes. */
  dataview: 13,
  /** Anything else, as V8 serializes it (`node:v8`, the structured-clone algorithm: serialize below). */
  serialized: 14,
  /** A number, as the 8 bytes of a Float64 (-0 and NaN included). */
  number: 15,
  /** `undefined`, `null`, `false` or `true`: one byte, its index in that list (CONSTANTS). */
  constant: 16,
  /**
   * A string of up to 32 code units (SHORT_STRING): each as two bytes, low byte first (lone surrogates too); a longer
   * one is serialized.
   */
  string: 17,
  /** A bigint from -(2^63) to 2^63 - 1, as the 8 bytes of a BigInt64; a larger one is serialized. */
  bigint: 18,
  /**
   * A Float16Array's bytes, where the runtime has Float16Array (Node 24 and later; Node 22 with --js-float16array).
   * Added after the others, whose codes stay as they were; where there is no Float16Array (Node 20, and 22 without the
   * flag) this code is unknown, as any code above it is.
   */
  float16: 19,
} as const;

/** Float16Array where the runtime has one, looked up so that Node 20 and 22, which have none, run this file too. */
const Float16 = (globalThis as { Float16Array?: TypedArrayConstructor }).Float16Array;
/** Whether this runtime knows TYPE.float16. */
const HAS_FLOAT16 = Float16 !== undefined;
/** The last type code this runtime knows: codes above it are corrupt (TYPE.float16 too, without Float16Array). */
const LAST_TYPE = HAS_FLOAT16 ? TYPE.float16 : TYPE.bigint;
/** The values TYPE.constant carries, by the byte that stands for each. */
const CONSTANTS: readonly unknown[] = [undefined, null, false, true];
/**
 * The longest string with a code of its own: 32 code units, 64 bytes, as long as the short arrays `recv` reads where
 * they lie (ON_HEAP_BYTES), and the size of a Sender's scratch memory (ValueBytes); a longer one goes through the
 * serializer, whose cost its characters then share.
 */
export const SHORT_STRING = 32;

/** A value ready for the wire (`encode`'s answer): its type code and the payload bytes. */
export interface Encoded {
  /** The type code, one of `TYPE`'s. */
  type: number;
  /** The payload: for a binary value a view of its own memory (no copy), else fresh bytes. */
  bytes: Uint8Array;
}

// What the table below needs from each of the typed-array constructors.
interface TypedArrayConstructor {
  readonly BYTES_PER_ELEMENT: number;
  readonly prototype: { constructor: unknown };
  new (length: number): ArrayBufferView;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): ArrayBufferView;
}

// Tables indexed by type code, built once. Index 0 is the unused code; `null` marks codes that are not typed arrays.
const CONSTRUCTORS: ReadonlyArray<TypedArrayConstructor | null> = [
  null, null, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, null, null, null, null, null, null, Float16 ?? null,
];
const NAMES: readonly string[] = [
  '(unused)', 'ArrayBuffer', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'DataView',
  'serialized', 'number', 'constant', 'string', 'bigint', 'Float16Array',
];
// From a typed array's tag (its kind's name, 'Float64Array') to its code.
const CODE_BY_TAG = new Map<string, number>();
CONSTRUCTORS.forEach((Constructor, code) => Constructor && CODE_BY_TAG.set(Constructor.name, code));

// %TypedArray%.prototype[Symbol.toStringTag] is the spec's brand check: it names the kind of any typed array
// (a Buffer or another subclass included, whatever its constructor says) and is undefined for everything else.
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object, Symbol.toStringTag,
)!.get as (this: unknown) => string | undefined;

/** The type code `encode` would choose for `value`, without serializing anything. */
export function encodedType(value: unknown): number {
  if (typeof value === 'number') return TYPE.number;
  if (typeof value === 'bigint') return BigInt.asIntN(64, value) === value ? TYPE.bigint : TYPE.serialized;
  if (typeof value === 'string') return value.length <= SHORT_STRING ? TYPE.string : TYPE.serialized;
  if (value === undefined || value === null || typeof value === 'boolean') return TYPE.constant;
  if (ArrayBuffer.isView(value)) {
    const tag = typedArrayTag.call(value);
    if (tag === undefined) return TYPE.dataview;
    return CODE_BY_TAG.get(tag) ?? TYPE.serialized; // a kind newer than this table, should a runtime add one
  }
  // Not `instanceof`, which another realm's buffers (a vm context's) fail: they would be serialized, and refused
  // when shared.
  if (types.isAnyArrayBuffer(value)) return TYPE.bytes;
  return TYPE.serialized;
}

/**
 * Encodes `value`. For typed arrays, `DataView` and `ArrayBuffer`, `bytes` is a Uint8Array view over the value's
 * own memory (no copy: only its own bytes, even when it is a subarray of a larger buffer), so do not change the
 * value until the bytes are sent. A number, a bigint that fits in 64 bits, `undefined`, `null`, a boolean and a string
 * of up to 32 code units get fresh bytes under a code of their own (`TYPE`); anything else is what V8 serializes
 * (serialize below; a Buffer).
 * @throws DataCloneError for values structured clone refuses (functions, symbols, WeakMaps, ...), and for a view whose
 *   memory is gone (detached, or out of bounds of a resizable buffer that shrank).
 */
export function encode(value: unknown): Encoded {
  return encodeAs(encodedType(value), value);
}

/** `encode` of a value whose code `encodedType` gave already. */
export function encodeAs(type: number, value: unknown): Encoded {
  if (type === TYPE.serialized) return { type, bytes: serializeOrExplain(value) };
  if (isValueType(type)) return { type, bytes: copyOf(ENCODED_VALUE.of(type, value)) };
  if (type === TYPE.bytes) {
    const buffer = value as ArrayBufferLike;
    return { type, bytes: viewOf(buffer, 0, buffer.byteLength) };
  }
  if (type === TYPE.dataview) return { type, bytes: dataViewBytes(value as DataView) };
  const view = value as Uint8Array; // any typed array: its `length` is 0 when its byteLength is, and is inlined
  if (view.length === 0 && isOutOfBounds(view)) throw outOfBoundsError(view); // it reads 0 bytes
  return { type, bytes: viewOf(view.buffer, view.byteOffset, view.byteLength) };
}

/** What a view outside its resizable ArrayBuffer gets (isOutOfBounds): postMessage refuses one too. */
function outOfBoundsError(view: ArrayBufferView): DataCloneError {
  return new DataCloneError(`${describe(view)} out of bounds of its resizable ArrayBuffer`, 'the buffer shrank below it');
}

/**
 * A DataView's bytes. Unlike a typed array's, whose length reads 0 once its buffer is detached (and viewOf says so) or
 * shrank below it, a DataView's byteOffset and byteLength throw a TypeError then: say what happened in the same words.
 */
function dataViewBytes(view: DataView): Uint8Array {
  let byteOffset: number;
  let byteLength: number;
  try {
    byteOffset = view.byteOffset;
    byteLength = view.byteLength;
  } catch (err) {
    if (isDetached(view.buffer)) throw new DataCloneError('a detached ArrayBuffer', 'its memory was transferred away');
    if (isOutOfBounds(view)) throw outOfBoundsError(view);
    throw err;
  }
  return viewOf(view.buffer, byteOffset, byteLength);
}

/**
 * `value` as a ring carries it: encoded, then decoded into fresh memory. A typed array of any class comes back as a
 * plain one of its kind (a Buffer as a Uint8Array), a SharedArrayBuffer as an ArrayBuffer; a detached one is refused
 * with a DataCloneError. Also what the other transports and the collectives copy with, so every path agrees.
 */
export function copyAsSent(value: unknown): unknown {
  const { type, bytes } = encode(value); // a view of the value's own bytes, no copy yet
  return decodeBytes(type, bytes);
}

/**
 * Decodes what `encode` produced. By default the result owns fresh, non-shared memory (the bytes are copied), so
 * `bytes` may be reused or overwritten afterwards. With `inPlace: true`, a typed array or DataView is a view
 * straight over `bytes` (no copy; valid only as long as those bytes are), and `bytes.byteOffset` must be a
 * multiple of the element size. An ArrayBuffer and a serialized value are always copies, whatever `inPlace` says:
 * an ArrayBuffer cannot be a window on part of another, and deserialize() copies every value it reads.
 * @throws RangeError for an unknown type code, a payload of the wrong length for its code (not a multiple of the
 *   element size, not 8 bytes for a number), a misaligned in-place view, or a serialized value whose nested view is
 *   corrupt; V8's Error ("Unable to deserialize cloned data.") for serialized bytes that are otherwise corrupt;
 *   TypeError for arguments of the wrong kind (the type code first, then a Uint8Array) and for options other than
 *   `{ inPlace: boolean }`, an unknown one by name (`{ inplace: true }` would copy).
 */
export function decode(type: number, bytes: Uint8Array, options?: {
  /** View a typed array or DataView straight over `bytes` rather than copy it. Default false. */
  inPlace?: boolean | undefined;
}): unknown {
  if (typeof type !== 'number') throw typeArgumentError(type);
  if (typedArrayTag.call(bytes) !== 'Uint8Array') { // a Buffer is one; another realm's too, which instanceof is not
    throw new TypeError(`Expected \`bytes\` to be a Uint8Array, got ${describe(bytes)}`);
  }
  // As a blocking call's { timeoutMs }: the options are looked at whole only when `inPlace` is not a boolean, so
  // that a decode per message pays one typeof for them.
  const inPlace = options?.inPlace;
  if (typeof inPlace !== 'boolean' && options != null) checkDecodeOptions(options); // null: none, as before
  return decodeBytes(type, bytes, inPlace === true);
}

/** decode(type, bytes) called with something else first: an Encoded whole, or the bytes, which come second. */
function typeArgumentError(type: unknown): TypeError {
  const expected = `Expected \`type\` to be a codec type code from ${TYPE.bytes} to ${LAST_TYPE}, got ${describe(type)}`;
  const isObject = typeof type === 'object' && type !== null;
  const hint = isObject && ArrayBuffer.isView(type) ? ' (the type code comes first: decode(type, bytes, options))'
    : isObject && 'type' in type && 'bytes' in type ? ' (pass its fields: decode(encoded.type, encoded.bytes))'
    : '';
  return new TypeError(expected + hint);
}

function checkDecodeOptions(options: unknown): void {
  if (typeof options !== 'object') throw new TypeError(`Expected decode options like { inPlace: true }, got ${describe(options)}`);
  refuseUnknownOptions('decode', options!, ['inPlace']);
  const { inPlace } = options as { inPlace?: unknown };
  if (inPlace !== undefined) throw new TypeError(`Expected \`inPlace\` to be a boolean, got ${describe(inPlace)}`);
}

/**
 * `decode` with its arguments' kinds taken as given, for this library's own callers (a message's bytes as a ring or a
 * serializer hands them over). The type code is checked still: it comes from shared memory.
 */
export function decodeBytes(type: number, bytes: Uint8Array, inPlace = false): unknown {
  checkType(type);
  if (type === TYPE.serialized) return deserialize(bytes); // copies what it reads: `bytes` may be reused at once
  if (isValueType(type)) return decodeValueAt(type, bytes, 0, bytes.length);
  if (type === TYPE.bytes) return copyOf(bytes).buffer;
  if (type === TYPE.dataview) {
    return inPlace ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new DataView(copyOf(bytes).buffer);
  }
  const Constructor = CONSTRUCTORS[type]!;
  const size = Constructor.BYTES_PER_ELEMENT;
  checkMultiple(type, bytes.byteLength, size);
  if (!inPlace) {
    return bytes.byteLength <= ON_HEAP_BYTES ? smallCopy(Constructor, bytes) : new Constructor(copyOf(bytes).buffer);
  }
  if (bytes.byteOffset % size !== 0) {
    throw new RangeError(
      `Cannot view ${NAMES[type]} in place at byte offset ${bytes.byteOffset}: ` +
        `the offset must be a multiple of the element size, ${size}`,
    );
  }
  return new Constructor(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
}

/** True for every code `encode` gives (1 to LAST_TYPE): a frame with another was not written by a Sender. */
export function isKnownType(type: number): boolean {
  return Number.isInteger(type) && type >= TYPE.bytes && type <= LAST_TYPE;
}

/** True for the codes whose payload is raw memory (typed arrays, DataView, ArrayBuffer), false for the others. */
export function isBinaryType(type: number): boolean {
  if (type >= TYPE.bytes && type <= TYPE.dataview) return Number.isInteger(type);
  return type === TYPE.float16 && HAS_FLOAT16;
}

/** The name of a type code: `'Float64Array'`, `'ArrayBuffer'`, `'DataView'`, `'serialized'`, `'number'`, ... */
export function typeName(type: number): string {
  checkType(type);
  return NAMES[type]!;
}

/** Bytes per element of a type code: 8 for Float64Array, 1 for ArrayBuffer, DataView and the others. */
export function elementSize(type: number): number {
  checkType(type);
  return CONSTRUCTORS[type]?.BYTES_PER_ELEMENT ?? 1;
}

/**
 * For the receiver of a chunked message: a fresh value of the given type and `byteLength`, and a Uint8Array over
 * its memory to fill chunk by chunk. Once `bytes` is full, `value` is the message: a typed array of
 * `byteLength / elementSize` elements, an ArrayBuffer or a DataView.
 * For `TYPE.serialized` there is nothing to build before the bytes are in: `value` is `undefined`, and once `bytes`
 * is full the caller calls `decodeBytes(TYPE.serialized, bytes)` to get the message.
 * @throws RangeError for an unknown type code or a `byteLength` that is not a multiple of the element size.
 */
export function allocate(type: number, byteLength: number): { value: unknown; bytes: Uint8Array } {
  checkType(type);
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
    throw new RangeError(`Expected \`byteLength\` to be an integer from 0 and up, got ${byteLength}`);
  }
  const Constructor = CONSTRUCTORS[type];
  if (Constructor !== null && Constructor !== undefined) {
    checkMultiple(type, byteLength, Constructor.BYTES_PER_ELEMENT);
    const value = new Constructor(byteLength / Constructor.BYTES_PER_ELEMENT);
    return { value, bytes: new Uint8Array(value.buffer) };
  }
  const buffer = new ArrayBuffer(byteLength);
  if (type === TYPE.bytes) return { value: buffer, bytes: new Uint8Array(buffer) };
  if (type === TYPE.dataview) return { value: new DataView(buffer), bytes: new Uint8Array(buffer) };
  return { value: undefined, bytes: new Uint8Array(buffer) };
}

function checkType(type: number): void {
  if (!isKnownType(type)) {
    throw new RangeError(`Unknown codec type code ${describe(type)}: expected an integer from 1 to ${LAST_TYPE}`);
  }
}

function checkMultiple(type: number, byteLength: number, size: number): void {
  if (byteLength % size !== 0) {
    throw new RangeError(`${NAMES[type]} needs a byte length that is a multiple of ${size}, got ${byteLength}`);
  }
}

/**
 * V8 keeps a typed array of up to this many bytes on its own heap, with no ArrayBuffer, until code asks for its
 * `buffer`: made so, it takes tens of ns where an ArrayBuffer takes hundreds (8 bytes: 90 against 500 ns).
 */
const ON_HEAP_BYTES = 64;

/** A typed array as smallCopy uses it: set() from a view of its own kind. */
type Settable = ArrayBufferView & { set(source: ArrayBufferView): void };

/**
 * A fresh typed array of a few bytes, made as V8 makes them fastest (ON_HEAP_BYTES), filled through a view of its
 * kind over `bytes` (a payload in a ring is aligned for any kind); where `bytes` is not aligned, made as a larger one.
 */
function smallCopy(Constructor: TypedArrayConstructor, bytes: Uint8Array): ArrayBufferView {
  const size = Constructor.BYTES_PER_ELEMENT;
  const copy = new Constructor(bytes.byteLength / size) as Settable;
  if (bytes.byteOffset % size === 0) {
    copy.set(new Constructor(bytes.buffer, bytes.byteOffset, bytes.byteLength / size));
    return copy;
  }
  return new Constructor(copyOf(bytes).buffer);
}

/** A fresh, exactly sized, non-shared copy (of a payload in a ring, mostly: copied out as `copyHeld` does). */
function copyOf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.byteLength);
  copyRange(copy, 0, bytes, copy.length, NATIVE_COPY_OUT_BYTES);
  return copy;
}

function viewOf(buffer: ArrayBufferLike, byteOffset: number, byteLength: number): Uint8Array {
  // A transferred (detached) buffer reports 0 bytes, and V8 refuses to view it with a TypeError: say what happened.
  if (byteLength === 0 && isDetached(buffer)) {
    throw new DataCloneError('a detached ArrayBuffer', 'its memory was transferred away');
  }
  return new Uint8Array(buffer, byteOffset, byteLength);
}

/** False for a resizable ArrayBuffer or a growable SharedArrayBuffer: a view over one may change length. */
export function isFixedLength(buffer: ArrayBufferLike): boolean {
  const flags = buffer as { resizable?: boolean; growable?: boolean }; // each kind has one of the two
  return flags.resizable !== true && flags.growable !== true;
}

// ---- numbers, bigints, constants and short strings, without the serializer ----------------------------------------

/**
 * Where the bytes of a value of isValueType's codes are written: 64 bytes of scratch memory, seen as bytes, as a
 * Float64 and as a BigInt64, and a view of them for each length such a value has had. `of` hands out one of those
 * views, valid until its next call. Each Sender has one of its own, which it writes into its ring; a user's callback
 * that runs in the middle of a send (the ring's `onWait` while it waits for room, `onMessage` once a message's first
 * frame is out) may encode values of its own, on another Sender or with `encode`; the same Sender refuses to send
 * there. A number's and a bigint's 8 bytes are a Float64's and a BigInt64's: both ends of a ring are in one process, so
 * in one byte order.
 */
export class ValueBytes {
  private readonly bytes = new Uint8Array(2 * SHORT_STRING);
  private readonly number = new Float64Array(this.bytes.buffer, 0, 1);
  private readonly bigint = new BigInt64Array(this.bytes.buffer, 0, 1);
  private readonly views: Uint8Array[] = []; // by length, made as a length is first needed (bytesOfLength)

  /** The bytes of `value`, whose code is `type` (one of isValueType's), in this scratch memory. */
  of(type: number, value: unknown): Uint8Array {
    if (type === TYPE.number) {
      this.number[0] = value as number;
      return this.bytesOfLength(8);
    }
    if (type === TYPE.bigint) {
      this.bigint[0] = value as bigint;
      return this.bytesOfLength(8);
    }
    if (type === TYPE.constant) {
      this.bytes[0] = CONSTANTS.indexOf(value);
      return this.bytesOfLength(1);
    }
    const text = value as string; // a short string's code units, two bytes each, low byte first: exact for any string
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      this.bytes[2 * i] = unit & 0xff;
      this.bytes[2 * i + 1] = unit >>> 8;
    }
    return this.bytesOfLength(2 * text.length);
  }

  /** The first `length` bytes, as a view kept for the next time. */
  private bytesOfLength(length: number): Uint8Array {
    return (this.views[length] ??= this.bytes.subarray(0, length));
  }
}

// encode's ValueBytes, copied from at once; and the 8 bytes through which decodeValueAt reads a number or a bigint.
const ENCODED_VALUE = new ValueBytes();
const DECODED = new Float64Array(1);
const DECODED_BIGINT = new BigInt64Array(DECODED.buffer);
const DECODED_BYTES = new Uint8Array(DECODED.buffer);

/** True for the codes whose value is made from its few bytes: a number, a constant, a short string, a bigint. */
export function isValueType(type: number): boolean {
  return type >= TYPE.number && type <= TYPE.bigint;
}

/**
 * The value of a payload of `length` bytes at `start` in `data`, whose code is `type` (one of isValueType's): a
 * Receiver reads it where it lies in its ring, with no view of it. A payload of the wrong length is refused.
 */
export function decodeValueAt(type: number, data: Uint8Array, start: number, length: number): unknown {
  if (type === TYPE.number || type === TYPE.bigint) {
    if (length !== 8) throw new RangeError(`A ${NAMES[type]} needs 8 bytes, got ${length}`);
    for (let i = 0; i < 8; i++) DECODED_BYTES[i] = data[start + i]!;
    return type === TYPE.number ? DECODED[0]! : DECODED_BIGINT[0]!;
  }
  if (type === TYPE.constant) {
    if (length !== 1 || data[start]! >= CONSTANTS.length) {
      const got = length === 1 ? `the byte ${data[start]}` : `${length} bytes`;
      throw new RangeError(`A constant needs 1 byte from 0 to ${CONSTANTS.length - 1}, got ${got}`);
    }
    return CONSTANTS[data[start]!];
  }
  if (length % 2 !== 0 || length > 2 * SHORT_STRING) {
    const most = 2 * SHORT_STRING;
    throw new RangeError(`A short string needs an even number of bytes, ${most} at most, got ${length}`);
  }
  const units = STRING_UNITS[length >> 1]!;
  for (let i = 0, at = start; i < units.length; i++, at += 2) units[i] = data[at]! | (data[at + 1]! << 8);
  return String.fromCharCode.apply(null, units);
}

/**
 * For each length of a short string, an array of its code units, filled by decodeValueAt and made a string by one
 * call: a string built a unit at a time (`+=`) is a chain of pieces that V8 flattens when it is first read (a 32-unit
 * string's send and recv, then a read of it, took 490 to 507 ns that way and 290 to 319 this way, 16 units 337 to 370
 * and 239 to 251; 'abc' alike, 137 to 143: one thread, medians of five runs of 1M, by turns, 2026-11-28).
 */
const STRING_UNITS: number[][] = Array.from({ length: SHORT_STRING + 1 }, (_, units) => new Array<number>(units).fill(0));

/**
 * The kinds that Receiver.recv copies out of its ring with `slice()`, for a message of up to SLICED_BYTES: every
 * typed array kind (not a DataView, which has no `slice()`, nor raw bytes). `slice()` of a view of its own kind makes
 * the copy and copies the bytes, in one call: no view of the message, no `set()`, bits kept (NaNs included, as the
 * spec asks of a copy between arrays of one kind), and one builtin whatever the kind, where a loop of our own over the
 * elements slowed to 760 ns once a program had sent a few kinds (its element accesses no longer knew theirs; 40 ns
 * with one).
 */
export function isTypedArrayType(type: number): boolean {
  return (type >= TYPE.int8 && type <= TYPE.biguint64) || (type === TYPE.float16 && HAS_FLOAT16);
}

/** The longest message that Receiver.recv copies with `slice()`: one V8 keeps on its heap. */
export const SLICED_BYTES = ON_HEAP_BYTES;

/** A typed array of any kind, as sliceOf reads it. */
export interface KindView {
  slice(start: number, end: number): ArrayBufferView;
}

/** `bytes` viewed as `type`'s kind, one of isTypedArrayType's (its byte offset a multiple of the element size). */
export function viewAs(type: number, bytes: Uint8Array): KindView {
  const Constructor = CONSTRUCTORS[type]!;
  const view = new Constructor(bytes.buffer, bytes.byteOffset, bytes.length / Constructor.BYTES_PER_ELEMENT);
  return view as unknown as KindView;
}

/**
 * A fresh array of `type`'s kind (one of isTypedArrayType's) holding `byteLength` bytes at `byteOffset` (a multiple of
 * the element size, as a payload in a ring is) of the memory that `source` views as that kind (viewAs); undefined
 * where a program has given the kind a species constructor of its own (`Symbol.species`, or `prototype.constructor`),
 * which `slice()` would make the copy with, so that what came back would be the program's choice, not a plain array.
 */
export function sliceOf(type: number, source: KindView, byteOffset: number, byteLength: number): ArrayBufferView | undefined {
  const Constructor = CONSTRUCTORS[type] as TypedArrayConstructor & { [Symbol.species]?: unknown };
  if (Constructor.prototype.constructor !== Constructor || Constructor[Symbol.species] !== Constructor) return undefined;
  const size = Constructor.BYTES_PER_ELEMENT;
  checkMultiple(type, byteLength, size);
  if (byteOffset % size !== 0) throw new RangeError(`sliceOf(): byte offset ${byteOffset} is not a multiple of ${size}`);
  const from = byteOffset / size;
  return source.slice(from, from + byteLength / size);
}

// ---- V8's serializer, with typed arrays and DataViews in our own format ------------------------------------------

/**
 * Node's DefaultSerializer writes a typed array or DataView nested in a value as a "host object", and its
 * DefaultDeserializer hands it back as a view into the bytes it reads, or into an 8 KiB Buffer pool where those are
 * misaligned: a `Float64Array` of 2 nested in a message arrived over a buffer of 1 KiB, the whole message, or over the
 * pool that `Buffer.from` cuts other strings from. Here each is written as our type code, its byte length and its
 * bytes, and read back as `decode` reads a message: a copy over a buffer of its own.
 */
class ValueSerializer extends DefaultSerializer {
  _writeHostObject(object: object): void { // called by V8 (@types/node does not declare it)
    const type = encodedType(object);
    if (!isBinaryType(type) || type === TYPE.bytes) throw new HostObjectRefused(object); // a KeyObject
    const { bytes } = encode(object); // a detached buffer: our DataCloneError
    this.writeUint32(type);
    this.writeUint32(bytes.byteLength);
    this.writeRawBytes(bytes);
  }
}

class ValueDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    // The bytes may be anything (a corrupt ring, a user's decode): say so, rather than leave V8's words
    // ("ReadRawBytes() failed", "readHostObject must return an object"), or nest serialized values as deep as they go.
    const type = this.readUint32();
    if (!isBinaryType(type) || type === TYPE.bytes) {
      const name = isKnownType(type) ? NAMES[type] : 'unknown';
      throw new RangeError(
        `Corrupt serialized value: a nested view has the type code ${type} (${name}), where a typed array's or a ` +
          `DataView's (${NESTED_VIEW_CODES}) belongs`,
      );
    }
    const byteLength = this.readUint32();
    let bytes: Uint8Array;
    try {
      bytes = this.readRawBytes(byteLength);
    } catch {
      const claim = `a nested ${NAMES[type]} claims ${byteLength} bytes`;
      throw new RangeError(`Corrupt serialized value: ${claim}, more than are left`);
    }
    return decodeBytes(type, bytes);
  }
}

/** The codes of the views that ValueDeserializer reads, for its refusal of another. */
const NESTED_VIEW_CODES = `${TYPE.int8} to ${TYPE.dataview}` + (HAS_FLOAT16 ? ` or ${TYPE.float16}` : '');

/** What V8's serializer gives for `value`: what postMessage would, but for the views above and Node's objects below. */
function serialize(value: unknown): Buffer {
  const bytes = v8Serialize(value);
  // Where an object went as `{}` (rare in a message: a scan of the bytes, at memchr's speed), look for Node's
  if (nodeCloneMethod !== undefined && bytes.includes(EMPTY_OBJECT)) {
    const nodeObject = nodeCloneableIn(value, nodeCloneMethod, bytes.length);
    if (nodeObject !== undefined) throw new HostObjectRefused(nodeObject);
  }
  return bytes;
}

function v8Serialize(value: unknown): Buffer {
  const serializer = new ValueSerializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  return serializer.releaseBuffer();
}

/**
 * Node 22 and later clone some objects of their own (a Blob, a File, a BlockList, a SocketAddress) by a method under a
 * symbol of Node's, which postMessage calls; Node 20 made them host objects, which V8's serializer refuses. The
 * serializer knows nothing of that method and writes such an object as its own enumerable properties, none: `{}`, a
 * Blob's bytes lost without a word. Where this Node's serializer does so, nodeCloneMethod is that symbol, and
 * serialize() refuses a value that holds one, as Node 20 did, where its bytes hold a `{}`: one with properties of its
 * own (a subclass's fields) is written as those, and goes unseen (README says so).
 */
const nodeCloneMethod = ((): symbol | undefined => {
  if (typeof Blob !== 'function') return undefined;
  const symbol = Object.getOwnPropertySymbols(Blob.prototype).find((s) => s.description === 'messaging_clone_symbol');
  try {
    v8Serialize(new Blob([]));
    return symbol;
  } catch {
    return undefined; // refused: a host object, as on Node 20
  }
})();

/** How V8's serializer writes an object without properties: 'o' (begin), '{' (end), and their count, 0. */
const EMPTY_OBJECT = Buffer.from([0x6f, 0x7b, 0x00]);

/**
 * The first object in `value` with Node's clone method, found where structured clone goes (an array's elements, an
 * object's own enumerable properties, a Map's keys and values, a Set's entries, an Error's cause); undefined if none.
 * `byteLength` is what V8 wrote of it. A walk without recursion (a value may be nested deeper than a stack of calls
 * allows) that reads an object's data properties only: a getter runs once, in the serializer, as structured clone runs
 * it (so one that returns a Blob is not seen). First as a tree, without the Set of objects seen, which cost 2x: a tree
 * has at most one object reference for every 2 bytes written (a back reference takes 2 at least), so a walk that
 * visits more meets cycles or shared parts, and starts again with the Set.
 */
function nodeCloneableIn(value: unknown, method: symbol, byteLength: number): object | undefined {
  const found = walkFor(method, value, byteLength >> 1);
  return found === TOO_LONG ? walkFor(method, value, Infinity, new Set()) as object | undefined : found;
}

const TOO_LONG = Symbol('more visits than a tree of the value has');

function walkFor(
  method: symbol, value: unknown, visits: number, seen?: Set<object>,
): object | undefined | typeof TOO_LONG {
  if (typeof value !== 'object' || value === null) return undefined;
  const pending: object[] = [value];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen === undefined) {
      if (--visits < 0) return TOO_LONG;
    } else if (seen.has(next)) {
      continue;
    } else {
      seen.add(next);
    }
    if (types.isProxy(next)) continue;
    if (types.isNativeError(next)) { // V8 writes any as an Error, a DOMException too, which has Node's method
      pushData(pending, next, 'cause');
      continue;
    }
    if (method in next) return next;
    if (ArrayBuffer.isView(next) || types.isAnyArrayBuffer(next)) continue;
    if (types.isMap(next)) {
      for (const [key, entry] of next) pushObject(pending, key), pushObject(pending, entry);
    } else if (types.isSet(next)) {
      for (const entry of next) pushObject(pending, entry);
    } else if (Array.isArray(next)) {
      // Its elements read straight: a descriptor each made an array of a million numbers 25x slower to send (an
      // element's getter, which nothing sane defines, then runs twice)
      for (let i = 0; i < next.length; i++) pushObject(pending, next[i]);
    } else {
      for (const key of Object.keys(next)) pushData(pending, next, key);
    }
  }
  return undefined;
}

/** Pends `object[key]` where it is an object held in a data property (not a getter's answer). */
function pushData(pending: object[], object: object, key: string): void {
  const property = Object.getOwnPropertyDescriptor(object, key);
  if (property !== undefined && 'value' in property) pushObject(pending, property.value);
}

function pushObject(pending: object[], value: unknown): void {
  if (typeof value === 'object' && value !== null) pending.push(value);
}

function deserialize(bytes: Uint8Array): unknown {
  const deserializer = new ValueDeserializer(bytes);
  deserializer.readHeader();
  return deserializer.readValue();
}

/** A Node object (a KeyObject, a Blob, a MessagePort), which a ring cannot carry; a view of a kind newer than TYPE's. */
class HostObjectRefused extends Error {
  override readonly name = 'DataCloneError';
  constructor(object: object) {
    super(`${kindOf(object)} could not be cloned.`);
  }
}

// ---- refusing what structured clone refuses, with a message that helps -------------------------------------------

function serializeOrExplain(value: unknown): Uint8Array {
  if (isWasmModule(value)) {
    const why = "only postMessage carries one, on the 'clone' and 'transfer' transports";
    throw new DataCloneError('a WebAssembly.Module', undefined, why);
  }
  try {
    return serialize(value); // a Buffer, which is a Uint8Array: used as is
  } catch (err) {
    if (!isCloneFailure(err)) throw err; // a throwing getter, a stack overflow: not ours to rename
    // v8 says only "function foo() {} could not be cloned." (source text included, no path). Find the culprit.
    const culprit = findCulprit(value, 'value', new Set());
    const why = whyRefused(culprit.value);
    if (culprit.path === 'value') throw new DataCloneError(kindOf(value), undefined, why);
    throw new DataCloneError(`${kindOf(value)} containing ${kindOf(culprit.value)}`, `at ${culprit.path}`, why);
  }
}

const wasmModule = (globalThis as { WebAssembly?: { Module: abstract new (...args: never[]) => object } }).WebAssembly
  ?.Module; // undefined without WebAssembly (`node --jitless`)

/**
 * V8's serializer, asked by Node for a WebAssembly.Module's transfer id, which only postMessage gives, writes nothing
 * for it and reports no error: the bytes then fail to deserialize, at the receiver. Refused here at the top level;
 * one nested in a value is not seen (finding it would take a walk of every value sent).
 */
function isWasmModule(value: unknown): boolean {
  return wasmModule !== undefined && value instanceof wasmModule;
}

/** Why the shared transport refuses `culprit` where it is not simply a value structured clone refuses. */
function whyRefused(culprit: unknown): string | undefined {
  if (types.isSharedArrayBuffer(culprit)) {
    return 'a SharedArrayBuffer travels alone or behind a view (a view may sit anywhere in the value), as a copy of ' +
      'its bytes';
  }
  if (serializationError(culprit) instanceof HostObjectRefused) {
    return "Node's own objects (a KeyObject, a Blob, a MessagePort, ...) cannot go through a ring; postMessage " +
      "clones some (a KeyObject, a Blob, a BlockList) on the 'clone' and 'transfer' transports";
  }
  // Structured clone refuses a detached ArrayBuffer, and "an object containing an ArrayBuffer" alone would not say why.
  if (culprit instanceof ArrayBuffer && isDetached(culprit)) return 'it is detached (its memory was transferred away)';
  if (ArrayBuffer.isView(culprit)) { // encode()'s refusals
    if (isOutOfBounds(culprit)) return 'it lies out of bounds of its resizable ArrayBuffer (the buffer shrank below it)';
    return 'its ArrayBuffer is detached (its memory was transferred away)';
  }
  return undefined;
}

function isCloneFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Node 20 throws a plain Error; newer versions may throw a DOMException named DataCloneError.
  return err.name === 'DataCloneError' || err.message.endsWith('could not be cloned.') ||
    err.message.startsWith('Unserializable host object');
}

function serializes(value: unknown): boolean {
  const error = serializationError(value);
  return error === undefined || !isCloneFailure(error);
}

function serializationError(value: unknown): unknown {
  try {
    serialize(value);
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * Walks down from a value that failed to serialize, into the first child that also fails, until no child fails:
 * that value is the culprit. Slow (it re-serializes subtrees), which is fine: it runs only on the way to an error.
 */
function findCulprit(value: unknown, path: string, onPath: Set<object>): { value: unknown; path: string } {
  if (typeof value !== 'object' || value === null || types.isProxy(value)) return { value, path };
  onPath.add(value);
  for (const [segment, child] of childrenOf(value)) {
    if (typeof child === 'object' && child !== null && onPath.has(child)) continue; // a cycle back up
    if (!serializes(child)) return findCulprit(child, path + segment, onPath);
  }
  return { value, path };
}

/**
 * The parts of a container that structured clone copies, each with its path segment. Its kind is told as structured
 * clone tells it, by brand (`types`), not by `instanceof`, which another realm's Map or Error fails.
 */
function childrenOf(value: object): Array<[string, unknown]> {
  const children: Array<[string, unknown]> = [];
  if (types.isMap(value)) {
    let i = 0;
    for (const [key, entry] of value) {
      children.push([`[map key #${i}]`, key], [`[map value #${i}]`, entry]);
      i++;
    }
  } else if (types.isSet(value)) {
    let i = 0;
    for (const entry of value) children.push([`[set entry #${i++}]`, entry]);
  } else if (types.isNativeError(value)) {
    if (Object.hasOwn(value, 'cause')) children.push(['.cause', (value as Error).cause]);
  } else {
    const isArray = Array.isArray(value);
    for (const key of Object.keys(value)) {
      // value[2] for an array's element; value.onClick, value["odd key"] for any other property, an array's too
      const segment = isArray && /^\d+$/.test(key) ? `[${key}]`
        : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}`
        : `[${JSON.stringify(key)}]`;
      children.push([segment, (value as Record<string, unknown>)[key]]);
    }
  }
  return children;
}


