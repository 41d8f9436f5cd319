/**
 * Types only: what a value turns into on its way to another rank (codec.ts does it at run time), and what launch and
 * map resolve with. Checked in test/types.check.ts.
 */

/**
 * The typed-array kinds, by the name each reports (its `Symbol.toStringTag`), over a buffer of type `B`: the 11 of
 * ES2024, and Float16Array where the program's lib declares it (Float16ArrayOver).
 */
export interface TypedArrayKinds<B extends ArrayBufferLike = ArrayBufferLike> {
  Int8Array: Int8Array<B>;
  Uint8Array: Uint8Array<B>;
  Uint8ClampedArray: Uint8ClampedArray<B>;
  Int16Array: Int16Array<B>;
  Uint16Array: Uint16Array<B>;
  Int32Array: Int32Array<B>;
  Uint32Array: Uint32Array<B>;
  Float32Array: Float32Array<B>;
  Float64Array: Float64Array<B>;
  BigInt64Array: BigInt64Array<B>;
  BigUint64Array: BigUint64Array<B>;
  Float16Array: Float16ArrayOver<B>;
}

/**
 * A Float16Array where the program's TypeScript lib declares Float16Array (ESNext), else `never`, which leaves
 * it out of TypedArray. Looked up on `globalThis`, as shmcomm's own lib, ES2024, has no such type to name: over an
 * ArrayBuffer for `B = ArrayBuffer` (what `of()` makes), else over any buffer.
 */
type Float16ArrayOver<B extends ArrayBufferLike> =
  typeof globalThis extends { Float16Array: { prototype: infer Any; of(...items: number[]): infer Fresh } }
    ? [B] extends [ArrayBuffer] ? Fresh : Any
    : never;

/** A typed array of any kind, over any buffer. A `Buffer` is one: its kind is Uint8Array. */
export type TypedArray = TypedArrayKinds[keyof TypedArrayKinds];

/** A typed array of `T`'s kind over a buffer of type `B`: `SameKind<Buffer, ArrayBuffer>` is a Uint8Array. */
export type SameKind<T extends TypedArray, B extends ArrayBufferLike = ArrayBufferLike> =
  TypedArrayKinds<B>[T[typeof Symbol.toStringTag]];

/**
 * What a value of type `T` is when it arrives at another rank, on every transport (`recv`, and what the collectives
 * deliver from other ranks). Each message arrives in memory of its own:
 * - a typed array as a plain one of its kind over an ArrayBuffer: a `Buffer` as a `Uint8Array`, a `Float64Array`
 *   over a SharedArrayBuffer as a `Float64Array<ArrayBuffer>`;
 * - a DataView over an ArrayBuffer, and an ArrayBuffer or a SharedArrayBuffer as an ArrayBuffer;
 * - anything else as structured clone copies it, typed as `T`.
 *
 * Only the value itself is mapped, not what it holds. Inside an object or array, a Buffer arrives as a Uint8Array and
 * a view over a SharedArrayBuffer over an ArrayBuffer on 'shared' but over the same SharedArrayBuffer on 'clone' and
 * 'transfer'; class instances arrive as plain objects, without their methods. `Sent<T>` leaves those as `T`.
 */
export type Sent<T> =
  T extends TypedArray ? SameKind<T, ArrayBuffer>
  : T extends DataView ? DataView<ArrayBuffer>
  : T extends ArrayBufferLike ? ArrayBuffer
  : T;

/**
 * What a rank program or a map function gives back, for `launch<P>` and `map<P>`: `P`'s return value (awaited) when `P`
 * is the function's type (`launch<typeof main>`), else `P` itself (`launch<number>`), as postMessage delivers it.
 */
export type ResultOf<P> = Posted<P extends (...args: any[]) => infer R ? Awaited<R> : P>;

/**
 * A value as postMessage (structured clone) delivers it, where that differs from `T` for the value itself: a Buffer
 * arrives as a Uint8Array. (A view over a SharedArrayBuffer keeps sharing it; what a value holds is left as typed.)
 */
export type Posted<T> = T extends Buffer<infer B> ? Uint8Array<B> : T;

/**
 * A literal type widened to its primitive: a function op's result is another value than the one passed, so
 * `allreduce(3, (a, b) => a + b)` is a `number`, not the type `3`.
 */
export type Widen<T> = T extends string ? string : T extends number ? number : T extends bigint ? bigint
  : T extends boolean ? boolean : T;
