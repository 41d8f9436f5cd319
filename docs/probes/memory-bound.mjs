// Probe: what memory allows a copy-in, copy-out transport with messages larger than the cache, and what shared mode
// and ringbuf.js make of it, by turns in one run. Each row, one after the other:
//   memcpy      one thread copies the whole message (the benchmark's memcpy mode)
//   send half   one thread copies a large source, 256 KiB at a time, into a 1 MiB buffer that stays in the cache
//   recv half   one thread copies 256 KiB at a time out of a 1 MiB buffer of its own into a large target
//   lockstep    both halves at once on the two threads, at one pace (at most three pieces in flight, as a 1 MiB ring
//               holds three 256 KiB frames), each on its own memory: no line crosses cores, no frame, no check
//   shared      shmcomm's channel on a 1 MiB ring: Sender.send, Receiver.recvInto one reused target (no
//               acknowledgements, unlike the benchmark: a stream)
//   ringbuf     ringbuf.js on a 1 MiB ring, pushed in the same 256 KiB chunks, popped into one reused target, spinning
// lockstep is the two streams to and from memory that any such transport makes, without the handoff: about what
// shared or ringbuf.js can make at these sizes. Not a strict ceiling (shared has come out above it in some runs);
// compare the columns of one row, since memory's speed moves by a fifth from one minute to the next.
// 2026-11-26: docs/PERFORMANCE.md, "Large messages near: memory is the bound".
// Every copy of the probe's own is C's memcpy, as shmcomm makes it (src/copy.ts); every page is touched before timing.
// Run: npm run build, then node docs/probes/memory-bound.mjs [MiB,MiB,...]   (default 22.6,64; REPS=N rounds, default 2)
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { RingBuffer as RingBufJs } from 'ringbuf.js';
import { Receiver, RingBuffer, Sender } from '../../dist/src/index.js';

const fill = Buffer.prototype.fill;
const PIECE = 256 << 10; // shmcomm's chunk on the benchmark's 1 MiB ring
const RING = 1 << 20;
const AHEAD = 3; // lockstep: the most pieces the sender may be ahead of the receiver
const SECONDS = 0.5;
const DONE = 0, SENT = 16, RECEIVED = 32, GO = 48, ENDED = 64; // Int32 slots, one cache line apart

if (isMainThread) {
  const sizes = (process.argv[2] ?? '22.6,64').split(',').map((mib) => Math.round((Number(mib) * 2 ** 20) / PIECE) * PIECE);
  const gb = (x) => x.toFixed(1).padStart(9);
  const ratio = (x) => `${x.toFixed(2)}x`.padStart(9);
  console.log(`GB/s (1 GB = 10^9 bytes), each figure one run of ${SECONDS} s`);
  console.log('    size     memcpy  send half  recv half   lockstep     shared    ringbuf  shared/lockstep  1.5 ringbuf/lockstep');
  for (let round = 0; round < Number(process.env.REPS ?? 2); round++) {
    for (const size of sizes) {
      const memcpy = (await run(['memcpy'], size))[0];
      const send = (await run(['send'], size))[0];
      const recv = (await run(['recv'], size))[0];
      const lockstep = Math.min(...(await run(['send', 'recv'], size)));
      const shared = (await run(['shared-send', 'shared-recv'], size, RingBuffer.create(RING).buffer))[1];
      const ringbuf = (await run(['ringbuf-send', 'ringbuf-recv'], size, RingBufJs.getStorageForCapacity(RING / 8, Float64Array)))[1];
      const label = `${(size / 2 ** 20).toFixed(1)} MiB`.padStart(8);
      console.log(`${label}  ${gb(memcpy)}  ${gb(send)}  ${gb(recv)}  ${gb(lockstep)}  ${gb(shared)}  ${gb(ringbuf)}        ${ratio(shared / lockstep)}             ${ratio((1.5 * ringbuf) / lockstep)}`);
    }
  }
} else {
  const { role, size, words, ring } = workerData;
  const rate = role.startsWith('shared') ? streamShared : role.startsWith('ringbuf') ? streamRingbuf : copyAlone;
  parentPort.postMessage(rate(role, size, words, ring));
}

/** memcpy, a half alone, or a half in lockstep with the other (`words` shared by the two): GB/s. */
function copyAlone(role, size, words) {
  const paced = Atomics.load(words, GO) < 0; // run() marks a pair
  const big = new Uint8Array(size).fill(1); // the source (send half) or the target (recv half, memcpy)
  const ring = new Uint8Array(RING).fill(2);
  const other = role === 'memcpy' ? new Uint8Array(size).fill(3) : null;
  const pieces = size / PIECE;
  const slots = RING / PIECE;
  let piece = 0; // pieces moved so far, over every lap
  const lap = () => {
    if (role === 'memcpy') {
      fill.call(other, big, 0, size);
      piece += pieces;
      return;
    }
    for (let i = 0; i < pieces; i++) {
      if (paced) {
        // The pipeline's pace: the sender waits for room, the receiver for a piece (spinning, as shmcomm's rings do).
        if (role === 'send') while (piece - Atomics.load(words, RECEIVED) >= AHEAD && Atomics.load(words, DONE) === 0);
        else while (Atomics.load(words, SENT) <= piece && Atomics.load(words, DONE) === 0);
        if (Atomics.load(words, DONE) !== 0) return;
      }
      const at = (piece % pieces) * PIECE;
      const slot = (piece % slots) * PIECE;
      if (role === 'send') fill.call(ring, big.subarray(at, at + PIECE), slot, slot + PIECE);
      else fill.call(big, ring.subarray(slot, slot + PIECE), at, at + PIECE);
      piece++;
      Atomics.store(words, role === 'send' ? SENT : RECEIVED, piece);
    }
  };
  if (!paced) {
    lap();
    lap(); // warm up, alone
    piece = 0;
  } else {
    Atomics.add(words, GO, 1);
    while (Atomics.load(words, GO) < 0); // both start together
  }
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000 && Atomics.load(words, DONE) === 0) lap();
  Atomics.store(words, DONE, 1); // the first to finish stops the other: the same span for both
  return (piece * PIECE) / (performance.now() - started) / 1e6;
}

/** shmcomm's channel: the receiver times whole messages after a first one, then drains until the sender closes. */
function streamShared(role, size, words, buffer) {
  const message = new Float64Array(size / 8).fill(1);
  if (role === 'shared-send') {
    const sender = new Sender(RingBuffer.attach(buffer));
    while (Atomics.load(words, DONE) === 0) sender.send(message);
    sender.close();
    return 0;
  }
  const receiver = new Receiver(RingBuffer.attach(buffer));
  receiver.recvInto(message); // warm up
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    receiver.recvInto(message);
    count++;
  }
  const elapsed = performance.now() - started;
  Atomics.store(words, DONE, 1);
  while (receiver.recvInto(message) !== null); // until the sender has closed
  return (count * size) / elapsed / 1e6;
}

/** ringbuf.js, both ends spinning; the sender says it has stopped through ENDED. */
function streamRingbuf(role, size, words, storage) {
  const ringbuf = new RingBufJs(storage, Float64Array);
  const message = new Float64Array(size / 8).fill(1);
  const chunk = PIECE / 8;
  if (role === 'ringbuf-send') {
    const chunks = [];
    for (let at = 0; at < message.length; at += chunk) chunks.push(message.subarray(at, at + chunk));
    while (Atomics.load(words, DONE) === 0) {
      for (const piece of chunks) {
        while (ringbuf.availableWrite() < piece.length);
        ringbuf.push(piece);
      }
    }
    Atomics.store(words, ENDED, 1);
    return 0;
  }
  const receiveOne = () => {
    for (let got = 0; got < message.length; ) {
      const popped = ringbuf.pop(message, message.length - got, got);
      if (popped === 0 && Atomics.load(words, ENDED) === 1 && ringbuf.availableRead() === 0) return false;
      got += popped;
    }
    return true;
  };
  receiveOne(); // warm up
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    receiveOne();
    count++;
  }
  const elapsed = performance.now() - started;
  Atomics.store(words, DONE, 1);
  while (receiveOne()); // until the sender has stopped
  return (count * size) / elapsed / 1e6;
}

/** Runs one worker per role at once; resolves with each one's answer. */
async function run(roles, size, ring) {
  const words = new Int32Array(new SharedArrayBuffer(512));
  if (roles.length === 2 && ring === undefined) words[GO] = -2; // a lockstep pair: each adds one, then both go
  const workers = roles.map((role) => new Worker(new URL(import.meta.url), { workerData: { role, size, words, ring } }));
  try {
    return await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
