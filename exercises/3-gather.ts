/**
 * Exercise 3 — gather. Rank 0 receives a value from every other rank and appends it to a list.
 *
 * a) Every other rank shares ONE connection to rank 0. A RingBuffer is single-producer: its producer keeps its
 *    write position in private memory and is the only thread that stores the shared head. Several producers on
 *    one ring each believe they own it: they write frames at the same offsets and publish heads that jump back and
 *    forth. With --unsafe, rank 0's checks (a checksum and a sequence number in every message, the ring's own
 *    frame-header checks, a timeout for lost messages) catch it. The fix is a lock around each write, built on
 *    Atomics.compareExchange (3-gather-lock.ts), and a RingBuffer attached afresh under it for every write; it
 *    works, and it costs: compare it with one ring per producer.
 *    Part a always uses shared RingBuffers, whatever --transport says: the question is about sharing one ring.
 * b) One connection per pair of ranks, passed to the right ranks: what `launch` does for you (over --transport).
 *
 * Run: npm run exercise -- gather --ranks 4      (and the broken version: --unsafe)
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { launch, RingBuffer, type Comm, type TransportName } from '../src/index.js';
import { lock, unlock } from './3-gather-lock.js';
import { printLine } from '../src/term.js';
import { plural } from './plural.js';
import { WrongResultError } from './verdict.js';

export interface GatherOptions {
  ranks?: number;
  transport?: TransportName;
  unsafe?: boolean;
  messages?: number; // per producer in part a (default 10,000)
  out?: (line: string) => void;
}

type Mode = 'unsafe' | 'locked' | 'rings';

/** What each of part a's workers is told. */
interface Job {
  exercise: 'gather'; // marks part a's workers: launch's (part b) load this file too, with workerData of their own
  mode: Mode;
  rank: number;
  size: number;
  messages: number; // per producer
  rings: SharedArrayBuffer[]; // one, or one per producer
  lock: SharedArrayBuffer; // the lock's Int32 (3-gather-lock.ts)
  start: SharedArrayBuffer; // an Int32 counting the workers ready to start
}

/** What rank 0 found in part a. */
export interface Verdict {
  received: number;
  expected: number;
  badChecksum: number;
  outOfOrder: number; // lost, overwritten or read twice
  error: string; // what ended the run early, or ''
  ms: number;
}

const WORDS = 16; // a message: [rank, seq, 13 words of data, checksum]
const TIMEOUT_MS = 10_000;
const SILENCE_MS = 1000; // unsafe only: this long without a message means messages were lost

/** FNV-1a over every word but the last: one changed bit anywhere changes it. */
function checksum(words: Int32Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < WORDS - 1; i++) hash = Math.imul(hash ^ words[i]!, 16777619);
  return hash | 0;
}

// ─── Part a, in the workers ─────────────────────────────────────────────────────────────────────────────────

function produce(job: Job): void {
  const buffer = job.rings[job.mode === 'rings' ? job.rank - 1 : 0]!; // the ring this producer writes to
  // Unsafe, and one ring per producer: attach once and keep the RingBuffer. Locked: none kept (see below).
  const ring = job.mode === 'locked' ? undefined : RingBuffer.attach(buffer);
  const word = new Int32Array(job.lock);
  const message = new Int32Array(WORDS);
  startTogether(job);
  for (let seq = 0; seq < job.messages; seq++) {
    message[0] = job.rank;
    message[1] = seq;
    for (let i = 2; i < WORDS - 1; i++) message[i] = Math.imul(job.rank * 65537 + seq, i);
    message[WORDS - 1] = checksum(message);
    if (ring !== undefined) {
      ring.write(message, undefined, { timeoutMs: TIMEOUT_MS });
      continue;
    }
    lock(word);
    // Under the lock, attach afresh at every message. A RingBuffer keeps its producer's HEAD in private memory and
    // writes its next frame there; the other producers have moved the shared HEAD since, so a RingBuffer kept from
    // our last write would overwrite their frames and publish a HEAD that goes back. attach() starts from the
    // shared indices. It makes new views of the buffer, which costs tenths of a microsecond: more than the lock
    // itself when nobody contends for it (hundredths). This attach is part of what the lock costs here.
    try { RingBuffer.attach(buffer).write(message, undefined, { timeoutMs: TIMEOUT_MS }); } finally { unlock(word); }
  }
}

function consume(job: Job): Verdict {
  const rings = (job.mode === 'rings' ? job.rings : job.rings.slice(0, 1)).map((b) => RingBuffer.attach(b));
  const expected = (job.size - 1) * job.messages;
  const verdict: Verdict = { received: 0, expected, badChecksum: 0, outOfOrder: 0, error: '', ms: 0 };
  const nextSeq = new Array<number>(job.size).fill(0);
  // Messages still to come on each ring: everyone's on the one ring, or one producer's (job.messages) on each of
  // its own
  const owed = rings.map(() => verdict.expected / rings.length);
  let r = 0;
  startTogether(job);
  const started = performance.now();
  try {
    for (let i = 0; i < verdict.expected; i++) {
      // With one ring per producer, serve a ring that has a message (staying on it while it has), and block
      // only when none has, on one that still owes messages.
      for (let k = 0; k < rings.length; k++) {
        const next = (r + k) % rings.length;
        if (owed[next]! > 0 && rings[next]!.hasMessage()) { r = next; break; }
      }
      while (owed[r] === 0) r = (r + 1) % rings.length;
      // Never null: read returns null only on a ring that was closed, and nobody closes these (a timeout throws)
      const bytes = rings[r]!.read({ timeoutMs: job.mode === 'unsafe' ? SILENCE_MS : TIMEOUT_MS })!;
      owed[r]!--;
      verdict.received++;
      const words = bytes.byteLength === WORDS * 4 ? new Int32Array(bytes.buffer, bytes.byteOffset, WORDS) : undefined;
      if (words === undefined || checksum(words) !== words[WORDS - 1]) {
        verdict.badChecksum++;
        continue;
      }
      if (words[1] !== nextSeq[words[0]!]) verdict.outOfOrder++; // lost, overwritten or read twice
      nextSeq[words[0]!] = words[1]! + 1;
    }
  } catch (error) {
    verdict.error = `${(error as Error).name}: ${(error as Error).message}`;
  }
  verdict.ms = performance.now() - started;
  return verdict;
}

/** Every worker attaches first, then they all start at once: an unsafe run must really overlap. */
function startTogether(job: Job): void {
  const count = new Int32Array(job.start);
  if (Atomics.add(count, 0, 1) + 1 === job.size) Atomics.notify(count, 0);
  for (let seen = Atomics.load(count, 0); seen < job.size; seen = Atomics.load(count, 0)) {
    Atomics.wait(count, 0, seen, 100);
  }
}

if (!isMainThread && (workerData as Job | undefined)?.exercise === 'gather') {
  const job = workerData as Job;
  if (job.rank === 0) parentPort!.postMessage(consume(job));
  else produce(job);
}

// ─── Part b: a rank program for launch, which wires one ring per ordered pair ───────────────────────────────

export default function gatherRank(comm: Comm): { list: number[]; gathered: number[] | undefined } {
  const value = comm.rank * comm.rank;
  const list: number[] = [];
  if (comm.rank === 0) for (let source = 1; source < comm.size; source++) list.push(comm.recv<number>(source));
  else comm.send(0, value);
  return { list, gathered: comm.gather(value) }; // the same, as one collective call (rank 0's own value included)
}

// ─── The launcher ───────────────────────────────────────────────────────────────────────────────────────────

export interface GatherResult {
  unsafe: Verdict | undefined; // undefined unless --unsafe ran
  caught: boolean; // whether rank 0's checks caught the unsafe run
  locked: Verdict;
  rings: Verdict;
  list: number[]; // part b: what rank 0 received, from rank 1 up
  gathered: number[]; // part b: comm.gather's list
}

export async function run(options: GatherOptions = {}): Promise<GatherResult> {
  const { ranks: size = 4, transport = 'shared', unsafe = false, messages = 10_000, out = printLine } = options;
  if (!Number.isInteger(size) || size < 2) {
    throw new RangeError(`Expected \`ranks\` to be at least 2 for gather, got ${size}`);
  }
  if (!Number.isInteger(messages) || messages < 1) {
    throw new RangeError(`Expected \`messages\` to be an integer of at least 1, got ${messages}`);
  }

  const each = plural(messages, 'checksummed message');
  out(`a) ${size === 2 ? `rank 1 sends ${each}` : `ranks 1..${size - 1} send ${each} each`} to rank 0 over ONE ring`);
  if (transport !== 'shared') out(`   (part a always uses shared rings; --transport ${transport} is for part b)`);
  let unsafeVerdict: Verdict | undefined;
  if (unsafe && size < 3) {
    out('   no lock: one producer has nothing to race with; --unsafe needs --ranks 3 or more');
  } else if (unsafe) {
    unsafeVerdict = await partA('unsafe', size, messages);
    for (const line of `   no lock (--unsafe):    rank 0 got ${describe(unsafeVerdict)}`.split('\n')) out(line);
    out(problems(unsafeVerdict)
      ? '   → caught: producers that share a single-producer ring overwrite each other\'s frames'
      : '   → not caught this time: run it again');
  } else {
    out('   no lock: skipped (run with --unsafe to watch several producers corrupt one ring)');
  }
  const locked = await partA('locked', size, messages);
  const rings = await partA('rings', size, messages);
  checkSafe('with a lock', locked, out);
  checkSafe('one ring per producer', rings, out);
  for (const line of compareLock(locked.ms / rings.ms, size)) out(`   ${line}`);

  type PartB = ReturnType<typeof gatherRank>;
  const perRank = await launch<PartB>(import.meta.url, { size, transport, timeoutMs: TIMEOUT_MS });
  const { list, gathered } = perRank[0]!;
  checkPartB(list, gathered!, size, transport, out);
  const caught = unsafeVerdict !== undefined && problems(unsafeVerdict);
  return { unsafe: unsafeVerdict, caught, locked, rings, list, gathered: gathered! };
}

/** Runs part a one way: rank 0 consumes, the others produce, each in a plain Worker; resolves with rank 0's verdict. */
async function partA(mode: Mode, size: number, messages: number): Promise<Verdict> {
  const rings = Array.from({ length: mode === 'rings' ? size - 1 : 1 }, () => RingBuffer.create(1 << 16).buffer);
  const lock = new SharedArrayBuffer(4);
  const start = new SharedArrayBuffer(4);
  // Source maps asked for, as in 2-ring.ts: an error in a rank names the lines of this .ts file, not of dist/'s build.
  const sourceMaps = process.sourceMapsEnabled && process.execArgv.length === 0;
  const execArgv = sourceMaps ? ['--enable-source-maps'] : undefined;
  const workers: Worker[] = [];
  try {
    return await new Promise<Verdict>((resolve, reject) => {
      for (let rank = 0; rank < size; rank++) {
        const job: Job = { exercise: 'gather', mode, rank, size, messages, rings, lock, start };
        const worker = new Worker(new URL(import.meta.url), { workerData: job, execArgv });
        worker.on('message', resolve); // rank 0's verdict
        worker.on('error', (error) => {
          // An unsafe producer may trip over the mess it made: that is the point, not a failure of the exercise.
          if (mode === 'unsafe' && rank !== 0) return;
          reject(new Error(`gather rank ${rank}: ${error.message}`, { cause: error }));
        });
        workers.push(worker);
      }
      const ms = 3 * TIMEOUT_MS;
      setTimeout(() => reject(new Error(`gather (${mode}): no verdict after ${ms} ms`)), ms).unref();
    });
  } finally {
    for (const buffer of rings) RingBuffer.attach(buffer).abort(); // wakes a producer still blocked on the ring
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

// ─── What the printout says ─────────────────────────────────────────────────────────────────────────────────

function problems(v: Verdict): boolean {
  return v.received !== v.expected || v.badChecksum > 0 || v.outOfOrder > 0 || v.error !== '';
}

/** "9,590 of 30,000 messages, 0 with a bad checksum, 19 out of sequence", and on a second line the error, if any. */
function describe(v: Verdict): string {
  const counts = `${v.received.toLocaleString('en')} of ${v.expected.toLocaleString('en')} messages`;
  const error = v.error ? `,\n                          then ${v.error}` : '';
  return `${counts}, ${v.badChecksum} with a bad checksum, ${v.outOfOrder} out of sequence${error}`;
}

function timing(v: Verdict): string {
  return `${v.ms.toFixed(1)} ms (${((v.ms * 1000) / v.expected).toFixed(2)} µs a message)`;
}

/**
 * Prints how a safe run (with a lock, or one ring per producer) went. Safe runs must deliver every message intact
 * and in order: if one did not, its line says WRONG and a WrongResultError follows.
 */
export function checkSafe(
  name: 'with a lock' | 'one ring per producer', v: Verdict, out: (line: string) => void,
): void {
  const label = `${name}:`.padEnd(23);
  if (problems(v)) {
    for (const line of `   ${label}WRONG: rank 0 got ${describe(v)}`.split('\n')) out(line);
    const which = name === 'with a lock' ? 'the locked run' : 'the run with one ring per producer';
    throw new WrongResultError(`gather: ${which} lost or damaged messages`);
  }
  out(`   ${label}all ${v.expected.toLocaleString('en')} intact and in order, ${timing(v)}`);
}

/**
 * What the lock's time says, in words that fit the ratio measured (on a busy machine the lock can even win), for
 * `size` ranks on `cores` cores. With 2 ranks there is one producer: a draw is what to expect.
 */
export function compareLock(ratio: number, size: number, cores = availableParallelism()): string[] {
  const took = `the lock took ${ratio.toFixed(1)}x the time of one ring per producer here`;
  const slower = Number(ratio.toFixed(1)) > 1; // as printed: 1.04 is "1.0x", no slower
  if (size === 2 && slower) {
    return [
      `${took}: with one producer nobody contends, so the difference is`,
      'an uncontended lock plus a fresh RingBuffer.attach() at every message (or noise)',
    ];
  }
  if (slower) {
    return [
      `${took}: each locked write takes the lock,`,
      'attaches a fresh RingBuffer (new views of the buffer, the shared head re-read), and waits while another',
      'producer holds the lock; separate rings let all producers write at once (--ranks 2: the lock alone)',
    ];
  }
  if (size === 2) {
    const expected = 'as expected: with one producer nobody contends for the lock (try --ranks 3 or more)';
    return [`${took}: no cost measured,`, expected];
  }
  const threads = `${size} threads take turns on ${plural(cores, 'core')}`;
  const why = size > cores
    ? `${threads} whichever way they write, and the lock's cost drowns in that`
    : Number(ratio.toFixed(1)) === 1
      ? 'A draw, as happens on a busy machine'
      : 'The lock won, as can happen on a busy machine';
  return [`${took}: no cost measured this time.`, `${why}: run it again`];
}

/**
 * Prints part b's two lists and throws a WrongResultError unless they are the squares they must be: rank r sends
 * r², so rank 0 receives [1, 4, ..., (size-1)²] from rank 1 up, and comm.gather puts rank 0's own 0 in front.
 */
export function checkPartB(
  list: number[], gathered: number[], size: number, transport: TransportName, out: (line: string) => void,
): void {
  const squares = Array.from({ length: size }, (_, rank) => rank * rank);
  const wrong: string[] = [];
  const verdict = (what: string, got: number[], expected: number[]): string => {
    if (got.length === expected.length && expected.every((value, i) => got[i] === value)) return '';
    wrong.push(`${what} [${got.join(', ')}], not [${expected.join(', ')}]`);
    return `, WRONG: expected [${expected.join(', ')}]`;
  };
  const listVerdict = verdict('rank 0 received', list, squares.slice(1));
  const gatheredVerdict = verdict('comm.gather gave', gathered, squares);
  out(`b) one connection per pair (launch, ${transport}): ` +
    `rank 0 received, from rank 1 up: [${list.join(', ')}]${listVerdict}`);
  out(`   comm.gather (rank 0's own value first): [${gathered.join(', ')}]${gatheredVerdict}`);
  if (wrong.length > 0) throw new WrongResultError(`gather: ${wrong.join('; ')}`);
}

// Also runnable on its own: node dist/exercises/3-gather.js. That runs the last build: after an edit, run
// npm run exercise -- gather, which builds first.
if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  await run({ unsafe: process.argv.includes('--unsafe') });
}
