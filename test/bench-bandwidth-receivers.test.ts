/**
 * The bandwidth benchmark's receivers as they run, each in the real worker (bandwidth-worker.ts), fed by this thread
 * acting as the sender with faults of its own making: shared's and ringbuf's (a copy out of the ring, checked by its
 * fixed and roving stamps), and transfer's and clone's (an array handed over a MessagePort). What each must report:
 * the count, the failures and the first one, named exactly as the run's error then says it.
 */
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import { RingBuffer as RingBufJs } from 'ringbuf.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sender } from '../src/channel.js';
import { RingBuffer } from '../src/ring.js';
import type { BandwidthJob, BandwidthReport } from '../src/bench/bandwidth-job.js';
import { createRingbufStorage, END_TAG } from '../src/bench/bandwidth-rings.js';
import { END } from '../src/bench/bandwidth-ports.js';
import { makeSource, RovingStamps, stamp } from '../src/bench/payload.js';
import { VaryingSource } from '../src/bench/payload-whole.js';
import { ACK, createControl, DATA_BELL, ENDED } from '../src/bench/signal.js';

const WORKER_URL = new URL('../src/bench/bandwidth-worker.js', import.meta.url);
const BYTES = 1024;
const ELEMENTS = BYTES / 8;

/** What a sender does to a message: nothing, send the one before again, or cut its last element off. */
type Fault = 'none' | 'stale' | 'short';

/** Messages 0, 1, ... of BYTES bytes as shared's and ringbuf's sender makes them (fixed and roving stamps), faulted. */
function copiedMessages(faults: Fault[]): Float64Array[] {
  const source = makeSource(BYTES);
  const roving = new RovingStamps(ELEMENTS);
  const messages: Float64Array[] = [];
  for (let seq = 0; seq < faults.length; seq++) {
    roving.restamp(source, seq);
    stamp(source, seq);
    const fault = faults[seq]!;
    messages.push(fault === 'stale' ? messages[seq - 1]!.slice() : fault === 'short' ? source.slice(0, ELEMENTS - 1) : source.slice());
  }
  return messages;
}

/**
 * Starts the receiver of `mode` in a worker, lets `feed` send it one size of BYTES bytes, and returns what it
 * reported: the size's verification, then done. The worker is gone when this returns.
 */
async function receive(job: Partial<BandwidthJob>, feed: (control: Int32Array) => Promise<void> | void,
  transfer: TransferListItem[] = []): Promise<BandwidthReport[]> {
  const control = createControl();
  const worker = new Worker(WORKER_URL, {
    workerData: { role: 'receiver', sizes: [BYTES], window: 4, seconds: 0, warmupSeconds: 0, control, ...job },
    transferList: transfer,
  });
  const reports: BandwidthReport[] = [];
  try {
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${job.mode} receiver did not finish in 60 s`)), 60_000);
      worker.on('message', (report: BandwidthReport) => {
        reports.push(report);
        if (report.type === 'done') { clearTimeout(timer); resolve(); }
      });
      worker.once('error', (error) => { clearTimeout(timer); reject(error); });
    });
    await feed(control);
    await done;
    return reports;
  } finally {
    await worker.terminate();
  }
}

/** Resolves once the receiver has acknowledged `windows` windows (ringbuf's sender sets ENDED only after them). */
async function acknowledged(control: Int32Array, windows: number): Promise<void> {
  const until = Date.now() + 60_000;
  while (Atomics.load(control, ACK) < windows) {
    if (Date.now() > until) throw new Error(`${Atomics.load(control, ACK)} of ${windows} windows acknowledged`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const verified = (count: number, failures: number, firstFailure?: string): BandwidthReport[] => [
  { type: 'verified', bytes: BYTES, count, failures, ...(firstFailure === undefined ? {} : { firstFailure }) },
  { type: 'done' },
];

test('shared: a stale message and a short one, each named', async () => {
  const cases: [Fault[], BandwidthReport[]][] = [
    [['none', 'none', 'none', 'none'], verified(4, 0)],
    [['none', 'stale', 'none', 'stale'], verified(4, 2, "message 1: its stamps are not message 1's")],
    // Short: the receiver's buffer still holds message 1's last element, but the size is what is wrong
    [['none', 'none', 'short', 'none'], verified(4, 1, 'message 2: it is 1016 bytes, not 1024')],
  ];
  for (const [faults, expected] of cases) {
    const rb = RingBuffer.create(64 * 1024); // every message fits: the sender never waits
    const reports = await receive({ mode: 'shared', ring: rb.buffer }, () => {
      const sender = new Sender(rb);
      for (const message of copiedMessages(faults)) sender.send(message);
      sender.send(new Float64Array(0), END_TAG);
    });
    assert.equal(reports, expected, faults.join(', '));
  }
});

test('ringbuf: the first message is checked too, and a stale one is named', async () => {
  const right = copiedMessages(['none', 'none', 'none', 'none']);
  const zeros = new Float64Array(ELEMENTS); // a message never written
  for (const [messages, expected] of [
    [right, verified(4, 0)],
    [[zeros, ...right.slice(1)], verified(4, 1, "message 0: its stamps are not message 0's")],
    [copiedMessages(['none', 'none', 'stale', 'none']), verified(4, 1, "message 2: its stamps are not message 2's")],
  ] as [Float64Array[], BandwidthReport[]][]) {
    const storage = createRingbufStorage(64 * 1024);
    const reports = await receive({ mode: 'ringbuf', ring: storage }, async (control) => {
      const ringbuf = new RingBufJs(storage, Float64Array);
      for (const message of messages) ringbuf.push(message);
      Atomics.add(control, DATA_BELL, 1);
      Atomics.notify(control, DATA_BELL);
      await acknowledged(control, 1); // a window of 4
      Atomics.store(control, ENDED, 1);
      Atomics.add(control, DATA_BELL, 1);
      Atomics.notify(control, DATA_BELL);
    });
    assert.equal(reports, expected);
  }
});

test('transfer and clone: a byte changed between stamps fails transfer\'s check of every byte, not clone\'s', async () => {
  const sent = new VaryingSource(BYTES);
  const messages = (): Float64Array<ArrayBuffer>[] => [0, 1, 2, 3].map((seq) => sent.windows[sent.prepare(seq)]!.slice());
  for (const mode of ['transfer', 'clone'] as const) {
    const { port1, port2 } = new MessageChannel();
    const reports = await receive({ mode, port: port2 }, () => {
      const all = messages();
      new Uint8Array(all[2]!.buffer)[403] ^= 1; // element 50: no stamp there
      for (const message of all) port1.postMessage(message);
      port1.postMessage(END);
    }, [port2]);
    port1.close();
    assert.equal(reports, mode === 'transfer' ? verified(4, 1, 'message 2: byte 403 is not what was sent') : verified(4, 0), mode);
  }
});

test.run();
