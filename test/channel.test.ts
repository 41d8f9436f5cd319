import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_CHANNEL_MESSAGE, Receiver, Sender } from '../src/channel.js';
import { encode, TYPE } from '../src/codec.js';
import { CorruptFrameError, TimeoutError } from '../src/errors.js';
import { RingBuffer } from '../src/ring.js';
import { bothOrAbort, errorOf, Float16, nestedList, prng, runWorker, testSeed } from './helpers.js';

test('one thread: a message of 3.5 rings in quarter-ring chunks, as the same type', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  assert.is(sender.chunkBytes, 1024);
  const values = Float64Array.from({ length: 280 }, (_, i) => i / 3); // 2240 bytes: 3 chunks
  sender.send(values, 9);
  // The first chunk's header has the CHUNKED bit in its type; peekMeta says the codec's type and the whole length
  assert.equal({ ...receiver.peekMeta()! }, { type: TYPE.float64, tag: 9, bytes: 2240 });
  const got = receiver.recv<Float64Array>()!;
  assert.is(got.tag, 9);
  assert.instance(got.value, Float64Array);
  assert.equal(Array.from(got.value), Array.from(values));
});

test('recvInto copies into a buffer; a message that does not fit stays for recv()', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  sender.send(Int32Array.of(1, 2, 3), 4);
  const into = new Int32Array(8);
  const first = receiver.recvInto(into)!;
  assert.equal(first, { bytes: 12, tag: 4 });
  assert.equal(Array.from(into), [1, 2, 3, 0, 0, 0, 0, 0]);
  sender.send(Int32Array.of(9), -2);
  const peeked = receiver.peekMeta()!;
  assert.equal(peeked, { type: TYPE.int32, tag: -2, bytes: 4 });
  const second = receiver.recvInto(into)!;
  assert.is(second, first, 'one answer object per receiver: no allocation per message');
  assert.equal(second, { bytes: 4, tag: -2 });
  assert.equal(Array.from(into), [9, 2, 3, 0, 0, 0, 0, 0]);
  sender.send(new Uint8Array(100));
  assert.is(receiver.peekMeta(), peeked, 'one peekMeta answer per receiver, filled again');
  assert.equal(peeked, { type: TYPE.uint8, tag: 0, bytes: 100 });
  assert.is(errorOf(() => receiver.recvInto(new Uint8Array(10))).message,
    'recvInto(): a 100-byte message does not fit in a 10-byte target');
  assert.is(receiver.recv<Uint8Array>()!.value.length, 100);
  sender.send({ an: 'object' });
  assert.is(errorOf(() => receiver.recvInto(into)).message,
    'recvInto() needs a typed array, DataView or ArrayBuffer message, got a serialized value: use recv()');
  assert.equal(receiver.recv()!.value, { an: 'object' });
  const others = [
    [1.5, 'a number'], [true, 'undefined, null or a boolean'], ['abc', 'a string'], [5n, 'a bigint'],
  ] as const;
  for (const [value, got] of others) {
    sender.send(value);
    assert.is(errorOf(() => receiver.recvInto(into)).message,
      `recvInto() needs a typed array, DataView or ArrayBuffer message, got ${got}: use recv()`);
    assert.is(receiver.recv()!.value, value);
  }
});

test('recv of short arrays and values, read where they lie: every kind byte for byte, in memory of its own', () => {
  const seed = testSeed('channel short messages');
  const random = prng(seed);
  const ring = RingBuffer.create(1024); // laps many times: messages land at every offset
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const kinds = [
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array,
    Float64Array, BigInt64Array, BigUint64Array, ...(Float16 === undefined ? [] : [Float16]),
  ];
  // Bit patterns that a copy as numbers could change (recv's slice() copies bytes, as the spec asks of one kind),
  // low word first: two Float64 NaNs (a signalling one, a negative one with a payload), then two Float32 ones (a
  // signalling one, which x64 quiets as it widens it to a double, and a quiet one with a payload); as float16 they
  // hold NaNs with payloads too (0x7ff0, 0x7f80, 0x7fc0).
  const nans = Uint32Array.of(1, 0x7ff00000, 0x12345, 0xfff80000, 0x7f800001, 0x7fc00001);
  const values: unknown[] = [1.5, -0, NaN, 'a\ud800b', '', 2n ** 63n - 1n, -(2n ** 63n), null, true, undefined, false];
  for (let round = 0; round < 200; round++) {
    const Kind = kinds[round % kinds.length]!;
    const bytes = 8 * Math.floor(random() * 10); // 0 to 72 bytes: sliced up to 64, through a view above
    const sent = new Kind(bytes / Kind.BYTES_PER_ELEMENT);
    const sentBytes = new Uint8Array(sent.buffer);
    for (let i = 0; i < bytes; i++) sentBytes[i] = random() * 256;
    if (bytes >= 24 && round % 2 === 0) sentBytes.set(new Uint8Array(nans.buffer).subarray(0, bytes === 24 ? 16 : 24));
    const value = values[round % values.length];
    sender.send(sent, round);
    sender.send(value, round);
    const got = receiver.recv<ArrayBufferView>()!;
    assert.is(got.tag, round);
    assert.instance(got.value, Kind, `round ${round}`);
    assert.instance(got.value.buffer, ArrayBuffer, 'not shared');
    const gotBytes = new Uint8Array(got.value.buffer, got.value.byteOffset, got.value.byteLength);
    assert.equal(gotBytes, sentBytes, `round ${round}: ${Kind.name}`);
    const other = receiver.recv()!;
    assert.ok(Object.is(other.value, value), `round ${round}: ${String(value)}`);
    assert.is(other.tag, round);
    sender.send(new Uint8Array(bytes).fill(0xee)); // over the bytes the array came from, once the ring laps
    receiver.recv();
    assert.equal(gotBytes, sentBytes, 'its own');
  }
});

test("a callback that encodes and sends while a send waits leaves that send's value as it was", () => {
  const sent = 'abcdefghijklmnopqrstuvwxyz012345'; // 32 code units: 64 bytes, the longest string of its own code
  // The ring's onWait makes room by receiving (it decodes a number), and sends a string on another ring.
  const ring = RingBuffer.create(64); // two 24-byte frames fit
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const other = RingBuffer.create(4096);
  const otherSender = new Sender(other);
  const received: unknown[] = [];
  const onWait = (waiting: boolean) => {
    if (!waiting) return;
    received.push(receiver.recv()!.value);
    otherSender.send('Z'.repeat(32));
  };
  const sender = new Sender(RingBuffer.attach(ring.buffer, { strategy: 'park', onWait }));
  for (const value of [1, 2, 3.5, 2n ** 60n, true]) sender.send(value, 0, { timeoutMs: 10_000 }); // fails, not hangs
  while (receiver.hasMessage()) received.push(receiver.recv()!.value);
  assert.equal(received, [1, 2, 3.5, 2n ** 60n, true]);
  // onMessage runs after a chunked message's first chunk, before the others are written: it encodes a string.
  const chunked = new Sender(other, { chunkBytes: 8, onMessage: () => encode('Z'.repeat(32)) });
  chunked.send(sent, 1);
  const otherReceiver = new Receiver(RingBuffer.attach(other.buffer));
  while (otherReceiver.peekMeta()!.tag !== 1) otherReceiver.recv();
  assert.equal(otherReceiver.recv(), { value: sent, tag: 1 });
});

test('a callback that throws between two chunks leaves the rest for flush(); one that sends on the same Sender is refused', () => {
  // onMessage throws after the first chunk is out: the rest is kept, and nothing else goes before it
  const ring = RingBuffer.create(4096);
  let broken = true;
  const onMessage = () => {
    if (broken) throw new Error('doorbell broke');
  };
  const sender = new Sender(ring, { chunkBytes: 64, onMessage });
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const sent = Float64Array.from({ length: 20 }, (_, i) => i + 0.5); // 160 bytes: 3 chunks
  assert.is(errorOf(() => sender.send(sent, 3)).message, 'doorbell broke');
  assert.is(sender.pendingBytes, 96);
  assert.is(errorOf(() => sender.send(42)).message,
    'send() while 96 bytes of a message that was cut short are still to go: flush() them first');
  broken = false;
  sender.flush();
  sender.send(42, 4);
  const got = receiver.recv<Float64Array>()!;
  assert.equal([Array.from(got.value), got.tag], [Array.from(sent), 3]);
  assert.equal(receiver.recv(), { value: 42, tag: 4 });

  // The ring's onWait throws while a chunk waits for room: the same. Later waits drain what the ring holds.
  const small = RingBuffer.create(512);
  const drain = new Receiver(RingBuffer.attach(small.buffer));
  let cancel = true;
  const drained: string[] = [];
  const onWait = (waiting: boolean) => {
    if (!waiting) return;
    if (cancel) {
      cancel = false;
      throw new Error('cancelled');
    }
    const taken = errorOf(() => drain.recv({ timeoutMs: 0 })); // takes the chunks there are, keeps them for later
    assert.instance(taken, TimeoutError);
    drained.push(taken.message);
  };
  const waiting = new Sender(RingBuffer.attach(small.buffer, { onWait }), { chunkBytes: 64 });
  const bytes = Uint8Array.from({ length: 800 }, (_, i) => i % 251);
  assert.is(errorOf(() => waiting.send(bytes, 5)).message, 'cancelled');
  assert.is(waiting.pendingBytes, 800 - 6 * 64); // six 80-byte frames fit in 512 bytes
  waiting.flush();
  const arrived = (bytes: number) =>
    `recv timed out after 0 ms: ${bytes} of an 800-byte message's bytes arrived; the next receive finishes it`;
  assert.equal(drained, [arrived(6 * 64), arrived(12 * 64)], 'flush() waited twice, each time for a ring of chunks');
  assert.equal(drain.recv(), { value: bytes, tag: 5 });

  // A callback that sends on the Sender whose send it runs in is refused: its value would take the other's place.
  const full = RingBuffer.create(64); // two frames of a number
  const reader = new Receiver(RingBuffer.attach(full.buffer));
  let inner: Sender | undefined;
  const reentering = (on: boolean) => {
    if (on) inner!.send(99);
  };
  inner = new Sender(RingBuffer.attach(full.buffer, { strategy: 'park', onWait: reentering }));
  inner.send(1);
  inner.send(2);
  assert.is(errorOf(() => inner!.send(3, 0, { timeoutMs: 10_000 })).message,
    'send() on a Sender in the middle of its own send (from its onMessage or its ring\'s onWait): only other Senders may send there');
  assert.equal([reader.recv()!.value, reader.recv()!.value, reader.hasMessage()], [1, 2, false]);
  inner.send(4); // no longer in a send: it goes
  assert.equal(reader.recv(), { value: 4, tag: 0 });
  // A callback that catches the refusal: the send under way goes on with its own value, which the refused one did not
  // get to overwrite
  const quiet = RingBuffer.create(64);
  const quietReader = new Receiver(RingBuffer.attach(quiet.buffer));
  let refusals = 0;
  let catching: Sender | undefined;
  const swallowing = (on: boolean) => {
    if (!on) return;
    try {
      catching!.send(99);
    } catch {
      refusals++;
    }
    quietReader.recv(); // makes room
  };
  catching = new Sender(RingBuffer.attach(quiet.buffer, { strategy: 'park', onWait: swallowing }));
  for (const value of [1, 2, 3]) catching.send(value, 0, { timeoutMs: 10_000 });
  assert.equal([refusals, quietReader.recv()!.value, quietReader.recv()!.value, quietReader.hasMessage()], [1, 2, 3, false]);
});

test("a send a ring's abort stops keeps nothing; a getter may send on the Sender whose send encodes its object", () => {
  let ring: RingBuffer | undefined;
  ring = RingBuffer.create(256, { onWait: (waiting) => waiting && ring!.abort() }); // aborted as a chunk waits
  const sender = new Sender(ring, { chunkBytes: 64 });
  assert.is(errorOf(() => sender.send(new Uint8Array(500).fill(1))).name, 'AbortedError');
  assert.is(sender.pendingBytes, 0); // nothing to flush into a ring that takes nothing more
  assert.is(errorOf(() => sender.send(1)).name, 'AbortedError');
  // An onMessage that aborts the ring and throws, after a message's first chunk: nothing kept either
  const other = RingBuffer.create(4096);
  const stopping = new Sender(other, { chunkBytes: 64, onMessage: () => { other.abort(); throw new Error('stop'); } });
  assert.is(errorOf(() => stopping.send(new Uint8Array(500))).message, 'stop');
  assert.is(stopping.pendingBytes, 0);
  // An onMessage that only aborts: the chunks after it are not written where nobody reads (the send says so)
  const quiet = RingBuffer.create(4096);
  const aborting = new Sender(quiet, { chunkBytes: 64, onMessage: () => quiet.abort() });
  assert.is(errorOf(() => aborting.send(new Uint8Array(500))).name, 'AbortedError');
  assert.is(aborting.pendingBytes, 0);
  // An onWait that aborts, then throws an error of its own: nothing kept either (a seeded fuzz found 808 bytes kept)
  let full: RingBuffer | undefined;
  full = RingBuffer.create(256, { onWait: (waiting) => { if (waiting) { full!.abort(); throw new Error('boom'); } } });
  const thrower = new Sender(full, { chunkBytes: 64 });
  assert.is(errorOf(() => thrower.send(new Uint8Array(1000))).message, 'boom');
  assert.is(thrower.pendingBytes, 0);
  // A message a timeout cut short, whose ring is aborted before flush(): flush throws AbortedError and keeps nothing
  const cut = RingBuffer.create(256);
  const cutShort = new Sender(cut, { chunkBytes: 64 });
  assert.instance(errorOf(() => cutShort.send(new Uint8Array(500), 0, { timeoutMs: 0 })), TimeoutError);
  assert.is(cutShort.pendingBytes, 500 - 3 * 64); // three frames of 80 bytes fit
  cut.abort();
  assert.is(errorOf(() => cutShort.flush()).name, 'AbortedError');
  assert.is(cutShort.pendingBytes, 0);
  assert.is(errorOf(() => cutShort.send(1)).name, 'AbortedError');
  // A value's getter runs as the value is encoded, before this Sender writes anything: it may send on it.
  const plain = RingBuffer.create(4096);
  const receiver = new Receiver(RingBuffer.attach(plain.buffer));
  const sending = new Sender(plain);
  sending.send({ get x() { sending.send(7, 1); return 2; } }, 2);
  assert.equal([receiver.recv(), receiver.recv()], [{ value: 7, tag: 1 }, { value: { x: 2 }, tag: 2 }]);
});

test("a receive whose ring's onWait throws between two chunks keeps what arrived, as a timeout does", () => {
  let refuse = false;
  const ring = RingBuffer.create(1024);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer, { onWait: (waiting) => { if (waiting && refuse) throw new Error('not now'); } }));
  const sender = new Sender(ring, { chunkBytes: 64 });
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 253);
  assert.is(errorOf(() => sender.send(bytes, 5, { timeoutMs: 5 })).name, 'TimeoutError'); // 12 chunks of 16 went
  assert.is(sender.pendingBytes, 1000 - 12 * 64);
  refuse = true;
  assert.is(errorOf(() => receiver.recv()).message, 'not now'); // took what there was, then waited
  refuse = false;
  sender.flush();
  assert.equal(receiver.recv(), { value: bytes, tag: 5 }); // whole (the stream was wedged: corrupt frames for ever)
  assert.is(receiver.hasMessage(), false);
});

test('recv of a short array is a plain one of its kind even where a program gave the kind a species of its own', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  class Tracked extends Float64Array {}
  // slice() makes its copy with the species: a program's may be a subclass, or an array over shared memory
  const shared = () => new Float64Array(new SharedArrayBuffer(64));
  for (const species of [Tracked, shared]) {
    Object.defineProperty(Float64Array, Symbol.species, { value: species, configurable: true });
    try {
      sender.send(Float64Array.of(1.5, 2.5));
      const got = receiver.recv<Float64Array>()!.value;
      assert.is(Object.getPrototypeOf(got), Float64Array.prototype);
      assert.instance(got.buffer, ArrayBuffer);
      assert.equal(Array.from(got), [1.5, 2.5]);
    } finally {
      delete (Float64Array as { [Symbol.species]?: unknown })[Symbol.species]; // %TypedArray%'s again
    }
  }
});

test('a short message whose length its kind cannot have is refused by recv, and stays', () => {
  const cases: [number, number, string][] = [
    [TYPE.int32, 6, 'Int32Array needs a byte length that is a multiple of 4, got 6'],
    [TYPE.float64, 12, 'Float64Array needs a byte length that is a multiple of 8, got 12'],
    [TYPE.number, 7, 'A number needs 8 bytes, got 7'],
    [TYPE.bigint, 16, 'A bigint needs 8 bytes, got 16'],
    [TYPE.constant, 2, 'A constant needs 1 byte from 0 to 3, got 2 bytes'],
    [TYPE.string, 3, 'A short string needs an even number of bytes, 64 at most, got 3'],
  ];
  for (const [type, length, message] of cases) {
    const ring = RingBuffer.create(1024);
    ring.write(new Uint8Array(length), { type, tag: 5 });
    const receiver = new Receiver(RingBuffer.attach(ring.buffer));
    assert.is(errorOf(() => receiver.recv()).message, message);
    assert.equal(receiver.peekMeta(), { type, tag: 5, bytes: length }, 'still there');
  }
});

test('a value nested deeper than this thread can read is taken all the same: the next recv gets the next message', () => {
  // V8 writes plain objects about 3,000 deep and reads about 1,900 (this thread's stack): the first recv throws, and,
  // as on the postMessage transports, the message is gone. Before, it stayed, and every recv threw again.
  const deep = nestedList(2500);
  for (const ringBytes of [1 << 20, 64 * 1024]) { // one frame; three chunks of 16 KiB, all in the ring at once
    const ring = RingBuffer.create(ringBytes);
    const sender = new Sender(ring);
    const receiver = new Receiver(RingBuffer.attach(ring.buffer));
    sender.send(deep, 1);
    sender.send('next', 2);
    assert.is(errorOf(() => receiver.recv()).message, 'Maximum call stack size exceeded', `${ringBytes}-byte ring`);
    assert.equal(receiver.recv(), { value: 'next', tag: 2 }, `${ringBytes}-byte ring`);
  }
});

test('recvInto into one target again and again: after its buffer is transferred, refused; as it grows, filled whole', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const into = new Float64Array(2);
  sender.send(Float64Array.of(1, 2));
  sender.send(Float64Array.of(3, 4));
  assert.equal(receiver.recvInto(into), { bytes: 16, tag: 0 });
  assert.equal(Array.from(into), [1, 2]);
  structuredClone(into.buffer, { transfer: [into.buffer] });
  assert.is(errorOf(() => receiver.recvInto(into)).message, 'recvInto(): a 16-byte message does not fit in a 0-byte target');
  const kept = new Float64Array(2);
  assert.equal(receiver.recvInto(kept), { bytes: 16, tag: 0 }); // the message stayed
  assert.equal(Array.from(kept), [3, 4]);
  // A view that tracks a resizable buffer is measured at every call.
  const resizable = new ArrayBuffer(8, { maxByteLength: 64 });
  const tracking = new Float64Array(resizable);
  sender.send(Float64Array.of(5));
  sender.send(Float64Array.of(6, 7, 8));
  assert.equal(receiver.recvInto(tracking), { bytes: 8, tag: 0 });
  resizable.resize(24);
  assert.equal(receiver.recvInto(tracking), { bytes: 24, tag: 0 });
  assert.equal(Array.from(tracking), [6, 7, 8]);
});

test('recvInto into a DataView whose memory is gone: a 0-byte target, as a typed array is, the first time too', () => {
  // Its byteLength throws where a typed array's reads 0: recvInto threw V8's TypeError ('... on a detached
  // ArrayBuffer', for one out of bounds too), unless the same DataView had been its last target (then a RangeError).
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const buffer = new ArrayBuffer(16);
  const detached = new DataView(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  const resizable = new ArrayBuffer(16, { maxByteLength: 16 });
  const outside = new DataView(resizable, 8, 8);
  resizable.resize(4);
  for (const target of [detached, outside]) {
    sender.send(new Uint8Array(4), 1);
    assert.is(errorOf(() => receiver.recvInto(target)).message, 'recvInto(): a 4-byte message does not fit in a 0-byte target');
    assert.equal({ ...receiver.recvInto(new Uint8Array(4))! }, { bytes: 4, tag: 1 }, 'the message stayed');
    sender.send(new Uint8Array(0), 2);
    assert.equal({ ...receiver.recvInto(target)! }, { bytes: 0, tag: 2 });
  }
});

test('one array sent again and again: each message carries its contents at send time; detached, refused; resized, resent', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const values = new Float64Array(4);
  for (let i = 0; i < 5; i++) {
    values.fill(i);
    sender.send(values, i);
  }
  for (let i = 0; i < 5; i++) {
    const got = receiver.recv<Float64Array>()!;
    assert.equal([got.tag, ...got.value], [i, i, i, i, i]);
  }
  // Detached by a transfer: refused as encode() refuses it, although this very array was sent before.
  structuredClone(values.buffer, { transfer: [values.buffer] });
  assert.is(errorOf(() => sender.send(values)).message, 'a detached ArrayBuffer cannot be sent: only values that ' +
    'structured clone accepts can travel (its memory was transferred away)');
  // A view that tracks a resizable buffer: each send takes its length at that moment.
  const resizable = new ArrayBuffer(8, { maxByteLength: 64 });
  const tracking = new Uint8Array(resizable).fill(1);
  sender.send(tracking);
  resizable.resize(16);
  tracking.fill(2);
  sender.send(tracking);
  resizable.resize(4);
  sender.send(tracking);
  assert.equal(Array.from(receiver.recv<Uint8Array>()!.value), Array(8).fill(1));
  assert.equal(Array.from(receiver.recv<Uint8Array>()!.value), Array(16).fill(2));
  assert.equal(Array.from(receiver.recv<Uint8Array>()!.value), Array(4).fill(2));
  // Values that are serialized are encoded afresh each time: a changed object arrives changed.
  const object = { n: 1 };
  sender.send(object);
  object.n = 2;
  sender.send(object);
  sender.send(undefined);
  sender.send(undefined);
  assert.equal(receiver.recv()!.value, { n: 1 });
  assert.equal(receiver.recv()!.value, { n: 2 });
  assert.is(receiver.recv()!.value, undefined);
  assert.is(receiver.recv()!.value, undefined);
});

test('on a large ring, chunks of 256 KiB: a message of one chunk is one frame, a larger one is chunked', () => {
  const ring = RingBuffer.create(4 * 2 ** 20);
  const sender = new Sender(ring);
  const raw = RingBuffer.attach(ring.buffer); // reads the frames one by one
  assert.is(sender.chunkBytes, 256 * 1024);
  assert.is(new Sender(RingBuffer.create(65536)).chunkBytes, 16384, 'a quarter of a smaller ring');
  const parking = RingBuffer.attach(ring.buffer, { strategy: 'park' });
  assert.is(parking.strategy, 'park');
  assert.is(new Sender(parking).chunkBytes, 2 ** 20, 'a quarter of a ring that parks, whatever its size');
  assert.is(new Sender(ring, { chunkBytes: 100_000 }).chunkBytes, 100_000, 'as set');
  const frames = (): number[][] => {
    const seen: number[][] = [];
    for (let length = raw.hold({ timeoutMs: 0 }); ; length = raw.hold({ timeoutMs: 0 })) {
      seen.push([length, raw.frame.type, raw.frame.aux]);
      raw.release();
      if (!raw.hasMessage()) return seen;
    }
  };
  sender.send(new Uint8Array(256 * 1024));
  assert.equal(frames(), [[262144, TYPE.uint8, 0]]);
  const values = Float64Array.from({ length: 300 * 128 }, (_, i) => i * 0.5); // 300 KiB
  sender.send(values, 3);
  // The first chunk's type carries the CHUNKED bit (0x80) and the total in aux; the next is a CONTINUATION (0x7f).
  assert.equal(frames(), [[262144, TYPE.float64 | 0x80, 307200], [45056, 0x7f, 0]]);
  const receiver = new Receiver(raw); // reassembled, the same message again
  sender.send(values, 3);
  const got = receiver.recv<Float64Array>()!;
  assert.is(got.tag, 3);
  assert.equal(Array.from(got.value), Array.from(values));
});

test('recvView lends a view in place until release()', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  sender.send(Float64Array.of(4, 5));
  const { value } = receiver.recvView<Float64Array>()!;
  assert.ok(value.buffer instanceof SharedArrayBuffer);
  assert.equal(Array.from(value), [4, 5]);
  assert.is(errorOf(() => receiver.recvView()).message, 'recvView() while holding a view: release() it first');
  assert.is(errorOf(() => receiver.recv()).message, 'recv() while holding a view: release() it first');
  assert.is(errorOf(() => receiver.recvInto(new Float64Array(2))).message, 'recvInto() while holding a view: release() it first');
  assert.is(receiver.hasMessage(), false);
  receiver.release();
  receiver.release(); // harmless without a view
  sender.send('a string comes back owned');
  assert.is(receiver.recvView()!.value, 'a string comes back owned');
  receiver.release();
  const expected = (got: string) =>
    `Expected \`chunkBytes\` to be a multiple of 8 from 8 to 2032 (half a 4096-byte ring, less a frame header), got ${got}`;
  for (const [chunkBytes, got] of [[5, '5'], [100, '100'], [2040, '2040'], [NaN, 'NaN'], ['64', '"64"']] as const) {
    assert.is(errorOf(() => new Sender(ring, { chunkBytes: chunkBytes as number })).message, expected(got));
  }
});

test('recvView of a chunked typed array: assembled in one kept buffer, lent until release(); above maxMessage, owned', () => {
  const ring = RingBuffer.create(4 * 2 ** 20); // chunks of 256 KiB, maxMessage 2 MiB - 16
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const values = (length: number, seed: number) => Float64Array.from({ length }, (_, i) => seed + i / 7);
  sender.send(values(40_000, 1), 5); // 320,000 bytes: two chunks
  const first = receiver.recvView<Float64Array>()!;
  assert.is(first.tag, 5);
  assert.instance(first.value, Float64Array);
  assert.not.ok(first.value.buffer instanceof SharedArrayBuffer, 'assembled out of the ring');
  assert.equal(first.value, values(40_000, 1));
  assert.ok(receiver.holding);
  assert.is(errorOf(() => receiver.recv()).message, 'recv() while holding a view: release() it first');
  receiver.release();
  assert.not.ok(receiver.holding);
  sender.send(values(30_000, 2), 6); // 240,000 bytes: one frame, a view into the ring
  const inRing = receiver.recvView<Float64Array>()!;
  assert.ok(inRing.value.buffer instanceof SharedArrayBuffer);
  assert.equal(inRing.value, values(30_000, 2));
  receiver.release();
  sender.send(values(50_000, 3), 7); // 400,000 bytes: the kept buffer grows once
  const second = receiver.recvView<Float64Array>()!;
  assert.is.not(second.value.buffer, first.value.buffer, 'grown: a new buffer');
  assert.equal(second.value, values(50_000, 3));
  sender.send(values(45_000, 4), 8); // blocks nothing: the ring has room while the view is lent
  receiver.release();
  const third = receiver.recvView<Float64Array>()!;
  assert.is(third.value.buffer, second.value.buffer, 'one buffer, reused');
  assert.equal(third.value, values(45_000, 4));
  receiver.release();
  const largest = values(ring.maxMessage / 8, 6); // maxMessage itself, in 8 chunks: still assembled and lent
  sender.send(largest, 10);
  const atMax = receiver.recvView<Float64Array>()!;
  assert.not.ok(atMax.value.buffer instanceof SharedArrayBuffer);
  assert.is(atMax.value.byteLength, ring.maxMessage);
  assert.equal(atMax.value, largest);
  assert.ok(receiver.holding, 'a message of maxMessage bytes is lent from the kept buffer');
  receiver.release();
  const large = values(300_000, 5); // 2.4 MB, above maxMessage: an owned value, as recv() gives
  sender.send(large, 9);
  const owned = receiver.recvView<Float64Array>()!;
  assert.is.not(owned.value.buffer, third.value.buffer);
  assert.equal(owned.value, large);
  assert.not.ok(receiver.holding);
  receiver.release(); // harmless
});

test('a timeout between two chunks: the sender keeps the rest, the receiver what arrived, and both finish it later', () => {
  const ring = RingBuffer.create(4096); // chunks of 1 KiB, a quarter ring: three frames fit at once
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const values = () => Float64Array.from({ length: 1000 }, (_, i) => i * 1.5 - 7); // 8,000 bytes: 8 chunks
  const big = values();
  const quick = { timeoutMs: 5 };

  const sendTimeout = errorOf(() => sender.send(big, 1, quick)); // three chunks go, the fourth finds the ring full
  assert.instance(sendTimeout, TimeoutError);
  assert.is(sendTimeout.message,
    "send timed out after 5 ms: 3072 of the message's 8000 bytes are sent; flush() sends the rest");
  assert.is(sender.pendingBytes, 8000 - 3072);
  big.fill(-1); // the caller may reuse its buffer: the rest was copied

  const recvTimeout = errorOf(() => receiver.recv(quick)); // three chunks arrive, the fourth does not
  assert.instance(recvTimeout, TimeoutError);
  assert.is(recvTimeout.message, "recv timed out after 5 ms: 3072 of an 8000-byte message's bytes arrived; the next receive finishes it");
  assert.equal({ ...receiver.peekMeta()! }, { type: TYPE.float64, tag: 1, bytes: 8000 }, 'the unfinished message is next');
  assert.is(errorOf(() => receiver.peekMeta({ timeoutMs: -1 })).message, 'Expected `timeoutMs` to be a number >= 0, got -1');
  assert.is(errorOf(() => receiver.recvInto(new Float64Array(100))).message,
    'recvInto(): an 8000-byte message does not fit in an 800-byte target');

  assert.is(errorOf(() => sender.flush(quick)).message, // three more chunks, then full again
    "flush timed out after 5 ms: 6144 of the message's 8000 bytes are sent; flush() sends the rest");
  assert.is(sender.pendingBytes, 8000 - 6144);
  assert.is(errorOf(() => receiver.recvView(quick)).message, // finishing it, by another kind of receive
    "recvView timed out after 5 ms: 6144 of an 8000-byte message's bytes arrived; the next receive finishes it");

  assert.is(errorOf(() => sender.send(Int32Array.of(7, 8), 2)).message,
    'send() while 1856 bytes of a message that was cut short are still to go: flush() them first');
  sender.flush(quick); // the last two chunks
  assert.is(sender.pendingBytes, 0);
  sender.send(Int32Array.of(7, 8), 2, quick);
  const into = new Float64Array(1000);
  assert.equal({ ...receiver.recvInto(into, quick)! }, { bytes: 8000, tag: 1 });
  assert.equal(into, values(), 'every byte, in order');
  const next = receiver.recv<Int32Array>(quick)!;
  assert.equal([next.tag, ...next.value], [2, 7, 8]);
  sender.close();
  assert.is(receiver.recv(quick), null);
});

test('a send that times out before its first frame sends nothing, and says so', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  for (let i = 0; i < 4; i++) sender.send(new Uint8Array(1000).fill(i)); // four frames of 1,016 bytes fill the ring
  const err = errorOf(() => sender.send(new Uint8Array(1000), 0, { timeoutMs: 5 }));
  assert.instance(err, TimeoutError);
  assert.is(err.message, 'send timed out after 5 ms');
  assert.is(sender.pendingBytes, 0, 'nothing of it went');
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  for (let i = 0; i < 4; i++) assert.equal(receiver.recv<Uint8Array>()!.value, new Uint8Array(1000).fill(i));
  assert.is(receiver.hasMessage(), false);
});

test('a bad timeoutMs is refused before any chunk moves: no message is cut short on either side', () => {
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const values = () => Float64Array.from({ length: 1000 }, (_, i) => i - 0.5); // 8,000 bytes: 8 chunks of 1 KiB
  for (const timeoutMs of [-1, NaN]) {
    const err = errorOf(() => sender.send(values(), 1, { timeoutMs }));
    assert.instance(err, RangeError);
    assert.is(err.message, `Expected \`timeoutMs\` to be a number >= 0, got ${timeoutMs}`);
    assert.is(sender.pendingBytes, 0);
    assert.is(receiver.hasMessage(), false, 'not one chunk went');
  }
  sender.send(Float64Array.of(1.5, 2.5), 2); // one frame
  for (const call of [() => receiver.recv({ timeoutMs: -1 }), () => receiver.recvInto(new Float64Array(2), { timeoutMs: -1 }),
    () => receiver.recvView({ timeoutMs: -1 }), () => receiver.peekMeta({ timeoutMs: -1 })]) {
    assert.is(errorOf(call).message, 'Expected `timeoutMs` to be a number >= 0, got -1');
  }
  // A bare number where the options go waited for ever; each call refuses it (the sender's large message, 8 chunks,
  // before one goes)
  for (const call of [() => receiver.recv(50 as never), () => receiver.recvInto(new Float64Array(2), 50 as never),
    () => receiver.recvView(50 as never), () => receiver.peekMeta(50 as never), () => sender.send(values(), 1, 50 as never)]) {
    const err = errorOf(call);
    assert.instance(err, TypeError);
    assert.is(err.message, "Expected a blocking call's options like { timeoutMs: 50 }, got 50");
  }
  assert.is(sender.pendingBytes, 0);
  const got = receiver.recv<Float64Array>()!;
  assert.equal([got.tag, ...got.value], [2, 1.5, 2.5], 'the message is still there, whole');
});

test('Receiver.recvInto refuses a target that is no view as the call starts, not after a wait for a message', () => {
  // It took the target only once a message had come: on an empty ring `recvInto({ timeoutMs: 0 })` (the options where
  // the target goes) waited for ever, and with a message there it failed inside ('Cannot read properties of undefined
  // (reading 'resizable')'). Found reading README's API sections against the code (the README audit).
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const TARGET = 'Expected `target` to be a typed array or DataView, got ';
  const empty = errorOf(() => receiver.recvInto(5 as never, { timeoutMs: 0 }));
  assert.instance(empty, TypeError);
  assert.is(empty.message, `${TARGET}5`);
  sender.send(Int32Array.of(7, 8), 3);
  for (const [target, message] of [
    [{ timeoutMs: 0 }, `${TARGET}an object (the target comes first: recvInto(target, { timeoutMs }))`],
    [new ArrayBuffer(8), `${TARGET}an ArrayBuffer (pass a view of it: new Uint8Array(buffer))`],
    [null, `${TARGET}null`],
  ] as const) {
    const err = errorOf(() => receiver.recvInto(target as never));
    assert.instance(err, TypeError);
    assert.is(err.message, message);
  }
  const into = new Int32Array(2);
  assert.equal({ ...receiver.recvInto(into)! }, { bytes: 8, tag: 3 }, 'the message stayed');
  assert.equal(Array.from(into), [7, 8]);
});

test('a Sender or Receiver on something else than a ring, options that are no object, timeoutMs in the tag: refused by name', () => {
  const ring = RingBuffer.create(1 << 16);
  // On the ring's buffer: the Sender was made (chunkBytes NaN), then 'ring.write is not a function' at its first send
  const RING = 'Expected `ring` to be a RingBuffer, got a SharedArrayBuffer (pass the RingBuffer, not its buffer; in another ' +
    'thread, RingBuffer.attach(buffer) opens it)';
  for (const make of [() => new Sender(ring.buffer as never), () => new Receiver(ring.buffer as never)]) {
    const err = errorOf(make);
    assert.instance(err, TypeError);
    assert.is(err.message, RING);
  }
  assert.is(errorOf(() => new Sender(undefined as never)).message, 'Expected `ring` to be a RingBuffer, got undefined');
  // A ring of another version of the package, whose Sender would fail at its first send ('writeInternal is not a function')
  const older = Object.assign(Object.create(null), { write() {}, hold() {} });
  assert.is(errorOf(() => new Sender(older)).message, 'Expected `ring` to be a RingBuffer of this version of shmcomm, got an ' +
    "object without writeInternal (another version's: make the ring and the Sender with one copy of the package)");
  assert.ok(new Receiver(older), 'a Receiver takes it: it reads through the methods every version has');
  // chunkBytes passed bare was ignored (a number has no keys to refuse)
  const bare = errorOf(() => new Sender(ring, 4096 as never));
  assert.instance(bare, TypeError);
  assert.is(bare.message, 'Expected Sender options to be an object (onMessage, chunkBytes), got 4096');
  const sender = new Sender(ring, null as never); // null: none
  assert.is(sender.chunkBytes, 16384);
  // send(value, { timeoutMs }): the options in the tag's place, refused before anything goes
  const inTag = errorOf(() => sender.send(1.5, { timeoutMs: 5 } as never));
  assert.instance(inTag, TypeError);
  assert.is(inTag.message, '`timeoutMs` goes in the options after the tag: send(value, tag, { timeoutMs })');
  assert.is(errorOf(() => sender.send(new Float64Array(5000), { timeoutMs: 5 } as never)).message, inTag.message); // chunked
  assert.is(new Receiver(ring).hasMessage(), false, 'nothing was sent');
});

/**
 * Runs `body` beside a frame-relay worker that moves `from`'s frames to `to`. On a failure both rings are aborted,
 * which wakes the relay wherever it waits, and the relay is awaited (runWorker terminates it): it never outlives the
 * test, nor rejects later, unheard.
 */
async function besideRelay(from: RingBuffer, to: RingBuffer, body: (relay: Promise<{ forwarded: number }>) => Promise<void>) {
  const relay = runWorker<{ forwarded: number }>('frame-relay', { from: from.buffer, to: to.buffer, frames: 8, pauseMs: 100 });
  try {
    await body(relay);
  } catch (err) {
    from.abort();
    to.abort();
    await relay.catch((relayErr: { code?: string }) => {
      if (relayErr.code !== 'SHMCOMM_ABORTED') console.error('  the relay failed too:', relayErr); // not by our abort
    });
    throw err;
  }
}

test("timeoutMs is the whole call's: a peer that moves a chunk every 100 ms does not keep a 300 ms send or recv going", async () => {
  // Before, each chunk had its own 300 ms: both calls ran to the end, 800 ms and more.
  const sent = Float64Array.from({ length: 1000 }, (_, i) => i * 3); // 8 chunks
  const toRelay = RingBuffer.create(4096); // holds three chunks of 1 KiB
  const fromRelay = RingBuffer.create(16384);
  await besideRelay(toRelay, fromRelay, async (relay) => {
    const sender = new Sender(toRelay);
    const err = errorOf(() => sender.send(sent, 5, { timeoutMs: 300 }));
    assert.instance(err, TimeoutError);
    assert.match(err.message, /^send timed out after 300 ms: \d+ of the message's 8000 bytes are sent; flush\(\) sends the rest$/);
    assert.equal([(err as TimeoutError).op, (err as TimeoutError).ms], ['send', 300]);
    assert.ok(sender.pendingBytes > 0 && sender.pendingBytes < 8000, String(sender.pendingBytes));
    // Bounded: a blocked main thread would keep runWorker's own timer from firing, were the relay to die
    sender.flush({ timeoutMs: 30_000 });
    assert.equal(await relay, { forwarded: 8 });
    const arrived = new Receiver(fromRelay).recv<Float64Array>({ timeoutMs: 0 })!;
    assert.equal([arrived.tag, ...arrived.value], [5, ...sent], 'whole, after flush()');
  });

  const source = RingBuffer.create(16384);
  const slow = RingBuffer.create(4096);
  new Sender(source, { chunkBytes: 1024 }).send(sent, 6); // all 8 chunks at once
  await besideRelay(source, slow, async (relay) => {
    const receiver = new Receiver(slow);
    // The first chunk first: a relay worker that starts late on a loaded machine (300 ms and more, at a load of 8 on
    // 2 cores) let the timed recv expire before any chunk came, which is no message cut short, and says nothing more
    const startBy = Date.now() + 30_000;
    while (!slow.hasMessage() && Date.now() < startBy) await new Promise((resolve) => setTimeout(resolve, 5));
    const recvErr = errorOf(() => receiver.recv({ timeoutMs: 300 }));
    assert.instance(recvErr, TimeoutError);
    assert.match(recvErr.message, /^recv timed out after 300 ms: \d+ of an 8000-byte message's bytes arrived; the next receive finishes it$/);
    const finished = receiver.recv<Float64Array>({ timeoutMs: 30_000 })!;
    assert.equal([finished.tag, ...finished.value], [6, ...sent]);
    assert.equal(await relay, { forwarded: 8 });
  });
});

test('a Sender option it does not take is refused by name, not ignored', () => {
  assert.is(errorOf(() => new Sender(RingBuffer.create(4096), { chunk: 1024 } as never)).message,
    'Unknown Sender option `chunk`: expected onMessage, chunkBytes');
});

test('a tag the frame cannot hold is refused, and nothing is sent', () => {
  const ring = RingBuffer.create(1024);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  for (const tag of [2 ** 31, 0.5]) {
    const err = errorOf(() => sender.send(new Float64Array(2), tag));
    assert.instance(err, RangeError);
    assert.is(err.message, `Expected the frame's \`tag\` to be a signed 32-bit integer, got ${tag}`);
    const chunked = errorOf(() => sender.send(new Uint8Array(ring.maxMessage + 1), tag)); // the first chunk's tag
    assert.is(chunked.message, err.message);
  }
  assert.is(sender.pendingBytes, 0);
  assert.not.ok(receiver.hasMessage());
  sender.send('ok', -7);
  assert.equal(receiver.recv(), { value: 'ok', tag: -7 });
});

test('a message over 2 GiB is refused with the limit, and nothing is sent', () => {
  // 2 GiB and 8 bytes that are never written: pages reserved, not used. Where the process may not reserve them, no case.
  let big: ArrayBuffer;
  try {
    big = new ArrayBuffer(MAX_CHANNEL_MESSAGE + 8);
  } catch {
    return;
  }
  const ring = RingBuffer.create(4096);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  for (const value of [new Uint8Array(big), new Float64Array(big), big]) {
    const err = errorOf(() => sender.send(value));
    assert.instance(err, RangeError);
    assert.is(err.message, 'Expected a message of at most 2147483648 bytes, got 2147483656');
  }
  assert.is(sender.pendingBytes, 0);
  assert.not.ok(receiver.hasMessage());
});

test('frames that break the chunking protocol are CorruptFrameErrors that say how', () => {
  const CHUNKED = 0x80, CONTINUATION = 0x7f; // channel.ts's flag and type for a message's pieces
  const received = (frames: [number, number, number][], close = true, how: 'recv' | 'recvInto' = 'recv'): Error => {
    const ring = RingBuffer.create(4096);
    for (const [length, type, aux] of frames) ring.write(new Uint8Array(length), { type, aux });
    if (close) ring.close();
    const receiver = new Receiver(RingBuffer.attach(ring.buffer));
    return errorOf(() => (how === 'recv' ? receiver.recv({ timeoutMs: 0 }) : receiver.recvInto(new Uint8Array(64), { timeoutMs: 0 })));
  };
  const cases: [Error, string][] = [
    [received([[8, CONTINUATION, 0]]), 'a continuation chunk without its first chunk'],
    [received([[8, CONTINUATION, 0]], true, 'recvInto'), 'a continuation chunk without its first chunk'],
    [received([[8, TYPE.uint8 | CHUNKED, 16]]), 'the stream ended inside a 16-byte message'],
    [received([[8, TYPE.uint8 | CHUNKED, 16], [8, TYPE.uint8, 0]]), 'expected a continuation chunk at byte 8 of 16, got type 3'],
    [received([[8, TYPE.uint8 | CHUNKED, 12], [8, CONTINUATION, 0]]), 'chunks overflow the 12-byte message'],
    // A total that no sender writes is refused before anything of its size is allocated (4 GiB here) or awaited.
    [received([[16, TYPE.uint8 | CHUNKED, 2 ** 32 - 16]], false), 'a first chunk of 16 bytes for a message of 4294967280 (at most 2147483648)'],
    [received([[16, TYPE.uint8 | CHUNKED, 16]], false, 'recvInto'), 'a first chunk of 16 bytes for a message of 16 (at most 2147483648)'],
    [received([[16, TYPE.uint8 | CHUNKED, 8]], false), 'a first chunk of 16 bytes for a message of 8 (at most 2147483648)'],
    // A total its kind cannot have (recv's allocation threw the codec's RangeError, as for a value of its own), or a
    // first chunk that is no multiple of 8, as a Sender's chunkBytes is (the receive waited for the byte missing)
    [received([[16, TYPE.int32 | CHUNKED, 18]], false), 'a first chunk of 16 bytes for an Int32Array of 18, no multiple of 4'],
    [received([[16, TYPE.float64 | CHUNKED, 36]], false, 'recvInto'), 'a first chunk of 16 bytes for a Float64Array of 36, no multiple of 8'],
    [received([[15, TYPE.uint8 | CHUNKED, 40]], false), 'a first chunk of 15 bytes, where a Sender\'s chunks are multiples of 8'],
  ];
  for (const [err, problem] of cases) {
    assert.instance(err, CorruptFrameError, problem);
    assert.is(err.message, `corrupt chunked message: ${problem}`);
    assert.is((err as CorruptFrameError).offset, -1);
  }
});

test('a message cut short, then broken by a frame that is no continuation, is dropped: the next receive takes that frame', () => {
  const CHUNKED = 0x80; // channel.ts's flag for a message's first chunk
  const ring = RingBuffer.create(4096);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  ring.write(new Uint8Array(8).fill(1), { type: TYPE.uint8 | CHUNKED, tag: 2, aux: 16 }); // the first 8 of 16 bytes
  const cut = errorOf(() => receiver.recv({ timeoutMs: 0 }));
  assert.instance(cut, TimeoutError);
  assert.is(cut.message, "recv timed out after 0 ms: 8 of a 16-byte message's bytes arrived; the next receive finishes it");
  ring.write(Uint8Array.of(7, 8, 9), { type: TYPE.uint8, tag: 3 }); // a whole message where the rest should be
  const broken = errorOf(() => receiver.recv({ timeoutMs: 0 }));
  assert.instance(broken, CorruptFrameError);
  assert.is(broken.message, 'corrupt chunked message: expected a continuation chunk at byte 8 of 16, got type 3');
  assert.equal({ ...receiver.peekMeta()! }, { type: TYPE.uint8, tag: 3, bytes: 3 }, 'the cut message is gone');
  const next = receiver.recv<Uint8Array>({ timeoutMs: 0 })!;
  assert.equal([Array.from(next.value), next.tag], [[7, 8, 9], 3]);
});

test('a frame of a codec type no Sender writes is a CorruptFrameError naming its header, by every receive', () => {
  const firstUnknown = Float16 === undefined ? 19 : 20;
  for (const type of [firstUnknown, 99, 0x80 | firstUnknown]) {
    for (const how of ['recv', 'recvInto', 'recvView'] as const) {
      const ring = RingBuffer.create(4096);
      ring.write(new Uint8Array(8), { type: 1 }); // an ArrayBuffer of 8 bytes: the bad frame's header is at 24
      ring.write(new Uint8Array(8), { type, aux: type & 0x80 ? 16 : 0 });
      const receiver = new Receiver(RingBuffer.attach(ring.buffer));
      assert.instance(receiver.recv()!.value, ArrayBuffer);
      const err = errorOf(() => (how === 'recvInto' ? receiver.recvInto(new Uint8Array(64)) : receiver[how]()));
      assert.instance(err, CorruptFrameError, `${type} by ${how}`);
      const problem = `a message of the unknown codec type ${type & 0x7f}`;
      assert.is(err.message, `corrupt frame header at ring offset 24: ${problem}`);
      assert.is((err as CorruptFrameError).offset, 24);
    }
  }
});

test('two threads: 20,000 seeded messages up to 4x the ring, by recv, recvInto and recvView', async () => {
  const seed = testSeed('channel threads');
  const ring = RingBuffer.create(16384);
  const job = { buffer: ring.buffer, seed, count: 20_000, maxBytes: 4 * 16384 };
  const [sent, report] = await bothOrAbort(ring, [
    runWorker<{ sent: number }>('channel-peer', { ...job, role: 'sender' }, 120_000),
    runWorker<{ received: number; problems: string[] }>('channel-peer', { ...job, role: 'receiver' }, 120_000),
  ]);
  assert.equal(report.problems, []);
  assert.is(sent.sent, 20_000);
  assert.is(report.received, 20_000);
});

test('two threads, every call with a short timeout tried again: 5,000 messages cut short between chunks arrive whole', async () => {
  const seed = testSeed('channel timeouts');
  const ring = RingBuffer.create(16384);
  const job = { buffer: ring.buffer, seed, count: 5_000, maxBytes: 4 * 16384, timeouts: true };
  const [sent, report] = await bothOrAbort(ring, [
    runWorker<{ sent: number; timeouts: number; cutShort: number }>('channel-peer', { ...job, role: 'sender' }, 120_000),
    runWorker<{ received: number; problems: string[]; timeouts: number }>('channel-peer', { ...job, role: 'receiver' }, 120_000),
  ]);
  assert.equal(report.problems, []);
  assert.is(sent.sent, 5_000);
  assert.is(report.received, 5_000);
  assert.ok(sent.cutShort > 0 && report.timeouts > 0, `timeouts: ${sent.timeouts} sending (${sent.cutShort} cut a message short), ${report.timeouts} receiving`);
});

test.run();
