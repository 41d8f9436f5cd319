/**
 * Exercise 4 — broadcast: rank 0 gives the same large Float64Array to every rank. Four ways:
 *
 * 1. linear: rank 0 sends it to rank 1, then rank 2, ... — N-1 sends, all from rank 0, one after the other;
 * 2. binomial tree: whoever has the value passes it on, so the holders double at every step and everyone has it
 *    after ⌈log2 N⌉ steps (0→1; 0→2, 1→3; 0→4, 1→5, 2→6, 3→7; ...);
 * 3. `comm.bcast`, the library's, into an array that each rank allocated once (mpi4py's `Bcast(buf)`; ways 1 and 2
 *    receive a new array every time): the same tree, except on the shared transport from 3 ranks, where a value
 *    this large goes through the shared arena (rank 0 copies it in once, every rank copies it out once, and only a
 *    16-byte ticket takes the tree);
 * 4. shared memory: nobody sends anything. Rank 0 writes the array once into one SharedArrayBuffer, a barrier
 *    says "it is written", and every rank reads it in place. (Only threads that share memory can do this; a
 *    barrier is built on Atomics, which also makes rank 0's plain writes visible to the readers.)
 *
 * Each time is the best of a few rounds, from a barrier before to a barrier after everyone has the value. Every
 * rank checks what it got, in every round: every element, each of which is different (element i is i + 0.5), so an
 * array whose pieces arrived in the wrong places, or one piece copied everywhere, is caught (a sum would not be).
 *
 * Run: npm run exercise -- broadcast --ranks 4      (try --ranks 8 and --transport clone)
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { launch, type Comm, type TransportName } from '../src/index.js';
import { formatSize } from '../src/bench/format.js';
import { printLine } from '../src/term.js';
import { plural } from './plural.js';
import { WrongResultError } from './verdict.js';

export interface BroadcastOptions {
  ranks?: number;
  transport?: TransportName;
  bytes?: number; // size of the array, default 8 MiB
  rounds?: number; // timed rounds after a warm-up round; the best counts; default 3
  out?: (line: string) => void;
}

interface Args {
  elements: number;
  rounds: number;
  shared: SharedArrayBuffer; // for way 4: allocated by the launcher, shared with every rank
}

const WAYS = ['linear', 'tree', 'bcast', 'shared'] as const;
type Way = (typeof WAYS)[number];
type PerWay = Record<Way, number>;

/** Element i is i + 0.5: no two alike (and each exact in a double), so every element can be checked at its place. */
const element = (i: number) => i + 0.5;

/** The first thing wrong with `array`, for the check line (`element 1024 is 0.5, not 1024.5`); '' when nothing is. */
export function firstWrong(array: Float64Array, elements: number): string {
  if (array.length !== elements) return `${plural(array.length, 'element')}, not ${elements.toLocaleString('en')}`;
  for (let i = 0; i < elements; i++) {
    if (array[i] !== element(i)) return `element ${i} is ${array[i]}, not ${element(i)}`;
  }
  return '';
}

/** What a rank reports: per way, the rounds whose array was wrong, and what was wrong in the first of them. */
export interface RankReport {
  wrongRounds: PerWay;
  firstWrong: Record<Way, string>; // '' for a way that was right in every round
  ms: PerWay; // the best times: only rank 0's are printed
}

/** The rank program: each way `rounds` times, after a warm-up round; checks every element it got in every round. */
export default function broadcastRank(comm: Comm, { elements, rounds, shared }: Args): RankReport {
  let value: Float64Array | undefined;
  if (comm.rank === 0) {
    value = new Float64Array(elements);
    for (let i = 0; i < elements; i++) value[i] = element(i);
  }
  const inPlace = new Float64Array(shared);
  const into = new Float64Array(elements); // where comm.bcast puts the value, round after round
  const wrong = { linear: '', tree: '', bcast: '', shared: '' };
  const wrongRounds = { linear: 0, tree: 0, bcast: 0, shared: 0 };
  const ms = { linear: Infinity, tree: Infinity, bcast: Infinity, shared: Infinity };

  const ways: Record<Way, () => Float64Array> = {
    linear: () => {
      if (comm.rank !== 0) return comm.recv<Float64Array>(0);
      for (let dest = 1; dest < comm.size; dest++) comm.send(dest, value);
      return value!;
    },
    tree: () => {
      // At step k (distance 1, 2, 4, ...) every rank below the distance has the value and sends it that far on.
      let got = value;
      for (let distance = 1; distance < comm.size; distance *= 2) {
        if (comm.rank < distance && comm.rank + distance < comm.size) comm.send(comm.rank + distance, got);
        else if (comm.rank >= distance && comm.rank < 2 * distance) got = comm.recv<Float64Array>(comm.rank - distance);
      }
      return got!;
    },
    bcast: () => comm.bcast(comm.rank === 0 ? value : into)!, // buffer mode: into an array each rank keeps
    shared: () => {
      if (comm.rank === 0) inPlace.set(value!); // the one copy; the barrier after it publishes it
      // The others first read the array in the check, after the clock: pulling its bytes into their caches is not
      // timed here, where in the other ways over the shared transport each rank copies the value inside the clock.
      return inPlace;
    },
  };
  // Round 0 only warms up (first sends allocate and compile); the ways take turns, so none runs colder.
  for (let round = 0; round <= rounds; round++) {
    for (const way of WAYS) {
      // Before the clock, wipe the last round's value where it would stay (bcast's target, the shared buffer), so a
      // way that stops delivering leaves zeros, not an old right array. Linear and tree receive a new array anyway.
      // Rank 0 may clear the shared buffer now: every rank read it before the barriers of the three other ways.
      if (way === 'bcast' && comm.rank !== 0) into.fill(0);
      if (way === 'shared' && comm.rank === 0) inPlace.fill(0);
      comm.barrier(); // everyone starts together...
      const started = performance.now();
      const got = ways[way]();
      comm.barrier(); // ...and the clock stops when everyone has the value
      if (round > 0) ms[way] = Math.min(ms[way], performance.now() - started);
      const problem = firstWrong(got, elements); // after the clock: checking is not part of broadcasting
      if (problem === '') continue;
      if (wrongRounds[way]++ === 0) wrong[way] = problem; // the first round's problem stays, to be printed
    }
  }
  return { wrongRounds, firstWrong: wrong, ms };
}

export interface BroadcastResult {
  wrongRounds: PerWay[]; // per rank
  firstWrong: Record<Way, string>[]; // per rank
  ms: PerWay; // rank 0's best times
}

export async function run(options: BroadcastOptions = {}): Promise<BroadcastResult> {
  const { ranks: size = 4, transport = 'shared', bytes = 8 * 2 ** 20, rounds = 3, out = printLine } = options;
  if (!Number.isInteger(bytes / 8) || bytes < 8) {
    throw new RangeError(`Expected \`bytes\` to be a multiple of 8, at least 8, got ${bytes}`);
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`Expected \`rounds\` to be an integer of at least 1, got ${rounds}`);
  }
  const elements = bytes / 8;
  const args: Args = { elements, rounds, shared: new SharedArrayBuffer(bytes) };
  const results = await launch<RankReport>(import.meta.url, { size, transport, args, timeoutMs: 120_000 });

  const array = `a Float64Array of ${formatSize(bytes)} (${plural(elements, 'element')}: ${firstElements(elements)})`;
  out(`broadcast of ${array} from rank 0 to ${plural(size, 'rank')} over ${transport}, best of ${rounds}`);
  const label = wayLabels(size);
  const width = Math.max(...WAYS.map((way) => label[way].length));
  const ms = results[0]!.ms;
  for (const way of WAYS) out(`  ${label[way].padEnd(width)} ${ms[way].toFixed(2).padStart(9)} ms`);
  checkArrays(results, rounds, out);
  return { wrongRounds: results.map((r) => r.wrongRounds), firstWrong: results.map((r) => r.firstWrong), ms };
}

/** What the table calls each way, for `size` ranks; the check line names a wrong way the same. */
function wayLabels(size: number): Record<Way, string> {
  return {
    linear: `linear (rank 0 sends ${plural(size - 1, 'time')})`,
    tree: `binomial tree (${plural(Math.ceil(Math.log2(size)), 'step')})`,
    bcast: 'comm.bcast into a buffer',
    shared: 'one SharedArrayBuffer, read in place',
  };
}

/** The first elements, up to three, and "..." when there are more: "0.5", "0.5, 1.5, 2.5, ...". */
export function firstElements(elements: number): string {
  const shown = Array.from({ length: Math.min(elements, 3) }, (_, i) => element(i));
  return `${shown.join(', ')}${elements > 3 ? ', ...' : ''}`;
}

/**
 * Prints the check line from every rank's report (one per rank, in rank order); if a rank got a wrong array in any
 * round (`rounds` timed ones and the warm-up), the line says WRONG, naming each rank and way with what was wrong the
 * first time, and a WrongResultError follows.
 */
export function checkArrays(
  reports: Pick<RankReport, 'wrongRounds' | 'firstWrong'>[],
  rounds: number,
  out: (line: string) => void,
): void {
  const label = wayLabels(reports.length);
  const wrong = reports.flatMap((report, rank) => WAYS.filter((way) => report.wrongRounds[way] > 0).map((way) =>
    `rank ${rank}, ${label[way]}: ${report.firstWrong[way]}, in ${report.wrongRounds[way]} of ${rounds + 1} rounds`));
  // The rounds counted are every round run: the timed ones and the warm-up.
  const verdict = wrong.length === 0 ? 'yes' : `WRONG: ${wrong.join('; ')}, warm-up included`;
  out(`every element in its place, every rank, every way, every round: ${verdict}`);
  if (wrong.length > 0) throw new WrongResultError('broadcast: a rank got a wrong array (the check line says which)');
}

// Also runnable on its own: node dist/exercises/4-broadcast.js. That runs the last build: after an edit, run
// npm run exercise -- broadcast, which builds first.
if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) await run();
