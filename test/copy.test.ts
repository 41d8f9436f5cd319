import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyBytes, copyRange, NATIVE_COPY_BYTES, NATIVE_COPY_OUT_BYTES, SMALL_COPY_BYTES } from '../src/copy.js';
import * as shmcomm from '../src/index.js';
import { RingBuffer } from '../src/ring.js';
import { Receiver, Sender } from '../src/channel.js';
import { checkPattern, errorOf, fillPattern, prng, testSeed } from './helpers.js';

/** The lengths on either side of each way of copying, and a few large ones. */
const EDGES = [0, 1, 7, SMALL_COPY_BYTES - 1, SMALL_COPY_BYTES, SMALL_COPY_BYTES + 1, NATIVE_COPY_BYTES - 8,
  NATIVE_COPY_BYTES - 1, NATIVE_COPY_BYTES, NATIVE_COPY_BYTES + 1, NATIVE_COPY_OUT_BYTES - 1, NATIVE_COPY_OUT_BYTES,
  NATIVE_COPY_OUT_BYTES + 8, 4096, 65536 + 3, 1 << 20];

test('copyRange copies every byte of the source, at the offset, and nothing around it, by each way of copying', () => {
  assert.is(shmcomm.copyBytes, copyBytes); // public: for copies out of ring.data
  const seed = testSeed('copyBytes');
  const random = prng(seed);
  const lengths = [...EDGES, ...Array.from({ length: 200 }, () => Math.floor(random() * 3 * NATIVE_COPY_BYTES))];
  for (const shared of [true, false]) {
    const memory = shared ? new SharedArrayBuffer(4 << 20) : new ArrayBuffer(4 << 20);
    for (const [k, length] of lengths.entries()) for (const nativeFrom of [NATIVE_COPY_BYTES, NATIVE_COPY_OUT_BYTES]) {
      // Source and target in either kind of memory (into shared memory, out of it), at odd offsets; the source a
      // little longer than the length (only `length` bytes may be copied).
      const sourceAt = Math.floor(random() * 64);
      const source = new Uint8Array(memory, sourceAt, length + 8);
      fillPattern(source, k);
      const target = new Uint8Array(length + 128).fill(0xee);
      const at = 1 + Math.floor(random() * 64);
      copyRange(target, at, source, length, nativeFrom);
      const where = `seed ${seed}, ${shared ? 'shared' : 'plain'} source, ${length} bytes at ${at}, memcpy from ${nativeFrom}`;
      assert.is(checkPattern(target.subarray(at, at + length), k), -1, where);
      assert.ok(target.subarray(0, at).every((byte) => byte === 0xee), `${where}: a byte before it changed`);
      assert.ok(target.subarray(at + length).every((byte) => byte === 0xee), `${where}: a byte after it changed`);
      // And the other way: out of plain memory into the shared region.
      const back = new Uint8Array(memory, 2 << 20, length + 16).fill(0);
      copyBytes(back, 8, target.subarray(at, at + length)); // the public, checked one
      assert.is(checkPattern(back.subarray(8, 8 + length), k), -1, `${where}, copied back`);
      assert.is(back[8 + length], 0, `${where}, copied back: nothing past its end`);
    }
  }
});

test('a ring carries payloads of every way of copying intact: write, copyHeld, read, and a channel\'s chunks', () => {
  const seed = testSeed('copy through a ring');
  const random = prng(seed);
  const producer = RingBuffer.create(1 << 16);
  const consumer = RingBuffer.attach(producer.buffer);
  const target = new Uint8Array(1 << 15);
  let sum = 0;
  let expected = 0;
  for (let seq = 0; seq < 2000; seq++) {
    const size = seq < EDGES.length && EDGES[seq]! <= producer.maxMessage ? EDGES[seq]! : Math.floor(random() * 4 * NATIVE_COPY_BYTES);
    const payload = new Uint8Array(size);
    fillPattern(payload, seq);
    producer.write(payload);
    expected += size;
    if (seq % 2 === 0) {
      const copy = consumer.read()!;
      assert.is(checkPattern(copy, seq), -1, `seed ${seed}, read of message ${seq}, ${size} bytes`);
      sum += copy.length;
    } else {
      assert.is(consumer.hold(), size);
      consumer.copyHeld(target, 3);
      consumer.release();
      assert.is(checkPattern(target.subarray(3, 3 + size), seq), -1, `seed ${seed}, copyHeld of message ${seq}, ${size} bytes`);
      sum += size;
    }
  }
  assert.is(sum, expected);

  // Chunked messages (quarter-ring chunks, copied in and out by memcpy), one thread: each fits in the empty ring.
  const ring = RingBuffer.create(1 << 16);
  const sender = new Sender(ring);
  const receiver = new Receiver(RingBuffer.attach(ring.buffer));
  const into = new Uint8Array(40_000);
  for (let seq = 0; seq < 8; seq++) {
    const message = new Uint8Array(40_000 - seq * 1000); // 3 chunks: 16 KiB, 16 KiB and the rest
    fillPattern(message, seq);
    sender.send(message, seq);
    const got = receiver.recvInto(into)!;
    assert.equal(got, { bytes: message.length, tag: seq });
    assert.is(checkPattern(into.subarray(0, got.bytes), seq), -1, `chunked message ${seq}`);
  }
});

test('copyBytes, the public one, refuses what it cannot copy, and says why', () => {
  const bytes = new Uint8Array(64);
  const cases: [() => void, string, ErrorConstructor][] = [
    [() => copyBytes(new Uint8Array(63), 0, bytes), 'copyBytes(): 64 bytes do not fit in a 63-byte target at byte 0', RangeError],
    [() => copyBytes(new Uint8Array(100), 37, bytes), 'copyBytes(): 64 bytes do not fit in a 100-byte target at byte 37', RangeError],
    [() => copyBytes(new Uint8Array(100), -1, bytes), 'copyBytes(): 64 bytes do not fit in a 100-byte target at byte -1', RangeError],
    // An `at` that is no integer: said so, not that 64 bytes do not fit in 100 at byte 2 (they do)
    [() => copyBytes(new Uint8Array(100), NaN, bytes), 'copyBytes(): Expected `at` to be an integer byte offset, got NaN', RangeError],
    [() => copyBytes(new Uint8Array(100), '2' as never, bytes), 'copyBytes(): Expected `at` to be an integer byte offset, got "2"', RangeError],
    [() => copyBytes(new Uint8Array(100), 0.5, bytes), 'copyBytes(): Expected `at` to be an integer byte offset, got 0.5', RangeError],
    [() => copyBytes(new Uint8Array(100), 0, new Float64Array(8) as never), 'copyBytes() copies between Uint8Arrays, got a Uint8Array and a Float64Array', TypeError],
    [() => copyBytes(new DataView(new ArrayBuffer(8)) as never, 0, bytes), 'copyBytes() copies between Uint8Arrays, got a DataView and a Uint8Array', TypeError],
  ];
  for (const [call, message, kind] of cases) {
    const err = errorOf(call);
    assert.instance(err, kind);
    assert.is(err.message, message);
  }
});

test('copyBytes refuses overlapping ranges of one buffer, by each way of copying, and leaves their bytes alone', () => {
  // The loop copies forwards, so a target one byte after its source would repeat the first byte (8 bytes 0 1 2 ...
  // became 0 0 0 ...); memcpy's result with overlap is undefined. Each way of copying, both directions, and the view's
  // own offset counted (the target is a view from byte 16 of the buffer).
  for (const length of [8, SMALL_COPY_BYTES + 8, NATIVE_COPY_BYTES + 8]) {
    for (const [sourceAt, at] of [[20, 5], [21, 4], [16, 0], [16 + length - 1, 0], [16, length - 1]] as const) {
      const memory = new SharedArrayBuffer(4 * length);
      const bytes = new Uint8Array(memory);
      bytes.forEach((_, i) => (bytes[i] = i & 0xff));
      const before = bytes.slice();
      const err = errorOf(() => copyBytes(new Uint8Array(memory, 16), at, new Uint8Array(memory, sourceAt, length)));
      assert.instance(err, RangeError);
      assert.is(err.message, `copyBytes(): the source, bytes ${sourceAt} to ${sourceAt + length} of its buffer, ` +
        `overlaps the target's bytes ${16 + at} to ${16 + at + length} of the same buffer`);
      const where = `${length} bytes from byte ${sourceAt} to byte ${16 + at}`;
      assert.is(bytes.findIndex((x, i) => x !== before[i]), -1, `${where}: nothing copied`);
    }
    // Ranges of one buffer that meet but do not overlap are copied: the target right after the source, then before it.
    const memory = new SharedArrayBuffer(3 * length);
    const bytes = new Uint8Array(memory);
    bytes.forEach((_, i) => (bytes[i] = i % 251));
    copyBytes(bytes, length, bytes.subarray(0, length));
    copyBytes(bytes, 2 * length, bytes.subarray(length, 2 * length));
    assert.is(bytes.findIndex((x, i) => x !== (i % length) % 251), -1, `${length} bytes copied next to themselves`);
  }
  copyBytes(new Uint8Array(8), 8, new Uint8Array(0)); // 0 bytes at the very end: nothing to overlap, nothing to copy
});

test('copyHeld refuses a target it does not fit in, and says where', () => {
  const producer = RingBuffer.create(1 << 14);
  const consumer = RingBuffer.attach(producer.buffer);
  producer.write(new Uint8Array(2000).fill(5));
  assert.is(consumer.hold(), 2000);
  for (const [target, at, message] of [
    [new Uint8Array(1999), 0, 'copyHeld(): a 2000-byte message does not fit in a 1999-byte target at byte 0'],
    [new Uint8Array(2000), 1, 'copyHeld(): a 2000-byte message does not fit in a 2000-byte target at byte 1'],
    [new Uint8Array(4000), -1, 'copyHeld(): a 2000-byte message does not fit in a 4000-byte target at byte -1'],
    [new Uint8Array(4000), 0.5, 'copyHeld(): Expected `at` to be an integer byte offset, got 0.5'],
    [new Uint8Array(4000), '2', 'copyHeld(): Expected `at` to be an integer byte offset, got "2"'],
  ] as const) {
    const err = errorOf(() => consumer.copyHeld(target, at as number)); // "2": a JavaScript caller's
    assert.instance(err, RangeError);
    assert.is(err.message, message);
  }
  const fits = new Uint8Array(2001);
  consumer.copyHeld(fits, 1); // still held: the refusals took nothing
  consumer.release();
  assert.is(fits[0], 0);
  assert.ok(fits.subarray(1).every((byte) => byte === 5));
  // By each way of copying: a short message (copied with a loop, which used to drop what did not fit without a word),
  // and one copied with memcpy.
  for (const size of [20, 4000]) {
    producer.write(new Uint8Array(size).fill(6));
    assert.is(consumer.hold(), size);
    const err = errorOf(() => consumer.copyHeld(new Uint8Array(size + 4), NaN));
    assert.instance(err, RangeError);
    assert.is(err.message, 'copyHeld(): Expected `at` to be an integer byte offset, got NaN');
    assert.is(errorOf(() => consumer.copyHeld(new Uint8Array(size + 4), 5)).message,
      `copyHeld(): a ${size}-byte message does not fit in a ${size + 4}-byte target at byte 5`);
    const target = new Uint8Array(size + 4);
    consumer.copyHeld(target, 4);
    consumer.release();
    assert.ok(target.subarray(4).every((byte) => byte === 6) && target[3] === 0, `${size} bytes copied whole, after the refusals`);
  }
});

test.run();
