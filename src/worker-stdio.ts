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
 */

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
