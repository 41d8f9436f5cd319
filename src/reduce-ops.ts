/**
 * The operators of reduce/allreduce. A named op ('sum', 'prod', 'min', 'max') combines two numbers or two bigints
 * (`combine`), or two typed arrays of the same kind and length element by element (`elementwise`, into an array the
 * caller gives). Any other `op` is the caller's function `(a, b) => c`, called with the lower ranks' value as `a`.
 *
 * Element results are stored into the array's own kind, so integer arrays wrap (Uint8ClampedArray saturates) and
 * float arrays round (a Float32Array's to float32, a Float16Array's to float16, at each step) exactly as any store into
 * them would; `prod` of the integer kinds of 32 bits and less uses Math.imul, whose low 32 bits are exact, because a
 * double product of two large int32 values is already rounded before it wraps (for 8- and 16-bit kinds the double
 * product is exact, and Math.imul stores the same).
 */
import type { ReduceOp } from './comm.js';
import { describe, withArticle } from './describe.js';

export type OpName = 'sum' | 'prod' | 'min' | 'max';
export const OP_NAMES: readonly OpName[] = ['sum', 'prod', 'min', 'max'];

/**
 * Any of the typed-array kinds (Float16Array too, where there is one), seen through what we use (TypeScript's union of
 * them is not callable).
 */
export interface TypedArray extends ArrayBufferView {
  readonly length: number;
  readonly BYTES_PER_ELEMENT: number;
  [index: number]: number | bigint;
  subarray(begin?: number, end?: number): TypedArray;
  slice(begin?: number, end?: number): TypedArray;
  set(source: TypedArray, offset?: number): void;
}

/** An op, checked and ready. */
export interface Reducer {
  /** The name of a named op (commutative, elementwise on typed arrays); undefined for a function. */
  readonly name: OpName | undefined;
  /** a ∘ b, where `a` comes from lower ranks than `b`. */
  combine(a: unknown, b: unknown): unknown;
  /** Throws, before any message moves, if this rank's own value cannot be reduced with this op. */
  check(value: unknown): void;
}

/**
 * Turns `op` into a Reducer, or throws the TypeError that says what was wrong. `value` and `call`, when given, name the
 * likely slip: the op's name passed first (`allreduce('sum', x)`).
 */
export function toReducer(op: ReduceOp, value?: unknown, call?: 'reduce' | 'allreduce'): Reducer {
  if (typeof op === 'function') {
    return { name: undefined, combine: (a, b) => op(a, b), check: () => {} };
  }
  if (typeof op !== 'string' || !(OP_NAMES as readonly string[]).includes(op)) {
    const swapped = call !== undefined && typeof value === 'string' && (OP_NAMES as readonly string[]).includes(value);
    const hint = swapped ? ` (the value comes first: ${call}(value, '${value as string}'))` : '';
    throw new TypeError(`Expected \`op\` to be 'sum', 'prod', 'min', 'max' or a function, got ${describe(op)}${hint}`);
  }
  return NAMED_REDUCERS[op as OpName];
}

/** The Reducer of a named op: made once each, not at every collective call. */
function namedReducer(name: OpName): Reducer {
  return {
    name,
    combine: (a, b) => combineNamed(name, a, b),
    check(value) {
      if (typeof value !== 'number' && typeof value !== 'bigint' && typedArrayKind(value) === undefined) {
        throw new TypeError(
          `Expected a number, bigint or typed array to reduce with '${name}', got ${kindName(value)} (pass a function to reduce other values)`,
        );
      }
    },
  };
}

const NUMBER_OPS: Record<OpName, (a: number, b: number) => number> = {
  sum: (a, b) => a + b,
  prod: (a, b) => a * b,
  min: (a, b) => Math.min(a, b),
  max: (a, b) => Math.max(a, b),
};

const BIGINT_OPS: Record<OpName, (a: bigint, b: bigint) => bigint> = {
  sum: (a, b) => a + b,
  prod: (a, b) => a * b,
  min: (a, b) => (a < b ? a : b),
  max: (a, b) => (a > b ? a : b),
};

const NAMED_REDUCERS: Record<OpName, Reducer> = {
  sum: namedReducer('sum'), prod: namedReducer('prod'), min: namedReducer('min'), max: namedReducer('max'),
};

/** a ∘ b for two numbers or two bigints; anything else (a typed array goes to `elementwise`) is refused. */
function combineNamed(name: OpName, a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return NUMBER_OPS[name](a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return BIGINT_OPS[name](a, b);
  throw new TypeError(`Expected values of the same type to reduce with '${name}', got ${kindName(a)} and ${kindName(b)}`);
}

/**
 * out[i] = a[i] ∘ b[i] for every element, and returns `out` (which may be `a` or `b` itself: each element is read
 * before it is written). The arrays must be of one kind and one length.
 */
export function elementwise(name: OpName, a: TypedArray, b: TypedArray, out: TypedArray): TypedArray {
  const kind = typedArrayKind(a)!;
  checkOperands(name, kind, a.length, typedArrayKind(b)!, b.length);
  const isBigInt = kind === 'BigInt64Array' || kind === 'BigUint64Array';
  const isFloat = kind === 'Float64Array' || kind === 'Float32Array' || kind === 'Float16Array';
  if (isBigInt) BIGINT_LOOPS[name](a as BigInts, b as BigInts, out as BigInts);
  else if (name === 'prod' && !isFloat) imulEach(a as Numbers, b as Numbers, out as Numbers);
  else NUMBER_LOOPS[name](a as Numbers, b as Numbers, out as Numbers);
  return out;
}

/**
 * Throws unless two typed arrays, given by kind ('Float64Array') and length, can be combined with `name`: the
 * message names both, the lower ranks' first. (The ring allreduce checks its neighbour's array this way before any
 * segment moves, as it never sees the whole array.)
 */
export function checkOperands(name: OpName, kind: string, length: number, otherKind: string, otherLength: number): void {
  if (kind !== otherKind) {
    throw new TypeError(`Expected typed arrays of the same kind to reduce with '${name}', got ${kind} and ${otherKind}`);
  }
  if (length !== otherLength) {
    throw new RangeError(`Expected typed arrays of the same length to reduce with '${name}', got ${length} and ${otherLength}`);
  }
}

// The hot loops: one per op, with the operator written in it. One loop for every op, calling the op as a function,
// went megamorphic once a program had used a second op: V8 then called it for each element (Float64 'sum' took 10.4
// ns an element after 'prod', 'min' and 'max' had run, 1.24 ns alone; docs/PERFORMANCE.md, "One loop per op", the Zen
// 4 VM, 2026-11-28). Each loop stays optimized for the array kinds it meets; a program that mixes kinds pays V8's
// generic element access (1.73 to 1.80 ns an element for a Float64Array's 'sum' after an Int32Array's).
// Four elements a turn: on Node 20 a typed-array loop pays a fixed cost per turn (Float64 'sum' 1.1 ns an element,
// 1.9 one element a turn; one thread, 32 Ki elements, the Zen 4 VM of docs/PERFORMANCE.md). Each element is read
// before it is written, so `out` may be `a` or `b`. The bigint loops are plain: each element allocates a bigint anyway.

/** The number kinds' view of a typed array, and the bigint kinds'. */
interface Numbers { readonly length: number; [index: number]: number }
interface BigInts { readonly length: number; [index: number]: bigint }

function sumEach(a: Numbers, b: Numbers, out: Numbers): void {
  const length = a.length;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    out[i] = a[i]! + b[i]!;
    out[i + 1] = a[i + 1]! + b[i + 1]!;
    out[i + 2] = a[i + 2]! + b[i + 2]!;
    out[i + 3] = a[i + 3]! + b[i + 3]!;
  }
  for (; i < length; i++) out[i] = a[i]! + b[i]!;
}

function prodEach(a: Numbers, b: Numbers, out: Numbers): void {
  const length = a.length;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    out[i] = a[i]! * b[i]!;
    out[i + 1] = a[i + 1]! * b[i + 1]!;
    out[i + 2] = a[i + 2]! * b[i + 2]!;
    out[i + 3] = a[i + 3]! * b[i + 3]!;
  }
  for (; i < length; i++) out[i] = a[i]! * b[i]!;
}

/** `prod` of the integer kinds: Math.imul's low 32 bits are exact (see the file comment). */
function imulEach(a: Numbers, b: Numbers, out: Numbers): void {
  const length = a.length;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    out[i] = Math.imul(a[i]!, b[i]!);
    out[i + 1] = Math.imul(a[i + 1]!, b[i + 1]!);
    out[i + 2] = Math.imul(a[i + 2]!, b[i + 2]!);
    out[i + 3] = Math.imul(a[i + 3]!, b[i + 3]!);
  }
  for (; i < length; i++) out[i] = Math.imul(a[i]!, b[i]!);
}

function minEach(a: Numbers, b: Numbers, out: Numbers): void {
  const length = a.length;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    out[i] = Math.min(a[i]!, b[i]!);
    out[i + 1] = Math.min(a[i + 1]!, b[i + 1]!);
    out[i + 2] = Math.min(a[i + 2]!, b[i + 2]!);
    out[i + 3] = Math.min(a[i + 3]!, b[i + 3]!);
  }
  for (; i < length; i++) out[i] = Math.min(a[i]!, b[i]!);
}

function maxEach(a: Numbers, b: Numbers, out: Numbers): void {
  const length = a.length;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    out[i] = Math.max(a[i]!, b[i]!);
    out[i + 1] = Math.max(a[i + 1]!, b[i + 1]!);
    out[i + 2] = Math.max(a[i + 2]!, b[i + 2]!);
    out[i + 3] = Math.max(a[i + 3]!, b[i + 3]!);
  }
  for (; i < length; i++) out[i] = Math.max(a[i]!, b[i]!);
}

const NUMBER_LOOPS: Record<OpName, (a: Numbers, b: Numbers, out: Numbers) => void> = {
  sum: sumEach, prod: prodEach, min: minEach, max: maxEach,
};

const BIGINT_LOOPS: Record<OpName, (a: BigInts, b: BigInts, out: BigInts) => void> = {
  sum(a, b, out) { for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!; },
  prod(a, b, out) { for (let i = 0; i < a.length; i++) out[i] = a[i]! * b[i]!; },
  min(a, b, out) { for (let i = 0; i < a.length; i++) out[i] = a[i]! < b[i]! ? a[i]! : b[i]!; },
  max(a, b, out) { for (let i = 0; i < a.length; i++) out[i] = a[i]! > b[i]! ? a[i]! : b[i]!; },
};

// %TypedArray%.prototype[Symbol.toStringTag] names the kind of any typed array ('Float64Array', also for a Buffer)
// and is undefined for everything else, DataView included.
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object, Symbol.toStringTag,
)!.get as (this: unknown) => string | undefined;

/** 'Float64Array' and the like for a typed array; undefined for anything else. */
export function typedArrayKind(value: unknown): string | undefined {
  return ArrayBuffer.isView(value) ? typedArrayTag.call(value) : undefined;
}

/** A new, zeroed typed array of `like`'s kind (a plain Uint8Array for a Buffer). */
export function newTypedArray(like: TypedArray, length: number): TypedArray {
  const Kind = (globalThis as unknown as Record<string, new (length: number) => TypedArray>)[typedArrayKind(like)!]!;
  return new Kind(length);
}

/** A typed array of `like`'s kind (a plain Uint8Array for a Buffer) over `length` elements of `buffer` from `byteOffset`. */
export function typedArrayOver(like: TypedArray, buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray {
  const Kind = (globalThis as unknown as Record<string, new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedArray>)[typedArrayKind(like)!]!;
  return new Kind(buffer, byteOffset, length);
}

/** A copy of a typed array in memory of its own (`slice` would not do: Buffer's slice is a view). */
export function copyOf(array: TypedArray): TypedArray {
  const copy = newTypedArray(array, array.length);
  copy.set(array);
  return copy;
}

/** What kind of value this is, for error messages: a number, a bigint, a Float64Array, a DataView, a string, an object. */
export function kindName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  const view = ArrayBuffer.isView(value) ? (typedArrayKind(value) ?? 'DataView') : undefined; // no other views exist
  const kind = view ?? (Array.isArray(value) ? 'array' : typeof value);
  return withArticle(kind);
}
