/**
 * The ring modes of the bandwidth benchmark, both ends of each:
 *
 * - `shared`: shmcomm's channel. `Sender.send(source)` copies the array into the ring (in chunks of a quarter
 *   ring, 256 KiB at most, when it is large), `Receiver.recvInto(buffer)` copies it out into the receiver's own
 *   buffer, reused from message to message (MPI's `Recv` into a buffer, mpi4py's buffer mode): two copies and no
 *   allocation per message. (`recv()`, which allocates a fresh array per message, runs at the speed of fresh-page
 *   faults: 0.2-0.5 GB/s at 10-64 MiB.) The receiver checks its copy's stamps, fixed and roving (payload.ts): the
 *   sender sends one array, as a stream from one buffer does, and puts two stamps in each 256 KiB of it at new
 *   places for each message.
 * - `zerocopy`: the sender copies the source into the ring (`RingBuffer.write`, in the same chunks), and the
 *   receiver reads every byte of each chunk where it lies (`hold`, `frame.offset`, `release`) and lets it go: one
 *   copy, the unavoidable one out of the sender's private memory, and every byte pulled to the receiver's core,
 *   which copies none out. Its read is a sum of the chunk's 32-bit words in WebAssembly SIMD (word-sum.ts), which
 *   reads only its own memory: so the ring lies in a shared WebAssembly.Memory, laid out at its start by
 *   `RingBuffer.createIn`, and a payload is at address RING_HEADER_BYTES + `frame.offset` of it (where the process
 *   cannot reserve a WebAssembly.Memory, `ulimit -v` on Node 20, the ring is a plain SharedArrayBuffer and the sum a
 *   JavaScript loop, 2 to 4x slower). The sum must be the one the sender's message has, and the bytes change from
 *   message to message (payload-whole.ts): a message not moved whole, moved from another message, changed on the
 *   way, or not read, fails. A sum does not see order: each chunk's sum is compared with its place's too, and the
 *   stamps are checked. On the Zen 4 VM, near, the whole read made zerocopy 31 to 40 GB/s from 64 KiB to 4 MiB on a
 *   4 MiB ring (`--ring auto`, bandwidth.ts), 0.74x what reading only the stamps made at 64 KiB and 0.89 to 1.0x
 *   from 256 KiB to 16 MiB, and 1.0 to 1.3x shared (docs/PERFORMANCE.md, "Method"). The receiver works through
 *   offsets into the ring's buffer: no view, no allocation per message. (A producer that builds its message in the
 *   ring, `reserveOffset`/`commit`, would not even copy.)
 * - `ringbuf`: ringbuf.js (npm, MPL-2.0, used as a dependency) on its own SharedArrayBuffer, typed Float64Array so
 *   that each of its element-wise copy loops moves 8 bytes a step (its fastest use for this payload). The sender
 *   pushes the same chunks as shared (its `push` then copies with one `set` unless the chunk wraps), the receiver
 *   pops into a preallocated array of the message's size and checks it there as shared's does. ringbuf.js cannot
 *   wait, so both ends wait as shmcomm does: spin 30 µs, then park on a doorbell that the other side rings only when
 *   the sleeper flag is up (signal.ts). Its end-of-size marker is the ENDED word, since a raw element stream has no frames.
 *
 * All three acknowledge windows through the same Int32 counter (signal.ts). shared and zerocopy cork both ends of
 * their ring, as a streaming shmcomm user would (`RingBuffer.cork`): the sender for each window (it publishes every
 * 16 messages or 16 KiB, a quarter of the ring if less, and before waiting for the acknowledgement; zerocopy's every
 * 16 messages or a quarter of the ring, `corkBytes`, since its receiver gives each chunk back whole), the receiver for
 * the whole run (it gives the room it read back as often, at a wrap, and whenever it finds the ring empty; it never
 * waits for anything else). ringbuf.js has no such batching: it publishes at every push and every pop.
 */
import { RingBuffer as RingBufJs } from 'ringbuf.js';
import { defaultChunkBytes, MAX_CHUNK_BYTES, Receiver, Sender } from '../channel.js';
import { RING_HEADER_BYTES, RingBuffer } from '../ring.js';
import { report, type BandwidthJob, type SenderEndpoint } from './bandwidth-job.js';
import { copyFailure, makeSource, RovingStamps, sampleIndices, samplesOk, stamp, windowFor } from './payload.js';
import { MessageSums, stampWords, VaryingSource, windowOf } from './payload-whole.js';
import { wordSumOver, type WordSum } from './word-sum.js';
import {
  AckCounter, DATA_BELL, DATA_WAITER, ENDED, SPACE_BELL, SPACE_WAITER, awaitReady, ring, signalReady, waitUntil,
} from './signal.js';

/** The tag of the frame that ends a size (shared, zerocopy); data frames carry tag 0. */
export const END_TAG = 1;
const END_META = { tag: END_TAG } as const;
const NO_ELEMENTS = new Float64Array(0) as Float64Array<ArrayBuffer>;
const NO_BYTES = new Uint8Array(0);

/** Elements per ringbuf.js push: a quarter of its capacity, 256 KiB at most, like shmcomm's chunks. */
export function ringbufChunkElements(ringbuf: RingBufJs): number {
  return Math.max(1, Math.floor(Math.min(ringbuf.capacity() / 4, MAX_CHUNK_BYTES / 8)));
}

/** ringbuf.js storage holding `ringBytes` of Float64 elements. */
export function createRingbufStorage(ringBytes: number): SharedArrayBuffer {
  return RingBufJs.getStorageForCapacity(ringBytes / 8, Float64Array);
}

/** The pieces the sender moves a message in: views over the source, made once per size. */
function chunksOf<T extends Uint8Array | Float64Array>(whole: T, chunk: number): T[] {
  const views: T[] = [];
  for (let offset = 0; offset < whole.length; offset += chunk) views.push(whole.subarray(offset, offset + chunk) as T);
  return views;
}

/**
 * shared's and zerocopy's sender: corks the ring for each window (publishes in batches, `RingBuffer.cork`) and
 * uncorks it before waiting for the acknowledgement, and at the end of a size.
 */
function corkedSender(rb: RingBuffer, acks: AckCounter, parts: Pick<SenderEndpoint, 'begin' | 'send' | 'end'>): SenderEndpoint {
  return {
    begin: (bytes) => {
      parts.begin(bytes);
      rb.cork();
    },
    send: parts.send,
    awaitAck: () => {
      rb.uncork();
      acks.awaitNext();
      rb.cork();
    },
    end: (index) => {
      rb.uncork();
      parts.end(index);
    },
    finish: () => {},
  };
}

export function createRingSender(job: BandwidthJob): SenderEndpoint {
  const control = job.control;
  const acks = new AckCounter(control);
  awaitReady(control);
  let source = NO_ELEMENTS;

  if (job.mode === 'shared') {
    const rb = RingBuffer.attach(job.ring!);
    const sender = new Sender(rb);
    let roving = new RovingStamps(0);
    return corkedSender(rb, acks, {
      begin: (bytes) => {
        source = makeSource(bytes);
        roving = new RovingStamps(bytes / 8);
      },
      send: (seq) => {
        roving.restamp(source, seq);
        stamp(source, seq);
        sender.send(source); // the same array every time: the Sender keeps its view of the bytes
      },
      end: () => sender.send(NO_ELEMENTS, END_TAG),
    });
  }

  if (job.mode === 'zerocopy') {
    // Its receiver reads each message where it lies, and lets the whole chunk go at once: publishing less often costs
    // the sender less, so it publishes a quarter ring at a time (`corkBytes` is capped there).
    const rb = RingBuffer.attach(job.ring!, { corkBytes: job.ring!.byteLength });
    const chunkBytes = defaultChunkBytes(rb); // the chunks a Sender would make
    let varying: VaryingSource | undefined;
    let chunks: Uint8Array<ArrayBuffer>[][] = []; // the chunks of each window of the source
    return corkedSender(rb, acks, {
      begin: (bytes) => {
        varying = new VaryingSource(bytes);
        chunks = varying.windows.map((_, index) => chunksOf(varying!.bytesOf(index), chunkBytes));
      },
      send: (seq) => {
        const message = chunks[varying!.prepare(seq)]!; // message seq's window, stamped
        for (let c = 0; c < message.length; c++) rb.write(message[c]!); // the one copy, out of the sender's memory
      },
      end: () => rb.write(NO_BYTES, END_META),
    });
  }

  // ringbuf
  const ringbuf = new RingBufJs(job.ring!, Float64Array);
  const chunkElements = ringbufChunkElements(ringbuf);
  let roving = new RovingStamps(0);
  let chunks: Float64Array<ArrayBuffer>[] = [];
  let wanted = 0;
  const roomForChunk = (): boolean => ringbuf.availableWrite() >= wanted;
  return {
    begin: (bytes) => {
      source = makeSource(bytes);
      roving = new RovingStamps(bytes / 8);
      chunks = chunksOf(source, chunkElements);
    },
    send: (seq) => {
      roving.restamp(source, seq);
      stamp(source, seq);
      for (let c = 0; c < chunks.length; c++) {
        const chunk = chunks[c]!;
        wanted = chunk.length;
        if (!roomForChunk()) waitUntil(control, SPACE_BELL, SPACE_WAITER, roomForChunk);
        ringbuf.push(chunk);
        ring(control, DATA_BELL, DATA_WAITER);
      }
    },
    awaitAck: () => acks.awaitNext(),
    end: (index) => {
      Atomics.store(control, ENDED, index + 1);
      Atomics.add(control, DATA_BELL, 1);
      Atomics.notify(control, DATA_BELL);
    },
    finish: () => {},
  };
}

/** The receiving end of a ring mode: a function that receives every size, then returns. */
export function createRingReceiver(job: BandwidthJob): () => void {
  const control = job.control;
  const acks = new AckCounter(control);

  if (job.mode === 'shared') {
    const receiver = new Receiver(RingBuffer.attach(job.ring!));
    receiver.ring.cork();
    return () => {
      signalReady(control);
      for (const bytes of job.sizes) {
        const elements = bytes / 8;
        const samples = sampleIndices(elements);
        const window = windowFor(bytes, job.window);
        const roving = new RovingStamps(elements); // where message seq's roving stamps are, and what they hold
        const tally = new Tally();
        const into = new Float64Array(elements); // the receiver's own buffer, reused: MPI's Recv into a buffer
        for (;;) {
          const message = receiver.recvInto(into);
          if (message === null) throw new Error('the shared ring closed in the middle of the run');
          if (message.tag === END_TAG) break;
          const wrongSize = message.bytes !== bytes;
          tally.add(wrongSize ? `it is ${message.bytes} bytes, not ${bytes}` : copyFailure(into, tally.count, samples, roving));
          if (tally.count % window === 0) acks.acknowledge();
        }
        report({ type: 'verified', bytes, ...tally.result() });
      }
    };
  }

  if (job.mode === 'zerocopy') {
    const buffer = job.memory?.buffer ?? job.ring!; // the same buffer: the memory's, where there is one
    const rb = RingBuffer.attach(buffer);
    rb.cork();
    const reader = new InPlaceReader(rb, wordSumOver(buffer, job.memory));
    return () => {
      signalReady(control);
      for (const bytes of job.sizes) {
        const verified = reader.receiveSize(bytes, windowFor(bytes, job.window), () => acks.acknowledge());
        report({ type: 'verified', bytes, ...verified });
      }
    };
  }

  // ringbuf
  const ringbuf = new RingBufJs(job.ring!, Float64Array);
  let sizeIndex = 0;
  const dataOrEnd = (): boolean => ringbuf.availableRead() > 0 || Atomics.load(control, ENDED) > sizeIndex;
  return () => {
    signalReady(control);
    for (; sizeIndex < job.sizes.length; sizeIndex++) {
      const bytes = job.sizes[sizeIndex]!;
      const elements = bytes / 8;
      const samples = sampleIndices(elements);
      const window = windowFor(bytes, job.window);
      const message = new Float64Array(elements);
      const roving = new RovingStamps(elements);
      const tally = new Tally();
      for (;;) {
        // ENDED is stored after the last acknowledgement and before the next size's first push, so at a message
        // boundary it is looked at before any data: data seen after it belongs to the next size.
        if (Atomics.load(control, ENDED) > sizeIndex) break;
        let got = 0;
        while (got < elements) {
          const popped = ringbuf.pop(message, elements - got, got);
          if (popped === 0) {
            waitUntil(control, DATA_BELL, DATA_WAITER, dataOrEnd);
            if (got === 0 && Atomics.load(control, ENDED) > sizeIndex) break;
            continue;
          }
          got += popped;
          ring(control, SPACE_BELL, SPACE_WAITER);
        }
        if (got === 0) break; // the size ended
        tally.add(copyFailure(message, tally.count, samples, roving));
        if (tally.count % window === 0) acks.acknowledge();
      }
      report({ type: 'verified', bytes, ...tally.result() });
    }
  };
}

/** What a receiver found of one size: how many messages, how many failed, and what the first failure was. */
export interface Verified {
  count: number;
  failures: number;
  firstFailure?: string;
}

/** A receiver's tally of one size, message by message: a `Verified` in the making. */
export class Tally {
  count = 0;
  private failures = 0;
  private firstFailure: string | undefined;

  /** Counts the next message, as failed where `why` says what is wrong with it ('' where nothing is). */
  add(why: string): void {
    if (why !== '') this.fail(why);
    this.count++;
  }

  /**
   * Counts a failure without counting a message: the size ended in the middle of one, which is then not counted.
   */
  fail(why: string): void {
    this.failures++;
    this.firstFailure ??= `message ${this.count}: ${why}`;
  }

  result(): Verified {
    const { count, failures, firstFailure } = this;
    return firstFailure === undefined ? { count, failures } : { count, failures, firstFailure };
  }
}

/**
 * zerocopy's receiving end: reads every message of a size where it lies in the ring, every byte of it (`WordSum`),
 * checks its stamps and its sum (payload-whole.ts), and gives each chunk back as soon as it has read it. It works
 * through offsets into the ring's buffer: no view, no allocation per message.
 */
export class InPlaceReader {
  private readonly rb: RingBuffer;
  private readonly words: WordSum;
  /** Float64 and Int32 views over the data region: a payload at `frame.offset` is element offset / 8 of the first. */
  private readonly elementsOfRing: Float64Array;
  private readonly wordsOfRing: Int32Array;
  private readonly sums = new Map<number, MessageSums>(); // by size: each round comes back to the same sizes

  constructor(rb: RingBuffer, words: WordSum) {
    this.rb = rb;
    this.words = words;
    this.elementsOfRing = new Float64Array(rb.data.buffer, rb.data.byteOffset, rb.capacity / 8);
    this.wordsOfRing = new Int32Array(rb.data.buffer, rb.data.byteOffset, rb.capacity / 4);
  }

  /**
   * Receives messages of `bytes` bytes until the size's end marker, calling `acknowledge` after every `window` of
   * them; throws if the ring closes first.
   */
  receiveSize(bytes: number, window: number, acknowledge: () => void): Verified {
    const rb = this.rb;
    const elements = bytes / 8;
    const samples = sampleIndices(elements);
    let sums = this.sums.get(bytes);
    if (sums === undefined) this.sums.set(bytes, (sums = new MessageSums(bytes)));
    const tally = new Tally();
    for (;;) {
      let got = 0; // elements of the message so far
      let sum = 0; // of its words, less its stamps'
      let stampsOk = true;
      let fits = true;
      const shift = windowOf(tally.count); // which of the sender's windows the message is: its chunks' sums
      let chunk = 0; // the chunk's place in the message
      let misplaced = ''; // the first chunk whose sum is not its place's, for the failure's message
      while (got < elements) {
        const length = rb.hold(); // the next chunk, held in place: rb.frame says where it is
        if (length < 0) throw new Error('the zerocopy ring closed in the middle of the run');
        if (rb.frame.tag === END_TAG) {
          rb.release();
          if (got !== 0) tally.fail(`the size ended ${got * 8} bytes into it`);
          return tally.result();
        }
        const count = length >> 3;
        if ((length & 7) !== 0 || got + count > elements) {
          fits = false;
        } else {
          const at = rb.frame.offset >> 3;
          if (!samplesOk(this.elementsOfRing, at, got, count, tally.count, elements, samples)) stampsOk = false;
          const read = this.words.sum(RING_HEADER_BYTES + rb.frame.offset, length); // every byte, where it lies
          const chunkSum = (read - stampWords(this.wordsOfRing, at, got, count, samples)) | 0;
          if (misplaced === '' && chunkSum !== sums.chunkSums(chunk, got, count)[shift]) {
            misplaced = `its bytes ${got * 8} to ${(got + count) * 8} are not its own there (chunk ${chunk} out of place)`;
          }
          sum = (sum + chunkSum) | 0;
        }
        got += count;
        chunk++;
        rb.release();
      }
      const seq = tally.count;
      if (!fits) tally.add(`its chunks do not add up to ${bytes} bytes`);
      else if (!stampsOk) tally.add(`its stamps are not message ${seq}'s`);
      else if (sum !== sums.unstamped(seq)) { // the stamps are right: their words are the expected ones
        const expected = sums.expected(seq);
        tally.add(`its bytes sum to ${hex((sum + expected - sums.unstamped(seq)) | 0)}, not ${hex(expected)}`);
      } else {
        tally.add(misplaced); // '', or every byte is there, some not in its place: a sum does not see order, chunks' do
      }
      if (tally.count % window === 0) acknowledge();
    }
  }
}

/** A sum as 8 hex digits: `0x0000abcd`. */
function hex(sum: number): string {
  return `0x${(sum >>> 0).toString(16).padStart(8, '0')}`;
}
