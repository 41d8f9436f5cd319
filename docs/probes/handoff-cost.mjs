// Probe: what the least possible handoff adds to one copy. Thread A copies blocks from its own memory into the
// slots of a 1 MiB SharedArrayBuffer, round and round, with C's memcpy (as zerocopy's sender does, src/copy.ts), and
// counts. Three ways:
// - alone:   nobody else looks at the slots (the benchmark's memcpy mode, on a ring's footprint);
// - counter: after each block A stores a counter that thread B spins on (a ring's HEAD, and nothing else);
// - touch:   as counter, and B also reads the block's first and last 8 bytes (a frame header and a stamp), then
//            stores its own counter, which A checks before it reuses a slot (a ring's TAIL).
// A copy that another core is told about, or looked at, has to win the lines back that core now holds before it
// writes them again. Compare A's time per block across the three: the difference is the handoff's floor.
// Run: node docs/probes/handoff-cost.mjs [blockBytes...]   (each a power of two up to 512 KiB, so that blocks fill the
// ring and `touch` has two slots: it keeps one slot between A and B, so with one A would wait for ever)
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const RING = 1 << 20;
const SECONDS = 0.3;
const WAYS = ['alone', 'counter', 'touch'];

if (isMainThread) {
  const sizes = process.argv.slice(2).map(Number);
  const unfit = sizes.find((block) => !(Number.isInteger(block) && block >= 16 && block <= RING / 2 && RING % block === 0));
  if (unfit !== undefined) throw new RangeError(`Expected block sizes in bytes that divide ${RING} (16 to ${RING / 2}), got ${unfit}`);
  for (const block of sizes.length > 0 ? sizes : [16 << 10, 64 << 10, 256 << 10]) {
    const cells = [];
    for (const way of [...WAYS, ...WAYS]) {
      const sab = new SharedArrayBuffer(RING + 256);
      const workers = [new Worker(new URL(import.meta.url), { workerData: { role: 'copier', sab, block, way } })];
      if (way !== 'alone') workers.push(new Worker(new URL(import.meta.url), { workerData: { role: 'reader', sab, block, way } }));
      const perBlock = await new Promise((resolve, reject) => workers[0].once('message', resolve).once('error', reject));
      await Promise.all(workers.map((w) => w.terminate()));
      cells.push(`${way} ${perBlock.toFixed(0)} ns`);
    }
    const label = block >= 1024 ? `${block / 1024} KiB` : `${block}-byte`;
    console.log(`${label} blocks, A's time per block: ${cells.join(', ')}`);
  }
} else {
  const { sab, block, way, role } = workerData;
  const words = new Int32Array(sab, 0, 64); // [0]: blocks A published; [32]: blocks B has seen (own line); [16]: stop
  const data = new Uint8Array(sab, 256, RING);
  const view = new Float64Array(sab, 256, RING / 8);
  const slots = RING / block;
  if (role === 'copier') {
    const fill = Buffer.prototype.fill;
    const source = new Uint8Array(block).fill(7);
    let i = 0;
    const run = (until) => {
      let now = performance.now();
      const start = now;
      let count = 0;
      while (now < until) {
        for (let k = 0; k < 32; k++, i++, count++) {
          if (way === 'touch') while (i - Atomics.load(words, 32) >= slots - 1); // B's TAIL: do not lap it
          const at = (i % slots) * block;
          fill.call(data, source, at, at + block);
          if (way !== 'alone') Atomics.store(words, 0, i + 1);
        }
        now = performance.now();
      }
      return ((now - start) * 1e6) / count;
    };
    run(performance.now() + 100); // warm-up
    const perBlock = run(performance.now() + SECONDS * 1000);
    Atomics.store(words, 16, 1);
    parentPort.postMessage(perBlock);
  } else {
    let seen = 0;
    let sum = 0;
    while (Atomics.load(words, 16) === 0) {
      const published = Atomics.load(words, 0);
      if (published === seen) continue;
      if (way === 'touch') {
        for (; seen < published; seen++) {
          const at = ((seen % slots) * block) / 8;
          sum += view[at] + view[at + block / 8 - 1];
        }
        Atomics.store(words, 32, seen);
      } else {
        seen = published;
      }
    }
    parentPort.postMessage(sum);
  }
}
