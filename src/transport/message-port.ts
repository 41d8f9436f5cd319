/**
 * The postMessage transports: one MessageChannel per pair of ranks. `clone` posts the value (structured clone
 * copies it); `transfer` copies typed arrays into fresh buffers and transfers those, so the receiver gets the
 * memory without a second copy and the sender keeps its array (MPI's send semantics). Both copy a typed array over
 * a SharedArrayBuffer (or one itself) into a fresh ArrayBuffer, as the shared transport does: structured clone
 * would share that memory, not copy it, and the receiver would read, and write, the sender's array. (Nested inside
 * an object, such memory is shared as postMessage shares it: looking for it would cost every message a walk.)
 * `clone` also copies a view that covers only part of its buffer (a subarray): structured clone would copy the
 * whole buffer under it, 1 MiB for an 8-byte view of a 1 MiB array; and a resizable ArrayBuffer, or a view over one,
 * which would arrive resizable on 'clone' alone. That is the value sent, not what it holds: a view nested in an
 * object carries its whole buffer along, as postMessage carries it (a Buffer, the 8 KiB pool it was cut from).
 *
 * A rank blocks in `recv`, so it cannot wait for a 'message' event: it takes messages with
 * `receiveMessageOnPort`, and sleeps on its doorbell in the control block, which a sender rings after posting.
 * (postMessage puts the message on the receiving port's queue before it returns, so a woken receiver finds it.)
 */
import { types } from 'node:util';
import { receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { copyAsSent, encode, isFixedLength } from '../codec.js';
import type { ControlBlock } from '../control.js';
import type { Envelope, Transport, TransportWiring } from './types.js';

interface Posted {
  tag: number;
  value: unknown;
}

export class MessagePortTransport implements Transport {
  readonly name: 'clone' | 'transfer';
  private readonly ports: (MessagePort | null)[];
  private readonly control: ControlBlock;

  constructor(name: 'clone' | 'transfer', wiring: TransportWiring, control: ControlBlock) {
    this.name = name;
    this.ports = wiring.ports ?? [];
    this.control = control;
  }

  send(dest: number, value: unknown, tag: number): void {
    try {
      const port = this.ports[dest]!;
      const copy = this.copyToPost(value);
      // A copy of our own is transferred, on 'clone' too: cloning it would copy it a second time.
      if (copy === undefined) port.postMessage({ tag, value } satisfies Posted);
      else port.postMessage({ tag, value: copy } satisfies Posted, [bufferOf(copy)]);
    } catch (err) {
      throw explained(err, value);
    }
    this.control.ringDoorbell(dest);
  }

  /**
   * What a message to this rank itself delivers: what `send` would post, structured-cloned as postMessage clones it
   * (so nested SharedArrayBuffers are shared here too, as the README says of these transports).
   */
  copyForSelf(value: unknown): unknown {
    try {
      return this.copyToPost(value) ?? structuredClone(value); // a copy is ours already: no second one
    } catch (err) {
      throw explained(err, value);
    }
  }

  /**
   * The fresh copy that `send` posts instead of a binary value, or undefined when structured clone may have the
   * value as it is (a fixed-length ArrayBuffer, or a view of all of one, on `clone`; anything not binary).
   */
  private copyToPost(value: unknown): ArrayBufferView | ArrayBuffer | undefined {
    const transfer = this.name === 'transfer';
    if (ArrayBuffer.isView(value)) {
      // A DataView is always copied: its byteOffset throws once its buffer is detached, and the codec says why.
      if (transfer || types.isDataView(value)) return copyView(value);
      const buffer = value.buffer;
      const whole = value.byteOffset === 0 && value.byteLength === buffer.byteLength;
      return whole && buffer instanceof ArrayBuffer && isFixedLength(buffer) ? undefined : copyView(value);
    }
    if (value instanceof SharedArrayBuffer) return copyView(value);
    if (value instanceof ArrayBuffer && (transfer || !isFixedLength(value))) return copyView(value);
    return undefined;
  }

  poll(source: number): Envelope | undefined {
    const received = receiveMessageOnPort(this.ports[source]!);
    if (received === undefined) return undefined;
    const { tag, value } = received.message as Posted;
    return { value, tag, source };
  }

  recvBlocking(): undefined {
    return undefined; // no way to block on a port: the Comm sleeps on the doorbell
  }
}

/**
 * A copy of a typed array, DataView, ArrayBuffer or SharedArrayBuffer in a fresh ArrayBuffer of exactly its size,
 * through the codec, as the shared transport copies it: a plain typed array of the view's kind, found by its brand
 * (a Float64Array subclass arrives as a Float64Array, a Buffer as a Uint8Array, as on 'shared'; constructing the
 * view's own class instead passes the buffer to a constructor that may expect something else, and `Buffer`'s
 * prints a deprecation warning), a DataView, or an ArrayBuffer. A detached one is refused with a DataCloneError.
 */
function copyView(value: ArrayBufferView | ArrayBufferLike): ArrayBufferView | ArrayBuffer {
  return copyAsSent(value) as ArrayBufferView | ArrayBuffer;
}

/** The memory to transfer under a copy from copyView. */
function bufferOf(copy: ArrayBufferView | ArrayBuffer): Transferable {
  return (ArrayBuffer.isView(copy) ? copy.buffer : copy) as Transferable;
}

/** For a failed post or clone: our DataCloneError naming the culprit, when structured clone refused the value. */
function explained(err: unknown, value: unknown): unknown {
  if ((err as Error)?.name === 'DataCloneError') encode(value); // throws our DataCloneError, which names the culprit
  return err;
}
