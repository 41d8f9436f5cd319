/**
 * One interface, three ways to move a message between two ranks. A transport only moves messages; matching tags,
 * queueing and waiting for any source belong to the Comm above it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ArenaWiring } from '../arena.js';

/**
 * How messages travel between ranks (`launch`'s `transport`, `comm.transport`): `'shared'` through rings in shared
 * memory (the default; typed arrays as raw bytes, everything else as V8 serializes it); `'transfer'` by `postMessage`,
 * a binary value copied into a fresh buffer that is transferred (the sender keeps its own); `'clone'` by
 * `postMessage`, structured clone.
 */
export type TransportName = 'shared' | 'transfer' | 'clone';
export const TRANSPORT_NAMES: readonly TransportName[] = ['shared', 'transfer', 'clone'];

/** A message as it left the transport: the value, its tag, and the rank that sent it. */
export interface Envelope {
  value: unknown;
  tag: number;
  source: number;
}

/** One rank's end of every channel. */
export interface Transport {
  readonly name: TransportName;
  /** Sends `value` to `dest`; may block (a full ring). */
  send(dest: number, value: unknown, tag: number): void;
  /** Takes the next message from `source` if one has arrived; undefined otherwise. Never waits for a first frame. */
  poll(source: number): Envelope | undefined;
  /**
   * Waits for the next message from `source` on the channel itself, where the transport can (a ring): returns
   * undefined when it cannot, and the Comm waits on the rank's doorbell instead.
   */
  recvBlocking(source: number): Envelope | undefined;
  /** What a message from a rank to itself delivers: the copy that sending it to another rank would deliver. */
  copyForSelf(value: unknown): unknown;
}

/** What the launcher hands each rank to build its transport (travels in workerData). */
export interface TransportWiring {
  /** shared: ring buffers from this rank to each rank (null for itself). */
  outgoing?: (SharedArrayBuffer | null)[];
  /** shared: ring buffers from each rank to this rank (null for itself). */
  incoming?: (SharedArrayBuffer | null)[];
  /** shared: the arena every rank maps, for allreduce, reduce and bcast of large values (arena.ts); none for 1 rank. */
  arena?: ArenaWiring;
  /** transfer/clone: one MessagePort per peer rank (null for itself). */
  ports?: (MessagePort | null)[];
}
