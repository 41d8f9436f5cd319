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

/** Exercise names, in course order, and their files. */
const FILES = {
  sample: '1-sample',
  ring: '2-ring',
  gather: '3-gather',
  broadcast: '4-broadcast',
  reduce: '5-reduce',
  bandwidth: '6-bandwidth',
} as const;

export type ExerciseName = keyof typeof FILES;
export const EXERCISE_NAMES = Object.keys(FILES) as ExerciseName[];

/** Runs the exercise called `name` and resolves with what it returned. */
export async function runExercise(
  name: string,
  opts: Partial<ExerciseOptions> & { out?: (line: string) => void },
): Promise<unknown> {
  if (!Object.hasOwn(FILES, name)) {
    throw new UsageError(`Unknown exercise "${name}": expected one of ${EXERCISE_NAMES.join(', ')}`);
  }
  const file = FILES[name as ExerciseName];
  const url = new URL(`../exercises/${file}.js`, import.meta.url);
  const exercise = (await import(url.href)) as ExerciseModule;
  return exercise.run({
    ranks: opts.ranks,
    transport: opts.transport,
    unsafe: opts.unsafe === true,
    ...(opts.out ? { out: opts.out } : {}),
  });
}
