// Probe: does taking turns with another launch change clone's allreduce? `bench collectives` runs the transports of a
// rank count by turns (src/bench/collectives.ts): clone's ranks wait, parked, through shared's turn between two of
// their own measurements. Here clone's 4 ranks time bcast, then allreduce, of an 8 MiB Float64Array (4 calls of
// warm-up, 30 timed, the slowest rank's ms a call), either alone or with a shared launch's allreduce measured between
// the two, as by turns. Run both several times, alternating: clone's allreduce swings 10 to 30 ms from run to run.
// 2026-11-29, docs/PERFORMANCE.md: "bench collectives by turns".
// Run: npm run build, then node docs/probes/turns-gap.mjs alone|turns
import { isMainThread } from 'node:worker_threads';
import { launch } from '../../dist/src/index.js';

const ELEMENTS = 1 << 20; // 8 MiB of Float64
const WARMUP_CALLS = 4;
const TIMED_CALLS = 30;
const GATE = 0; // the main thread: which turn may run
const DONE = 1; // rank 0 of the launch that ran it: turns done

/** The slowest rank's time a call, in ms, over `calls` calls of `fn` after a barrier. */
function timed(comm, fn, calls) {
  comm.barrier();
  const started = performance.now();
  for (let i = 0; i < calls; i++) fn();
  return comm.allreduce((performance.now() - started) / calls, 'max');
}

/** The rank program: `phases[k]` ('bcast' or 'allreduce') runs at turn `turnOf[k]`; answers its timed ms a call. */
export default function (comm, { gate: gateBuffer, phases, turnOf }) {
  const gate = new Int32Array(gateBuffer);
  const value = new Float64Array(ELEMENTS).fill(comm.rank + 1);
  const into = new Float64Array(ELEMENTS);
  const results = [];
  for (let k = 0; k < phases.length; k++) {
    for (let seen; (seen = Atomics.load(gate, GATE)) < turnOf[k];) Atomics.wait(gate, GATE, seen);
    const fn = phases[k] === 'bcast' ? () => comm.bcast(comm.rank === 0 ? value : into, 0) : () => comm.allreduce(value, 'sum', into);
    timed(comm, fn, WARMUP_CALLS);
    results.push(`${phases[k]} ${timed(comm, fn, TIMED_CALLS).toFixed(1)} ms`);
    comm.barrier();
    if (comm.rank === 0) {
      Atomics.add(gate, DONE, 1);
      Atomics.notify(gate, DONE);
    }
  }
  return results.join(', ');
}

if (isMainThread) {
  const mode = process.argv[2] ?? 'turns';
  if (mode !== 'alone' && mode !== 'turns') throw new Error(`Expected alone or turns, got ${mode}`);
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const turn = async (k) => {
    Atomics.store(gate, GATE, k);
    Atomics.notify(gate, GATE);
    while (Atomics.load(gate, DONE) < k) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const clone = launch(import.meta.url, {
    size: 4, transport: 'clone', args: { gate: gate.buffer, phases: ['bcast', 'allreduce'], turnOf: mode === 'alone' ? [1, 2] : [1, 3] },
  });
  const shared = mode === 'alone' ? undefined
    : launch(import.meta.url, { size: 4, transport: 'shared', args: { gate: gate.buffer, phases: ['allreduce'], turnOf: [2] } });
  for (let k = 1; k <= (mode === 'alone' ? 2 : 3); k++) await turn(k);
  console.log(`${mode}: clone ${(await clone)[0]}${shared ? ` | shared ${(await shared)[0]}` : ''}`);
}
