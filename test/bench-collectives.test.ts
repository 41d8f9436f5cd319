/**
 * The collectives benchmark end to end with tiny sizes and short times: every (transport, ranks, op, size) row
 * present with positive finite numbers, in JSON and through measureCollectives; the plain table, the ratio line,
 * the oversubscription note and the CSV file. Speed is never asserted. No worker may outlive a run.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COLLECTIVE_OPS, TRANSPORTS, parseCollectivesArgs } from '../src/bench/args.js';
import {
  collectivesPlan, collectivesTable, launchBoundMs, measureCollectives, oversubscribedLine, runCollectives, type CollectiveStep,
} from '../src/bench/collectives.js';
import { checkFreshCall, checkResult, makePayload } from '../src/bench/collectives-rank.js';
import { defaultStrategy } from '../src/launch.js';
import { host, memcpyText } from '../src/glibc.js';
import type { Comm } from '../src/comm.js';
import { RankFailedError } from '../src/errors.js';
import { errorOf, noWorkerLeft, startedWorkers, within } from './helpers.js';

const TINY = ['--ranks', '2,3', '--sizes', '8,64KiB', '--time', '0.01', '--warmup', '0.002'];
const SIZES = [8, 65536];
const RANKS = [2, 3];

function capture(): { isTTY: boolean; write(text: string): boolean; text(): string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (text) => chunks.push(text) > 0, text: () => chunks.join('') };
}

/** Every (transport, ranks, op, size) the run must have measured; barrier has the one size 0. */
function expectedKeys(): string[] {
  const keys: string[] = [];
  for (const transport of TRANSPORTS) {
    for (const ranks of RANKS) {
      for (const op of COLLECTIVE_OPS) {
        for (const bytes of op === 'barrier' ? [0] : SIZES) keys.push(`${transport} ${ranks} ${op} ${bytes}`);
      }
    }
  }
  return keys;
}

const keyOf = (row: Record<string, unknown>): string => `${row.transport} ${row.ranks} ${row.op} ${row.bytes}`;
const isPositive = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value > 0;

test('the plan: ops in order, each at every size, barrier at none', () => {
  assert.equal(collectivesPlan({ ops: ['barrier', 'bcast'], sizes: [8, 1024] }), [
    { op: 'barrier', bytes: 0 }, { op: 'bcast', bytes: 8 }, { op: 'bcast', bytes: 1024 },
  ]);
});

test("a launch's time bound: slack, ten times the time budget, and six calls' bytes a rank at 50 MB/s", () => {
  const plan = collectivesPlan({ ops: ['bcast'], sizes: [8, 2 ** 30] });
  // 60 s, 2 measurements x 0.25 s x 10, and 6 calls x 4 ranks x (8 B + 1 GiB) at 50 MB/s (515.4 s)
  assert.is(launchBoundMs(plan, 4, { seconds: 0.2, warmupSeconds: 0.05 }), 580_397);
  assert.is(launchBoundMs(collectivesPlan({ ops: ['barrier'], sizes: [8] }), 8, { seconds: 1, warmupSeconds: 0 }), 70_000);
});

/** The events of a TINY run: for each rank count, its launches, then each op and size on every transport in turn. */
function expectedEvents(): string[] {
  const events: string[] = [];
  for (const ranks of RANKS) {
    events.push(...TRANSPORTS.map((transport) => `launch ${transport} ${ranks}`));
    for (const op of COLLECTIVE_OPS) {
      for (const bytes of op === 'barrier' ? [0] : SIZES) {
        for (const transport of TRANSPORTS) events.push(`start ${transport} ${ranks} ${op} ${bytes}`, `finish ${transport} ${ranks} ${op} ${bytes}`);
      }
    }
  }
  return events;
}

test('measureCollectives: every row, in order, with its events, the transports by turns; the line probe before the first launch and after the last, twice at the start on a busy machine', async () => {
  const before = startedWorkers();
  const events: string[] = [];
  const stepKey = (step: CollectiveStep): string => `${step.transport} ${step.ranks} ${step.op} ${step.bytes}`;
  const readings = [3746.58, 0.31, 0.09];
  const rows = await measureCollectives(parseCollectivesArgs(TINY), {
    onLaunch: (transport, ranks) => events.push(`launch ${transport} ${ranks}`),
    onStart: (step) => events.push(`start ${stepKey(step)}`),
    onFinish: (step) => events.push(`finish ${stepKey(step)}`),
    onProbe: (when) => events.push(`probe ${when}`),
    onLine: (when, micros) => events.push(`${when} ${micros}`),
  }, async () => readings.shift()!);
  const expected = expectedKeys();
  assert.equal(rows.map((row) => keyOf({ ...row })), expected);
  for (const row of rows) {
    assert.ok(isPositive(row.microsPerCall), `${keyOf({ ...row })}: microsPerCall ${row.microsPerCall}`);
    assert.ok(Number.isInteger(row.calls) && row.calls > 0, `${keyOf({ ...row })}: calls ${row.calls}`);
  }
  assert.equal(events, ['probe start', 'start 0.31', ...expectedEvents(), 'probe end', 'end 0.09']);
  assert.is(startedWorkers() - before, TRANSPORTS.length * (2 + 3), 'one launch per transport and rank count');
  await noWorkerLeft('the benchmark returned');
});

/**
 * A run of 2 ranks on every transport whose rank program is `fixture`, one with a fault: the error it failed with, the
 * turns it began and finished, and how long it took. No worker may outlive it.
 */
async function faultyRun(fixture: string, ops: string): Promise<{ error: Error | undefined; events: string[]; ms: number }> {
  const before = startedWorkers();
  const events: string[] = [];
  const started = performance.now();
  const opts = parseCollectivesArgs(['--ranks', '2', '--sizes', '64', '--ops', ops, ...TINY.slice(4)]);
  const run = measureCollectives(opts, {
    onStart: (step) => events.push(`start ${step.transport} ${step.op}`),
    onFinish: (step) => events.push(`finish ${step.transport} ${step.op}`),
  }, async () => 0.05, new URL(`./fixtures/${fixture}`, import.meta.url));
  const error = await within(run.then(() => undefined, (err: unknown) => err as Error), 60_000, `the run of ${fixture}`);
  assert.is(startedWorkers() - before, 3 * 2, 'one launch of 2 ranks per transport');
  await noWorkerLeft(`${fixture} failed while the other launches waited at their gates`);
  return { error, events, ms: performance.now() - started };
}

test('a wrong result on one launch fails the run on its turn, and the launches waiting for theirs end too', async () => {
  const { error, events, ms } = await faultyRun('collectives-faulty.js', 'bcast,allreduce');
  assert.instance(error, RankFailedError);
  assert.is(error?.message, 'rank 1 failed: Error: allreduce of 64 B on 2 ranks over transfer: rank 1 got -1 at element 0, expected the exact sum 1.5');
  // bcast on every transport, then allreduce on shared, then transfer's, which failed: clone's turn never came.
  assert.equal(events, [
    'start shared bcast', 'finish shared bcast', 'start transfer bcast', 'finish transfer bcast',
    'start clone bcast', 'finish clone bcast', 'start shared allreduce', 'finish shared allreduce', 'start transfer allreduce',
  ]);
  assert.ok(ms < 30_000, 'ended in a bounded time'); // generous: 1 s is typical
});

test('a launch that fails at start-up fails the run before any turn, and the launches ready for theirs end too', async () => {
  const { error, events, ms } = await faultyRun('collectives-startup-fault.js', 'bcast');
  assert.instance(error, RankFailedError);
  assert.is(error?.message, 'rank 1 failed: Error: clone rank 1 failed at start-up');
  assert.equal(events, [], 'no turn began: clone never became ready');
  assert.ok(ms < 30_000, 'ended in a bounded time');
});

test('an onLaunch callback that throws fails the run before any launch starts: no worker is started or left', async () => {
  const before = startedWorkers();
  const announced: string[] = [];
  const run = measureCollectives(parseCollectivesArgs(TINY), {
    onLaunch: (transport, ranks) => {
      announced.push(`${transport} ${ranks}`);
      if (announced.length === 2) throw new Error('the progress line could not be drawn');
    },
  }, async () => 0.05);
  const error = await within(run.then(() => undefined, (err: unknown) => err as Error), 30_000, 'the run');
  assert.is(error?.message, 'the progress line could not be drawn');
  assert.equal(announced, [`${TRANSPORTS[0]} 2`, `${TRANSPORTS[1]} 2`]);
  assert.is(startedWorkers() - before, 0, 'no launch began');
  await noWorkerLeft('the callback threw');
});

test('--json: { node, cpus, memcpy, settings, rows, notes } with every row and nothing on stderr off a terminal', async () => {
  const stdout = capture();
  const stderr = capture();
  await runCollectives(parseCollectivesArgs([...TINY, '--json']), { stdout, stderr });
  const doc = JSON.parse(stdout.text()) as {
    node: string; cpus: string; memcpy: string; settings: Record<string, unknown>; rows: Record<string, unknown>[]; notes: string[];
  };
  assert.equal(Object.keys(doc), ['node', 'cpus', 'memcpy', 'settings', 'rows', 'notes']);
  const { json: _json, csvFile: _csv, ...settings } = parseCollectivesArgs(TINY);
  assert.equal(doc.settings, { ...settings, strategy: null }, 'the options as parsed (no --strategy: null)');
  assert.match(doc.notes[0]!, /^shared vs clone at /, 'the ratio line, as the text prints it');
  for (const note of doc.notes.slice(1)) assert.match(note, /^Note: (3 ranks on \d+ cores? are oversubscribed|the machine (was busy|changed state))/);
  assert.is(doc.memcpy, memcpyText(process.env, host()));
  assert.is(doc.node, process.version);
  assert.equal(doc.rows.map(keyOf).sort(), expectedKeys().sort());
  for (const row of doc.rows) {
    assert.equal(Object.keys(row), ['transport', 'ranks', 'op', 'bytes', 'microsPerCall', 'calls', 'strategy']);
    assert.is(row.strategy, defaultStrategy(row.ranks as number), keyOf(row));
    assert.ok(isPositive(row.microsPerCall), `${keyOf(row)}: microsPerCall ${row.microsPerCall}`);
    assert.ok(Number.isInteger(row.calls) && (row.calls as number) > 0, `${keyOf(row)}: calls ${row.calls}`);
  }
  assert.is(stderr.text(), '');
  await noWorkerLeft('the benchmark returned');
});

test('plain output: the table, the shared vs clone line, and --csv writes the rows', async () => {
  const file = join(tmpdir(), `shmcomm-collectives-${process.pid}-${Date.now()}.csv`);
  try {
    const stdout = capture();
    const stderr = { ...capture(), isTTY: true, columns: 200 };
    const opts = parseCollectivesArgs([
      '--ranks', '2', '--sizes', '8,64KiB', '--transports', 'shared,clone', '--time', '0.01', '--warmup', '0.002', '--csv', file,
    ]);
    await runCollectives(opts, { stdout, stderr });
    // On a terminal, the progress line: the probe, both launches starting together (named both, not the last), ...
    const progress = stderr.text().split('\r\x1b[2K').slice(1).map((line) => line.replace(/, ~\d+ s left$/, ''));
    assert.equal(progress.slice(0, 3), [
      "collectives: probing the machine's state",
      'collectives: starting shared, clone, 2 ranks each (0/14)',
      'collectives: starting shared, clone, 2 ranks each (0/14)',
    ]);
    assert.is(progress[3], 'collectives: shared, 2 ranks, bcast 8 B (1/14)');
    assert.equal(progress.slice(-2), ["collectives: probing the machine's state at the end", '']);
    const text = stdout.text();
    const joined = text.replace(/\n/g, ' '); // header and notes wrap at 80 columns: read them as one line
    assert.match(text, /shmcomm bench collectives · Node v\d+/);
    const lineState = '(a line crosses in \\d+\\.\\d{2,3} µs: (the threads share a cache|they share no cache)|the line probe took .* the machine is busy)';
    assert.match(text.replace(/\s+/g, ' '), new RegExp(`waits \\(auto\\): 2 ranks ${defaultStrategy(2)}, arena [^(]+\\(${lineState}\\)`));
    assert.match(text, /transport\s+ranks\s+op\s+size\s+µs\/call\s+MB\/s\s+calls/);
    for (const op of ['bcast', 'reduce', 'allreduce']) {
      for (const size of ['8 B', '64 KiB']) assert.match(text, new RegExp(`shared\\s+2\\s+${op}\\s+${size}\\s+[\\d.,]+`));
    }
    assert.match(text, /clone\s+2\s+barrier\s+-\s+[\d.,]+/);
    const ratios = 'bcast 2 ranks [\\d.]+x; reduce 2 ranks [\\d.]+x; allreduce 2 ranks [\\d.]+x';
    assert.match(joined, new RegExp(`shared vs clone at 64 KiB .*${ratios}`));
    assert.not.match(text, /oversubscribed/); // 2 ranks fit on any machine that runs the tests
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.is(lines[0], 'transport,ranks,op,bytes,microsPerCall,calls,strategy');
    assert.is(lines.length, 1 + 2 * 7);
    for (const line of lines.slice(1)) assert.ok(line.endsWith(`,${defaultStrategy(2)}`), line);
    assert.match(joined, new RegExp(`waits \\(auto\\): 2 ranks ${defaultStrategy(2)}`));
  } finally {
    rmSync(file, { force: true });
  }
  await noWorkerLeft('the benchmark returned');
});

test('--strategy: auto by default, or one named strategy for every launch, refused when unknown', async () => {
  assert.is(parseCollectivesArgs([]).strategy, undefined);
  assert.is(parseCollectivesArgs(['--strategy', 'spin']).strategy, 'spin');
  let error: Error | undefined;
  try {
    parseCollectivesArgs(['--strategy', 'nap']);
  } catch (err) {
    error = err as Error;
  }
  assert.is(error?.message, 'Expected `--strategy` to be one of auto, spin, park, spinThenPark, got "nap"');
  const stdout = capture();
  await runCollectives(parseCollectivesArgs([
    '--ranks', '2', '--sizes', '8', '--ops', 'barrier', '--transports', 'shared', '--time', '0.01', '--warmup', '0.002',
    '--strategy', 'park', '--json',
  ]), { stdout, stderr: capture() });
  const doc = JSON.parse(stdout.text()) as { rows: Record<string, unknown>[] };
  assert.equal(doc.rows.map((row) => [row.op, row.strategy]), [['barrier', 'park']]);
  await noWorkerLeft('the benchmark returned');
});

test('the table: sizes, times and rates for people, and the calls grouped by thousands', () => {
  const rows = [
    { transport: 'shared', ranks: 2, op: 'barrier', bytes: 0, microsPerCall: 0.166, calls: 1_776_101, strategy: 'spinThenPark' },
    { transport: 'clone', ranks: 4, op: 'allreduce', bytes: 8 * 2 ** 20, microsPerCall: 13_052, calls: 35, strategy: 'park' },
  ] as const;
  const lines = collectivesTable(rows).split('\n');
  assert.equal(lines.slice(0, 2), [ // the title wraps at 80 columns, off a terminal
    'Time per call, µs: the slowest rank, calls back to back (lower is better); MB/s',
    '= payload bytes / time per call, from 64 KiB',
  ]);
  assert.is(lines.length, 6);
  assert.equal(lines.slice(4).map((line) => line.split(/ {2,}/)), [
    ['shared', '2', 'barrier', '-', '0.166', '-', '1,776,101'],
    ['clone', '4', 'allreduce', '8 MiB', '13,052', '643', '35'],
  ]);
  // On a terminal of 50 columns the table goes in two blocks, each with transport, ranks, op and size.
  assert.is(collectivesTable(rows, 50), [
    'Time per call, µs: the slowest rank, calls back to',
    'back (lower is better); MB/s = payload bytes /',
    'time per call, from 64 KiB',
    'transport  ranks  op          size  µs/call  MB/s',
    '─────────  ─────  ─────────  ─────  ───────  ────',
    'shared         2  barrier        -    0.166     -',
    'clone          4  allreduce  8 MiB   13,052   643',
    '',
    'transport  ranks  op          size      calls',
    '─────────  ─────  ─────────  ─────  ─────────',
    'shared         2  barrier        -  1,776,101',
    'clone          4  allreduce  8 MiB         35',
  ].join('\n'));
  // A table of barriers alone has no number for size and MB/s: its '-' still stand where numbers would
  assert.equal(collectivesTable(rows.slice(0, 1)).split('\n').slice(2), [
    'transport  ranks  op       size  µs/call  MB/s      calls',
    '─────────  ─────  ───────  ────  ───────  ────  ─────────',
    'shared         2  barrier     -    0.166     -  1,776,101',
  ]);
});

test('the oversubscription note names the rank counts above the cores', () => {
  assert.is(oversubscribedLine([2], 2), undefined);
  const tail = " oversubscribed (expected): they park at once when they wait (Atomics.wait: launch's choice when ranks " +
    'outnumber cores); the runs complete, but their times include waiting for a core.';
  assert.is(oversubscribedLine([2, 4, 8], 2), `Note: 4 and 8 ranks on 2 cores are${tail}`);
  assert.is(oversubscribedLine([2], 1), `Note: 2 ranks on 1 core are${tail}`);
  const waits = (strategy?: 'spin' | 'park' | 'spinThenPark') => oversubscribedLine([4], 2, strategy)!.split('(expected): ')[1]!;
  assert.is(waits(), "they park at once when they wait (Atomics.wait: launch's choice when ranks outnumber cores); " +
    'the runs complete, but their times include waiting for a core.');
  const runs = 'the runs complete, but their times include waiting for a core.';
  assert.is(waits('park'), `they park at once when they wait (Atomics.wait); ${runs}`);
  assert.is(waits('spinThenPark'), `they spin, then park, when they wait; ${runs}`);
  assert.is(waits('spin'), `they spin when they wait, holding a core the rank they wait for may need; ${runs}`);
});

/** Just enough of a Comm for checkResult: who we are, and a bcast that delivers `rootSends`. */
function fakeComm(rank: number, size: number, rootSends?: unknown): Comm {
  return { rank, size, transport: 'shared', bcast: (value: unknown) => (rank === 0 ? value : rootSends) } as unknown as Comm;
}

/** The exact sum of every rank's payload, as reduce and allreduce must return it. */
function sumOfPayloads(size: number, bytes: number): Float64Array {
  const sum = new Float64Array(bytes / 8);
  for (let rank = 0; rank < size; rank++) {
    const payload = makePayload(rank, bytes);
    for (let i = 0; i < sum.length; i++) sum[i]! += payload[i]!;
  }
  return sum;
}

test('the fresh call after the clock: a call that moved nothing, leaving the last answer in place, is caught', () => {
  const bytes = 1024;
  const size = 3;
  const into = sumOfPayloads(size, bytes); // what the timed calls left: right, for the payload they had
  const noop = () => into; // an allreduce that returns its recvbuf untouched
  assert.is(errorOf(() => checkFreshCall(fakeComm(1, size), 'allreduce', bytes, makePayload(1, bytes), noop, into)).message,
    'allreduce of 1 KiB on 3 ranks over shared: rank 1 got NaN at element 0, expected the exact sum 9');
  const stale = () => sumOfPayloads(size, bytes); // a call that delivers the answer for the old payloads
  assert.is(errorOf(() => checkFreshCall(fakeComm(1, size), 'allreduce', bytes, makePayload(1, bytes), stale, into)).message,
    'allreduce of 1 KiB on 3 ranks over shared: rank 1 got 3 at element 0, expected the exact sum 9');
  // A call that combines what it is given passes: every rank tripled its payload.
  const tripled = () => sumOfPayloads(size, bytes).map((x) => x * 3);
  checkFreshCall(fakeComm(1, size), 'allreduce', bytes, makePayload(1, bytes), tripled, into);
  checkFreshCall(fakeComm(1, size), 'barrier', 0, makePayload(1, 0), () => undefined, undefined);
});

test("the result check: exact sums and the root's checksum pass, anything else throws", () => {
  const bytes = 1024;
  const size = 3;
  const sum = sumOfPayloads(size, bytes);
  checkResult(fakeComm(2, size), 'allreduce', bytes, makePayload(2, bytes), sum);
  checkResult(fakeComm(0, size), 'reduce', bytes, makePayload(0, bytes), sum);
  checkResult(fakeComm(1, size), 'reduce', bytes, makePayload(1, bytes), undefined);
  checkResult(fakeComm(1, size), 'barrier', 0, makePayload(1, 0), undefined);

  const wrong = sum.slice();
  wrong[77]! += 0.5;
  const said = (fn: () => void) => errorOf(fn).message;
  assert.is(said(() => checkResult(fakeComm(1, size), 'allreduce', bytes, makePayload(1, bytes), wrong)),
    'allreduce of 1 KiB on 3 ranks over shared: rank 1 got 465.5 at element 77, expected the exact sum 465');
  const misplaced = sum.slice(); // a block in the wrong place: with a payload that repeated every 1,024 elements, unseen
  misplaced.copyWithin(64, 0, 64);
  assert.match(said(() => checkResult(fakeComm(1, size), 'allreduce', bytes, makePayload(1, bytes), misplaced)),
    /^allreduce of 1 KiB on 3 ranks over shared: rank 1 got 3 at element 64, expected the exact sum 387$/);
  assert.is(said(() => checkResult(fakeComm(0, size), 'reduce', bytes, makePayload(0, bytes), sum.subarray(1))),
    'reduce of 1 KiB on 3 ranks over shared: rank 0 got a Float64Array of 1016 bytes, expected a Float64Array of 128 elements');
  assert.is(said(() => checkResult(fakeComm(2, size), 'reduce', bytes, makePayload(2, bytes), sum)),
    'reduce of 1 KiB on 3 ranks over shared: rank 2 got a result, but only the root should');

  // bcast: rank 1 compares what it got with the checksum the root broadcasts (the root's own payload's).
  const root = makePayload(0, bytes);
  let rootChecksum = 0;
  checkResult({ ...fakeComm(0, size), bcast: (value: number) => { rootChecksum = value; return value; } } as unknown as Comm,
    'bcast', bytes, root, root);
  checkResult(fakeComm(1, size, rootChecksum), 'bcast', bytes, makePayload(1, bytes), root.slice());
  const swapped = root.slice(); // the checksum weighs each element by its place: swapping the first two takes 1 off
  [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  assert.is(said(() => checkResult(fakeComm(1, size, rootChecksum), 'bcast', bytes, makePayload(1, bytes), swapped)),
    `bcast of 1 KiB on 3 ranks over shared: rank 1 got checksum ${rootChecksum - 1}, the root sent ${rootChecksum}`);
  const eightApart = root.slice(); // weights that repeated every 8 elements did not see this swap
  [eightApart[3], eightApart[11]] = [eightApart[11]!, eightApart[3]!];
  const eightApartSum = rootChecksum + 8 * (root[3]! - root[11]!); // each of the two moved 8 places, weighed by its index
  assert.is.not(eightApartSum, rootChecksum);
  assert.is(said(() => checkResult(fakeComm(1, size, rootChecksum), 'bcast', bytes, makePayload(1, bytes), eightApart)),
    `bcast of 1 KiB on 3 ranks over shared: rank 1 got checksum ${eightApartSum}, the root sent ${rootChecksum}`);
});

test.run();
