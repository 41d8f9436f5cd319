/**
 * The message-passing modes of the bandwidth benchmark, both ends of each:
 *
 * - `clone`: `port.postMessage(source)` over a MessageChannel between the two workers: structured clone copies the
 *   array out of the sender (synchronously, inside postMessage) and into a fresh array in the receiver.
 * - `transfer`: the sender copies the source into one of `window` pooled Float64Arrays (the one copy every mode
 *   pays: the data starts in the sender's own memory, which it keeps) and transfers its ArrayBuffer; the receiver
 *   compares every byte of it with what message seq should hold (C's memcmp against a source of its own) and sends
 *   the window's buffers back with the acknowledgement, so nothing is allocated per message. The source's bytes
 *   change from message to message (payload-whole.ts): a recycled array that was not written again fails. Reading
 *   every byte so costs transfer nothing measurable from 64 KiB to 4 MiB and 35 to 42% at 16 MiB, where the receiver's
 *   copy comes from memory (docs/PERFORMANCE.md, "Method"); a JavaScript loop over the words cost it 3.5 to 4x.
 * - `transfer-alloc`: the same, but each message is a freshly allocated array (as code that cannot recycle buffers
 *   must do); the receiver drops it and the garbage collector takes it.
 * - `process`: two processes over `child_process.fork` IPC with `serialization: 'advanced'` (typed arrays go by
 *   structured clone, as in Python's multiprocessing.Pipe they go by pickle). The sender is this worker, the
 *   receiver is the child (process-peer.ts).
 *
 * Both ends keep their event loops, as users of postMessage do: the receiver handles 'message' events, the sender
 * sends a window synchronously and awaits the acknowledgement's event. Acknowledgements travel over the same
 * transport, like osu_bw's.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { report, type BandwidthJob, type SenderEndpoint } from './bandwidth-job.js';
import { makeSource, messageOk, sampleIndices, stamp, windowFor } from './payload.js';
import { firstDifference, sameBytes, VaryingSource } from './payload-whole.js';

/** Control messages; data messages are Float64Arrays. */
export const READY = 'ready';
export const END = 'end';
export const ACK = 'ack';

const NO_ELEMENTS = new Float64Array(0) as Float64Array<ArrayBuffer>;

/** The sender's side of acknowledgements that arrive as events. */
class AckWaiter {
  private arrivedCount = 0;
  private wanted = 0;
  private wake: (() => void) | undefined;

  arrived(): void {
    this.arrivedCount++;
    if (this.wake !== undefined && this.arrivedCount >= this.wanted) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }

  /** The acknowledgement of the window just sent: undefined when it is already in, else a promise of it. */
  next(): Promise<void> | undefined {
    this.wanted++;
    if (this.arrivedCount >= this.wanted) return undefined;
    return new Promise((resolve) => { this.wake = resolve; });
  }
}

export async function createPortSender(job: BandwidthJob): Promise<SenderEndpoint> {
  const port = job.port!;
  const mode = job.mode;
  const acks = new AckWaiter();
  let pool: Float64Array<ArrayBuffer>[] = [];
  let source = NO_ELEMENTS;
  let varying: VaryingSource | undefined; // transfer, transfer-alloc
  let signalReady!: () => void;
  const ready = new Promise<void>((resolve) => { signalReady = resolve; });
  port.on('message', (message: unknown) => {
    if (message === READY) return signalReady();
    if (mode === 'transfer') for (const buffer of message as Float64Array<ArrayBuffer>[]) pool.push(buffer);
    acks.arrived();
  });
  await ready;
  return {
    begin: (bytes) => {
      pool = [];
      if (mode === 'clone') {
        source = makeSource(bytes);
        return;
      }
      varying = new VaryingSource(bytes);
      if (mode === 'transfer') for (let k = 0; k < windowFor(bytes, job.window); k++) pool.push(new Float64Array(bytes / 8));
    },
    send: (seq) => {
      if (mode === 'clone') {
        stamp(source, seq);
        port.postMessage(source);
        return;
      }
      const window = varying!.windows[varying!.prepare(seq)]!; // message seq, stamped
      const message = mode === 'transfer' ? pool.pop()! : new Float64Array(window.length);
      message.set(window);
      port.postMessage(message, [message.buffer]);
    },
    awaitAck: () => acks.next(),
    end: () => port.postMessage(END),
    finish: () => port.close(),
  };
}

/**
 * The receiving end of clone, transfer and transfer-alloc: verifies every message as it arrives (clone's stamps, the
 * transfer modes' every byte); resolves after the last size's end marker.
 */
export function runPortReceiver(job: BandwidthJob): Promise<void> {
  const port = job.port!;
  const giveBack = job.mode === 'transfer';
  const everyByte = job.mode !== 'clone';
  return new Promise((resolve, reject) => {
    let index = 0;
    let bytes = job.sizes[0]!;
    let elements = bytes / 8;
    let samples = sampleIndices(elements);
    let window = windowFor(bytes, job.window);
    let seq = 0;
    let failures = 0;
    let firstFailure: string | undefined;
    let expected: VaryingSource | undefined; // the transfer modes: what each message should hold
    let back: Float64Array<ArrayBuffer>[] = [];
    port.on('message', (message: unknown) => {
      try {
        if (message === END) {
          report({ type: 'verified', bytes, count: seq, failures, ...(firstFailure === undefined ? {} : { firstFailure }) });
          if (++index === job.sizes.length) {
            port.close();
            resolve();
            return;
          }
          bytes = job.sizes[index]!;
          elements = bytes / 8;
          samples = sampleIndices(elements);
          window = windowFor(bytes, job.window);
          seq = 0;
          failures = 0;
          firstFailure = undefined;
          expected = undefined;
          return;
        }
        const why = !messageOk(message, seq, elements, samples) ? `its length or stamps are not message ${seq}'s`
          : everyByte ? differenceFrom((expected ??= new VaryingSource(bytes)), message as Float64Array, seq) : undefined;
        if (why !== undefined) {
          failures++;
          firstFailure ??= `message ${seq}: ${why}`;
        }
        seq++;
        if (giveBack) back.push(message as Float64Array<ArrayBuffer>);
        if (seq % window !== 0) return;
        if (giveBack) {
          port.postMessage(back, back.map((array) => array.buffer));
          back = [];
        } else {
          port.postMessage(ACK);
        }
      } catch (error) {
        reject(error);
      }
    });
    port.postMessage(READY);
  });
}

/**
 * What is wrong with `message` as message `seq` of `expected`'s size, every byte compared (C's memcmp), or undefined
 * when nothing is.
 */
export function differenceFrom(expected: VaryingSource, message: Float64Array, seq: number): string | undefined {
  const received = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
  const wanted = expected.bytesOf(expected.prepare(seq));
  return sameBytes(received, wanted) ? undefined : `byte ${firstDifference(received, wanted)} is not what was sent`;
}

/** The reports the child process sends back besides acknowledgements. */
export type ChildReport =
  | { type: 'ready' }
  | { type: 'verified'; bytes: number; count: number; failures: number; firstFailure?: string }
  | { type: 'finished' };

/** The sender of the process mode: forks the receiver, and forwards its verification reports to the main thread. */
export async function createProcessSender(job: BandwidthJob): Promise<SenderEndpoint> {
  const child = fork(fileURLToPath(job.childUrl!), ['bandwidth'], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (child.pid !== undefined) report({ type: 'child', pid: child.pid });
  const acks = new AckWaiter();
  let signalReady!: () => void;
  let signalFinished!: () => void;
  const ready = new Promise<void>((resolve) => { signalReady = resolve; });
  const finished = new Promise<void>((resolve) => { signalFinished = resolve; });
  let done = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message: unknown) => {
    if (message === ACK) return acks.arrived();
    const childReport = message as ChildReport;
    if (childReport.type === 'ready') signalReady();
    else if (childReport.type === 'verified') report(childReport);
    else if (childReport.type === 'finished') {
      done = true;
      signalFinished();
    }
  });
  // A child that dies or cannot start fails the worker, and so the run (as an uncaught error, seen by the main thread).
  const fail = (error: Error): void => { process.nextTick(() => { throw error; }); };
  child.on('error', fail);
  child.on('exit', (code, signal) => {
    if (child.pid !== undefined) report({ type: 'childExit', pid: child.pid });
    if (!done) fail(new Error(`the process-mode child exited (${signal ?? `code ${code}`}) before the run ended`));
  });
  child.send({ sizes: job.sizes, window: job.window });
  await ready;
  let source = NO_ELEMENTS;
  return {
    begin: (bytes) => { source = makeSource(bytes); },
    send: (seq) => {
      stamp(source, seq);
      child.send(source);
    },
    awaitAck: () => acks.next(),
    end: () => { child.send(END); },
    finish: async () => {
      await finished;
      child.disconnect();
      await exited; // so that the main thread never has to kill it
    },
  };
}
