// Probe: how much of a message's cost is its two copies, on one thread (no second core, no line crossing), for a
// payload of SIZE bytes: the two `set()` copies alone (into shared memory and out of it, as a ring's sender and
// receiver make below 1.5 and 2 KiB), then the bare ring (write, hold, copyHeld, release) and the channel (Sender.send,
// Receiver.recvInto), both ends corked and published every 8 messages. Best of five runs of 2 million, ns per message.
// Run after npm run build: SIZE=1440 node docs/probes/channel-copies.mjs
import { RingBuffer } from '../../dist/src/ring.js';
import { Receiver, Sender } from '../../dist/src/channel.js';

const N = 2_000_000;
const BATCH = 8;
const SIZE = Number(process.env.SIZE ?? 1440);
if (!(SIZE > 0 && SIZE % 8 === 0)) throw new Error(`SIZE must be a positive multiple of 8, got ${process.env.SIZE}`);

const source = new Float64Array(SIZE / 8);
const target = new Float64Array(SIZE / 8);
const sourceBytes = new Uint8Array(source.buffer);
const targetBytes = new Uint8Array(target.buffer);
const META = { type: 10, tag: 0, aux: 0 }; // Float64Array's codec type: what Sender.send writes
const slot = new Uint8Array(new SharedArrayBuffer(1 << 20), 4096, SIZE);

function time(label, run) {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    run();
    best = Math.min(best, ((performance.now() - started) * 1e6) / N);
  }
  console.log(`${label.padEnd(34)} ${best.toFixed(1)} ns/message`);
}

/** A corked producer and consumer on one 1 MiB ring; `publish` makes a batch visible. */
function corkedPair() {
  const producer = RingBuffer.create(1 << 20);
  const consumer = RingBuffer.attach(producer.buffer);
  producer.cork();
  consumer.cork();
  const publish = () => {
    producer.uncork();
    producer.cork();
  };
  return { producer, consumer, publish };
}

time('two set() copies only', () => {
  for (let i = 0; i < N; i++) {
    slot.set(sourceBytes, 0);
    targetBytes.set(slot, 0);
  }
});

{
  const { producer, consumer, publish } = corkedPair();
  time('ring write/hold/copyHeld/release', () => {
    for (let i = 0; i < N; i += BATCH) {
      for (let j = 0; j < BATCH; j++) producer.write(sourceBytes, META);
      publish();
      for (let j = 0; j < BATCH; j++) {
        consumer.hold();
        consumer.copyHeld(targetBytes);
        consumer.release();
      }
    }
  });
}

{
  const { producer, consumer, publish } = corkedPair();
  const sender = new Sender(producer);
  const receiver = new Receiver(consumer);
  time('Sender.send/Receiver.recvInto', () => {
    for (let i = 0; i < N; i += BATCH) {
      for (let j = 0; j < BATCH; j++) sender.send(source);
      publish();
      for (let j = 0; j < BATCH; j++) receiver.recvInto(target);
    }
  });
}
