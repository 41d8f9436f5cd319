/**
 * A worker's console output, which a rank and a map worker let go before they report an end: what they printed is
 * otherwise lost when the launching thread then terminates them.
 *
 * Node trap: a worker's `process.stdout` and `process.stderr` do not write to the terminal; they post their chunks to
 * the thread that started the worker a batch at a time, and hold the rest until that thread has taken the batch.
 * `worker.terminate()` drops what they still hold: of 10,000 lines that each rank printed before it returned, 1 came
 * out, as launch terminated the workers on the last result (map's, on a failed item or the last 'done'). A stream's
 * `writableLength` counts what the starting thread has not taken yet, and a write's callback comes once it has taken
 * everything written before (docs/probes/worker-stdio.mjs).
 *
 * Taken is not printed. The launching thread's side of those streams is piped to its own `process.stdout` and
 * `process.stderr`, and pauses while they hold more than they take at once (a pipe to another process is written
 * asynchronously); what it took waits there, and what the launching thread printed next came out before it. Node 20
 * and 24 alike (docs/probes/worker-stdio.mjs); only how often it showed differed: in launch.test's run of 2 ranks
 * printing 10,000 lines, on Node 24.22.3 the pipe paused once and stayed paused, up to 250 KB a stream waiting as
 * launch resolved, while on Node 20.20.2 it paused and went on 17 times and held nothing by then.
 */
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';

/** Resolves once the starting thread has taken everything this worker wrote to its stdout and stderr. */
export async function stdioFlushed(): Promise<void> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  // Nothing held (the usual case: no second message), or a stream the program ended or destroyed, which a write
  // would only make emit an error.
  if (stream.writableLength === 0 || stream.writableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * Hands on at once what the launching thread still holds of `worker`'s output, so that it comes out before whatever
 * this thread prints next. For a worker that ended, that is all it printed once it had stdioFlushed(): Node reads a
 * worker's last stdio messages before its 'exit'.
 */
export function handOnStdio(worker: Worker): void {
  handOn(worker.stdout);
  handOn(worker.stderr);
}

function handOn(stream: Readable): void {
  // read() gives what the stream holds to its 'data' listeners, Node's pipe to process.stdout (or stderr) among them,
  // which writes it on there whether or not that has room: what it cannot send yet it queues, in order.
  while (stream.read() !== null);
}
