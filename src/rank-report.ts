/**
 * What a rank tells the launcher when it ends: its result, or its error as strings. A module of its own because
 * rank.ts is a worker's entry point, which the launcher must not import.
 */
import type { SerializedError } from './thrown.js';

/** What a rank reports to the launcher: its result (then 'resultPosted') or its error, once; and an uncaught error. */
export type RankReport =
  | { kind: 'result'; value: unknown }
  | ({ kind: 'error' } & SerializedError) // what its program threw
  | ({ kind: 'uncaught' } & SerializedError) // thrown where nothing catches it (a timer), maybe after the result
  | { kind: 'resultPosted' }; // right after 'result': if that one did not come, this thread could not read it

/**
 * A RankReport as posted on `parentPort`: `from` tells it apart from a message that the program posts there itself,
 * which the launcher leaves alone.
 */
export type RankMessage = RankReport & { from: typeof RANK_REPORT };
export const RANK_REPORT = 'shmcomm rank report';

/** Whether a message from a rank's worker is its report (and not the program's own). */
export function isRankReport(message: unknown): message is RankMessage {
  return typeof message === 'object' && message !== null && (message as { from?: unknown }).from === RANK_REPORT;
}
