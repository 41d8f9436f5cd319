// Probe: two builds of shmcomm (or more) compared on the benchmark's shared path, interleaved, in one run: a sender
// thread sends SIZE-byte Float64Arrays with `Sender.send`, corked for each window of WINDOW messages, and waits for
// the acknowledgement of each window (as `bench bandwidth` does); the receiver takes them with `Receiver.recvInto`
// into one reused array, corked, and acknowledges every window. No stamps, no checks: the channel alone.
// Each variant runs REPS times, round robin, 0.3 s each; prints the runs and the median, in messages/s, and for each
// run where a window's time goes (both threads read the same clock, `performance.timeOrigin + now()`):
//   wait   from the sender seeing the last acknowledgement to the receiver holding the window's first message
//   work   from there to the receiver acknowledging the window (its 64 messages, in the default case)
//   ack    from that acknowledgement to the sender seeing it
//   and how long the sender took to send the window (the rest of its time it waits for the acknowledgement).
// CHUNK=bytes sets the Sender's `chunkBytes` (a multiple of 8, at most half the ring less a 16-byte frame header):
// messages larger than it go in chunks of that size. Unset, each build's Sender chooses (256 KiB, or a quarter of a
// ring under 1 MiB, in builds since f0ff3ac).
// Build each variant into its own directory first (a git worktree with `npm run build`, or a copy of dist/), then:
//   node docs/probes/ab-stream.mjs SIZE RING WINDOW REPS label=path/to/dist label=path/to/dist ...
//   e.g. node docs/probes/ab-stream.mjs 1024 1048576 64 3 now=dist before=/tmp/before/dist
//        CHUNK=524288 node docs/probes/ab-stream.mjs 1048576 2097152 64 3 now=dist
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const SECONDS = 0.3;
const MAX_WINDOWS = 100_000; // windows whose times are kept
const clock = () => performance.timeOrigin + performance.now();
const millions = (rate) => (rate >= 1 ? rate.toFixed(2) : rate.toPrecision(3)); // 1 MiB messages: 0.00252M, not 0.00M

if (isMainThread) {
  const [size, ringBytes, window, reps] = process.argv.slice(2, 6).map(Number);
  const variants = process.argv.slice(6).map((arg) => arg.split('='));
  const chunkBytes = process.env.CHUNK === undefined ? undefined : Number(process.env.CHUNK);
  if (!(size >= 8 && size % 8 === 0) || !ringBytes || !(window >= 1) || !(reps >= 1) || variants.length === 0 ||
      (chunkBytes !== undefined && !(chunkBytes >= 8 && chunkBytes % 8 === 0))) {
    console.error('usage: [CHUNK=bytes] node docs/probes/ab-stream.mjs SIZE RING WINDOW REPS label=path/to/dist ...');
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
        workerData: { role, dist, size, window, chunkBytes, buffer: ring.buffer, control },
      }));
      const [sent, received] = await Promise.all(workers.map((w) => new Promise((ok, fail) => w.once('message', ok).once('error', fail))));
      await Promise.all(workers.map((w) => w.terminate()));
      (runs[label] ??= []).push(received.rate / 1e6);
      console.log(`${label.padEnd(10)} ${millions(received.rate / 1e6)}M/s  ${timeline(sent.times, received.times)}`);
    }
  }
  for (const [label, rates] of Object.entries(runs)) {
    const median = [...rates].sort((a, b) => a - b)[rates.length >> 1];
    console.log(`${size} B, window ${window}: ${label.padEnd(10)} median ${millions(median)}M/s (${(median * size / 1e3).toFixed(2)} GB/s), runs ${rates.map(millions).join(' ')}`);
  }
} else {
  const { role, dist, size, window, chunkBytes, buffer, control } = workerData;
  const { RingBuffer } = await import(`${dist}/src/ring.js`);
  const { Receiver, Sender } = await import(`${dist}/src/channel.js`);
  const ring = RingBuffer.attach(buffer);
  const ACKS = 16, STOP = 32;
  Atomics.add(control, 0, 1);
  while (Atomics.load(control, 0) < 2);
  if (role === 'sender') {
    const source = new Float64Array(size / 8).fill(1.5);
    const sender = new Sender(ring, chunkBytes === undefined ? {} : { chunkBytes });
    const times = new Float64Array(3 * MAX_WINDOWS); // per window: start (the last ack seen), sent, ack seen
    let windows = 0;
    ring.cork();
    try {
      let start = clock();
      for (let seq = 0; Atomics.load(control, STOP) === 0; ) {
        source[0] = seq++;
        sender.send(source);
        if (seq % window === 0) {
          ring.uncork();
          const sent = clock();
          while (Atomics.load(control, ACKS) <= windows && Atomics.load(control, STOP) === 0);
          const acked = clock();
          if (windows < MAX_WINDOWS) times.set([start, sent, acked], 3 * windows);
          windows++;
          start = acked;
          ring.cork();
        }
      }
    } catch (error) {
      if (!ring.aborted) throw error; // the receiver aborts the ring when it has measured: the end, not a failure
    }
    parentPort.postMessage({ times: times.slice(0, 3 * Math.min(windows, MAX_WINDOWS)) });
  } else {
    const into = new Float64Array(size / 8);
    const receiver = new Receiver(ring);
    const times = new Float64Array(2 * MAX_WINDOWS); // per window: first message held, acknowledged
    let windows = 0;
    let sum = 0;
    ring.cork();
    const started = performance.now();
    while (performance.now() - started < SECONDS * 1000) {
      receiver.recvInto(into);
      const first = clock();
      sum += into[0];
      for (let k = 1; k < window; k++) {
        receiver.recvInto(into);
        sum += into[0];
      }
      const acked = clock();
      Atomics.add(control, ACKS, 1);
      if (windows < MAX_WINDOWS) times.set([first, acked], 2 * windows);
      windows++;
    }
    const rate = (windows * window) / ((performance.now() - started) / 1000);
    Atomics.store(control, STOP, 1);
    ring.abort(); // wakes a sender blocked on a full ring
    parentPort.postMessage({ rate: sum < 0 ? 0 : rate, times: times.slice(0, 2 * Math.min(windows, MAX_WINDOWS)) });
  }
}

/** The mean window, in µs, split as the header says; the first and the last window are left out. */
function timeline(sent, received) {
  const windows = Math.min(sent.length / 3, received.length / 2) - 1;
  let wait = 0, work = 0, ack = 0, send = 0;
  for (let i = 1; i < windows; i++) {
    const [start, done, acked] = sent.subarray(3 * i, 3 * i + 3);
    const [first, acknowledged] = received.subarray(2 * i, 2 * i + 2);
    wait += first - start;
    work += acknowledged - first;
    ack += acked - acknowledged;
    send += done - start;
  }
  const us = (ms) => ((ms / (windows - 1)) * 1000).toFixed(1).padStart(5);
  return `window ${us(wait + work + ack)} µs = wait ${us(wait)} + work ${us(work)} + ack ${us(ack)}; the sender sent for ${us(send)}`;
}
