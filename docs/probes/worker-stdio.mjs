// Probe: what becomes of a worker's console output when the thread that started it terminates it as soon as the
// worker reports, as launch and map do. A worker's process.stdout posts its chunks to that thread a batch at a time
// and holds the rest until the batch is taken; terminate() drops what it holds. The worker prints 20,000 lines on
// stdout and on stderr, then posts 'done' (`wait`, `handon`: once its streams hold nothing, `writableLength` 0, or
// after a write's callback, which comes once everything written before it was taken). Then the starting thread
// prints END. It runs in a child process whose output a spawnSync reads, as the tests do. Without the wait, 1 line
// of 20,000 came out here, in 10 of 10 runs.
// Taken is not printed: the starting thread's side of the worker's stdout is piped to its own process.stdout, and
// pauses while that holds more than it takes at once (a pipe is written asynchronously); what it took waits there, and
// END came out before it: with `wait`, on line 2009 to 2416 of 20,001 on Node 20.20.2, 6859 to 7267 on Node 24.22.3.
// `handon` reads what it holds before printing END, which its pipe writes on to process.stdout at once: END came out
// last, on both.
// 2026-11-29, src/worker-stdio.ts: why a rank and a map worker report only once their output has gone, and why
// terminateWithin then hands on what the starting thread holds.
// Run: node docs/probes/worker-stdio.mjs [now|wait|handon]
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';

const [mode = 'now', inChild] = process.argv.slice(2);
if (!['now', 'wait', 'handon'].includes(mode)) throw new Error(`unknown mode '${mode}': now, wait or handon`);
if (inChild === undefined) {
  const child = spawnSync(process.execPath, [process.argv[1], mode, 'child'], { encoding: 'utf8', maxBuffer: 2 ** 26 });
  const lines = child.stdout.trimEnd().split('\n');
  console.log(`${process.version} ${mode}: ${lines.length} lines; END on line ${lines.indexOf('END') + 1}`);
  process.exit();
}
const source = `const { parentPort } = require('node:worker_threads');
for (let i = 0; i < 20000; i++) { console.log('line', i); console.error('line', i); }
let streams = 2;
const done = () => { if (--streams === 0) parentPort.postMessage('done'); };
for (const stream of [process.stdout, process.stderr]) {
  ${mode === 'now' ? 'done();' : "if (stream.writableLength === 0) done(); else stream.write('', done);"}
}`;

const worker = new Worker(source, { eval: true });
worker.on('message', async () => {
  await worker.terminate();
  if (mode === 'handon') for (const stream of [worker.stdout, worker.stderr]) while (stream.read() !== null);
  console.log('END');
});
