// Probe: two builds of shmcomm compared in one process, on one thread, for changes worth a few per cent that
// two-thread runs on a noisy VM cannot resolve. Both builds are imported side by side; the same loop runs on each,
// 60 interleaved runs of 50 ms (the first 10 dropped: V8 is still compiling), and the probe prints the median time
// per message of each and the quartiles of B/A, run by run. What it can measure is the cost of code on one core,
// not what two cores do together: confirm a gain with a two-thread probe (ab-stream.mjs) or `bench bandwidth`.
// Loops, over one ring of 1 MiB, both ends corked, 64 messages a window (as the benchmark's windows):
//   book     the ring's bookkeeping alone: reserveOffset/commit, then hold/release (no copies)
//   ring     RingBuffer.write, then hold, copyHeld into one reused target, release
//   shared   Sender.send of one Float64Array, then Receiver.recvInto one reused array
//   number   Sender.send of a number (1.5), then Receiver.recv: the short codes' path (SIZE is ignored)
//   bytes    Sender.send of one Uint8Array of SIZE bytes, then Receiver.recv, a fresh array each
//   reduce   not a ring: the reductions' elementwise loop, Float64 'sum' of SIZE-byte arrays into the second one
// 2026-11-27: docs/PERFORMANCE.md, "What each optimisation bought" ("poll inlined", "Reductions combine four
// elements a turn").
// Build each variant into its own directory first (a git worktree with `npm run build`), then:
//   node docs/probes/ab-inprocess.mjs SIZE KIND A=path/to/dist B=path/to/dist
//   e.g. node docs/probes/ab-inprocess.mjs 1408 shared A=/tmp/before/dist B=dist
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [sizeText, kind, ...builds] = process.argv.slice(2);
const size = Number(sizeText);
const KINDS = ['book', 'ring', 'shared', 'number', 'bytes', 'reduce'];
const WINDOW = 64;
// A window's messages must fit the 1 MiB ring at once: its one thread writes them all before it reads any, and would
// wait for room for ever. Their frames are SIZE + 16 bytes; a ring takes up to half its bytes in one frame.
const MAX_SIZE = 16_368;
if (!(size >= 8 && size % 8 === 0 && (size <= MAX_SIZE || kind === 'reduce')) || !KINDS.includes(kind) || builds.length !== 2 ||
  !builds.every((b) => /^[AB]=/.test(b))) {
  console.error('usage: node docs/probes/ab-inprocess.mjs SIZE book|ring|shared|number|bytes|reduce A=path/to/dist B=path/to/dist ' +
    `(SIZE a multiple of 8, at most ${MAX_SIZE} but for reduce)`);
  process.exit(2);
}
const RUNS = 60, DROPPED = 10, RUN_MS = 50;

const load = async (dist, file) => import(pathToFileURL(resolve(dist, 'src', file)).href);
const [A, B] = await Promise.all(builds.map((build) => build.slice(2)).map(async (dist) => ({
  index: await load(dist, 'index.js'), reduce: await load(dist, 'reduce-ops.js'),
})));

/** One window of the chosen loop on build M: returns a function that runs it; a window is WINDOW messages. */
function loopOf(M) {
  if (kind === 'reduce') {
    const a = new Float64Array(size / 8).fill(1.5), b = new Float64Array(size / 8).fill(2.5);
    return () => { for (let k = 0; k < WINDOW; k++) M.reduce.elementwise('sum', a, b, b); };
  }
  const ring = M.index.RingBuffer.create(1 << 20);
  const source = new Uint8Array(size).fill(1), target = new Uint8Array(size);
  const corked = (produce, consume) => () => {
    ring.cork(); for (let k = 0; k < WINDOW; k++) produce(); ring.uncork();
    ring.cork(); for (let k = 0; k < WINDOW; k++) consume(); ring.uncork();
  };
  if (kind === 'book') return corked(() => { ring.reserveOffset(size); ring.commit(); }, () => { ring.hold(); ring.release(); });
  if (kind === 'ring') return corked(() => ring.write(source), () => { ring.hold(); ring.copyHeld(target); ring.release(); });
  const sender = new M.index.Sender(ring), receiver = new M.index.Receiver(ring);
  if (kind === 'number') return corked(() => sender.send(1.5), () => receiver.recv());
  if (kind === 'bytes') {
    const bytes = new Uint8Array(size).fill(1);
    return corked(() => sender.send(bytes), () => receiver.recv());
  }
  const values = new Float64Array(size / 8).fill(1);
  return corked(() => sender.send(values), () => receiver.recvInto(values));
}

/** ns per message of `loop`, over RUN_MS. */
function time(loop) {
  const started = performance.now();
  let messages = 0;
  while (performance.now() - started < RUN_MS) {
    for (let i = 0; i < 20; i++) loop();
    messages += 20 * WINDOW;
  }
  return ((performance.now() - started) * 1e6) / messages;
}

const loops = [loopOf(A), loopOf(B)];
const times = [[], []];
for (let run = 0; run < RUNS; run++) {
  const order = run % 2 === 0 ? [1, 0] : [0, 1]; // each build first half the time
  for (const which of order) times[which].push(time(loops[which]));
}
const kept = times.map((list) => list.slice(DROPPED));
const median = (list) => [...list].sort((x, y) => x - y)[list.length >> 1];
const ratios = kept[0].map((a, i) => kept[1][i] / a).sort((x, y) => x - y);
const q = (p) => ratios[Math.floor(p * ratios.length)].toFixed(3);
console.log(`${size} B, ${kind}: A ${median(kept[0]).toFixed(1)} ns  B ${median(kept[1]).toFixed(1)} ns per message;` +
  ` B/A median ${q(0.5)} (quartiles ${q(0.25)}, ${q(0.75)})`);
