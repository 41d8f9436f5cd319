// Probe: what one thread's spinning costs the other thread's copies. Thread A copies 1,440 bytes into shared memory
// again and again (as a sender of 1.4 KiB messages does) and counts; thread B meanwhile sleeps in Atomics.wait,
// spins on Atomics.load (as a waiting ring side does), or spins gently (a chain of dependent divisions between two
// loads, which issues one instruction every few cycles). When the two threads are one core's two hyperthreads,
// every instruction B issues is one A cannot: the spin is paid by the copier.
// Run: node docs/probes/spin-cost.mjs [bytes]
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const SECONDS = 0.4;
const MODES = ['sleep', 'spin', 'gentle', 'sleep', 'spin', 'gentle'];

if (isMainThread) {
  const bytes = Number(process.argv[2] ?? 1440);
  for (const mode of MODES) {
    const sab = new SharedArrayBuffer(1 << 20);
    const flags = new Int32Array(sab, 0, 64);
    const spinner = new Worker(new URL(import.meta.url), { workerData: { role: 'spinner', sab, mode } });
    const copier = new Worker(new URL(import.meta.url), { workerData: { role: 'copier', sab, bytes } });
    const rate = await new Promise((resolve, reject) => copier.once('message', resolve).once('error', reject));
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    await new Promise((resolve) => spinner.once('message', resolve));
    console.log(`B ${mode.padEnd(6)}: A copies ${bytes} B in ${(1e9 / rate).toFixed(1)} ns (${(rate / 1e6).toFixed(2)}M copies/s)`);
    await Promise.all([spinner.terminate(), copier.terminate()]);
  }
} else if (workerData.role === 'spinner') {
  const flags = new Int32Array(workerData.sab, 0, 64);
  let spins = 0;
  let x = 1.000001;
  if (workerData.mode === 'sleep') Atomics.wait(flags, 0, 0);
  else if (workerData.mode === 'spin') while (Atomics.load(flags, 0) === 0) spins++;
  else {
    while (Atomics.load(flags, 0) === 0) {
      for (let i = 0; i < 4; i++) x = 1 / (x + 1e-9); // dependent divisions: few instructions, many cycles
      spins++;
    }
  }
  parentPort.postMessage(spins + (x > 10 ? 1 : 0));
} else {
  const { sab, bytes } = workerData;
  const target = new Uint8Array(sab, 4096);
  const source = new Uint8Array(bytes).fill(7);
  const until = performance.now() + 100; // warm-up, then measure
  while (performance.now() < until) target.set(source, 64);
  let count = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 256; i++) target.set(source, 64 + ((i & 15) << 12));
    count += 256;
    now = performance.now();
  }
  parentPort.postMessage((count / (now - start)) * 1000);
}
