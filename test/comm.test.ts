import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { launch, type TransportName } from '../src/index.js';
import { Sender } from '../src/channel.js';
import { Comm } from '../src/comm.js';
import { ControlBlock } from '../src/control.js';
import { CorruptFrameError } from '../src/errors.js';
import { RING_HEADER_BYTES, RING_LAYOUT, RingBuffer } from '../src/ring.js';
import { SharedTransport } from '../src/transport/shared.js';
import { bitsOf, errorOf, Float16, HALF_BITS, testSeed } from './helpers.js';

const PROGRAMS = new URL('./fixtures/ranks-programs.js', import.meta.url);
const RING = new URL('./fixtures/ranks-ring.js', import.meta.url);
const COPIES = new URL('./fixtures/ranks-copies.js', import.meta.url);
const TRANSPORTS: TransportName[] = ['shared', 'transfer', 'clone'];
const run = <R = unknown>(size: number, transport: TransportName, args: object, extra: object = {}) =>
  launch<R>(PROGRAMS, { size, transport, args, timeoutMs: 60_000, ...extra });

for (const transport of TRANSPORTS) {
  test(`${transport}: the token ring of DESIGN.md on 1 to 8 ranks`, async () => {
    for (const size of [2, 3, 5, 8]) {
      const expected = [((size - 1) * size) / 2, ...Array.from({ length: size - 1 }, (_, i) => (i * (i + 1)) / 2)];
      assert.equal(await launch(RING, { size, transport, timeoutMs: 60_000 }), expected, `size ${size}`);
    }
  });

  test(`${transport}: rank, size, transport and args reach every rank; async programs`, async () => {
    const got = await run(3, transport, { program: 'identity', extra: { list: [1, 2] } }, { strategy: 'spin' });
    assert.equal(got, [0, 1, 2].map((rank) => ({ rank, size: 3, transport, strategy: 'spin', args: { list: [1, 2] } })));
    assert.equal(await run(2, transport, { program: 'asyncMain' }), [0, 2]);
    assert.equal(await run(1, transport, { program: 'identity' }), [{ rank: 0, size: 1, transport, strategy: 'spinThenPark', args: undefined }]);
  });

  test(`${transport}: tags are matched out of order, same-tag messages stay in order`, async () => {
    const [, got] = await run(2, transport, { program: 'tagsOutOfOrder' });
    assert.equal(got, ['c', 'a', { value: 'b', source: 0, tag: 2 }, 'a2']);
  });

  test(`${transport}: a tag of -0 is sent as 0`, async () => {
    // Before, 'clone' and 'transfer' delivered it as -0 and 'shared' as 0 (a frame's tag is an Int32)
    assert.equal(await run(2, transport, { program: 'tagMinusZero' }), [[false, null, null], [false, false, false]]);
  });

  test(`${transport}: receive from any source`, async () => {
    const [got] = await run(6, transport, { program: 'anySource' });
    assert.equal(got, [1, 2, 3, 4, 5].map((r) => [r * 10, r, r]));
  });

  test(`${transport}: values of every kind arrive equal and of the same type`, async () => {
    const values = [
      42, -0.5, 'héllo ✓', null, true, [1, [2, 3]], { a: { b: [1n, 2n] } }, new Map([[1, 'x']]), new Set(['y']),
      new Date(86_400_000), 2n ** 70n, Float64Array.of(1.5, Infinity, -0), NaN, Int8Array.of(-1, 2), new BigInt64Array([-(2n ** 63n)]),
      Uint8ClampedArray.of(255), new Uint16Array(3).fill(7), new Float32Array(40_000).fill(0.25),
    ];
    const [backAtZero, atOne] = await run<unknown[]>(2, transport, { program: 'values', values }, { ringBytes: 65536 });
    assert.equal(atOne, values);
    assert.equal(backAtZero, values);
    assert.is((atOne![11] as object).constructor.name, 'Float64Array');
    assert.is((atOne![17] as object).constructor.name, 'Float32Array');
  });

  (Float16 === undefined ? test.skip : test)(`${transport}: a Float16Array (Node 24) arrives as one, bit for bit: whole, a subarray, nested, short and chunked`, async () => {
    const half = new Float16!(Uint16Array.from(HALF_BITS).buffer);
    const part = new Float16!(half.buffer, 2, 3); // elements 1 to 3: on 'clone' a copy of them alone
    const long = new Float16!(Uint16Array.from({ length: 40_000 }, (_, i) => (i * 40_503) & 0xffff).buffer); // NaNs too
    const values = [half, part, { half, part }, long];
    const [backAtZero, atOne] = await run<unknown[]>(2, transport, { program: 'values', values }, { ringBytes: 65536 });
    for (const [where, got] of [['at 1', atOne!], ['back at 0', backAtZero!]] as const) {
      const nested = got[2] as { half: ArrayBufferView; part: ArrayBufferView };
      const views = [got[0], got[1], nested.half, nested.part, got[3]] as ArrayBufferView[];
      assert.equal(views.map((view) => view.constructor.name), Array(5).fill('Float16Array'), where);
      assert.equal(views.map(bitsOf), [half, part, half, part, long].map(bitsOf), where);
    }
  });

  (Float16 === undefined ? test.skip : test)(`${transport}: Float16Arrays (Node 24) by recvView, recvInto, sendrecv and every collective, reductions rounded to float16`, async () => {
    type Got = { large: { kinds: string[]; sum: number[]; max: number[] }; [call: string]: unknown };
    const results = await run<Got>(3, transport, { program: 'float16', bits: HALF_BITS });
    const seen = (bits: number[]) => ({ kind: 'Float16Array', bits });
    const halfBits = (values: number[]) => bitsOf(new Float16!(Float64Array.from(values)));
    // Each element folds one value three times, or values whose sums and products are exact in float16, so every
    // order gives the same bits: 0.1 is 0.0999755859375, its sum three times 0.2998046875 and its cube rounds likewise
    const sum = halfBits([0.2998046875, 6144, 4.5, -6, Infinity, 0.75, 3, 0]);
    const prod = halfBits([0.00099945068359375, Infinity, 1.875, -6, Infinity, 0, 1, -0]);
    const min = halfBits([0.0999755859375, 2048, 0.5, -3, 65504, 0, 1, -0]);
    const large = (rank: number, i: number) => ((i * 7 + rank * 13) % 101) - 50 + 0.25;
    const largeSum = Array.from({ length: 40_000 }, (_, i) => large(0, i) + large(1, i) + large(2, i));
    const largeMax = Array.from({ length: 40_000 }, (_, i) => Math.max(large(0, i), large(1, i), large(2, i)));
    for (const rank of [0, 1, 2]) {
      const { large: largeGot, ...rest } = results[rank]!;
      assert.equal(rest, {
        ...(rank === 1 ? { recvView: seen(HALF_BITS), recvInto: [16, seen([...HALF_BITS, 0, 0])] } : {}),
        sendrecv: seen([(rank + 2) % 3, ...HALF_BITS]),
        bcast: seen(HALF_BITS),
        bcastInto: [true, seen(HALF_BITS)],
        scatter: seen([rank, ...HALF_BITS]),
        gather: rank === 0 ? [0, 1, 2].map((source) => seen([source, HALF_BITS[0]!])) : null,
        allgather: [0, 1, 2].map((source) => seen([source])),
        alltoall: [0, 1, 2].map((source) => seen([source, rank])),
        sum: seen(sum),
        prod: rank === 1 ? seen(prod) : null,
        min: seen(min),
        // The arena folds in rank order; round the ring each segment starts at another rank ('Floating point')
        steps: transport === 'shared' ? [2048] : [2048, 2050],
      }, `rank ${rank}`);
      assert.equal(largeGot.kinds, ['Float16Array', 'Float16Array']);
      assert.ok(largeGot.sum.every((x, i) => x === largeSum[i]), `rank ${rank}: 40,000-element sum`);
      assert.ok(largeGot.max.every((x, i) => x === largeMax[i]), `rank ${rank}: 40,000-element max`);
    }
  });

  test(`${transport}: recvInto a buffer; bcast into a buffer`, async () => {
    const results = await run<{ got: unknown; sameArray: boolean; bcast: number[] }>(3, transport, { program: 'intoBuffers' });
    assert.equal(results[1]!.got, {
      status: { value: 16, source: 0, tag: 4 },
      values: [1.5, 2.5, 0, 0],
      tooSmall: 'recvInto(): a 64-byte message does not fit in an 8-byte target',
      notBinary: 'recvInto() needs a typed array, DataView or ArrayBuffer message, got a string: use recv()',
      other: 'a string first, another tag',
      again: { value: 64, source: 0, tag: 5 },
      reused: true,
      intoDetached: 'recvInto(): a 3-byte message does not fit in a 0-byte target',
      afterDetached: { value: 3, source: 0, tag: 6 },
    });
    assert.equal(results.map((r) => [r.sameArray, r.bcast]), [[true, [7, 8, 9]], [true, [7, 8, 9]], [true, [7, 8, 9]]]);
  });

  test(`${transport}: allreduce into a buffer, and in place, on 3 and 4 ranks`, async () => {
    for (const size of [3, 4]) {
      const results = await run(size, transport, { program: 'allreduceInto' });
      const sum = (size * (size + 1)) / 2; // of the ranks' values 1 .. size
      const expected = (rank: number) => ({
        same: true, sameInPlace: true, first: sum, last: sum, wrongElements: 0, input: rank + 1, inPlace: [true, size - 1, 1],
        wrong: 'Expected `into` to be an Int32Array of 1 elements like the value, got a Float64Array of 1',
      });
      assert.equal(results, Array.from({ length: size }, (_, rank) => expected(rank)), `${size} ranks`);
    }
  });

  test(`${transport}: reduce into a buffer on the root, in place, and into a fresh array`, async () => {
    const results = await run(3, transport, { program: 'reduceInto' });
    assert.equal(results, [
      { same: false, first: 0, last: 0, input: 1, inPlace: [true, 2, 1], fresh: null,
        wrong: 'Expected `into` to be an Int32Array of 1 elements like the value, got an Int32Array of 2' },
      { same: true, first: 6, last: 6, input: 2, inPlace: [false, 1, 1], fresh: null, wrong: '' },
      { same: false, first: 0, last: 0, input: 3, inPlace: [false, 2, 1], fresh: ['6', '8'], wrong: '' },
    ]);
  });

  test(`${transport}: reduce on 6 ranks, smaller arrays after larger ones, roots 4 and 1`, async () => {
    const results = await run(6, transport, { program: 'reduceShrinking' });
    assert.equal(results, [0, 1, 2, 3, 4, 5].map((rank) => ({
      big: 6,
      first: rank === 4 ? [1000, 15, 15] : null,
      second: rank === 4 ? [15, 6] : null,
      third: rank === 1 ? [true, 1, 5] : null,
    })));
  });

  test(`${transport}: a rank may send to itself`, async () => {
    assert.equal(await run(2, transport, { program: 'selfSend' }), [[0, 7, 'to myself from 0'], [1, 7, 'to myself from 1']]);
  });

  test(`${transport}: a sendrecv whose send is refused after it received leaves the message where it was`, async () => {
    assert.equal(await run(2, transport, { program: 'sendrecvRefused' }), [
      ['DataCloneError', 'to 0', 'DataCloneError', 'to 0 again'],
      ['x', 'DataCloneError', 'first', 'second', 'third',
        'DataCloneError', { value: 'y', source: 0, tag: 3 }, 'fourth', 'fifth'],
    ]);
  });

  test(`${transport}: all-to-all stress, seeded random sizes up to 4x the ring, checked byte by byte`, async () => {
    const seed = testSeed(`${transport} stress`);
    const results = await run<{ problems: number; checksum: number }>(4, transport,
      { program: 'allToAllStress', seed, messages: 300, maxBytes: 4 * 65536 }, { ringBytes: 65536 });
    assert.equal(results.map((r) => r.problems), [0, 0, 0, 0]);
    // The same seed gives the same checksums on every transport.
    const again = await run<{ checksum: number }>(4, transport === 'shared' ? 'clone' : 'shared',
      { program: 'allToAllStress', seed, messages: 300, maxBytes: 4 * 65536 }, { ringBytes: 65536 });
    assert.equal(again.map((r) => r.checksum), results.map((r) => r.checksum));
  });

  test(`${transport}: barrier holds every rank, 50 rounds`, async () => {
    const order = new SharedArrayBuffer(4 * 64);
    assert.equal(await run(5, transport, { program: 'barrierOrder', order }), new Array(5).fill('ok'));
  });
}

test('on one rank, reduce and allreduce fill `into` with the value, and a function op gives a new array', async () => {
  const program = `export default (comm) => {
    const value = Int32Array.of(3, -4);
    const [reduced, allreduced] = [new Int32Array(2), new Int32Array(2)];
    const byFunction = comm.reduce(value, (a, b) => a.map((x, i) => x + b[i]));
    return [
      comm.reduce(value, 'sum', 0, reduced) === reduced, Array.from(reduced),
      comm.allreduce(value, 'max', allreduced) === allreduced, Array.from(allreduced),
      byFunction === value, Array.from(byFunction), Array.from(value),
    ];
  }`;
  for (const transport of TRANSPORTS) {
    const results = await launch(`data:text/javascript,${encodeURIComponent(program)}`, { size: 1, transport, timeoutMs: 30_000 });
    assert.equal(results, [[true, [3, -4], true, [3, -4], false, [3, -4], [3, -4]]], transport);
  }
});

test('reduce ignores `into` off the root, whatever it is, and leaves it untouched', async () => {
  const program = `export default (comm) => {
    const into = comm.rank === 0 ? new Int32Array(1) : new Float64Array(3); // rank 1's is of another kind and length
    const result = comm.reduce(Int32Array.of(comm.rank + 1), 'sum', 0, into);
    return [result === into, result === undefined, Array.from(into)];
  }`;
  for (const transport of TRANSPORTS) {
    const results = await launch(`data:text/javascript,${encodeURIComponent(program)}`, { size: 2, transport, timeoutMs: 30_000 });
    assert.equal(results, [[true, false, [3]], [false, true, [0, 0, 0]]], transport);
  }
});

test('a recvInto that fails leaves the message where it was: the order of messages holds, from a rank or any', async () => {
  for (const transport of TRANSPORTS) {
    const [, got] = await launch(COPIES, { size: 2, transport, args: { program: 'recvIntoOrder' }, timeoutMs: 60_000 });
    const tooSmall = 'recvInto(): a 24-byte message does not fit in an 8-byte target';
    assert.equal(got, { errors: [tooSmall, tooSmall], values: ['first', [1, 2, 3], 'third'] }, transport);
  }
});

test('a value nested deeper than the receiver can read: recv throws, and the next recv gets the next message', async () => {
  // A rank writes plain objects about 12,000 deep and reads about 7,500: 10,000 is between, with room either way.
  for (const transport of TRANSPORTS) {
    const got = await launch(PROGRAMS, { size: 2, transport, args: { program: 'sendsTooDeep', depth: 10_000 }, timeoutMs: 60_000 });
    assert.equal(got, ['sent', ['RangeError: Maximum call stack size exceeded', 'after']], transport);
  }
});

test('a view arrives as a plain array of its kind, with a buffer of its own size: subclass, Buffer, subarray', async () => {
  for (const transport of TRANSPORTS) {
    const [warnings, views] = await launch(COPIES, { size: 2, transport, args: { program: 'viewKinds' }, timeoutMs: 60_000 });
    assert.equal(views, [
      ['Float64Array', [1, 2, 3], 0, 24], // not NaN, 0, 0 from the subclass's constructor given a buffer
      ['Uint8Array', [104, 105], 0, 2], // not the 8 KiB of Node's Buffer pool
      ['Float64Array', [2.5], 0, 8], // not the 1 MiB array it is part of
      ['resizable', 8, false, 8, false], // on 'clone' too, where postMessage alone kept them resizable
    ], transport);
    assert.equal(warnings, [], `${transport}: warnings printed by the sender`); // no DEP0005 from new Buffer(buffer)
  }
});

test('a message to oneself arrives as one to another rank would, nested SharedArrayBuffers included', async () => {
  for (const transport of TRANSPORTS) {
    const results = await launch(COPIES, { size: 2, transport, args: { program: 'selfCopies' }, timeoutMs: 60_000 });
    const sharedWhenNested = transport === 'shared'
      ? 'DataCloneError: an object containing a SharedArrayBuffer cannot be sent: a SharedArrayBuffer travels alone or ' +
        'behind a view (a view may sit anywhere in the value), as a copy of its bytes (at value.nested)'
      : true; // postMessage shares it, and so does the message to oneself
    const expected = { sharedWhenNested, topLevel: ['ArrayBuffer', 0], part: ['Float64Array', [1.5], 0, 8] };
    assert.equal(results, [expected, expected], transport);
  }
});

test('shared: recvView lends a typed array in place; other values come back owned', async () => {
  const [, got] = await run(2, 'shared', { program: 'recvView' });
  assert.equal(got, [{ kind: 'Float64Array', values: [1.5, 2.5, 3.5], shared: true }, { not: 'a typed array' }, 'first, another tag']);
  const [, onClone] = await run<any>(2, 'clone', { program: 'recvView' });
  assert.is(onClone[0].shared, false);
});

test('48 ranks on the shared transport (the default rings shrink to fit 256 MiB)', async () => {
  const size = 48;
  const expected = (size * (size - 1)) / 2 + 1 + size;
  assert.equal(await run(size, 'shared', { program: 'crowd' }), new Array(size).fill(expected));
});

test('recv from any source takes the ranks in turns: none starves while another has messages', async () => {
  for (const transport of TRANSPORTS) {
    const [sources] = await run(4, transport, { program: 'anyTakesTurns' });
    assert.equal(sources, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3], transport);
  }
});

test('recv from any source passes the turn on after a wait on the doorbell, and so does recvInto from any source', async () => {
  for (const transport of TRANSPORTS) {
    // After rank 1's message, which rank 0 waited for, rank 2 comes first (it came first again, unlikely as the wait
    // is a race); then rank 1 and 2 by turns (all three of one rank first, before).
    const [got] = await run(3, transport, { program: 'anyTurnsAfterWaitAndInto' });
    assert.equal(got, { waited: 1, sources: [2, 1, 2, 1, 2, 1] }, transport);
  }
});

test('recv from any source does not pass over a message on its channel for another rank\'s queued ones', async () => {
  for (const transport of TRANSPORTS) {
    // Turns from rank 1's b0: rank 2 (its x on its channel) comes before rank 1 again, though b1 is queued by then.
    const [got] = await run(3, transport, { program: 'anyPassesNoChannel' });
    assert.equal(got, ['b0', 'x', 'b1', 'b2'], transport);
  }
});

test('a recvInto from any source that fails leaves the turn where it was, as it leaves the message', async () => {
  for (const transport of TRANSPORTS) {
    const [got] = await run(3, transport, { program: 'anyTurnAfterFailedRecvInto' });
    assert.equal(got, [1, 2], transport);
  }
});

test('shared: an end marker in a rank\'s ring, which no rank closes, is a CorruptFrameError, not null read as a message', () => {
  const fromRank1 = RingBuffer.create(1024);
  const wiring = { outgoing: [null, RingBuffer.create(1024).buffer], incoming: [null, fromRank1.buffer] };
  const transport = new SharedTransport(0, wiring, ControlBlock.create(2), 'spin');
  const sender = new Sender(fromRank1);
  sender.send(1.5, 3); // 24 bytes at 0
  sender.send('', 4); // an empty string: 16 bytes at 24, the last frame
  new Uint32Array(fromRank1.buffer, RING_HEADER_BYTES + 24, 2)[1] = (RING_LAYOUT.FRAME_MAGIC << 16) | 3; // KIND_END
  assert.equal(transport.poll(1), { value: 1.5, tag: 3, source: 1 });
  // recv() returned null there, and poll and recvBlocking threw "Cannot read properties of null (reading 'value')"
  for (const call of [() => transport.poll(1), () => transport.recvBlocking(1)]) {
    const err = errorOf(call);
    assert.instance(err, CorruptFrameError);
    assert.is(err.message, 'corrupt frame header at ring offset 24: an end marker in the ring from rank 1, which no rank closes');
  }
});

test('shared: Comm\'s receives from a ring with an end marker in it throw the CorruptFrameError, recvView too', () => {
  const fromRank1 = RingBuffer.create(1024);
  const wiring = { outgoing: [null, RingBuffer.create(1024).buffer], incoming: [null, fromRank1.buffer] };
  const control = ControlBlock.create(2);
  const comm = Comm.createInternal(0, 2, new SharedTransport(0, wiring, control, 'spin'), control, 'spin');
  const sender = new Sender(fromRank1);
  sender.send(Float64Array.of(1.5), 3); // 24 bytes at 0
  sender.send('', 4); // 16 bytes at 24, the last frame
  new Uint32Array(fromRank1.buffer, RING_HEADER_BYTES + 24, 2)[1] = (RING_LAYOUT.FRAME_MAGIC << 16) | 3; // KIND_END
  assert.equal(comm.recvView(1), Float64Array.of(1.5));
  comm.release();
  // recvView took the end marker's null for a message: "Cannot read properties of null (reading 'value')"
  const calls = [() => comm.recvView(1), () => comm.recv(1), () => comm.recvInto(new Uint8Array(8), 1), () => comm.bcast(undefined, 1)];
  for (const call of calls) {
    const err = errorOf(call);
    assert.instance(err, CorruptFrameError, String(call));
    assert.is(err.message, 'corrupt frame header at ring offset 24: an end marker in the ring from rank 1, which no rank closes');
  }
});

test('bad input is refused in the rank that made the mistake, with what was given and allowed', async () => {
  const cases: [string, string][] = [
    ['dest', 'rank 1 failed: RangeError: Expected `dest` to be a rank from 0 to 1, got 4'],
    ['fraction', 'rank 1 failed: TypeError: Expected `dest` to be an integer rank from 0 to 1, got 0.5'],
    ['swapped', 'rank 1 failed: TypeError: Expected `dest` to be an integer rank from 0 to 1, got a Float64Array ' +
      '(the rank comes first: send(dest, value))'],
    ['swappedSendrecv', 'rank 1 failed: TypeError: Expected `dest` to be an integer rank from 0 to 1, got a Float64Array ' +
      '(the rank comes first: sendrecv(dest, value))'],
    ['tag', 'rank 1 failed: RangeError: Expected `tag` to be an integer from 0 to 2147483647, got -3'],
    ['self', 'rank 1 failed: RangeError: rank 1 waits to receive from itself with nothing sent: that would block for ever'],
    ['selfOtherTag', 'rank 1 failed: RangeError: rank 1 waits to receive from itself with tag 2, which none of the 1 ' +
      'message it sent itself has: that would block for ever'],
    ['source', 'rank 1 failed: RangeError: Expected `source` to be a rank from 0 to 1, got 2'],
    ['sourceString', 'rank 1 failed: TypeError: Expected `source` to be an integer rank from 0 to 1, got "0"'],
    ['sendrecvSource', 'rank 1 failed: RangeError: Expected `source` to be a rank from 0 to 1, got -2'],
    ['recvIntoTarget', 'rank 1 failed: TypeError: Expected `target` to be a typed array or DataView, got an array of length 2'],
    ['tagString', 'rank 1 failed: TypeError: Expected `tag` to be an integer from 0 to 2147483647, got "3"'],
    ['recvTagFraction', 'rank 1 failed: TypeError: Expected `tag` to be an integer from 0 to 2147483647, got 1.5'],
    ['sendrecvAnySource', 'rank 1 failed: RangeError: Expected `source` to be a rank from 0 to 1, got -1 ' +
      '(ANY_SOURCE: sendrecv() receives from a given rank)'],
    ['recvViewAnySource', 'rank 1 failed: RangeError: Expected `source` to be a rank from 0 to 1, got -1 ' +
      '(ANY_SOURCE: recvView() receives from a given rank)'],
    ['sendAnyTag', 'rank 1 failed: RangeError: Expected `tag` to be an integer from 0 to 2147483647, got -1 ' +
      '(ANY_TAG matches a receive, but a message is sent with a tag of its own)'],
    ['tagTooLarge', 'rank 1 failed: RangeError: Expected `tag` to be an integer from 0 to 2147483647, got 2147483648'],
    ['recvIntoSwapped', 'rank 1 failed: TypeError: Expected `target` to be a typed array or DataView, got 0 ' +
      '(the buffer comes first: recvInto(buffer, source, tag))'],
    ['recvIntoArrayBuffer', 'rank 1 failed: TypeError: Expected `target` to be a typed array or DataView, got an ArrayBuffer ' +
      '(pass a view of it: new Uint8Array(buffer))'],
    ['sendNoValue', 'rank 1 failed: TypeError: Expected a value after the rank: send(dest, value), got send(0) with none ' +
      '(undefined is sent when passed: send(0, undefined))'],
    ['sendrecvNoValue', 'rank 1 failed: TypeError: Expected a value after the rank: sendrecv(dest, value), got sendrecv(0) ' +
      'with none (undefined is sent when passed: sendrecv(0, undefined))'],
  ];
  for (const transport of TRANSPORTS) {
    for (const [call, message] of cases) {
      const err = await run(2, transport, { program: 'badInput', call }).then(() => null, (e: Error) => e);
      assert.ok(err, `${transport} ${call}: no error`);
      assert.is(err!.message, message, `${transport} ${call}`);
      assert.is((err as { rank?: number }).rank, 1);
      assert.is(((err as Error).cause as Error).name, message.split(':')[1]!.trim(), `${transport} ${call}: the class`);
    }
    assert.equal(await run(2, transport, { program: 'badInput', call: 'largestTag' }),
      [{ value: 'ok', source: 1, tag: 2 ** 31 - 1 }, 'largest tag sent'], `${transport}: the largest tag`);
    assert.equal(await run(2, transport, { program: 'badInput', call: 'sendUndefined' }),
      [{ value: undefined, source: 1, tag: 0 }, 'undefined sent'], `${transport}: undefined, passed, is a value`);
    const err = await run(2, transport, { program: 'badInput', call: 'function' }).then(() => null, (e: Error) => e);
    assert.is(err!.message, 'rank 1 failed: DataCloneError: an object containing a function (named onClick) cannot be sent: ' +
      'only values that structured clone accepts can travel (at value.handler)', transport);
    // Alone, a receive from any rank would wait for ever too (the watchdog reported it a second later).
    const program = 'data:text/javascript,export default (comm) => comm.recv()';
    const alone = await launch(program, { size: 1, transport, timeoutMs: 30_000 }).then(() => null, (e: Error) => e);
    assert.is(alone?.message, 'rank 0 failed: RangeError: rank 0 waits to receive from any rank, alone, with nothing sent: that would block for ever');
  }
});

test.run();
