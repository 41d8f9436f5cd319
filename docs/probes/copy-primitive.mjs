// Probe: what one copy costs in one thread, by each means JavaScript has, into and out of shared memory.
//   set, plain    Uint8Array.prototype.set between two plain ArrayBuffers (V8 calls C's memcpy)
//   set, out/in   set() out of a SharedArrayBuffer into plain memory, and the other way: V8's relaxed copy, a word
//                 at a time, so that a racing thread never sees a torn word
//   fill, out/in  Buffer.prototype.fill(view, start, end) with a view of exactly end - start bytes: Node copies it
//                 once, with C's memcpy, after a call into C++ (what src/copy.ts uses from 1.5 KiB)
//   pieces        what a receiver does with a large message: fill() out of a 256 KiB shared chunk (the quarter of a
//                 1 MiB ring, in the cache) into plain memory of the message's size, piece after piece
// Best of five rounds (a ceiling is what the machine can do), ns per copy and GB/s; every page touched first.
// Run: node docs/probes/copy-primitive.mjs [bytes,bytes,...]   (default 256 B to 64 MiB)
import { Buffer } from 'node:buffer';

const SIZES = (process.argv[2] ?? '256,1024,1536,2048,4096,16384,65536,262144,1048576,4194304,16777216,67108864')
  .split(',').map(Number);
const fill = Buffer.prototype.fill;
const PIECE = 256 * 1024;
const chunk = new Uint8Array(new SharedArrayBuffer(PIECE)).fill(4);

console.log('   bytes   set, plain     set, out      set, in    fill, out     fill, in       pieces   (ns per copy, GB/s)');
for (const bytes of SIZES) {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes)).fill(1);
  const plain = new Uint8Array(bytes).fill(2);
  const other = new Uint8Array(bytes).fill(3);
  const reps = Math.max(4, Math.floor(2 ** 28 / bytes / 8));
  const time = (copy) => {
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      for (let i = 0; i < reps; i++) copy();
      best = Math.min(best, ((performance.now() - started) * 1e6) / reps);
    }
    return `${best.toFixed(best < 1000 ? 1 : 0).padStart(7)} ${(bytes / best).toFixed(1).padStart(4)}`;
  };
  console.log([
    String(bytes).padStart(8),
    time(() => other.set(plain)),
    time(() => plain.set(shared)),
    time(() => shared.set(plain)),
    time(() => fill.call(plain, shared, 0, bytes)),
    time(() => fill.call(shared, plain, 0, bytes)),
    bytes > PIECE ? time(() => { for (let at = 0; at < bytes; at += PIECE) fill.call(plain, chunk, at, at + PIECE); }) : '',
  ].join('  '));
}
