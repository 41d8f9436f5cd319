import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { launch, type TransportName } from '../src/index.js';
import type { WaitStrategy } from '../src/wait.js';
import { check, FAULT_KINDS, generate, type FuzzProgram, type Outcome } from './fixtures/faults-fuzz.js';
import { noWorkerLeft, prng, startedWorkers, testSeed } from './helpers.js';

const PROGRAM = new URL('./fixtures/faults-fuzz.js', import.meta.url);
const SETTINGS: [TransportName, WaitStrategy | undefined][] = [
  ['shared', undefined], ['shared', 'spin'], ['transfer', undefined], ['transfer', 'spin'],
  ['clone', undefined], ['clone', 'spin'],
];
// Short enough for the file's time, long enough that a busy rank reaches its step on a loaded machine first: a run
// that times out before the fault struck fails as such, not as a wrong report.
const BUSY_TIMEOUT_MS = 4000;
// Every other fault ends in a report or a result well within a second or two (deadlockMs 250 below): a TimeoutError
// there means the watchdog missed a deadlock.
const TIMEOUT_MS = 20_000;
// From the fault to launch settling: a throw or exit comes within a few hundred ms, a deadlock within deadlockMs and
// the watchdog's looks (0.3 to 1.2 s under load in the fuzz's runs); far more means a report that dawdles.
const REPORT_MS = 5000;

async function run(program: FuzzProgram, transport: TransportName, strategy: WaitStrategy | undefined) {
  const timeoutMs = program.fault.kind === 'busy' ? BUSY_TIMEOUT_MS : TIMEOUT_MS;
  const faultAt = new SharedArrayBuffer(8 * program.size);
  const before = startedWorkers();
  let outcome: Outcome;
  try {
    const args = { program, faultAt };
    const options = { size: program.size, transport, strategy, args, timeoutMs, deadlockMs: 250 };
    outcome = { results: await launch(PROGRAM, options) };
  } catch (error) {
    outcome = { error };
  }
  const settled = performance.timeOrigin + performance.now();
  const struckAt = new Float64Array(faultAt).find((at) => at > 0);
  const problem = check(program, outcome, timeoutMs, struckAt !== undefined);
  // A busy rank's report waits for timeoutMs; an early return that no rank needed ends the run without one.
  const reportMs = struckAt === undefined || program.fault.kind === 'busy' ? 0 : settled - struckAt;
  return { problem, reportMs, started: startedWorkers() - before };
}

test('a fault of each kind at a random step of a random program: reported as README says, no worker left', async () => {
  const seed = testSeed('faults fuzz');
  const random = prng(seed);
  const offset = Math.floor(random() * SETTINGS.length);
  for (let i = 0; i < FAULT_KINDS.length; i++) {
    const kind = FAULT_KINDS[i]!;
    // Four steps at most, and a busy rank at its first or second: each run then takes well under a second, and a busy
    // rank reaches its loop well within BUSY_TIMEOUT_MS even spinning with more ranks than cores (in the fuzz's
    // runs, 6 ranks spinning on 2 busy cores did not reach one at step 3 in 5 s).
    const program = generate((seed + i * 7919) >>> 0, kind, 4);
    if (kind === 'busy') program.fault.step = Math.min(program.fault.step, 1);
    const [transport, strategy] = SETTINGS[(offset + i) % SETTINGS.length]!;
    const label = `${kind} on ${transport}/${strategy ?? 'default'}: ${JSON.stringify(program)}`;
    const { problem, reportMs, started } = await run(program, transport, strategy);
    assert.is(problem, '', label);
    assert.ok(reportMs < REPORT_MS, `${label}: settled ${reportMs.toFixed(0)} ms after the fault`);
    assert.is(started, program.size, `${label}: every rank's worker came online`);
    await noWorkerLeft(label);
  }
});

test.run();
