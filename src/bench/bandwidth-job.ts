/**
 * The contract between the bandwidth benchmark's main thread and its workers: the job each worker gets, what it
 * reports back, and the shape of a mode's sending end.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { WasmMemory } from '../wasm.js';
import type { BandwidthMode } from './args.js';

/** The modes that run over a ring in shared memory: shmcomm's two and ringbuf.js. */
export type RingMode = 'shared' | 'zerocopy' | 'ringbuf';

export function isRingMode(mode: BandwidthMode): mode is RingMode {
  return mode === 'shared' || mode === 'zerocopy' || mode === 'ringbuf';
}

export interface BandwidthJob {
  role: 'sender' | 'receiver' | 'memcpy';
  mode: BandwidthMode;
  sizes: number[];
  window: number;
  seconds: number;
  warmupSeconds: number;
  /** The control block (signal.ts). */
  control: Int32Array;
  /** shared, zerocopy: the shmcomm ring's buffer; ringbuf: ringbuf.js's storage. */
  ring?: SharedArrayBuffer;
  /**
   * zerocopy: the shared WebAssembly.Memory whose buffer `ring` is (the receiver reads in WebAssembly); absent where
   * sharedMemory gave none (wasm.ts says why; the ring is then a plain SharedArrayBuffer, read in JavaScript).
   */
  memory?: WasmMemory;
  /** clone, transfer, transfer-alloc: this end of the MessageChannel between the two workers. */
  port?: MessagePort;
  /** process: the child script's file URL. */
  childUrl?: string;
}

/** What the workers tell the main thread. */
export type BandwidthReport =
  | { type: 'ready' }
  | { type: 'start'; bytes: number }
  | { type: 'result'; bytes: number; messages: number; seconds: number; sent: number }
  | { type: 'skip'; bytes: number }
  | { type: 'verified'; bytes: number; count: number; failures: number; firstFailure?: string }
  | { type: 'child'; pid: number }
  | { type: 'childExit'; pid: number }
  | { type: 'done' };

export function report(message: BandwidthReport): void {
  parentPort!.postMessage(message);
}

/** The sending end of one mode, driven by `drive`. Only `awaitAck` may be asynchronous (postMessage modes). */
export interface SenderEndpoint {
  /** Before a size: the source array of `bytes` bytes, views and pools, all allocated here, not per message. */
  begin(bytes: number): void;
  /** Message `seq` of the current size: stamp the source, then move it. */
  send(seq: number): void;
  /** Waits for the acknowledgement of the window just sent. */
  awaitAck(): void | Promise<void>;
  /** After a size (measured or skipped): tells the receiver that size `index` is over. */
  end(index: number): void;
  /** After the last size: waits until the receiver has reported, and lets go of its resources. */
  finish(): void | Promise<void>;
}

