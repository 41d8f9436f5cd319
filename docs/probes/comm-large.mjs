// Probe: large messages through Comm on the ranks' default 16 MiB rings, received two ways: `recvInto` a reused
// buffer (one copy out) and `recvView` (read 3 elements in place, then `release`), with launch's default chunks
// (256 KiB) and with `chunkBytes` at half the ring (every message of up to 8 MiB one frame, as before f0ff3ac).
// Rank 0 sends 2 GiB of one Float64Array after 2 GiB of warm-up; rank 1 times its loop. GB/s = 10^9 bytes/s.
// Run after npm run build: node docs/probes/comm-large.mjs [runs=1]
import { isMainThread } from 'node:worker_threads';
import { launch } from '../../dist/src/index.js';

const RING_BYTES = 16 * 2 ** 20;
const HALF_RING = RING_BYTES / 2 - 16; // the largest frame: a ring's maxMessage

/** The rank program: `size`-byte messages, received by `way`; rank 1 answers with its GB/s. */
export default function (comm, { size, way }) {
  const values = new Float64Array(size / 8).fill(1);
  const into = new Float64Array(size / 8);
  const warmup = Math.ceil(2 ** 31 / size); // 2 GiB: with less, V8 has not yet compiled the loops (a background
  const count = warmup + Math.ceil(2 ** 31 / size); // compile waits for a core while both of ours are busy)
  comm.barrier();
  if (comm.rank === 0) {
    for (let i = 0; i < count; i++) comm.send(1, values);
    comm.recv(1);
    return null;
  }
  let started = 0;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    if (i === warmup) started = performance.now();
    if (way === 'recvInto') {
      comm.recvInto(into, 0);
      sum += into[0];
    } else {
      const view = comm.recvView(0);
      sum += view[0] + view[view.length >> 1] + view[view.length - 1];
      comm.release();
    }
  }
  comm.send(0, 'done');
  if (sum === 0) throw new Error('nothing arrived');
  return ((count - warmup) * size) / ((performance.now() - started) * 1e6);
}

if (isMainThread) {
  const runs = Number(process.argv[2] ?? 1);
  for (let run = 0; run < runs; run++) {
    const cells = [];
    for (const size of [2 ** 20, 4 * 2 ** 20]) {
      for (const way of ['recvInto', 'recvView']) {
        for (const [label, chunkBytes] of [['256 KiB chunks', undefined], ['half-ring frames', HALF_RING]]) {
          const [, gbs] = await launch(import.meta.url, { size: 2, ringBytes: RING_BYTES, chunkBytes, args: { size, way }, timeoutMs: 120_000 });
          cells.push(`${size >> 20} MiB ${way} ${label} ${gbs.toFixed(1)}`);
        }
      }
    }
    console.log(cells.join(' | '));
  }
}
