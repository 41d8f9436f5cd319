/**
 * The postMessage transports: one MessageChannel per pair of ranks. `clone` posts the value (structured clone
 * copies it); `transfer` copies typed arrays into fresh buffers and transfers those, so the receiver gets the
 * memory without a second copy and the sender keeps its array (MPI's send semantics). Both copy a typed array over
 * a SharedArrayBuffer (or one itself) into a fresh ArrayBuffer, as the shared transport does: structured clone
 * would share that memory, not copy it, and the receiver would read, and write, the sender's array. (Nested inside
 * an object, such memory is shared as postMessage shares it: looking for it would cost every message a walk.)
 *
 * A rank blocks in `recv`, so it cannot wait for a 'message' event: it takes messages with
 * `receiveMessageOnPort`, and sleeps on its doorbell in the control block, which a sender rings after posting.
 * (postMessage puts the message on the receiving port's queue before it returns, so a woken receiver finds it.)
 */
import { receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { encode } from '../codec.js';
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
      this.post(this.ports[dest]!, value, tag);
    } catch (err) {
      if ((err as Error)?.name === 'DataCloneError') encode(value); // throws our DataCloneError, which names the culprit
      throw err;
    }
    this.control.ring(dest);
  }

  private post(port: MessagePort, value: unknown, tag: number): void {
    const transfer = this.name === 'transfer';
    if (ArrayBuffer.isView(value) && (transfer || value.buffer instanceof SharedArrayBuffer)) {
      const copy = copyView(value);
      port.postMessage({ tag, value: copy } satisfies Posted, transfer ? [copy.buffer as Transferable] : []);
    } else if ((transfer && value instanceof ArrayBuffer) || value instanceof SharedArrayBuffer) {
      const copy = copyBuffer(value);
      port.postMessage({ tag, value: copy } satisfies Posted, transfer ? [copy] : []);
    } else {
      port.postMessage({ tag, value } satisfies Posted);
    }
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

/** A copy of an ArrayBuffer's or SharedArrayBuffer's bytes in a fresh ArrayBuffer. */
function copyBuffer(buffer: ArrayBuffer | SharedArrayBuffer): ArrayBuffer {
  const copy = new Uint8Array(buffer.byteLength);
  copy.set(new Uint8Array(buffer));
  return copy.buffer;
}

/** A copy of a typed array or DataView in a fresh ArrayBuffer of exactly its size, of the same kind. */
function copyView(view: ArrayBufferView): ArrayBufferView & { buffer: ArrayBuffer } {
  const bytes = new Uint8Array(view.byteLength);
  bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  if (view instanceof DataView) return new DataView(bytes.buffer);
  const Kind = view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView & { buffer: ArrayBuffer };
  return new Kind(bytes.buffer);
}
