import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RING_LAYOUT, RingBuffer } from '../src/ring.js';
import { bothOrAbort, checkPattern, prng, randomSize, runWorker, testSeed } from './helpers.js';

interface ConsumerReport { received: number; bytes: number; problems: string[] }
const COUNT = 100_000;

async function stream(
  name: string, producerStyle: string, consumerStyle: string, ringBytes: number,
  { strategy = 'spinThenPark', cork = 'none' }: { strategy?: string; cork?: 'none' | 'producer' | 'consumer' | 'both' } = {},
) {
  const seed = testSeed(name);
  const ring = RingBuffer.create(ringBytes);
  const job = { buffer: ring.buffer, seed, count: COUNT, strategy };
  const [sent, report] = await bothOrAbort(ring, [
    runWorker<{ sent: number }>('ring-peer', { ...job, role: 'producer', style: producerStyle, cork: cork === 'producer' || cork === 'both' }, 120_000),
    runWorker<ConsumerReport>('ring-peer', { ...job, role: 'consumer', style: consumerStyle, cork: cork === 'consumer' || cork === 'both' }, 120_000),
  ]);
  assert.equal(report.problems, []);
  assert.is(sent.sent, COUNT);
  assert.is(report.received, COUNT);
  const laps = report.bytes / ring.capacity;
  assert.ok(laps > 100, `only ${laps.toFixed(0)} laps round the ring`);
}

test('copy producer, copy consumer: 100,000 seeded messages', () => stream('copy/copy', 'copy', 'copy', 16384));
test('zero-copy producer, zero-copy consumer', () => stream('zerocopy/zerocopy', 'zerocopy', 'zerocopy', 16384));
test('copy producer, async consumer', () => stream('copy/async', 'copy', 'async', 16384));
test('corked copy producer, peekAsync consumer', () => stream('cork copy/peekAsync', 'copy', 'peekAsync', 8192, { cork: 'producer' }));
test('async producer, zero-copy consumer, parking only', () => stream('async/zerocopy park', 'async', 'zerocopy', 8192, { strategy: 'park' }));
test('corked offset producer, offset consumer', () => stream('cork offset/offset', 'offset', 'offset', 16384, { cork: 'producer' }));
test('corked copy producer, copy consumer, parking only', () => stream('cork copy/copy park', 'copy', 'copy', 4096, { strategy: 'park', cork: 'producer' }));
test('corked async producer, zero-copy consumer', () => stream('cork async/zerocopy', 'async', 'zerocopy', 8192, { cork: 'producer' }));
test('copy producer, corked copy consumer', () => stream('copy/cork copy', 'copy', 'copy', 16384, { cork: 'consumer' }));
test('async producer, corked peekAsync consumer, parking only', () => stream('async/cork peekAsync park', 'async', 'peekAsync', 4096, { strategy: 'park', cork: 'consumer' }));
test('both sides corked: offset producer, offset consumer', () => stream('cork offset/cork offset', 'offset', 'offset', 4096, { cork: 'both' }));
test('both sides corked: copy producer, async consumer, parking only', () => stream('cork copy/cork async park', 'copy', 'async', 8192, { strategy: 'park', cork: 'both' }));

test('main thread as an async consumer while a worker produces', async () => {
  const seed = testSeed('main thread async');
  const ring = RingBuffer.create(4096);
  const producer = runWorker<{ sent: number }>('ring-peer', { buffer: ring.buffer, seed, count: 2000, role: 'producer', style: 'copy' });
  const random = prng(seed); // the producer's sizes, drawn as it draws them
  let received = 0;
  try {
    for (;;) {
      const message = await ring.readAsync({ timeoutMs: 30_000 });
      if (message === null) break;
      const where = `seed ${seed}, message ${received}`;
      assert.is(ring.frame.tag, received, where);
      assert.is(message.length, randomSize(random, ring.maxMessage), where);
      assert.is(checkPattern(message, received), -1, where);
      received++;
    }
  } catch (err) {
    ring.abort(); // the producer, blocked on a full ring, wakes and ends
    await producer.catch(() => {});
    throw err;
  }
  assert.is((await producer).sent, 2000);
  assert.is(received, 2000);
});

for (const role of ['blockedReader', 'blockedWriter'] as const) {
  test(`abort wakes a ${role === 'blockedReader' ? 'reader blocked on an empty' : 'writer blocked on a full'} ring`, async () => {
    const ring = RingBuffer.create(1024, { strategy: 'park' });
    const result = runWorker<{ error: string; message: string; ms: number; at: number }>('ring-peer', { buffer: ring.buffer, role, style: 'copy', seed: 0, count: 0 });
    const asleep = role === 'blockedReader' ? RING_LAYOUT.READER_ASLEEP : RING_LAYOUT.WRITER_ASLEEP;
    const words = new Int32Array(ring.buffer);
    const now = () => performance.timeOrigin + performance.now(); // the worker's clock too: it reports such times
    let parkedAt: number;
    try {
      // Abort only once the worker is parked (its flag up), so that it is a blocked call the abort wakes; a worker that
      // started after the abort would pass the checks below all the same.
      for (const deadline = performance.now() + 30_000; Atomics.load(words, asleep) === 0;) {
        assert.ok(performance.now() < deadline, 'the worker never parked');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      parkedAt = now();
      await new Promise((resolve) => setTimeout(resolve, 50)); // nothing but the abort may wake it from here
      assert.is(Atomics.load(words, asleep), 1, 'the worker woke before the abort');
    } catch (err) {
      ring.abort(); // the worker, parked or about to be, ends: no worker outlives the test
      await result.catch(() => {});
      throw err;
    }
    const abortedAt = now();
    ring.abort();
    const report = await result; // without a wake it would wait for ever (no timeout): runWorker's 60 s bound fails it
    assert.is(report.error, 'AbortedError');
    assert.is(report.message, `${role === 'blockedReader' ? 'read' : 'write'} aborted: the channel was aborted`);
    // The call it reports blocked from before the worker was seen parked until after the abort (5 ms for the two
    // threads' clocks). No bound on how soon it woke: on a loaded machine the woken thread may wait for a core.
    const calledAt = report.at - report.ms;
    assert.ok(calledAt <= parkedAt + 5, `called at ${calledAt.toFixed(1)}, seen parked at ${parkedAt.toFixed(1)}`);
    assert.ok(report.at >= abortedAt - 5, `woke at ${report.at.toFixed(1)}, the abort was at ${abortedAt.toFixed(1)}`);
    assert.is(Atomics.load(words, asleep), 0, 'the woken worker lowered its flag');
  });
}

test.run();
