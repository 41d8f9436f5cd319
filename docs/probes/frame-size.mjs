// Probe: what a frame's size costs a stream of 8-byte messages between two threads, with next to no work a message.
// A bare ring (no shmcomm code) carries 8-byte payloads in frames of 24 bytes (a 16-byte header, as shmcomm's ring
// writes) or of 16 (an 8-byte header: a kind word with the length in it, and the tag), by turns; both ends publish
// every 16 messages and spin; the consumer checks each frame's kind word and copies the payload out. Each line
// prints the producer's and the consumer's messages a second. Where the rate follows the bytes a message (24 / 16 =
// 1.5x), the lines that cross from core to core bound the stream, not the work.
// 2026-11-29 19:58, the Zen 3 VM, six turns, consumer's rates: 34.9 to 38.8M a second in frames of 24 bytes, 36.7 to
// 45.1M in frames of 16 (medians 35.7 and 41.8M: 1.17x), where shmcomm's shared mode streamed 5.35M: its work a message, not the
// lines, bounds it there (docs/PERFORMANCE.md, "Left for later", "What bounds the 8-byte stream on the Zen 3 VM").
// Run: node docs/probes/frame-size.mjs
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const MESSAGES = 4_000_000;
const CAPACITY = 1 << 16, MASK = CAPACITY - 1;
const HEAD = 0, TAIL = 16; // Int32 slots, a cache line apart
const BATCH = 16; // messages (or frames read) a publication
const WRAP = 0x5343dead; // the rest of the ring is skipped
const KIND = 0x53430100; // 'SC', a message: the low byte is the length in the 16-byte frame
const TURNS = 6;

if (isMainThread) {
  for (let turn = 0; turn < TURNS; turn++) {
    for (const frameBytes of [24, 16]) {
      const buffer = new SharedArrayBuffer(256 + CAPACITY);
      const workers = ['producer', 'consumer'].map((role) =>
        new Worker(new URL(import.meta.url), { workerData: { role, buffer, frameBytes } }));
      const rates = await Promise.all(workers.map((worker) =>
        new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))));
      console.log(`frames of ${frameBytes} bytes:`, rates.map((rate) => `${rate.toFixed(2)}M/s`).join(' '));
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  }
} else {
  const { role, buffer, frameBytes } = workerData;
  const words = new Int32Array(buffer, 0, 64);
  const data = new Uint32Array(buffer, 256, CAPACITY / 4);
  const started = performance.now();
  if (role === 'producer') produce(words, data, frameBytes);
  else consume(words, data, frameBytes);
  parentPort.postMessage(MESSAGES / (performance.now() - started) / 1000);
}

function produce(words, data, frameBytes) {
  let head = 0, tail = 0, unpublished = 0;
  const waitForRoom = (bytes) => {
    while (CAPACITY - ((head - tail) | 0) < bytes) tail = Atomics.load(words, TAIL);
  };
  for (let i = 0; i < MESSAGES; i++) {
    let offset = head & MASK;
    if (CAPACITY - offset < frameBytes) { // a wrap marker, and the frame at the start
      waitForRoom(CAPACITY - offset);
      data[offset >> 2] = WRAP;
      head = (head + CAPACITY - offset) | 0;
      offset = 0;
    }
    waitForRoom(frameBytes);
    const at = offset >> 2;
    if (frameBytes === 24) { // length, kind, tag, aux, payload
      data[at] = 8; data[at + 1] = KIND; data[at + 2] = 0; data[at + 3] = 0; data[at + 4] = i; data[at + 5] = 7;
    } else { // kind and length, tag, payload
      data[at] = KIND | 8; data[at + 1] = 0; data[at + 2] = i; data[at + 3] = 7;
    }
    head = (head + frameBytes) | 0;
    if (++unpublished === BATCH) {
      unpublished = 0;
      Atomics.store(words, HEAD, head);
    }
  }
  Atomics.store(words, HEAD, head);
}

function consume(words, data, frameBytes) {
  let head = 0, tail = 0, unreleased = 0;
  const payload = new Uint32Array(2);
  const waitForFrame = () => {
    while (tail === head) {
      head = Atomics.load(words, HEAD);
      if (tail === head && unreleased > 0) { // give the room back before spinning on
        unreleased = 0;
        Atomics.store(words, TAIL, tail);
      }
    }
  };
  for (let i = 0; i < MESSAGES; i++) {
    waitForFrame();
    let at = (tail & MASK) >> 2;
    if (data[at] === WRAP) {
      tail = (tail + CAPACITY - (tail & MASK)) | 0;
      at = 0;
      waitForFrame();
    }
    const kind = frameBytes === 24 ? data[at + 1] : data[at] & ~0xff;
    if (kind !== KIND) throw new Error(`message ${i}: kind 0x${kind.toString(16)}`);
    const first = frameBytes === 24 ? at + 4 : at + 2;
    payload[0] = data[first];
    payload[1] = data[first + 1];
    if (payload[0] !== i >>> 0) throw new Error(`message ${i}: got ${payload[0]}`);
    tail = (tail + frameBytes) | 0;
    if (++unreleased === BATCH) {
      unreleased = 0;
      Atomics.store(words, TAIL, tail);
    }
  }
}
