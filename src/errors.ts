/**
 * The errors shmcomm throws. Each is a class with a stable `name` and `code` and the facts as fields, so callers
 * can branch on `err instanceof TimeoutError` or `err.code === 'SHMCOMM_TIMEOUT'` and print a useful message.
 * Plain argument mistakes are the built-in `RangeError` / `TypeError`, with what was given and what was allowed.
 */

/** The `code` of each error class below, one a class: TimeoutError's is 'SHMCOMM_TIMEOUT', and so on. */
export type ShmcommErrorCode =
  | 'SHMCOMM_TIMEOUT' | 'SHMCOMM_ABORTED' | 'SHMCOMM_CLOSED' | 'SHMCOMM_CORRUPT_FRAME' | 'SHMCOMM_DATA_CLONE'
  | 'SHMCOMM_COMM_ABORTED' | 'SHMCOMM_RANK_FAILED' | 'SHMCOMM_DEADLOCK' | 'SHMCOMM_WORKER_FAILED';

/** The base class: every error of ours has a `code`. Test `err instanceof ShmcommError`, or its `code`. */
export class ShmcommError extends Error {
  /** Which error this is, stable across versions (`'SHMCOMM_TIMEOUT'`, ...): one per class. */
  readonly code: ShmcommErrorCode;
  /** For subclasses: `name` becomes the class's name. */
  constructor(message: string, code: ShmcommErrorCode, options?: {
    /** The error that led to this one (`err.cause`). */
    cause?: unknown;
  }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A blocking call did not complete within its `timeoutMs`. */
export class TimeoutError extends ShmcommError {
  /** Always `'SHMCOMM_TIMEOUT'`. */
  declare readonly code: 'SHMCOMM_TIMEOUT';
  /**
   * The call that gave up, as the message names it: `'send'`, `'recv'`, `'write'`, `'launch'`, `'map'`... A RingBuffer's
   * blocking reads `read`, `peek` and `hold` are all `'read'` (`readAsync` and `peekAsync` name themselves).
   */
  readonly op: string;
  /** The call's `timeoutMs`, in milliseconds. */
  readonly ms: number;
  /** What the call had done when it gave up ('3072 of the message's 8000 bytes are sent; ...'), or ''. */
  readonly detail: string;
  /** Made by shmcomm: the message is `${op} timed out after ${ms} ms`, then `: ${detail}` when there is one. */
  constructor(op: string, ms: number, detail = '') {
    super(`${op} timed out after ${ms} ms${detail ? `: ${detail}` : ''}`, 'SHMCOMM_TIMEOUT');
    this.op = op;
    this.ms = ms;
    this.detail = detail;
  }
}

/** The ring (or channel) was aborted while this call waited on it: every waiter wakes and throws this. */
export class AbortedError extends ShmcommError {
  /** Always `'SHMCOMM_ABORTED'`. */
  declare readonly code: 'SHMCOMM_ABORTED';
  /** Made by shmcomm: the message is `${op} aborted: ${reason}`. */
  constructor(op: string, reason = 'the channel was aborted') {
    super(`${op} aborted: ${reason}`, 'SHMCOMM_ABORTED');
  }
}

/** A write to a ring whose producer already called `close()`. */
export class ClosedError extends ShmcommError {
  /** Always `'SHMCOMM_CLOSED'`. */
  declare readonly code: 'SHMCOMM_CLOSED';
  /** Made by shmcomm: `op` is the call that was refused (`'write'`, `'close'`, ...). */
  constructor(op: string) {
    super(`${op} on a closed ring: the producer called close()`, 'SHMCOMM_CLOSED');
  }
}

/**
 * A frame header read from shared memory does not make sense: the memory was corrupted or misused. `offset` is where
 * in the ring, or -1 when the frames are sound one by one but do not make a message (the channel's chunks).
 */
export class CorruptFrameError extends ShmcommError {
  /** Always `'SHMCOMM_CORRUPT_FRAME'`. */
  declare readonly code: 'SHMCOMM_CORRUPT_FRAME';
  /** The bad header's byte offset in the ring's data region, or -1 for chunks that do not make a message. */
  readonly offset: number;
  /** Made by shmcomm: `problem` says what was wrong (`unknown kind 7`, ...). */
  constructor(offset: number, problem: string) {
    const where = offset >= 0 ? `frame header at ring offset ${offset}` : 'chunked message';
    super(`corrupt ${where}: ${problem}`, 'SHMCOMM_CORRUPT_FRAME');
    this.offset = offset;
  }
}

/**
 * A value that the structured-clone algorithm refuses (a function, a symbol, ...), or that the shared transport does:
 * a SharedArrayBuffer inside another value (V8's serializer refuses it; alone, or as a view, it goes as a copy), or
 * Node's own cloneable objects (a KeyObject, a Blob), which only postMessage carries.
 */
export class DataCloneError extends ShmcommError {
  /** Always `'SHMCOMM_DATA_CLONE'`. */
  declare readonly code: 'SHMCOMM_DATA_CLONE';
  /**
   * What was refused, in words, as the message begins: `'a symbol'`, `'an object containing a function (named
   * onClick)'`, `'a detached ArrayBuffer'`, ...
   */
  readonly valueType: string;
  /** Made by shmcomm: the message is `${valueType} cannot be sent: ${why}`, then ` (${detail})` (where it was). */
  constructor(valueType: string, detail = '', why = 'only values that structured clone accepts can travel') {
    super(`${valueType} cannot be sent: ${why}${detail ? ` (${detail})` : ''}`, 'SHMCOMM_DATA_CLONE');
    this.valueType = valueType;
  }
}

/** Thrown in a rank that was blocked (or about to block) when another rank failed. */
export class CommAbortedError extends ShmcommError {
  /** Always `'SHMCOMM_COMM_ABORTED'`. */
  declare readonly code: 'SHMCOMM_COMM_ABORTED';
  /** The rank whose failure aborted the run (-1 when the launcher aborted for another reason). */
  readonly rank: number;
  /** Made by the ranks: `reason` is why the run was aborted. */
  constructor(rank: number, reason: string) {
    super(rank >= 0 ? `aborted because rank ${rank} failed: ${reason}` : `aborted: ${reason}`, 'SHMCOMM_COMM_ABORTED');
    this.rank = rank;
  }
}

/**
 * A rank threw, exited or could not start. `cause` is its error rebuilt in the launching thread: the name, message,
 * stack and `code`, in a built-in class (TypeError, RangeError, ...) where it was one, else in Error (our own
 * classes too: `cause.code` tells them).
 */
export class RankFailedError extends ShmcommError {
  /** Always `'SHMCOMM_RANK_FAILED'`. */
  declare readonly code: 'SHMCOMM_RANK_FAILED';
  /** The rank that failed first, from 0. */
  readonly rank: number;
  /**
   * The rank's error, rebuilt in the launching thread: in its built-in class where it was one, else in `Error` (a
   * `DataCloneError` comes back with that `name` and `code`, but not `instanceof`); undefined for an exit (`exitCode`).
   */
  declare cause?: unknown;
  /** The worker's exit code when the rank failed by exiting (`process.exit(7)`: 7), else undefined. */
  readonly exitCode: number | undefined;
  /** Made by `launch`: the message is `rank ${rank} failed: ${message}`. */
  constructor(rank: number, message: string, cause?: unknown, exitCode?: number) {
    super(`rank ${rank} failed: ${message}`, 'SHMCOMM_RANK_FAILED', cause === undefined ? {} : { cause });
    this.rank = rank;
    this.exitCode = exitCode;
  }
}

/**
 * Ranks that wait for one another, or for a rank that has finished, where nothing moved for `deadlockMs`: every
 * live rank waiting, or some of them while others still run (launch's watchdog).
 */
export class DeadlockError extends ShmcommError {
  /** Always `'SHMCOMM_DEADLOCK'`. */
  declare readonly code: 'SHMCOMM_DEADLOCK';
  /**
   * One line per live rank: what it waits for (`rank 0 waits to receive from rank 1`), or `rank 2 is running` (also
   * said of a rank outside the deadlock caught in a wait on a rank that is not stuck, which began since the watchdog's
   * last look or in which it has not looked in vain twice).
   */
  readonly cycle: readonly string[];
  /** Made by `launch`'s watchdog: the message is `deadlock: ` and the lines of `cycle`, joined by `; `. */
  constructor(cycle: string[]) {
    super(`deadlock: ${cycle.join('; ')}`, 'SHMCOMM_DEADLOCK');
    this.cycle = cycle;
  }
}

/**
 * A worker of `map` failed, and so did the map. `item` is the index of the item whose call threw (or rejected, or
 * returned a value that cannot be cloned, or that the calling thread could not read), or -1 when the failure is not one
 * item's: the module could not be loaded or lacks the export, an error went uncaught (thrown from a timer, or a
 * rejection that nothing handles), or the worker exited before finishing its items (its message names the item it was
 * on, but a timer may have exited it, not that item's call). `cause` is the error, where there is one, rebuilt in the
 * calling thread as RankFailedError's is; a missing export and an exit have none.
 */
export class WorkerFailedError extends ShmcommError {
  /** Always `'SHMCOMM_WORKER_FAILED'`. */
  declare readonly code: 'SHMCOMM_WORKER_FAILED';
  /** The worker's id, from 0: the one that failed first (every worker meets a module that does not load). */
  readonly worker: number;
  /** The index of the item whose call failed; -1 for a failure that is not one item's. */
  readonly item: number;
  /** The worker's exit code when it failed by exiting before finishing its items, else undefined. */
  readonly exitCode: number | undefined;
  /**
   * The function's (or the module's) error, rebuilt in the calling thread as `RankFailedError`'s is; undefined for a
   * missing export and for an exit.
   */
  declare cause?: unknown;
  /**
   * Made by `map`. `message` is whole: the messages differ in shape (`item 3 failed in worker 1: boom`, `could not
   * load module`).
   */
  constructor(worker: number, item: number, message: string, cause?: unknown, exitCode?: number) {
    super(message, 'SHMCOMM_WORKER_FAILED', cause === undefined ? {} : { cause });
    this.worker = worker;
    this.item = item;
    this.exitCode = exitCode;
  }
}
