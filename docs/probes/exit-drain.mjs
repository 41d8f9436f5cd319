// Probe: what becomes of a worker's messages that follow one the main thread cannot read, when the worker exits before
// the main thread has read them. The worker posts a list 6,000 deep (its 4 MiB stack writes it; the main thread's
// structured clone gives up near 2,000, a 'messageerror'), then 'after', then exits, while the main thread is busy.
// At the exit Node drains what is left, and its drain stops at the unreadable message: 'after' is lost. A worker that
// stays (`stay`: an interval keeps it) has its messages read as usual, 'after' included. Node reads one unreadable
// message a turn of its event loop, so with two of them the drain meets the second even where the main thread was
// free to read the first (how CI met it: map's function posted one an item).
// 2026-11-29, src/worker-entry.ts: why every rank and map worker stays until it is terminated.
// Run: node docs/probes/exit-drain.mjs [exit|stay]
import { Worker } from 'node:worker_threads';

const mode = process.argv[2] ?? 'exit';
if (mode !== 'exit' && mode !== 'stay') throw new Error(`unknown mode '${mode}': exit or stay`);
const stays = mode === 'stay';
const source = `const { parentPort } = require('node:worker_threads');
let list = null;
for (let i = 0; i < 6000; i++) list = { i, next: list };
parentPort.postMessage(list);
parentPort.postMessage('after');
${stays ? 'setInterval(() => {}, 1e6);' : ''}`;

const worker = new Worker(source, { eval: true });
const got = [];
worker.on('message', (message) => got.push(message));
worker.on('messageerror', () => got.push('(messageerror)'));
worker.on('exit', (code) => console.log(`exit ${code}: read ${got.join(', ')}`));
const busyUntil = performance.now() + 500; // the main thread reads nothing while the worker finishes
while (performance.now() < busyUntil);
setTimeout(() => {
  console.log(`after 1 s: read ${got.join(', ')}`);
  void worker.terminate();
}, 1000);
