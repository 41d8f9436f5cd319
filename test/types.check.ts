/**
 * Type-level tests: `npx tsc --noEmit -p tsconfig.json` (in `npm test`) checks this file. Every `is<...>()` must hold
 * and every line after `// @ts-expect-error` must fail to type-check (tsc reports one that does not). Nothing here
 * runs: test/run.mjs runs *.test.js only, and the functions are never called.
 */
import {
  launch, map, type Comm, type ReduceOp, type Reduced, type ResultOf, type Sent, type TypedArray,
} from '../src/index.js';

/** Holds when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends (<V>() => V extends B ? 1 : 2) ? true : false;
function is<T extends true>(): T | void {}

// ─── Sent: what a value is on arrival ─────────────────────────────────────────────────────────────────────────

is<Equal<Sent<number>, number>>();
is<Equal<Sent<string | undefined>, string | undefined>>();
is<Equal<Sent<{ a: number[] }>, { a: number[] }>>();
is<Equal<Sent<unknown>, unknown>>();
is<Equal<Sent<Buffer>, Uint8Array<ArrayBuffer>>>();
is<Equal<Sent<Float64Array<SharedArrayBuffer>>, Float64Array<ArrayBuffer>>>();
is<Equal<Sent<Float64Array>, Float64Array<ArrayBuffer>>>();
is<Equal<Sent<Uint8ClampedArray>, Uint8ClampedArray<ArrayBuffer>>>();
is<Equal<Sent<BigInt64Array>, BigInt64Array<ArrayBuffer>>>();
is<Equal<Sent<DataView<SharedArrayBuffer>>, DataView<ArrayBuffer>>>();
is<Equal<Sent<SharedArrayBuffer>, ArrayBuffer>>();
is<Equal<Sent<ArrayBuffer>, ArrayBuffer>>();
is<Equal<Sent<number | Int32Array>, number | Int32Array<ArrayBuffer>>>();

// The 11 kinds of this lib, ES2024, which has no Float16Array (types-float16/ checks a lib that has one)
is<Equal<TypedArray, Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array |
  Float32Array | Float64Array | BigInt64Array | BigUint64Array>>();

is<Equal<Reduced<3>, number>>();
is<Equal<Reduced<bigint>, bigint>>();
is<Equal<Reduced<Buffer>, Uint8Array<ArrayBuffer>>>();

// ─── Point to point ───────────────────────────────────────────────────────────────────────────────────────────

export function pointToPoint(comm: Comm): void {
  const untyped = comm.recv(0);
  is<Equal<typeof untyped, unknown>>();
  const n: number = comm.recv<number>(0);
  const bytes = comm.recv<Buffer>(0);
  is<Equal<typeof bytes, Uint8Array<ArrayBuffer>>>();
  // @ts-expect-error a Buffer arrives as a Uint8Array, without Buffer's methods
  comm.recv<Buffer>(0).readUInt32LE(0);
  const status = comm.recvWithStatus<Float64Array<SharedArrayBuffer>>();
  is<Equal<typeof status.value, Float64Array<ArrayBuffer>>>();

  const swapped = comm.sendrecv(1, n); // S inferred from the value, R = S
  is<Equal<typeof swapped, number>>();
  const old = comm.sendrecv<Uint8Array>(1, new Uint8Array(4)); // sendrecv<T>, as before: sends and receives a T
  is<Equal<typeof old, Uint8Array<ArrayBuffer>>>();
  const other = comm.sendrecv<number, string>(1, n);
  is<Equal<typeof other, string>>();
  // @ts-expect-error S is what this rank sends
  comm.sendrecv<number, string>(1, 'text');
}

// ─── Collectives ──────────────────────────────────────────────────────────────────────────────────────────────

export function collectives(comm: Comm, config: { name: string } | undefined, shared: Float64Array<SharedArrayBuffer>):
  void {
  const got = comm.bcast(config);
  is<Equal<typeof got, { name: string } | undefined>>();
  const array = comm.bcast(new Float64Array(4)); // the root's own, or a copy: over an ArrayBuffer either way
  is<Equal<typeof array, Float64Array<ArrayBuffer>>>();
  const fromShared = comm.bcast(shared); // the root keeps its own: over the SharedArrayBuffer there only
  is<Equal<typeof fromShared, Float64Array<SharedArrayBuffer> | Float64Array<ArrayBuffer>>>();
  // @ts-expect-error another rank's Buffer arrives as a Uint8Array
  comm.bcast(Buffer.from('x')).readUInt32LE(0);

  is<Equal<ReturnType<typeof comm.scatter<number>>, number>>();
  const gathered = comm.gather(Buffer.from('x'));
  is<Equal<typeof gathered, (Buffer<ArrayBuffer> | Uint8Array<ArrayBuffer>)[] | undefined>>();
  const everyone = comm.allgather(comm.rank);
  is<Equal<typeof everyone, number[]>>();
  const parts = comm.alltoall(['a', 'b']);
  is<Equal<typeof parts, string[]>>();
}

export function reductions(comm: Comm, op: ReduceOp, maybe: Float64Array<ArrayBuffer> | undefined): void {
  const sum = comm.allreduce(3, 'sum');
  is<Equal<typeof sum, number>>(); // a number, not the literal 3
  const big = comm.allreduce(3n, 'max');
  is<Equal<typeof big, bigint>>();
  const max = comm.reduce(comm.rank, 'max', 0);
  is<Equal<typeof max, number | undefined>>();
  const summed = comm.allreduce(new Float64Array(4), 'sum');
  is<Equal<typeof summed, Float64Array<ArrayBuffer>>>();
  const ofShared = comm.allreduce(new Float64Array(new SharedArrayBuffer(32)), 'sum'); // a new array
  is<Equal<typeof ofShared, Float64Array<ArrayBuffer>>>();
  const ofBuffer = comm.allreduce(Buffer.from('ab'), 'max');
  is<Equal<typeof ofBuffer, Uint8Array<ArrayBuffer>>>();
  const into = new Float64Array(new SharedArrayBuffer(32));
  const inPlace = comm.allreduce(new Float64Array(4), 'sum', into); // `into` is returned, and typed as it is
  is<Equal<typeof inPlace, Float64Array<SharedArrayBuffer>>>();
  const atRoot = comm.reduce(new Float64Array(4), 'sum', 0, into); // `into` at the root, undefined elsewhere
  is<Equal<typeof atRoot, Float64Array<SharedArrayBuffer> | undefined>>();
  comm.reduce(new Float64Array(4), 'sum', 0, maybe);
  comm.allreduce(Buffer.alloc(4), 'sum', new Uint8Array(4)); // a Buffer's kind is Uint8Array
  comm.allreduce(comm.rank === 0 ? 1 : 2n, 'sum'); // a number on some ranks, a bigint on others: they meet at run time
  comm.allreduce(new Float64Array(4), op); // an op of type ReduceOp, for a value every op takes
  const joined = comm.allreduce('a', (a: string, b: string) => a + b); // a function takes anything
  is<Equal<typeof joined, string>>(); // typed as the value, widened: another string than 'a'
  const added = comm.allreduce(3, (a: number, b: number) => a + b);
  is<Equal<typeof added, number>>();
  comm.allreduce(new Float64Array(4), (a: Float64Array, b: Float64Array) => a.map((x, i) => x + b[i]!), into);

  // @ts-expect-error the named ops combine numbers, bigints and typed arrays
  comm.allreduce('text', 'sum');
  // @ts-expect-error a DataView is not a typed array
  comm.reduce(new DataView(new ArrayBuffer(8)), 'max');
  // @ts-expect-error `into` is for typed arrays
  comm.allreduce(1, 'sum', 2);
  // @ts-expect-error ... of the value's kind
  comm.allreduce(new Float64Array(4), 'sum', new Float32Array(4));
  // @ts-expect-error ... also in reduce
  comm.reduce(1, 'sum', 0, new Float64Array(1));
  // @ts-expect-error an op that may be a name needs a value the names take
  comm.allreduce('text', op);
  // @ts-expect-error an unknown op
  comm.allreduce(1, 'avg');
}

// ─── launch and map ───────────────────────────────────────────────────────────────────────────────────────────

declare function main(comm: Comm, args: { n: number }): Promise<number[]>;
declare function noArgs(comm: Comm): string;
declare function square(x: number, index: number): number;

is<Equal<ResultOf<typeof main>, number[]>>();
is<Equal<ResultOf<number>, number>>();
is<Equal<ResultOf<() => Buffer<ArrayBuffer>>, Uint8Array<ArrayBuffer>>>(); // postMessage hands a Buffer back as a Uint8Array
is<Equal<ResultOf<Buffer<ArrayBuffer>>, Uint8Array<ArrayBuffer>>>();
is<Equal<ResultOf<Buffer<SharedArrayBuffer>>, Uint8Array<SharedArrayBuffer>>>(); // postMessage keeps sharing it

export async function launching(url: string): Promise<void> {
  const typed = await launch<typeof main>(url, { size: 2, args: { n: 1 } });
  is<Equal<typeof typed, number[][]>>();
  // args stay `unknown`: typed from P, a wrapper generic in the result (`generic` below) would stop compiling
  await launch<typeof main>(url, { size: 2, args: { n: 'one' } });
  const strings = await launch<typeof noArgs>(url, { size: 2 });
  is<Equal<typeof strings, string[]>>();
  const numbers = await launch<number>(url, { size: 2, args: { anything: true } }); // as before
  is<Equal<typeof numbers, number[]>>();
  const untyped = await launch(url, { size: 2 });
  is<Equal<typeof untyped, unknown[]>>();
  const generic = <R>(args: object) => launch<R>(url, { size: 2, args }); // a wrapper generic in the result
  is<Equal<Awaited<ReturnType<typeof generic<boolean>>>, boolean[]>>();

  const one = await map<number>(url, [1, 2]);
  is<Equal<typeof one.results, number[]>>();
  const fromFunction = await map<typeof square>(url, [1, 2]);
  is<Equal<typeof fromFunction.results, number[]>>();
  const two = await map<number, string>(url, [1, 2]); // as before: items, then results
  is<Equal<typeof two.results, string[]>>();
  const buffers = await map<number, Buffer>(url, [1, 2]); // a Buffer arrives as postMessage delivers it
  is<Equal<typeof buffers.results, Uint8Array<ArrayBufferLike>[]>>();
  // @ts-expect-error with two, the first is the items' type
  await map<string, number>(url, [1, 2]);
  const none = await map(url, [1, 2]);
  is<Equal<typeof none.results, unknown[]>>();
}

export type { TypedArray };
