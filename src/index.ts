// The public face of shmcomm: exports only.
// Its declarations name Node's types (worker_threads, NodeJS.Timeout): TypeScript 6 and later load @types/node only
// when told, so the reference is kept in the emitted index.d.ts for every program that imports shmcomm.
/// <reference types="node" preserve="true" />
export { RingBuffer, FRAME_HEADER_BYTES, RING_HEADER_BYTES, type Frame, type FrameMeta, type RingOptions, type BlockingOptions } from './ring.js';
export { Sender, Receiver, defaultChunkBytes, MAX_CHUNK_BYTES, type Received, type Copied, type MessageMeta } from './channel.js';
export { copyBytes } from './copy.js';
export { runWithoutRepMovsb } from './glibc.js';
export { encode, decode, TYPE, type Encoded } from './codec.js';
export {
  Comm, ANY_SOURCE, ANY_TAG, MAX_TAG, type Status, type ReduceOp, type ReduceFunction, type Reducible, type Reduced,
} from './comm.js';
export type { Sent, ResultOf, Posted, Widen, TypedArray } from './sent.js';
export { launch, defaultStrategy, MAX_RANKS, type LaunchOptions } from './launch.js';
export { map, MAX_WORKERS, type MapOptions, type MapResult } from './pool.js';
export { type WaitStrategy, type WaitOptions, WAIT_STRATEGIES } from './wait.js';
export type { TransportName } from './transport/types.js';
export {
  ShmcommError, TimeoutError, AbortedError, ClosedError, CorruptFrameError, DataCloneError, CommAbortedError,
  RankFailedError, DeadlockError, WorkerFailedError, type ShmcommErrorCode,
} from './errors.js';
