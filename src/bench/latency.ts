// placeholder: replaced by the benchmark issue
import type { LatencyOptions } from './args.js';

/** Runs the latency benchmark and prints its results (placeholder: the measuring code comes with issue 4). */
export async function runLatency(opts: LatencyOptions): Promise<void> {
  throw new Error('not implemented yet');
}
