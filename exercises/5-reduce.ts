/**
 * Exercise 5 — reduce: sum one value from every rank onto rank 0, like `functools.reduce(operator.add, values)`.
 *
 * 1. linear: rank 0 receives from rank 1, 2, ..., N-1 and adds each as it comes: N-1 steps, all on rank 0;
 * 2. tree: at step 1 every odd rank sends its partial sum to its left neighbour, at step 2 every rank that is
 *    2 mod 4 sends to rank - 2, and so on: ⌈log2 N⌉ steps, and the additions of one step run in parallel.
 *    `comm.reduce(value, 'sum')` is the library's version of the same tree; on the shared transport, a typed array
 *    of 512 KiB or more goes through its shared arena instead (every rank adds its share of every rank's array).
 *
 * Once with numbers (rank r holds r + 1, so the sum is N(N+1)/2) and once with a large Float64Array added
 * elementwise (element i of rank r is r + i, so element i of the sum is N·i + N(N-1)/2): the results are checked
 * against those closed forms, element by element.
 *
 * Run: npm run exercise -- reduce --ranks 4      (try --ranks 7 and --transport clone)
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { launch, type Comm, type Reducible, type Sent, type TransportName } from '../src/index.js';
import { formatSize } from '../src/bench/format.js';
import { printLine } from '../src/term.js';
import { plural } from './plural.js';
import { WrongResultError } from './verdict.js';

export interface ReduceOptions {
  ranks?: number;
  transport?: TransportName;
  bytes?: number; // size of each rank's array, default 8 MiB
  rounds?: number; // timed rounds after a warm-up round; the best counts; default 3
  out?: (line: string) => void;
}

/** Adds `value`, another rank's, into `total`: `Sent<T>` is a T as it arrives (a Float64Array over an ArrayBuffer). */
type Add<T> = (total: T, value: Sent<T>) => T;

/** Linear: everything goes to rank 0, which adds the values one by one. */
function linearSum<T>(comm: Comm, value: T, add: Add<T>): T | undefined {
  if (comm.rank !== 0) {
    comm.send(0, value);
    return undefined;
  }
  let total = value;
  for (let source = 1; source < comm.size; source++) total = add(total, comm.recv<T>(source));
  return total;
}

/**
 * Tree: at distance 1, 2, 4, ... a rank with that bit set hands its partial sum down and is done. Like exercise 4's
 * broadcast tree it takes ⌈log2 N⌉ steps, at the same distances, the other way round: there the ranks that hold the
 * value double at each step, here the ranks still holding a partial sum halve. `comm.rank & distance` tests that bit:
 * at distance 1 the odd ranks send (1→0, 3→2, ...), at distance 2 those whose second bit is set (2→0, 6→4), and so
 * on, until rank 0 alone holds the sum of everyone's values.
 */
function treeSum<T>(comm: Comm, value: T, add: Add<T>): T | undefined {
  let total = value;
  for (let distance = 1; distance < comm.size; distance *= 2) {
    if (comm.rank & distance) {
      comm.send(comm.rank - distance, total);
      return undefined;
    }
    if (comm.rank + distance < comm.size) total = add(total, comm.recv<T>(comm.rank + distance));
  }
  return total;
}

const WAYS = {
  linear: linearSum,
  tree: treeSum,
  // The library's tree. Its types give a number for a number and a new Float64Array for a Float64Array (`Reduced`),
  // which a way generic in T cannot see: hence the casts.
  'comm.reduce': <T>(comm: Comm, value: T) => comm.reduce(value as T & Reducible, 'sum') as T | undefined,
};
type Way = keyof typeof WAYS;
/**
 * Rank 0's report on one way. `number` is the sum of the numbers and `numberWrongRounds` the rounds that got it
 * wrong; `arrayHead` is the array sum's first four elements, `arrayWrongRounds` the rounds that got any element
 * wrong, and `arrayWrongElements` how many elements the first of them got wrong. Rounds count the warm-up. What is
 * shown of a wrong result (the number; the head and its count of wrong elements) is the first wrong round's, else
 * the last round's.
 */
export interface WayResult {
  way: Way;
  number: number;
  numberWrongRounds: number;
  ms: number;
  arrayHead: number[];
  arrayWrongRounds: number;
  arrayWrongElements: number;
  arrayMs: number;
}

const addNumbers: Add<number> = (a, b) => a + b;
/** Adds `value` into `total`, in place. Each way is handed a copy of `mine`, so `mine` itself never changes. */
const addArrays: Add<Float64Array> = (total, value) => {
  for (let i = 0; i < total.length; i++) total[i]! += value[i]!;
  return total;
};

/** The rank program. Only rank 0's report means anything: it holds the results. */
export default function reduceRank(
  comm: Comm, { elements, rounds }: { elements: number; rounds: number },
): WayResult[] {
  const n = comm.size;
  const mine = new Float64Array(elements);
  for (let i = 0; i < elements; i++) mine[i] = comm.rank + i;
  const results = (Object.keys(WAYS) as Way[]).map((way): WayResult => ({
    way,
    number: NaN,
    numberWrongRounds: 0,
    ms: Infinity,
    arrayHead: [],
    arrayWrongRounds: 0,
    arrayWrongElements: 0,
    arrayMs: Infinity,
  }));
  // Round 0 only warms up (the JIT compiles the add loops); the ways take turns, so none runs colder than another.
  for (let round = 0; round <= rounds; round++) {
    for (const result of results) {
      comm.barrier();
      let started = performance.now();
      const number = WAYS[result.way](comm, comm.rank + 1, addNumbers);
      const numberMs = performance.now() - started;
      const copy = mine.slice(); // the adds happen in place; copied before the barrier, so the clock never times it
      comm.barrier();
      started = performance.now();
      const array = WAYS[result.way](comm, copy, addArrays);
      const arrayMs = performance.now() - started;
      if (comm.rank !== 0) continue;
      if (round > 0) {
        result.ms = Math.min(result.ms, numberMs);
        result.arrayMs = Math.min(result.arrayMs, arrayMs);
      }
      // Checked in every round, not just the last: a way that went wrong once is wrong. What is shown is the last
      // round's result, or the first wrong one.
      if (result.numberWrongRounds === 0) result.number = number!;
      if (number !== (n * (n + 1)) / 2) result.numberWrongRounds++;
      let wrongElements = 0;
      for (let i = 0; i < elements; i++) if (array![i] !== n * i + (n * (n - 1)) / 2) wrongElements++;
      if (result.arrayWrongRounds === 0) {
        result.arrayHead = Array.from(array!.subarray(0, 4));
        result.arrayWrongElements = wrongElements;
      }
      if (wrongElements > 0) result.arrayWrongRounds++;
    }
  }
  return results;
}

export async function run(options: ReduceOptions = {}): Promise<WayResult[]> {
  const { ranks: n = 4, transport = 'shared', bytes = 8 * 2 ** 20, rounds = 3, out = printLine } = options;
  if (!Number.isInteger(bytes / 8) || bytes < 32) {
    throw new RangeError(`Expected \`bytes\` to be a multiple of 8 from 32, got ${bytes}`);
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`Expected \`rounds\` to be an integer of at least 1, got ${rounds}`);
  }
  const elements = bytes / 8;
  const args = { elements, rounds };
  const results = (await launch<WayResult[]>(import.meta.url, { size: n, transport, args, timeoutMs: 120_000 }))[0]!;
  report(results, { ranks: n, transport, bytes, rounds }, out);
  return results;
}

/** Prints rank 0's results as two tables, each row with its verdict; a WrongResultError if any row is wrong. */
export function report(
  results: WayResult[],
  { ranks: n, transport, bytes, rounds }: { ranks: number; transport: TransportName; bytes: number; rounds: number },
  out: (line: string) => void,
): void {
  const elements = bytes / 8;
  const steps = Math.ceil(Math.log2(n));
  const label: Record<Way, string> = {
    linear: `linear (${plural(n - 1, 'step')})`,
    tree: `tree (${plural(steps, 'step')})`,
    'comm.reduce': 'comm.reduce',
  };
  const width = Math.max(...results.map((r) => label[r.way].length)) + 2;
  const heads = results.map((r) => `${r.arrayHead.join(', ')}, ...`);
  const headWidth = Math.max(...heads.map((head) => head.length)) + 2;
  const ms = (t: number) => `${t.toFixed(2).padStart(8)} ms`;
  out(`reduce: sum onto rank 0 of ${plural(n, 'rank')} over ${transport}, best of ${rounds}`);
  const sum = (n * (n + 1)) / 2;
  out(`numbers: rank r holds r + 1; closed form N(N+1)/2 = ${sum}`);
  // A wrong row says in how many rounds it was wrong, out of every round run: the timed ones and the warm-up.
  const inRounds = (wrong: number) => `in ${wrong} of ${plural(rounds + 1, 'round')}, warm-up included`;
  for (const r of results) {
    const verdict = r.numberWrongRounds === 0 ? 'right' : `WRONG ${inRounds(r.numberWrongRounds)} (expected ${sum})`;
    out(`  ${label[r.way].padEnd(width)}${String(r.number).padStart(8)} ${ms(r.ms)}  ${verdict}`);
  }
  const head = [0, 1, 2, 3].map((i) => n * i + (n * (n - 1)) / 2);
  out(`arrays: rank r holds a Float64Array of ${formatSize(bytes)}, element i = r + i; ` +
    `closed form N·i + N(N-1)/2 = ${head.join(', ')}, ...`);
  for (const [i, r] of results.entries()) {
    const verdict = r.arrayWrongRounds === 0
      ? `all ${plural(elements, 'element')} right`
      : `WRONG ${inRounds(r.arrayWrongRounds)} ` +
        `(${r.arrayWrongElements.toLocaleString('en')} of ${plural(elements, 'element')} in the first)`;
    out(`  ${label[r.way].padEnd(width)}${heads[i]!.padStart(headWidth)} ${ms(r.arrayMs)}  ${verdict}`);
  }
  const wrong = results.filter((r) => r.numberWrongRounds > 0 || r.arrayWrongRounds > 0).map((r) => r.way);
  if (wrong.length > 0) throw new WrongResultError(`reduce: wrong sums from ${wrong.join(', ')}`);
}

// Also runnable on its own: node dist/exercises/5-reduce.js. That runs the last build: after an edit, run
// npm run exercise -- reduce, which builds first.
if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) await run();
