import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { check, CORRUPTIONS, runSeed, type Run } from './fixtures/corrupt-fuzz.js';
import { testSeed } from './helpers.js';

const RUNS = 330; // 30 of each corruption: about 2 s

test('one word or byte of a ring overwritten: a CorruptFrameError or what README allows, never a hang or an engine error', () => {
  const seed = testSeed('corrupt fuzz');
  const counts: Record<string, number> = {};
  for (let i = 0; i < RUNS; i++) {
    const corruption = CORRUPTIONS[i % CORRUPTIONS.length]!;
    const run: Run = runSeed((seed + i) >>> 0, corruption);
    const label = `seed ${run.seed}, ${run.mode}, ${run.what}: ${run.outcome} (${run.detail})`;
    assert.is(check(run), '', label);
    counts[run.outcome] = (counts[run.outcome] ?? 0) + 1;
  }
  // Corruption is found, not only survived: most overwritten headers are told by the checks
  assert.ok(counts.corrupt! > RUNS / 5, JSON.stringify(counts));
});

test.run();
