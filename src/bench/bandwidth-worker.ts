/**
 * One end of a bandwidth measurement, run in a worker thread: the sender (which times), the receiver (which
 * verifies), or the one-thread memcpy ceiling. The main thread starts one pair per mode, and the pair goes through
 * every size: the sender sends an end marker after each size, so both ends move on together. The sender starts a
 * size only when the main thread opens the gate for it (signal.ts): the modes take turns, size by size.
 *
 * The method is osu_bw's: warm-up windows, then windows of messages, each followed by one acknowledgement from
 * the receiver, until the time per size is spent (one window at least). The clock starts before the first measured
 * window and stops after the last acknowledgement, in the sender: MB/s = bytes * messages / seconds / 10^6.
 */
import { workerData } from 'node:worker_threads';
import { copyRange, NATIVE_COPY_BYTES } from '../copy.js';
import { isRingMode, report, type BandwidthJob, type SenderEndpoint } from './bandwidth-job.js';
import { makeSource, PREDICTS_FROM_BYTES, samplesOk, sampleIndices, shouldSkip, stamp, startsRound, windowFor } from './payload.js';
import { createRingReceiver, createRingSender } from './bandwidth-rings.js';
import { createPortSender, runPortReceiver, createProcessSender } from './bandwidth-ports.js';
import { awaitGate } from './signal.js';

/** Runs every size through `endpoint` and reports each one's measurement to the main thread. */
async function drive(job: BandwidthJob, endpoint: SenderEndpoint): Promise<void> {
  report({ type: 'ready' }); // both ends are set up (the endpoint waited for the receiver): the turns may begin
  let previousRate: number | undefined;
  for (let index = 0; index < job.sizes.length; index++) {
    const bytes = job.sizes[index]!;
    awaitGate(job.control, index);
    report({ type: 'start', bytes });
    if (startsRound(job.sizes, index)) previousRate = undefined;
    if (shouldSkip(bytes, previousRate)) {
      endpoint.end(index);
      report({ type: 'skip', bytes });
      continue;
    }
    endpoint.begin(bytes);
    const window = windowFor(bytes, job.window);
    let seq = 0;
    const oneWindow = (): void | Promise<void> => {
      for (let k = 0; k < window; k++) endpoint.send(seq++);
      return endpoint.awaitAck();
    };
    if (job.warmupSeconds > 0) {
      const warmUntil = performance.now() + warmupFor(index, job.warmupSeconds) * 1000;
      do {
        const pending = oneWindow();
        if (pending) await pending;
      } while (performance.now() < warmUntil);
    }
    const warmupMessages = seq;
    const budget = job.seconds * 1000;
    const started = performance.now();
    let elapsed: number;
    do {
      const pending = oneWindow();
      if (pending) await pending;
      elapsed = performance.now() - started;
    } while (elapsed < budget);
    const messages = seq - warmupMessages;
    const seconds = elapsed / 1000;
    endpoint.end(index);
    previousRate = bytes >= PREDICTS_FROM_BYTES ? (bytes * messages) / seconds / 1e6 : undefined;
    report({ type: 'result', bytes, messages, seconds, sent: seq });
  }
  await endpoint.finish();
}

/**
 * The first size of a mode warms up six times longer (0.3 s by default): its loops are compiled then, by V8's
 * optimizing compiler on a background thread that gets a core late while both of ours are busy. With the default
 * 0.05 s, the first size of a run measured 1.4 to 1.8x low (shared and ringbuf at 1 KiB, far state).
 */
const FIRST_WARMUP_FACTOR = 6;

function warmupFor(index: number, seconds: number): number {
  return index === 0 ? seconds * FIRST_WARMUP_FACTOR : seconds;
}

/**
 * The ceiling: one thread copies a plain ArrayBuffer into a SharedArrayBuffer of the same size, again and again for
 * the time budget (clock read once per window of copies, like the other modes' acks), with the copy the rings make
 * (`copyRange`: C's `memcpy` from 1.5 KiB, 1.3 to 4.5x faster than `set()` into shared memory from 2 KiB to 4 MiB,
 * src/copy.ts).
 */
function runMemcpy(job: BandwidthJob): void {
  report({ type: 'ready' });
  for (let index = 0; index < job.sizes.length; index++) {
    const bytes = job.sizes[index]!;
    awaitGate(job.control, index);
    report({ type: 'start', bytes });
    const source = makeSource(bytes);
    stamp(source, 0);
    const from = new Uint8Array(source.buffer);
    const to = new Uint8Array(new SharedArrayBuffer(bytes));
    const window = windowFor(bytes, job.window);
    let copies = 0;
    const warmUntil = performance.now() + warmupFor(index, job.warmupSeconds) * 1000;
    while (performance.now() < warmUntil) {
      for (let k = 0; k < window; k++) copyRange(to, 0, from, bytes, NATIVE_COPY_BYTES);
      copies += window;
    }
    const warmupCopies = copies;
    const budget = job.seconds * 1000;
    const started = performance.now();
    let elapsed: number;
    do {
      for (let k = 0; k < window; k++) copyRange(to, 0, from, bytes, NATIVE_COPY_BYTES);
      copies += window;
      elapsed = performance.now() - started;
    } while (elapsed < budget);
    const elements = bytes / 8;
    const ok = samplesOk(new Float64Array(to.buffer), 0, 0, elements, 0, elements, sampleIndices(elements));
    report({ type: 'verified', bytes, count: copies, failures: ok ? 0 : 1 });
    report({ type: 'result', bytes, messages: copies - warmupCopies, seconds: elapsed / 1000, sent: copies });
  }
}

async function main(job: BandwidthJob): Promise<void> {
  if (job.role === 'memcpy') {
    runMemcpy(job);
  } else if (job.role === 'sender') {
    const endpoint =
      job.mode === 'process' ? await createProcessSender(job)
      : isRingMode(job.mode) ? createRingSender(job)
      : await createPortSender(job);
    await drive(job, endpoint);
  } else if (isRingMode(job.mode)) {
    createRingReceiver(job)();
  } else {
    await runPortReceiver(job);
  }
  report({ type: 'done' });
}

await main(workerData as BandwidthJob);
