/**
 * The operators of reduce/allreduce. A named op ('sum', 'prod', 'min', 'max') combines two numbers, two bigints, or
 * two typed arrays of the same kind and length element by element (into a new array: inputs are never written).
 * Any other `op` is the caller's function `(a, b) => c`, called with the lower ranks' value as `a`.
 *
 * Element results are stored into the array's own kind, so integer arrays wrap (Uint8ClampedArray saturates) exactly
 * as any store into them would; `prod` of the integer kinds of 32 bits and less uses Math.imul, whose low 32 bits are
 * exact, because a double product of two large int32 values is already rounded before it wraps (for 8- and 16-bit
 * kinds the double product is exact, and Math.imul stores the same).
 */
import type { ReduceOp } from './comm.js';
import { describe, withArticle } from './describe.js';

export type OpName = 'sum' | 'prod' | 'min' | 'max';
export const OP_NAMES: readonly OpName[] = ['sum', 'prod', 'min', 'max'];

/** Any of the 11 typed-array kinds, seen through what we use (TypeScript's union of them is not callable). */
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

/** Turns `op` into a Reducer, or throws the TypeError that says what was wrong. */
export function toReducer(op: ReduceOp): Reducer {
  if (typeof op === 'function') {
    return { name: undefined, combine: (a, b) => op(a, b), check: () => {} };
  }
  if (typeof op !== 'string' || !(OP_NAMES as readonly string[]).includes(op)) {
    throw new TypeError(`Expected \`op\` to be 'sum', 'prod', 'min', 'max' or a function, got ${describe(op)}`);
  }
  const name = op as OpName;
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

function combineNamed(name: OpName, a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return NUMBER_OPS[name](a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return BIGINT_OPS[name](a, b);
  if (typedArrayKind(a) !== undefined && typedArrayKind(b) !== undefined) {
    const first = a as TypedArray;
    return elementwise(name, first, b as TypedArray, newTypedArray(first, first.length));
  }
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
  const isFloat = kind === 'Float32Array' || kind === 'Float64Array';
  const op = isBigInt ? BIGINT_OPS[name] : name === 'prod' && !isFloat ? Math.imul : NUMBER_OPS[name];
  return applyEach(op, a, b, out);
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

// The hot loop, kept small and apart. A program that reduces one kind of array gets it optimized for that kind; one
// that mixes many kinds pays for V8's generic element access (about 10 ns an element). Four elements a turn: on
// Node 20 a typed-array loop pays a fixed cost per turn, so Float64 'sum' takes 1.2 ns an element where one element
// a turn takes 1.9 (one thread, 4,096 to 1M elements, the Zen 4 VM of docs/PERFORMANCE.md). Each element is read
// before it is written, so `out` may be `a` or `b`. (`never` parameters accept the number ops and the bigint ops
// alike; the arrays hold the matching type.)
function applyEach(op: (x: never, y: never) => number | bigint, a: TypedArray, b: TypedArray, out: TypedArray): TypedArray {
  const combine = op as (x: number | bigint, y: number | bigint) => number | bigint;
  const length = a.length;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    out[i] = combine(a[i]!, b[i]!);
    out[i + 1] = combine(a[i + 1]!, b[i + 1]!);
    out[i + 2] = combine(a[i + 2]!, b[i + 2]!);
    out[i + 3] = combine(a[i + 3]!, b[i + 3]!);
  }
  for (; i < length; i++) out[i] = combine(a[i]!, b[i]!);
  return out;
}

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
