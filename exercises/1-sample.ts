/**
 * Exercise 1 — sample: the two ways to spread work over threads.
 *
 * a) A pool: `map(module, items, { workers })` is Python's `Pool.map`. Each worker takes the next batch from a
 *    shared counter when it is free, so the split depends on timing: it is not guaranteed to be even, and it
 *    changes from run to run. The results still come back in input order, as map's return value. (The pool
 *    never starts more workers than there are batches: ask for 12 with 11 batches and 11 run.)
 * b) Manual ranks: `launch` starts the ranks, each decides which batches are its own (here: every size-th one,
 *    a fixed split), and the results come back through a channel: every other rank sends its results to rank 0,
 *    which keeps its own and gathers the rest itself (counting how many came from each rank), where the pool
 *    collected them for you.
 *
 * Run: npm run exercise -- sample      (try --ranks 3)
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { launch, map, MAX_WORKERS, type Comm, type TransportName } from '../src/index.js';
import { printLine } from '../src/term.js';
import { plural } from './plural.js';
import { WrongResultError } from './verdict.js';

export interface SampleOptions {
  ranks?: number; // pool workers in a), ranks in b); default 2
  transport?: TransportName;
  batches?: number; // default 11
  batchSize?: number; // numbers per batch, default 100,000
  out?: (line: string) => void;
}

interface Batch {
  from: number;
  to: number;
}

/** The work: how many primes lie in [from, to). Trial division, so later batches (bigger numbers) cost more. */
export function countPrimes({ from, to }: Batch): number {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/** What rank 0 brings home in b): the primes per batch, in batch order, and how many batches each rank sent. */
export interface Gathered {
  results: number[];
  batchesPerRank: number[];
}

/** b) The rank program: my batches are rank, rank + size, ...; rank 0 collects everyone's through the channels. */
export default function sampleRank(comm: Comm, batches: Batch[]): Gathered | null {
  const mine: [number, number][] = []; // [batch index, primes]
  for (let i = comm.rank; i < batches.length; i += comm.size) mine.push([i, countPrimes(batches[i]!)]);
  if (comm.rank !== 0) {
    comm.send(0, mine);
    return null;
  }
  const results = new Array<number>(batches.length);
  const batchesPerRank = [mine.length];
  for (const [i, primes] of mine) results[i] = primes;
  for (let source = 1; source < comm.size; source++) {
    const theirs = comm.recv<[number, number][]>(source);
    for (const [i, primes] of theirs) results[i] = primes;
    batchesPerRank.push(theirs.length);
  }
  return { results, batchesPerRank };
}

export interface SampleResult {
  results: number[];
  itemsPerWorker: number[];
  gathered: number[];
  batchesPerRank: number[];
}

export async function run(options: SampleOptions = {}): Promise<SampleResult> {
  const { ranks = 2, transport = 'shared', batches: count = 11, batchSize = 100_000, out = printLine } = options;
  // Checked before any worker starts. `batches: 2.5` would run 2 batches and print a total "below" 2.5 batches'
  // worth of numbers; a fractional batchSize would give batches fractional bounds. `ranks` here, not as map's
  // `workers`: an error about an option never given would leave the reader looking for it.
  for (const [name, value] of [['batches', count], ['batchSize', batchSize]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Expected \`${name}\` to be an integer of at least 1, got ${value}`);
    }
  }
  if (!Number.isInteger(ranks) || ranks < 1 || ranks > MAX_WORKERS) { // MAX_RANKS is 256 too
    throw new RangeError(`Expected \`ranks\` to be an integer from 1 to ${MAX_WORKERS}, got ${ranks}`);
  }
  const batches: Batch[] = Array.from({ length: count }, (_, i) => ({ from: i * batchSize, to: (i + 1) * batchSize }));

  // a) The pool: this module is also the workers' module; they call its `countPrimes` export on each batch.
  const { results, itemsPerWorker } = await map<Batch, number>(import.meta.url, batches, {
    workers: ranks,
    exportName: 'countPrimes',
    timeoutMs: 60_000,
  });
  const workers = itemsPerWorker.length; // map starts no more workers than there are batches
  const fewer = workers < ranks ? ` (${ranks} asked: map starts at most one worker per batch)` : '';
  const what = `${plural(count, 'batch', 'batches')} of ${plural(batchSize, 'number')}`;
  out(`a) pool: map(countPrimes, ${what}) on ${plural(workers, 'worker')}${fewer}`);
  out(`   primes per batch (in input order): [${results.join(', ')}]`);
  const split = workers === 1 ? 'one worker takes them all, every run' : 'the split depends on timing: run it again';
  out(`   batches per worker: [${itemsPerWorker.join(', ')}] (sum ${sum(itemsPerWorker)}; ${split})`);

  // b) Manual ranks: a fixed split, and results gathered by hand through the channels.
  const perRank = await launch<Gathered | null>(import.meta.url, {
    size: ranks,
    transport,
    args: batches,
    timeoutMs: 60_000,
  });
  const { results: gathered, batchesPerRank } = perRank[0]!;
  out(`b) ${plural(ranks, 'rank')} (${transport}): rank r takes batches r, r + ${ranks}, ... ` +
    '(a fixed split: the same every run)');
  out(`   batches per rank, as rank 0 counted them: [${batchesPerRank.join(', ')}] (sum ${sum(batchesPerRank)})`);
  out(`   rank 0 gathered (in batch order): [${gathered.join(', ')}]`);
  checkGathered(gathered, results, count * batchSize, out);
  return { results, itemsPerWorker, gathered, batchesPerRank };
}

/**
 * Prints whether rank 0 gathered the pool's results, and throws a WrongResultError if not. It walks the pool's
 * list, which has every batch: rank 0's list has a hole where a batch never arrived, and every() skips holes.
 * Only a right list's total is the number of primes below `below`: a wrong one's is rank 0's, beside the pool's.
 */
export function checkGathered(gathered: number[], results: number[], below: number, out: (line: string) => void): void {
  const same = gathered.length === results.length && results.every((primes, i) => gathered[i] === primes);
  const total = `total primes below ${below.toLocaleString('en')}`;
  out(same
    ? `   same as the pool's: yes; ${total}: ${sum(gathered)}`
    : `   same as the pool's: NO; rank 0's total: ${sum(gathered)}, the pool's ${total}: ${sum(results)}`);
  if (!same) throw new WrongResultError('sample: rank 0 did not gather the same results as the pool');
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

// Also runnable on its own: node dist/exercises/1-sample.js. That runs the last build: after an edit, run
// npm run exercise -- sample, which builds first.
if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) await run();
