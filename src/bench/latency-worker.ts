/**
 * One end of a latency measurement, run in a worker thread: `ping` sends a message and waits for it to come back
 * (and times it), `pong` sends back whatever arrives. Like osu_latency: one-way latency is half a round trip.
 *
 * Round trips are timed in batches (latency-drive.ts; about half a millisecond each, sized from the warm-up), and the
 * figure is the median of the batches' per-trip times, so a few batches hit by a scheduler hiccup or a GC do not
 * move it. With `--iterations N`, exactly N round trips are timed, in about 20 batches.
 *
 * Modes and what a round trip does (the ping's data starts in its own memory, as in the bandwidth benchmark):
 * - `spin`, `park`, `spinThenPark`: two shmcomm rings made with that wait strategy; `write` copies the message in,
 *   the pong `hold`s it and copies it straight into a slot of the ring back (`copyHeld` at `reserveOffset`), the
 *   ping verifies it in place at `frame.offset` and `release`s: no view, no allocation per trip.
 * - `async`: the same rings with `writeAsync`/`peekAsync`, which wait with Atomics.waitAsync on the event loop; the
 *   messages are read in place as in the other ring modes (`readAsync` would add an allocation of the message's
 *   size per trip: at 64 KiB that more than doubled the trip).
 * - `transfer`: one pooled Float64Array; the ping copies the source into it and transfers it, the pong transfers
 *   it back. `clone`: the source is cloned there and the clone is cloned back.
 *   Both receive synchronously: `receiveMessageOnPort` after a doorbell (an Int32 the sender bumps after each
 *   postMessage, waited on as shmcomm waits: spin 30 µs, then park). Both ways were measured on the first VM of
 *   docs/PERFORMANCE.md (2 cores, Node 20, other jobs running, 2026-11-25): through the event loop ('message' events) a
 *   one-way trip took 20-25 µs at 8 B to 64 KiB whatever the load; with the doorbell it took 3-5 µs whenever the two
 *   threads had a core each, and 44 µs when the load put them on one core (the 30 µs spin is then wasted, exactly as
 *   for the spinThenPark ring). The doorbell is kept: it is the faster one on a machine that is not oversubscribed, and
 *   it waits the way the ring modes wait, so postMessage gets its best case and the same handicap.
 * - `onmessage`: postMessage the way most code uses it, structured clone both ways, each side receiving through a
 *   'message' listener on its event loop: the baseline the other modes are measured against.
 * - `process`: a child process forked with `serialization: 'advanced'` echoes over IPC (process-peer.ts).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { RingBuffer } from '../ring.js';
import type { LatencyMode } from './args.js';
import { drive, type PingEndpoint } from './latency-drive.js';
import { makeSource, messageOk, sampleIndices, samplesOk, stamp } from './payload.js';
import {
  DATA_BELL, DATA_WAITER, SPACE_BELL, SPACE_WAITER, awaitReady, signalReady, waitUntil,
} from './signal.js';

export interface LatencyJob {
  role: 'ping' | 'pong';
  mode: LatencyMode;
  sizes: number[];
  /** Exactly this many timed round trips per size, instead of `seconds`. */
  iterations: number | undefined;
  seconds: number;
  warmupSeconds: number;
  control: Int32Array;
  /** Ring modes: the ring from ping to pong, and the ring back. */
  rings?: [SharedArrayBuffer, SharedArrayBuffer];
  /** transfer, clone, onmessage: this end of the MessageChannel between the two workers. */
  port?: MessagePort;
  /** process: the child script's file URL. */
  childUrl?: string;
}

export type LatencyReport =
  | { type: 'start'; bytes: number }
  | {
    type: 'result'; bytes: number; microseconds: number; roundTrips: number; seconds: number;
    /** Echoes that came back wrong, of `checked`: every round trip of the size, the warm-up's too. */
    failures: number; checked: number;
  }
  | { type: 'child'; pid: number }
  | { type: 'childExit'; pid: number }
  | { type: 'done' };

const report = (message: LatencyReport): void => parentPort!.postMessage(message);

// The doorbells of the postMessage modes: the pong's is DATA_BELL, the ping's is SPACE_BELL.
const PONG_BELL = DATA_BELL;
const PONG_WAITER = DATA_WAITER;
const PING_BELL = SPACE_BELL;
const PING_WAITER = SPACE_WAITER;
const END = 'end';

function ringPing(job: LatencyJob): PingEndpoint {
  const options = { strategy: job.mode === 'async' ? undefined : (job.mode as 'spin' | 'park' | 'spinThenPark') };
  const out = RingBuffer.attach(job.rings![0], options);
  const back = RingBuffer.attach(job.rings![1], options);
  // Payloads are 8-byte aligned: the echo at `back.frame.offset` is element offset / 8 of this view, checked there.
  const elementsOfBack = new Float64Array(back.data.buffer, back.data.byteOffset, back.capacity / 8);
  let source = makeSource(8);
  let bytesOfSource = new Uint8Array(source.buffer);
  let samples = sampleIndices(1);
  awaitReady(job.control);
  /** Checks the echo of message `seq` that `back` holds, and releases it. */
  const echoOk = (seq: number): boolean => {
    const { length, offset } = back.frame;
    const ok = length === bytesOfSource.length &&
      samplesOk(elementsOfBack, offset >> 3, 0, source.length, seq, source.length, samples);
    back.release();
    return ok;
  };
  const begin = (bytes: number): void => {
    source = makeSource(bytes);
    bytesOfSource = new Uint8Array(source.buffer);
    samples = sampleIndices(source.length);
  };
  const finish = (): void => out.close();
  if (job.mode === 'async') {
    return {
      begin,
      roundTrip: async (seq) => {
        stamp(source, seq);
        await out.writeAsync(bytesOfSource);
        return (await back.peekAsync()) !== null && echoOk(seq);
      },
      finish,
    };
  }
  return {
    begin,
    roundTrip: (seq) => {
      stamp(source, seq);
      out.write(bytesOfSource);
      return back.hold() >= 0 && echoOk(seq); // held, not peeked: no view per trip
    },
    finish,
  };
}

async function ringPong(job: LatencyJob): Promise<void> {
  const options = { strategy: job.mode === 'async' ? undefined : (job.mode as 'spin' | 'park' | 'spinThenPark') };
  const incoming = RingBuffer.attach(job.rings![0], options);
  const out = RingBuffer.attach(job.rings![1], options);
  signalReady(job.control);
  if (job.mode === 'async') {
    for (;;) {
      const message = await incoming.peekAsync();
      if (message === null) return;
      await out.writeAsync(message);
      incoming.release();
    }
  }
  for (;;) {
    const length = incoming.hold(); // the message stays where it is: copied from one ring straight into the other
    if (length < 0) return;
    incoming.copyHeld(out.data, out.reserveOffset(length));
    out.commit();
    incoming.release();
  }
}

/** Sends on `port` and rings the other side's doorbell (an Int32 count of messages posted). */
function post(control: Int32Array, port: MessagePort, bell: number, waiter: number, message: unknown, transfer: boolean): void {
  if (transfer) port.postMessage(message, [(message as Float64Array).buffer as ArrayBuffer]);
  else port.postMessage(message);
  Atomics.add(control, bell, 1);
  if (Atomics.load(control, waiter) !== 0) Atomics.notify(control, bell);
}

/** Blocks until the `received + 1`-th message posted to us is there, and takes it. */
function take(control: Int32Array, port: MessagePort, bell: number, waiter: number, arrived: () => boolean): unknown {
  waitUntil(control, bell, waiter, arrived);
  return receiveMessageOnPort(port)?.message;
}

function portPing(job: LatencyJob): PingEndpoint {
  const { control, port } = { control: job.control, port: job.port! };
  const transfer = job.mode === 'transfer';
  let received = 0;
  const arrived = (): boolean => Atomics.load(control, PING_BELL) - received > 0;
  let source = makeSource(8);
  let buffer: Float64Array | undefined;
  let samples = sampleIndices(1);
  awaitReady(control);
  return {
    begin: (bytes) => {
      source = makeSource(bytes);
      buffer = transfer ? new Float64Array(source.length) : undefined;
      samples = sampleIndices(source.length);
    },
    roundTrip: (seq) => {
      stamp(source, seq);
      if (buffer !== undefined) buffer.set(source);
      post(control, port, PONG_BELL, PONG_WAITER, buffer ?? source, transfer);
      const echo = take(control, port, PING_BELL, PING_WAITER, arrived);
      received++;
      if (transfer) buffer = echo as Float64Array;
      return messageOk(echo, seq, source.length, samples);
    },
    finish: () => {
      post(control, port, PONG_BELL, PONG_WAITER, END, false);
      port.close();
    },
  };
}

function portPong(job: LatencyJob): void {
  const { control, port } = { control: job.control, port: job.port! };
  const transfer = job.mode === 'transfer';
  let received = 0;
  const arrived = (): boolean => Atomics.load(control, PONG_BELL) - received > 0;
  signalReady(control);
  for (;;) {
    const message = take(control, port, PONG_BELL, PONG_WAITER, arrived);
    received++;
    if (message === END) break;
    post(control, port, PING_BELL, PING_WAITER, message, transfer);
  }
  port.close();
}

/** onmessage: the ping posts, then awaits the echo from its 'message' listener. */
function eventPing(job: LatencyJob): PingEndpoint {
  const port = job.port!;
  const receive = messagesOf(port);
  awaitReady(job.control);
  return echoPing((value) => port.postMessage(value), receive, () => {
    port.postMessage(END);
    port.close();
  });
}

/** onmessage: echoes every message from its 'message' listener until the end marker. */
function eventPong(job: LatencyJob): Promise<void> {
  const port = job.port!;
  signalReady(job.control);
  return new Promise((resolve) => {
    port.once('close', resolve); // the ping is gone without its end marker: stop rather than wait for ever
    port.on('message', (message: unknown) => {
      if (message === END) port.close();
      else port.postMessage(message);
    });
  });
}

async function processPing(job: LatencyJob): Promise<PingEndpoint> {
  const child = fork(fileURLToPath(job.childUrl!), ['latency'], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (child.pid !== undefined) report({ type: 'child', pid: child.pid });
  let finishing = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const receive = messagesOf(child);
  const fail = (error: Error): void => { process.nextTick(() => { throw error; }); };
  child.on('error', fail);
  child.on('exit', (code, signal) => {
    if (child.pid !== undefined) report({ type: 'childExit', pid: child.pid });
    if (!finishing) fail(new Error(`the process-mode child exited (${signal ?? `code ${code}`}) before the run ended`));
  });
  await receive(); // 'ready'
  return echoPing((value) => child.send(value), receive, async () => {
    finishing = true;
    child.disconnect();
    await exited;
  });
}

/** The next 'message' event of `emitter`, as a promise: one receive at a time (a ping waits for its echo). */
function messagesOf(emitter: { on(event: 'message', listener: (message: unknown) => void): unknown }): () => Promise<unknown> {
  let next: ((message: unknown) => void) | undefined;
  emitter.on('message', (message: unknown) => {
    const deliver = next;
    next = undefined;
    deliver?.(message);
  });
  return () => new Promise((resolve) => { next = resolve; });
}

/** A ping whose round trip is: stamp the source, send it, await the echo through `receive`, check it. */
function echoPing(send: (value: Float64Array<ArrayBuffer>) => void, receive: () => Promise<unknown>, finish: () => void | Promise<void>): PingEndpoint {
  let source = makeSource(8);
  let samples = sampleIndices(1);
  return {
    begin: (bytes) => {
      source = makeSource(bytes);
      samples = sampleIndices(source.length);
    },
    roundTrip: async (seq) => {
      stamp(source, seq);
      const echo = receive();
      send(source);
      return messageOk(await echo, seq, source.length, samples);
    },
    finish,
  };
}

function pingFor(job: LatencyJob): PingEndpoint | Promise<PingEndpoint> {
  switch (job.mode) {
    case 'spin': case 'park': case 'spinThenPark': case 'async': return ringPing(job);
    case 'process': return processPing(job);
    case 'onmessage': return eventPing(job);
    case 'transfer': case 'clone': return portPing(job);
  }
}

function pong(job: LatencyJob): void | Promise<void> {
  switch (job.mode) {
    case 'spin': case 'park': case 'spinThenPark': case 'async': return ringPong(job);
    case 'process': throw new Error('the process mode has no pong thread: its child process echoes');
    case 'onmessage': return eventPong(job);
    case 'transfer': case 'clone': return portPong(job);
  }
}

async function main(job: LatencyJob): Promise<void> {
  if (job.role === 'ping') await drive(job, await pingFor(job), report);
  else await pong(job);
  report({ type: 'done' });
}

await main(workerData as LatencyJob);
