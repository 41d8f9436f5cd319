/**
 * `shmcomm exercise <name>`: the six exercises of the course, in exercises/. Each exercise module exports
 * `run(options)`, which launches its ranks, prints what a learner checks against exercises/README.md, and returns
 * what it computed (so tests need not read the printout). The modules are imported only when asked for: this file
 * is dist/src/exercises.js, they are dist/exercises/*.js.
 */
import { EXERCISE_NAMES, exerciseNamed, unknownExercise, type ExerciseName, type ExerciseOptions } from './bench/args.js';
import { UsageError } from './bench/options.js';
import { printLine } from './term.js';
import type { TransportName } from './transport/types.js';

export { EXERCISE_NAMES, type ExerciseName };
// Defined beside the exercises, which throw it in the main thread once their checks fail; every rank worker loads
// them, and verdict.ts imports nothing (it says why there).
export { WrongResultError } from '../exercises/verdict.js';

/** What every exercise's `run` accepts; an exercise ignores what does not apply to it. */
export interface ExerciseRunOptions {
  ranks?: number;
  transport?: TransportName;
  /** gather: also run the unsafe version (several producers on one ring, no lock). */
  unsafe?: boolean;
  /** Where the printout goes, one line at a time. Default printLine: console.log, wrapped to a terminal's width. */
  out?: (line: string) => void;
}

interface ExerciseModule {
  run(options: ExerciseRunOptions): Promise<unknown>;
}

/**
 * Each exercise's file and the fewest ranks it can run on. The names, in course order, are EXERCISE_NAMES from the
 * command line's parser (bench/args.ts), which needs them first; the Record type makes this table cover them all.
 */
const EXERCISES: Record<ExerciseName, { file: string; minRanks: number }> = {
  sample: { file: '1-sample', minRanks: 1 },
  ring: { file: '2-ring', minRanks: 1 },
  gather: { file: '3-gather', minRanks: 2 }, // rank 0 gathers from the others
  broadcast: { file: '4-broadcast', minRanks: 1 },
  reduce: { file: '5-reduce', minRanks: 1 },
  bandwidth: { file: '6-bandwidth', minRanks: 1 }, // always 2: it says so, and ignores --ranks
};

/**
 * Runs the exercise that `text` names, by its name, its number or its file's name (`gather`, `3`, `3-gather`), and
 * resolves with what it returned.
 */
export async function runExercise(
  text: string,
  opts: Partial<ExerciseOptions> & { out?: (line: string) => void },
): Promise<unknown> {
  const name = exerciseNamed(text);
  if (name === undefined) throw unknownExercise(text);
  const { file, minRanks } = EXERCISES[name];
  if (opts.ranks !== undefined && opts.ranks < minRanks) {
    throw new UsageError(`Expected \`--ranks\` to be at least ${minRanks} for ${name}, got ${opts.ranks}`, '--ranks');
  }
  if (opts.unsafe === true && name !== 'gather') (opts.out ?? printLine)(`(--unsafe is for gather only: ignored)`);
  const url = new URL(`../exercises/${file}.js`, import.meta.url);
  const exercise = (await import(url.href)) as ExerciseModule;
  return exercise.run({
    ranks: opts.ranks,
    transport: opts.transport,
    unsafe: opts.unsafe === true,
    ...(opts.out ? { out: opts.out } : {}),
  });
}
