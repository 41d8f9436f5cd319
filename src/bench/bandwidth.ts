// placeholder: replaced by the benchmark issue
import type { BandwidthOptions } from './args.js';

/** Runs the bandwidth benchmark and prints its results (placeholder: the measuring code comes with issue 4). */
export async function runBandwidth(opts: BandwidthOptions): Promise<void> {
  throw new Error('not implemented yet');
}
