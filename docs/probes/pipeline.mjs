// Probe: the fastest two threads can stream messages through shared memory with nothing but the copies and an index
// handoff (no frames, no acknowledgements, no checks, spinning): the ceiling of each benchmark mode's method.
//   memcpy     one thread copies the message from its private memory into one shared buffer of its size, again and
//              again (bench's memcpy mode)
//   one copy   the sender copies it into a slot, the receiver reads three stamps in place (bench's zerocopy mode)
//   two copies the sender copies it in, the receiver copies it out to its own memory (shared and ringbuf modes)
// Each runs twice on a 1 MiB and twice on a 32 MiB ring (at least two slots): the best of the four is printed,
// since a ceiling is what the machine can do, not what it usually does. Every page is touched before timing.
// Every copy is made as shmcomm makes it (src/copy.ts: C's memcpy through Buffer.prototype.fill from 1.5 KiB into
// the ring and from 2 KiB out of it, set() below); with --set, every copy is a set(), V8's relaxed copy in and out of
// shared memory (the ceiling before).
// Run: node docs/probes/pipeline.mjs [KiB,KiB,...] [--set]   (the sizes, in KiB; default 1,4,16,64,1024,16384,65536)
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const USE_SET = isMainThread ? process.argv.includes('--set') : workerData.useSet;
const fill = Buffer.prototype.fill;
const copy = (target, at, source, nativeFrom) => {
  if (USE_SET || source.length < nativeFrom) target.set(source, at);
  else fill.call(target, source, at, at + source.length);
};

const SIZES = (process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? '1,4,16,64,1024,16384,65536').split(',').map((kib) => Number(kib) * 1024);
for (const bytes of SIZES) {
  // The messages are Float64Arrays: a size that is no multiple of 8 bytes met V8's RangeError
  if (!(bytes >= 8 && bytes <= 2 ** 30 && bytes % 8 === 0)) {
    throw new Error(`a size of ${bytes / 1024} KiB: from 8 B to 1 GiB, in multiples of 8 B`);
  }
}
const RINGS = [1 << 20, 32 << 20];
const SECONDS = 0.3;
const HEAD = 0, TAIL = 16, STOP = 32, READY = 48; // Int32 slots, one cache line apart

if (isMainThread) {
  const mb = (x) => x.toFixed(0).padStart(7);
  console.log(`MB/s, best of four runs; every copy by ${USE_SET ? 'set()' : 'memcpy from 1.5 KiB in, 2 KiB out (src/copy.ts)'}`);
  console.log('    size   memcpy  one copy  two copies   one/two  one/memcpy  two/memcpy');
  for (const size of SIZES) {
    const best = { memcpy: 0, one: 0, two: 0 };
    for (const ring of [...RINGS, ...RINGS]) {
      const slots = Math.max(2, Math.floor(ring / size));
      best.memcpy = Math.max(best.memcpy, await run({ kind: 'memcpy', size, slots: 1 }));
      best.one = Math.max(best.one, await run({ kind: 'one', size, slots }));
      best.two = Math.max(best.two, await run({ kind: 'two', size, slots }));
    }
    const label = size >= 1 << 20 ? `${+(size / 2 ** 20).toFixed(3)} MiB` : `${+(size / 1024).toFixed(3)} KiB`; // 1.375 KiB
    const ratio = (x) => `${x.toFixed(2)}x`.padStart(10);
    console.log(`${label.padStart(8)}  ${mb(best.memcpy)}  ${mb(best.one)}     ${mb(best.two)}  ${ratio(best.one / best.two)}  ${ratio(best.one / best.memcpy)}  ${ratio(best.two / best.memcpy)}`);
  }
} else {
  const { role, kind, size, slots, sab } = workerData;
  const words = new Int32Array(sab, 0, 64);
  const ring = new Uint8Array(sab, 256, size * slots);
  const elements = new Float64Array(sab, 256, (size * slots) / 8);
  const source = new Float64Array(size / 8).fill(1.5);
  const sourceBytes = new Uint8Array(source.buffer);
  const target = new Uint8Array(size).fill(1);
  const slotViews = Array.from({ length: slots }, (_, i) => ring.subarray(i * size, (i + 1) * size)); // made once
  const last = size / 8 - 1, middle = size / 16;
  let messages = 0, sum = 0;
  // Both threads start the clock together, once both are running.
  if (kind !== 'memcpy') {
    Atomics.add(words, READY, 1);
    while (Atomics.load(words, READY) < 2);
  }
  const started = performance.now();
  if (kind === 'memcpy') {
    while (performance.now() - started < SECONDS * 1000) {
      for (let k = 0; k < 16; k++, messages++) copy(ring, (messages % slots) * size, sourceBytes, 1536);
    }
  } else if (role === 'sender') {
    let head = 0, cachedTail = 0;
    while (Atomics.load(words, STOP) === 0) {
      if (head - cachedTail >= slots) {
        cachedTail = Atomics.load(words, TAIL);
        continue;
      }
      copy(ring, (head % slots) * size, sourceBytes, 1536);
      Atomics.store(words, HEAD, ++head);
    }
  } else {
    let tail = 0, cachedHead = 0;
    while (performance.now() - started < SECONDS * 1000) {
      for (let k = 0; k < 16; k++) {
        while (tail === cachedHead) cachedHead = Atomics.load(words, HEAD);
        const at = (tail % slots) * size;
        if (kind === 'two') copy(target, 0, slotViews[tail % slots], 2048);
        else sum += elements[at / 8] + elements[at / 8 + middle] + elements[at / 8 + last]; // the three stamps
        Atomics.store(words, TAIL, ++tail);
        messages++;
      }
    }
    Atomics.store(words, STOP, 1);
  }
  parentPort.postMessage({ mbPerSec: (messages * size) / (performance.now() - started) / 1000, sum });
}

async function run({ kind, size, slots }) {
  const sab = new SharedArrayBuffer(256 + size * slots);
  new Uint8Array(sab, 256).fill(1); // fault every page in now: fresh memory is slow on this VM (fresh-memory.mjs)
  const roles = kind === 'memcpy' ? ['memcpy'] : ['sender', 'receiver'];
  const workers = roles.map((role) => new Worker(new URL(import.meta.url), { workerData: { role, kind, size, slots, sab, useSet: USE_SET } }));
  const results = await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
  await Promise.all(workers.map((w) => w.terminate()));
  return results[results.length - 1].mbPerSec;
}
