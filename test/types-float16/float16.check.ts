/**
 * Type-level tests of Float16Array, for a program whose TypeScript lib declares it (ESNext.Float16 here; shmcomm's own
 * lib, ES2024, does not, and ../types.check.ts checks that it is left out there): `npm run typecheck` checks this file
 * with tsconfig.json beside it. As in ../types.check.ts, every `is<...>()` must hold and every line after
 * `// @ts-expect-error` must fail to type-check.
 */
import type { Comm, Reduced, Sent, TypedArray } from '../../src/index.js';

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends (<V>() => V extends B ? 1 : 2) ? true : false;
function is<T extends true>(): T | void {}

is<Equal<Sent<Float16Array<SharedArrayBuffer>>, Float16Array<ArrayBuffer>>>();
is<Equal<Sent<Float16Array>, Float16Array<ArrayBuffer>>>();
is<Equal<Reduced<Float16Array>, Float16Array<ArrayBuffer>>>();
is<Equal<Sent<Float32Array<SharedArrayBuffer>>, Float32Array<ArrayBuffer>>>(); // the other kinds as before

export function float16(comm: Comm): void {
  const half = new Float16Array(4);
  const kind: TypedArray = half;
  const sum = comm.allreduce(half, 'sum');
  is<Equal<typeof sum, Float16Array<ArrayBuffer>>>();
  const into = new Float16Array(4);
  is<Equal<ReturnType<typeof comm.allreduce<Float16Array, typeof into>>, typeof into>>();
  const root = comm.reduce(half, 'max', 0, into);
  is<Equal<typeof root, Float16Array<ArrayBuffer> | undefined>>();
  // @ts-expect-error: an `into` of another kind
  comm.allreduce(half, 'sum', new Float32Array(4));
  void kind;
}
