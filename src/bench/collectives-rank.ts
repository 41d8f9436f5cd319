/**
 * The rank program of `shmcomm bench collectives`: one launch per transport and rank count runs every (op, size)
 * measurement of the run, one after the other, so worker start-up is paid once per launch. The launches of one rank
 * count run at once and take turns (collectives.ts): before each measurement every rank waits, parked, until the main
 * thread opens the gate of its launch (`turns`), and after it, once every rank is done with it, rank 0 says so.
 *
 * One measurement, on every rank at once:
 * 1. rounds: a barrier (a common start line), then the op called `calls` times back to back, with no barrier
 *    between calls (a barrier per call would add its own cost and line the ranks up in a way real code does not).
 *    Ranks drift apart inside a round (a bcast root that only sends runs ahead while the channels have room), so
 *    each rank times its own loop, and rank 0 learns the slowest rank's time with a `reduce` ('max');
 * 2. after each round rank 0 decides, alone, how many calls the next round makes, or that there is none, and
 *    broadcasts it: every rank calls the op exactly as often as the others, and nobody waits for ever in a
 *    collective the others skipped. Warm-up rounds (two at least; 1 call, then at most twice as many each time)
 *    until `warmupSeconds` have passed, then timed rounds (four at most) until the slowest rank has spent
 *    `seconds` in them. Time per call = the slowest rank's time in the timed rounds / the calls it made;
 * 3. after the clock has stopped, the result of the last timed call is checked on every rank: bcast must deliver the
 *    root's checksum, reduce and allreduce the exact elementwise sum. The payload is the same in every call, so a
 *    call that moved nothing would leave an earlier call's right answer in place: one more call follows, with every
 *    payload tripled and every result array emptied (NaN) first, and is checked too. A wrong result throws, which
 *    fails the launch.
 *
 * bcast, reduce and allreduce are called in buffer mode, as an MPI program calls them: the result lands in an array
 * the rank allocated once (the root's `into` for reduce), so a call allocates nothing of the payload's size.
 *
 * Payloads are Float64Arrays of `bytes` bytes. Element i of rank r is (r + 1) * (i + 0.5): every partial sum is a
 * multiple of 0.5 below 2^45, exact in a double, so the sum does not depend on the order in which the algorithm
 * combines the ranks (ring allreduce and trees combine in different orders). No two elements are alike, so a block
 * delivered to the wrong place is caught too.
 */
import type { Comm } from '../comm.js';
import type { CollectiveOp } from './args.js';
import { formatSize } from './format.js';

/** What the launcher passes every rank. */
export interface CollectivesJob {
  /** The measurements to make, in order; the same list on every rank. */
  plan: PlannedMeasurement[];
  seconds: number;
  warmupSeconds: number;
  /** Over a SharedArrayBuffer of TURN_SLOTS Int32s: the launch's turns, at TURN_GATE, TURN_DONE and TURN_READY. */
  turns: Int32Array;
}

/** The main thread stores here how many measurements the launch may have started (TURNS_STOPPED: none more). */
export const TURN_GATE = 0;
/** Rank 0 stores here how many measurements the launch has finished, every rank done with them. */
export const TURN_DONE = 1;
/** Every rank adds 1 here once it is ready for the first measurement. */
export const TURN_READY = 2;
export const TURN_SLOTS = 3;
/** The gate's value once another launch has failed: every rank waiting at it throws, and the launch ends. */
export const TURNS_STOPPED = -1;

/** One (op, size); `bytes` is 0 for barrier, which moves no payload. */
export interface PlannedMeasurement {
  op: CollectiveOp;
  bytes: number;
}

/** What rank 0 returns for each measurement. */
export interface Measurement extends PlannedMeasurement {
  /** The slowest rank's time in the timed rounds, per call. */
  microsPerCall: number;
  /** How many times every rank called the op in the timed rounds. */
  calls: number;
}

/** A bound on the calls of one round, in case an op ever reports a time of (almost) nothing. */
const MAX_CALLS = 10_000_000;
/** A warm-up round makes at most this many times the calls of the round before: cold first calls decide little. */
const ROUND_GROWTH = 2;
/** The first round's one call is cold (first messages, compilation): the timed loop is never sized from it alone. */
const MIN_WARMUP_ROUNDS = 2;
/** The timed rounds stop once they have used this share of `seconds`, or after this many rounds. */
const ENOUGH_OF_BUDGET = 0.9;
const MAX_TIMED_ROUNDS = 4;
/** A floor for time-per-call estimates, so that a round timed at 0 ms cannot ask for infinitely many calls. */
const MIN_CALL_MS = 1e-6;

/** Rank 0 returns one Measurement per planned one, in plan order; the other ranks return []. */
export default function collectivesRank(comm: Comm, job: CollectivesJob): Measurement[] {
  const { turns } = job;
  Atomics.add(turns, TURN_READY, 1);
  Atomics.notify(turns, TURN_READY);
  const measurements: Measurement[] = [];
  for (let index = 0; index < job.plan.length; index++) {
    awaitTurn(turns, index);
    const { op, bytes } = job.plan[index]!;
    const measured = measure(comm, op, bytes, job);
    if (measured !== undefined) measurements.push(measured);
    // The last checks are each rank's own (an 8 MiB result compared element by element): the next turn, perhaps
    // another launch's, begins on idle cores only once every rank is through them.
    comm.barrier();
    if (comm.rank === 0) {
      Atomics.store(turns, TURN_DONE, index + 1);
      Atomics.notify(turns, TURN_DONE);
    }
  }
  return measurements;
}

/**
 * Waits, parked, until the main thread lets measurement `index` begin. Not in a shmcomm call: a rank that spins when
 * it waits (`--strategy spin`) would otherwise hold a core through another launch's turn.
 */
function awaitTurn(turns: Int32Array, index: number): void {
  for (;;) {
    const gate = Atomics.load(turns, TURN_GATE);
    if (gate === TURNS_STOPPED) throw new Error('stopped: another launch of the benchmark failed');
    if (gate > index) return;
    Atomics.wait(turns, TURN_GATE, gate);
  }
}

function measure(comm: Comm, op: CollectiveOp, bytes: number, job: CollectivesJob): Measurement | undefined {
  const payload = makePayload(comm.rank, bytes);
  const call = callOf(comm, op, payload);
  const warmupMs = job.warmupSeconds * 1000;
  const timedMs = job.seconds * 1000;
  let perCallMs = 0; // rank 0's estimate, from the latest round

  // 1. Warm-up, two rounds at least, each at most twice the calls of the one before.
  let warmedMs = 0;
  let calls = 1;
  for (let round = 1; ; round++) {
    const slowestMs = comm.reduce(runRound(comm, call, calls).ms, 'max', 0);
    if (comm.rank === 0) {
      warmedMs += slowestMs!;
      perCallMs = Math.max(slowestMs! / calls, MIN_CALL_MS);
    }
    const next = decide(comm, () => {
      if (warmedMs >= warmupMs && round >= MIN_WARMUP_ROUNDS) return 0;
      return clamp(Math.ceil((warmupMs - warmedMs) / perCallMs), 1, calls * ROUND_GROWTH);
    });
    if (next === 0) break;
    calls = next;
  }

  // 2. Timed rounds until the slowest rank has spent `seconds` in them. The first aims at half the budget (the
  //    warm-up's short rounds are a rough guide), the next ones at what is left, at the pace measured so far.
  let ownMs = 0; // this rank's time in the timed rounds
  let totalCalls = 0;
  let spentMs = 0; // rank 0: the slowest rank's ownMs
  let last: unknown;
  calls = decide(comm, () => clamp(Math.round(timedMs / 2 / perCallMs), 1, MAX_CALLS));
  for (let round = 1; ; round++) {
    const timed = runRound(comm, call, calls);
    ownMs += timed.ms;
    totalCalls += calls;
    last = timed.last;
    const slowestMs = comm.reduce(ownMs, 'max', 0);
    if (comm.rank === 0) {
      spentMs = slowestMs!;
      perCallMs = Math.max(spentMs / totalCalls, MIN_CALL_MS);
    }
    const next = decide(comm, () => {
      if (spentMs >= timedMs * ENOUGH_OF_BUDGET || round >= MAX_TIMED_ROUNDS) return 0;
      return clamp(Math.round((timedMs - spentMs) / perCallMs), 1, MAX_CALLS);
    });
    if (next === 0) break;
    calls = next;
  }

  checkResult(comm, op, bytes, payload, last);
  checkFreshCall(comm, op, bytes, payload, call, last);
  if (comm.rank !== 0) return undefined;
  return { op, bytes, microsPerCall: (spentMs * 1000) / totalCalls, calls: totalCalls };
}

/**
 * One barrier, so that the ranks start together (and the previous round's stragglers, say a root still checking
 * 8 MiB, do not count as this op's time), then `calls` back-to-back calls: no barrier between them.
 */
function runRound(comm: Comm, call: () => unknown, calls: number): { ms: number; last: unknown } {
  comm.barrier();
  let last: unknown;
  const started = performance.now();
  for (let i = 0; i < calls; i++) last = call();
  return { ms: performance.now() - started, last };
}

/** Rank 0 decides (a number of calls, or 0 for "stop"), everyone gets the same answer. */
function decide(comm: Comm, decision: () => number): number {
  return comm.bcast(comm.rank === 0 ? decision() : undefined, 0)!;
}

/** The op as a function of nothing, returning what the call returned (so the last result can be checked). */
function callOf(comm: Comm, op: CollectiveOp, payload: Float64Array): () => unknown {
  switch (op) {
    case 'bcast': {
      // Buffer mode, as an MPI program would call it: the other ranks receive into one buffer of their own.
      const buffer = comm.rank === 0 ? payload : new Float64Array(payload.length);
      return () => comm.bcast(buffer, 0);
    }
    case 'reduce': {
      const into = comm.rank === 0 ? new Float64Array(payload.length) : undefined; // the root's recvbuf, reused
      return () => comm.reduce(payload, 'sum', 0, into);
    }
    case 'allreduce': {
      const into = new Float64Array(payload.length); // MPI's recvbuf, reused from call to call
      return () => comm.allreduce(payload, 'sum', into);
    }
    case 'barrier':
      return () => comm.barrier();
  }
}

/** Element i of rank r's payload; see the file comment. */
export function elementOf(rank: number, index: number): number {
  return (rank + 1) * (index + 0.5);
}

export function makePayload(rank: number, bytes: number): Float64Array {
  const payload = new Float64Array(bytes / 8);
  for (let i = 0; i < payload.length; i++) payload[i] = elementOf(rank, i);
  return payload;
}

/**
 * One more call, untimed and checked, after the payload (every rank's) is tripled and `lastResult`, the array the
 * timed calls left their result in, is emptied: it must hold the new answer, not the old one. Collective. Exported for
 * its tests.
 */
export function checkFreshCall(
  comm: Comm, op: CollectiveOp, bytes: number, payload: Float64Array, call: () => unknown, lastResult: unknown,
): void {
  if (op === 'barrier') return;
  for (let i = 0; i < payload.length; i++) payload[i]! *= 3; // still multiples of 0.5, sums still exact
  if (lastResult instanceof Float64Array && lastResult !== payload) lastResult.fill(NaN); // bcast's root sends it
  checkResult(comm, op, bytes, payload, call());
}

/**
 * A checksum that also sees elements out of place: each element weighted by its index, plus one (not exact for large
 * arrays, but the root and the others compute it in the same order: the same values give the same sum).
 */
function checksum(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * (i + 1);
  return sum;
}

/**
 * Throws if `last`, the last call's result, is not what `op` must give this rank; `payload` is what this rank
 * passed. Collective (bcast's check broadcasts the root's checksum): every rank calls it. Exported for its tests.
 */
export function checkResult(comm: Comm, op: CollectiveOp, bytes: number, payload: Float64Array, last: unknown): void {
  if (op === 'barrier') return;
  const where = `${op} of ${formatSize(bytes)} on ${comm.size} ranks over ${comm.transport}: rank ${comm.rank}`;
  const elements = bytes / 8;
  if (op === 'bcast') {
    const sent = comm.bcast(comm.rank === 0 ? checksum(payload) : undefined, 0)!;
    const got = isFloat64Array(last, elements) ? checksum(last) : NaN;
    if (got !== sent) throw new Error(`${where} got checksum ${got}, the root sent ${sent}`);
    return;
  }
  if (op === 'reduce' && comm.rank !== 0) {
    if (last !== undefined) throw new Error(`${where} got a result, but only the root should`);
    return;
  }
  if (!isFloat64Array(last, elements)) throw new Error(`${where} got ${describe(last)}, expected a Float64Array of ${elements} elements`);
  // Rank r's element i is (r + 1) times one base value, the same on every rank (x 3 in the fresh call): the sum over
  // ranks is that base times 1 + 2 + ... + size. The division is exact: the quotient is a double.
  const ranksTotal = (comm.size * (comm.size + 1)) / 2;
  for (let i = 0; i < elements; i++) {
    const expected = ranksTotal * (payload[i]! / (comm.rank + 1));
    if (last[i] !== expected) throw new Error(`${where} got ${last[i]} at element ${i}, expected the exact sum ${expected}`);
  }
}

function isFloat64Array(value: unknown, elements: number): value is Float64Array {
  return value instanceof Float64Array && value.length === elements;
}

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  return value === null ? 'null' : typeof value;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
