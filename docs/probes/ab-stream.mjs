// Probe: two builds of shmcomm (or more) compared on the benchmark's shared path, interleaved, in one run: a sender
// thread sends SIZE-byte Float64Arrays with `Sender.send`, corked for each window of WINDOW messages, and waits for
// the acknowledgement of each window (as `bench bandwidth` does); the receiver takes them with `Receiver.recvInto`
// into one reused array, corked, and acknowledges every window. No stamps, no checks: the channel alone.
// Each variant runs REPS times, round robin, 0.3 s each; prints the runs and the median, in messages/s.
// Build each variant into its own directory first (a git worktree with `npm run build`, or a copy of dist/), then:
//   node docs/probes/ab-stream.mjs SIZE RING WINDOW REPS label=path/to/dist label=path/to/dist ...
//   e.g. node docs/probes/ab-stream.mjs 1024 1048576 64 3 now=dist before=/tmp/before/dist
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const SECONDS = 0.3;

if (isMainThread) {
  const [size, ringBytes, window, reps] = process.argv.slice(2, 6).map(Number);
  const variants = process.argv.slice(6).map((arg) => arg.split('='));
  if (!(size >= 8 && size % 8 === 0) || !ringBytes || !(window >= 1) || !(reps >= 1) || variants.length === 0) {
    console.error('usage: node docs/probes/ab-stream.mjs SIZE RING WINDOW REPS label=path/to/dist ...');
    process.exit(2);
  }
  const runs = {};
  for (let rep = 0; rep < reps; rep++) {
    for (const [label, dir] of variants) {
      const dist = pathToFileURL(resolve(dir)).href;
      const { RingBuffer } = await import(`${dist}/src/ring.js`);
      const ring = RingBuffer.create(ringBytes);
      new Uint8Array(ring.buffer).fill(0, ring.buffer.byteLength - ringBytes); // fault the pages in now
      const control = new Int32Array(new SharedArrayBuffer(64 * 4)); // [0] started, [16] acks, [32] stop
      const workers = ['sender', 'receiver'].map((role) => new Worker(new URL(import.meta.url), {
        workerData: { role, dist, size, window, buffer: ring.buffer, control },
      }));
      const results = await Promise.all(workers.map((w) => new Promise((ok, fail) => w.once('message', ok).once('error', fail))));
      await Promise.all(workers.map((w) => w.terminate()));
      (runs[label] ??= []).push(results[1] / 1e6);
    }
  }
  for (const [label, rates] of Object.entries(runs)) {
    const median = [...rates].sort((a, b) => a - b)[rates.length >> 1];
    console.log(`${size} B, window ${window}: ${label.padEnd(10)} median ${median.toFixed(2)}M/s (${(median * size / 1e3).toFixed(2)} GB/s), runs ${rates.map((r) => r.toFixed(2)).join(' ')}`);
  }
} else {
  const { role, dist, size, window, buffer, control } = workerData;
  const { RingBuffer } = await import(`${dist}/src/ring.js`);
  const { Receiver, Sender } = await import(`${dist}/src/channel.js`);
  const ring = RingBuffer.attach(buffer);
  const ACKS = 16, STOP = 32;
  Atomics.add(control, 0, 1);
  while (Atomics.load(control, 0) < 2);
  if (role === 'sender') {
    const source = new Float64Array(size / 8).fill(1.5);
    const sender = new Sender(ring);
    ring.cork();
    try {
      for (let seq = 0, windows = 0; Atomics.load(control, STOP) === 0; ) {
        source[0] = seq++;
        sender.send(source);
        if (seq % window === 0) {
          ring.uncork();
          windows++;
          while (Atomics.load(control, ACKS) < windows && Atomics.load(control, STOP) === 0);
          ring.cork();
        }
      }
    } catch (error) {
      if (!ring.aborted) throw error; // the receiver aborts the ring when it has measured: the end, not a failure
    }
    parentPort.postMessage(0);
  } else {
    const into = new Float64Array(size / 8);
    const receiver = new Receiver(ring);
    ring.cork();
    let received = 0;
    let sum = 0;
    const started = performance.now();
    while (performance.now() - started < SECONDS * 1000) {
      for (let k = 0; k < window; k++) {
        receiver.recvInto(into);
        sum += into[0];
      }
      received += window;
      Atomics.add(control, ACKS, 1);
    }
    const rate = received / ((performance.now() - started) / 1000);
    Atomics.store(control, STOP, 1);
    ring.abort(); // wakes a sender blocked on a full ring
    parentPort.postMessage(sum < 0 ? 0 : rate);
  }
}
