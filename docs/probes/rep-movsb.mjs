// Probe: glibc's memcpy against where its two buffers lie in their pages (src/glibc.ts, glibc bug 30994).
// One thread copies SIZE bytes between two SharedArrayBuffers with Buffer.prototype.fill (C's memcpy, as
// src/copy.ts does), the source at byte offset s and the destination at byte offset d of their buffers, whose
// starts share their place in a page (buffers of 1 MiB or more, which malloc maps from whole pages), so d - s is
// where the destination lies after the source modulo 4,096. Printed: GB/s for s and d from 0 to 56 (best of three
// rounds), then every d from 0 to 4,216 with s = 0 where the copy is under 35 GB/s. It runs twice, each in a
// process of its own: with glibc as it is, and with GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824
// (no rep movsb), since glibc reads its tunables only when a process starts.
// Run: node docs/probes/rep-movsb.mjs [SIZE]   (default 131072; rep movsb serves 2,112 B up to about the L2's size)
import { spawnSync } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';

const SIZE = Number(process.argv[2] ?? 131072);
const NO_REP_MOVSB = 'glibc.cpu.x86_rep_movsb_threshold=1073741824';

if (process.env.REP_MOVSB_PROBE !== 'child') {
  for (const tunables of [undefined, NO_REP_MOVSB]) {
    const env = { ...process.env, REP_MOVSB_PROBE: 'child' };
    if (tunables === undefined) delete env.GLIBC_TUNABLES;
    else env.GLIBC_TUNABLES = tunables;
    console.log(`\nGLIBC_TUNABLES=${tunables ?? '(none)'}`);
    spawnSync(process.execPath, [fileURLToPath(import.meta.url), String(SIZE)], { env, stdio: 'inherit' });
  }
  process.exit(0);
}

const fill = Buffer.prototype.fill;
// 1 MiB at least: malloc maps buffers that large from whole pages, so both start at the same place in a page.
const BUFFER = Math.max(SIZE, 1 << 20) + 8192;
const source = new Uint8Array(new SharedArrayBuffer(BUFFER)).fill(7);
const target = new Uint8Array(new SharedArrayBuffer(BUFFER)).fill(1);
const reps = Math.max(4, Math.floor(2 ** 23 / SIZE));

function gbPerSecond(s, d) {
  const from = source.subarray(s, s + SIZE);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (let i = 0; i < reps; i++) fill.call(target, from, d, d + SIZE);
    best = Math.min(best, ((performance.now() - started) * 1e6) / reps);
  }
  return SIZE / best;
}

const OFFSETS = [0, 8, 16, 24, 32, 40, 48, 56];
console.log(`GB/s copying ${SIZE} B; rows: the source's offset, columns: the destination's`);
console.log(`  s\\d${OFFSETS.map((d) => String(d).padStart(6)).join('')}`);
for (const s of OFFSETS) console.log(`${String(s).padStart(5)}${OFFSETS.map((d) => gbPerSecond(s, d).toFixed(1).padStart(6)).join('')}`);
const slow = [];
for (let d = 0; d <= 4216; d += 8) {
  const rate = gbPerSecond(0, d);
  if (rate < 35) slow.push(`${d}: ${rate.toFixed(1)}`);
}
console.log(`under 35 GB/s, s = 0: ${slow.length === 0 ? 'none' : slow.join(', ')}`);
