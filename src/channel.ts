/**
 * A channel: values of any size over one ring. The codec turns a value into a type code and bytes; a message of up
 * to one chunk travels as one frame, a larger one is streamed in chunks that the receiver assembles.
 *
 * A chunk is 256 KiB, or a quarter of a ring smaller than 1 MiB, so that at least two are in flight: while the
 * receiver copies one chunk out, the sender copies the next one in, on two cores the two copies overlap, and a
 * message larger than the ring moves at the speed of one copy. Chunks stay that small on larger rings too: when the
 * two threads share no cache, frames of 1 MiB and more stream at a third of the speed (MAX_CHUNK_BYTES). Only a
 * ring that parks at once makes quarter-ring chunks whatever its size (defaultChunkBytes says why).
 *
 *   one frame:  type = codec type               aux = 0
 *   chunked:    type = codec type | CHUNKED      aux = total bytes      (first chunk)
 *               type = CONTINUATION              aux = 0                (every later chunk, in order)
 *
 * A `timeoutMs` is the whole call's, however many chunks it waits for; a TimeoutError names the call (`send`,
 * `recv`, ...), not the ring's step that gave up.
 */
import { copyRange, NATIVE_COPY_OUT_BYTES } from './copy.js';
import {
  allocate, decodeBytes, decodeValueAt, elementSize, encodeAs, encodedType, isBinaryType, isFixedLength, isKnownType,
  isTypedArrayType, isValueType, SLICED_BYTES, sliceOf, TYPE, typeName, ValueBytes, viewAs, type Encoded, type KindView,
} from './codec.js';
import { AbortedError, ClosedError, CorruptFrameError, TimeoutError } from './errors.js';
import { aBytes, byteLengthOf, describe, refuseUnknownOptions } from './describe.js';
import {
  FRAME_HEADER_BYTES, metaRefusal, type BlockingOptions, type Frame, type RingBuffer,
} from './ring.js';
import { checkTimeout, deadlineFor } from './wait.js';

const CHUNKED = 0x80;
const CONTINUATION = 0x7f;
const NO_BYTES = new Uint8Array(0);
/** What recvInto() says it got instead of bytes, for the codes with values of their own (else a serialized value). */
const NOT_BINARY: Readonly<Record<number, string>> = {
  [TYPE.number]: 'a number', [TYPE.constant]: 'undefined, null or a boolean', [TYPE.string]: 'a string',
  [TYPE.bigint]: 'a bigint',
};

/**
 * The largest message a channel carries: 2 GiB, a bound of our choosing, inside what a frame's `aux` (a u32) can state
 * and what Node 20's buffers hold (4 GiB each). A receiver takes a first chunk that claims more for a corrupt frame.
 */
export const MAX_CHANNEL_MESSAGE = 2 ** 31;

/** recvInto's refusal of a message that is not binary (`got`: 'a number', 'a serialized value'); Comm's too. */
export function notBinaryError(got: string): TypeError {
  return new TypeError(`recvInto() needs a typed array, DataView or ArrayBuffer message, got ${got}: use recv()`);
}

/** Receiver.recvInto's refusal of a `target` that is no view (Comm's own names its `source` and `tag`). */
function notATargetError(target: unknown): TypeError {
  const hint = target instanceof ArrayBuffer || target instanceof SharedArrayBuffer ? ' (pass a view of it: new Uint8Array(buffer))'
    : typeof target === 'object' && target !== null && 'timeoutMs' in target ? ' (the target comes first: recvInto(target, { timeoutMs }))'
    : '';
  return new TypeError(`Expected \`target\` to be a typed array or DataView, got ${describe(target)}${hint}`);
}

/** A receive's refusal while a view from recvView() is held. */
function holdingError(op: string): Error {
  return new Error(`${op}() while holding a view: release() it first`);
}

/** recvInto's refusal of a message of `bytes` bytes for a target of `room`; Comm's too. */
export function doesNotFitError(bytes: number, room: number): RangeError {
  return new RangeError(`recvInto(): ${aBytes(bytes)} message does not fit in ${aBytes(room)} target`);
}

/**
 * 256 KiB: the largest chunk a Sender makes unless told otherwise (or its ring parks). Bigger frames do not pay: on the
 * first VM of docs/PERFORMANCE.md (2 cores, 2026-11-26), when its two threads shared no cache, the shared channel on a
 * 16 MiB ring streamed 1 to 16 MiB messages at 6 to 13 GB/s in frames of up to 4 MiB (one frame each up to half the
 * ring, then quarter-ring chunks) and at 19 to 27 GB/s in chunks of 128 KiB to 512 KiB (`shmcomm bench bandwidth
 * --modes shared,memcpy --min 256KiB --max 16MiB --points 4 --ring 16MiB`, docs/PERFORMANCE.md). On the benchmark's
 * rings it is a sixteenth of zerocopy's 4 MiB and an eighth of shared's 2 MiB.
 */
export const MAX_CHUNK_BYTES = 256 * 1024;

/**
 * The chunk a Sender on `ring` makes unless told otherwise: a quarter of the ring, at most MAX_CHUNK_BYTES unless the
 * ring parks at once (`strategy: 'park'`, what launch picks when ranks outnumber cores). A receiver that parks is
 * woken once per chunk it catches up with, a system call each, and there fewer, larger chunks pay: 4 ranks on the 2
 * cores, 8 MiB bcast 1.9 ms in quarter-ring chunks against 2.3 ms in 256 KiB ones (`shmcomm bench collectives
 * --ranks 4 --sizes 8MiB --ops bcast,allreduce --transports shared`; the first VM of docs/PERFORMANCE.md, 2026-11-26,
 * far state: "Chunks of 256 KiB on large rings"). The sender's own strategy stands for the receiver's: the ranks all
 * wait alike.
 */
export function defaultChunkBytes(ring: RingBuffer): number {
  return ring.strategy === 'park' ? ring.capacity / 4 : Math.min(ring.capacity / 4, MAX_CHUNK_BYTES);
}

/**
 * `chunkBytes` for a Sender on a ring of `ringBytes` data bytes, checked: a multiple of 8 (payloads stay aligned)
 * from 8 to the ring's maxMessage. launch checks its option with it before any ring exists.
 */
export function checkChunkBytes(chunkBytes: number, ringBytes: number): number {
  const maxMessage = ringBytes / 2 - FRAME_HEADER_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes % 8 !== 0 || chunkBytes < 8 || chunkBytes > maxMessage) {
    throw new RangeError(`Expected \`chunkBytes\` to be a multiple of 8 from 8 to ${maxMessage} ` +
      `(half ${aBytes(ringBytes)} ring, less a frame header), got ${describe(chunkBytes)}`);
  }
  return chunkBytes;
}

/**
 * A Sender or Receiver is made on a RingBuffer, not on its SharedArrayBuffer (which it failed on at the first call,
 * `ring.write is not a function`, with a chunkBytes of NaN). By its methods, not instanceof: a ring of another copy of
 * this package works, if it is of this version (a Sender writes through `writeInternal`, which older ones lack).
 */
function checkRing(ring: unknown, what: 'Sender' | 'Receiver'): void {
  const methods = ring as Record<string, unknown> | null | undefined;
  if (typeof methods?.[what === 'Sender' ? 'writeInternal' : 'hold'] === 'function') return;
  if (typeof methods?.write === 'function') { // a Sender's, of another version
    throw new TypeError(`Expected \`ring\` to be a RingBuffer of this version of shmcomm, got ${describe(ring)} without ` +
      "writeInternal (another version's: make the ring and the Sender with one copy of the package)");
  }
  const hint = ring instanceof SharedArrayBuffer ? ' (pass the RingBuffer, not its buffer; in another thread, RingBuffer.attach(buffer) opens it)' : '';
  throw new TypeError(`Expected \`ring\` to be a RingBuffer, got ${describe(ring)}${hint}`);
}

/** A message as it arrived (`Receiver.recv`, `recvView`): the value and the tag it was sent with. */
export interface Received<T = unknown> {
  /** The value: an owned copy from `recv`; from `recvView`, a view lent until `release()` where it could be one. */
  value: T;
  /** The tag it was sent with (`Sender.send`'s `tag`). */
  tag: number;
}

/** What `recvInto` copied: the message's length in bytes and its tag. */
export interface Copied {
  /** How many bytes of the target the message filled, from its start. */
  bytes: number;
  /** The tag it was sent with. */
  tag: number;
}

/** What `peekMeta` sees of the next message: its codec type, its tag and its length in bytes. */
export interface MessageMeta {
  /** The codec's type code (`TYPE`): `TYPE.float64` for a Float64Array, `TYPE.serialized` for a serialized value, ... */
  type: number;
  /** The tag it was sent with. */
  tag: number;
  /** The encoded message's length in bytes, all chunks together (for a typed array, its `byteLength`). */
  bytes: number;
}

/**
 * The sending half of a channel: owns the producer side of one ring, and sends values of any size over it (one frame up
 * to `chunkBytes`, larger ones in chunks). Call it from the producer's thread only, and write to its ring through it
 * alone. Every blocking call takes `{ timeoutMs }` last, and throws `AbortedError` once the ring is aborted where it
 * would wait, or before a message's next chunk.
 */
export class Sender {
  /** The ring whose producer side this Sender is: read its properties, but write to it only through the Sender. */
  readonly ring: RingBuffer;
  /**
   * The largest frame's payload: a message of up to this many bytes travels as one frame, a larger one in chunks of
   * this size. 256 KiB unless set (a quarter of a smaller ring, or of any ring that parks: `defaultChunkBytes`); a
   * `chunkBytes` option must be a multiple of 8 (payloads stay aligned) from 8 to `ring.maxMessage`.
   */
  readonly chunkBytes: number;

  private readonly onMessage: (() => void) | undefined;
  // The last binary value sent and its encoding (a view of its bytes): a sender that sends one buffer again and
  // again, the common case of a stream, then makes no view per message.
  private lastValue: unknown = undefined;
  private lastEncoded: Encoded | undefined;
  private readonly valueBytes = new ValueBytes(); // where send writes a number, a constant, a short string, a bigint
  private readonly scratch: Encoded = { type: 0, bytes: NO_BYTES }; // encode()'s answer for such a value, reused
  // The rest of a chunked message whose send stopped between two chunks (a timeout, a callback that threw), copied
  // when it did; flush() sends it (and close() flushes first), so the receiver, which has the first chunks already,
  // gets it whole, before any other.
  private unsent: { rest: Uint8Array; total: number; tag: number } | undefined;
  // In send, flush or close: a callback that runs meanwhile (onMessage, the ring's onWait) and sends on this Sender
  // would put its frames between ours, and its value in the scratch memory ours is in. It is refused.
  private busy = false;

  /**
   * `onMessage` runs once the first frame of each message is published: the ranks layer rings the receiver's
   * doorbell there (after the first frame, not the last, so a receiver asleep on its doorbell starts draining a
   * message larger than the ring while it is still being sent). A Sender with `onMessage` must not have its ring
   * corked: the doorbell would ring before the message is visible. `onMessage`, and the ring's `onWait`, may send on
   * other Senders, but not on this one: they run in the middle of its send, and `send`, `flush` and `close` refuse to
   * run there.
   * @throws `TypeError` for a `ring` that is no RingBuffer (its `buffer`, say) or an unknown option; `RangeError` for a
   *   `chunkBytes` that is not a multiple of 8 from 8 to `ring.maxMessage`.
   */
  constructor(ring: RingBuffer, options: {
    /** Called after the first frame of each message is published (the ranks ring a doorbell there). Default: none. */
    onMessage?: (() => void) | undefined;
    /**
     * The largest frame's payload, in bytes: a multiple of 8 from 8 to `ring.maxMessage`. Default
     * `defaultChunkBytes(ring)`: 256 KiB, or a quarter of a ring under 1 MiB or of one that parks.
     */
    chunkBytes?: number | undefined;
  } = {}) {
    checkRing(ring, 'Sender');
    options ??= {}; // null: none, as for the ring's
    refuseUnknownOptions('Sender', options, ['onMessage', 'chunkBytes']);
    this.ring = ring;
    this.chunkBytes = options.chunkBytes === undefined ? defaultChunkBytes(ring) : checkChunkBytes(options.chunkBytes, ring.capacity);
    this.onMessage = options.onMessage;
  }

  /**
   * Sends `value` (anything structured clone accepts) with `tag`; blocks while the ring is full. A `timeoutMs` that
   * expires before the message's first frame is out sends nothing (`pendingBytes` stays 0: send it again, or not).
   * One that expires between two chunks of a larger message has sent part of it: the rest is kept, a copy of
   * `pendingBytes` bytes, for `flush()` (or `close()`) to send, and until then `send` refuses to start another message.
   * So is the rest of a message that any other error stopped between two chunks (`onMessage`, or the ring's `onWait`,
   * that threw): the receiver has its first chunks. Producer side.
   * @throws `DataCloneError` for a value structured clone refuses; `RangeError` for a `tag` that is not a signed 32-bit
   *   integer or a message over 2 GiB; `TypeError` for options where the tag goes; `Error` while `pendingBytes` wait for
   *   `flush()`, or from this Sender's own callbacks; `TimeoutError`; `AbortedError`; `ClosedError` after `close()`.
   */
  send(value: unknown, tag = 0, options?: BlockingOptions): void {
    this.refuseWhileBusy('send'); // before a value goes into the scratch memory, which the send under way may be using
    // The same value as last time: its encoding is the same view of its bytes, unless its buffer was detached since
    // (the view then reads 0 bytes, and encode() refuses it). The view's `length`, not a `byteLength`: on Node 20 a
    // typed array's `byteLength` is a call, its `length` is inlined (a loop step that reads it: 7.7 ns against 4.2, the
    // first VM of docs/PERFORMANCE.md, 2026-11-26: "Lengths with `.length`, not `.byteLength`").
    const cached = this.lastEncoded;
    const encoded = value === this.lastValue && cached !== undefined && cached.bytes.length !== 0 ? cached : this.encode(value);
    this.sendEncoded(encoded.type, encoded.bytes, tag, options);
  }

  /**
   * send's encoding of a value that is not the last one sent. Only binary values over fixed-length buffers are kept
   * for next time: an object may have changed, a resizable buffer may have changed length. The cache keeps the last
   * value sent alive, if binary, until another value is sent.
   */
  private encode(value: unknown): Encoded {
    const type = encodedType(value);
    if (isValueType(type)) { // a number, a constant, a short string, a bigint: written from this Sender's scratch
      this.lastValue = this.lastEncoded = undefined; // another value: the cache lets go of the last array
      const scratch = this.scratch;
      scratch.type = type;
      scratch.bytes = this.valueBytes.of(type, value);
      return scratch;
    }
    const encoded = encodeAs(type, value);
    const keep = isBinaryType(encoded.type) && isFixedLength(encoded.bytes.buffer);
    this.lastValue = keep ? value : undefined;
    this.lastEncoded = keep ? encoded : undefined;
    return encoded;
  }

  /**
   * Writes an encoded message, busy meanwhile. Encoding, before, runs no callback of ours, only a value's own getters,
   * which may send on this Sender as any code may: such a send ends before this one begins to write.
   */
  private sendEncoded(type: number, bytes: Uint8Array, tag: number, options: BlockingOptions | undefined): void {
    this.busy = true;
    try {
      this.sendBytes(type, bytes, tag, options);
    } catch (error) {
      throw sendError(error, tag, options);
    } finally {
      this.busy = false;
    }
  }

  /** Sends already encoded bytes under a codec type code: one frame, or chunks when they are more than a chunk. */
  private sendBytes(type: number, bytes: Uint8Array, tag: number, options: BlockingOptions | undefined): void {
    if (this.unsent !== undefined) throw this.unsentError();
    if (bytes.length > this.chunkBytes) {
      this.sendChunked(type, bytes, tag, options);
      return;
    }
    if (typeof tag !== 'number' || (tag | 0) !== tag) throw metaRefusal({ type, tag }, 'write'); // the ring's error for it
    this.ring.writeInternal(bytes, type, tag, 0, options); // the header is ours: the ring need not check it again
    this.onMessage?.();
  }

  private sendChunked(type: number, bytes: Uint8Array, tag: number, options: BlockingOptions | undefined): void {
    if (bytes.length > MAX_CHANNEL_MESSAGE) {
      throw new RangeError(`Expected a message of at most ${MAX_CHANNEL_MESSAGE} bytes, got ${bytes.length}`);
    }
    const ring = this.ring;
    const chunk = this.chunkBytes;
    const deadline = deadlineFor(options);
    ring.write(bytes.subarray(0, chunk), { type: type | CHUNKED, tag, aux: bytes.length }, options);
    try {
      this.onMessage?.();
    } catch (error) {
      // The first chunk is out: keep the rest, unless the ring takes nothing more (aborted meanwhile)
      if (!ring.aborted) this.unsent = { rest: bytes.slice(chunk), total: bytes.length, tag };
      throw error;
    }
    this.sendContinuations(bytes, chunk, bytes.length, tag, deadline);
  }

  private unsentError(): Error {
    return new Error(`send() while ${this.unsent!.rest.length} bytes of a message that was cut short are still to go: flush() them first`);
  }

  /** Refuses `op` (send, flush, close) from a callback that runs in the middle of this Sender's own send (`busy`). */
  private refuseWhileBusy(op: string): void {
    if (this.busy) {
      throw new Error(`${op}() on a Sender in the middle of its own send (from its onMessage or its ring's onWait): only other Senders may send there`);
    }
  }

  /** Marks the Sender busy in flush or close, after refusing a call from inside its own send. */
  private enter(op: string): void {
    this.refuseWhileBusy(op);
    this.busy = true;
  }

  /** Producer side: bytes of a message cut short (a timeout, an error) that `flush` has still to send; 0 when none. */
  get pendingBytes(): number {
    return this.unsent?.rest.length ?? 0;
  }

  /**
   * Producer side: sends the rest of a message that was cut short, if any (a new timeout or error keeps what is left
   * again). Blocks while the ring is full.
   * @throws `TimeoutError`; `AbortedError`; `Error` from this Sender's own callbacks.
   */
  flush(options?: BlockingOptions): void {
    this.enter('flush');
    try {
      this.sendRest(deadlineFor(options));
    } catch (error) {
      throw asCallTimeout(error, 'flush', options);
    } finally {
      this.busy = false;
    }
  }

  private sendRest(deadline: number): void {
    if (this.unsent === undefined) return;
    const { rest, total, tag } = this.unsent;
    this.sendContinuations(rest, 0, total, tag, deadline);
  }

  /**
   * Writes the chunks of `bytes` from byte `sent` on, the end of a `total`-byte message. Any error keeps what is left
   * in `unsent`; a timeout's TimeoutError says how much went.
   */
  private sendContinuations(bytes: Uint8Array, sent: number, total: number, tag: number, deadline: number): void {
    const chunk = this.chunkBytes;
    try {
      for (; sent < bytes.length; sent += chunk) {
        // A write that finds room does not look for an abort: the rest of a message would go where nobody reads
        if (this.ring.aborted) throw new AbortedError('write');
        this.ring.write(bytes.subarray(sent, sent + chunk), { type: CONTINUATION, tag }, optionsUntil(deadline));
      }
      this.unsent = undefined;
    } catch (error) {
      // An aborted (or closed) ring is read no more, for good: there is no rest worth keeping for flush().
      if (error instanceof AbortedError || error instanceof ClosedError || this.ring.aborted) {
        this.unsent = undefined;
        throw error;
      }
      // Copied: the caller may reuse its buffer once send() has returned, even by throwing.
      const rest = bytes.slice(sent);
      this.unsent = { rest, total, tag };
      if (!(error instanceof TimeoutError)) throw error;
      throw new TimeoutError(error.op, error.ms, `${total - rest.length} of the message's ${total} bytes are sent; flush() sends the rest`);
    }
  }

  /**
   * Producer side: ends the stream, after the rest of a message that was cut short: the receiver drains what was sent,
   * then `recv` returns null. Blocks while the ring is full.
   * @throws `ClosedError` when closed already; `TimeoutError`; `AbortedError`; `Error` from this Sender's callbacks.
   */
  close(options?: BlockingOptions): void {
    this.enter('close');
    try {
      const deadline = deadlineFor(options);
      this.sendRest(deadline);
      this.ring.close(optionsUntil(deadline));
    } catch (error) {
      throw asCallTimeout(error, 'close', options);
    } finally {
      this.busy = false;
    }
  }
}

/**
 * The receiving half of a channel: owns the consumer side of one ring, and takes what a `Sender` sent, assembling
 * chunked messages. Call it from the consumer's thread only, and read its ring through it alone. Every blocking call
 * takes `{ timeoutMs }` last; all throw `AbortedError` once the ring is aborted with nothing left to read, and
 * `CorruptFrameError` for frames no Sender writes.
 */
export class Receiver {
  /** The ring whose consumer side this Receiver is: read its properties, but read from it only through the Receiver. */
  readonly ring: RingBuffer;
  // The data region viewed as each kind that recv copies with slice() (isTypedArrayType), by its code: made as the
  // first short message of the kind arrives.
  private readonly kindViews: (KindView | undefined)[] = [];
  private holdingView = false; // a view from recvView() is lent out
  private viewInRing = false; // ... and it lies in the ring (else in `assembly`)
  // Where recvView() assembles a typed array that travelled in chunks: kept and reused, grown to the largest such
  // message (at most ring.maxMessage bytes), so that lending it allocates nothing of the message's size.
  private assembly = NO_BYTES;
  // A chunked message whose receive timed out between two chunks: what arrived, in a buffer of its own. The next
  // receive of any kind finishes it and returns it, before any later message.
  private unfinished: Unfinished | undefined;
  // recvInto's answer: one object, filled again by every call, so that a message of one frame leaves no garbage (a
  // fresh one each was about 40 bytes a message, a scavenge every 2 MB in the receiving worker).
  private readonly received: Copied = { bytes: 0, tag: 0 };
  // The bytes of the last target of recvInto, kept: a receiver that reuses its buffer makes no view per message. As
  // in Sender.send, only over a fixed-length buffer, whose view can only shrink to 0 bytes (detached), never grow.
  // The last target stays alive for as long as the Receiver.
  private lastTarget: ArrayBufferView | undefined;
  private lastBytes: Uint8Array | undefined;

  /** Takes over the consumer side of `ring` (one made by `RingBuffer.create` or `attach`, in this thread). */
  constructor(ring: RingBuffer) {
    checkRing(ring, 'Receiver');
    this.ring = ring;
  }

  /**
   * The next message as an owned value (a fresh copy), or null once the sender closed the channel. Every receive
   * takes `{ timeoutMs }`; one that expires between two chunks of a large message keeps what arrived, and the next
   * receive finishes that message first. Consumer side; blocks while the ring is empty.
   * @throws `Error` while a view from `recvView` is held; `TimeoutError`; `AbortedError`; `CorruptFrameError`.
   */
  recv<T = unknown>(options?: BlockingOptions): Received<T> | null {
    this.refuseWhileHolding('recv');
    try {
      const deadline = deadlineFor(options);
      if (this.unfinished !== undefined) return this.finishUnfinished<T>(deadline);
      const ring = this.ring;
      if (ring.hold(options) < 0) return null;
      // A short message is read where it lies, with no view of it. The first chunk of a longer one has the CHUNKED
      // bit in its type, which neither isValueType nor isTypedArrayType takes.
      const { type, tag, offset, length } = ring.frame;
      if (type === TYPE.number && length === 8) { // one load where it lies (a payload starts at a multiple of 8)
        const numbers = (this.kindViews[TYPE.float64] ??= viewAs(TYPE.float64, ring.data)) as Float64Array;
        return this.releaseAndAnswer(numbers[offset >> 3]!, tag);
      }
      if (isValueType(type)) return this.releaseAndAnswer(decodeValueAt(type, ring.data, offset, length), tag);
      if (isTypedArrayType(type) && length <= SLICED_BYTES) {
        const copy = sliceOf(type, (this.kindViews[type] ??= viewAs(type, ring.data)), offset, length);
        if (copy !== undefined) return this.releaseAndAnswer(copy, tag); // else a species of the program's: take()
      }
      return this.take<T>(ring.peek()!, deadline); // held already: no wait
    } catch (error) {
      throw asCallTimeout(error, 'recv', options);
    }
  }

  /**
   * The next message without copying where possible: a typed array (or DataView) that travelled as one frame comes
   * back as a view into the ring, valid until `release()`. One that travelled in chunks, of up to `ring.maxMessage`
   * bytes, is copied once into a buffer this Receiver keeps for the purpose and comes back as a view of it, valid
   * until `release()` too (no allocation of its size after the first). Anything else comes back as an owned value
   * (release() is then a no-op). Consumer side; blocks while the ring is empty; throws as `recv` does.
   */
  recvView<T = unknown>(options?: BlockingOptions): Received<T> | null {
    this.refuseWhileHolding('recvView');
    try {
      return this.viewNext<T>(options);
    } catch (error) {
      throw asCallTimeout(error, 'recvView', options);
    }
  }

  private viewNext<T>(options: BlockingOptions | undefined): Received<T> | null {
    const deadline = deadlineFor(options);
    if (this.unfinished !== undefined) return this.finishUnfinished<T>(deadline); // owned: release() is a no-op
    const ring = this.ring;
    const view = ring.peek(options);
    if (view === null) return null;
    const { type, tag } = ring.frame;
    const codecType = codecTypeOf(ring.frame);
    const chunked = (type & CHUNKED) !== 0;
    if (!isBinaryType(codecType) || codecType === TYPE.bytes || (chunked && ring.frame.aux > ring.maxMessage)) {
      return this.take<T>(view, deadline);
    }
    // Decoded before the view is marked lent: a header that does not decode (a corrupt length) throws and lends
    // nothing.
    if (!chunked) {
      const value = decodeBytes(codecType, view, true) as T;
      this.lend(true);
      return { value, tag };
    }
    const total = messageBytes(ring.frame);
    if (this.assembly.length < total) this.assembly = new Uint8Array(total);
    this.copyChunks(view, total, this.assembly, deadline); // releases each chunk
    const value = decodeBytes(codecType, this.assembly.subarray(0, total), true) as T;
    this.lend(false);
    return { value, tag };
  }

  /** Marks a view from recvView() as lent out, lying in the ring or in `assembly`. */
  private lend(inRing: boolean): void {
    this.holdingView = true;
    this.viewInRing = inRing;
  }

  /**
   * The next message copied into `target`, with no allocation: MPI's `Recv` into a buffer (mpi4py's buffer mode).
   * Returns how many bytes arrived and the tag, or null once the sender closed the channel; the answer is one object
   * per Receiver, filled again by the next call (read it, or copy its two fields, before then). The message must be
   * binary (a typed array, DataView or ArrayBuffer) and fit in `target`; otherwise this throws and leaves the
   * message where it is, for `recv()`. Consumer side; blocks while the ring is empty.
   * @throws `TypeError` for a `target` that is no view (before any wait), or a message that is not binary; `RangeError`
   *   for one larger than `target`; else as `recv`.
   */
  recvInto(target: ArrayBufferView, options?: BlockingOptions): Readonly<Copied> | null {
    // Before any wait (options passed where the target goes waited), in one test: the call per message stays small
    // enough to be inlined (docs/PERFORMANCE.md, "Errors out of line")
    if (this.holdingView || !ArrayBuffer.isView(target)) throw this.recvIntoRefusal(target);
    try {
      return this.copyNext(target, options);
    } catch (error) {
      throw asCallTimeout(error, 'recvInto', options);
    }
  }

  private copyNext(target: ArrayBufferView, options: BlockingOptions | undefined): Readonly<Copied> | null {
    const deadline = deadlineFor(options); // the whole call's, the wait for its first frame included
    if (this.unfinished !== undefined) return this.copyUnfinished(target, deadline);
    const ring = this.ring;
    if (ring.hold(options) < 0) return null; // no view of the slot: copyHeld copies straight out of the ring
    // The call per message, a typed array, DataView or ArrayBuffer in one frame (codes 1 to 13), is told in one test;
    // the rest (a first chunk, a Float16Array, a message recvInto refuses) goes out of line, which leaves V8 room to
    // inline the ring's calls here (docs/PERFORMANCE.md, "recvInto's message in one test")
    const { type, length, tag } = ring.frame;
    if (type < TYPE.bytes || type > TYPE.dataview) return this.copyHeldOther(target, deadline);
    const into = this.bytesOf(target);
    if (length > into.length) throw doesNotFitError(length, into.length);
    ring.copyHeld(into);
    ring.release();
    return this.answer(length, tag);
  }

  /** copyNext for a held frame that is not a whole binary message: a first chunk, a Float16Array, or refused. */
  private copyHeldOther(target: ArrayBufferView, deadline: number): Readonly<Copied> {
    const ring = this.ring;
    const { type, tag } = ring.frame;
    const total = messageBytes(ring.frame);
    const into = this.intoFor(target, codecTypeOf(ring.frame), total);
    if (type & CHUNKED) {
      this.copyChunks(ring.peek()!, total, into, deadline); // held already: no wait
    } else {
      ring.copyHeld(into);
      ring.release();
    }
    return this.answer(total, tag);
  }

  /** recvInto of a message a timeout cut short: it is finished first, then copied. */
  private copyUnfinished(target: ArrayBufferView, deadline: number): Readonly<Copied> {
    const unfinished = this.unfinished!;
    const into = this.intoFor(target, unfinished.type, unfinished.bytes.length); // throws, keeping it, if it does not fit
    const { bytes, tag } = this.complete(unfinished, deadline);
    copyRange(into, 0, bytes, bytes.length, NATIVE_COPY_OUT_BYTES);
    return this.answer(bytes.length, tag);
  }

  /** recvInto's target as bytes, once it is known that a message of this codec type and length may go there. */
  private intoFor(target: ArrayBufferView, codecType: number, total: number): Uint8Array {
    if (!isBinaryType(codecType)) throw notBinaryError(NOT_BINARY[codecType] ?? 'a serialized value');
    const into = this.bytesOf(target);
    if (total > into.length) {
      throw doesNotFitError(total, into.length);
    }
    return into;
  }

  /** Fills recvInto's answer. */
  private answer(bytes: number, tag: number): Readonly<Copied> {
    const received = this.received;
    received.bytes = bytes;
    received.tag = tag;
    return received;
  }

  private bytesOf(target: ArrayBufferView): Uint8Array {
    return target === this.lastTarget ? this.lastBytes! : this.bytesOfNew(target);
  }

  /** bytesOf for a target other than the last: a view of its bytes, kept for next time if its length is fixed. */
  private bytesOfNew(target: ArrayBufferView): Uint8Array {
    const length = byteLengthOf(target);
    if (length === 0) return NO_BYTES; // also a detached target, which V8 refuses to view
    const bytes = new Uint8Array(target.buffer, target.byteOffset, length);
    if (isFixedLength(target.buffer)) {
      this.lastTarget = target;
      this.lastBytes = bytes;
    }
    return bytes;
  }

  /** Consumer side: gives the view from `recvView()` back; the view must not be used after. A no-op without one. */
  release(): void {
    if (!this.holdingView) return;
    this.holdingView = false;
    if (this.viewInRing) this.ring.release(); // an assembled message's chunks went back as they were copied
  }

  /** Consumer side: true while a view from `recvView()` is held (this object's own state). */
  get holding(): boolean {
    return this.holdingView;
  }

  /**
   * Codec type, tag and length of the next message without taking it (blocks while empty; null once closed).
   * A later `recv`/`recvView`/`recvInto` takes this same message. The answer is one object per Receiver, filled
   * again by the next call, as recvInto's is (Comm peeks before every receive into a buffer). Consumer side; throws
   * as `recv` does.
   */
  peekMeta(options?: BlockingOptions): Readonly<MessageMeta> | null {
    this.refuseWhileHolding('peekMeta');
    checkTimeout(options); // here too, though an unfinished message is answered without a wait
    const meta = this.meta;
    const unfinished = this.unfinished;
    if (unfinished !== undefined) {
      meta.type = unfinished.type;
      meta.tag = unfinished.tag;
      meta.bytes = unfinished.bytes.length;
      return meta;
    }
    const ring = this.ring;
    try {
      if (ring.hold(options) < 0) return null; // hold, not peek: no view is made just to read the header
    } catch (error) {
      throw asCallTimeout(error, 'peekMeta', options);
    }
    meta.type = ring.frame.type & ~CHUNKED;
    meta.tag = ring.frame.tag;
    meta.bytes = messageBytes(ring.frame);
    return meta;
  }

  private readonly meta: MessageMeta = { type: 0, tag: 0, bytes: 0 }; // peekMeta's answer, reused

  /**
   * Consumer side: true when a message (or the end of the stream) can be taken without blocking; can be late (the
   * sender may publish just after a false). False while a view is held: the held message is taken already.
   * @throws `AbortedError` on an aborted ring with nothing left to read; `CorruptFrameError`.
   */
  hasMessage(): boolean {
    return !this.holdingView && this.ring.hasMessage();
  }

  private refuseWhileHolding(op: string): void {
    if (this.holdingView) throw holdingError(op);
  }

  /** Why recvInto refuses its call: a view is held, or `target` is no view. */
  private recvIntoRefusal(target: unknown): Error {
    return this.holdingView ? holdingError('recvInto') : notATargetError(target);
  }

  /** recv's answer for a message it read where it lies: gives the message's bytes back first. */
  private releaseAndAnswer<T>(value: unknown, tag: number): Received<T> {
    this.ring.release();
    return { value: value as T, tag };
  }

  /** Decodes the peeked frame (and, for a chunked message, the chunks after it) into an owned value. */
  private take<T>(view: Uint8Array, deadline: number): Received<T> {
    const ring = this.ring;
    const { type, tag } = ring.frame;
    const codecType = codecTypeOf(ring.frame);
    if ((type & CHUNKED) === 0) {
      let value: T;
      try {
        value = decodeBytes(codecType, view) as T; // decodeBytes copies: the value owns its memory
      } catch (error) {
        // A serialized value this thread cannot read (nested deeper than its stack allows: V8 writes plain objects
        // about 3,000 deep, and reads about 1,900) is taken all the same, as a chunked one is, and as postMessage's
        // transports take it: the next receive gets the next message. A binary payload that does not decode is a
        // malformed frame, and stays.
        if (codecType === TYPE.serialized) ring.release();
        throw error;
      }
      ring.release();
      return { value, tag };
    }
    const total = messageBytes(ring.frame); // checked before it is allocated
    const target = allocate(codecType, total);
    this.copyChunks(view, total, target.bytes, deadline, 0, true);
    const value = isBinaryType(codecType) ? target.value : decodeBytes(codecType, target.bytes);
    return { value: value as T, tag };
  }

  /**
   * Copies a chunked message into `into`, from byte `filled` on, its next chunk `first` (peeked) or, when null, the
   * next one to arrive; releases every chunk. A timeout (or any error but an abort or a corrupt frame) while it waits
   * for a chunk keeps what arrived (`unfinished`): `into` itself when it is this Receiver's own (`owned`, recv's fresh
   * buffer), else a copy (the caller's target, or recvView's kept buffer, which the next call may reuse).
   */
  private copyChunks(
    first: Uint8Array | null, total: number, into: Uint8Array, deadline: number, filled = 0, owned = false,
  ): void {
    const ring = this.ring;
    const { type, tag } = ring.frame; // the first chunk's, when `first` is given
    try {
      for (let chunk = first ?? ring.peek(optionsUntil(deadline)); ; chunk = ring.peek(optionsUntil(deadline))) {
        if (chunk === null) throw new CorruptFrameError(-1, `the stream ended inside ${aBytes(total)} message`);
        if (filled > 0 && ring.frame.type !== CONTINUATION) {
          throw new CorruptFrameError(-1, `expected a continuation chunk at byte ${filled} of ${total}, got type ${ring.frame.type}`);
        }
        if (filled + chunk.length > total) throw new CorruptFrameError(-1, `chunks overflow the ${total}-byte message`);
        copyRange(into, filled, chunk, chunk.length, NATIVE_COPY_OUT_BYTES);
        filled += chunk.length;
        ring.release();
        if (filled === total) return;
      }
    } catch (error) {
      // A corrupt stream, or a ring aborted for good, has no rest to come: nothing is kept.
      if (error instanceof CorruptFrameError || error instanceof AbortedError || ring.aborted) {
        this.unfinished = undefined;
        throw error;
      }
      // Anything else (a timeout, the ring's onWait that threw) keeps what arrived: the next receive finishes it.
      if (this.unfinished !== undefined) this.unfinished.filled = filled; // stopped again while finishing it
      else this.unfinished = { type: type & ~CHUNKED, tag, bytes: owned ? into : ownedPrefix(into, filled, total), filled };
      if (!(error instanceof TimeoutError)) throw error;
      throw new TimeoutError(error.op, error.ms, `${filled} of ${aBytes(total)} message's bytes arrived; the next receive finishes it`);
    }
  }

  /** Copies in the rest of the message a timeout cut short and returns it, no longer kept. */
  private complete(unfinished: Unfinished, deadline: number): Unfinished {
    this.copyChunks(null, unfinished.bytes.length, unfinished.bytes, deadline, unfinished.filled);
    this.unfinished = undefined;
    return unfinished;
  }

  /** recv's and recvView's answer for the message a timeout cut short: an owned value over its own buffer. */
  private finishUnfinished<T>(deadline: number): Received<T> {
    const { type, tag, bytes } = this.complete(this.unfinished!, deadline);
    return { value: decodeBytes(type, bytes, true) as T, tag }; // the buffer is the value's alone
  }
}

/** A chunked message that a timeout cut short: its codec type, tag, buffer of its full length, and bytes so far. */
interface Unfinished {
  type: number;
  tag: number;
  bytes: Uint8Array;
  filled: number;
}

/**
 * The codec type of the message whose first frame `frame` is. A continuation chunk there, or a code that no Sender
 * writes, means a damaged header (or a writer that is no Sender): a CorruptFrameError, before anything is decoded.
 */
function codecTypeOf(frame: Frame): number {
  const codecType = frame.type & ~CHUNKED;
  if (frame.type !== CONTINUATION && isKnownType(codecType)) return codecType;
  throw unknownTypeError(frame);
}

function unknownTypeError({ type, offset }: Frame): CorruptFrameError {
  if (type === CONTINUATION) return new CorruptFrameError(-1, 'a continuation chunk without its first chunk');
  return new CorruptFrameError(offset - FRAME_HEADER_BYTES, `a message of the unknown codec type ${type & ~CHUNKED}`);
}

/** A buffer of `total` bytes of its own, starting with the first `filled` bytes of `into`. */
function ownedPrefix(into: Uint8Array, filled: number, total: number): Uint8Array {
  const bytes = new Uint8Array(total);
  bytes.set(into.subarray(0, filled));
  return bytes;
}

/**
 * The bytes of the message whose first frame `frame` is: its length, or for a chunked message the total its `aux`
 * gives. That comes from shared memory, so it is checked before anything of its size is allocated: a chunked message
 * is longer than its first chunk, at most MAX_CHANNEL_MESSAGE, and a whole number of its kind's elements, and its first
 * chunk a multiple of 8 bytes.
 */
function messageBytes(frame: Frame): number {
  return (frame.type & CHUNKED) === 0 ? frame.length : chunkedBytes(frame);
}

function chunkedBytes({ length, aux, type }: Frame): number {
  if (aux <= length || aux > MAX_CHANNEL_MESSAGE) {
    const problem = `a first chunk of ${length} bytes for a message of ${aux} (at most ${MAX_CHANNEL_MESSAGE})`;
    throw new CorruptFrameError(-1, problem);
  }
  const codecType = type & ~CHUNKED;
  const size = isKnownType(codecType) ? elementSize(codecType) : 1; // an unknown code is told by codecTypeOf
  if (length % 8 !== 0) {
    throw new CorruptFrameError(-1, `a first chunk of ${length} bytes, where a Sender's chunks are multiples of 8`);
  }
  if (aux % size !== 0) {
    const name = typeName(codecType);
    const problem = `a first chunk of ${length} bytes for ${name.startsWith('I') ? 'an' : 'a'} ${name} of ${aux}, no multiple of ${size}`;
    throw new CorruptFrameError(-1, problem);
  }
  return aux;
}

/** The wait for a call's next chunk: what is left of the call's time (`deadline`), or no limit when it has none. */
function optionsUntil(deadline: number): BlockingOptions | undefined {
  return deadline === Infinity ? undefined : { timeoutMs: Math.max(0, deadline - performance.now()) };
}

/**
 * What send throws for `error`: a RangeError from the ring about the tag, where the tag is options, says where the
 * options go (`send(value, { timeoutMs })`); else as any channel call (asCallTimeout).
 */
function sendError(error: unknown, tag: unknown, options: BlockingOptions | undefined): unknown {
  if (error instanceof RangeError && typeof tag === 'object' && tag !== null && 'timeoutMs' in tag) {
    return new TypeError('`timeoutMs` goes in the options after the tag: send(value, tag, { timeoutMs })');
  }
  return asCallTimeout(error, 'send', options);
}

/**
 * A TimeoutError of the ring (`write timed out after 3.2 ms`, for the last chunk's time left) as the channel call's
 * own: its name and its whole `timeoutMs`, and what it had done. Any other error is itself.
 */
function asCallTimeout(error: unknown, op: string, options: BlockingOptions | undefined): unknown {
  if (!(error instanceof TimeoutError) || options?.timeoutMs === undefined) return error;
  return new TimeoutError(op, options.timeoutMs, error.detail);
}
