// Probe: single-thread copy speeds between plain and shared memory (TypedArray.prototype.set), and a JS loop.
// Run: node docs/probes/copies.mjs
const N = 8 << 20;
const plain = new Uint8Array(N).fill(1), plain2 = new Uint8Array(N);
const sab = new Uint8Array(new SharedArrayBuffer(N)), ringish = new Uint8Array(new SharedArrayBuffer(1 << 20));
function bench(name, fn, bytes) { for (let i = 0; i < 5; i++) fn(); const t = performance.now(); let reps = 0; while (performance.now() - t < 300) { fn(); reps++; } console.log(name.padEnd(40), (bytes * reps / (performance.now() - t) / 1000).toFixed(0), 'MB/s'); }
bench('plain->plain 8M', () => plain2.set(plain), N);
bench('plain->sab 8M', () => sab.set(plain), N);
bench('sab->plain 8M', () => plain2.set(sab), N);
const C = 256 << 10;
bench('plain->ring 256K chunks (8M)', () => { for (let o = 0; o < N; o += C) ringish.set(plain.subarray(o, o + C), (o % (1 << 20))); }, N);
bench('ring->plain 256K chunks (8M)', () => { for (let o = 0; o < N; o += C) plain2.set(ringish.subarray(o % (1 << 20), o % (1 << 20) + C), o); }, N);
const f = new Float64Array(ringish.buffer); const g = new Float64Array(plain2.buffer);
bench('ring->plain f64 loop 256K', () => { for (let o = 0; o < N / 8; o += C / 8) { const b = (o % (1 << 17)); for (let i = 0; i < C / 8; i++) g[o + i] = f[b + i]; } }, N);
