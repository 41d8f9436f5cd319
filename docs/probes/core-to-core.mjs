// Probe: how fast freshly written (dirty) blocks move from one core to the other: thread A fills a block of shared
// memory, thread B copies it out, with a spinning handoff. Not a bound after all: shmcomm's shared mode, with frames,
// checks and acknowledgements, streams 1 MiB messages faster in the far state (22 to 28 GB/s against 15 to 19 here
// with 256 KiB blocks, 2026-11-26: docs/PERFORMANCE.md, "What a handoff costs").
// Both copies are C's memcpy, as shmcomm makes them from 2 KiB (src/copy.ts); with --set, both are set() (before 859d403).
// Run: node docs/probes/core-to-core.mjs [--set] [--alone]   (SLOTS=N: slots the blocks go round, default 8; in flight at once, but one under --alone)
// --alone: A writes a block only once B has copied the last one out, and B times its copies alone: how fast a core
// copies out lines that the other core has just written, with nothing else going on, against the same copy of a
// block already in its own cache. Where a receiver's time goes, not a hard bound: in a pipeline the lines it copies
// were written a while before and have partly left the writer's core (shared mode streams a little faster).
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
const USE_SET = isMainThread ? process.argv.includes('--set') : workerData.useSet;
const ALONE = isMainThread ? process.argv.includes('--alone') : workerData.alone;
const fill = Buffer.prototype.fill;
// Core-to-core transfer: A fills a block of a shared buffer, B copies it out; blocks go round SLOTS slots.
const SLOTS = Number(process.env.SLOTS ?? 8), REPS = 4000;
if (isMainThread) {
  for (const block of [16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20]) {
    const sab = new SharedArrayBuffer(block * SLOTS + 128);
    const ws = ['a', 'b'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab, block, useSet: USE_SET, alone: ALONE } }));
    const res = await Promise.all(ws.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    if (ALONE) console.log(`block ${block >> 10} KiB: B copies a block A just wrote at ${res[1].toFixed(0)} MB/s, a block in its own cache at ${res[0].toFixed(0)} MB/s`);
    else console.log(`block ${block >> 10} KiB: reader copies out at ${res[1].toFixed(0)} MB/s (writer ${res[0].toFixed(0)})`);
    await Promise.all(ws.map((w) => w.terminate()));
  }
} else {
  const { sab, block, role } = workerData;
  const ctr = new Int32Array(sab, 0, 32); const data = new Uint8Array(sab, 128);
  const src = new Uint8Array(block).fill(7), dst = new Uint8Array(block);
  const reps = Math.max(50, (REPS * (256 << 10)) / block | 0);
  const copyOut = (slot) => { if (USE_SET) dst.set(data.subarray(slot, slot + block)); else fill.call(dst, data.subarray(slot, slot + block), 0, block); };
  if (ALONE) {
    let copying = 0;
    for (let i = 0; i < reps; i++) {
      const slot = (i % SLOTS) * block;
      if (role === 'a') { while (Atomics.load(ctr, 16) < i); if (USE_SET) data.set(src, slot); else fill.call(data, src, slot, slot + block); Atomics.store(ctr, 0, i + 1); }
      else { while (Atomics.load(ctr, 0) <= i); const t0 = performance.now(); copyOut(slot); copying += performance.now() - t0; Atomics.store(ctr, 16, i + 1); }
    }
    if (role === 'b') { parentPort.postMessage(block * reps / copying / 1000); } else {
      // the reference: B's copy of a block that never leaves this core (here A's, measured by A, the same code)
      const slot = 0; fill.call(data, src, slot, slot + block); copyOut(slot);
      const t0 = performance.now(); for (let i = 0; i < reps; i++) copyOut(slot);
      parentPort.postMessage(block * reps / (performance.now() - t0) / 1000);
    }
  } else {
  const t = performance.now();
  for (let i = 0; i < reps; i++) {
    const slot = (i % SLOTS) * block;
    if (role === 'a') { while (i - Atomics.load(ctr, 16) >= SLOTS); if (USE_SET) data.set(src, slot); else fill.call(data, src, slot, slot + block); Atomics.store(ctr, 0, i + 1); }
    else { while (Atomics.load(ctr, 0) <= i); if (USE_SET) dst.set(data.subarray(slot, slot + block)); else fill.call(dst, data.subarray(slot, slot + block), 0, block); Atomics.store(ctr, 16, i + 1); }
  }
  parentPort.postMessage(block * reps / (performance.now() - t) / 1000);
  }
}
