import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { launch, type TransportName } from '../src/index.js';
import type { WaitStrategy } from '../src/wait.js';
import { check, FAULT_KINDS, generate, type FuzzProgram, type Outcome } from './fixtures/faults-fuzz.js';
import { noWorkerLeft, prng, startedWorkers, testSeed } from './helpers.js';

const PROGRAM = new URL('./fixtures/faults-fuzz.js', import.meta.url);
const SETTINGS: [TransportName, WaitStrategy | undefined][] = [
  ['shared', undefined], ['shared', 'spin'], ['transfer', undefined], ['transfer', 'spin'], ['clone', undefined], ['clone', 'spin'],
];
// Short enough for the file's time, long enough that a busy rank reaches its step on a loaded machine first: a run
// that times out before the fault struck fails as such, not as a wrong report.
const BUSY_TIMEOUT_MS = 4000;
// Every other fault ends in a report or a result well within a second or two (deadlockMs 250 below): a TimeoutError
// there means the watchdog missed a deadlock.
const TIMEOUT_MS = 20_000;

async function run(program: FuzzProgram, transport: TransportName, strategy: WaitStrategy | undefined) {
  const timeoutMs = program.fault.kind === 'busy' ? BUSY_TIMEOUT_MS : TIMEOUT_MS;
  const faultAt = new SharedArrayBuffer(8 * program.size);
  const before = startedWorkers();
  let outcome: Outcome;
  try {
    outcome = { results: await launch(PROGRAM, { size: program.size, transport, strategy, args: { program, faultAt }, timeoutMs, deadlockMs: 250 }) };
  } catch (error) {
    outcome = { error };
  }
  const struck = new Float64Array(faultAt).some((at) => at > 0);
  return { problem: check(program, outcome, timeoutMs, struck), started: startedWorkers() - before };
}

test('one fault at a random step of a random program, each kind once: launch reports it as README says, and no worker is left', async () => {
  const seed = testSeed('faults fuzz');
  const random = prng(seed);
  const offset = Math.floor(random() * SETTINGS.length);
  for (let i = 0; i < FAULT_KINDS.length; i++) {
    const kind = FAULT_KINDS[i]!;
    // Four steps at most: the faults meet the collectives and the arena as often, in less time.
    const program = generate((seed + i * 7919) >>> 0, kind, 4);
    const [transport, strategy] = SETTINGS[(offset + i) % SETTINGS.length]!;
    const label = `${kind} on ${transport}/${strategy ?? 'default'}: ${JSON.stringify(program)}`;
    const { problem, started } = await run(program, transport, strategy);
    assert.is(problem, '', label);
    assert.is(started, program.size, `${label}: every rank's worker came online`);
    await noWorkerLeft(label);
  }
});

test.run();
