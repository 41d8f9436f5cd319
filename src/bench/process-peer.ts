/**
 * The child process of the `process` modes, forked with `serialization: 'advanced'` by a benchmark worker:
 *
 * - `bandwidth`: the receiver. It gets `{ sizes, window }`, answers 'ready', then verifies every Float64Array that
 *   arrives, acknowledges each window with 'ack', reports each size when its end marker comes (with the first
 *   message that failed, as the other receivers do), and says 'finished' after the last one.
 * - `latency`: the echo. Every message goes straight back.
 *
 * It exits when the parent disconnects or dies (the IPC channel closes), so it never outlives the benchmark.
 */
import { ACK, END, type ChildReport } from './bandwidth-ports.js';
import { messageOk, sampleIndices, windowFor } from './payload.js';

const send = (message: unknown): void => {
  process.send!(message);
};

function bandwidth(): void {
  let sizes: number[] = [];
  let window = 1;
  let index = -1;
  let bytes = 0;
  let elements = 0;
  let samples = new Int32Array(0);
  let perAck = 1;
  let seq = 0;
  let failures = 0;
  let firstFailure: string | undefined; // in the words of the other receivers (bandwidth-ports.ts)
  const startSize = (): void => {
    bytes = sizes[index]!;
    elements = bytes / 8;
    samples = sampleIndices(elements);
    perAck = windowFor(bytes, window);
    seq = 0;
    failures = 0;
    firstFailure = undefined;
  };
  process.on('message', (message: unknown) => {
    if (index < 0) {
      ({ sizes, window } = message as { sizes: number[]; window: number });
      index = 0;
      startSize();
      send({ type: 'ready' } satisfies ChildReport);
      return;
    }
    if (message === END) {
      const first = firstFailure === undefined ? {} : { firstFailure };
      send({ type: 'verified', bytes, count: seq, failures, ...first } satisfies ChildReport);
      if (++index === sizes.length) send({ type: 'finished' } satisfies ChildReport);
      else startSize();
      return;
    }
    if (!messageOk(message, seq, elements, samples)) {
      failures++;
      firstFailure ??= `message ${seq}: its length or stamps are not message ${seq}'s`;
    }
    seq++;
    if (seq % perAck === 0) send(ACK);
  });
}

function latency(): void {
  process.on('message', (message: unknown) => send(message));
  send('ready');
}

process.on('disconnect', () => process.exit(0));
if (process.argv[2] === 'latency') latency();
else bandwidth();
