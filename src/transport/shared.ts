/**
 * The shared transport: one SPSC ring per ordered pair of ranks, in SharedArrayBuffers. A value is copied into the
 * ring by the sender and out of it by the receiver (or read in place with `recvView`).
 */
import { SharedArena } from '../arena.js';
import { Receiver, Sender } from '../channel.js';
import { copyAsSent } from '../codec.js';
import type { ControlBlock } from '../control.js';
import { WAIT } from '../control.js';
import { CorruptFrameError } from '../errors.js';
import { RING_HEADER_BYTES, RING_LAYOUT, RingBuffer } from '../ring.js';
import type { WaitStrategy } from '../wait.js';
import type { Envelope, Transport, TransportWiring } from './types.js';

export class SharedTransport implements Transport {
  readonly name = 'shared' as const;
  private readonly senders: (Sender | null)[];
  private readonly receivers: (Receiver | null)[];
  /** The shared arena, where launch made one (arenaBytes > 0 and more than one rank). */
  readonly arena: SharedArena | undefined;

  constructor(rank: number, wiring: TransportWiring, control: ControlBlock, strategy: WaitStrategy, chunkBytes?: number) {
    // Each ring side records what this rank waits for while a wait on that ring lasts, for the deadlock watchdog.
    const watch = (kind: typeof WAIT.send | typeof WAIT.recv, peer: number) => ({
      onWait: (waiting: boolean) => control.setWaiting(rank, waiting ? kind : WAIT.none, peer),
      onStillWaiting: () => control.markLooked(rank),
    });
    this.senders = (wiring.outgoing ?? []).map((buffer, dest) =>
      buffer === null ? null : new Sender(RingBuffer.attach(buffer, { strategy, ...watch(WAIT.send, dest) }), {
        onMessage: () => control.ringDoorbell(dest),
        chunkBytes,
      }),
    );
    this.arena = wiring.arena === undefined ? undefined : new SharedArena(wiring.arena, this.senders.length);
    this.receivers = (wiring.incoming ?? []).map((buffer, source) =>
      buffer === null ? null : new Receiver(RingBuffer.attach(buffer, { strategy, ...watch(WAIT.recv, source) })),
    );
  }

  send(dest: number, value: unknown, tag: number): void {
    this.senders[dest]!.send(value, tag);
  }

  poll(source: number): Envelope | undefined {
    const receiver = this.receivers[source]!;
    if (!receiver.hasMessage()) return undefined;
    const message = receiver.recv();
    if (message === null) throw endMarkerError(receiver, source);
    return { value: message.value, tag: message.tag, source };
  }

  recvBlocking(source: number): Envelope {
    const receiver = this.receivers[source]!;
    const message = receiver.recv();
    if (message === null) throw endMarkerError(receiver, source);
    return { value: message.value, tag: message.tag, source };
  }

  copyForSelf(value: unknown): unknown {
    return copyAsSent(value); // what a ring would carry
  }

  /** The receiving channel from `source`, for zero-copy reads in place. */
  receiver(source: number): Receiver {
    return this.receivers[source]!;
  }
}

/**
 * A rank's rings are never closed: the end of the stream in one (recv's null, which was read as a message and threw
 * "Cannot read properties of null") is a frame header overwritten, where the consumer stands (its TAIL).
 */
function endMarkerError(receiver: Receiver, source: number): CorruptFrameError {
  const ring = receiver.ring;
  const tail = Atomics.load(new Int32Array(ring.buffer, 0, RING_HEADER_BYTES / 4), RING_LAYOUT.TAIL);
  return new CorruptFrameError(tail & (ring.capacity - 1), `an end marker in the ring from rank ${source}, which no rank closes`);
}
