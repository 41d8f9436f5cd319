// placeholder: replaced by the benchmark issue
import type { CollectivesOptions } from './args.js';

/** Runs the collectives benchmark and prints its results (placeholder: the measuring code comes with issue 4). */
export async function runCollectives(opts: CollectivesOptions): Promise<void> {
  throw new Error('not implemented yet');
}
