// Probe: the two ends of `bench bandwidth`'s shared mode at 8 bytes, each timed alone on one thread, with the
// benchmark's own work a message: the sender restamps and stamps its one Float64Array and sends it (Sender.send), the
// receiver copies it out (Receiver.recvInto) and checks it (copyFailure, as its Tally). Each end is its own function,
// compiled on its own as in the benchmark's two threads, where V8's inlining budget (920 bytes of bytecode on Node 20)
// is spent on the benchmark's checks first. 40 runs of 50 ms (1,280 messages an end, both ends corked, one 1 MiB
// ring); prints each end's median time a message. Two states of this VM show on one thread too: compare builds by
// turns, and flags the same way (e.g. `node --max-inlined-bytecode-size-cumulative=3000 ...`, everything inlined).
// 2026-11-29: docs/PERFORMANCE.md, Appendix C, "The producer in one piece".
//   node docs/probes/bench-ends.mjs [path/to/dist]      (default: this checkout's dist)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(process.argv[2] ?? new URL('../../dist', import.meta.url).pathname)).href;
const { RingBuffer, Sender, Receiver } = await import(`${dist}/src/index.js`);
const { RovingStamps, stamp, sampleIndices, copyFailure } = await import(`${dist}/src/bench/payload.js`);
// The benchmark's Tally, exported since 32d9748; for a build before it (0c630aa, which PERFORMANCE.md compares), the
// same class, copied here.
const Tally = (await import(`${dist}/src/bench/bandwidth-rings.js`)).Tally ?? class {
  count = 0;
  failures = 0;
  firstFailure = undefined;
  add(why) {
    if (why !== '') this.fail(why);
    this.count++;
  }
  fail(why) {
    this.failures++;
    this.firstFailure ??= `message ${this.count}: ${why}`;
  }
  result() {
    const { count, failures, firstFailure } = this;
    return firstFailure === undefined ? { count, failures } : { count, failures, firstFailure };
  }
};

const MESSAGES = 1280; // an end's turn: 20 windows of 64, within the ring
const ring = RingBuffer.create(1 << 20);
const sender = new Sender(ring), receiver = new Receiver(ring);
const source = new Float64Array(1), into = new Float64Array(1);
const sent = new RovingStamps(1), expected = new RovingStamps(1), samples = sampleIndices(1);
const tally = new Tally();
let seq = 0;

function send(seq) { // the benchmark's shared sender, message by message (bandwidth-rings.ts)
  sent.restamp(source, seq);
  stamp(source, seq);
  sender.send(source);
}

function produce() {
  ring.cork();
  for (let k = 0; k < MESSAGES; k++) send(seq++);
  ring.uncork();
}

function consume() { // the benchmark's shared receiver, message by message
  ring.cork();
  for (let k = 0; k < MESSAGES; k++) {
    const message = receiver.recvInto(into);
    tally.add(message.bytes !== 8 ? `it is ${message.bytes} bytes, not 8` : copyFailure(into, tally.count, samples, expected));
  }
  ring.uncork();
}

const producer = [], consumer = [];
for (let run = 0; run < 40; run++) {
  let produced = 0, consumed = 0, messages = 0;
  const started = performance.now();
  while (performance.now() - started < 50) {
    const a = performance.now();
    produce();
    const b = performance.now();
    consume();
    const c = performance.now();
    produced += b - a;
    consumed += c - b;
    messages += MESSAGES;
  }
  producer.push((produced * 1e6) / messages);
  consumer.push((consumed * 1e6) / messages);
}
const { failures, firstFailure } = tally.result();
if (failures > 0) throw new Error(`${failures} messages failed their checks, the first: ${firstFailure}`);
const median = (values) => [...values].sort((x, y) => x - y)[values.length >> 1].toFixed(1);
console.log(`sender ${median(producer)} ns a message, receiver ${median(consumer)} ns (${tally.count} messages checked)`);
