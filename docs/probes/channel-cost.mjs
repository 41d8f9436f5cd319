// Probe: what one 8-byte message costs in each layer, on one thread (no second core, no cache line crossing):
// the ring alone (write, then hold/copyHeld/release), the channel's Sender and Receiver on top of it, the price of
// reading a typed array's `byteLength` against its `length` (a call against an inlined load on Node 20), and three
// ways to copy 1 KiB out of shared memory with `set()`, which needs a view of exactly the bytes to copy: one made
// by `subarray()`, one made by the constructor, one made once and kept.
// Best of three runs of 5 million messages, ns per message. Run after npm run build: node docs/probes/channel-cost.mjs
import { RingBuffer } from '../../dist/src/ring.js';
import { Receiver, Sender } from '../../dist/src/channel.js';

const N = 5_000_000;
const source = new Float64Array(1), sourceBytes = new Uint8Array(source.buffer);
const into = new Float64Array(1), intoBytes = new Uint8Array(into.buffer);
const META = { type: 10, tag: 0, aux: 0 }; // Float64Array's codec type: what Sender.send writes
const take = (ring) => { ring.hold(); ring.copyHeld(intoBytes); ring.release(); };

const layers = {
  'ring: write + hold/copyHeld/release': (ring) => () => { ring.write(sourceBytes, META); take(ring); },
  'Sender.send + ring': (ring) => { const s = new Sender(ring); return () => { s.send(source); take(ring); }; },
  'ring + Receiver.recvInto': (ring) => { const r = new Receiver(ring); return () => { ring.write(sourceBytes, META); r.recvInto(into); }; },
  'Sender.send + Receiver.recvInto': (ring) => {
    const s = new Sender(ring), r = new Receiver(ring);
    return () => { s.send(source); r.recvInto(into); };
  },
};
const best = {};
for (let run = 0; run < 3; run++) {
  for (const [name, make] of Object.entries(layers)) {
    const step = make(RingBuffer.create(1 << 16));
    const started = performance.now();
    for (let i = 0; i < N; i++) { source[0] = i; step(); }
    const ns = ((performance.now() - started) * 1e6) / N;
    best[name] = Math.min(best[name] ?? Infinity, ns);
  }
}
for (const [name, ns] of Object.entries(best)) console.log(`${name.padEnd(36)} ${ns.toFixed(1)} ns`);

const reads = { 'Float64Array byteLength': () => source.byteLength, 'Float64Array length': () => source.length };
for (const [name, read] of Object.entries(reads)) {
  let sum = 0;
  const started = performance.now();
  for (let i = 0; i < 10 * N; i++) sum += read();
  console.log(`${name.padEnd(36)} ${(((performance.now() - started) * 1e6) / (10 * N)).toFixed(1)} ns a loop step${sum > 0 ? '' : '!'}`);
}

const shared = new SharedArrayBuffer(1 << 16), ringBytes = new Uint8Array(shared), KIB = 1024;
const kept = Array.from({ length: 32 }, (_, i) => new Uint8Array(shared, i * 2048, KIB));
const out = new Uint8Array(KIB);
const copies = {
  'copy 1 KiB out: subarray() + set': (i) => out.set(ringBytes.subarray((i & 31) * 2048, (i & 31) * 2048 + KIB)),
  'copy 1 KiB out: new Uint8Array + set': (i) => out.set(new Uint8Array(shared, (i & 31) * 2048, KIB)),
  'copy 1 KiB out: kept view + set': (i) => out.set(kept[i & 31]),
};
for (const [name, copy] of Object.entries(copies)) {
  let fastest = Infinity;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    for (let i = 0; i < N; i++) copy(i);
    fastest = Math.min(fastest, ((performance.now() - started) * 1e6) / N);
  }
  console.log(`${name.padEnd(36)} ${fastest.toFixed(1)} ns`);
}
