// Probe: what allreduce of a Float64Array through the shared arena costs, against the same copies and barriers with
// no combine. Each rank copies its array into its slot of one shared 16 MiB buffer, in pieces of a slot, and copies
// every rank's share of the slots out into its result, with three barriers a piece, as arenaReduction does
// (src/collectives/arena-reduction.ts; arenaAllreduce when this probe was written), but adds nothing: what is left is the floor of the
// method, one copy in and one copy out a rank. Rounds alternate comm.allreduce(value, 'sum', into) and the copies
// alone; µs per call, the slowest rank.
// 2026-11-27, docs/PERFORMANCE.md: "allreduce through a shared arena".
// Run: npm run build, then node docs/probes/arena-floor.mjs [ranks=4] [MiB=8]
import { isMainThread } from 'node:worker_threads';
import { copyBytes, launch } from '../../dist/src/index.js';

const ARENA_BYTES = 16 * 2 ** 20; // launch's default arenaBytes
const REPS = 40;

/** The rank program: `bytes` of Float64Array; answers { allreduce, copiesOnly }, µs per call, for each round. */
export default function (comm, { arena, bytes }) {
  const { rank, size } = comm;
  const value = new Float64Array(bytes / 8).fill(rank + 1);
  const into = new Float64Array(bytes / 8);
  const [valueBytes, resultBytes, arenaBytes] = [new Uint8Array(value.buffer), new Uint8Array(into.buffer), new Uint8Array(arena)];
  const slot = Math.floor(arena.byteLength / size / 64) * 64;
  const copiesOnly = () => {
    for (let start = 0; start < bytes; start += slot) {
      const count = Math.min(slot, bytes - start);
      comm.barrier();
      copyBytes(arenaBytes, rank * slot, valueBytes.subarray(start, start + count));
      comm.barrier();
      comm.barrier(); // where the ranks would combine their shares
      for (let q = 0; q < size; q++) {
        const from = Math.floor((q * count) / size / 8) * 8;
        const to = Math.floor(((q + 1) * count) / size / 8) * 8;
        copyBytes(resultBytes, start + from, arenaBytes.subarray(q * slot + from, q * slot + to));
      }
    }
  };
  const time = (calls) => {
    for (let i = 0; i < 10; i++) calls();
    comm.barrier();
    const started = performance.now();
    for (let i = 0; i < REPS; i++) calls();
    comm.barrier();
    return Math.round(((performance.now() - started) / REPS) * 1000);
  };
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    rounds.push({ allreduce: time(() => comm.allreduce(value, 'sum', into)), copiesOnly: time(copiesOnly) });
  }
  return rounds;
}

if (isMainThread) {
  const size = Number(process.argv[2] ?? 4);
  const bytes = Number(process.argv[3] ?? 8) * 2 ** 20;
  const results = await launch(new URL(import.meta.url), { size, args: { arena: new SharedArrayBuffer(ARENA_BYTES), bytes } });
  const slowest = results[0].map((_, round) => ({
    allreduce: Math.max(...results.map((rounds) => rounds[round].allreduce)),
    copiesOnly: Math.max(...results.map((rounds) => rounds[round].copiesOnly)),
  }));
  console.log(`${size} ranks, ${bytes / 2 ** 20} MiB Float64Array, µs per call (the slowest rank), three rounds:`);
  console.table(slowest);
}
