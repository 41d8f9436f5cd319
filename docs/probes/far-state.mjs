// Probe: what the machine's two states do to a two-copy stream. One pair of threads, for DURATION seconds (default 60), by
// turns: 200 ms streaming 128 KiB blocks round a ring of 2 MiB (16 slots), 200 ms round one of 64 MiB (512 slots),
// then 20 ms bouncing one counter, the line time of this very pair. A copies each block in from its own memory, B
// copies it out into its own (both with C's memcpy, as shmcomm does): shared mode's two copies, without its frames,
// checks or waits (both spin). One line a turn: GB/s on each ring, then the one-way line time.
// Run: node docs/probes/far-state.mjs        (DURATION=N seconds, to run longer or shorter; RINGS=16,512 the slot counts)
// A ring given as SLOTS:LEAD keeps A at most LEAD blocks ahead of B (RINGS=16,512,512:16: a 64 MiB ring whose producer
// stays within 2 MiB of its consumer), to tell what the ring's size does from what the producer's lead does.
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const BLOCK = 128 << 10;
// Slots of BLOCK bytes (2 MiB and 64 MiB), and how many of them A may fill ahead of B: all, unless given.
const RINGS = (process.env.RINGS ?? '16,512').split(',').map((ring) => {
  const [slots, lead = slots] = ring.split(':').map(Number);
  if (!(Number.isInteger(slots) && slots >= 2 && Number.isInteger(lead) && lead >= 1 && lead <= slots)) {
    throw new Error(`RINGS: '${ring}' is no SLOTS or SLOTS:LEAD with 2 <= SLOTS and 1 <= LEAD <= SLOTS`);
  }
  return { slots, lead };
});
const SECONDS = Number(process.env.DURATION ?? 60);
const STREAM_MS = 200, BOUNCE_MS = 20;
// Int32 slots, hot ones a line apart. TURN: A's turn number (STOP at the end); SLOTS: its ring; SWITCHED: B's answer.
const HEAD = 0, TAIL = 16, TURN = 32, SLOTS = 33, SWITCHED = 34, PING = 48, PONG = 64;
const STOP = -1;
const fill = Buffer.prototype.fill; // memcpy from about 1.5 KiB (src/copy.ts)

if (isMainThread) {
  const sab = new SharedArrayBuffer(BLOCK * Math.max(...RINGS.map((r) => r.slots)) + 1024);
  const workers = ['a', 'b'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, sab } }));
  const [rows] = await Promise.all(workers.map((w) => new Promise((ok, fail) => w.once('message', ok).once('error', fail))));
  const mib = (blocks) => (blocks * BLOCK) / 2 ** 20;
  const rings = RINGS.map(({ slots, lead }) => (lead === slots ? `${mib(slots)} MiB` : `${mib(slots)}/${mib(lead)}`).padStart(7)).join(' ');
  console.log(`    time  ${rings}   (GB/s)   line time`);
  for (const { at, rates, line } of rows) {
    console.log(`${at.toFixed(1).padStart(6)} s  ${rates.map((r) => r.toFixed(1).padStart(7)).join(' ')}            ${line.toFixed(3)} µs`);
  }
  await Promise.all(workers.map((w) => w.terminate()));
} else {
  const { role, sab } = workerData;
  const words = new Int32Array(sab, 0, 256);
  const ring = new Uint8Array(sab, 1024);
  const own = new Uint8Array(BLOCK).fill(role === 'a' ? 7 : 0);
  const start = performance.now();

  if (role === 'a') {
    const rows = [];
    let ping = 0, turn = 0;
    while (performance.now() - start < SECONDS * 1000) {
      const row = { at: (performance.now() - start) / 1000, rates: [], line: 0 };
      for (const { slots, lead } of RINGS) {
        // B is idle (it copied every block of the last turn). HEAD goes to 0 first, so B sees nothing to copy; then
        // the new turn, which B answers with its own count back at 0; only then TAIL, which B no longer writes.
        Atomics.store(words, HEAD, 0);
        Atomics.store(words, SLOTS, slots);
        Atomics.store(words, TURN, ++turn);
        while (Atomics.load(words, SWITCHED) !== turn);
        Atomics.store(words, TAIL, 0);
        let head = 0;
        const began = performance.now();
        while (performance.now() - began < STREAM_MS) {
          for (let k = 0; k < 8; k++) {
            while (head - Atomics.load(words, TAIL) >= lead); // the ring is full, or A is as far ahead as it may go
            const at = (head % slots) * BLOCK;
            fill.call(ring, own, at, at + BLOCK);
            Atomics.store(words, HEAD, ++head);
          }
        }
        while (Atomics.load(words, TAIL) !== head); // B has copied every block out
        row.rates.push((head * BLOCK) / (performance.now() - began) / 1e6);
      }
      const began = performance.now();
      let bounces = 0;
      while (performance.now() - began < BOUNCE_MS) {
        for (let k = 0; k < 64; k++, bounces++) {
          Atomics.store(words, PING, ++ping);
          while (Atomics.load(words, PONG) !== ping);
        }
      }
      row.line = ((performance.now() - began) * 1000) / bounces / 2;
      rows.push(row);
    }
    Atomics.store(words, TURN, STOP);
    parentPort.postMessage(rows);
  } else {
    let turn = 0, slots = 1, tail = 0;
    for (;;) {
      const now = Atomics.load(words, TURN);
      if (now === STOP) break;
      if (now !== turn) { // a new turn, on the same ring or the other
        turn = now;
        slots = Atomics.load(words, SLOTS);
        tail = 0;
        Atomics.store(words, SWITCHED, turn);
        continue;
      }
      if (Atomics.load(words, HEAD) > tail) {
        const at = (tail % slots) * BLOCK;
        fill.call(own, ring.subarray(at, at + BLOCK), 0, BLOCK);
        Atomics.store(words, TAIL, ++tail);
        continue;
      }
      const ping = Atomics.load(words, PING);
      if (ping !== Atomics.load(words, PONG)) Atomics.store(words, PONG, ping);
    }
    parentPort.postMessage(null);
  }
}
