// Probe: the least one-way latency of a parked wait here: two threads ping-pong a counter, each sleeping in
// Atomics.wait until the other's Atomics.notify wakes it (a futex wake-up and a context switch per message),
// nothing else. The median of 20 batches of 2,000 round trips.
// Run: node docs/probes/park-floor.mjs
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const BATCHES = 20, TRIPS = 2000;
if (isMainThread) {
  for (let r = 0; r < 3; r++) {
    const sab = new SharedArrayBuffer(128);
    const ws = ['a', 'b'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab } }));
    const [medians] = await Promise.all(ws.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    console.log(`parked ping-pong, one way: median ${medians.toFixed(1)} µs`);
    await Promise.all(ws.map((w) => w.terminate()));
  }
} else {
  const words = new Int32Array(workerData.sab);
  const A = 0, B = 16; // a's counter and b's, a cache line apart
  const mine = workerData.role === 'a' ? A : B, theirs = workerData.role === 'a' ? B : A;
  const times = [];
  let value = 0;
  for (let batch = 0; batch < BATCHES; batch++) {
    const started = performance.now();
    for (let i = 0; i < TRIPS; i++) {
      if (workerData.role === 'a') {
        Atomics.store(words, mine, ++value);
        Atomics.notify(words, mine);
        while (Atomics.load(words, theirs) !== value) Atomics.wait(words, theirs, value - 1);
      } else {
        ++value;
        while (Atomics.load(words, theirs) !== value) Atomics.wait(words, theirs, value - 1);
        Atomics.store(words, mine, value);
        Atomics.notify(words, mine);
      }
    }
    times.push(((performance.now() - started) * 1000) / TRIPS / 2);
  }
  times.sort((x, y) => x - y);
  parentPort.postMessage(times[times.length >> 1]);
}
