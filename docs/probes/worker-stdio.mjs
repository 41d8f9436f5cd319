// Probe: what becomes of a worker's console output when the thread that started it terminates it as soon as the
// worker reports, as launch and map do. A worker's process.stdout posts its chunks to that thread a batch at a time
// and holds the rest until the batch is taken; terminate() drops what it holds. The worker prints 20,000 lines, then
// posts 'done' (`wait`: once its stdout holds nothing, `writableLength` 0, or after a write's callback, which comes
// once everything written before it was taken). Without the wait, 1 line of 20,000 came out here, in 10 of 10 runs.
// 2026-11-29, src/worker-stdio.ts: why a rank and a map worker report only once their output has gone.
// Run: node docs/probes/worker-stdio.mjs [now|wait] | wc -l
import { Worker } from 'node:worker_threads';

const waits = process.argv[2] === 'wait';
const source = `const { parentPort } = require('node:worker_threads');
for (let i = 0; i < 20000; i++) console.log('line', i);
const done = () => parentPort.postMessage('done');
${waits ? "if (process.stdout.writableLength === 0) done(); else process.stdout.write('', done);" : 'done();'}`;

const worker = new Worker(source, { eval: true });
worker.on('message', () => void worker.terminate());
