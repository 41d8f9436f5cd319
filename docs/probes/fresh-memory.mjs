// Probe: allocating a fresh buffer per message (what recv() of a large array must do) against reusing one.
// Run: node docs/probes/fresh-memory.mjs, and again with MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296
for (const mb of [1, 8, 64]) {
  const n = mb << 20; const src = new Uint8Array(n).fill(3);
  let t = performance.now(), reps = 0;
  while (performance.now() - t < 500) { const a = new Uint8Array(n); a.set(src); reps++; }
  const fresh = n * reps / (performance.now() - t) / 1000;
  const keep = new Uint8Array(n); t = performance.now(); reps = 0;
  while (performance.now() - t < 500) { keep.set(src); reps++; }
  console.log(`${mb} MiB: fresh alloc+copy ${fresh.toFixed(0)} MB/s, reused ${(n * reps / (performance.now() - t) / 1000).toFixed(0)} MB/s`);
}
