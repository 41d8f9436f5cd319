// Probe: small values through the ranks' API on the shared transport, 2 ranks. Two measurements:
// - stream: rank 0 sends windows of 64 values, then waits for rank 1's acknowledgement (as exercise 6 does); messages a
//   second, for a plain number and for an 8-byte Uint8Array (received with recv(), a fresh array each);
// - calls: allreduce(number, 'sum'), bcast(number) and sendrecv(number) in a loop; calls a second.
// Each figure is the best of three launches, each measuring 0.3 s after a warm-up of its own: every measurement is run
// once and thrown away first. Figures from before 2026-11-29 include the warm-up, and compare only with each other:
// three runs by turns on the Zen 3 VM (08:37) streamed numbers at 3.58 to 4.38M a second warm against 0.90 to 1.36M
// (the first 0.3 s of code not yet optimized; it parks no more than the rest), 8-byte arrays 2.20 to 2.58M against
// 1.60 to 1.87M, and ran allreduce 0.81 to 1.04M against 0.55 to 0.62M. Until the commit that added this probe
// (2026-11-27), a number went through V8's serializer (about 2 µs a value), and an array of 64 bytes or fewer was
// decoded through an ArrayBuffer of its own (about 0.4 µs): docs/PERFORMANCE.md, "Small values without V8's
// serializer".
// Run: node docs/probes/comm-small.mjs   (needs `npm run build`)
import { isMainThread } from 'node:worker_threads';

const WINDOW = 64;
const SECONDS = 0.3;

/**
 * Runs `step`, a collective call, in batches of 1,000 for SECONDS after a warm-up batch; returns how many a second.
 * Rank 0's clock decides when to stop, and says so after each batch (a bcast of a boolean, 1 call in 1,000), so that
 * both ranks make the same calls.
 */
function rate(comm, step) {
  for (let i = 0; i < 1000; i++) step();
  comm.barrier();
  let count = 0;
  const started = performance.now();
  for (let more = true; more; ) {
    for (let i = 0; i < 1000; i++) step();
    count += 1000;
    more = comm.bcast(comm.rank === 0 ? performance.now() - started < SECONDS * 1000 : undefined);
  }
  const perSecond = count / ((performance.now() - started) / 1000);
  comm.barrier();
  return perSecond;
}

/** Rank 0 streams windows of `value` for SECONDS; returns messages a second (rank 1: 0). */
function stream(comm, value) {
  comm.barrier();
  if (comm.rank === 1) {
    while (comm.recv(0)) {
      for (let i = 0; i < WINDOW; i++) comm.recv(0);
      comm.send(0, true);
    }
    return 0;
  }
  let windows = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    comm.send(1, true);
    for (let i = 0; i < WINDOW; i++) comm.send(1, value);
    comm.recv(1);
    windows++;
  }
  comm.send(1, false);
  return (windows * WINDOW) / ((performance.now() - started) / 1000);
}

export default function main(comm) {
  const other = 1 - comm.rank;
  const measure = () => ({
    'stream number': stream(comm, 1.5),
    'stream Uint8Array(8)': stream(comm, new Uint8Array(8)),
    'allreduce number': rate(comm, () => comm.allreduce(comm.rank + 0.5, 'sum')),
    'bcast number': rate(comm, () => comm.bcast(comm.rank === 0 ? 42 : undefined)),
    'sendrecv number': rate(comm, () => comm.sendrecv(other, comm.rank, other)),
  });
  measure(); // the warm-up
  return measure();
}

if (isMainThread) {
  const { launch } = await import('../../dist/src/index.js');
  const best = {};
  for (let run = 0; run < 3; run++) {
    const [figures] = await launch(import.meta.url, { size: 2 });
    for (const [name, perSecond] of Object.entries(figures)) best[name] = Math.max(best[name] ?? 0, perSecond);
  }
  for (const [name, perSecond] of Object.entries(best)) {
    console.log(`${name.padEnd(22)} ${(perSecond / 1e6).toFixed(2)}M a second`);
  }
}
