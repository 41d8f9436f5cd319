import { test } from 'uvu';
import { Worker } from 'node:worker_threads';
import * as assert from 'uvu/assert';
import { RingBuffer, FRAME_HEADER_BYTES, RING_HEADER_BYTES, RING_LAYOUT, type FrameMeta } from '../src/ring.js';
import { AbortedError, ClosedError, CorruptFrameError, TimeoutError } from '../src/errors.js';
import { checkPattern, errorOf, fillPattern, prng, randomSize, testSeed, wasmMemory } from './helpers.js';

/**
 * The options of a read (read, peek, hold, peekAsync) on one thread, whose producer is this thread too: the message is
 * there at once, or never comes. A bug that holds one back then fails the read with `read timed out after 0 ms`, where
 * waiting for ever would hang the file until the runner kills it, with no assertion named.
 */
const NOW = { timeoutMs: 0 } as const;

test('create validates the size with the numbers', () => {
  const expected = (got: string) => `Expected the ring size to be a power of two from 64 to 1073741824 bytes, got ${got}`;
  for (const bad of [0, -64, 100, 63, 2 ** 31, 1.5, NaN]) {
    const err = errorOf(() => RingBuffer.create(bad));
    assert.instance(err, RangeError);
    assert.is(err.message, expected(String(bad)));
  }
  // A string is shown quoted: `got 1024` would read as a valid size
  const err = errorOf(() => RingBuffer.create('1024' as never));
  assert.instance(err, RangeError);
  assert.is(err.message, expected('"1024"'));
  const ring = RingBuffer.create(1024);
  assert.is(ring.capacity, 1024);
  assert.is(ring.maxMessage, 512 - FRAME_HEADER_BYTES);
  assert.is(ring.buffer.byteLength, RING_HEADER_BYTES + 1024);
});

test('wait options and a value that is not bytes are refused with what was given', () => {
  assert.is(errorOf(() => RingBuffer.create(1024, { strategy: 'nap' as never })).message,
    'Expected `strategy` to be one of spin, park, spinThenPark, got "nap"');
  assert.is(errorOf(() => RingBuffer.create(1024, { spinMicros: -1 })).message, 'Expected `spinMicros` to be a finite number >= 0, got -1');
  // Strings quoted, and a bigint named rather than thrown at by JSON.stringify ('Do not know how to serialize a BigInt')
  assert.is(errorOf(() => RingBuffer.create(1024, { spinMicros: '30' as never })).message,
    'Expected `spinMicros` to be a finite number >= 0, got "30"');
  const bigintStrategy = errorOf(() => RingBuffer.create(1024, { strategy: 1n as never }));
  assert.instance(bigintStrategy, TypeError);
  assert.is(bigintStrategy.message, 'Expected `strategy` to be one of spin, park, spinThenPark, got 1n');
  const corkErr = errorOf(() => RingBuffer.create(1024, { corkBytes: '8' as never }));
  assert.instance(corkErr, RangeError);
  assert.is(corkErr.message, 'Expected `corkBytes` to be an integer of at least 1, got "8"');
  const ring = RingBuffer.create(1024);
  assert.is(errorOf(() => ring.read({ timeoutMs: -5 })).message, 'Expected `timeoutMs` to be a number >= 0, got -5');
  const err = errorOf(() => ring.write([1, 2, 3] as never));
  assert.instance(err, TypeError);
  assert.is(err.message, 'Expected a typed array or DataView to write, got an array of length 3');
});

test('attach refuses what create did not make', () => {
  assert.is(errorOf(() => RingBuffer.attach(new ArrayBuffer(8) as never)).message,
    'Expected a SharedArrayBuffer made by RingBuffer.create(), got an ArrayBuffer');
  assert.is(errorOf(() => RingBuffer.attach(new SharedArrayBuffer(1024))).message,
    'Expected a SharedArrayBuffer made by RingBuffer.create(), got one with another layout');
  // The right magic, but a capacity that create() never makes, with a buffer of the length it implies
  const forged = RingBuffer.create(64).buffer;
  const bigger = new SharedArrayBuffer(RING_HEADER_BYTES + 96);
  new Uint8Array(bigger).set(new Uint8Array(forged, 0, RING_HEADER_BYTES));
  new Int32Array(bigger)[RING_LAYOUT.STATE + 1] = 96; // CAPACITY, the word after STATE
  assert.is(errorOf(() => RingBuffer.attach(bigger)).message,
    'Expected a SharedArrayBuffer made by RingBuffer.create(), got one with another layout');
});

test('createIn lays a ring out at the start of a larger buffer (a WebAssembly.Memory), validated, the rest left alone', () => {
  const memory = wasmMemory(RING_HEADER_BYTES + 1024); // one 64 KiB page
  const buffer = memory.buffer;
  const bytes = new Uint8Array(buffer);
  bytes.fill(0xee); // the caller's bytes, and stale ones where the header goes
  const producer = RingBuffer.createIn(buffer, 1024);
  assert.is(producer.buffer, buffer);
  assert.is(producer.capacity, 1024);
  assert.is(producer.data.byteOffset, RING_HEADER_BYTES);
  const consumer = RingBuffer.attach(buffer);
  for (let k = 0; k < 3; k++) producer.write(new Uint8Array(100).fill(0xaa)); // left unread
  assert.is(consumer.hasMessage(), true);
  const ring = RingBuffer.createIn(buffer, 1024); // afresh: counters zero again, whatever was there
  const peer = RingBuffer.attach(buffer);
  for (let k = 0; k < 40; k++) {
    ring.write(new Uint8Array(100).fill(k), { tag: k }); // 40 frames of 120 bytes: about 5 laps, wraps included
    const got = peer.read(NOW)!;
    assert.is(peer.frame.tag, k);
    assert.equal(Array.from(got), new Array(100).fill(k), `message ${k}`);
  }
  assert.ok(bytes.subarray(RING_HEADER_BYTES + 1024).every((x) => x === 0xee), 'the bytes after the ring are untouched');
  assert.is(consumer.capacity, 1024);
  // Validated as create is, plus the buffer's length, with the numbers.
  assert.is(errorOf(() => RingBuffer.createIn(new ArrayBuffer(2048) as never, 1024)).message,
    'Expected a SharedArrayBuffer to lay the ring out in, got an ArrayBuffer');
  assert.is(errorOf(() => RingBuffer.createIn(buffer, 1000)).message,
    'Expected the ring size to be a power of two from 64 to 1073741824 bytes, got 1000');
  const short = errorOf(() => RingBuffer.createIn(new SharedArrayBuffer(1024), 1024));
  assert.instance(short, RangeError);
  assert.is(short.message, 'A ring of 1024 bytes takes 1344 bytes with its header, more than the 1024 of the buffer given');
  // attach takes a buffer longer than the ring, not one shorter than its header says.
  const cut = new SharedArrayBuffer(RING_HEADER_BYTES + 512);
  new Uint8Array(cut).set(bytes.subarray(0, RING_HEADER_BYTES));
  assert.is(errorOf(() => RingBuffer.attach(cut)).message,
    'Expected a SharedArrayBuffer made by RingBuffer.create(), got one with another layout');
});

test('a message larger than maxMessage is a RangeError that says so', () => {
  const ring = RingBuffer.create(256);
  const err = errorOf(() => ring.write(new Uint8Array(ring.maxMessage + 1)));
  assert.instance(err, RangeError);
  assert.is(err.message, 'Expected a message of 0 to 112 bytes (maxMessage of a 256-byte ring), got 113; ' +
    'a Sender sends larger values over a ring in chunks');
  // A length that is no size at all: the chunks of a Sender would not help, and are not offered
  for (const [length, got] of [['8', '"8"'], [-1, '-1'], [1.5, '1.5'], [NaN, 'NaN']] as const) {
    const refused = errorOf(() => ring.reserve(length as number));
    assert.instance(refused, RangeError);
    assert.is(refused.message, `Expected a message of 0 to 112 bytes (maxMessage of a 256-byte ring), got ${got}`);
  }
});

test('wrap-around at every offset keeps every payload contiguous, aligned and intact', () => {
  const capacity = 256;
  for (let size = 0; size <= 112; size++) {
    const producer = RingBuffer.create(capacity);
    const consumer = RingBuffer.attach(producer.buffer);
    // Walk the start offset through every 8-byte step of the region, three times round.
    for (let seq = 0; seq < 3 * (capacity / 8); seq++) {
      const filler = new Uint8Array(seq % 4 === 0 ? 0 : 8 * (seq % 3));
      producer.write(filler);
      assert.is(consumer.read(NOW)!.length, filler.length);
      const payload = new Uint8Array(size);
      fillPattern(payload, seq);
      producer.write(payload, { tag: -seq, type: 7, aux: size });
      const view = consumer.peek(NOW)!;
      assert.is(view.length, size);
      assert.is(view.byteOffset % 8, 0);
      assert.ok(view.byteOffset + size <= RING_HEADER_BYTES + capacity, 'payload runs past the end');
      assert.is(checkPattern(view, seq), -1);
      const offset = view.byteOffset - RING_HEADER_BYTES;
      assert.equal({ ...consumer.frame }, { offset, length: size, type: 7, tag: -seq, aux: size });
      assert.is(consumer.data.subarray(offset, offset + size).byteOffset, view.byteOffset); // data[offset] is the payload
      consumer.release();
    }
  }
});

test('a Float64Array can be viewed in place', () => {
  const ring = RingBuffer.create(1024);
  const values = Float64Array.from({ length: 20 }, (_, i) => i * 1.5 - 3);
  ring.write(values);
  const view = ring.peek(NOW)!;
  const inPlace = new Float64Array(view.buffer, view.byteOffset, view.length / 8);
  assert.equal(Array.from(inPlace), Array.from(values));
  ring.release();
});

test('full and empty: free space is exact, and a full ring times out on time', () => {
  const ring = RingBuffer.create(128);
  assert.is(ring.bytesFree(), 128);
  ring.write(new Uint8Array(48)); // 16 + 48 = 64 bytes
  ring.write(new Uint8Array(41)); // 16 + 48 (padded) = 64 bytes
  assert.is(ring.bytesFree(), 0);
  const started = performance.now();
  const err = errorOf(() => ring.write(new Uint8Array(0), undefined, { timeoutMs: 50 }));
  const waited = performance.now() - started;
  assert.instance(err, TimeoutError);
  assert.is(err.message, 'write timed out after 50 ms');
  assert.is((err as TimeoutError).code, 'SHMCOMM_TIMEOUT');
  assert.ok(waited >= 49, `gave up after ${waited} ms`);
  assert.is(ring.read(NOW)!.length, 48);
  assert.is(ring.read(NOW)!.length, 41);
  assert.is(ring.bytesFree(), 128);
});

test('a frame that fits exactly before the end goes there, also when the producer must look at TAIL again first', () => {
  // The producer reloads TAIL only when the ring looks full: after two laps of 128-byte frames read at once, its last
  // look is 128 bytes behind, and the 128 bytes before the end look taken. It looks again, finds them free, and writes
  // there: no wrap marker, no frame at offset 0, and the 128 bytes at the start stay free.
  const producer = RingBuffer.create(256);
  const consumer = RingBuffer.attach(producer.buffer);
  const frameOf = (seq: number) => {
    const payload = new Uint8Array(112);
    fillPattern(payload, seq);
    return payload;
  };
  producer.write(frameOf(0)); // offset 0
  consumer.read(NOW);
  assert.is(producer.bytesFree(), 256); // the producer's last look at TAIL: 128
  producer.write(frameOf(1)); // offset 128, the last that fits that look
  consumer.read(NOW);
  producer.write(frameOf(2)); // offset 0 of the second lap: 128 bytes free, as that look has it
  consumer.read(NOW);
  producer.write(frameOf(3), undefined, { timeoutMs: 0 }); // 128 bytes to the end, all free: no wait
  assert.is(consumer.hold(NOW), 112);
  assert.is(consumer.frame.offset, 128 + FRAME_HEADER_BYTES);
  assert.is(checkPattern(consumer.data.subarray(consumer.frame.offset, consumer.frame.offset + 112), 3), -1);
  assert.is(producer.bytesFree(), 128);
  consumer.release();
  assert.is(producer.bytesFree(), 256);
});

test('the room a wrap marker skipped is given back as the consumer steps over it, while it holds the frame after', () => {
  // A consumer that holds a message until the next one comes (zero-copy) must not keep the producer from writing it
  const producer = RingBuffer.create(256);
  const consumer = RingBuffer.attach(producer.buffer);
  producer.write(new Uint8Array(112)); // 128 bytes at offset 0
  producer.write(new Uint8Array(40)); // 56 at 128
  consumer.read(NOW);
  consumer.read(NOW);
  const third = new Uint8Array(112);
  fillPattern(third, 3);
  producer.write(third); // 72 bytes to the end: a wrap marker at 184, the frame at 0
  const held = consumer.peek(NOW)!;
  assert.is(consumer.frame.offset, FRAME_HEADER_BYTES);
  assert.is(producer.bytesFree(), 128, 'the 72 skipped bytes are free');
  const fourth = new Uint8Array(112);
  fillPattern(fourth, 4);
  producer.write(fourth, undefined, { timeoutMs: 0 }); // at 128, while the third is held
  assert.is(checkPattern(held, 3), -1);
  consumer.release();
  assert.is(checkPattern(consumer.peek(NOW)!, 4), -1);
  assert.is(consumer.frame.offset, 128 + FRAME_HEADER_BYTES);
  consumer.release();
  assert.is(producer.bytesFree(), 256);
});

test('a read with a timeout on an empty ring throws TimeoutError on time', () => {
  for (const strategy of ['spin', 'park', 'spinThenPark'] as const) {
    const ring = RingBuffer.create(64, { strategy });
    const started = performance.now();
    const err = errorOf(() => ring.read({ timeoutMs: 30 }));
    const waited = performance.now() - started;
    assert.instance(err, TimeoutError);
    assert.is(err.message, 'read timed out after 30 ms', strategy);
    assert.equal([(err as TimeoutError).op, (err as TimeoutError).ms], ['read', 30]);
    assert.ok(waited >= 29 && waited < 10_000, `${strategy}: gave up after ${waited} ms`);
  }
});

test('readAsync with a timeout rejects with TimeoutError', async () => {
  const ring = RingBuffer.create(64);
  try {
    await ring.readAsync({ timeoutMs: 20 });
    assert.unreachable('should time out');
  } catch (err) {
    assert.instance(err, TimeoutError);
    assert.is((err as Error).message, 'readAsync timed out after 20 ms');
  }
});

test('peekAsync: the next message in place once it arrives, held until release; null once closed', async () => {
  const producer = RingBuffer.create(1024);
  const consumer = RingBuffer.attach(producer.buffer);
  const err = await consumer.peekAsync({ timeoutMs: 20 }).catch((e: unknown) => e as Error);
  assert.instance(err, TimeoutError);
  assert.is((err as Error).message, 'peekAsync timed out after 20 ms');
  const arriving = consumer.peekAsync({ timeoutMs: 5000 }); // a generous bound: the message comes in 10 ms
  setTimeout(() => producer.write(Uint8Array.of(5, 6, 7), { tag: 9 }), 10);
  const view = (await arriving)!;
  assert.equal(Array.from(view), [5, 6, 7]);
  assert.is(view.buffer, producer.buffer); // in place, not a copy
  assert.is(consumer.frame.tag, 9);
  const again = (await consumer.peekAsync(NOW))!; // still held: the same message again
  assert.is(again.byteOffset, view.byteOffset);
  assert.equal(Array.from(again), [5, 6, 7]);
  consumer.release();
  producer.close();
  assert.is(await consumer.peekAsync(NOW), null);
});

test('two readAsync pending on one consumer: each message goes to one of them, and the thread never blocks', async () => {
  const producer = RingBuffer.create(1024, { strategy: 'park' });
  const consumer = RingBuffer.attach(producer.buffer, { strategy: 'park' });
  // The producer is this thread: a read that blocked instead of awaiting would wait for ever.
  const both = [consumer.readAsync({ timeoutMs: 10_000 }), consumer.readAsync({ timeoutMs: 10_000 })];
  setTimeout(() => producer.write(Uint8Array.of(1)), 10);
  setTimeout(() => producer.write(Uint8Array.of(2)), 40);
  const got = (await Promise.all(both)).map((bytes) => Array.from(bytes!));
  assert.equal(got.sort(), [[1], [2]]);

  // One message for two readers: one takes it, the other times out as asked.
  const racing = [consumer.readAsync({ timeoutMs: 2000 }), consumer.readAsync({ timeoutMs: 2000 })];
  setTimeout(() => producer.write(Uint8Array.of(3)), 10);
  const settled = await Promise.allSettled(racing);
  const values = settled.flatMap((s) => (s.status === 'fulfilled' ? [Array.from(s.value!)] : []));
  const reasons = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
  assert.equal(values, [[3]]);
  assert.equal(reasons, ['readAsync timed out after 2000 ms']);
});

test('two writeAsync pending on one producer both finish, without blocking the thread, where a wrap moved', async () => {
  const producer = RingBuffer.create(1024, { strategy: 'park' });
  const consumer = RingBuffer.attach(producer.buffer, { strategy: 'park' });
  producer.write(new Uint8Array(240));
  consumer.read(NOW); // both at offset 256
  // Full: the last write takes exactly the room left, which it finds at once (timeoutMs 0) once it reloads TAIL
  for (const length of [496, 240, 240]) producer.write(new Uint8Array(length).fill(length % 251), undefined, { timeoutMs: 0 });
  // The first takes 384 bytes after the head, so the second (512) no longer fits before the end: it must wrap, and
  // the consumer is this thread, so a write that blocked for room instead of awaiting it would wait for ever.
  const finished: number[] = [];
  const writes = [368, 496].map((length) =>
    producer.writeAsync(new Uint8Array(length).fill(length % 251)).then(() => finished.push(length)));
  const lengths: number[] = [];
  const deadline = Date.now() + 10_000;
  while (lengths.length < 5 && Date.now() < deadline) {
    if (!consumer.hasMessage()) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      continue;
    }
    const message = consumer.read(NOW)!;
    assert.ok(message.every((byte) => byte === message.length % 251), `a ${message.length}-byte message intact`);
    lengths.push(message.length);
  }
  await Promise.all(writes);
  assert.equal(lengths, [496, 240, 240, 368, 496]);
  assert.equal(finished, [368, 496]);
});

test('a writeAsync whose view grows while it waits writes the bytes it was called with, and never blocks the thread', async () => {
  // Every wait of the producer is reported; a second one is the synchronous wait of a write() that found its frame
  // larger than the room it had awaited: with the consumer on this thread, that wait would last for ever.
  const waits: boolean[] = [];
  const onWait = (waiting: boolean) => {
    if (waiting && waits.includes(true)) throw new Error('writeAsync blocked the thread in a second wait');
    waits.push(waiting);
  };
  const producer = RingBuffer.create(256, { strategy: 'park', onWait }); // maxMessage 112
  const consumer = RingBuffer.attach(producer.buffer);
  for (const length of [16, 112, 64]) producer.write(new Uint8Array(length).fill(length)); // frames 32 + 128 + 80
  const growable = new ArrayBuffer(16, { maxByteLength: 112 });
  const view = new Uint8Array(growable); // tracks the buffer's length
  view.fill(7);
  // 16 bytes free before the end: the pending write wraps there, then waits for 32 bytes from offset 0
  const pending = producer.writeAsync(view, { tag: 9 }, { timeoutMs: 5000 }).then(() => 'written', (e: Error) => e.message);
  growable.resize(112); // a frame of 128 now, which the 32 bytes the write awaits would not hold
  new Uint8Array(growable, 16).fill(8);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.is(consumer.read(NOW)!.length, 16); // frees the 32 bytes at offset 0
  assert.is(await pending, 'written');
  assert.equal(waits, [true, false]);
  assert.equal([consumer.read(NOW)!.length, consumer.read(NOW)!.length], [112, 64]);
  const written = consumer.read({ timeoutMs: 0 })!;
  assert.equal([written.length, consumer.frame.tag, written.every((byte) => byte === 7)], [16, 9, true]);
});

test('writeAsync writes meta as it was at the call: two pending with one object, changed between the calls', async () => {
  // They read meta when they wrote, after the wait: both went out with the last tag, or were refused for a type of 300
  const producer = RingBuffer.create(256);
  const consumer = RingBuffer.attach(producer.buffer);
  producer.write(new Uint8Array(112));
  producer.write(new Uint8Array(96)); // 240 bytes of 256 taken: each writeAsync waits
  const meta = { type: 1, tag: 1, aux: 1 };
  const first = producer.writeAsync(Uint8Array.of(1), meta, { timeoutMs: 5000 });
  Object.assign(meta, { type: 2, tag: 2, aux: 2 });
  const second = producer.writeAsync(Uint8Array.of(2), meta, { timeoutMs: 5000 });
  Object.assign(meta, { type: 300, tag: 0.5 }); // out of range: no longer meta of either
  const written = Promise.all([first, second]);
  written.catch(() => {}); // awaited below: a read that throws first must not leave it to reject unhandled (a crash)
  consumer.read(NOW);
  consumer.read(NOW);
  await written;
  const frames: number[][] = [];
  for (let i = 0; i < 2; i++) {
    const payload = consumer.read({ timeoutMs: 0 })!;
    frames.push([payload[0]!, consumer.frame.type, consumer.frame.tag, consumer.frame.aux]);
  }
  assert.equal(frames, [[1, 1, 1, 1], [2, 2, 2, 2]]);
});

test('a writeAsync pending while its producer reserves, or closes, rejects without wrapping under it', async () => {
  const producer = RingBuffer.create(128); // maxMessage 48
  const consumer = RingBuffer.attach(producer.buffer);
  producer.write(new Uint8Array(48));
  producer.write(new Uint8Array(0));
  consumer.read(NOW);
  consumer.read(NOW); // empty, both at offset 80
  producer.write(new Uint8Array(48).fill(0xaa), { tag: 1 }); // wraps: [0, 64)
  producer.write(new Uint8Array(0), { tag: 2 }); // [64, 80): full
  const pending = producer.writeAsync(new Uint8Array(48), { tag: 3 }, { timeoutMs: 5000 }).catch((e: unknown) => e as Error);
  assert.is(consumer.read(NOW)!.length, 48); // room for the pending write, which would wrap at offset 80...
  producer.reserve(0, { tag: 4 }); // ...where this reservation's header is, before it wakes
  const refused = await pending;
  assert.is(refused instanceof Error && refused.message, 'writeAsync() with an open reservation: commit() it first');
  producer.commit();
  const tags: number[] = [];
  for (let message = consumer.read({ timeoutMs: 0 }); ; message = consumer.read({ timeoutMs: 0 })) {
    assert.is(message!.length, 0);
    tags.push(consumer.frame.tag);
    if (tags.length === 2) break;
  }
  assert.equal(tags, [2, 4]);
  const nothing = errorOf(() => consumer.read({ timeoutMs: 0 })); // nothing else: no marker, no frame
  assert.instance(nothing, TimeoutError);
  assert.is(nothing.message, 'read timed out after 0 ms');

  // close() while a writeAsync waits for room: the end marker is the last thing the consumer finds.
  producer.write(new Uint8Array(48)); // at offset 96: wraps, and takes [0, 64); 32 bytes free
  const late = producer.writeAsync(new Uint8Array(48), undefined, { timeoutMs: 5000 }).catch((e: unknown) => e as Error);
  assert.is(consumer.read(NOW)!.length, 48);
  producer.close();
  const closed = await late;
  assert.instance(closed, ClosedError);
  assert.is((closed as Error).message, 'writeAsync on a closed ring: the producer called close()');
  assert.is(consumer.read(NOW), null);
});

test('async reads pending on one consumer never take a message that a peek holds: the second one throws', async () => {
  const producer = RingBuffer.create(1024);
  const consumer = RingBuffer.attach(producer.buffer);
  const expected = 'readAsync(): while it waited, another read took the next message and holds it (peekAsync or peek); ' +
    'release() it first: each pending async read takes a message of its own';
  const peeking = consumer.peekAsync({ timeoutMs: 5000 });
  const reading = consumer.readAsync({ timeoutMs: 5000 }).catch((e: unknown) => e as Error);
  producer.write(Uint8Array.of(1));
  producer.write(Uint8Array.of(2));
  const lent = (await peeking)!;
  const refused = await reading;
  assert.is(refused instanceof Error && refused.message, expected);
  assert.equal(Array.from(lent), [1], 'the lent view still holds its message');
  consumer.release();
  assert.equal(Array.from((await consumer.readAsync())!), [2]);

  const twice = [consumer.peekAsync({ timeoutMs: 5000 }), consumer.peekAsync({ timeoutMs: 5000 })];
  producer.write(Uint8Array.of(3));
  const settled = await Promise.allSettled(twice);
  assert.equal(Array.from((settled[0] as PromiseFulfilledResult<Uint8Array>).value), [3]);
  assert.is(((settled[1] as PromiseRejectedResult).reason as Error).message, expected.replace('readAsync', 'peekAsync'));
  // Called while a message is held, an async read takes that one, as its blocking twin does.
  assert.equal(Array.from((await consumer.readAsync())!), [3]);
});

test('a view whose buffer was transferred away, or that lies outside its resizable one, is refused, not written as an empty message', () => {
  const producer = RingBuffer.create(1024);
  for (const view of [new Uint8Array(8), new Float64Array(2), new DataView(new ArrayBuffer(8))]) {
    structuredClone(view.buffer, { transfer: [view.buffer] }); // detaches it
    const err = errorOf(() => producer.write(view));
    assert.instance(err, TypeError);
    const kind = view.constructor.name;
    assert.is(err.message, `Expected a view to write, got a ${kind} whose ArrayBuffer is detached (its memory was transferred away)`);
  }
  assert.is(RingBuffer.attach(producer.buffer).hasMessage(), false);
  // One outside its resizable buffer, which shrank below it, reads 0 bytes too, and is refused too.
  const resizable = new ArrayBuffer(32, { maxByteLength: 64 });
  const outside = [new Float64Array(resizable, 8, 2), new DataView(resizable, 8, 16)];
  resizable.resize(8);
  for (const view of outside) {
    const err = errorOf(() => producer.write(view));
    assert.instance(err, TypeError);
    const kind = view.constructor.name;
    assert.is(err.message, `Expected a view to write, got a ${kind} out of bounds of its resizable ArrayBuffer (the buffer shrank below it)`);
  }
  producer.write(new Uint8Array(resizable, 8, 0)); // an empty view at its end is in bounds
  assert.is(RingBuffer.attach(producer.buffer).read(NOW)!.length, 0);
});

test('async calls: abort wakes the pending ones, a full ring times writeAsync out, a closed one ends readAsync', async () => {
  const producer = RingBuffer.create(256, { strategy: 'park' });
  const consumer = RingBuffer.attach(producer.buffer, { strategy: 'park' });
  producer.write(new Uint8Array(112)); // a frame of 128 bytes: half the ring
  producer.write(new Uint8Array(112)); // full
  const late = await producer.writeAsync(Uint8Array.of(1), undefined, { timeoutMs: 50 }).catch((e: unknown) => e as Error);
  assert.instance(late, TimeoutError);
  assert.is((late as Error).message, 'writeAsync timed out after 50 ms');
  assert.is(consumer.read(NOW)!.length, 112);
  assert.is(consumer.read(NOW)!.length, 112);
  producer.close();
  assert.is(await consumer.readAsync(), null, 'closed and drained');

  // Pending on an empty ring (two reads) and on a full one (a write): the abort wakes all three, on the spot.
  const empty = RingBuffer.create(256, { strategy: 'park' });
  const reader = RingBuffer.attach(empty.buffer, { strategy: 'park' });
  const full = RingBuffer.create(256, { strategy: 'park' });
  full.write(new Uint8Array(112));
  full.write(new Uint8Array(112));
  const pending = [reader.readAsync(), reader.peekAsync(), full.writeAsync(Uint8Array.of(2))];
  setTimeout(() => {
    empty.abort();
    full.abort();
  }, 20);
  const settled = await Promise.allSettled(pending);
  for (const [i, outcome] of settled.entries()) {
    assert.is(outcome.status, 'rejected', `call ${i}`);
    assert.instance((outcome as PromiseRejectedResult).reason, AbortedError, `call ${i}`);
  }
  assert.is(((settled[2] as PromiseRejectedResult).reason as Error).message, 'writeAsync aborted: the channel was aborted');
});

test('header fields the frame cannot hold are refused with the numbers, before anything is written', async () => {
  const producer = RingBuffer.create(256);
  const consumer = RingBuffer.attach(producer.buffer);
  const refused: [object, string][] = [
    [{ tag: 2 ** 31 }, "Expected the frame's `tag` to be a signed 32-bit integer, got 2147483648"],
    [{ tag: 1.5 }, "Expected the frame's `tag` to be a signed 32-bit integer, got 1.5"],
    [{ tag: NaN }, "Expected the frame's `tag` to be a signed 32-bit integer, got NaN"],
    [{ type: 256 }, "Expected the frame's `type` to be an integer from 0 to 255, got 256"],
    [{ aux: -1 }, "Expected the frame's `aux` to be an unsigned 32-bit integer, got -1"],
    [{ tag: '7' }, "Expected the frame's `tag` to be a signed 32-bit integer, got \"7\""],
    [{ tag: 3n }, "Expected the frame's `tag` to be a signed 32-bit integer, got 3n"],
  ];
  for (const [meta, message] of refused) {
    const err = errorOf(() => producer.write(Uint8Array.of(1), meta));
    assert.instance(err, RangeError);
    assert.is(err.message, message);
    assert.is(errorOf(() => producer.reserve(8, meta)).message, message);
  }
  assert.not.ok(consumer.hasMessage());
  const full = RingBuffer.create(256);
  full.write(new Uint8Array(112));
  full.write(new Uint8Array(112));
  const early = await full.writeAsync(Uint8Array.of(1), { tag: 0.5 }, { timeoutMs: 5_000 }).catch((e: unknown) => e as Error);
  assert.is((early as Error).message, "Expected the frame's `tag` to be a signed 32-bit integer, got 0.5", 'writeAsync: before any wait');
  // A timeout where the header goes would be ignored, and a full ring would block for ever: it is refused, on a full one.
  const misplaced = { timeoutMs: 50 } as never;
  const where = (call: string) => `\`timeoutMs\` goes in the options after the frame header: ${call}`;
  assert.is(errorOf(() => full.write(Uint8Array.of(1), misplaced)).message, where('write(bytes, meta, { timeoutMs })'));
  assert.is(errorOf(() => full.reserve(8, misplaced)).message, where('reserve(length, meta, { timeoutMs })'));
  assert.is(errorOf(() => full.reserveOffset(8, misplaced)).message, where('reserveOffset(length, meta, { timeoutMs })'));
  const asyncMisplaced = await full.writeAsync(Uint8Array.of(1), misplaced).catch((e: unknown) => e as Error);
  assert.instance(asyncMisplaced, TypeError);
  assert.is((asyncMisplaced as Error).message, where('writeAsync(bytes, meta, { timeoutMs })'));
  producer.write(Uint8Array.of(7), { type: 255, tag: -(2 ** 31), aux: 2 ** 32 - 1 }); // the limits themselves pass
  assert.equal(Array.from(consumer.read(NOW)!), [7]);
  assert.equal([consumer.frame.type, consumer.frame.tag, consumer.frame.aux], [255, -(2 ** 31), 2 ** 32 - 1]);
  // A plain JavaScript caller's null where the header goes is no header, as null options are none: on every producer call
  const none = null as never;
  producer.write(Uint8Array.of(1), none, { timeoutMs: 1000 });
  producer.reserve(1, none)[0] = 2;
  producer.commit();
  producer.data[producer.reserveOffset(1, none)] = 3;
  producer.commit();
  await producer.writeAsync(Uint8Array.of(4), none);
  for (const value of [1, 2, 3, 4]) {
    assert.equal(Array.from(consumer.read(NOW)!), [value]);
    assert.equal([consumer.frame.type, consumer.frame.tag, consumer.frame.aux], [0, 0, 0], `message ${value}`);
  }
});

test('a header without meta is type, tag and aux 0, where the frame before at that offset had them all set', () => {
  // write and reserve without meta write their header as type, tag and aux 0 (writeHeader): nothing of a former frame
  // at the same offset shows through. On a 64-byte ring every frame of a 1-byte payload (24 bytes) is at offset 0 or 24,
  // and one message in three has meta: each offset has a frame with meta, then one without.
  const producer = RingBuffer.create(64);
  const consumer = RingBuffer.attach(producer.buffer);
  const seen: number[][] = [];
  for (let seq = 0; seq < 12; seq++) {
    if (seq % 3 === 0) {
      producer.write(Uint8Array.of(seq), { type: 200, tag: -seq - 1, aux: 0xfedcba98 });
    } else if (seq % 3 === 1) {
      producer.write(Uint8Array.of(seq));
    } else {
      producer.reserve(1)[0] = seq;
      producer.commit();
    }
    assert.is(consumer.hold(NOW), 1);
    const { offset, type, tag, aux } = consumer.frame;
    seen.push([consumer.data[offset]!, offset, type, tag, aux]);
    consumer.release();
  }
  const withMeta = (seq: number, offset: number) => [seq, offset, 200, -seq - 1, 0xfedcba98];
  assert.equal(seen, [
    withMeta(0, 16), [1, 40, 0, 0, 0], [2, 16, 0, 0, 0], withMeta(3, 40), [4, 16, 0, 0, 0], [5, 40, 0, 0, 0],
    withMeta(6, 16), [7, 40, 0, 0, 0], [8, 16, 0, 0, 0], withMeta(9, 40), [10, 16, 0, 0, 0], [11, 40, 0, 0, 0],
  ]);
});

test('canary bytes around a reserved view are untouched', () => {
  const ring = RingBuffer.create(256);
  const bytes = new Uint8Array(ring.buffer, RING_HEADER_BYTES, 256);
  bytes.fill(0xa5);
  const view = ring.reserve(13, { tag: 1 });
  view.fill(0x11);
  ring.commit();
  // header (16 bytes) + 13 payload bytes; padding bytes 29..31 and everything after keep the canary.
  for (let i = FRAME_HEADER_BYTES + 13; i < 256; i++) assert.is(bytes[i], 0xa5, `byte ${i}`);
  for (let i = FRAME_HEADER_BYTES; i < FRAME_HEADER_BYTES + 13; i++) assert.is(bytes[i], 0x11);
});

test('a header is taken when the call is made: a meta object changed before commit(), or while writeAsync waits, changes nothing', async () => {
  const ring = RingBuffer.create(256);
  const meta = { type: 3, tag: -5, aux: 9 };
  ring.reserve(4, meta).set([1, 2, 3, 4]);
  Object.assign(meta, { type: 300, tag: 7, aux: -1 }); // different, and out of range
  assert.is(errorOf(() => ring.reserve(8, { type: 1, tag: 1 })).message, 'reserve() with an open reservation: commit() it first');
  ring.commit();
  assert.equal(Array.from(ring.read(NOW)!), [1, 2, 3, 4]);
  assert.equal([ring.frame.type, ring.frame.tag, ring.frame.aux], [3, -5, 9]);
  // writeAsync on a full ring: its header is the one it was called with, not the one its meta holds once room comes
  const full = RingBuffer.create(256);
  full.write(new Uint8Array(112), undefined, { timeoutMs: 0 });
  full.write(new Uint8Array(112), undefined, { timeoutMs: 0 }); // full: two frames of 128 bytes
  const waiting = { type: 4, tag: 40, aux: 400 };
  const written = full.writeAsync(Uint8Array.of(5), waiting, { timeoutMs: 10_000 });
  Object.assign(waiting, { type: 500, tag: 0.5, aux: -4 });
  full.read(NOW);
  await written;
  full.read(NOW);
  assert.equal(Array.from(full.read({ timeoutMs: 0 })!), [5]);
  assert.equal([full.frame.type, full.frame.tag, full.frame.aux], [4, 40, 400]);
});

test('a header is read from meta once: a getter, or an onWait that changes meta while reserve waits, spoils no frame', () => {
  // Read twice, the second read went out unchecked: a type of 1024 spoiled the kind word's marker (CorruptFrameError)
  const ring = RingBuffer.create(256);
  let reads = 0;
  const changing = { get type() { return reads++ === 0 ? 1 : 1024; }, tag: 2 };
  ring.write(Uint8Array.of(7), changing);
  assert.equal(Array.from(ring.read(NOW)!), [7]);
  assert.equal([ring.frame.type, ring.frame.tag, reads], [1, 2, 1]);

  const meta = { type: 3, tag: -5, aux: 9 };
  let waits = 0;
  const full = RingBuffer.create(256, {
    strategy: 'park', // onWait hears of every wait at once
    onWait: (waiting) => {
      if (!waiting || waits++ > 0) return;
      Object.assign(meta, { type: 4096, tag: 1.5, aux: -1 }); // out of range, all three
      full.read(NOW); // the room reserve() waits for
    },
  });
  full.write(new Uint8Array(112));
  full.write(new Uint8Array(96)); // 240 bytes of 256 taken
  full.reserve(100, meta, { timeoutMs: 1000 }).fill(4);
  full.commit();
  assert.is(waits, 1);
  assert.is(full.read(NOW)!.length, 96);
  assert.is(full.read(NOW)!.length, 100);
  assert.equal([full.frame.type, full.frame.tag, full.frame.aux], [3, -5, 9]);
});

test('commit may shrink a reservation, reserve/peek misuse is refused', () => {
  const ring = RingBuffer.create(256);
  ring.reserve(100).fill(9);
  assert.is(errorOf(() => ring.reserve(1)).message, 'reserve() with an open reservation: commit() it first');
  assert.is(errorOf(() => ring.commit(101)).message, 'Expected commit() of 0 to 100 reserved bytes, got 101');
  assert.is(errorOf(() => ring.commit('10' as never)).message, 'Expected commit() of 0 to 100 reserved bytes, got "10"');
  ring.commit(10);
  assert.is(errorOf(() => ring.commit()).message, 'commit() without an open reserve()');
  const view = ring.peek(NOW)!;
  assert.equal(Array.from(view), new Array(10).fill(9));
  assert.is(ring.peek(NOW)!.byteOffset, view.byteOffset);
  ring.release();
  assert.is(errorOf(() => ring.release()).message, 'release() without a message: peek() first');
});

test('hold and copyHeld copy a message out without a view, small and large', () => {
  const ring = RingBuffer.create(1024);
  const target = new Uint8Array(300).fill(0xee);
  ring.write(Uint8Array.of(1, 2, 3), { tag: 4 });
  assert.is(ring.hold(NOW), 3);
  assert.is(ring.frame.tag, 4);
  ring.copyHeld(target, 10);
  ring.release();
  assert.equal(Array.from(target.subarray(9, 14)), [0xee, 1, 2, 3, 0xee]);
  const big = new Uint8Array(200);
  fillPattern(big, 7);
  ring.write(big);
  assert.is(ring.hold(NOW), 200);
  ring.copyHeld(target);
  ring.release();
  assert.is(checkPattern(target.subarray(0, 200), 7), -1);
  assert.is(errorOf(() => ring.copyHeld(target)).message, 'copyHeld() without a message: hold() or peek() first');
  // The argument first, the state after: an `at` that is no offset is told as such with no message held too
  assert.is(errorOf(() => ring.copyHeld(target, 0.5)).message, 'copyHeld(): Expected `at` to be an integer byte offset, got 0.5');
  ring.close();
  assert.is(ring.hold(NOW), -1);
});

test('short payloads, copied four bytes a word: every length to 48, from and to every byte offset, exact', () => {
  // write copies up to 32 bytes, and copyHeld up to 48, a word at a time and the rest byte by byte; the views here
  // start at every offset from a word's, so the words are put together and taken apart at every alignment.
  const ring = RingBuffer.create(1 << 12);
  const memory = new Uint8Array(64 + 8);
  let checked = 0;
  for (let length = 0; length <= 48; length++) {
    for (let from = 0; from < 4; from++) {
      const source = new Uint8Array(memory.buffer, from, length);
      for (let i = 0; i < length; i++) source[i] = (0x81 + 37 * i + 11 * from) & 0xff; // top bits set: no sign lost
      ring.write(source);
      assert.equal(Array.from(ring.peek(NOW)!), Array.from(source), `${length} bytes from offset ${from}, in the ring`);
      for (let at = 0; at < 4; at++) {
        const target = new Uint8Array(length + 8).fill(0x5a);
        ring.copyHeld(target, at);
        const want = [...new Array<number>(at).fill(0x5a), ...source, ...new Array<number>(8 - at).fill(0x5a)];
        assert.equal(Array.from(target), want, `${length} bytes from offset ${from}, copied out at ${at}`);
        checked++;
      }
      ring.release();
    }
  }
  assert.is(checked, 49 * 4 * 4);
});

test('copyHeld into a Uint8ClampedArray (a JavaScript caller\'s, as ImageData.data is) copies bytes, at every length', () => {
  // A store into a Uint8ClampedArray clamps what it is given: a word's bytes must each be stored as a byte, 0 to 255.
  const ring = RingBuffer.create(1 << 12);
  for (const length of [1, 3, 4, 5, 8, 31, 48, 49, 100]) {
    const source = Uint8Array.from({ length }, (_, i) => (0x81 + 37 * i) & 0xff);
    ring.write(source);
    ring.hold(NOW);
    const target = new Uint8ClampedArray(length + 2).fill(0x5a);
    ring.copyHeld(target as unknown as Uint8Array, 1);
    ring.release();
    assert.equal(Array.from(target), [0x5a, ...source, 0x5a], `${length} bytes`);
  }
});

test('reserveOffset and frame.offset: a payload written and read through ring.data, no view, across the wrap', () => {
  const producer = RingBuffer.create(256);
  const consumer = RingBuffer.attach(producer.buffer);
  const seed = testSeed('reserveOffset');
  const random = prng(seed);
  for (let seq = 0; seq < 500; seq++) {
    const size = randomSize(random, producer.maxMessage);
    const at = producer.reserveOffset(size, { tag: seq });
    assert.is(at % 8, 0);
    assert.ok(at + size <= producer.capacity, `payload at ${at} of ${size} bytes runs past the end`);
    fillPattern(producer.data.subarray(at, at + size), seq);
    producer.commit();
    assert.is(consumer.hold(NOW), size);
    assert.is(consumer.frame.offset, at, `seed ${seed}, message ${seq}`);
    assert.is(consumer.frame.tag, seq);
    assert.is(checkPattern(consumer.data.subarray(at, at + size), seq), -1);
    consumer.release();
  }
});

test('cork: messages stay unseen until uncork, then arrive in order; 16 messages or 16 KiB publish a batch', () => {
  const producer = RingBuffer.create(1 << 16);
  const consumer = RingBuffer.attach(producer.buffer);
  producer.cork();
  assert.is(producer.isCorked, true);
  for (let i = 0; i < 15; i++) producer.write(Uint8Array.of(i));
  assert.is(consumer.hasMessage(), false);
  producer.uncork();
  assert.is(producer.isCorked, false);
  for (let i = 0; i < 15; i++) assert.equal(Array.from(consumer.read(NOW)!), [i]);
  assert.is(consumer.hasMessage(), false);

  // The 16th message of a batch publishes the batch; the next ones wait for the next batch.
  producer.cork();
  for (let i = 0; i < 20; i++) producer.write(Uint8Array.of(i));
  const seen: number[] = [];
  while (consumer.hasMessage()) seen.push(consumer.read(NOW)![0]!);
  assert.equal(seen, Array.from({ length: 16 }, (_, i) => i));
  producer.uncork();
  while (consumer.hasMessage()) seen.push(consumer.read(NOW)![0]!);
  assert.is(seen.length, 20);

  // 16 KiB publish a batch of fewer messages: two of 8 KiB, once the first batches (2, 4, 8 KiB) are out.
  producer.cork();
  for (let i = 0; i < 3; i++) {
    producer.write(new Uint8Array(8192 - 16));
    // timeoutMs 0: one held back would never come on this thread (the third frame fills its 8 KiB batch exactly)
    assert.is(consumer.read({ timeoutMs: 0 })!.length, 8192 - 16, `first batches: message ${i} published at once`);
  }
  producer.write(new Uint8Array(8192 - 16));
  assert.is(consumer.hasMessage(), false);
  producer.write(new Uint8Array(8192 - 16));
  assert.is(consumer.hasMessage(), true);
  assert.is(consumer.read({ timeoutMs: 0 })!.length, 8192 - 16);
  assert.is(consumer.read({ timeoutMs: 0 })!.length, 8192 - 16);
  producer.uncork();
  assert.is(consumer.hasMessage(), false);
});

test('cork: the first batches after cork() are published at 2, 4 and 8 KiB, then every 16 KiB; each cork() starts over', () => {
  const producer = RingBuffer.create(1 << 16);
  const consumer = RingBuffer.attach(producer.buffer);
  const batches = (messages: number): number[] => {
    const seen: number[] = [];
    let next = 0;
    for (let i = 0; i < messages; i++) {
      producer.write(new Uint8Array(1024 - FRAME_HEADER_BYTES).fill(i)); // frames of exactly 1 KiB
      let batch = 0;
      for (; consumer.hasMessage(); batch++) assert.is(consumer.read(NOW)![0], next++, 'in order');
      if (batch > 0) seen.push(batch);
    }
    return seen;
  };
  producer.cork();
  assert.equal(batches(46), [2, 4, 8, 16, 16]);
  producer.uncork();
  producer.cork();
  assert.equal(batches(6), [2, 4]);
  producer.uncork();
});

test('cork: a corked producer that runs out of room publishes first; close() publishes the rest', () => {
  const producer = RingBuffer.create(4096); // a batch is at most a quarter of it: 1 KiB
  const consumer = RingBuffer.attach(producer.buffer);
  const head = () => Atomics.load(new Int32Array(producer.buffer), RING_LAYOUT.HEAD);
  for (let i = 0; i < 4; i++) producer.write(new Uint8Array(1024 - 16).fill(i)); // one lap, published
  for (let i = 0; i < 2; i++) assert.is(consumer.read(NOW)![0], i); // 2 KiB read: 2 KiB free
  producer.cork();
  for (let i = 4; i < 7; i++) producer.write(new Uint8Array(128 - 16).fill(i)); // 384 B gathered, unpublished
  assert.is(head(), 4096);
  // 2 KiB more fit before the end but not in the 1,664 B free: the producer publishes its batch before it waits
  // for room (and times out here, nobody reading).
  const err = errorOf(() => producer.write(new Uint8Array(2048 - 16), undefined, { timeoutMs: 20 }));
  assert.instance(err, TimeoutError);
  assert.is(err.message, 'write timed out after 20 ms');
  assert.is(head(), 4096 + 384);
  for (let i = 2; i < 7; i++) assert.is(consumer.read(NOW)![0], i);
  producer.write(Uint8Array.of(9));
  assert.is(consumer.hasMessage(), false);
  producer.close();
  assert.equal(Array.from(consumer.read(NOW)!), [9]);
  assert.is(consumer.read(NOW), null);
});

test('copyHeld: payloads through kept views, sizes changing at the same offsets, lap after lap', () => {
  const seed = testSeed('copyHeld kept views');
  // Views kept in 64-byte slots from 49 bytes on rings of up to 2 MiB, in 128-byte slots from 113 bytes on a 4 MiB
  // one (32,768 slots at most); each ring with a stream mostly of one size, small or large.
  const rings = [[1 << 14, 100, 6], [1 << 14, 1024, 6], [1 << 21, 100, 6], [1 << 22, 100, 7], [1 << 22, 1024, 7]] as const;
  for (const [ringBytes, usual, slotShift] of rings) {
    const producer = RingBuffer.create(ringBytes);
    const consumer = RingBuffer.attach(producer.buffer);
    assert.is((consumer as unknown as { keptShift: number }).keptShift, slotShift, `slots of a ${ringBytes}-byte ring`);
    const random = prng(seed);
    const target = new Uint8Array(8192);
    let bytes = 0;
    for (let seq = 0; seq < 3000 || bytes < 1.5 * ringBytes; seq++) { // round the ring once at least
      // Mostly one size (the kept view fits), now and then another at the same offset (it must not), and the sizes
      // either side of where copyHeld stops copying with a loop.
      const draw = random();
      const size = draw < 0.7 ? usual : draw < 0.75 ? 48 : draw < 0.8 ? 49 : 40 + Math.floor(random() * 4000);
      const payload = new Uint8Array(size);
      fillPattern(payload, seq);
      producer.write(payload);
      assert.is(consumer.hold(NOW), size);
      target.fill(0);
      consumer.copyHeld(target, 8);
      consumer.release();
      assert.is(checkPattern(target.subarray(8, 8 + size), seq), -1, `message ${seq} of ${size} bytes`);
      assert.equal([target[7], target[8 + size]], [0, 0], `message ${seq}: nothing copied around it`);
      bytes += size;
    }
  }
});

test('cork with corkBytes: a batch is published at that many bytes, never more than a quarter ring; bad values refused', () => {
  // 100 bytes: two frames of a 64-byte payload (80 bytes each) make a batch.
  const producer = RingBuffer.create(1 << 16, { corkBytes: 100 });
  const consumer = RingBuffer.attach(producer.buffer);
  producer.cork();
  producer.write(new Uint8Array(64).fill(1));
  assert.is(consumer.hasMessage(), false);
  producer.write(new Uint8Array(64).fill(2));
  assert.equal([consumer.read({ timeoutMs: 0 })![0], consumer.read({ timeoutMs: 0 })![0]], [1, 2]);
  producer.uncork();

  // A value above a quarter of the ring is capped there: 256 KiB of a 1 MiB ring, eight frames of 32 KiB (the
  // default, 16 KiB, would publish each one), once the first batches are out: eleven frames published as 1, 1, 1, 1,
  // 1, 2 and 4 while the batch grows from 2 KiB to 256 KiB.
  const big = RingBuffer.create(1 << 20, { corkBytes: 1 << 30 });
  const reader = RingBuffer.attach(big.buffer);
  big.cork();
  for (let i = 0; i < 11; i++) big.write(new Uint8Array(32768 - FRAME_HEADER_BYTES));
  // timeoutMs 0: all are out (the fifth fills its 32 KiB batch exactly, the eleventh its 128 KiB), or never will be
  for (let i = 0; i < 11; i++) assert.is(reader.read({ timeoutMs: 0 })!.length, 32768 - FRAME_HEADER_BYTES);
  assert.is(reader.hasMessage(), false);
  for (let i = 0; i < 7; i++) {
    big.write(new Uint8Array(32768 - FRAME_HEADER_BYTES));
    assert.is(reader.hasMessage(), false, `message ${i}: 224 KiB or less held back`);
  }
  big.write(new Uint8Array(32768 - FRAME_HEADER_BYTES));
  assert.is(reader.hasMessage(), true);
  for (let i = 0; i < 8; i++) assert.is(reader.read({ timeoutMs: 0 })!.length, 32768 - FRAME_HEADER_BYTES);
  // The batch stays at a quarter ring: it does not go on doubling towards the corkBytes given
  for (let i = 0; i < 7; i++) {
    big.write(new Uint8Array(32768 - FRAME_HEADER_BYTES));
    assert.is(reader.hasMessage(), false, `message ${i} of the next batch: 224 KiB or less held back`);
  }
  big.write(new Uint8Array(32768 - FRAME_HEADER_BYTES));
  assert.is(reader.hasMessage(), true, 'the next batch is published at 256 KiB too');

  for (const corkBytes of [0, -1, 1.5, NaN, Infinity]) {
    assert.is(errorOf(() => RingBuffer.create(1024, { corkBytes })).message,
      `Expected \`corkBytes\` to be an integer of at least 1, got ${corkBytes}`);
  }
  assert.instance(errorOf(() => RingBuffer.attach(producer.buffer, { corkBytes: 0 })), RangeError);
});

test('cork, consumer side: freed room goes back every 16 messages or 16 KiB, when the ring is empty, and at uncork', () => {
  const producer = RingBuffer.create(1 << 16);
  const consumer = RingBuffer.attach(producer.buffer);
  const tail = () => Atomics.load(new Int32Array(producer.buffer), RING_LAYOUT.TAIL);
  for (let i = 0; i < 20; i++) producer.write(Uint8Array.of(i)); // frames of 24 bytes: a header and 8 padded
  consumer.cork();
  assert.is(consumer.isCorked, true);
  for (let i = 0; i < 15; i++) assert.equal(Array.from(consumer.read(NOW)!), [i]);
  assert.is(tail(), 0); // 15 messages read, their room not yet given back
  assert.is(producer.bytesFree(), (1 << 16) - 20 * 24);
  assert.equal(Array.from(consumer.read(NOW)!), [15]);
  assert.is(tail(), 16 * 24); // the 16th gives the batch back
  for (let i = 16; i < 20; i++) assert.equal(Array.from(consumer.read(NOW)!), [i]);
  assert.is(tail(), 16 * 24);
  assert.is(consumer.hasMessage(), false); // finding the ring empty gives the rest back
  assert.is(tail(), 20 * 24);

  producer.write(Uint8Array.of(1));
  producer.write(Uint8Array.of(2));
  assert.equal(Array.from(consumer.read(NOW)!), [1]);
  assert.is(tail(), 20 * 24);
  consumer.uncork(); // gives back what it held
  assert.is(consumer.isCorked, false);
  assert.is(tail(), 21 * 24);
  assert.equal(Array.from(consumer.read(NOW)!), [2]); // uncorked: every release gives back at once
  assert.is(tail(), 22 * 24);

  // 16 KiB give a batch back sooner: two messages of 8 KiB.
  consumer.cork();
  for (let i = 0; i < 3; i++) producer.write(new Uint8Array(8192 - 16).fill(i));
  consumer.read(NOW);
  assert.is(tail(), 22 * 24);
  consumer.read(NOW);
  assert.is(tail(), 22 * 24 + 16384);
  consumer.read(NOW);
  assert.is(tail(), 22 * 24 + 16384);
  // A read that finds the ring empty gives the room back before it waits (here until its timeout).
  const empty = errorOf(() => consumer.read({ timeoutMs: 1 }));
  assert.instance(empty, TimeoutError);
  assert.is(empty.message, 'read timed out after 1 ms');
  assert.is(tail(), 22 * 24 + 3 * 8192);
  consumer.uncork();
});

test('cork, one object on both sides: it never waits on what it holds back (its messages, its freed room)', () => {
  const ring = RingBuffer.create(256); // batches of 64 bytes at most (a quarter of the ring)
  const words = new Int32Array(ring.buffer);
  ring.cork(); // corks both sides: this one object writes and reads
  ring.write(Uint8Array.of(0));
  ring.write(Uint8Array.of(1)); // two frames of 24 bytes, held back
  assert.is(Atomics.load(words, RING_LAYOUT.HEAD), 0);
  // The ring looks empty to the reader: it publishes its own messages instead of waiting for them.
  assert.equal(Array.from(ring.read({ timeoutMs: 100 })!), [0]);
  assert.equal(Array.from(ring.read({ timeoutMs: 100 })!), [1]);
  assert.is(Atomics.load(words, RING_LAYOUT.TAIL), 0); // their 48 bytes of room, held back
  // Nine more: the ninth wraps and needs that room; the writer gives it back to itself instead of waiting for it.
  for (let k = 2; k < 11; k++) ring.write(Uint8Array.of(k), undefined, { timeoutMs: 100 });
  for (let k = 2; k < 11; k++) assert.equal(Array.from(ring.read({ timeoutMs: 100 })!), [k]);
  ring.uncork();
  assert.is(Atomics.load(words, RING_LAYOUT.TAIL), 11 * 24 + 16); // eleven frames and the 16 bytes the wrap skipped
  assert.is(Atomics.load(words, RING_LAYOUT.HEAD), 11 * 24 + 16);
});

test('close: the consumer drains every message, then read() gives null, and keeps giving null', () => {
  const ring = RingBuffer.create(128);
  ring.write(Uint8Array.of(1, 2, 3));
  ring.write(Uint8Array.of(4));
  ring.close();
  assert.equal(Array.from(ring.read(NOW)!), [1, 2, 3]);
  assert.is(ring.hasMessage(), true);
  assert.equal(Array.from(ring.read(NOW)!), [4]);
  assert.is(ring.read(NOW), null);
  assert.is(ring.peek(NOW), null);
  assert.is(ring.read({ timeoutMs: 0 }), null);
  const err = errorOf(() => ring.write(Uint8Array.of(5)));
  assert.instance(err, ClosedError);
  assert.is(err.message, 'write on a closed ring: the producer called close()');
  assert.is(errorOf(() => ring.close()).message, 'close on a closed ring: the producer called close()');
  // A mistake in the arguments is told as such on a closed ring too, not as the ring's state.
  const misplaced = { timeoutMs: 5 } as unknown as FrameMeta;
  assert.is(errorOf(() => ring.write(Uint8Array.of(5), misplaced)).message,
    '`timeoutMs` goes in the options after the frame header: write(bytes, meta, { timeoutMs })');
  assert.is(errorOf(() => ring.write(Uint8Array.of(5), undefined, { timeoutMs: -1 })).message,
    'Expected `timeoutMs` to be a number >= 0, got -1');
  assert.is(errorOf(() => ring.reserve(ring.maxMessage + 1)).message,
    'Expected a message of 0 to 48 bytes (maxMessage of a 128-byte ring), got 49; a Sender sends larger values over a ring in chunks');
});

test('a corrupted frame header raises CorruptFrameError naming it', () => {
  const ring = RingBuffer.create(256);
  const dataWords = new Uint32Array(ring.buffer, RING_HEADER_BYTES, 64);
  ring.write(new Uint8Array(8));
  dataWords[1] = 0; // the kind word: marker gone
  let err = errorOf(() => ring.read(NOW));
  assert.instance(err, CorruptFrameError);
  assert.is(err.message, 'corrupt frame header at ring offset 0: bad marker 0x0 (expected 0x5343)');

  const second = RingBuffer.create(256);
  const words2 = new Uint32Array(second.buffer, RING_HEADER_BYTES, 64);
  second.write(new Uint8Array(8));
  words2[0] = 1_000_000; // the length
  err = errorOf(() => second.read(NOW));
  assert.is(err.message, 'corrupt frame header at ring offset 0: length 1000000 does not fit (maxMessage 112, 24 bytes available)');

  // A length above maxMessage, though its frame would end inside the ring and inside what is published
  const longer = RingBuffer.create(256);
  longer.write(new Uint8Array(112)); // 128 bytes at offset 0
  longer.write(new Uint8Array(8)); // 24 at 128: 152 published
  new Uint32Array(longer.buffer, RING_HEADER_BYTES, 1)[0] = 120; // a frame of 136 bytes
  err = errorOf(() => longer.read(NOW));
  assert.instance(err, CorruptFrameError);
  assert.is(err.message, 'corrupt frame header at ring offset 0: length 120 does not fit (maxMessage 112, 152 bytes available)');

  // A length within maxMessage and the ring, whose frame would end past what is published: the rest is not written yet
  const pastPublished = RingBuffer.create(256);
  pastPublished.write(new Uint8Array(8)); // 24 bytes published
  new Uint32Array(pastPublished.buffer, RING_HEADER_BYTES, 1)[0] = 100; // a frame of 120 bytes
  err = errorOf(() => pastPublished.read(NOW));
  assert.instance(err, CorruptFrameError);
  assert.is(err.message, 'corrupt frame header at ring offset 0: length 100 does not fit (maxMessage 112, 24 bytes available)');

  const third = RingBuffer.create(256);
  const words3 = new Uint32Array(third.buffer, RING_HEADER_BYTES, 64);
  third.write(new Uint8Array(8));
  words3[1] = (RING_LAYOUT.FRAME_MAGIC << 16) | 9;
  err = errorOf(() => third.read(NOW));
  assert.is(err.message, 'corrupt frame header at ring offset 0: unknown kind 9');
});

test('a wrap marker where no producer writes one is a corrupt frame, not a loop or a TAIL past HEAD', () => {
  const wrapWord = (RING_LAYOUT.FRAME_MAGIC << 16) | 2; // KIND_WRAP
  // At offset 0: a producer never wraps there (every frame fits from the start); stepping over it would go round the
  // ring for ever, beyond the reach of timeoutMs and abort().
  const atStart = RingBuffer.create(1024);
  atStart.write(new Uint8Array(8));
  new Uint32Array(atStart.buffer, RING_HEADER_BYTES, 2)[1] = wrapWord;
  let err = errorOf(() => atStart.read({ timeoutMs: 100 }));
  assert.instance(err, CorruptFrameError);
  assert.is(err.message, 'corrupt frame header at ring offset 0: a wrap marker at the start of the ring');

  // Further on, skipping more than is published: TAIL would pass HEAD, and the producer would see more room than the
  // ring has.
  const pastHead = RingBuffer.create(1024);
  pastHead.write(new Uint8Array(8));
  pastHead.read(NOW);
  pastHead.write(new Uint8Array(8)); // a frame of 24 bytes at offset 24, 24 published
  new Uint32Array(pastHead.buffer, RING_HEADER_BYTES + 24, 2)[1] = wrapWord;
  err = errorOf(() => pastHead.read(NOW));
  assert.instance(err, CorruptFrameError);
  assert.is(err.message, 'corrupt frame header at ring offset 24: a wrap marker that skips 1000 bytes, where 24 are published');
  assert.is(pastHead.bytesFree(), 1024 - 24, 'TAIL did not move');
});

test('an end marker with bytes published after it is a corrupt frame, not the end of the stream', () => {
  const endWord = (RING_LAYOUT.FRAME_MAGIC << 16) | 3; // KIND_END
  // Over the first message's kind word: the stream looked ended there, and both messages were dropped without a word
  const ring = RingBuffer.create(256);
  ring.write(Uint8Array.of(1, 2, 3)); // 24 bytes at 0
  ring.write(Uint8Array.of(4)); // 24 at 24
  new Uint32Array(ring.buffer, RING_HEADER_BYTES, 2)[1] = endWord;
  for (const call of [() => ring.read(NOW), () => ring.hasMessage()]) {
    const err = errorOf(call);
    assert.instance(err, CorruptFrameError);
    assert.is(err.message,
      'corrupt frame header at ring offset 0: an end marker where 48 bytes are published, not its own 16 (close() writes nothing after it)');
  }
  // The producer's own end marker still ends the stream, read again and again
  const closed = RingBuffer.create(256);
  closed.write(Uint8Array.of(5));
  closed.close();
  assert.equal(Array.from(closed.read(NOW)!), [5]);
  assert.is(closed.read(NOW), null);
  assert.is(closed.read(NOW), null);
});

test('a wrap or end marker with a type byte is a corrupt frame: the kind byte of a message overwritten, not a marker', () => {
  // A message's kind byte is 1, an end marker's 3 (one bit apart), a wrap marker's 2; close() and a wrap write the type
  // byte 0, a Sender never does (codec types are 1 and up)
  const wrapped = RingBuffer.create(64);
  for (let i = 0; i < 4; i++) wrapped.write(new Uint8Array(0), { type: 3 }); // frames of 16 bytes at 0, 16, 32, 48
  new Uint32Array(wrapped.buffer, RING_HEADER_BYTES + 16, 2)[1]! += 1; // the second one's kind byte, 1 to 2
  assert.is(wrapped.read(NOW)!.length, 0);
  // Stepped over, it skipped the rest of the ring, the last 48 bytes published: three messages lost without a word
  const wrapErr = errorOf(() => wrapped.read(NOW));
  assert.instance(wrapErr, CorruptFrameError);
  assert.is(wrapErr.message, 'corrupt frame header at ring offset 16: a wrap marker with the type byte 3 (markers have 0)');
  // The last frame published, so that only its type byte tells (read() returned null)
  const last = RingBuffer.create(256);
  last.write(new Uint8Array(0), { type: 140 });
  new Uint32Array(last.buffer, RING_HEADER_BYTES, 2)[1]! += 2; // kind byte 1 to 3
  const lastErr = errorOf(() => last.read(NOW));
  assert.instance(lastErr, CorruptFrameError);
  assert.is(lastErr.message, 'corrupt frame header at ring offset 0: an end marker with the type byte 140 (markers have 0)');
});

test('a HEAD more than the ring ahead of TAIL is a corrupt frame, not laps of stale frames read as new', () => {
  const ring = RingBuffer.create(128);
  const consumer = RingBuffer.attach(ring.buffer);
  for (let seq = 0; seq < 7; seq++) { // frames of 24 bytes at 0 to 96, a wrap at 120, again from 0: every header valid
    ring.write(Uint8Array.of(seq, seq, seq, seq, seq, seq, seq, seq), { tag: seq });
    assert.is(consumer.read(NOW)![0], seq);
  }
  const header = new Int32Array(ring.buffer, 0, RING_HEADER_BYTES / 4);
  const tail = header[RING_LAYOUT.TAIL]!; // 176: 48 into the second lap
  header[RING_LAYOUT.HEAD] = tail + 8 * 128; // eight rings ahead: the consumer read the old frames as new, lap after lap
  const message = `corrupt frame header at ring offset 48: HEAD ${tail + 1024} is 1024 bytes ahead of TAIL ${tail}, more than the 128 the ring holds`;
  for (const reader of [consumer, RingBuffer.attach(ring.buffer)]) { // one that loads HEAD again, one that attaches late
    const err = errorOf(() => reader.read(NOW));
    assert.instance(err, CorruptFrameError);
    assert.is(err.message, message);
  }
  // Behind TAIL: no frame fits in what is published
  header[RING_LAYOUT.HEAD] = tail - 24;
  const behind = errorOf(() => RingBuffer.attach(ring.buffer).read(NOW));
  assert.instance(behind, CorruptFrameError);
  assert.is(behind.message, `corrupt frame header at ring offset 48: HEAD ${tail - 24} is 24 bytes behind TAIL ${tail}`);
});

test('a HEAD or TAIL that is no multiple of 8 is a corrupt frame, not frames read from the middle of others', () => {
  for (const [counter, by] of [['TAIL', 2], ['HEAD', 4]] as const) {
    const ring = RingBuffer.create(256);
    for (let seq = 0; seq < 3; seq++) ring.write(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8).map((byte) => byte + 8 * seq));
    ring.read(NOW); // frames at 0, 24 and 48: TAIL 24, HEAD 72
    const header = new Int32Array(ring.buffer, 0, RING_HEADER_BYTES / 4);
    header[RING_LAYOUT[counter]] += by;
    // TAIL 26: a consumer attached late read the header at 24 (its word) and the payload 2 bytes late, [11, ..., 16, 8,
    // 0] (the next header's length word), as the next message
    const err = errorOf(() => RingBuffer.attach(ring.buffer).read(NOW));
    assert.instance(err, CorruptFrameError, counter);
    const problem = counter === 'TAIL' ? `TAIL ${24 + by}` : `HEAD ${72 + by}`;
    const offset = counter === 'TAIL' ? 24 + by : 24;
    assert.is(err.message, `corrupt frame header at ring offset ${offset}: ${problem} is not a multiple of 8, as every frame's start is`);
  }
});

test('a ring option it does not take is refused by name, not ignored', () => {
  assert.is(errorOf(() => RingBuffer.create(1024, { corkbytes: 5 } as never)).message,
    'Unknown ring option `corkbytes` (did you mean corkBytes?): expected strategy, spinMicros, onWait, onStillWaiting, corkBytes');
  const ring = RingBuffer.create(1024);
  assert.instance(errorOf(() => RingBuffer.attach(ring.buffer, { stategy: 'spin' } as never)), TypeError);
  // Options that are no object had no keys to refuse, and were taken for none; null is none (it threw at .strategy)
  const bare = errorOf(() => RingBuffer.attach(ring.buffer, 'park' as never));
  assert.instance(bare, TypeError);
  assert.is(bare.message, 'Expected ring options to be an object (strategy, spinMicros, onWait, onStillWaiting, corkBytes), got "park"');
  assert.is(RingBuffer.create(1024, null as never).strategy, 'spinThenPark');
});

test('a bad timeoutMs is refused as the call starts, though it would not have to wait', () => {
  const ring = RingBuffer.create(1024);
  for (const timeoutMs of [-5, NaN, '200', null]) { // '200' and null passed !(t >= 0): '200' timed out at once
    const err = errorOf(() => ring.write(Uint8Array.of(1), undefined, { timeoutMs: timeoutMs as number }));
    assert.instance(err, RangeError);
    assert.is(err.message, `Expected \`timeoutMs\` to be a number >= 0, got ${typeof timeoutMs === 'string' ? `"${timeoutMs}"` : timeoutMs}`);
  }
  assert.is(ring.bytesFree(), 1024, 'nothing was written');
  // A misspelt timeoutMs would wait for ever: refused by name.
  assert.is(errorOf(() => ring.read({ timeout: 5 } as never)).message, 'Unknown blocking call option `timeout` (did you mean timeoutMs?): expected timeoutMs');
  ring.write(Uint8Array.of(7), undefined, {}); // an empty options object is fine
  assert.is(errorOf(() => ring.read({ timeoutMs: -1 })).message, 'Expected `timeoutMs` to be a number >= 0, got -1');
  assert.equal([...ring.read({ timeoutMs: 0 })!], [7], 'the message is still there');
});

test('the timeoutMs rule: 0 does not wait, Infinity and none wait for ever, a bare number where the options go is refused', () => {
  const ring = RingBuffer.create(1024);
  // 0: a try. Nothing there: a TimeoutError at once; a message there: taken
  const none = errorOf(() => ring.read({ timeoutMs: 0 }));
  assert.instance(none, TimeoutError);
  assert.is(none.message, 'read timed out after 0 ms');
  ring.write(Uint8Array.of(1), undefined, { timeoutMs: 0 });
  assert.equal([...ring.read({ timeoutMs: 0 })!], [1]);
  ring.write(Uint8Array.of(2), undefined, { timeoutMs: Infinity });
  assert.equal([...ring.read({ timeoutMs: Infinity })!], [2]);
  // read(100) and read(0), the number where { timeoutMs } goes, waited for ever: nothing refused it
  for (const call of [() => ring.read(100 as never), () => ring.peek(0 as never), () => ring.write(Uint8Array.of(3), undefined, 100 as never)]) {
    const err = errorOf(call);
    assert.instance(err, TypeError);
    assert.match(err.message, /^Expected a blocking call's options like \{ timeoutMs: (100|0) \}, got (100|0)$/);
  }
  assert.is(errorOf(() => ring.read('100' as never)).message, 'Expected a blocking call\'s options like { timeoutMs: 100 }, got "100"');
  assert.is(ring.bytesFree(), 1024, 'nothing was written');
  // null options are none, as map's are (they threw "Cannot destructure property 'timeoutMs' of 'options'")
  ring.write(Uint8Array.of(4), undefined, null as never);
  assert.equal([...ring.read(null as never)!], [4]);
});

test('spinThenPark times out at the deadline, not at the end of a longer spin', () => {
  // A spin of 60 s: the fault would take all of it; a bound of half that leaves a loaded machine 30 s for 10 ms
  const ring = RingBuffer.create(1024, { strategy: 'spinThenPark', spinMicros: 60_000_000 });
  const started = performance.now();
  const err = errorOf(() => ring.read({ timeoutMs: 10 }));
  const elapsed = performance.now() - started;
  assert.instance(err, TimeoutError);
  assert.is(err.message, 'read timed out after 10 ms');
  assert.ok(elapsed < 30_000, `timed out after ${elapsed.toFixed(0)} ms, within the 60 s spin`); // a bound, not a speed
});

test('two async reads pending on one consumer: the first to time out leaves the other counted as asleep', async () => {
  const ring = RingBuffer.create(1024);
  const words = new Int32Array(ring.buffer);
  const first = ring.readAsync({ timeoutMs: 20 });
  const second = ring.readAsync({ timeoutMs: 30_000 });
  // Handled at once: an assertion that fails below then names itself, instead of an unhandled rejection ending the file
  for (const read of [first, second]) read.catch(() => {});
  assert.is(Atomics.load(words, RING_LAYOUT.READER_ASLEEP), 1);
  const timedOut = await first.catch((error: unknown) => error as Error);
  assert.instance(timedOut, TimeoutError);
  assert.is((timedOut as Error).message, 'readAsync timed out after 20 ms');
  // Before the Waiter counted its waits, the first lowered the flag to 0: the producer then skipped notify, and the
  // second slept out its 25 ms slice.
  assert.is(Atomics.load(words, RING_LAYOUT.READER_ASLEEP), 1, 'the second still waits, and says so');
  ring.write(Uint8Array.of(42));
  assert.equal([...(await second)!], [42]);
  assert.is(Atomics.load(words, RING_LAYOUT.READER_ASLEEP), 0);
});

test("an onWait that throws fails the async read, and leaves no timer keeping the process alive", async () => {
  const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
  const before = timers();
  const ring = RingBuffer.create(1024, { onWait: () => { throw new Error('onWait failed'); } });
  const err = await ring.readAsync({ timeoutMs: 30_000 }).catch((error: unknown) => error);
  assert.is((err as Error).message, 'onWait failed');
  assert.is(timers(), before, 'the keep-alive interval was cleared');
  assert.is(Atomics.load(new Int32Array(ring.buffer), RING_LAYOUT.READER_ASLEEP), 0);
});

test('a consumer terminated while it slept leaves its flag up; the next one to sleep and wake lowers it', async () => {
  const ring = RingBuffer.create(1024);
  const words = new Int32Array(ring.buffer);
  const ringModule = new URL('../src/ring.js', import.meta.url).href;
  const sleeper = new Worker(`import('${ringModule}').then(({ RingBuffer }) => {
    RingBuffer.attach(require('node:worker_threads').workerData, { strategy: 'park' }).read();
  });`, { eval: true, workerData: ring.buffer });
  try {
    for (const deadline = performance.now() + 30_000; Atomics.load(words, RING_LAYOUT.READER_ASLEEP) === 0;) {
      assert.ok(performance.now() < deadline, 'the worker never parked');
      await new Promise((ok) => setTimeout(ok, 5));
    }
  } finally {
    await sleeper.terminate();
  }
  assert.is(Atomics.load(words, RING_LAYOUT.READER_ASLEEP), 1, 'no finally ran in the terminated thread');
  // A flag that counted sleepers (Atomics.add/sub) stayed at 1 from here on, and the producer notified at every message.
  const consumer = RingBuffer.attach(ring.buffer);
  const next = consumer.readAsync({ timeoutMs: 30_000 });
  ring.write(Uint8Array.of(9));
  assert.equal([...(await next)!], [9]);
  assert.is(Atomics.load(words, RING_LAYOUT.READER_ASLEEP), 0);
});

test('a publish wakes the side asleep on it with a notify, of HEAD and of TAIL, not at the end of a slice', async () => {
  // The sleeper is a worker in Atomics.wait with its flag up, as a parked side is, for up to 20 s (a loaded machine's
  // timers may be late by seconds before the publish): a publish that stored the index but did not notify leaves it
  // asleep the whole 20 s ('timed-out'), where a Waiter would wake within its 25 ms slice anyway, and only a timing
  // would tell.
  const ring = RingBuffer.create(1024);
  const words = new Int32Array(ring.buffer);
  const { HEAD, TAIL, READER_ASLEEP, WRITER_ASLEEP } = RING_LAYOUT;
  const publishes = [
    [HEAD, READER_ASLEEP, () => ring.write(Uint8Array.of(1))],
    [TAIL, WRITER_ASLEEP, () => ring.read(NOW)], // its release publishes TAIL
  ] as const;
  for (const [index, flag, publish] of publishes) {
    const sleeper = new Worker(`const { parentPort, workerData } = require('node:worker_threads');
      const { buffer, index, flag, seen } = workerData, words = new Int32Array(buffer);
      Atomics.store(words, flag, 1);
      parentPort.postMessage(Atomics.wait(words, index, seen, 20_000));`,
    { eval: true, workerData: { buffer: ring.buffer, index, flag, seen: Atomics.load(words, index) } });
    try {
      const woken = new Promise<string>((resolve, reject) => sleeper.once('message', resolve).once('error', reject));
      for (const deadline = performance.now() + 30_000; Atomics.load(words, flag) === 0;) {
        assert.ok(performance.now() < deadline, 'the worker never raised its flag');
        await new Promise((ok) => setTimeout(ok, 5));
      }
      await new Promise((ok) => setTimeout(ok, 20)); // into its Atomics.wait, most likely ('not-equal' if not yet)
      publish();
      assert.is.not(await woken, 'timed-out', `the publish of ${index === HEAD ? 'HEAD' : 'TAIL'} woke the sleeper`);
    } finally {
      await sleeper.terminate();
      Atomics.store(words, flag, 0);
    }
  }
});

test('abort: a blocked call and every later blocking call throw AbortedError', () => {
  const ring = RingBuffer.create(64);
  ring.abort();
  assert.is(ring.aborted, true);
  const err = errorOf(() => ring.read());
  assert.instance(err, AbortedError);
  assert.is(err.message, 'read aborted: the channel was aborted');
});

test('abort: a call that need not block still does its work; the first that would block throws', () => {
  const producer = RingBuffer.create(64); // two frames of a short message (16 + 8 bytes each) fill it
  const consumer = RingBuffer.attach(producer.buffer);
  producer.write(Uint8Array.of(1, 2, 3));
  producer.abort();
  producer.write(Uint8Array.of(4)); // finds room: writes
  const full = errorOf(() => producer.write(Uint8Array.of(5), undefined, { timeoutMs: 1000 }));
  assert.instance(full, AbortedError);
  assert.is(full.message, 'write aborted: the channel was aborted');
  assert.equal(Array.from(consumer.read(NOW)!), [1, 2, 3]); // messages already there are read
  assert.equal(Array.from(consumer.read(NOW)!), [4]);
  for (const call of [() => consumer.read({ timeoutMs: 1000 }), () => consumer.hasMessage()]) {
    const err = errorOf(call);
    assert.instance(err, AbortedError);
    assert.is(err.message, 'read aborted: the channel was aborted');
  }
});

test('single thread: seeded random sizes round the ring many times, full rings time out cleanly', () => {
  const seed = testSeed('single thread');
  const random = prng(seed);
  const ring = RingBuffer.create(1024);
  const queued: number[] = []; // sizes written and not yet read
  let readSeq = 0;
  let bytes = 0;
  let fullTimes = 0;
  const drain = () => {
    while (queued.length > 0) {
      const message = ring.read({ timeoutMs: 0 })!;
      assert.is(message.length, queued.shift()!);
      assert.is(ring.frame.tag, readSeq);
      assert.is(checkPattern(message, readSeq++), -1);
    }
  };
  for (let seq = 0; seq < 20_000; seq++) {
    const size = randomSize(random, ring.maxMessage);
    const payload = new Uint8Array(size);
    fillPattern(payload, seq);
    try {
      ring.write(payload, { tag: seq }, { timeoutMs: 0 }); // never block: this thread is also the consumer
    } catch (err) {
      assert.instance(err, TimeoutError);
      assert.is((err as Error).message, 'write timed out after 0 ms', `seed ${seed}, message ${seq}`);
      fullTimes++;
      drain();
      ring.write(payload, { tag: seq }, { timeoutMs: 0 });
    }
    queued.push(size);
    bytes += size;
  }
  drain();
  assert.is(readSeq, 20_000);
  assert.ok(fullTimes > 100, `the ring was full only ${fullTimes} times`);
  assert.ok(bytes / ring.capacity > 1000, `went round ${bytes / ring.capacity} times`);
});

test('counters wrap past 2^31 and 2^32: an empty ring stays empty, every byte arrives', () => {
  // Just below 2^31, the Int32 maximum: the counters turn negative soon. Just below 2^32 (-3000 as an Int32): they
  // pass -1 to 0 soon.
  for (const start of [2 ** 31 - 3000, -3000]) countersFrom(start);
});

test('a full ring across 2^31 and 2^32, closed at the wrap, read by a consumer that attaches late: no corrupt frame', () => {
  // The consumer's checks of HEAD (lookAgain's distance, the end marker's bytes published after it) at the counters'
  // wrap: HEAD exactly the ring ahead of TAIL, past 2^31 (or 2^32) where TAIL is below it.
  for (const start of [2 ** 31 - 128, -128]) {
    const ring = RingBuffer.create(128);
    const header = new Int32Array(ring.buffer, 0, RING_HEADER_BYTES / 4);
    header[RING_LAYOUT.HEAD] = header[RING_LAYOUT.TAIL] = start;
    const producer = RingBuffer.attach(ring.buffer);
    for (let tag = 0; tag < 3; tag++) producer.write(new Uint8Array(16).fill(tag), { tag }); // 32 bytes each: 0 to 96
    producer.write(new Uint8Array(8).fill(3), { tag: 3 }); // 24 bytes: 96 to 120
    // The end marker does not fit in the 8 bytes left: the wrap marker goes, the marker waits for room
    assert.instance(errorOf(() => producer.close({ timeoutMs: 0 })), TimeoutError);
    assert.is(Atomics.load(header, RING_LAYOUT.HEAD), (start + 128) | 0, `${start}: HEAD past the wrap`);
    const consumer = RingBuffer.attach(ring.buffer);
    assert.equal(consumer.read({ timeoutMs: 0 }), new Uint8Array(16).fill(0));
    producer.close({ timeoutMs: 0 }); // at offset 0, in the room the read freed
    const rest = [];
    for (let message = consumer.read({ timeoutMs: 0 }); message !== null; message = consumer.read({ timeoutMs: 0 })) {
      rest.push([consumer.frame.tag, message.length]);
    }
    assert.equal(rest, [[1, 16], [2, 16], [3, 8]], String(start));
    assert.is(consumer.read({ timeoutMs: 0 }), null, 'the end marker, read again');
    assert.is(Atomics.load(header, RING_LAYOUT.TAIL), (start + 128) | 0, 'TAIL at the end marker, past the wrap');
  }
});

function countersFrom(start: number): void {
  const ring = RingBuffer.create(4096);
  const header = new Int32Array(ring.buffer, 0, RING_HEADER_BYTES / 4);
  header[RING_LAYOUT.HEAD] = start | 0;
  header[RING_LAYOUT.TAIL] = start | 0;
  const producer = RingBuffer.attach(ring.buffer);
  const consumer = RingBuffer.attach(ring.buffer);
  consumer.cork(); // its count of room held back wraps too
  let bytes = 0;
  for (let seq = 0; seq < 3000; seq++) {
    const payload = new Uint8Array(seq % 2000);
    fillPattern(payload, seq);
    producer.write(payload, { tag: seq });
    const message = consumer.read({ timeoutMs: 0 })!;
    assert.is(message.length, payload.length);
    assert.is(checkPattern(message, seq), -1);
    assert.is(consumer.hasMessage(), false, `message ${seq}: the ring should be empty`);
    bytes += payload.length;
  }
  assert.is(bytes, 1999 * 2000 / 2 + 999 * 1000 / 2, 'the counters went a long way: 0..1999 bytes, then 0..999');
  if (start > 0) assert.ok(header[RING_LAYOUT.HEAD]! < 0, 'HEAD passed 2^31: a negative Int32');
  else assert.ok(header[RING_LAYOUT.HEAD]! > 0, 'HEAD passed 2^32: from -1 to 0 and on');
}

test.run();
