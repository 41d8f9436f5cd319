import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CommAbortedError, DeadlockError, launch, map, RankFailedError, TimeoutError, type TransportName } from '../src/index.js';
import { ABORT_REASON, ControlBlock, WAIT } from '../src/control.js';
import { watchForDeadlock } from '../src/watchdog.js';
import { defaultStrategy } from '../src/launch.js';
import { syntaxErrorAt } from '../src/load.js';
import {
  exitFlag, linesPerWriter, nestedList, noWorkerLeft, pendingTimers, processWarnings, readNothingUntilExit, startedWorkers, within,
} from './helpers.js';

const PROGRAMS = new URL('./fixtures/ranks-programs.js', import.meta.url);
const TRANSPORTS: TransportName[] = ['shared', 'transfer', 'clone'];
/**
 * The deadlock watchdog's grace (deadlockMs) for runs that only wait for a deadlock to be reported, instead of the
 * default 1000 ms, which each such run waited out. What keeps a slow machine from seeing a deadlock that is none is not
 * the grace but the looks: a rank is taken as stuck only once it has looked in vain twice since any rank last moved
 * (watchdog.ts, MIN_LOOKS), so a rank with no core is never reported, whatever the grace. Used where every line of the
 * report is a rank of the deadlock or one that has finished (or a rank that has told the others it runs), so that it
 * reads the same whenever it comes; the collectives tests run their deadlocks at 300 ms too. The default grace stays
 * covered by the deadlock inside a collective below, whose rank 2 may reach its wait later than rank 1 is stuck.
 */
const GRACE_MS = 300;

async function failure(promise: Promise<unknown>): Promise<Error & { rank?: number; code?: string; cycle?: string[] }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected launch to reject');
}

for (const transport of TRANSPORTS) {
  test(`${transport}: a rank that throws: launch names it, blocked ranks wake with CommAbortedError`, async () => {
    const report = new SharedArrayBuffer(16);
    const started = performance.now();
    const err = await failure(launch(PROGRAMS, { size: 4, transport, args: { program: 'throws', report }, timeoutMs: 30_000 }));
    assert.instance(err, RankFailedError);
    assert.is(err.message, 'rank 1 failed: Error: boom in rank 1');
    assert.is(err.rank, 1);
    assert.is(err.code, 'SHMCOMM_RANK_FAILED');
    const cause = err.cause as Error;
    assert.is(cause.message, 'boom in rank 1');
    assert.match(cause.stack!, /ranks-programs/);
    // Ranks 0 and 2 were blocked in recv(1), rank 3 called it after the abort: each caught a CommAbortedError naming rank 1.
    assert.equal(Array.from(new Int32Array(report)), [1, 0, 1, 1]);
    assert.ok(performance.now() - started < 60_000);
    await noWorkerLeft('launch rejected');
  });

  test(`${transport}: ranks blocked in recvInto, send, barrier and recvView wake with CommAbortedError`, async () => {
    const report = new SharedArrayBuffer(4 * 5);
    const err = await failure(launch(PROGRAMS, { size: 5, transport, args: { program: 'throwsWhileBlocked', report }, timeoutMs: 30_000 }));
    assert.instance(err, RankFailedError);
    assert.is(err.message, 'rank 1 failed: Error: boom in rank 1');
    assert.is((err as RankFailedError).exitCode, undefined, 'a throw is no exit');
    assert.equal(Array.from(new Int32Array(report)), [1, 0, 1, 1, 1]);
  });

  test(`${transport}: a rank that calls process.exit`, async () => {
    const err = await failure(launch(PROGRAMS, { size: 3, transport, args: { program: 'exits' }, timeoutMs: 30_000 }));
    assert.instance(err, RankFailedError);
    assert.is(err.message, 'rank 2 failed: exited with code 3 before returning a result');
    assert.not.ok('cause' in err, 'an exit has no cause: none is set, not even undefined'); // as WorkerFailedError
    assert.is((err as RankFailedError).exitCode, 3);
    await noWorkerLeft('launch rejected');
  });

  test(`${transport}: a deadlock inside a collective names the call, not only the receive it waits in`, async () => {
    const err = await failure(launch(PROGRAMS, { size: 3, transport, args: { program: 'bcastWithoutRoot' }, timeoutMs: 30_000 }));
    assert.instance(err, DeadlockError);
    assert.is(err.message, 'deadlock: rank 1 waits to receive from rank 0 in bcast (rank 0 has finished); ' +
      'rank 2 waits to receive from rank 1 in allgather');
    await noWorkerLeft('a collective without its root');
  });

  test(`${transport}: a receive from any rank names the ranks that have finished`, async () => {
    const args = { program: 'anySourceAfterTheOthersReturn' };
    // Rank 0 is stuck only once no other rank may send: both have finished.
    const err = await failure(launch(PROGRAMS, { size: 3, transport, args, deadlockMs: GRACE_MS, timeoutMs: 30_000 }));
    assert.instance(err, DeadlockError);
    assert.is(err.message, 'deadlock: rank 0 waits to receive from any rank (ranks 1, 2 have finished)');
    await noWorkerLeft('a receive from any rank');
  });

  test(`${transport}: a rank that skips a bcast pairs its next one with the call it skipped, as in MPI`, async () => {
    const results = await launch(PROGRAMS, { size: 2, transport, args: { program: 'skipsABcast' }, timeoutMs: 30_000 });
    assert.equal(results, [['first', 'second'], 'first']);
  });

  test(`${transport}: a rank that exits with an error code after returning its result, while the run goes on`, async () => {
    // Before, the exit was ignored, and launch resolved 30 s later as if nothing had happened.
    const err = await failure(launch(PROGRAMS, { size: 2, transport, args: { program: 'exitsAfterReturning' }, timeoutMs: 20_000 }));
    assert.instance(err, RankFailedError);
    assert.is(err.message, 'rank 1 failed: exited with code 7 (after returning its result)');
    assert.is((err as RankFailedError).exitCode, 7);
    await noWorkerLeft('an exit after returning');
  });

  test(`${transport}: after a failure, a rank that returns ends the wait for it, though its worker stays alive`, async () => {
    const thrownAt = new SharedArrayBuffer(8);
    const err = await failure(launch(PROGRAMS, { size: 2, transport, args: { program: 'returnsLeavingATimer', thrownAt }, timeoutMs: 30_000 }));
    const settledAfter = performance.timeOrigin + performance.now() - new Float64Array(thrownAt)[0]!;
    assert.is(err.message, 'rank 1 failed: Error: rank 1 fails at once');
    // Rank 0 returns once launch has the failure (it waits to receive until the run is aborted). Before, launch waited
    // for its worker to exit, which its interval prevented, and settled only at the end of the 1 s it gives ranks to
    // finish: 1000 ms after the throw at the least, since that second starts once the throw has reached launch. The
    // bound sits just under that floor, which no slow machine lowers, to leave a loaded one all it can for the way
    // from the throw to launch, to rank 0 and back (it was 800; 10 to 60 ms is usual, and under four busy loops on two
    // cores the slowest of 30 was 390 ms; with the wait for the exit put back, 1015 ms and more). No bound but a time
    // tells the two apart without a hand on launch's clock. Rank 0 used to return 100 ms after it started: on a loaded
    // machine, at times before the failure reached launch, which then had no rank to wait for, and this passed with
    // the wait for the exit put back (3 of 18 runs).
    assert.ok(settledAfter < 950, `settled ${settledAfter.toFixed(0)} ms after the throw`);
    await noWorkerLeft('a worker kept alive by a timer');
  });

  test(`${transport}: deadlock, both ranks receive first, whatever the wait strategy (spin never parks)`, async () => {
    for (const strategy of ['spinThenPark', 'spin', 'park'] as const) {
      const err = await failure(launch(PROGRAMS, {
        size: 2, transport, strategy, args: { program: 'recvRecv' }, deadlockMs: GRACE_MS, timeoutMs: 30_000,
      }));
      assert.instance(err, DeadlockError, strategy);
      assert.is(err.message, 'deadlock: rank 0 waits to receive from rank 1; rank 1 waits to receive from rank 0', strategy);
      assert.equal(err.cycle, ['rank 0 waits to receive from rank 1', 'rank 1 waits to receive from rank 0'], strategy);
      await noWorkerLeft(`a deadlock (${strategy})`);
    }
  });

  test(`${transport}: a deadlock report says with which tag a rank receives, where it asked for one`, async () => {
    // Before, ranks that sent each other messages of other tags read as if nothing had been sent.
    for (const call of ['recv', 'recvInto', 'recvView'] as const) {
      const args = { program: 'tagMismatch', call };
      const err = await failure(launch(PROGRAMS, { size: 2, transport, args, deadlockMs: GRACE_MS, timeoutMs: 30_000 }));
      assert.instance(err, DeadlockError, call);
      assert.is(err.message, 'deadlock: rank 0 waits to receive from rank 1 with tag 5; ' +
        'rank 1 waits to receive from rank 0 with tag 2', call);
    }
    // A collective's wait after a receive of one tag names the call, not that tag.
    const args = { program: 'tagMismatch', call: 'recv', thenBcast: true };
    const err = await failure(launch(PROGRAMS, { size: 2, transport, args, deadlockMs: GRACE_MS, timeoutMs: 30_000 }));
    assert.is(err.message, 'deadlock: rank 0 waits to receive from rank 1 with tag 5; ' +
      'rank 1 waits to receive from rank 0 in bcast');
    await noWorkerLeft('a deadlock of tags');
  });

  test(`${transport}: a deadlock report says which channel a receive from any rank passes over for a view held`, async () => {
    // Before, 'rank 0 waits to receive from any rank' while rank 1's message sat behind the view rank 0 held.
    const err = await failure(launch(PROGRAMS, {
      size: 2, transport, args: { program: 'anyPastView' }, deadlockMs: GRACE_MS, timeoutMs: 30_000,
    }));
    assert.instance(err, DeadlockError);
    // Elsewhere recvView is recv: rank 0 takes both messages and finishes
    assert.is(err.message, transport === 'shared'
      ? 'deadlock: rank 0 waits to receive from any rank (not from rank 1, whose message it holds as a view: release() ' +
        'it first); rank 1 waits to receive from rank 0'
      : 'deadlock: rank 1 waits to receive from rank 0 (rank 0 has finished)');
    await noWorkerLeft('a deadlock behind a view');
  });

  test(`${transport}: a deadlock report says why a send to a rank that holds a view finds the channel full`, async () => {
    // Before, 'rank 1 waits to send to rank 0 (channel full)', beside rank 0's barrier, and no word of the view
    const launched = launch(PROGRAMS, {
      size: 2, transport, args: { program: 'sendPastView' }, ringBytes: 16384, deadlockMs: GRACE_MS, timeoutMs: 30_000,
    });
    if (transport !== 'shared') { // no ring to fill: every send returns, and recvView is recv
      assert.equal(await launched, [0, 1]);
      return;
    }
    const err = await failure(launched);
    assert.instance(err, DeadlockError);
    assert.is(err.message, 'deadlock: rank 0 waits in barrier; rank 1 waits to send to rank 0 (channel full; rank 0 ' +
      "holds a view of rank 1's message: release() it first)");
    await noWorkerLeft('a send behind a view');
  });

  test(`${transport}: a rank waits for one that has finished`, async () => {
    const err = await failure(launch(PROGRAMS, { size: 2, transport, args: { program: 'peerFinished' }, deadlockMs: GRACE_MS, timeoutMs: 30_000 }));
    assert.instance(err, DeadlockError);
    assert.is(err.message, 'deadlock: rank 0 waits to receive from rank 1 (rank 1 has finished)');
  });
}

test('a deadlock among some ranks is reported while another keeps running (it used to wait for that one)', async () => {
  const cases = [
    ['cycle', 'deadlock: rank 0 waits to receive from rank 1 with tag 0; rank 1 waits to receive from rank 0 with tag 0; ' +
      'rank 2 is running'],
    ['finished', 'deadlock: rank 0 waits to receive from rank 1 (rank 1 has finished); rank 2 is running'],
    ['barrier', 'deadlock: rank 0 waits in barrier (rank 1 has finished without it); rank 2 is running'],
  ] as const;
  for (const [stuck, message] of cases) {
    // A long timeout: only the watchdog can end these runs in time, the running rank never stops on its own. GRACE_MS:
    // rank 2 has told the others it runs before they get stuck, so that the report finds it running.
    const args = { program: 'partlyStuck', stuck, stopped: new SharedArrayBuffer(4) };
    const err = await failure(launch(PROGRAMS, { size: 3, args, deadlockMs: GRACE_MS, timeoutMs: 60_000 }));
    assert.instance(err, DeadlockError, stuck);
    assert.is(err.message, message, stuck);
    await noWorkerLeft(`a partial deadlock (${stuck})`);
  }
  // Each rank is timed on its own: a cycle is reported while others keep moving. Before, a rank in a barrier that
  // another waited on was never reported while a third ran; on 'clone' each message of another tag to a rank in the
  // cycle counted as its progress; and two ranks busy with each other, caught waiting now and then, restarted the
  // watchdog's count for as long as they went on.
  const cycle = 'deadlock: rank 0 waits to receive from rank 1 with tag 0; rank 1 waits to receive from rank 0 with tag 0';
  const more = [
    ['barrierCycle', 'shared', 3, 'deadlock: rank 0 waits in barrier; rank 1 waits to receive from rank 0; rank 2 is running'],
    ['sentTo', 'clone', 3, `${cycle}; rank 2 is running`],
    ['busyOthers', 'shared', 4, `${cycle}; rank 2 is running; rank 3 is running`],
    ['busyOthers', 'clone', 4, `${cycle}; rank 2 is running; rank 3 is running`],
  ] as const;
  for (const [stuck, transport, size, message] of more) {
    const args = { program: 'partlyStuck', stuck, stopped: new SharedArrayBuffer(4) };
    const err = await failure(launch(PROGRAMS, { size, transport, args, deadlockMs: GRACE_MS, timeoutMs: 60_000 }));
    assert.instance(err, DeadlockError, `${stuck} on ${transport}: ${String(err)}`);
    assert.is(err.message, message, `${stuck} on ${transport}`);
    await noWorkerLeft(`a partial deadlock (${stuck})`);
  }
});

test('a rank that throws from a timer after returning its result fails the run, and says so', async () => {
  const err = await failure(launch(PROGRAMS, { size: 2, args: { program: 'throwsAfterReturning' }, timeoutMs: 30_000 }));
  assert.instance(err, RankFailedError);
  assert.is(err.message, 'rank 1 failed: Error: late (after returning its result)');
  await noWorkerLeft('a late throw');
});

test('the watchdog reports a rank waiting on a finished one only once it has looked twice since the finish: a rank with no core is not stuck', async () => {
  const control = ControlBlock.create(2);
  const finished = [false, false];
  const timers: NodeJS.Timeout[] = [];
  const reports: string[][] = [];
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    watchForDeadlock(control, finished, 50, timers, (cycle) => reports.push(cycle));
    control.setWaiting(0, WAIT.recv, 1); // rank 0 waits for rank 1, and looks three times in vain
    for (let i = 0; i < 3; i++) control.markLooked(0);
    await pause(300);
    finished[1] = true; // rank 1 finishes: the message rank 0 waits for may be on its way
    control.markLooked(0); // counted before the watchdog's next look: it may be of a look made before the finish
    await pause(600); // many times graceMs, but no look since: rank 0 may have had no core
    assert.equal(reports, []);
    control.markLooked(0);
    control.markLooked(0); // two looks after the finish, in vain: stuck
    for (let waited = 0; reports.length === 0 && waited < 5000; waited += 50) await pause(50);
    assert.equal(reports, [['rank 0 waits to receive from rank 1 (rank 1 has finished)']]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
});

test('the watchdog counts looks only from the last move of any rank: one that sent, then began to wait, may have woken the other', async () => {
  const control = ControlBlock.create(2);
  const timers: NodeJS.Timeout[] = [];
  const reports: string[][] = [];
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    watchForDeadlock(control, [false, false], 50, timers, (cycle) => reports.push(cycle));
    control.setWaiting(0, WAIT.recv, 1); // rank 0 waits for rank 1 and looks in vain, while rank 1 runs
    for (let i = 0; i < 4; i++) control.markLooked(0);
    await pause(300);
    control.setWaiting(1, WAIT.recv, 0); // rank 1 sent to rank 0, then began to wait for it
    for (let i = 0; i < 4; i++) control.markLooked(1);
    await pause(600); // rank 0, woken, has had no core: no look since rank 1 moved
    assert.equal(reports, []);
    for (let i = 0; i < 2; i++) for (const rank of [0, 1]) control.markLooked(rank); // both look in vain: stuck
    for (let waited = 0; reports.length === 0 && waited < 5000; waited += 50) await pause(50);
    assert.equal(reports, [['rank 0 waits to receive from rank 1', 'rank 1 waits to receive from rank 0']]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
});

test('the watchdog counts looks across the wrap of their Int32 counter', async () => {
  // A rank woken by other ranks' messages counts a look at each wake, so its count may reach 2^31 - 1 and wrap. Before,
  // the looks since the last move were a plain difference, about -2^32 across the wrap: the deadlock went unreported.
  const control = ControlBlock.create(2);
  const timers: NodeJS.Timeout[] = [];
  const reports: string[][] = [];
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    const looksOfRank0 = (9 + 0) * 16 + 9; // control.ts: FIRST_RANK_LINE, SLOTS_PER_LINE, LOOKS
    Atomics.store(new Int32Array(control.buffer), looksOfRank0, 2 ** 31 - 1);
    assert.is(control.waitingOf(0).looks, 2 ** 31 - 1);
    watchForDeadlock(control, [false, false], 50, timers, (cycle) => reports.push(cycle));
    control.setWaiting(0, WAIT.recv, 1);
    control.setWaiting(1, WAIT.recv, 0);
    await pause(300); // the watchdog has seen both begin to wait
    for (let i = 0; i < 2; i++) for (const rank of [0, 1]) control.markLooked(rank); // both look in vain: stuck
    assert.is(control.waitingOf(0).looks, -(2 ** 31) + 1);
    for (let waited = 0; reports.length === 0 && waited < 5000; waited += 50) {
      await pause(50);
      for (const rank of [0, 1]) control.markLooked(rank); // and go on looking: a loaded machine may delay the watchdog
    }
    assert.equal(reports, [['rank 0 waits to receive from rank 1', 'rank 1 waits to receive from rank 0']]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
});

test('a DeadlockError says that ranks caught in passing waits beside the cycle are running, and describes those that wait on it', async () => {
  // Ranks 0 and 1 wait for each other. Ranks 2 and 3 exchange messages: each begins a new wait for the other every 10
  // ms, as a pair streaming is caught waiting now and then. Rank 4 keeps beginning waits for rank 0 (stuck), and rank 5
  // for rank 4: they will be stuck too, so their waits are what the report says. Before, the report named ranks 2 and 3
  // as waiting for each other, as if they were in the deadlock.
  const control = ControlBlock.create(6);
  const timers: NodeJS.Timeout[] = [];
  const reports: string[][] = [];
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const passing = [[2, 3], [3, 2], [4, 0], [5, 4]] as const;
  try {
    for (let rank = 0; rank < 6; rank++) control.markStarted(rank);
    control.setWaiting(0, WAIT.recv, 1);
    control.setWaiting(1, WAIT.recv, 0);
    const moves = setInterval(() => { // one step: the watchdog's look never comes between a wait's end and the next
      for (const [rank, peer] of passing) {
        control.setWaiting(rank, WAIT.none, peer);
        control.setWaiting(rank, WAIT.recv, peer);
      }
      control.markLooked(0);
      control.markLooked(1);
    }, 10);
    timers.push(moves);
    watchForDeadlock(control, [false, false, false, false, false, false], 200, timers, (cycle) => reports.push(cycle));
    for (let waited = 0; reports.length === 0 && waited < 10_000; waited += 50) await pause(50);
    assert.equal(reports, [[
      'rank 0 waits to receive from rank 1', 'rank 1 waits to receive from rank 0', 'rank 2 is running',
      'rank 3 is running', 'rank 4 waits to receive from rank 0', 'rank 5 waits to receive from rank 4',
    ]]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
});

test('a deadlock is reported while a third rank keeps waking one of the two with messages, on every transport', async () => {
  // Ranks 0 and 1 wait for each other; rank 2 sends rank 0 a message every 10 ms for 20 s. Each message wakes rank 0
  // from its doorbell on clone and transfer (the looks then come from the wakes). Rank 2 first tells the two that it
  // runs (tag 9), and they take that before they get stuck: the report, whenever it comes (GRACE_MS), finds it running.
  // It stops once the abort that follows the report has woken rank 0 or 1 (they set the flag in `args`); before, launch gave it
  // the second it gives ranks to notice an abort, and then terminated it.
  const program = `export default (comm, stopped) => {
    const flag = new Int32Array(stopped);
    if (comm.rank < 2) {
      try {
        comm.recv(2, 9);
        return comm.recv(1 - comm.rank, 0);
      } catch (err) {
        Atomics.store(flag, 0, 1);
        throw err;
      }
    }
    comm.send(0, 'running', 9);
    comm.send(1, 'running', 9);
    const end = performance.now() + 20000;
    for (let next = 0; performance.now() < end && Atomics.load(flag, 0) === 0; ) {
      if (performance.now() >= next) { comm.send(0, 1, 5); next = performance.now() + 10; }
    }
  }`;
  for (const transport of ['shared', 'clone', 'transfer'] as const) {
    for (const strategy of ['spin', 'spinThenPark'] as const) {
      const err = await failure(launch(`data:text/javascript,${encodeURIComponent(program)}`, {
        size: 3, transport, strategy, args: new SharedArrayBuffer(4), deadlockMs: GRACE_MS, timeoutMs: 15_000,
      }));
      assert.instance(err, DeadlockError, `${transport} ${strategy}: ${err.message}`);
      assert.is(err.message, 'deadlock: rank 0 waits to receive from rank 1 with tag 0; ' +
        'rank 1 waits to receive from rank 0 with tag 0; rank 2 is running');
    }
  }
  await noWorkerLeft('a deadlock beside a busy sender');
});

test("what an aborted rank's CommAbortedError says, for each reason the launcher aborts", () => {
  const said = (reason: number, failedRank?: number): string => {
    const control = ControlBlock.create(2);
    control.abort(reason, failedRank);
    return control.abortError().message;
  };
  assert.is(said(ABORT_REASON.rankFailed, 1), 'aborted because rank 1 failed: it threw or exited');
  assert.is(said(ABORT_REASON.timeout), 'aborted: the launch timed out');
  assert.is(said(ABORT_REASON.deadlock), 'aborted: a deadlock was detected');
  assert.is(said(ABORT_REASON.startFailed), "aborted: a rank's worker could not be started");
  assert.is(said(ABORT_REASON.cancelled), 'aborted: the launch was cancelled (its AbortSignal)');
});

test('a rank whose promise, or import, can never settle is named as such (Node exits its worker with code 13), and an exit(13) as an exit', async () => {
  const err = await failure(launch(PROGRAMS, { size: 2, args: { program: 'neverSettles' }, timeoutMs: 30_000 }));
  assert.instance(err, RankFailedError);
  assert.is(err.message, "rank 1 failed: its program's promise never settled (nothing was left that could settle it; exit code 13)");
  assert.is((err as RankFailedError).exitCode, 13);
  // A top-level await that never settles: the program is never called.
  const stuck = await failure(launch('data:text/javascript,await new Promise(() => {}); export default () => 1', { size: 1, timeoutMs: 30_000 }));
  assert.is(stuck.message,
    'rank 0 failed: the import of its program (a top-level await) never settled (nothing was left that could settle it; exit code 13)');
  // The program's own process.exit(13) is an exit like any other (its 'exit' event carries the 13; Node's, a 0).
  const exits = await failure(launch('data:text/javascript,export default () => process.exit(13)', { size: 1, timeoutMs: 30_000 }));
  assert.is(exits.message, 'rank 0 failed: exited with code 13 before returning a result');
  assert.is((exits as RankFailedError).exitCode, 13);
  await noWorkerLeft('promises that never settled');
  // Nothing else on stderr: Node 24 printed `Warning: Detected unsettled top-level await` at a line of shmcomm's own.
  const index = new URL('../src/index.js', import.meta.url).href;
  const script = `import { launch } from '${index}';
    console.log(await launch('${PROGRAMS.href}', { size: 2, args: { program: 'neverSettles' } }).catch((err) => err.message));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(child.stdout, `${err.message}\n`, child.stderr);
  assert.is(child.stderr, '');
});

test("a worker whose module fails to load fails with that module's error, not as a promise that never settled", async () => {
  // rank.js and pool-worker.js catch what a program throws: only a load of their own can fail (a loader hook, a broken
  // install). Stood in for by a rank.js beside a copy of worker-entry.js; under --unhandled-rejections=warn, which a
  // worker takes from its parent, a rejection that nothing handles throws nothing, and the worker exited with code 13.
  const folder = mkdtempSync(join(tmpdir(), 'shmcomm-entry-'));
  let worker: Worker | undefined;
  try {
    writeFileSync(join(folder, 'worker-entry.js'), readFileSync(new URL('../src/worker-entry.js', import.meta.url)));
    writeFileSync(join(folder, 'rank.js'), "await null;\nthrow new Error('rank.js failed to load');\n");
    worker = new Worker(join(folder, 'worker-entry.js'), {
      workerData: { entry: 'rank', sourceMaps: false }, execArgv: ['--unhandled-rejections=warn'], stderr: true,
    });
    let error: Error | undefined;
    worker.on('error', (err) => { error = err; });
    const exited = new Promise((resolve) => worker!.on('exit', resolve));
    const code = await within(exited, 30_000, 'the worker whose rank.js fails to load: its exit'); // were it to hang
    assert.is(error?.message, 'rank.js failed to load');
    assert.is(code, 1);
  } finally {
    await worker?.terminate();
    rmSync(folder, { recursive: true, force: true });
  }
});

test('shared: deadlock, both ranks send 64 MiB first', async () => {
  const err = await failure(launch(PROGRAMS, { size: 2, args: { program: 'sendSend' }, deadlockMs: GRACE_MS, timeoutMs: 30_000 }));
  assert.instance(err, DeadlockError);
  assert.is(err.message, 'deadlock: rank 0 waits to send to rank 1 (channel full); rank 1 waits to send to rank 0 (channel full)');
});

test('timeoutMs stops a rank that computes for ever and says what each rank was doing', async () => {
  const started = performance.now();
  // 3 s: time enough, even on a loaded machine, for rank 1 to start and block in recv while rank 0 spins.
  const err = await failure(launch(PROGRAMS, { size: 2, args: { program: 'spins' }, timeoutMs: 3000 }));
  assert.instance(err, TimeoutError);
  assert.is(err.message, 'launch timed out after 3000 ms: rank 0 is running; rank 1 waits to receive from rank 0');
  assert.ok(performance.now() - started < 20_000, 'terminated, not left spinning');
  await noWorkerLeft('a timeout');
});

test("signal: an abort stops every rank and rejects with the signal's reason; one aborted already starts none", async () => {
  const before = startedWorkers();
  const early = new AbortController();
  early.abort(new Error('not now'));
  const refused = await failure(launch(PROGRAMS, { size: 2, args: { program: 'spins' }, signal: early.signal }));
  assert.is(refused.message, 'not now');
  assert.is(startedWorkers(), before);
  const bad = await failure(launch(PROGRAMS, { size: 2, signal: {} as AbortSignal }));
  assert.is(bad.message, 'Expected `signal` to be an AbortSignal (new AbortController().signal), got an object');
  // Rank 0 spins for ever and rank 1 waits for it: only the abort ends the run.
  for (const reason of [undefined, new RangeError('enough')]) {
    const controller = new AbortController();
    const run = failure(launch(PROGRAMS, { size: 2, args: { program: 'spins' }, signal: controller.signal, timeoutMs: 60_000 }));
    setTimeout(() => controller.abort(reason), 300);
    const err = await run;
    if (reason === undefined) {
      assert.is(err.name, 'AbortError');
      assert.instance(err, DOMException);
    } else {
      assert.is(err, reason);
    }
    await noWorkerLeft('the launch was cancelled');
  }
});

test('a launch leaves no timer behind once it settles: one that returned, failed, timed out or deadlocked', async () => {
  const timers = pendingTimers();
  try {
    const got = await launch<{ rank: number }>(PROGRAMS, { size: 2, args: { program: 'identity' } });
    assert.equal(got.map(({ rank }) => rank), [0, 1]);
    assert.is(await timers.pending(), 0, 'after a launch that returned');
    assert.is((await failure(launch(PROGRAMS, { size: 2, args: { program: 'sendsToNoRank' } }))).name, 'RankFailedError');
    assert.is(await timers.pending(), 0, 'after a rank threw');
    const timedOut = await failure(launch(PROGRAMS, { size: 2, args: { program: 'spins' }, timeoutMs: 300 }));
    assert.instance(timedOut, TimeoutError);
    assert.is(await timers.pending(), 0, 'after a timeout');
    const deadlocked = await failure(launch(PROGRAMS, { size: 2, args: { program: 'recvRecv' }, deadlockMs: GRACE_MS }));
    assert.instance(deadlocked, DeadlockError);
    assert.is(await timers.pending(), 0, 'after a deadlock');
  } finally {
    timers.stop();
  }
  await noWorkerLeft('launches that left no timer');
});

test('launches running at once on one signal add one abort listener to it, gone once they end: Node warns of none', async () => {
  const warnings = processWarnings();
  try {
    // 12 at once, beyond Node's 10 listeners of one event: a server's shutdown signal, given to every launch it starts
    const { signal } = new AbortController();
    const programs = ['identity', 'sendsToNoRank'];
    const runs = Array.from({ length: 12 }, (_, i) => launch(PROGRAMS, { size: 1, args: { program: programs[i % 2] }, signal }));
    const settled = Promise.allSettled(runs);
    assert.is(getEventListeners(signal, 'abort').length, 1);
    const outcomes = await settled;
    assert.equal(outcomes.map((outcome) => outcome.status), runs.map((_, i) => (i % 2 === 0 ? 'fulfilled' : 'rejected')));
    assert.is(getEventListeners(signal, 'abort').length, 0);
    assert.equal(await warnings.seen(), []);
    // The signal still cancels the next launch on it
    const controller = new AbortController();
    const first = launch(PROGRAMS, { size: 1, args: { program: 'identity' }, signal: controller.signal });
    const spinning = failure(launch(PROGRAMS, { size: 2, args: { program: 'spins' }, signal: controller.signal }));
    assert.equal(await first, [{ rank: 0, size: 1, transport: 'shared', strategy: 'spinThenPark', args: undefined }]);
    assert.is(getEventListeners(controller.signal, 'abort').length, 1);
    setTimeout(() => controller.abort(new Error('shutting down')), 300);
    assert.is((await spinning).message, 'shutting down');
    assert.is(getEventListeners(controller.signal, 'abort').length, 0);
  } finally {
    warnings.stop();
  }
  await noWorkerLeft('launches on one signal');
});

test('timeoutMs before the ranks called their program says they are starting, not running', async () => {
  const slow = new URL('./fixtures/ranks-slow-import.js', import.meta.url);
  const err = await failure(launch(slow, { size: 2, timeoutMs: 1500 }));
  assert.instance(err, TimeoutError);
  const starting = (rank: number) => `rank ${rank} is starting (its worker, or the import of its program)`;
  assert.is(err.message, `launch timed out after 1500 ms: ${starting(0)}; ${starting(1)}`);
  await noWorkerLeft('a timeout in the import');
});

test('deadlockMs: a shorter grace still reports the cycle; 0 turns the watchdog off, and only timeoutMs ends it', async () => {
  const quick = await failure(launch(PROGRAMS, { size: 2, deadlockMs: 200, args: { program: 'recvRecv' }, timeoutMs: 30_000 }));
  assert.instance(quick, DeadlockError);
  assert.is(quick.message, 'deadlock: rank 0 waits to receive from rank 1; rank 1 waits to receive from rank 0');
  const off = await failure(launch(PROGRAMS, { size: 2, deadlockMs: 0, args: { program: 'recvRecv' }, timeoutMs: 2500 }));
  assert.instance(off, TimeoutError);
  assert.is(off.message, 'launch timed out after 2500 ms: rank 0 waits to receive from rank 1; rank 1 waits to receive from rank 0');
  await noWorkerLeft('the watchdog was off');
});

test('a module that is missing, fails to load, or has no default export', async () => {
  // A file that is not there is named before any rank starts (each rank's import failed alike, blaming shmcomm's loader).
  const nowhere = new URL('./fixtures/no-such-module.js', import.meta.url);
  const before = startedWorkers();
  let err = await failure(launch(nowhere, { size: 2, timeoutMs: 30_000 }));
  assert.is(err.message, `Expected \`moduleUrl\` to name a file, got "${nowhere.href}": there is none`);
  assert.is((err as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  const folder = new URL('./fixtures/', import.meta.url);
  err = await failure(launch(folder, { size: 2, timeoutMs: 30_000 }));
  assert.is(err.message, `Expected \`moduleUrl\` to name a file, got "${folder.href}": it is not a file`);
  const through = pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), 'launch.test.js', 'program.mjs'));
  err = await failure(launch(through, { size: 2, timeoutMs: 30_000 })); // a path through a file: stat's ENOTDIR
  assert.match(err.message, /: it cannot be read \(ENOTDIR: not a directory/);
  assert.is((err as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  err = await failure(launch('file://elsewhere/program.mjs', { size: 2, timeoutMs: 30_000 }));
  assert.match(err.message, /^Expected `moduleUrl` to be a file: URL of a path here, got "file:\/\/elsewhere\/program\.mjs": /);
  assert.is(startedWorkers(), before);
  // One the program imports is the rank's failure, as the program's own
  const importer = mkdtempSync(join(tmpdir(), 'shmcomm-importer-'));
  try {
    writeFileSync(join(importer, 'main.mjs'), "import './absent.mjs';\nexport default () => 1;\n");
    err = await failure(launch(pathToFileURL(join(importer, 'main.mjs')), { size: 1, timeoutMs: 30_000 }));
    assert.instance(err, RankFailedError);
    assert.match(err.message, /^rank 0 failed: Error: Cannot find module '.*absent\.mjs' imported from .*main\.mjs/);
  } finally {
    rmSync(importer, { recursive: true, force: true });
  }
  err = await failure(launch(new URL('./fixtures/ranks-load-error.js', import.meta.url), { size: 2, timeoutMs: 30_000 }));
  assert.match(err.message, /^rank [01] failed: Error: cannot load this module$/);
  err = await failure(launch(new URL('./fixtures/ranks-no-default.js', import.meta.url), { size: 1, timeoutMs: 30_000 }));
  assert.match(err.message, /^rank 0 failed: TypeError: file:.*ranks-no-default\.js has no default export, where a rank runs `export default function main\(comm\) \{\.\.\.\}`$/);
  // `export function main` where `export default` was meant: the functions it exports by name are named
  const named = 'data:text/javascript,export function main(comm) { return comm.rank; } export const helper = () => 1;';
  err = await failure(launch(named, { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, `rank 0 failed: TypeError: ${named} has no default export (it exports helper, main by name), ` +
    'where a rank runs `export default function main(comm) {...}`');
  // TypeScript, where this Node runs none (Node 20; 22.6 and later may strip the types): what to do, in launch and map.
  if (!(process.features as { typescript?: unknown }).typescript) {
    const typed = mkdtempSync(join(tmpdir(), 'shmcomm-typed-'));
    try {
      const file = join(typed, 'main.ts');
      writeFileSync(file, 'export default function main(): number {\n  return 1;\n}\n');
      const advice = `Unknown file extension ".ts" for ${file}: Node ${process.version} runs TypeScript only with type ` +
        'stripping (from Node 22.6; on by default from 22.18 and 23.6): compile the file with tsc and pass the .js (README, "A first program")';
      err = await failure(launch(pathToFileURL(file), { size: 2, timeoutMs: 30_000 }));
      assert.match(err.message, /^rank [01] failed: TypeError: /);
      assert.is(err.message.replace(/^rank [01] failed: TypeError: /, ''), advice);
      err = await failure(map(file, [1], { timeoutMs: 30_000 }));
      assert.is(err.message, `could not load module ${pathToFileURL(file).href}: ${advice}`);
      assert.is((err.cause as { code?: string }).code, 'ERR_UNKNOWN_FILE_EXTENSION');
    } finally {
      rmSync(typed, { recursive: true, force: true });
    }
  }
  err = await failure(launch('data:text/javascript,export default 42', { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, 'rank 0 failed: TypeError: data:text/javascript,export default 42 has a default export of a number, ' +
    'where a rank runs `export default function main(comm) {...}`');
  // A class is a function only `new` may call: refused by name, not with V8's "cannot be invoked without 'new'"
  const aClass = 'data:text/javascript,export default class Main {}';
  err = await failure(launch(aClass, { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, `rank 0 failed: TypeError: ${aClass} has a default export of a class (named Main), ` +
    'where a rank runs `export default function main(comm) {...}`');
  // TypeScript's CommonJS: `exports.default`, which import() gives inside the default export, as the whole exports
  const compiled = mkdtempSync(join(tmpdir(), 'shmcomm-cjs-'));
  try {
    const file = join(compiled, 'main.cjs');
    writeFileSync(file, '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n' +
      'exports.tenfold = void 0;\nconst tenfold = (x) => x * 10;\nexports.tenfold = tenfold;\n' +
      'function main(comm) {\n    return (0, exports.tenfold)(comm.rank + 1);\n}\nexports.default = main;\n');
    assert.equal(await launch(pathToFileURL(file), { size: 2, timeoutMs: 30_000 }), [10, 20]);
    assert.equal((await map(file, [1, 2], { exportName: 'tenfold', timeoutMs: 30_000 })).results, [10, 20]);
    // Without exports.default it has no default export, as a bundler reads it: what tsc writes for `export function
    // main` is told so, as the ES module is (before, 'has a default export of an object': the whole exports)
    writeFileSync(file, '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n' +
      'exports.main = main;\nexports.other = 1;\nfunction main(comm) {\n    return comm.rank;\n}\n');
    err = await failure(launch(pathToFileURL(file), { size: 1, timeoutMs: 30_000 }));
    assert.is(err.message, `rank 0 failed: TypeError: ${pathToFileURL(file).href} has no default export (it exports ` +
      'main by name), where a rank runs `export default function main(comm) {...}`');
    err = await failure(map(file, [1], { timeoutMs: 30_000 }));
    assert.is(err.message, `module ${pathToFileURL(file).href} has no export "default" (a function); it exports main ` +
      "by name (map's `exportName` option names the one to call)");
  } finally {
    rmSync(compiled, { recursive: true, force: true });
  }
  // A syntax error says where it is (import() alone says "Unexpected token ';'" and no more), in launch and in map.
  const dir = mkdtempSync(join(tmpdir(), 'shmcomm-syntax-'));
  try {
    const typo = join(dir, 'typo.mjs');
    writeFileSync(typo, 'export default function main() {\n  return 1 +;\n}\n');
    err = await failure(launch(pathToFileURL(typo), { size: 2, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank [01] failed: SyntaxError: Unexpected token ';' \(at .*typo\.mjs:2: return 1 \+;\)$/);
    err = await failure(map(pathToFileURL(typo), [1], { exportName: 'default', timeoutMs: 30_000 }));
    assert.match(err.message, /^could not load module file:.*typo\.mjs: Unexpected token ';' \(at .*typo\.mjs:2: return 1 \+;\)$/);
    // In a module that the program imports: --check finds nothing in the program itself, and the message says so.
    writeFileSync(join(dir, 'imports-typo.mjs'), "import main from './typo.mjs';\nexport default main;\n");
    err = await failure(launch(pathToFileURL(join(dir, 'imports-typo.mjs')), { size: 1, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank 0 failed: SyntaxError: Unexpected token ';' \(node --check finds no mistake in .*imports-typo\.mjs itself\)$/);
    // CommonJS, on 8 ranks: the launching thread runs one check for all of them (each rank ran its own before).
    const cjs = join(dir, 'typo.cjs');
    writeFileSync(cjs, 'module.exports = function main() {\n  return 1 +;\n};\n');
    err = await failure(launch(pathToFileURL(cjs), { size: 8, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank \d failed: SyntaxError: Unexpected token ';' \(at .*typo\.cjs:2: return 1 \+;\)$/, err.message);
    // A .js file in a package without "type", with module syntax and a mistake: Node 20.20's --check passes it (it
    // parses as no CommonJS, and Node then skips the module parse); checked as a module, it says where. Where Node
    // does not detect module syntax (before 20.19), such a file is CommonJS, with the hint of the test below.
    const typeless = join(dir, 'typeless');
    const inNodeModules = join(dir, 'app', 'node_modules', 'pkg');
    for (const folder of [typeless, inNodeModules]) {
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'package.json'), '{}\n');
      writeFileSync(join(folder, 'typo.js'), 'export default function main() {\n  return 1 +;\n}\n');
      writeFileSync(join(folder, 'fine.js'), 'export default 1;\n');
    }
    const detects = await import(pathToFileURL(join(typeless, 'fine.js')).href).then(() => true, () => false);
    for (const folder of detects ? [typeless, inNodeModules] : []) { // under node_modules no flag sets the type
      err = await failure(launch(pathToFileURL(join(folder, 'typo.js')), { size: 1, timeoutMs: 30_000 }));
      assert.match(err.message, /^rank 0 failed: SyntaxError: Unexpected token ';' \(at .*typo\.js:2: return 1 \+;\)$/);
    }
    // ... one that only imports it is still found to have no mistake of its own,
    writeFileSync(join(typeless, 'imports-typo.js'), "import main from './typo.js';\nexport default main;\n");
    err = await failure(launch(pathToFileURL(join(typeless, 'imports-typo.js')), { size: 1, timeoutMs: 30_000 }));
    assert.match(err.message, /^rank 0 failed: SyntaxError: Unexpected token ';' \(node --check finds no mistake in /);
    assert.match(err.message, /typeless\/imports-typo\.js itself\)$/);
    // ... and a CommonJS file with a top-level return (no module's syntax) keeps --check's answer.
    const script = join(typeless, 'returns.js');
    writeFileSync(script, 'if (require) return;\nmodule.exports = 1;\n');
    assert.is(syntaxErrorAt(pathToFileURL(script).href), ` (node --check finds no mistake in ${script} itself)`);
    // A minified file: its one line is not pasted whole into the message, only 80 characters of it.
    const minified = join(dir, 'minified.mjs');
    const source = `export default function main() { const a = [${'1,'.repeat(30_000)}]; return 1 +; }`;
    writeFileSync(minified, `${source}\n`);
    err = await failure(launch(pathToFileURL(minified), { size: 1, timeoutMs: 30_000 }));
    const located = /^rank 0 failed: SyntaxError: Unexpected token ';' \(at .*minified\.mjs:1: (.*)\)$/;
    const shown = located.exec(err.message)?.[1];
    assert.ok(shown !== undefined, err.message.slice(0, 300));
    assert.ok(shown.replaceAll('…', '').length === 80 && source.includes(shown.replaceAll('…', '')), shown);
    // A long line where Node puts its caret: the 80 characters around it, the mistake in the middle.
    const long = join(dir, 'long.mjs');
    const [ones, twos] = ['1,'.repeat(100), '2,'.repeat(100)];
    const line = `export const a = [${ones}]; export default () => 1 +; export const b = [${twos}];`;
    writeFileSync(long, `${line}\n`);
    const caret = line.indexOf('1 +;') + 3; // under the ';'
    assert.is(syntaxErrorAt(pathToFileURL(long).href), ` (at ${long}:1: …${line.slice(caret - 40, caret + 40)}…)`);
    // A program that is not a file keeps Node's message: no URL of its whole source appended.
    err = await failure(launch('data:text/javascript,export default () => 1 +;', { size: 1, timeoutMs: 30_000 }));
    assert.is(err.message, "rank 0 failed: SyntaxError: Unexpected token ';'");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await noWorkerLeft('modules that did not load');
});

test('a program file that launches itself with no isMainThread guard: each rank refuses, instead of launching again', async () => {
  // Before, every rank imported the file and launched 2 ranks more, and so on, until the heap ran out.
  const url = new URL('./fixtures/unguarded.js', import.meta.url);
  const err = await failure(launch(url, { size: 2, timeoutMs: 30_000 }));
  assert.instance(err, RankFailedError);
  assert.is(err.message, `rank ${(err as RankFailedError).rank} failed: Error: launch() was called as a worker imported ` +
    `${url.href}: called at a module's top level, it runs again in every worker that imports the module; guard that ` +
    'line with `if (isMainThread)` (node:worker_threads)');
  // map's workers likewise, for a module that maps itself at its top level.
  const source = "import { map } from '" + new URL('../src/index.js', import.meta.url).href + "';\n" +
    'export const square = (x) => x * x;\nawait map(import.meta.url, [1], { exportName: "square" });\n';
  const mapsItself = `data:text/javascript,${encodeURIComponent(source)}`;
  const mapped = await failure(map(mapsItself, [1], { exportName: 'square', timeoutMs: 30_000 }));
  assert.is(mapped.message, `could not load module ${mapsItself}: map() was called as a worker imported ${mapsItself}: ` +
    "called at a module's top level, it runs again in every worker that imports the module; guard that line with " +
    '`if (isMainThread)` (node:worker_threads)');
  await noWorkerLeft('an unguarded program');
});

test('a return value that cannot be cloned', async () => {
  const err = await failure(launch('data:text/javascript,export default () => () => 1', { size: 1, timeoutMs: 30_000 }));
  assert.is(err.message, 'rank 0 failed: TypeError: the return value cannot be sent back to the launcher: () => 1 could not be cloned.');
});

test('a return value the launching thread cannot read fails its rank at once, even with a timer left', async () => {
  // 6,000 deep: a worker's 4 MiB stack posts it, this thread's smaller stack cannot read it (structured clone here
  // gives up near 2,000), so the report comes as a 'messageerror' and is dropped. Before, launch said `exited with code
  // 0 before returning a result`, or, with an interval left in the rank, waited for the timeout ("rank 1 is running").
  assert.throws(() => structuredClone(nestedList(6000)), /Maximum call stack size exceeded/);
  for (const keepAlive of [false, true]) {
    const started = performance.now();
    const args = { program: 'nestsDeeply', depth: 6000, keepAlive };
    const err = await failure(launch(PROGRAMS, { size: 2, args, timeoutMs: 20_000 }));
    assert.instance(err, RankFailedError, `keepAlive: ${keepAlive}`);
    assert.is(err.message, 'rank 1 failed: the launching thread could not read its return value: RangeError: ' +
      'Maximum call stack size exceeded', `keepAlive: ${keepAlive}`);
    assert.instance(err.cause, RangeError);
    assert.ok(performance.now() - started < 10_000, `settled after ${(performance.now() - started).toFixed(0)} ms`);
    await noWorkerLeft(`an unreadable return value (keepAlive: ${keepAlive})`);
  }
  // What a rank posts itself that this thread cannot read is still not its report: the run goes on.
  const source = "import { parentPort } from 'node:worker_threads';\n" +
    'export default () => {\n  let l = null;\n  for (let i = 0; i < 6000; i++) l = { next: l };\n' +
    '  parentPort.postMessage(l);\n  return 1;\n};\n';
  const own = `data:text/javascript,${encodeURIComponent(source)}`;
  assert.equal(await launch(own, { size: 2, timeoutMs: 20_000 }), [1, 1]);
});

test("what follows a message the launching thread cannot read still comes, though it reads nothing until the end", async () => {
  // Node trap (docs/probes/exit-drain.mjs): had the rank's worker exited, Node's drain of its messages would stop at
  // the unreadable one, and the reports after it would be lost: the result (launch said "exited with code 0 before
  // returning a result") or 'resultPosted'. The worker stays until launch terminates it.
  const flag = exitFlag();
  const own = launch(PROGRAMS, { size: 1, args: { program: 'postsUnreadable', flag }, timeoutMs: 30_000 });
  await readNothingUntilExit(flag);
  assert.equal(await own, ['rank 0']);
  const deep = exitFlag();
  const result = failure(launch(PROGRAMS, { size: 2, args: { program: 'nestsDeeply', depth: 6000, flag: deep }, timeoutMs: 30_000 }));
  await readNothingUntilExit(deep);
  const err = await result;
  assert.instance(err, RankFailedError);
  assert.is(err.message, 'rank 1 failed: the launching thread could not read its return value: RangeError: ' +
    'Maximum call stack size exceeded');
  await noWorkerLeft('a message the launching thread could not read');
});

test('what ranks print comes out whole, though launch terminates their workers as soon as they report', () => {
  // Node trap (src/worker-stdio.ts): a worker's stdout and stderr post their chunks to the launching thread a batch at
  // a time, and terminating the worker dropped what they still held: of 10,000 lines a rank printed, often 1 came out.
  // A rank reports once its output has gone, whether it returned or threw.
  // And what the thread took of it waited in its pipe to a process.stdout that held more than it took at once: the
  // last line, printed once launch settled, came out thousands of lines early on Node 24 (src/worker-stdio.ts).
  const index = new URL('../src/index.js', import.meta.url).href;
  const lines = 10_000;
  const script = `import { launch } from '${index}';
    const run = (label, throwOn) => launch('${PROGRAMS.href}', { size: 2, timeoutMs: 30000,
      args: { program: 'prints', label, lines: ${lines}, throwOn } });
    const returned = await run('returned');
    const threw = await run('threw', 1).catch((err) => err.message);
    console.log(JSON.stringify([returned, threw]));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 2 ** 20 });
  assert.is(child.status, 0, child.stderr.slice(-2000));
  assert.is(child.stdout.trimEnd().split('\n').at(-1), '[[0,1],"rank 1 failed: Error: rank 1 printed, then threw"]');
  const each = (stream: string) => Object.fromEntries(['returned', 'threw'].flatMap((label) =>
    [0, 1].map((rank) => [`${label} rank ${rank} ${stream}`, lines])));
  assert.equal(linesPerWriter(child.stdout, /^(returned|threw) rank \d out \d+$/), each('out'));
  assert.equal(linesPerWriter(child.stderr, /^(returned|threw) rank \d err \d+$/), each('err'));
});

test('12 ranks printing into a full stdout make Node warn of no leak: each worker of ours allows its pipe one listener', () => {
  // Node trap (nodejs/node#37582, src/workers.ts): Node pipes each worker's stdout into the process's, and each pipe
  // waits for a full one with a 'drain' listener: at the 11th Node warned "MaxListenersExceededWarning: Possible
  // EventEmitter memory leak detected. 11 drain listeners added to [Socket]". Here stdout fills (corked, a high-water
  // mark's worth written) once every rank has started, and only then do the ranks print, so each pipe waits.
  const index = new URL('../src/index.js', import.meta.url).href;
  const program = `data:text/javascript,export default (comm, { flag }) => {
    Atomics.add(flag, 1, 1); Atomics.wait(flag, 0, 0, 30000); console.log('rank ' + comm.rank); return comm.rank; }`;
  const script = `import { launch } from '${index}';
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const before = process.stdout.getMaxListeners();
    const run = launch(${JSON.stringify(program)}, { size: 12, args: { flag }, timeoutMs: 30000 });
    while (Atomics.load(flag, 1) < 12) await new Promise((wake) => setTimeout(wake, 5));
    process.stdout.cork();
    process.stdout.write('.'.repeat(process.stdout.writableHighWaterMark) + '\\n');
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const ranks = await run;
    const waiting = process.stdout.listenerCount('drain');
    process.stdout.uncork();
    console.log(JSON.stringify({ ranks, before, waiting, after: process.stdout.getMaxListeners() }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(child.stderr, '', 'no warning');
  assert.is(child.status, 0);
  const lines = child.stdout.trimEnd().split('\n');
  assert.equal(JSON.parse(lines.at(-1)!), { ranks: [...Array(12).keys()], before: 10, waiting: 12, after: 10 });
  assert.equal(lines.slice(1, -1).sort(), [...Array(12).keys()].map((rank) => `rank ${rank}`).sort());
});

test('ranks spin, then park, while each can have a core; with more ranks than cores they park at once', async () => {
  assert.is(defaultStrategy(2, 2), 'spinThenPark');
  assert.is(defaultStrategy(3, 2), 'park');
  assert.is(defaultStrategy(8, 16), 'spinThenPark');
  const crowded = availableParallelism() + 1;
  if (crowded > 256) return; // a machine with 256 cores or more cannot be crowded by launch's 256 ranks
  const got = await launch<{ strategy: string }>(PROGRAMS, { size: crowded, args: { program: 'identity' }, timeoutMs: 60_000 });
  assert.equal(got.map((rank) => rank.strategy), new Array(crowded).fill('park'));
  const told = await launch<{ strategy: string }>(PROGRAMS, { size: crowded, strategy: 'spinThenPark', args: { program: 'identity' }, timeoutMs: 60_000 });
  assert.equal(told.map((rank) => rank.strategy), new Array(crowded).fill('spinThenPark'), 'an explicit strategy wins');
});

test('bad launch options are refused with what was given and allowed', async () => {
  const ARENA = 'Expected `arenaBytes` to be 0 (no arena) or an integer from 64 bytes a rank';
  const cases: [object, string][] = [
    [{ size: 0 }, 'Expected `size` to be an integer from 1 to 256, got 0'],
    [{ size: 257 }, 'Expected `size` to be an integer from 1 to 256, got 257'],
    [{ size: 2.5 }, 'Expected `size` to be an integer from 1 to 256, got 2.5'],
    [{ size: '2' }, 'Expected `size` to be an integer from 1 to 256, got "2"'],
    [{ size: 2, transport: 'pigeon' }, 'Expected `transport` to be one of shared, transfer, clone, got "pigeon"'],
    [{ size: 2, ringBytes: 1000 }, 'Expected `ringBytes` to be a power of two from 64 to 1073741824, got 1000'],
    [{ size: 2, ringBytes: '65536' }, 'Expected `ringBytes` to be a power of two from 64 to 1073741824, got "65536"'],
    [{ size: 2, transport: 1n }, 'Expected `transport` to be one of shared, transfer, clone, got 1n'],
    [{ size: 2, arenaBytes: '1024' }, `${ARENA} (128 for 2) to 2147483648, got "1024"`],
    [{ size: 2, timeoutMs: -1 }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got -1'],
    [{ size: 2, timeoutMs: '300' }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got "300"'], // was taken
    [{ size: 2, timeoutMs: NaN }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got NaN'],
    // 0 is a ring call's "do not wait", and elsewhere often "no limit": here it would only time out, so it says why
    [{ size: 2, timeoutMs: 0 }, 'Expected `timeoutMs` to be a number of milliseconds > 0, got 0 ' +
      '(0 would time out before any rank starts; leave timeoutMs out, or pass Infinity, for no limit)'],
    [{ size: 2, ringBytes: 4096, chunkBytes: 4096 }, 'Expected `chunkBytes` to be a multiple of 8 from 8 to 2032 (half a 4096-byte ring, less a frame header), got 4096'],
    [{ size: 2, chunkBytes: 4 }, 'Expected `chunkBytes` to be a multiple of 8 from 8 to 8388592 (half a 16777216-byte ring, less a frame header), got 4'],
    [{ size: 2, chunkBytes: 1001 }, 'Expected `chunkBytes` to be a multiple of 8 from 8 to 8388592 (half a 16777216-byte ring, less a frame header), got 1001'],
    [{ size: 2, strategy: 'nap' }, 'Expected `strategy` to be one of spin, park, spinThenPark, got "nap"'],
    [{ size: 2, deadlockMs: -1 }, 'Expected `deadlockMs` to be a number >= 0 (0 turns the watchdog off), got -1'],
    [{ size: 2, deadlockMs: true }, 'Expected `deadlockMs` to be a number >= 0 (0 turns the watchdog off), got true'],
    [{ size: 2, args: { onDone: () => 1 } }, 'Expected `args` to be a value that structured clone accepts (every rank gets a copy): () => 1 could not be cloned.'],
    [{ size: 4, arenaBytes: 255 }, `${ARENA} (256 for 4) to 2147483648, got 255`],
    [{ size: 2, arenaBytes: 2 ** 31 + 64 }, `${ARENA} (128 for 2) to 2147483648, got 2147483712`],
    [{ size: 2, arenaBytes: 1e6 + 0.5 }, `${ARENA} (128 for 2) to 2147483648, got 1000000.5`],
    [{ size: 2, arenaBytes: -1 }, `${ARENA} (128 for 2) to 2147483648, got -1`],
    [{ size: 1, ranks: 4 }, 'Unknown launch option `ranks`: expected size, transport, ringBytes, chunkBytes, arenaBytes, timeoutMs, args, strategy, deadlockMs, signal'],
  ];
  for (const [options, message] of cases) {
    const err = await failure(launch(PROGRAMS, options as never));
    assert.is(err.message, message);
  }
  assert.is((await failure(launch(PROGRAMS, null as never))).message, 'Expected launch options like { size: 4 }, got null');
  const err = await failure(launch('./relative.js', { size: 1 }));
  assert.is(err.message, 'Expected `moduleUrl` to be a file: URL such as import.meta.url (or a data: URL), got "./relative.js"; ' +
    'for a path, pass pathToFileURL(path) (node:url) or new URL(path, import.meta.url)');
  // The arguments swapped, as a URL and as a string: named before the options are looked at (a URL has no `size`)
  const MODULE = 'Expected `moduleUrl` to be a file: URL such as import.meta.url (or a data: URL)';
  for (const url of [PROGRAMS, PROGRAMS.href]) {
    const swapped = await failure(launch({ size: 2 } as never, url as never));
    assert.instance(swapped, TypeError);
    assert.is(swapped.message, `${MODULE}, got an object (the module comes first: launch(moduleUrl, options))`);
  }
  // The module left out, as a newcomer does: the same hint, where it said only `got an object`
  const noModule = await failure((launch as (options: object) => Promise<unknown>)({ size: 2 }));
  assert.is(noModule.message, `${MODULE}, got an object (the module comes first: launch(moduleUrl, options))`);
  const notUrl = await failure(launch(5 as never, { size: 1 }));
  assert.instance(notUrl, TypeError);
  assert.is(notUrl.message, `${MODULE}, got 5`); // it said got "5"; an object was "[object Object]"
});

test('chunkBytes: 1 MiB travels in chunks unless told (recvView assembles it), and is lent from the ring as one frame', async () => {
  // spinThenPark whatever the core count: under 'park' (ranks outnumbering cores) the default chunk is a quarter
  // ring, 1 MiB here, and the message would be one frame.
  const run = (chunkBytes?: number) =>
    launch<{ inRing: boolean; whole: boolean } | null>(PROGRAMS, {
      size: 2, ringBytes: 4 * 2 ** 20, chunkBytes, strategy: 'spinThenPark', args: { program: 'bigView' }, timeoutMs: 30_000,
    });
  assert.equal((await run())[1], { inRing: false, whole: true }, 'chunked: assembled out of the ring');
  assert.equal((await run(2 * 2 ** 20 - 16))[1], { inRing: true, whole: true }, 'one frame: in place');
});

test('whatever a rank throws, from a timer or not, launch names it and settles', async () => {
  const cases: [string, string, string | undefined][] = [
    ['null from a timer', 'rank 1 failed: Error: non-error thrown: null', undefined],
    ['a string from a timer', 'rank 1 failed: Error: non-error thrown: "late boom"', undefined],
    ['an object without a prototype', 'rank 1 failed: Error: non-error thrown: an object', undefined],
    ['a revoked Proxy', 'rank 1 failed: Error: non-error thrown: a Proxy', undefined],
    // Before, the getter's own error was reported in its place: 'rank 1 failed: Error: constructor getter trap'.
    ['an object whose constructor getter throws', 'rank 1 failed: Error: non-error thrown: an object', undefined],
    ['an object with a message and a code', 'rank 1 failed: Error: plain boom', 'E_PLAIN'],
    ['an Error whose code is a function', 'rank 1 failed: Error: boom with a strange code', undefined],
    ['an error that is its own cause, from a timer', 'rank 1 failed: Error: round and round', undefined],
    ['a rejection nobody handles, with a chain of causes', 'rank 1 failed: Error: top', undefined],
  ];
  for (const [what, message, code] of cases) {
    // deadlockMs 0: only the failure itself can end the run (the timeout says otherwise)
    const err = await failure(launch(PROGRAMS, { size: 2, args: { program: 'throwsAnything', what }, deadlockMs: 0, timeoutMs: 30_000 }));
    assert.instance(err, RankFailedError, what);
    assert.is(err.message, message, what);
    assert.is((err.cause as { code?: unknown }).code, code, what);
    await noWorkerLeft(what);
    if (what === 'an error that is its own cause, from a timer') {
      assert.is(((err.cause as Error).cause as Error).message, '(a cycle: this cause is an error above it)');
    }
    if (what === 'a rejection nobody handles, with a chain of causes') {
      const middle = (err.cause as Error).cause as AggregateError;
      assert.instance(middle, AggregateError);
      assert.is(middle.message, 'middle');
      assert.equal(middle.errors.map((e: Error) => `${e.name}: ${e.message}`), ['TypeError: one', 'Error: non-error thrown: "two"']);
      const deepest = middle.cause as RangeError & { status: number; code: number; details?: unknown };
      assert.instance(deepest, RangeError);
      assert.equal([deepest.message, deepest.status, deepest.code, deepest.details], ['deepest', 404, 42, undefined]);
    }
  }
});

test('a rank that handles uncaught errors itself keeps them: the run goes on', async () => {
  for (const once of [false, true]) {
    const results = await launch(PROGRAMS, { size: 2, args: { program: 'ownHandler', once }, timeoutMs: 30_000 });
    assert.equal(results, ['handled: recoverable on rank 0', 'handled: recoverable on rank 1'], `once: ${once}`);
  }
});

test("what a rank posts on parentPort itself is not taken for its report", async () => {
  for (const transport of TRANSPORTS) {
    assert.equal(await launch(PROGRAMS, { size: 3, transport, args: { program: 'postsItsOwn' }, timeoutMs: 30_000 }), [6, 6, 6], transport);
  }
});

test('a timeoutMs past what a timer can hold (over 2^31 - 1 ms, Infinity) is no bound, not an instant timeout', async () => {
  for (const timeoutMs of [2 ** 31 - 0.5, 2 ** 31, 1e12, Infinity]) {
    const got = await launch<{ rank: number }>(PROGRAMS, { size: 2, args: { program: 'identity' }, timeoutMs });
    assert.equal(got.map((r) => r.rank), [0, 1], String(timeoutMs));
  }
});

for (const transport of TRANSPORTS) {
  test(`${transport}: typed arrays over SharedArrayBuffers arrive as copies: allreduce and allgather leave inputs alone`, async () => {
    const got = await launch<{ sum: number[]; input: number[]; gathered: number[]; rawSeen: number[] }>(PROGRAMS,
      { size: 3, transport, args: { program: 'sharedInputs' }, timeoutMs: 30_000 });
    for (let rank = 0; rank < 3; rank++) {
      const others = [0, 1, 2].filter((other) => other !== rank);
      const rawSeen = rank === 0 ? new Array(8).fill(0) : [];
      assert.equal(got[rank], { sum: [6, 6, 6, 6], input: new Array(4).fill(rank + 1), gathered: others, rawSeen }, `rank ${rank}`);
    }
  });
}

test('holding a view from recvView: a receive from its source is refused until release(), unless already queued', async () => {
  const [, shared] = await launch<any>(PROGRAMS, { size: 2, args: { program: 'heldView' }, timeoutMs: 30_000 });
  assert.equal(shared, {
    first: [1, 2],
    queued: 'read past, queued',
    refused: ['recv', 'recvInto', 'sendrecv'].map((op) => `${op}() from rank 0 while holding a view of its last message: release() it first`),
    next: [3, 4],
  });
  const [, clone] = await launch<any>(PROGRAMS, { size: 2, transport: 'clone', args: { program: 'heldView' }, timeoutMs: 30_000 });
  assert.equal(clone, { first: [1, 2], queued: 'read past, queued', refused: [], next: [3, 4] }, 'clone: recvView is recv, nothing is held');
});

test('launch and map under any Node options: `--input-type=module -e`, V8 options, per-process options', () => {
  const index = new URL('../src/index.js', import.meta.url).href;
  const ring = new URL('./fixtures/ranks-ring.js', import.meta.url).href;
  const square = new URL('./fixtures/pool-square.js', import.meta.url).href;
  const body = `console.log(JSON.stringify(await launch('${ring}', { size: 3, timeoutMs: 30000 })));
    console.log(JSON.stringify((await map('${square}', [1, 2, 3], { workers: 2, timeoutMs: 30000 })).results));`;
  const asModule = `import { launch, map } from '${index}';\n${body}`;
  const asScript = `import('${index}').then(async ({ launch, map }) => {\n${body}\n});`; // -e without --input-type
  // A worker refuses --input-type (its code is a file), and refuses V8's and per-process options passed explicitly:
  // before, the second and third threw "Initiated Worker with invalid execArgv flags: --max-old-space-size=512".
  const vm = ['--max-old-space-size=512', '--expose-gc', '--stack-size=2000', '--title=shmcomm-test'];
  const runs: [string[], string?][] = [
    [['--input-type=module', '-e', asModule]], [[...vm, '-e', asScript]], [[...vm, '--input-type=module', '-e', asModule]],
    [['-e', asModule], '--input-type=module'], // from NODE_OPTIONS, which workers read too
    [['-e', asScript], '--title="x --input-type=y"'], // inside a quoted value it is no option: NODE_OPTIONS stays whole
  ];
  for (const [argv, nodeOptions] of runs) {
    const env = nodeOptions === undefined ? process.env : { ...process.env, NODE_OPTIONS: nodeOptions };
    const child = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 60_000, env });
    const label = `${argv.filter((option) => option.startsWith('--')).join(' ')} NODE_OPTIONS=${nodeOptions ?? ''}`;
    assert.is(child.stderr, '', label);
    assert.is(child.stdout, '[3,0,1]\n[1,4,9]\n', label);
    assert.is(child.status, 0, label);
  }
});

test("a rank's error and a map function's are at their .ts lines when the launching thread maps sources", () => {
  // Source maps are a thread's own setting: a worker does not inherit the launcher's process.setSourceMapsEnabled(),
  // so launch and map pass it on (the shmcomm command turns it on for the exercises a learner edits). The workers turn
  // it on before shmcomm loads (worker-entry.ts), so shmcomm's own frames are at their .ts lines too.
  const index = new URL('../src/index.js', import.meta.url).href;
  const faults = new URL('./fixtures/pool-faults.js', import.meta.url).href;
  const lineOf = (file: string, text: string) => {
    const source = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    return source.split('\n').findIndex((line) => line.includes(text)) + 1;
  };
  const rankLine = lineOf('test/fixtures/ranks-programs.ts', "throw new Error('boom in rank 1')");
  const mapLine = lineOf('test/fixtures/pool-faults.ts', "throw new BoomError('boom')");
  const sendLine = lineOf('src/comm.ts', "this.checkRank(dest, 'dest');");
  const encodeLine = lineOf('src/codec.ts', 'return encodeAs(encodedType(value), value);');
  assert.ok(rankLine > 0 && mapLine > 0 && sendLine > 0 && encodeLine > 0, 'the lines that throw');
  for (const enabled of [true, false]) {
    const script = `import { launch, map } from '${index}';
      process.setSourceMapsEnabled(${enabled});
      const at = (text) => (err) => err.cause.stack.split('\\n').find((line) => line.includes(text)).trim();
      const report = new SharedArrayBuffer(16);
      const rank = await launch('${PROGRAMS.href}', { size: 4, args: { program: 'throws', report }, timeoutMs: 30000 })
        .catch(at('/fixtures/'));
      const item = await map('${faults}', [1, 3], { workers: 1, exportName: 'throwsOnThree', timeoutMs: 30000 })
        .catch(at('/fixtures/'));
      const send = await launch('${PROGRAMS.href}', { size: 2, args: { program: 'sendsToNoRank' }, timeoutMs: 30000 })
        .catch(at('at Comm.send '));
      const encode = await map('${faults}', [1], { workers: 1, exportName: 'encodesAFunction', timeoutMs: 30000 })
        .catch(at('at encode '));
      console.log(JSON.stringify([rank, item, send, encode]));`;
    // Without --enable-source-maps, which workers would inherit: the setting of the thread is what is passed on.
    const argv = ['--input-type=module', '-e', script];
    const child = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 });
    assert.is(child.status, 0, child.stderr);
    const [rank, item, send, encode] = JSON.parse(child.stdout) as [string, string, string, string];
    if (enabled) {
      assert.match(rank, new RegExp(`^at failAfter \\(/.*/test/fixtures/ranks-programs\\.ts:${rankLine}:\\d+\\)$`));
      assert.match(item, new RegExp(`^at throwsOnThree \\(/.*/test/fixtures/pool-faults\\.ts:${mapLine}:\\d+\\)$`));
      assert.match(send, new RegExp(`^at Comm\\.send \\(/.*/src/comm\\.ts:${sendLine}:\\d+\\)$`));
      assert.match(encode, new RegExp(`^at encode \\(/.*/src/codec\\.ts:${encodeLine}:\\d+\\)$`));
    } else {
      assert.match(rank, /^at failAfter \(file:\/\/\/.*\/dist\/test\/fixtures\/ranks-programs\.js:\d+:\d+\)$/);
      assert.match(item, /^at throwsOnThree \(file:\/\/\/.*\/dist\/test\/fixtures\/pool-faults\.js:\d+:\d+\)$/);
      assert.match(send, /^at Comm\.send \(file:\/\/\/.*\/dist\/src\/comm\.js:\d+:\d+\)$/);
      assert.match(encode, /^at encode \(file:\/\/\/.*\/dist\/src\/codec\.js:\d+:\d+\)$/);
    }
  }
});

test('CommAbortedError names the failed rank', () => {
  const err = new CommAbortedError(3, 'it threw or exited');
  assert.is(err.message, 'aborted because rank 3 failed: it threw or exited');
  assert.is(err.code, 'SHMCOMM_COMM_ABORTED');
});

test.run();
