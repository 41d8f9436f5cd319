// placeholder: replaced by the benchmark issue
import type { ExerciseOptions } from './bench/args.js';

/** Runs the exercise called `name` (placeholder: the exercises come with their own issue). */
export async function runExercise(name: string, opts: ExerciseOptions): Promise<void> {
  throw new Error('not implemented yet');
}
