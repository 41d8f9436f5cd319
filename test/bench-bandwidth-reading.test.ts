/**
 * The bandwidth benchmark's receivers that read every byte in place: zerocopy's sum (word-sum.ts) over a ring in a
 * WebAssembly.Memory or, without one, in JavaScript; the source whose bytes change from message to message and the
 * sums each message must have (payload-whole.ts); zerocopy's receiver catching a byte changed in the middle of a
 * message, a stale message and a message made of an earlier one's bytes with its own stamps, with the error the run
 * then fails with; the transfer modes' byte-for-byte comparison; and a run where no WebAssembly.Memory can be had.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RING_HEADER_BYTES, RingBuffer } from '../src/ring.js';
import { verificationError } from '../src/bench/bandwidth.js';
import { END_TAG, InPlaceReader, type Verified } from '../src/bench/bandwidth-rings.js';
import { differenceFrom } from '../src/bench/bandwidth-ports.js';
import {
  copyFailure, expectedAt, makeSource, patternAt, rovingAt, RovingStamps, sampleIndices, stamp,
} from '../src/bench/payload.js';
import { MessageSums, sameBytes, SHIFT_STEP, SHIFTS, stampWords, VaryingSource, windowOf } from '../src/bench/payload-whole.js';
import { sumWords, wordSumOver } from '../src/bench/word-sum.js';
import { memoryUnderAddressLimit, prng, testSeed, underAddressLimit, wasmMemory } from './helpers.js';

const KiB = 1024;
const MiB = 2 ** 20;
const hex = (sum: number) => `0x${(sum >>> 0).toString(16).padStart(8, '0')}`;

test('the WebAssembly SIMD sum equals the JavaScript one at any address and length, and reads no further', () => {
  const random = prng(testSeed('word sum'));
  const memory = wasmMemory(MiB);
  const words = new Int32Array(memory.buffer);
  for (let i = 0; i < words.length; i++) words[i] = (random() * 2 ** 32) | 0;
  const simd = wordSumOver(memory.buffer, memory);
  const js = wordSumOver(memory.buffer, undefined);
  assert.ok(simd.inWasm && !js.inWasm);
  // Lengths across every loop of the pass: two pages at a time, 64 bytes, 16 bytes, words; addresses 4-byte aligned.
  const lengths = [0, 4, 8, 12, 16, 60, 64, 68, 8188, 8192, 8196, 16384 + 64 + 16 + 8, 256 * KiB, 256 * KiB + 40];
  for (const length of lengths) {
    for (let k = 0; k < 20; k++) {
      const at = 4 * Math.floor(random() * ((memory.buffer.byteLength - length) / 4));
      const expected = sumWords(words, at / 4, (at + length) / 4);
      assert.is(simd.sum(at, length), expected, `${length} bytes at ${at}`);
      assert.is(js.sum(at, length), expected, `${length} bytes at ${at}, JavaScript`);
    }
  }
  // The words just outside the range do not count.
  words.fill(0, 0, 8192 / 4);
  words[0] = 5;
  words[100] = 7;
  words[103] = 11;
  assert.is(simd.sum(4, 400), 7); // words 1 to 100
  assert.is(simd.sum(0, 412), 12); // words 0 to 102
  assert.is(simd.sum(4, 412), 18); // words 1 to 103
  assert.throws(() => wordSumOver(new SharedArrayBuffer(64), memory), /the buffer of the WebAssembly.Memory given/);
});

test('the source: each message its own window, stamped, the last stamps undone; its sum as MessageSums says', () => {
  for (const bytes of [8, 16, 24, 1000 * 8, 64 * KiB, 2 * 256 * KiB + 4000 * 8]) {
    const elements = bytes / 8;
    const source = new VaryingSource(bytes);
    const sums = new MessageSums(bytes);
    for (const seq of [0, 1, 2, 3, 41, 1000, 2 ** 20 + 7]) {
      const index = source.prepare(seq);
      assert.is(index, windowOf(seq));
      const window = source.windows[index]!;
      // The pattern from the window's start, with message seq's stamps, and nothing of the last message's.
      const wanted = makeSource(bytes + index * SHIFT_STEP * 8).subarray(index * SHIFT_STEP);
      stamp(wanted, seq);
      assert.ok(sameBytes(source.bytesOf(index), new Uint8Array(wanted.buffer, wanted.byteOffset, bytes)), `${bytes} B, message ${seq}`);
      for (const sample of sampleIndices(elements)) assert.is(window[sample], expectedAt(sample, seq, elements));
      assert.is(sumWords(new Int32Array(window.buffer, window.byteOffset, 2 * elements), 0, 2 * elements), sums.expected(seq));
      // Chunk by chunk (of 1 element, fewer than a window's step, and of 16 KiB): each chunk's words less its stamps'.
      for (const chunkElements of elements <= 1000 ? [1, 2048] : [2048]) {
        let total = 0;
        for (let first = 0, index = 0; first < elements; first += chunkElements, index++) {
          const count = Math.min(chunkElements, elements - first);
          const words = new Int32Array(window.buffer, window.byteOffset + 8 * first, 2 * count);
          const read = (sumWords(words, 0, 2 * count) - stampWords(words, 0, first, count, sampleIndices(elements))) | 0;
          assert.is(sums.chunkSums(index, first, count)[windowOf(seq)], read, `${bytes} B, message ${seq}, chunk ${index}`);
          total = (total + read) | 0;
        }
        assert.is(total, sums.unstamped(seq));
      }
    }
  }
  // Every window is used, and none falls into step with a ring's laps: over 16,000 messages, message seq and seq - P
  // share a window about once in 16, for every P up to 64 (Fibonacci hashing shared it nearly half the time at P = 13).
  const used = new Set<number>();
  for (let seq = 0; seq < 16_000; seq++) used.add(windowOf(seq));
  assert.is(used.size, SHIFTS);
  for (let period = 1; period <= 64; period++) {
    let same = 0;
    for (let seq = period; seq < 16_000; seq++) if (windowOf(seq) === windowOf(seq - period)) same++;
    assert.ok(same / 16_000 < 0.09, `period ${period}: ${same} of 16,000 share a window`);
  }
});

/** What a test sender does to message `seq`, in `send`. */
type Fault = 'none' | 'byte' | 'stale' | 'stamps only' | 'swapped' | 'last byte' | 'last chunk stale';

/**
 * Writes messages of `bytes` bytes into `ring` as zerocopy's sender does (its chunks, from a VaryingSource), each
 * with the fault `faults[seq]`, then the size's end marker; returns what the bytes of each message summed to.
 *
 * - byte: one byte of the message changed after its copy, in the middle, where no stamp is;
 * - stale: the message before it again, every byte;
 * - stamps only: the bytes of the message before it, with this message's stamps written over them (a sender that
 *   wrote only the stamps into a ring that held the last message);
 * - swapped: its chunks 1 and 2 sent in each other's place (with 16 KiB chunks of 128 KiB, neither holds a stamp);
 * - last byte: one byte of its last chunk changed, 100 elements from its end, where no stamp is;
 * - last chunk stale: its last chunk the one of the message before.
 */
function send(ring: RingBuffer, bytes: number, faults: Fault[], chunkBytes = 256 * KiB): number[] {
  const source = new VaryingSource(bytes);
  const elements = bytes / 8;
  const sums: number[] = [];
  let last = new Uint8Array(0);
  for (let seq = 0; seq < faults.length; seq++) {
    const fault = faults[seq]!;
    let message = source.bytesOf(source.prepare(seq)).slice();
    if (fault === 'stale') message = last.slice();
    if (fault === 'stamps only') {
      message = last.slice();
      const asElements = new Float64Array(message.buffer);
      for (const sample of sampleIndices(elements)) asElements[sample] = expectedAt(sample, seq, elements);
    }
    if (fault === 'byte') message[8 * ((elements >> 1) + 5) + 3] ^= 0x10; // byte 3 of an element past the middle one
    if (fault === 'last byte') message[8 * (elements - 100) + 3] ^= 0x10;
    if (fault === 'last chunk stale') {
      const lastChunk = chunkBytes * Math.floor((bytes - 1) / chunkBytes);
      message.set(last.subarray(lastChunk), lastChunk);
    }
    last = source.bytesOf(windowOf(seq)).slice(); // message seq as it should have been
    for (let at = 0; at < bytes; at += chunkBytes) {
      const from = fault !== 'swapped' || at < chunkBytes || at >= 3 * chunkBytes ? at
        : at < 2 * chunkBytes ? at + chunkBytes : at - chunkBytes;
      const chunk = message.subarray(from, Math.min(bytes, from + chunkBytes));
      const offset = ring.reserveOffset(chunk.length);
      ring.data.set(chunk, offset);
      ring.commit();
    }
    sums.push(sumWords(new Int32Array(message.buffer), 0, bytes / 4));
  }
  ring.write(new Uint8Array(0), { tag: END_TAG });
  return sums;
}

/** A ring of `bytes` in a WebAssembly.Memory (read in WebAssembly) or in a plain SharedArrayBuffer (in JavaScript). */
function rings(bytes: number): { name: string; producer: RingBuffer; reader: InPlaceReader }[] {
  const memory = wasmMemory(RING_HEADER_BYTES + bytes);
  const inWasm = RingBuffer.createIn(memory.buffer, bytes);
  const plain = RingBuffer.create(bytes);
  return [
    { name: 'WebAssembly', producer: inWasm, reader: new InPlaceReader(RingBuffer.attach(inWasm.buffer), wordSumOver(inWasm.buffer, memory)) },
    { name: 'JavaScript', producer: plain, reader: new InPlaceReader(RingBuffer.attach(plain.buffer), wordSumOver(plain.buffer, undefined)) },
  ];
}

test('zerocopy catches a byte changed in the middle of a message, a stale message, and one with only its stamps new', () => {
  const bytes = 300 * KiB; // two chunks: 256 KiB and 44 KiB
  const elements = bytes / 8;
  assert.not.ok(sampleIndices(elements).includes((elements >> 1) + 5), 'the changed byte is not at a stamp');
  assert.is.not(windowOf(2), windowOf(3), 'messages 2 and 3 have windows of their own');
  const sums = new MessageSums(bytes);
  for (const { name, producer, reader } of rings(4 * MiB)) {
    const run = (faults: Fault[]): { verified: Verified; sent: number[] } => {
      const sent = send(producer, bytes, faults);
      let acknowledged = 0;
      const verified = reader.receiveSize(bytes, 2, () => acknowledged++);
      assert.is(acknowledged, Math.floor(faults.length / 2), `${name}: an acknowledgement every 2 messages`);
      return { verified, sent };
    };
    const error = (verified: Verified) => verificationError('zerocopy', { bytes, ...verified });

    assert.equal(run(['none', 'none', 'none', 'none', 'none']).verified, { count: 5, failures: 0 }, `${name}: all well`);

    const changed = run(['none', 'none', 'byte', 'none', 'none']);
    assert.is(error(changed.verified), 'zerocopy: 1 of 5 messages of 300 KiB failed verification; the first, message 2: ' +
      `its bytes sum to ${hex(changed.sent[2]!)}, not ${hex(sums.expected(2))}`, name);
    // The byte's bit 4, in the top byte of its 32-bit word: the sum moves by 2^28 one way or the other.
    assert.is(Math.abs((changed.sent[2]! - sums.expected(2)) | 0), 2 ** 28, name);

    const stale = run(['none', 'none', 'stale', 'none']);
    assert.is(error(stale.verified), "zerocopy: 1 of 4 messages of 300 KiB failed verification; the first, message 2: its " +
      "stamps are not message 2's", name);

    const stampsOnly = run(['none', 'none', 'none', 'stamps only', 'none', 'none']);
    assert.is(error(stampsOnly.verified), 'zerocopy: 1 of 6 messages of 300 KiB failed verification; the first, message ' +
      `3: its bytes sum to ${hex(stampsOnly.sent[3]!)}, not ${hex(sums.expected(3))}`, name);

    // Every fault at once: each message counted once, the first named.
    const all = run(['none', 'byte', 'stale', 'stamps only', 'none', 'none']);
    assert.equal([all.verified.count, all.verified.failures], [6, 3], name);
    assert.is(all.verified.firstFailure, `message 1: its bytes sum to ${hex(all.sent[1]!)}, not ${hex(sums.expected(1))}`, name);
  }
});

test('zerocopy reads the last chunk of a message as the first: a byte changed there, or the chunk stale, is named', () => {
  const bytes = 300 * KiB; // two chunks: 256 KiB and 44 KiB, the second holding one stamp, the last element's
  const elements = bytes / 8;
  assert.equal([...sampleIndices(elements)].filter((index) => index >= 32_768), [elements - 1]);
  assert.not.ok(sampleIndices(elements).includes(elements - 100), 'the changed byte is not at a stamp');
  const sums = new MessageSums(bytes);
  for (const { name, producer, reader } of rings(4 * MiB)) {
    const sent = send(producer, bytes, ['none', 'last byte', 'none', 'last chunk stale']);
    assert.equal(reader.receiveSize(bytes, 64, () => {}), {
      count: 4, failures: 2, firstFailure: `message 1: its bytes sum to ${hex(sent[1]!)}, not ${hex(sums.expected(1))}`,
    }, name);
    send(producer, bytes, ['none', 'none', 'none', 'last chunk stale']);
    assert.equal(reader.receiveSize(bytes, 64, () => {}), {
      count: 4, failures: 1, firstFailure: "message 3: its stamps are not message 3's",
    }, name);
  }
});

test('zerocopy catches two chunks of a message in each other\'s place, where neither holds a stamp', () => {
  const bytes = 128 * KiB;
  const chunkBytes = 16 * KiB; // a 64 KiB ring's quarter: zerocopy's chunks on \`--ring 64KiB\`
  const samples = sampleIndices(bytes / 8);
  for (const chunk of [1, 2]) {
    const stamped = [...samples].filter((index) => Math.floor((8 * index) / chunkBytes) === chunk);
    assert.equal(stamped, [], `chunk ${chunk} holds no stamp`);
  }
  for (const { name, producer, reader } of rings(MiB)) { // every message fits: one thread writes, then reads
    send(producer, bytes, ['none', 'none'], chunkBytes);
    assert.equal(reader.receiveSize(bytes, 64, () => {}), { count: 2, failures: 0 }, `${name}: all well`);
    send(producer, bytes, ['none', 'swapped', 'none'], chunkBytes);
    assert.equal(reader.receiveSize(bytes, 64, () => {}), {
      count: 3, failures: 1, firstFailure: 'message 1: its bytes 16384 to 32768 are not its own there (chunk 1 out of place)',
    }, name);
  }
});

test('zerocopy: a size that ends inside a message, chunks that overrun it or split an element: each named', () => {
  const bytes = 64 * KiB;
  for (const { name, producer, reader } of rings(MiB)) {
    send(producer, bytes, ['none']);
    // Half a message of the same size, then the end marker.
    const half = new VaryingSource(bytes).bytesOf(0).subarray(0, bytes / 2);
    producer.write(half);
    producer.write(new Uint8Array(0), { tag: END_TAG });
    // (send() ended the first size already: read it, then the next)
    assert.equal(reader.receiveSize(bytes, 64, () => {}), { count: 1, failures: 0 }, name);
    assert.equal(reader.receiveSize(bytes, 64, () => {}), {
      count: 0, failures: 1, firstFailure: 'message 0: the size ended 32768 bytes into it',
    }, name);
    // A message of 64 KiB sent as 40 KiB and 40 KiB: more than the message.
    const chunked = new VaryingSource(80 * KiB).bytesOf(0);
    producer.write(chunked.subarray(0, 40 * KiB));
    producer.write(chunked.subarray(40 * KiB));
    producer.write(new Uint8Array(0), { tag: END_TAG });
    const overrun = reader.receiveSize(bytes, 64, () => {});
    assert.is(overrun.firstFailure, 'message 0: its chunks do not add up to 65536 bytes', name);
    // Chunks of 32,764 and 32,772 bytes, then 8: 4,095, 4,096 and 1 whole elements, the message's count, but cut
    // where no element ends.
    producer.write(chunked.subarray(0, 32_764));
    producer.write(chunked.subarray(32_764, 65_536));
    producer.write(chunked.subarray(65_536, 65_544));
    producer.write(new Uint8Array(0), { tag: END_TAG });
    assert.equal(reader.receiveSize(bytes, 64, () => {}), {
      count: 1, failures: 1, firstFailure: 'message 0: its chunks do not add up to 65536 bytes',
    }, name);
  }
});

test('transfer: the array handed over is compared with what was sent, every byte', () => {
  const bytes = 100 * KiB;
  const sender = new VaryingSource(bytes);
  const receiver = new VaryingSource(bytes);
  for (let seq = 0; seq < 5; seq++) {
    const message = sender.windows[sender.prepare(seq)]!.slice();
    assert.is(differenceFrom(receiver, message, seq), undefined, `message ${seq}`);
  }
  const message = sender.windows[sender.prepare(5)]!.slice();
  new Uint8Array(message.buffer)[51_203] ^= 1; // in the middle, not at a stamp
  assert.is(differenceFrom(receiver, message, 5), 'byte 51203 is not what was sent');
  // A recycled array that was not written again but for the stamps holds another window's bytes (or the same
  // one's, once in SHIFTS): message 6's, stamped as the next message with a window of its own.
  const stale = sender.windows[sender.prepare(6)]!.slice();
  let seq = 7;
  while (windowOf(seq) === windowOf(6)) seq++;
  for (const sample of sampleIndices(bytes / 8)) stale[sample] = expectedAt(sample, seq, bytes / 8);
  assert.is(seq, 7);
  assert.is(differenceFrom(receiver, stale, seq), 'byte 13 is not what was sent'); // in element 1: element 0 is a stamp
});

test('shared and ringbuf: roving stamps catch the last message\'s bytes under new fixed stamps, and part of one not moved', () => {
  let placed = 0; // roving stamps in the messages of 1,000 elements and more
  for (const bytes of [8, 24, 32, 8 * 1000, 64 * KiB, 300 * KiB, 2 * MiB]) {
    const elements = bytes / 8;
    const samples = sampleIndices(elements);
    const source = makeSource(bytes);
    const sender = new RovingStamps(elements);
    const receiver = new RovingStamps(elements);
    let last = new Float64Array(0);
    for (let seq = 0; seq < 300; seq++) {
      sender.restamp(source, seq);
      stamp(source, seq);
      // Only the fixed and roving stamps of message seq differ from the pattern: none of the last message's is left.
      // Two roving ones in each 256 KiB, fewer where they fall on one place, or on a fixed stamp, which wins.
      const roving = rovingPlaces(source, samples);
      assert.ok(roving.length <= (elements > 3 ? 2 * Math.ceil(elements / (256 * KiB / 8)) : 0), `${bytes} B, message ${seq}`);
      assert.ok(roving.every((index) => source[index] === rovingAt(index, seq)), `${bytes} B, message ${seq}`);
      if (elements >= 1000) {
        placed += roving.length;
        // Message 0 too: the mix of 0 is 0, which put its first two places on element 0, a fixed stamp (a review's find)
        assert.ok(roving.some((index) => index < 256 * KiB / 8), `${bytes} B, message ${seq}: a roving stamp in stretch 0`);
      }
      const copy = source.slice(); // what a receiver copied out: the message
      assert.is(copyFailure(copy, seq, samples, receiver), '', `${bytes} B, message ${seq}`);
      if (seq > 0) {
        assert.is(copyFailure(last, seq, samples, receiver), `its stamps are not message ${seq}'s`); // the last, again
        const fixedOnly = last.slice();
        stamp(fixedOnly, seq); // the last message's bytes under message seq's fixed stamps: its roving ones not moved
        const index = receiver.mismatch(fixedOnly, seq);
        if (roving.length === 0) assert.is(index, -1, 'no roving stamp: nothing between the fixed ones to lose');
        else {
          assert.ok(roving.includes(index), `${bytes} B, message ${seq}: caught at a roving stamp`);
          assert.is(copyFailure(fixedOnly, seq, samples, receiver), `its element ${index} is ${fixedOnly[index]}, not ${rovingAt(index, seq)}`);
        }
      }
      last = copy;
    }
  }
  assert.is(placed, ROVING_PLACED, 'two a stretch: 2 + 2 + 4 + 16 a message, but where they fell on one place');
  // A fault in every message over a small part of it: 4 KiB of 64 KiB not moved (the last message's bytes left there).
  // Two roving stamps land in it in 1 - (15/16)^2 of the messages, 12%, each caught.
  const bytes = 64 * KiB;
  const elements = bytes / 8;
  const samples = sampleIndices(elements);
  const source = makeSource(bytes);
  const sender = new RovingStamps(elements);
  const receiver = new RovingStamps(elements);
  const copy = new Float64Array(elements);
  let caught = 0;
  let first = -1;
  for (let seq = 0; seq < 2000; seq++) {
    sender.restamp(source, seq);
    stamp(source, seq);
    copy.set(source.subarray(0, 3000));
    copy.set(source.subarray(3512), 3512); // elements 3000 to 3511 keep the last message's
    const failure = copyFailure(copy, seq, samples, receiver);
    if (failure !== '') {
      caught++;
      if (first < 0) first = seq;
      const index = receiver.mismatch(copy, seq);
      assert.ok(index >= 3000 && index < 3512, `message ${seq}: element ${index}`);
      assert.is(failure, `its element ${index} is ${copy[index]}, not ${rovingAt(index, seq)}`);
    }
  }
  assert.is(caught, ROVING_CAUGHT, 'the places are a hash of seq: the same in every run');
  assert.is(first, 6, 'the first caught, at the same message in every run');
});

/** The elements of `message` that differ from the pattern and are not fixed stamps (`samples`), ascending. */
function rovingPlaces(message: Float64Array, samples: Int32Array): number[] {
  const places: number[] = [];
  for (let i = 0; i < message.length; i++) if (message[i] !== patternAt(i) && !samples.includes(i)) places.push(i);
  return places;
}
const ROVING_CAUGHT = 242; // of 2000: 12.1%, as expected
const ROVING_PLACED = 7198; // of 300 x 24: 2 fell on a fixed stamp (message 241's, the last element, at 8,000 B and 64 KiB)

test('under a limited address space (ulimit -v), zerocopy reads in JavaScript where no WebAssembly.Memory can be reserved, and says so', () => {
  // Node 20's V8 refuses a WebAssembly.Memory under 8 GB; Node 24's reserves its own pages only (helpers.ts).
  const memory = memoryUnderAddressLimit();
  const bin = new URL('../../bin/shmcomm.js', import.meta.url).pathname;
  const run = underAddressLimit([bin, 'bench', 'bandwidth', '--modes', 'zerocopy', '--min', '64KiB', '--max', '128KiB',
    '--points', '2', '--time', '0.02', '--warmup', '0.005', '--json']);
  assert.is(run.stderr, '');
  assert.is(run.status, 0);
  const doc = JSON.parse(run.stdout) as { rows: { mode: string; mbPerSec: number }[]; notes: string[] };
  assert.equal(doc.rows.map((row) => row.mode), ['zerocopy', 'zerocopy']);
  assert.ok(doc.rows.every((row) => row.mbPerSec > 0));
  const inJs = doc.notes.some((note) => note.includes('a sum in JavaScript, as this process could not reserve a WebAssembly.Memory'));
  assert.is(inJs, !memory, `${memory ? 'a' : 'no'} WebAssembly.Memory under ulimit -v 8000000; notes:\n${doc.notes.join('\n')}`);
});

test('where V8 has no WebAssembly SIMD (x64 without SSE4.1), zerocopy reads in JavaScript, and says so', () => {
  const bin = new URL('../../bin/shmcomm.js', import.meta.url).pathname;
  const run = spawnSync(process.execPath, ['--no-enable-sse4-1', bin, 'bench', 'bandwidth', '--modes', 'zerocopy',
    '--min', '64KiB', '--max', '128KiB', '--points', '2', '--time', '0.02', '--warmup', '0.005', '--json'], {
    encoding: 'utf8', timeout: 60_000,
  });
  assert.is(run.stderr, '');
  assert.is(run.status, 0);
  const doc = JSON.parse(run.stdout) as { rows: { mode: string; mbPerSec: number }[]; notes: string[] };
  assert.equal(doc.rows.map((row) => row.mode), ['zerocopy', 'zerocopy']);
  assert.ok(doc.rows.every((row) => row.mbPerSec > 0));
  assert.ok(doc.notes.some((note) => note.includes('a sum in JavaScript, as this process could not reserve a ' +
    'WebAssembly.Memory or run WebAssembly SIMD: a few times slower')), doc.notes.join('\n'));
});

test.run();
