// A seeded, model-based fuzz of point-to-point matching (the rank program and its model: fixtures/comm-fuzz.ts): four
// launches a transport, 2 to 5 ranks, from one printed seed (SEED=N replays it). For a longer run, launch the fixture
// in a loop over seeds with the same args; its errors name the seed, episode and round of the first wrong answer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { launch, type TransportName } from '../src/index.js';
import { episodePlan, type FuzzArgs, type FuzzResult } from './fixtures/comm-fuzz.js';
import { noWorkerLeft, testSeed } from './helpers.js';

const FUZZ = new URL('./fixtures/comm-fuzz.js', import.meta.url);
const TRANSPORTS: TransportName[] = ['shared', 'transfer', 'clone'];
// Each launch varies the ring (small rings wrap often; 8 KiB ones wrap within a round) and the chunk, so that large
// values go in chunks of 1 KiB up to half a ring, and some are above half a ring, where recvView works as recv.
const SHAPES: { size: number; ringBytes: number; chunkBytes?: number }[] = [
  { size: 2, ringBytes: 65_536 },
  { size: 3, ringBytes: 8192, chunkBytes: 1024 },
  { size: 4, ringBytes: 65_536, chunkBytes: 32_752 },
  { size: 5, ringBytes: 65_536, chunkBytes: 4096 },
];
const EPISODES = 2;

/** The ids of the messages the plan sends to each rank, sorted: what each rank must have received, no more. */
function expectedIds(args: FuzzArgs, size: number): number[][] {
  const ids = Array.from({ length: size }, () => [] as number[]);
  for (let episode = 0; episode < args.episodes; episode++) {
    for (const { sends, exchange } of episodePlan(args, size, episode)) {
      for (const spec of [...sends.flat(), ...(exchange?.specs ?? [])]) ids[spec.to]!.push(spec.id);
    }
  }
  return ids.map((list) => list.sort((a, b) => a - b));
}

const seed = testSeed('comm fuzz');

for (const transport of TRANSPORTS) {
  test(`${transport}: every answer is one the matching rules allow, over ${SHAPES.length} seeded plans`, async () => {
    const requests: Record<string, number> = {};
    for (const [i, shape] of SHAPES.entries()) {
      const { size, ringBytes, chunkBytes } = shape;
      const args: FuzzArgs = { seed: seed + i, episodes: EPISODES, ringBytes, chunkBytes };
      // A mismatch throws in its rank, naming the seed, the round and what the model allowed: launch rejects with it.
      const options = { size, transport, args, ringBytes, chunkBytes, timeoutMs: 60_000 };
      const results = await launch<FuzzResult>(FUZZ, options);
      assert.equal(results.map((r) => r.ids), expectedIds(args, size), `seed ${args.seed}, ${size} ranks`);
      // Once every message of a round is sent, a receive from any source (and tag) takes the ranks in turns.
      assert.equal(results.map((r) => r.outOfTurn), results.map(() => []), `seed ${args.seed}, ${size} ranks: turns`);
      for (const r of results) {
        for (const [kind, n] of Object.entries(r.requests)) {
          const call = kind.split(' ')[0]!;
          requests[call] = (requests[call] ?? 0) + n;
        }
      }
    }
    // Every kind of call was made (tens to hundreds of each over the four plans): the plans tested what they name.
    assert.equal(Object.keys(requests).sort(), ['collective', 'held', 'into', 'recv', 'sendrecv', 'status', 'view']);
  });
}

test('no worker outlives the launches', async () => {
  await noWorkerLeft('the fuzz launches');
});

test.run();
