/**
 * `shmcomm exercise <name>`: the six exercises of the course, in exercises/. Each exercise module exports
 * `run(options)`, which launches its ranks, prints what a learner checks against exercises/README.md, and returns
 * what it computed (so tests need not read the printout). The modules are imported only when asked for: this file
 * is dist/src/exercises.js, they are dist/exercises/*.js.
 */
import { UsageError, type ExerciseOptions } from './bench/args.js';
import type { TransportName } from './transport/types.js';

/** What every exercise's `run` accepts; an exercise ignores what does not apply to it. */
export interface ExerciseRunOptions {
  ranks?: number;
  transport?: TransportName;
  /** gather: also run the unsafe version (several producers on one ring, no lock). */
  unsafe?: boolean;
  /** Where the printout goes, one line at a time. Default console.log. */
  out?: (line: string) => void;
}

interface ExerciseModule {
  run(options: ExerciseRunOptions): Promise<unknown>;
}

/** Exercise names, in course order: their files, and the fewest ranks each can run on. */
const EXERCISES = {
  sample: { file: '1-sample', minRanks: 1 },
  ring: { file: '2-ring', minRanks: 1 },
  gather: { file: '3-gather', minRanks: 2 }, // rank 0 gathers from the others
  broadcast: { file: '4-broadcast', minRanks: 1 },
  reduce: { file: '5-reduce', minRanks: 1 },
  bandwidth: { file: '6-bandwidth', minRanks: 1 }, // always 2: it says so, and ignores --ranks
} as const;

export type ExerciseName = keyof typeof EXERCISES;
export const EXERCISE_NAMES = Object.keys(EXERCISES) as ExerciseName[];

/** Runs the exercise called `name` and resolves with what it returned. */
export async function runExercise(
  name: string,
  opts: Partial<ExerciseOptions> & { out?: (line: string) => void },
): Promise<unknown> {
  if (!Object.hasOwn(EXERCISES, name)) {
    throw new UsageError(`Unknown exercise "${name}": expected one of ${EXERCISE_NAMES.join(', ')}`);
  }
  const { file, minRanks } = EXERCISES[name as ExerciseName];
  if (opts.ranks !== undefined && opts.ranks < minRanks) {
    throw new UsageError(`Expected \`--ranks\` to be at least ${minRanks} for ${name}, got ${opts.ranks}`, '--ranks');
  }
  if (opts.unsafe === true && name !== 'gather') (opts.out ?? console.log)(`(--unsafe is for gather only: ignored)`);
  const url = new URL(`../exercises/${file}.js`, import.meta.url);
  const exercise = (await import(url.href)) as ExerciseModule;
  return exercise.run({
    ranks: opts.ranks,
    transport: opts.transport,
    unsafe: opts.unsafe === true,
    ...(opts.out ? { out: opts.out } : {}),
  });
}
