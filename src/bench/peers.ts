/**
 * The main thread's side of a measurement: start the workers of one mode, hand their reports to a callback,
 * resolve when each has said it is done, and make sure none of them (nor any child process they forked) outlives
 * the measurement, whether it succeeded or failed.
 *
 * The main thread never blocks here: it only listens. When anything fails (a worker throws or exits early, a
 * report says the data was wrong, nothing is heard for `stallMs`), `abort` runs first (it raises the shared abort
 * flags, so workers parked in Atomics.wait wake and stop), then every worker is terminated and every child killed.
 */
import type { TransferListItem, Worker } from 'node:worker_threads';
import { startWorker } from '../workers.js';

export interface PeerOptions {
  /** Called on failure before the workers are terminated: wake whatever the workers may be blocked on. */
  abort: () => void;
  /**
   * Fail when no worker has reported anything for this long (default STALL_MS). A worker reports at the start and
   * the end of each size, so a caller adds the longest a size may take: `stallMsFor`.
   */
  stallMs?: number;
  /**
   * A count the workers raise as they go, read about once a second: while it moves, silence is no stall. The
   * latency benchmark counts round trips, since `--iterations N` takes as long as N of them, however slow they are.
   */
  progress?: () => number;
}

/** Silence beyond what a size's own measuring takes that counts as no progress. */
export const STALL_MS = 60_000;

/**
 * The `stallMs` for sizes measured over `seconds` after a warm-up of `warmupSeconds` (six times that for a mode's
 * first size): `--time 600` is not a stall. A size measured by a count (latency's `--iterations`) has no such
 * bound: its group watches the count move instead (`progress`).
 */
export function stallMsFor(seconds: number, warmupSeconds: number): number {
  return STALL_MS + 6 * warmupSeconds * 1000 + seconds * 1000;
}

interface Report {
  type: string;
  pid?: number;
}

export class PeerGroup<R extends Report> {
  private readonly workers: Worker[] = [];
  private readonly pids = new Set<number>();
  private readonly finished: Promise<void>[] = [];
  private readonly options: PeerOptions;
  private failWith!: (error: unknown) => void;
  private readonly failed: Promise<never>;
  private lastHeard = performance.now();
  private idle = false;

  constructor(options: PeerOptions) {
    this.options = options;
    this.failed = new Promise<never>((_, reject) => { this.failWith = reject; });
    this.failed.catch(() => {}); // observed through run()
  }

  /**
   * Starts a worker on `url`. `onReport` gets every report but `done`; it may throw to fail the whole group.
   * A `{ type: 'child', pid }` report registers a child process to kill at the end, unless a
   * `{ type: 'childExit', pid }` report says it has exited.
   */
  start(url: URL, workerData: unknown, transferList: TransferListItem[], onReport: (report: R) => void): void {
    const worker = startWorker(url, { workerData, transferList });
    this.workers.push(worker);
    let done = false;
    this.finished.push(new Promise<void>((resolve, reject) => {
      worker.on('message', (report: R) => {
        this.lastHeard = performance.now();
        if (report.type === 'done') {
          done = true;
          resolve();
          return;
        }
        if (report.type === 'child' && report.pid !== undefined) this.pids.add(report.pid);
        if (report.type === 'childExit' && report.pid !== undefined) this.pids.delete(report.pid);
        try {
          onReport(report);
        } catch (error) {
          reject(error);
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => {
        if (!done) reject(new Error(`a benchmark worker exited with code ${code} before it finished`));
      });
    }));
  }

  /**
   * While idle, silence is no stall: the workers wait for their turn (the bandwidth benchmark runs its modes by
   * turns). The silence is counted again from the moment the group stops being idle.
   */
  setIdle(idle: boolean): void {
    this.idle = idle;
    this.lastHeard = performance.now();
  }

  /** Fails the group from outside (another group of the same run failed); run() then rejects with `error`. */
  fail(error: unknown): void {
    this.failWith(error);
  }

  /** Resolves when every worker is done; rejects with the first failure. Always cleans up. */
  async run(): Promise<void> {
    const stallMs = this.options.stallMs ?? STALL_MS;
    let progress = this.options.progress?.();
    const watchdog = setInterval(() => {
      const now = this.options.progress?.();
      if (now !== progress) {
        progress = now;
        this.lastHeard = performance.now();
      }
      const silent = performance.now() - this.lastHeard;
      if (!this.idle && silent > stallMs) this.failWith(new Error(`the benchmark made no progress for ${Math.round(silent / 1000)} s`));
    }, Math.min(1000, stallMs));
    try {
      await Promise.race([Promise.all(this.finished), this.failed]);
    } catch (error) {
      this.options.abort();
      throw error;
    } finally {
      clearInterval(watchdog);
      await this.close();
    }
  }

  private async close(): Promise<void> {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
