// Probe: what the bandwidth benchmark's method allows a copy-in, copy-out transport with messages of 1 to 2 KiB, and
// what shared mode and ringbuf.js make of it, by turns in one run. Every transport streams windows of 64 messages, and
// the receiver acknowledges each window before the sender starts the next (osu_bw's method, `bench bandwidth`'s), on a
// 1 MiB ring, both threads spinning:
//   bare 1      two copies (the sender's into a slot, the receiver's out of it into its own memory) and an index
//               published at every message by each side: ringbuf.js's pattern, without its bookkeeping
//   bare cork   the same, the sender publishing as a corked shmcomm ring does (2 KiB after the acknowledgement, then
//               twice as much each time up to 16 KiB, 16 messages at most; the rest at the end of the window)
//   ring        shmcomm's ring without the channel above it: RingBuffer.write, then hold, copyHeld and release into
//               one reused target, both ends corked as below (frames and their checks, no codec)
//   shared      shmcomm's channel: Sender.send corked for each window, Receiver.recvInto one reused target, corked
//   ringbuf     ringbuf.js, Float64Array typed, push and pop into one reused target
// The bare rows have no frames, no checks and no waiting but the spin: the most a two-copy transport can make by the
// benchmark's method, about. So where 1.5x ringbuf is above the better bare row, no two-copy transport reaches it.
// Every copy is made as shmcomm makes it (src/copy.ts: set() below 1.5 KiB into the ring and 2 KiB out, memcpy from
// there). Compare within a row: one row's figures are measured seconds apart, the next row's may meet another state.
// 2026-11-26: docs/PERFORMANCE.md, "1.4 to 2 KiB: what the benchmark's method allows".
// Run: npm run build, then node docs/probes/window-bound.mjs [KiB,KiB,...]   (default 1.375,1.625,1.96875; REPS=N
// rounds, default 3)
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { RingBuffer as RingBufJs } from 'ringbuf.js';
import { Receiver, RingBuffer, Sender } from '../../dist/src/index.js';
import { NATIVE_COPY_BYTES, NATIVE_COPY_OUT_BYTES } from '../../dist/src/copy.js';

const RING = 1 << 20;
const WINDOW = 64;
const WARMUP_SECONDS = 0.5; // V8 compiles the loops meanwhile: a short warm-up measures unoptimized code
const SECONDS = 0.3;
const FIRST_BATCH = 2048, CORK_BYTES = 16384, CORK_MESSAGES = 16; // as src/ring.ts
const HEAD = 0, TAIL = 16, ACK = 32, DONE = 48, GO = 64; // Int32 slots, one cache line apart
const fill = Buffer.prototype.fill;
const copy = (target, at, source, nativeFrom) => {
  if (source.length < nativeFrom) target.set(source, at);
  else fill.call(target, source, at, at + source.length);
};

if (isMainThread) {
  const sizes = (process.argv[2] ?? '1.375,1.625,1.96875').split(',').map((kib) => Math.round(Number(kib) * 128) * 8);
  if (sizes.some((size) => !(size >= 8 && size <= 64 * 1024))) throw new RangeError('sizes from 8 B to 64 KiB, in KiB');
  const gb = (x) => x.toFixed(2).padStart(9);
  const ratio = (x) => `${x.toFixed(2)}x`.padStart(12);
  console.log(`GB/s (1 GB = 10^9 bytes), windows of ${WINDOW} acknowledged, 1 MiB rings, each figure one run of ${SECONDS} s`);
  console.log('    size     bare 1  bare cork       ring     shared    ringbuf   best bare/ringbuf  shared/ringbuf  shared/bare cork');
  for (let round = 0; round < Number(process.env.REPS ?? 3); round++) {
    for (const size of sizes) {
      const bare = await run('bare', size, { batch: false });
      const corked = await run('bare', size, { batch: true });
      const ring = await run('ring', size, { ring: RingBuffer.create(RING).buffer });
      const shared = await run('shared', size, { ring: RingBuffer.create(RING).buffer });
      const ringbuf = await run('ringbuf', size, { ring: RingBufJs.getStorageForCapacity(RING / 8, Float64Array) });
      const label = `${(size / 1024).toFixed(2)} KiB`.padStart(9);
      console.log(`${label} ${gb(bare)}  ${gb(corked)}  ${gb(ring)}  ${gb(shared)}  ${gb(ringbuf)}  ${ratio(Math.max(bare, corked) / ringbuf)}    ${ratio(shared / ringbuf)}      ${ratio(shared / corked)}`);
    }
  }
} else {
  const { kind, role, size, words, ring, batch } = workerData;
  const endpoint = { bare: bareEnd, ring: ringEnd, shared: sharedEnd, ringbuf: ringbufEnd }[kind](role, size, words, ring, batch);
  parentPort.postMessage(role === 'send' ? drive(endpoint, words) : receive(endpoint, size, words));
}

/** The sender's loop: a window, then wait for its acknowledgement, until the receiver is done. */
function drive({ send, windowDone }, words) {
  Atomics.add(words, GO, 1);
  while (Atomics.load(words, GO) < 2);
  for (let windows = 0; ; ) {
    for (let k = 0; k < WINDOW; k++) send();
    windowDone();
    windows++;
    while (Atomics.load(words, ACK) < windows) if (Atomics.load(words, DONE) !== 0) return 0;
  }
}

/** The receiver's loop: warms up, then times whole windows; GB/s. */
function receive(take, size, words) {
  Atomics.add(words, GO, 1);
  while (Atomics.load(words, GO) < 2);
  const window = () => {
    for (let k = 0; k < WINDOW; k++) take();
    Atomics.add(words, ACK, 1);
  };
  const warm = performance.now();
  while (performance.now() - warm < WARMUP_SECONDS * 1000) window();
  let windows = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    window();
    windows++;
  }
  const elapsed = performance.now() - started;
  Atomics.store(words, DONE, 1);
  return (windows * WINDOW * size) / elapsed / 1e6;
}

/** Fixed slots of `size` bytes on a 1 MiB ring; the head counts messages, published per message or corked. */
function bareEnd(role, size, words, ring, batch) {
  const slots = Math.floor(RING / size);
  const data = new Uint8Array(ring);
  if (role === 'send') {
    const source = new Uint8Array(size).fill(1);
    let head = 0, cachedTail = 0, published = 0, batchBytes = FIRST_BATCH;
    const publish = () => {
      published = head;
      Atomics.store(words, HEAD, head);
      batchBytes = Math.min(2 * batchBytes, CORK_BYTES);
    };
    return {
      send: () => {
        while (head - cachedTail >= slots) cachedTail = Atomics.load(words, TAIL);
        copy(data, (head % slots) * size, source, NATIVE_COPY_BYTES);
        head++;
        if (!batch || head - published >= CORK_MESSAGES || (head - published) * size >= batchBytes) publish();
      },
      windowDone: () => {
        if (head !== published) publish();
        batchBytes = FIRST_BATCH;
      },
    };
  }
  const target = new Uint8Array(size);
  const views = Array.from({ length: slots }, (_, i) => data.subarray(i * size, (i + 1) * size)); // made once
  let tail = 0, cachedHead = 0;
  return () => {
    while (tail === cachedHead) cachedHead = Atomics.load(words, HEAD);
    copy(target, 0, views[tail % slots], NATIVE_COPY_OUT_BYTES);
    Atomics.store(words, TAIL, ++tail);
  };
}

/** shmcomm's ring alone: one frame per message, corked as the benchmark corks the channel's ring. */
function ringEnd(role, size, words, buffer) {
  const ring = RingBuffer.attach(buffer);
  const message = new Uint8Array(size).fill(1);
  ring.cork();
  if (role === 'send') {
    return {
      send: () => ring.write(message),
      windowDone: () => {
        ring.uncork();
        ring.cork();
      },
    };
  }
  return () => {
    ring.hold();
    ring.copyHeld(message);
    ring.release();
  };
}

/** shmcomm's channel, corked as the benchmark corks it. */
function sharedEnd(role, size, words, buffer) {
  const ring = RingBuffer.attach(buffer);
  const message = new Float64Array(size / 8).fill(1);
  ring.cork();
  if (role === 'send') {
    const sender = new Sender(ring);
    return {
      send: () => sender.send(message),
      windowDone: () => {
        ring.uncork();
        ring.cork();
      },
    };
  }
  const receiver = new Receiver(ring);
  return () => receiver.recvInto(message);
}

/** ringbuf.js: one push and one pop per message (a message is smaller than its chunk). */
function ringbufEnd(role, size, words, storage) {
  const ringbuf = new RingBufJs(storage, Float64Array);
  const message = new Float64Array(size / 8).fill(1);
  if (role === 'send') {
    return {
      send: () => {
        while (ringbuf.availableWrite() < message.length);
        ringbuf.push(message);
      },
      windowDone: () => {},
    };
  }
  return () => {
    for (let got = 0; got < message.length; ) got += ringbuf.pop(message, message.length - got, got);
  };
}

/** One sender and one receiver of `kind` at once; resolves with the receiver's GB/s. */
async function run(kind, size, { ring = new SharedArrayBuffer(RING), batch = false } = {}) {
  new Uint8Array(ring).fill(0, ring.byteLength - RING); // fault the data's pages in now: fresh memory is slow on this VM (fresh-memory.mjs)
  const words = new Int32Array(new SharedArrayBuffer(512));
  const workers = ['send', 'receive'].map((role) => new Worker(new URL(import.meta.url), { workerData: { kind, role, size, words, ring, batch } }));
  try {
    const results = await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    return results[1];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
