/**
 * A lock-free single-producer / single-consumer ring of messages on one SharedArrayBuffer.
 *
 * Layout of the SharedArrayBuffer (each header word that a thread writes often sits alone on a 64-byte cache line, so
 * that a store to one never takes another's line from the other core: no false sharing. The consumer still loses HEAD's
 * line at every publish, and the producer TAIL's: that is how the news travels):
 *
 *   byte 0    64        128             192             256                     320                      320+capacity
 *   +---------+---------+---------------+---------------+-----------------------+------------------------+
 *   | HEAD    | TAIL    | READER_ASLEEP | WRITER_ASLEEP | STATE CAPACITY LAYOUT | data (capacity bytes)  |
 *   +---------+---------+---------------+---------------+-----------------------+------------------------+
 *     producer  consumer  consumer        producer        anyone / create()       frames, back to back
 *
 * `createIn` lays the same layout out at the start of a larger SharedArrayBuffer made elsewhere (a shared
 * WebAssembly.Memory's, whose length is whole 64 KiB pages): the bytes after `320+capacity` are not the ring's.
 *
 * HEAD counts the bytes ever written and TAIL the bytes ever read. Both are free-running Int32 counters: they wrap
 * at 2^32 and `(head - tail) | 0` is still the number of bytes in use, because the capacity is at most 2^30.
 * Each side's private copy is kept as an Int32 too (`| 0` after every addition): a copy that grew past 2^31 as a
 * plain number would no longer equal the value read back from shared memory, which is negative from there (2 GiB in,
 * the consumer would misjudge what the ring holds and meet a CorruptFrameError at once).
 * A byte's place in the data region is `counter & mask`. Only the producer stores HEAD, only the consumer stores
 * TAIL: that single-writer rule is what makes the ring lock-free.
 *
 * A frame is a 16-byte header and its payload, padded to a multiple of 8 bytes so that the next header, and any
 * payload, starts 8-byte aligned (a Float64Array can be laid over a payload in place):
 *
 *   byte 0         4                                     8           12          16
 *   +--------------+-------------------------------------+-----------+-----------+----------------------+
 *   | length (u32) | kind u8 | type u8 | FRAME_MAGIC u16 | tag (i32) | aux (u32) | payload, padded to 8 |
 *   +--------------+-------------------------------------+-----------+-----------+----------------------+
 *
 * A frame never straddles the end of the data region. When one does not fit before the end, the producer writes a
 * WRAP marker there (kind only: the 8 bytes always left are enough) and starts the frame at offset 0, so every
 * payload is one contiguous range that can be viewed in place. `length` is the payload's, before padding (the kind
 * word's low byte tells a message from a WRAP or END marker). `type`, `tag` and `aux` belong to the layer above (the
 * codec's type code, the message tag, a chunked message's total length).
 */
import { atRefusal, copyRange, NATIVE_COPY_BYTES, NATIVE_COPY_OUT_BYTES, SMALL_COPY_BYTES } from './copy.js';
import { aBytes, describe, isDetached, isOutOfBounds, refuseUnknownOptions } from './describe.js';
import { AbortedError, ClosedError, CorruptFrameError } from './errors.js';
import { Waiter, checkTimeout, deadlineFor, type WaitOptions, type WaitStrategy } from './wait.js';

const SLOTS_PER_LINE = 16; // Int32 slots in a 64-byte cache line: hot words are this far apart
const HEAD = 0 * SLOTS_PER_LINE;
const TAIL = 1 * SLOTS_PER_LINE;
const READER_ASLEEP = 2 * SLOTS_PER_LINE;
const WRITER_ASLEEP = 3 * SLOTS_PER_LINE;
const STATE = 4 * SLOTS_PER_LINE;
const CAPACITY = STATE + 1;
const LAYOUT = STATE + 2;
/** Bytes before the data region: 320, five cache lines, so the data starts on a line of its own. */
export const RING_HEADER_BYTES = 5 * 64;
const LAYOUT_MAGIC = 0x52494e47; // 'RING': attach() refuses a buffer that create() did not lay out

const ABORTED = 1; // STATE bit

/** Bytes of a frame header; frames and payloads are 8-byte aligned. */
export const FRAME_HEADER_BYTES = 16;
const KIND_MESSAGE = 1;
const KIND_WRAP = 2;
const KIND_END = 3; // written by close(): the stream ends here, in order with the data before it
const FRAME_MAGIC = 0x5343; // 'SC' in the top half of the kind word: a zeroed or stray header is caught
const TYPE_BITS = 0xff00; // the kind word's type byte, the layer above's
const MESSAGE_KIND = kindWord(KIND_MESSAGE, 0) | 0; // a message's kind word, type byte 0, as an int32 like `word & mask`

export const MIN_RING_BYTES = 64;
export const MAX_RING_BYTES = 1 << 30;

/**
 * What a producer stores in a frame's header besides the payload (the second argument of `write`, `writeAsync`,
 * `reserve` and `reserveOffset`); the consumer reads it back in `ring.frame`. A field its word cannot hold as given is
 * a `RangeError`, and a `timeoutMs` here a `TypeError` (it goes in the options after).
 */
export interface FrameMeta {
  /** One byte for the layer above (the codec's type code): an integer from 0 to 255. Default 0. */
  type?: number | undefined;
  /** A signed 32-bit integer (the message tag). Default 0. */
  tag?: number | undefined;
  /** An unsigned 32-bit integer (a chunked message's total length). Default 0. */
  aux?: number | undefined;
}

/** The header of a frame written without meta: every field 0. */
const NO_META: FrameMeta = Object.freeze({});

/**
 * Refuses header fields that the frame's words cannot hold as given (they would arrive changed: a tag of 2^31 as
 * -2^31, 1.5 as 1), and a `timeoutMs` given where the header goes. `type`, `tag` and `aux` are `meta`'s as the caller
 * read them, once: it writes what was checked. Read again, a getter's field, or one an `onWait` changed while the call
 * waited for room, could be another (a type above 255 would spoil the kind word's marker). A type test and a
 * comparison a field, on the way through; the error is built out of line (`metaRefusal`), so that this stays small
 * enough to be inlined.
 */
function checkMeta(meta: FrameMeta, type: unknown, tag: unknown, aux: unknown, op: string): void {
  // typeof first: a bigint (or a string) would throw at the bit operation, or pass it changed
  if (typeof type !== 'number' || (type & 0xff) !== type || typeof tag !== 'number' || (tag | 0) !== tag ||
    typeof aux !== 'number' || aux >>> 0 !== aux || 'timeoutMs' in meta) {
    throw metaRefusal(meta, op, { type, tag, aux });
  }
}

/**
 * @internal checkMeta's error, and a Sender's for its tag: a `timeoutMs` where the header goes first, then the first
 * field out of range (of `fields`, the values checked, `meta`'s own by default).
 */
export function metaRefusal(meta: FrameMeta, op: string, fields: { [F in keyof FrameMeta]: unknown } = meta): Error {
  if ('timeoutMs' in meta) { // write(bytes, { timeoutMs }) would wait for ever: the frame header has no such field
    const first = op.startsWith('write') ? 'bytes' : 'length';
    return new TypeError(`\`timeoutMs\` goes in the options after the frame header: ${op}(${first}, meta, { timeoutMs })`);
  }
  const { type = 0, tag = 0, aux = 0 } = fields;
  const typeOk = typeof type === 'number' && (type & 0xff) === type;
  const tagOk = typeof tag === 'number' && (tag | 0) === tag;
  const [field, range, value] = !typeOk ? ['type', 'an integer from 0 to 255', type]
    : !tagOk ? ['tag', 'a signed 32-bit integer', tag] : ['aux', 'an unsigned 32-bit integer', aux];
  return new RangeError(`Expected the frame's \`${field}\` to be ${range}, got ${describe(value)}`);
}

/**
 * The header fields of the frame that the last `peek`/`hold`/`read` returned (`ring.frame`, consumer side); overwritten
 * by the next one, and by a `hasMessage()` that finds a message (it reads the header it will return). It is this
 * object's copy, not shared memory: only this side's own calls change it.
 */
export interface Frame {
  /** Where the payload starts in `ring.data` (always a multiple of 8). */
  offset: number;
  /** The payload's length in bytes (the frame's padding not included). */
  length: number;
  /** The producer's `FrameMeta.type`: one byte, 0 to 255. */
  type: number;
  /** The producer's `FrameMeta.tag`: a signed 32-bit integer. */
  tag: number;
  /** The producer's `FrameMeta.aux`: an unsigned 32-bit integer. */
  aux: number;
}

/**
 * Options of `RingBuffer.create` and `RingBuffer.attach`: how this side waits (`WaitOptions`) and batches
 * (`corkBytes`). Each side sets its own; a name not listed here is a `TypeError` (``Unknown ring option `corkbytes`
 * ...``).
 */
export interface RingOptions extends WaitOptions {
  /**
   * A corked side (`cork()`) publishes every 16 messages or every `corkBytes` bytes, whichever comes first. Default
   * 16 KiB; a quarter of the ring at most (larger values are capped there); an integer below 1 is a `RangeError`. A
   * producer whose consumer does little with each message (reads it in place) streams faster with a quarter ring: it
   * then publishes less often.
   */
  corkBytes?: number | undefined;
}

const RING_OPTIONS = ['strategy', 'spinMicros', 'onWait', 'onStillWaiting', 'corkBytes'] as const satisfies readonly (keyof RingOptions)[];

/**
 * The last argument of every call that may block (on a ring, a `Sender` or a `Receiver`). Checked as the call starts,
 * before it moves anything: another name is a `TypeError` (``Unknown blocking call option `timeout` ...``).
 */
export interface BlockingOptions {
  /**
   * Give up after this many milliseconds with a `TimeoutError`. 0 does not wait: the call does what it can do at once
   * (a read of a message that is there, a write that finds room), else throws the TimeoutError at once. Default, and
   * `Infinity`: wait for ever. A negative number, NaN or a non-number is a RangeError.
   */
  timeoutMs?: number | undefined;
}

const align8 = (n: number) => (n + 7) & ~7;
/**
 * A corked side publishes every CORK_MESSAGES messages or CORK_BYTES bytes (the default `corkBytes`; a quarter of
 * the ring, if less), whichever comes first: one publication then serves many small messages, yet the other side
 * still gets them in batches it can work on meanwhile (`bench bandwidth`, 8 B and 1 KiB messages, producer corked:
 * measured best between 8 and 16 messages; a batch that waits for a whole window of 64 idles the consumer. The first VM
 * of docs/PERFORMANCE.md, 2026-11-26: "Cork: publish small messages in batches", "Where a window's time goes at 1 to 2
 * KiB").
 */
const CORK_MESSAGES = 16;
const CORK_BYTES = 16 * 1024;
/**
 * A corked producer's first batch after `cork()` is published at 2 KiB, and each next one at twice the last, up to
 * `corkBytes`: a consumer that has caught up (one whose producer resumes after an acknowledgement) starts on the first
 * messages at once instead of idling through a whole batch. The message count (CORK_MESSAGES) still bounds every batch,
 * so frames of up to 128 bytes (payloads up to 112) batch 16 at a time from the first. Near, at 1.4 and 2 KiB, the
 * receiver's wait per window of 64 about halves, and 2 KiB streams 15% faster (docs/PERFORMANCE.md, "What each
 * optimisation bought").
 */
const FIRST_BATCH_BYTES = 2048;
/**
 * copyHeld keeps the views it copies from in at most 32,768 slots: one per 64 bytes of a ring of 2 MiB or less (the
 * benchmark's shared ring), one per `capacity / 32,768` bytes of a larger one. A payload longer than a slot less 16
 * bytes makes a frame (16-byte header, payload padded to 8) longer than the slot, so a slot holds at most one such
 * frame start: 49 bytes and more on a ring of 2 MiB, 497 and more on one of 16 MiB. Payloads up to 48 bytes are copied
 * with a loop, no view at all.
 */
const MAX_KEPT_VIEWS = 1 << 15;
const MIN_KEPT_SLOT_SHIFT = 6;
/** The payloads too short for a slot of their own on any ring, which copyHeld copies with a loop: 48 bytes. */
const LOOP_COPY_OUT_BYTES = (1 << MIN_KEPT_SLOT_SHIFT) - FRAME_HEADER_BYTES;
const NO_VIEW = new Uint8Array(0);

/**
 * A lock-free single-producer, single-consumer ring of messages (frames) on one SharedArrayBuffer. One thread makes it
 * (`RingBuffer.create`) and posts its `buffer`; the other opens it (`RingBuffer.attach`). Each method says which side
 * may call it: the producer's methods from one object in one thread only, the consumer's likewise (one object may be
 * both, in one thread). Nothing checks that: a second producer or consumer corrupts the ring silently.
 *
 * Blocking calls wait as the side's `strategy` says, take `{ timeoutMs }` last (`TimeoutError`), and throw
 * `AbortedError` once the ring is aborted and they would wait. Answers about the other side's progress (`bytesFree`,
 * `hasMessage`, `aborted`) can be stale as soon as they are given. The layout is at the top of src/ring.ts, the
 * memory-ordering argument at `publishHead`; `Sender`/`Receiver` carry values of any size over a ring.
 */
export class RingBuffer {
  /** Either side: the SharedArrayBuffer to hand to the other thread (`postMessage(ring.buffer)`, then `attach`). */
  readonly buffer: SharedArrayBuffer;
  /** Either side: bytes in the data region, a power of two from 64 to 2^30. */
  readonly capacity: number;
  /**
   * Either side: the largest payload one frame carries, in bytes: half the data region less a 16-byte header, so two
   * frames are in flight. A longer `write` or `reserve` is a `RangeError`.
   */
  readonly maxMessage: number;
  /**
   * Consumer: header fields of the message the last `peek`/`hold`/`read` returned. This object's own copy, filled by
   * its reads (and by a `hasMessage()` that finds a message), not shared memory.
   */
  readonly frame: Frame = { offset: 0, length: 0, type: 0, tag: 0, aux: 0 };
  /**
   * Either side: the data region as bytes. Payloads live here: at `reserveOffset()`'s answer for the producer, at
   * `frame.offset` for the consumer. Code that works through offsets makes no view per message (a view costs an
   * allocation).
   */
  readonly data: Uint8Array;

  private readonly words: Int32Array; // the header, as Int32 slots
  private readonly dataWords: Uint32Array; // the data region, as words: frame headers are read and written here
  private readonly mask: number;
  private readonly waiter: Waiter;
  private keptViews: Uint8Array[] = []; // consumer: views kept by copyHeld, one per slot (keptView), made at first use
  private keptAt = new Int32Array(0); // where each kept view starts, -1 for none
  private readonly keptShift: number; // log2 of a slot's bytes
  private readonly keptFrom: number; // the shortest payload whose view is kept

  // Producer-side state, private to the producing thread.
  private head = 0; // our own HEAD: ahead of the shared one while corked messages wait to be published
  private cachedTail = 0; // the consumer's TAIL as last seen: reloaded only when the ring looks full
  private reserved = -1; // offset of the open reservation's header, -1 when none
  private reservedLength = 0;
  private closed = false; // close() was called: nothing more may be written
  private corked = false; // cork() was called: commits gather until uncork() (or enough have gathered)
  private published = 0; // HEAD as last stored: `head - published` bytes are committed but not yet visible
  private unpublished = 0; // messages committed since
  private readonly corkBytes: number;
  private batchBytes: number; // a corked producer publishes once this many bytes wait: doubles from FIRST_BATCH_BYTES

  // Consumer-side state, private to the consuming thread.
  private tail = 0;
  private cachedHead = 0; // the producer's HEAD as last seen: reloaded only when the ring looks empty
  private peeked = -1; // bytes the peeked frame occupies, -1 when none is held
  private peekedAt = 0; // its header's offset
  private polled = 0; // bytes the frame that poll() found occupies
  private publishedTail = 0; // TAIL as last stored: `tail - publishedTail` bytes are freed but not yet given back
  private unreleased = 0; // messages released since

  /**
   * Allocates a ring with `bytes` of data (a power of two from 64 B to 1 GiB; the SharedArrayBuffer is 320 bytes
   * more) and opens it for the calling side, producer or consumer.
   * @throws `RangeError` for another size, or a `corkBytes` or `spinMicros` out of range; `TypeError` for an unknown
   *   option or `strategy`.
   */
  static create(bytes: number, options: RingOptions = {}): RingBuffer {
    checkRingSize(bytes);
    const buffer = new SharedArrayBuffer(RING_HEADER_BYTES + bytes);
    layOut(buffer, bytes);
    return new RingBuffer(buffer, options);
  }

  /**
   * Lays a ring with `bytes` of data (as `create`'s) out at the start of `buffer`, a SharedArrayBuffer made elsewhere
   * of at least RING_HEADER_BYTES + bytes, and opens it: the buffer of a shared WebAssembly.Memory, say, so that
   * WebAssembly reads the payloads where they lie (a payload is at address RING_HEADER_BYTES + `frame.offset`). The
   * bytes after the ring stay the caller's. The header is written afresh, so no other thread may use a ring there
   * meanwhile; the data region is left as it is. `ring.buffer` is `buffer`, which `attach` opens in another thread.
   * @throws `TypeError` for a buffer that is not a SharedArrayBuffer; `RangeError` for a size as `create` refuses it,
   *   or a buffer too short for it; as `create` for the options.
   */
  static createIn(buffer: SharedArrayBuffer, bytes: number, options: RingOptions = {}): RingBuffer {
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw new TypeError(`Expected a SharedArrayBuffer to lay the ring out in, got ${describe(buffer)}`);
    }
    checkRingSize(bytes);
    if (buffer.byteLength < RING_HEADER_BYTES + bytes) {
      throw new RangeError(`A ring of ${bytes} bytes takes ${RING_HEADER_BYTES + bytes} bytes with its header, ` +
        `more than the ${buffer.byteLength} of the buffer given`);
    }
    layOut(buffer, bytes);
    return new RingBuffer(buffer, options);
  }

  /**
   * Opens, in another thread, a ring made by `RingBuffer.create` (or `createIn`) from its `buffer`, for the side that
   * thread plays. A side that attaches late starts where the shared counters are.
   * @throws `TypeError` for anything but a SharedArrayBuffer laid out by `create` or `createIn`, an unknown option or
   *   `strategy`; `RangeError` for a `corkBytes` or `spinMicros` out of range.
   */
  static attach(buffer: SharedArrayBuffer, options: RingOptions = {}): RingBuffer {
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw new TypeError(`Expected a SharedArrayBuffer made by RingBuffer.create(), got ${describe(buffer)}`);
    }
    return new RingBuffer(buffer, options);
  }

  private constructor(buffer: SharedArrayBuffer, options: RingOptions) {
    const words = new Int32Array(buffer, 0, Math.min(RING_HEADER_BYTES, buffer.byteLength) >> 2);
    const capacity = words[CAPACITY] ?? 0;
    const isRingSize = capacity >= MIN_RING_BYTES && capacity <= MAX_RING_BYTES && (capacity & (capacity - 1)) === 0;
    // Longer than the ring is allowed: createIn's buffers are (create's are exactly as long).
    if (words[LAYOUT] !== LAYOUT_MAGIC || !isRingSize || buffer.byteLength < RING_HEADER_BYTES + capacity) {
      throw new TypeError('Expected a SharedArrayBuffer made by RingBuffer.create(), got one with another layout');
    }
    this.buffer = buffer;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxMessage = capacity / 2 - FRAME_HEADER_BYTES;
    this.words = words;
    this.data = new Uint8Array(buffer, RING_HEADER_BYTES, capacity);
    this.dataWords = new Uint32Array(buffer, RING_HEADER_BYTES, capacity >> 2);
    options ??= {}; // null: none, as for map and a blocking call (a plain JavaScript caller's)
    refuseUnknownOptions('ring', options, RING_OPTIONS); // before the Waiter reads them
    this.waiter = new Waiter(words, STATE, ABORTED, options);
    const corkBytes = options.corkBytes ?? CORK_BYTES;
    if (!Number.isInteger(corkBytes) || corkBytes < 1) {
      throw new RangeError(`Expected \`corkBytes\` to be an integer of at least 1, got ${describe(corkBytes)}`);
    }
    this.corkBytes = Math.min(corkBytes, capacity / 4);
    this.batchBytes = this.corkBytes;
    this.keptShift = Math.max(MIN_KEPT_SLOT_SHIFT, Math.log2(capacity / MAX_KEPT_VIEWS));
    this.keptFrom = (1 << this.keptShift) - FRAME_HEADER_BYTES + 1;
    // A side that attaches late starts where the shared counters are. The consumer's first look at HEAD is its
    // first read's (lookAgain), which checks it against TAIL.
    this.head = this.published = Atomics.load(words, HEAD);
    this.tail = this.cachedHead = this.cachedTail = this.publishedTail = Atomics.load(words, TAIL);
  }

  // ─── Producer side ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Producer: reserves room for a payload of `length` bytes, with `meta` in its header (as it is now), and returns a
   * view of it, to fill in place; `commit()` publishes it. Blocks while the ring is full. Only one reservation may be
   * open at a time.
   * @throws `RangeError` for a length outside 0 to `maxMessage`, or a `meta` field or `timeoutMs` out of range;
   *   `TypeError` for an unknown option; `Error` while a reservation is open; `ClosedError` after `close()`;
   *   `TimeoutError`; `AbortedError` once aborted, if it must wait for room.
   */
  reserve(length: number, meta?: FrameMeta, options?: BlockingOptions): Uint8Array {
    const offset = this.claim(length, meta, options, 'reserve');
    return new Uint8Array(this.buffer, RING_HEADER_BYTES + offset + FRAME_HEADER_BYTES, length);
  }

  /**
   * Producer: `reserve()` without the view: returns where the payload goes in `data` (a multiple of 8), to fill
   * there, then `commit()`. Throws as `reserve` does.
   */
  reserveOffset(length: number, meta?: FrameMeta, options?: BlockingOptions): number {
    return this.claim(length, meta, options, 'reserveOffset') + FRAME_HEADER_BYTES;
  }

  /** Opens a reservation for a payload of `length` bytes and returns the offset of its frame header. */
  private claim(length: number, meta: FrameMeta | undefined, options: BlockingOptions | undefined, op: string): number {
    // The arguments first, the state after: a mistake is told as such on a closed ring too.
    const { type = 0, tag = 0, aux = 0 } = meta ?? NO_META; // read once, now: not after a wait, nor at commit()
    if (meta != null) checkMeta(meta, type, tag, aux, op); // null: none, as for options
    const offset = this.room(length, options, op);
    this.writeHeader(offset, type, tag, aux);
    this.reserved = offset;
    this.reservedLength = length;
    return offset;
  }

  /** Makes room at HEAD for a frame with a payload of `length` bytes (a wrap, a wait, if need be): its offset. */
  private room(length: number, options: BlockingOptions | undefined, op: string): number {
    checkTimeout(options); // now, though there may be room: deadlineFor is later
    const frameBytes = this.frameBytesFor(length, op);
    if (frameBytes > this.bytesUntilEnd() || this.capacity - ((this.head - this.cachedTail) | 0) < frameBytes) {
      this.makeRoom(frameBytes, options, op);
    }
    return this.head & this.mask;
  }

  /** room's slow path, and writeInternal's: wrap if the frame does not fit before the end, wait while it is full. */
  private makeRoom(frameBytes: number, options: BlockingOptions | undefined, op: string): void {
    const deadline = deadlineFor(options);
    if (frameBytes > this.bytesUntilEnd()) {
      this.waitForSpace(this.bytesUntilEnd(), deadline, options?.timeoutMs, op);
      this.wrap();
    }
    this.waitForSpace(frameBytes, deadline, options?.timeoutMs, op);
  }

  /**
   * Producer: publishes the open reservation (corked: gathers it into the batch). `length`, in bytes, may shrink it (a
   * producer that wrote less than it reserved); default the length reserved. Never blocks.
   * @throws `Error` without an open reservation; `RangeError` for a `length` outside 0 to the length reserved.
   */
  commit(length = this.reservedLength): void {
    const offset = this.reserved;
    if (offset < 0) throw new Error('commit() without an open reserve()');
    if (!Number.isInteger(length) || length < 0 || length > this.reservedLength) {
      throw new RangeError(`Expected commit() of 0 to ${this.reservedLength} reserved bytes, got ${describe(length)}`);
    }
    this.reserved = -1;
    this.seal(offset, length);
  }

  /**
   * write's copy of a payload of up to SMALL_COPY_BYTES to `to` in the data region (a multiple of 8): four bytes a
   * store, then what is left byte by byte. A loop of byte stores pays its bounds checks and its stores per byte: 8
   * bytes into shared memory took 19.5 ns that way and 9.3 four at a time, and 19 and 10 ns out (one thread, the Zen 3
   * VM of docs/PERFORMANCE.md, 2026-11-29). The words are assembled low byte first, as a little-endian machine stores
   * them; a big-endian one copies byte by byte (`LITTLE_ENDIAN`).
   */
  private copyInShort(to: number, source: Uint8Array, length: number): void {
    const words = this.dataWords, first = to >> 2, whole = length & ~3;
    for (let i = 0; i < whole; i += 4) {
      words[first + (i >> 2)] = source[i]! | (source[i + 1]! << 8) | (source[i + 2]! << 16) | (source[i + 3]! << 24);
    }
    for (let i = whole; i < length; i++) this.data[to + i] = source[i]!;
  }

  /** Writes the header of the message frame at `offset` but its length, which `seal` writes (`type`: 0 to 255). */
  private writeHeader(offset: number, type: number, tag: number, aux: number): void {
    const words = this.dataWords, at = offset >> 2;
    words[at + 1] = MESSAGE_KIND | (type << 8);
    words[at + 2] = tag;
    words[at + 3] = aux;
  }

  /** Ends the message frame at `offset` with its payload's length, and publishes it (or gathers it, when corked). */
  private seal(offset: number, length: number): void {
    this.dataWords[offset >> 2] = length;
    this.head = (this.head + FRAME_HEADER_BYTES + align8(length)) | 0;
    if (!this.corked || ++this.unpublished >= CORK_MESSAGES || ((this.head - this.published) | 0) >= this.batchBytes) {
      this.publishHead();
    }
  }

  /**
   * Either side: from now on, publish in batches rather than at every step. Node's `writable.cork()` for a ring.
   *
   * - A corked producer publishes its messages every 16 messages or `corkBytes` (16 KiB unless set, a quarter of the
   *   ring at most), at `uncork()`, `close()` and a wrap, and before it waits for room (so it never waits on its own
   *   unpublished messages). Each message is still its own frame, read one by one. Its first batches are smaller: 2
   *   KiB, then twice as much each time, up to `corkBytes` (the consumer starts at once).
   * - A corked consumer gives the room it frees back every 16 messages or `corkBytes` (the same bound), at
   *   `uncork()` and a wrap, and whenever it finds the ring empty (so a producer waiting for room always gets it
   *   before the consumer waits for data).
   *
   * Why it pays: publishing is a sequentially consistent store, which on x86 waits until every earlier store of the
   * thread has landed (the producer's payload lines, which the consumer just read, included); corked, that wait is
   * paid once a batch. The price: the other side sees progress late. A corked producer's message may sit unseen
   * until its batch fills, so cork a burst, then uncork; do not cork a producer whose consumer is woken by another
   * signal sent per message (the ranks' doorbells): it would wake before the message is visible. A corked
   * consumer's freed room may sit unseen until it reads on: uncork it before it waits for anything else (another
   * ring, a lock), or a producer waiting for that room would wait with it. Uncork before another object takes
   * over the side: what is unpublished lives only in this one.
   */
  cork(): void {
    this.corked = true;
    this.batchBytes = Math.min(FIRST_BATCH_BYTES, this.corkBytes);
  }

  /** Either side: publishes what `cork()` held back and goes back to publishing every step. Never blocks. */
  uncork(): void {
    this.corked = false;
    this.publishHeldBack();
  }

  /**
   * Publishes what a corked side holds back: its messages (producer) and the room it freed (consumer); true when
   * there was any. Called before any wait, so that an object never waits on what it holds back itself, even one that
   * writes and reads.
   */
  private publishHeldBack(): boolean {
    const messages = this.head !== this.published;
    const room = this.tail !== this.publishedTail;
    if (messages) this.publishHead();
    if (room) this.publishTail();
    return messages || room;
  }

  /** Either side: true between `cork()` and `uncork()` (this object's own state). */
  get isCorked(): boolean {
    return this.corked;
  }

  /** Either side: how this side waits when it blocks, its `strategy` option (default `'spinThenPark'`). */
  get strategy(): WaitStrategy {
    return this.waiter.options.strategy;
  }

  /**
   * Producer: copies one message (the bytes of any typed array or DataView) in, with `meta` in its header. Blocks
   * while the ring is full.
   * @throws `TypeError` for a value that is not a view, or one whose memory is gone (detached, out of bounds);
   *   otherwise as `reserve`: `RangeError` above `maxMessage`, `ClosedError`, `TimeoutError`, `AbortedError`, ...
   */
  write(bytes: ArrayBufferView, meta?: FrameMeta, options?: BlockingOptions): void {
    const source = asBytes(bytes);
    if (meta == null) { // null: none, as for options
      this.writeInternal(source, 0, 0, 0, options);
    } else {
      const { type = 0, tag = 0, aux = 0 } = meta; // read once: the fields written are the ones checked
      checkMeta(meta, type, tag, aux, 'write');
      this.writeInternal(source, type, tag, aux, options);
    }
  }

  /**
   * @internal `write` of a Uint8Array under header fields that are not checked again: a Sender's, of its own making (a
   * codec type, a tag it has tested, aux 0), or those `write` and `writeAsync` have checked (`type` must be 0 to 255:
   * the kind word takes it unmasked). No reservation is opened, nor a FrameMeta read: what a message does here is small
   * enough for V8 to compile as one piece (docs/PERFORMANCE.md, "The producer in one piece").
   */
  writeInternal(source: Uint8Array, type: number, tag: number, aux: number, options: BlockingOptions | undefined): void {
    const length = source.length; // read once: a view of a growable buffer could grow while we copy
    // room() and writeHeader() written out: one function fewer to call where V8's budget leaves them out
    checkTimeout(options);
    const frameBytes = this.frameBytesFor(length, 'write');
    if (frameBytes > this.bytesUntilEnd() || this.capacity - ((this.head - this.cachedTail) | 0) < frameBytes) {
      this.makeRoom(frameBytes, options, 'write');
    }
    const offset = this.head & this.mask;
    // No view of the slot: a short payload four bytes a store, a longer one by copyRange's means for its length
    if (length <= SMALL_COPY_BYTES && LITTLE_ENDIAN) this.copyInShort(offset + FRAME_HEADER_BYTES, source, length);
    else copyRange(this.data, offset + FRAME_HEADER_BYTES, source, length, NATIVE_COPY_BYTES);
    const words = this.dataWords, at = offset >> 2;
    words[at + 1] = MESSAGE_KIND | (type << 8);
    words[at + 2] = tag;
    words[at + 3] = aux;
    this.seal(offset, length);
  }

  /**
   * Producer: `write` for code that must keep its event loop; waits with `Atomics.waitAsync`, never blocking the
   * thread. Several may be pending; each writes once there is room, with `meta` as it was at the call (one object may
   * be changed and passed again meanwhile). Rejects with what `write` throws.
   */
  async writeAsync(bytes: ArrayBufferView, meta?: FrameMeta, options?: BlockingOptions): Promise<void> {
    const source = asBytes(bytes);
    // Read once, as write() reads it: the room awaited is for this many bytes. A view of a resizable buffer may grow
    // while the call waits, and write() would then claim a larger frame than the room found, and block the thread
    // (for ever, when its consumer is on this thread's event loop) where this call promised to await.
    const length = source.length;
    const { type = 0, tag = 0, aux = 0 } = meta ?? NO_META; // read now, and written as checked now, after the wait
    if (meta != null) checkMeta(meta, type, tag, aux, 'writeAsync');
    const deadline = deadlineFor(options);
    const frameBytes = this.frameBytesFor(length, 'writeAsync');
    // Waits asynchronously for each step's room (the wrap marker, then the frame), so that write() never blocks. The
    // ring is looked at afresh after every wait, and write() follows the last look with no await in between: another
    // writeAsync() pending on this producer may have written while this one waited.
    for (;;) {
      // Again after every wait: this producer may have reserved, or closed the ring, meanwhile; a wrap marker now
      // would land in the reservation's header, or past the end marker.
      if (this.reserved >= 0 || this.closed) this.frameBytesFor(length, 'writeAsync');
      const untilEnd = this.bytesUntilEnd();
      if (this.bytesFree() >= Math.min(frameBytes, untilEnd)) {
        if (frameBytes <= untilEnd) break;
        this.wrap();
        continue;
      }
      this.publishHeldBack();
      await this.waiter.waitAsync(TAIL, this.cachedTail, WRITER_ASLEEP, deadline, options?.timeoutMs, 'writeAsync');
    }
    // The bytes it was called with (a subarray with an end is of fixed length); a view that shrank is written as it is
    const bytesCalledWith = source.length > length ? source.subarray(0, length) : source;
    this.writeInternal(asBytes(bytesCalledWith), type, tag, aux, undefined);
  }

  /**
   * Producer: ends the stream. The consumer still reads every message written before, then `read()` returns null.
   * The end marker is a frame, so it is ordered with the data (this blocks like a write while the ring is full).
   * @throws `ClosedError` when closed already; `Error` while a reservation is open; `TimeoutError`; `AbortedError`.
   */
  close(options?: BlockingOptions): void {
    const offset = this.room(0, options, 'close');
    this.closed = true;
    this.dataWords[offset >> 2] = 0;
    this.dataWords[(offset >> 2) + 1] = kindWord(KIND_END, 0);
    this.head = (this.head + FRAME_HEADER_BYTES) | 0;
    this.publishHead();
  }


  /**
   * Producer: bytes free for frames now (a frame takes its payload, padded to 8, plus 16). The answer can be stale at
   * once: the consumer may free more just after.
   */
  bytesFree(): number {
    this.cachedTail = Atomics.load(this.words, TAIL);
    return this.capacity - ((this.head - this.cachedTail) | 0);
  }

  /**
   * The bytes a frame with this payload occupies; validates the payload length, then the producer's state.
   *
   * Like every method a message passes through, it tests in one condition and builds its error in a method of its own
   * (`refusal`): V8 inlines a call only while the inlined bytecode of the function it optimizes stays under a budget
   * (920 bytes on Node 20), and an error's message is bytecode the common case never runs. Taken out of line, they
   * made the benchmark's 8-byte stream through shared 1.21x faster (docs/PERFORMANCE.md, "Errors out of line").
   */
  private frameBytesFor(length: number, op: string): number {
    if (!Number.isInteger(length) || length < 0 || length > this.maxMessage || this.reserved >= 0 || this.closed) {
      throw this.refusal(length, op);
    }
    return FRAME_HEADER_BYTES + align8(length);
  }

  /** frameBytesFor's error: the payload length first, then the producer's state. */
  private refusal(length: number, op: string): Error {
    if (!Number.isInteger(length) || length < 0 || length > this.maxMessage) {
      const larger = Number.isInteger(length) && length > this.maxMessage; // only then do chunks help
      return new RangeError(
        `Expected a message of 0 to ${this.maxMessage} bytes (maxMessage of ${aBytes(this.capacity)} ring), got ${describe(length)}` +
          (larger ? '; a Sender sends larger values over a ring in chunks' : ''),
      );
    }
    return this.reserved >= 0 ? new Error(`${op}() with an open reservation: commit() it first`) : new ClosedError(op);
  }

  private bytesUntilEnd(): number {
    return this.capacity - (this.head & this.mask);
  }

  /** Marks the rest of the data region as skipped, so the next frame starts at offset 0 (its room must be free). */
  private wrap(): void {
    this.dataWords[((this.head & this.mask) >> 2) + 1] = kindWord(KIND_WRAP, 0);
    this.head = (this.head + this.bytesUntilEnd()) | 0;
    this.publishHead();
  }

  private waitForSpace(bytes: number, deadline: number, timeoutMs: number | undefined, op: string): void {
    while (this.capacity - ((this.head - this.cachedTail) | 0) < bytes) {
      const seen = this.cachedTail;
      this.cachedTail = Atomics.load(this.words, TAIL);
      if (this.cachedTail !== seen) continue;
      this.publishHeldBack();
      this.waiter.wait(TAIL, seen, WRITER_ASLEEP, deadline, timeoutMs, op);
      this.cachedTail = Atomics.load(this.words, TAIL);
    }
  }

  /**
   * Makes everything written so far visible to the consumer.
   *
   * The memory-ordering argument, once: the frames' payload and header bytes were written before this call (by
   * `write`, `commit`, `close` or `wrap`) with plain stores. The JavaScript memory model makes `Atomics.store(HEAD)` a
   * release of everything this thread wrote before it, and the consumer's `Atomics.load(HEAD)` that reads the new
   * value synchronizes with it: every plain store that came before our store happens-before every plain load the
   * consumer makes after its load. So the consumer never sees a new HEAD with an old payload. The same edge runs the
   * other way through TAIL: the producer only reuses bytes after it has loaded a TAIL that the consumer stored once
   * it had finished reading them, so the consumer's reads happen-before the producer's new writes: a payload is never
   * overwritten while it is read (or viewed in place, until `release()`).
   */
  private publishHead(): void {
    if (this.batchBytes < this.corkBytes) this.batchBytes = Math.min(2 * this.batchBytes, this.corkBytes);
    this.published = this.head;
    this.unpublished = 0;
    Atomics.store(this.words, HEAD, this.head);
    // The flag is read after the store, never before: the order that makes a lost wake-up impossible (src/wait.ts)
    if (Atomics.load(this.words, READER_ASLEEP) !== 0) Atomics.notify(this.words, HEAD);
  }

  // ─── Consumer side ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Consumer: a view of the next message's payload in place, without copying; `release()` gives its bytes back to
   * the producer, after which the view must not be used. Blocks while the ring is empty; null once closed and
   * drained. `frame` describes the message. Peeking again before `release()` returns the same message.
   * @throws `TimeoutError`; `AbortedError` once aborted with nothing left to read; `CorruptFrameError` for a frame
   *   header no producer writes; `TypeError` or `RangeError` for bad options.
   */
  peek(options?: BlockingOptions): Uint8Array | null {
    const offset = this.next(options);
    return offset === ENDED ? null : this.payloadView(offset);
  }

  /** Waits for the next frame and holds it: its header's offset, or ENDED. */
  private next(options: BlockingOptions | undefined): number {
    checkTimeout(options); // now, though a message may be there already
    if (this.peeked >= 0) return this.peekedAt;
    const offset = this.poll();
    return offset >= 0 ? this.holdAt(offset) : this.waitForFrame(offset, options);
  }

  /** Holds the frame poll() found at `offset`, and returns it. */
  private holdAt(offset: number): number {
    this.peeked = this.polled;
    this.peekedAt = offset;
    return offset;
  }

  /** next()'s slow path, after a poll that found no frame (`found`, EMPTY or ENDED): waits until one comes. */
  private waitForFrame(found: number, options: BlockingOptions | undefined): number {
    const deadline = deadlineFor(options);
    for (let offset = found; ; offset = this.poll()) {
      if (offset >= 0) return this.holdAt(offset);
      if (offset === ENDED) return ENDED;
      this.waiter.wait(HEAD, this.cachedHead, READER_ASLEEP, deadline, options?.timeoutMs, 'read');
    }
  }

  private payloadView(offset: number): Uint8Array {
    return new Uint8Array(this.buffer, RING_HEADER_BYTES + offset + FRAME_HEADER_BYTES, this.frame.length);
  }

  /**
   * Consumer: gives the held message's bytes (from `peek`, `hold` or their async forms) back to the producer; any view
   * of them must not be used after. Never blocks.
   * @throws `Error` when no message is held.
   */
  release(): void {
    if (this.peeked < 0) throw new Error('release() without a message: peek() first');
    this.tail = (this.tail + this.peeked) | 0;
    this.peeked = -1;
    if (!this.corked || ++this.unreleased >= CORK_MESSAGES || ((this.tail - this.publishedTail) | 0) >= this.corkBytes) {
      this.publishTail();
    }
  }

  /**
   * Consumer: waits for the next message and holds it, as `peek()` does, without making a view of it: returns its
   * length (and fills `frame`), or -1 once the ring is closed and drained. Copy it out with `copyHeld`, or read it
   * in place at `data[frame.offset]` onwards, then `release()`. Throws as `peek` does.
   */
  hold(options?: BlockingOptions): number {
    return this.next(options) === ENDED ? -1 : this.frame.length;
  }

  /**
   * Consumer: copies the held message's payload into `target`, from byte `at` on (default 0); the message stays held
   * until `release()`. Never blocks.
   * @throws `Error` when no message is held; `RangeError`, and nothing copied, when it does not fit there.
   */
  copyHeld(target: Uint8Array, at = 0): void {
    const length = this.frame.length;
    if (this.peeked < 0 || !Number.isInteger(at) || at < 0 || at + length > target.length) {
      throw this.copyHeldRefusal(target, at);
    }
    const start = this.peekedAt + FRAME_HEADER_BYTES;
    if (length <= LOOP_COPY_OUT_BYTES) this.copyOutShort(target, at, start, length); // no view for a short payload
    else copyRange(target, at, this.keptView(start, length), length, NATIVE_COPY_OUT_BYTES);
  }

  /**
   * copyHeld's copy of a payload of up to LOOP_COPY_OUT_BYTES at `start`: four bytes a load, as copyInShort's. Each
   * byte is stored as one, 0 to 255: a JavaScript caller's Uint8ClampedArray clamps what it is given (a word's top
   * bytes made its first 255).
   */
  private copyOutShort(target: Uint8Array, at: number, start: number, length: number): void {
    const words = this.dataWords, first = start >> 2, whole = LITTLE_ENDIAN ? length & ~3 : 0;
    for (let i = 0; i < whole; i += 4) {
      const word = words[first + (i >> 2)]!;
      target[at + i] = word & 0xff;
      target[at + i + 1] = (word >>> 8) & 0xff;
      target[at + i + 2] = (word >>> 16) & 0xff;
      target[at + i + 3] = word >>> 24;
    }
    for (let i = whole; i < length; i++) target[at + i] = this.data[start + i]!;
  }

  /** copyHeld's error: an `at` that is no integer, no message held, or a target it does not fit in. */
  private copyHeldRefusal(target: Uint8Array, at: number): Error {
    // The argument first, the state after, as every call tells them
    const notAnOffset = atRefusal('copyHeld', at);
    if (notAnOffset !== undefined) return notAnOffset;
    if (this.peeked < 0) return new Error('copyHeld() without a message: hold() or peek() first');
    return new RangeError(`copyHeld(): ${aBytes(this.frame.length)} message does not fit in ${aBytes(target.length)} target at byte ${at}`);
  }

  /**
   * A view of `length` bytes at `start` in the data region, to copy from (`set()` and `fill()` take whole arrays). A
   * view costs 13 ns and an allocation (1 KiB copied out, one thread, the first VM of docs/PERFORMANCE.md, 2026-11-26:
   * 68 ns with a fresh view, 55 with one kept; `subarray()` costs more than the constructor), and a fresh view per
   * message is garbage per message. Messages of one size land on the same offsets lap after lap, so the views are kept,
   * one per slot (MAX_KEPT_VIEWS above): the table is made at the first copy, and holds up to 32,768 views (about 2.6
   * MB at some 80 bytes a view) for a stream of mixed sizes, one per frame start for a stream of one size. A payload
   * too short for its own slot gets a view of its own every time.
   */
  private keptView(start: number, length: number): Uint8Array {
    if (length < this.keptFrom) return new Uint8Array(this.buffer, RING_HEADER_BYTES + start, length);
    if (this.keptAt.length === 0) {
      this.keptViews = new Array<Uint8Array>(this.capacity >>> this.keptShift).fill(NO_VIEW);
      this.keptAt = new Int32Array(this.capacity >>> this.keptShift).fill(-1);
    }
    const slot = start >>> this.keptShift;
    let view = this.keptViews[slot]!;
    if (this.keptAt[slot] !== start || view.length !== length) {
      view = new Uint8Array(this.buffer, RING_HEADER_BYTES + start, length);
      this.keptViews[slot] = view;
      this.keptAt[slot] = start;
    }
    return view;
  }

  /**
   * Consumer: the next message as a fresh, non-shared copy (its header in `frame`), already released; null once the
   * ring is closed and drained. Blocks while the ring is empty. Throws as `peek` does.
   */
  read(options?: BlockingOptions): Uint8Array<ArrayBuffer> | null {
    const offset = this.next(options);
    if (offset === ENDED) return null;
    // Allocate and copy (copyHeld): `slice()` of a view over shared memory copied 4x slower than `set()` (30 µs against
    // 8 µs for 64 KiB, the first VM of docs/PERFORMANCE.md, 2026-11-25).
    const copy = new Uint8Array(this.frame.length);
    this.copyHeld(copy);
    this.release();
    return copy;
  }

  /**
   * Consumer: `read` for code that must keep its event loop; waits with `Atomics.waitAsync`, never blocking the
   * thread. Several may be pending, each for a message of its own. Rejects with what `read` throws, and with an
   * `Error` when, while it waited, a `peek` or `peekAsync` took the next message and holds it.
   */
  async readAsync(options?: BlockingOptions): Promise<Uint8Array<ArrayBuffer> | null> {
    const deadline = deadlineFor(options);
    while (!this.hasMessage()) {
      await this.arrival(deadline, options, 'readAsync');
      this.refuseHeld('readAsync');
    }
    return this.read(); // no await since the last look: another pending readAsync() cannot have taken the message
  }

  /**
   * Consumer: `peek` for code that must keep its event loop: a view of the next message in place, without a copy or
   * an allocation of its size; `release()` it when done. Rejects as `readAsync` does.
   */
  async peekAsync(options?: BlockingOptions): Promise<Uint8Array | null> {
    const deadline = deadlineFor(options);
    while (!this.hasMessage()) {
      await this.arrival(deadline, options, 'peekAsync');
      this.refuseHeld('peekAsync');
    }
    return this.peek();
  }

  /**
   * One wait with `Atomics.waitAsync` for the producer to publish, after `hasMessage()` said false (which read the
   * head it waits to see move). The caller looks again, and takes the message in the same synchronous step as its last
   * look: after any await, another async read of this consumer may have taken what was there.
   */
  private arrival(deadline: number, options: BlockingOptions | undefined, op: string): Promise<void> {
    return this.waiter.waitAsync(HEAD, this.cachedHead, READER_ASLEEP, deadline, options?.timeoutMs, op);
  }

  /**
   * After an async read's wait: a message held now was taken while it waited, by a peek() or by another pending
   * peekAsync() whose caller has it still. Taking it too would hand one message out twice, and release it under its
   * borrower. (A message held before the call began is the call's to take, as a peek again or a read after a peek.)
   */
  private refuseHeld(op: string): void {
    if (this.peeked >= 0) {
      throw new Error(`${op}(): while it waited, another read took the next message and holds it ` +
        '(peekAsync or peek); release() it first: each pending async read takes a message of its own');
    }
  }

  /**
   * Consumer: true when a message (or the end of the stream) can be taken without blocking.
   * The answer can be late: the producer may publish a message just after it said false.
   * @throws `AbortedError` on an aborted ring with nothing left to read; `CorruptFrameError` for a bad frame header.
   */
  hasMessage(): boolean {
    if (this.peeked >= 0) return true;
    return this.poll() !== EMPTY;
  }

  /**
   * Anyone: true once `abort()` was called, by either side or by a third party. A false can be stale at once; a true
   * stays true.
   */
  get aborted(): boolean {
    return this.waiter.aborted;
  }

  /**
   * Anyone: aborts the ring for good. Every waiter on either side wakes and throws `AbortedError`, and so does every
   * later call that would block. A call that need not block still does its work (a write that finds room writes, a
   * read of a message already there reads it): an abort is for waking threads that would otherwise wait for good.
   */
  abort(): void {
    Atomics.or(this.words, STATE, ABORTED);
    // Whatever the sleeper flags say: a rare call. The woken find HEAD and TAIL unmoved and look at STATE; a waiter
    // that this notify misses, as it comes just before the sleep, notices within a slice (src/wait.ts, PARK_SLICE_MS).
    Atomics.notify(this.words, HEAD);
    Atomics.notify(this.words, TAIL);
  }

  /**
   * Finds the next frame without blocking: its header's offset (and `frame` filled in), EMPTY, or ENDED.
   * Steps over WRAP markers. The header comes from shared memory, so it is checked before it is believed.
   */
  private poll(): number {
    for (;;) {
      if (this.tail === this.cachedHead) {
        if (this.lookAgain()) continue;
        return EMPTY;
      }
      const offset = this.tail & this.mask;
      const at = offset >> 2;
      const kind = this.dataWords[at + 1]!;
      // One comparison for the common case, a message frame whatever its type byte; the rest is the slow path.
      if ((kind & ~TYPE_BITS) !== MESSAGE_KIND) {
        if (this.endOrStepOver(kind, offset)) return ENDED;
        continue; // a wrap marker, stepped over
      }
      const length = this.dataWords[at]!;
      const frameBytes = FRAME_HEADER_BYTES + align8(length);
      if (length > this.maxMessage || frameBytes > this.capacity - offset || frameBytes > ((this.cachedHead - this.tail) | 0)) {
        throw this.lengthError(offset, length);
      }
      const frame = this.frame;
      frame.offset = offset + FRAME_HEADER_BYTES;
      frame.length = length;
      frame.type = (kind & TYPE_BITS) >>> 8;
      frame.tag = this.dataWords[at + 2]! | 0;
      frame.aux = this.dataWords[at + 3]!;
      this.polled = frameBytes;
      return offset;
    }
  }

  /**
   * poll's slow path when the ring looks empty: reloads HEAD; when it is still empty, checks for an abort and, on a
   * corked side, publishes what it held back (the room it freed, our own messages if we write too) before waiting.
   * True when there may be more to read now (poll looks again).
   */
  private lookAgain(): boolean {
    this.cachedHead = Atomics.load(this.words, HEAD);
    if (this.tail !== this.cachedHead) {
      // Checked as it is loaded: a HEAD more than the ring ahead (or behind, unsigned) would have the frames of laps
      // past read as new ones, and a counter that is no multiple of 8 (TAIL as a consumer attached) frames read from
      // the middle of others
      if (((this.cachedHead - this.tail) >>> 0) > this.capacity || ((this.cachedHead | this.tail) & 7) !== 0) {
        throw this.countersError();
      }
      return true;
    }
    if (this.waiter.aborted) throw new AbortedError('read'); // every consumer call reads, whatever its name
    return this.publishHeldBack();
  }

  /**
   * poll's slow path for a header that is not a message's: true at the end of the stream; steps over a wrap marker
   * (moves TAIL past it and publishes it) and answers false; throws on anything else, which no producer writes. A
   * producer wraps only where a frame does not fit before the end, never at offset 0, and its HEAD is past the
   * skipped bytes: a marker elsewhere would send TAIL past HEAD (or, at 0, round the ring for ever). An end marker is
   * the last frame a producer writes: one with bytes published after it (a message's kind word overwritten) would end
   * the stream there, and drop them without a word. A marker's type byte is 0: a message's kind byte overwritten
   * (1 to 3 is one bit) leaves a Sender's type, 1 and up.
   */
  private endOrStepOver(kind: number, offset: number): boolean {
    if (kind >>> 16 !== FRAME_MAGIC) {
      throw new CorruptFrameError(offset, `bad marker 0x${(kind >>> 16).toString(16)} (expected 0x${FRAME_MAGIC.toString(16)})`);
    }
    const frameKind = kind & 0xff;
    if ((kind & TYPE_BITS) !== 0 && (frameKind === KIND_END || frameKind === KIND_WRAP)) {
      const marker = frameKind === KIND_END ? 'an end' : 'a wrap';
      throw new CorruptFrameError(offset, `${marker} marker with the type byte ${(kind & TYPE_BITS) >>> 8} (markers have 0)`);
    }
    if (frameKind === KIND_END) {
      this.cachedHead = Atomics.load(this.words, HEAD);
      const published = (this.cachedHead - this.tail) | 0;
      if (published !== FRAME_HEADER_BYTES) {
        throw new CorruptFrameError(offset, `an end marker where ${published} bytes are published, not its own ${FRAME_HEADER_BYTES} (close() writes nothing after it)`);
      }
      return true;
    }
    if (frameKind !== KIND_WRAP) throw new CorruptFrameError(offset, `unknown kind ${frameKind}`);
    const skipped = this.capacity - offset;
    const published = (this.cachedHead - this.tail) | 0;
    if (offset === 0) throw new CorruptFrameError(offset, 'a wrap marker at the start of the ring');
    if (skipped > published) {
      throw new CorruptFrameError(offset, `a wrap marker that skips ${skipped} bytes, where ${published} are published`);
    }
    this.tail = (this.tail + skipped) | 0;
    this.publishTail();
    return false;
  }

  /**
   * lookAgain's error: a counter that is no multiple of 8, or HEAD further from TAIL than a producer can be (a counter
   * overwritten).
   */
  private countersError(): CorruptFrameError {
    const head = this.cachedHead, tail = this.tail, ahead = (head - tail) | 0;
    const problem = (tail & 7) !== 0 ? `TAIL ${tail} is not a multiple of 8, as every frame's start is`
      : (head & 7) !== 0 ? `HEAD ${head} is not a multiple of 8, as every frame's start is`
      : ahead < 0 ? `HEAD ${head} is ${-ahead} bytes behind TAIL ${tail}`
      : `HEAD ${head} is ${ahead} bytes ahead of TAIL ${tail}, more than the ${this.capacity} the ring holds`;
    return new CorruptFrameError(tail & this.mask, problem);
  }

  /** The error for a message header whose length cannot be right. */
  private lengthError(offset: number, length: number): CorruptFrameError {
    const available = Math.min(this.capacity - offset, (this.cachedHead - this.tail) | 0);
    return new CorruptFrameError(offset, `length ${length} does not fit (maxMessage ${this.maxMessage}, ${available} bytes available)`);
  }

  /** Gives consumed bytes back; the mirror of `publishHead` (see the memory-ordering argument there). */
  private publishTail(): void {
    this.publishedTail = this.tail;
    this.unreleased = 0;
    Atomics.store(this.words, TAIL, this.tail);
    if (Atomics.load(this.words, WRITER_ASLEEP) !== 0) Atomics.notify(this.words, TAIL);
  }
}

const EMPTY = -1;
const ENDED = -2;

/** True where a word's low byte comes first in memory (x64, arm64): the short copies put four bytes in a word so. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Refuses a ring size that is not a power of two from MIN_RING_BYTES to MAX_RING_BYTES. */
function checkRingSize(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < MIN_RING_BYTES || bytes > MAX_RING_BYTES || (bytes & (bytes - 1)) !== 0) {
    throw new RangeError(
      `Expected the ring size to be a power of two from ${MIN_RING_BYTES} to ${MAX_RING_BYTES} bytes, got ${describe(bytes)}`,
    );
  }
}

/** Writes a fresh header for a ring of `bytes` at the start of `buffer`: counters, flags and state zero. */
function layOut(buffer: SharedArrayBuffer, bytes: number): void {
  const words = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
  words.fill(0);
  words[CAPACITY] = bytes;
  words[LAYOUT] = LAYOUT_MAGIC;
}

function kindWord(kind: number, type: number): number {
  return ((FRAME_MAGIC << 16) | ((type & 0xff) << 8) | kind) >>> 0;
}

/** The bytes of a view to write; a view whose buffer was transferred away is refused, not sent as 0 bytes. */
function asBytes(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array && view.length > 0 ? view : bytesOfView(view); // the common case, inlined
}

function bytesOfView(view: ArrayBufferView): Uint8Array {
  let bytes: Uint8Array;
  if (view instanceof Uint8Array) {
    bytes = view;
  } else if (!ArrayBuffer.isView(view)) {
    throw new TypeError(`Expected a typed array or DataView to write, got ${describe(view)}`);
  } else {
    try {
      bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength); // a detached DataView throws here
    } catch (err) {
      if (isDetached(view.buffer)) throw detachedError(view);
      throw isOutOfBounds(view) ? outOfBoundsError(view) : err; // a DataView outside a resizable buffer throws too
    }
  }
  if (bytes.length > 0) return bytes;
  // A detached typed array reads 0 bytes, over a buffer of 0 bytes: only then is it worth asking (Node 20 asks by
  // making a view, an allocation, which a message of 0 bytes over a buffer of its own pays). So does one outside its
  // resizable buffer, which shrank below it.
  if (bytes.buffer.byteLength === 0 && isDetached(bytes.buffer)) throw detachedError(view);
  if (isOutOfBounds(view)) throw outOfBoundsError(view);
  return bytes;
}

function detachedError(view: ArrayBufferView): TypeError {
  const what = `${describe(view)} whose ArrayBuffer is detached`;
  return new TypeError(`Expected a view to write, got ${what} (its memory was transferred away)`);
}

function outOfBoundsError(view: ArrayBufferView): TypeError {
  const what = `${describe(view)} out of bounds of its resizable ArrayBuffer`;
  return new TypeError(`Expected a view to write, got ${what} (the buffer shrank below it)`);
}

/** Exposed for tests that corrupt a header on purpose, and for the shared transport, which reads TAIL to report one. */
export const RING_LAYOUT = { HEAD, TAIL, READER_ASLEEP, WRITER_ASLEEP, STATE, FRAME_MAGIC } as const;
