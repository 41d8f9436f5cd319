/** Shared test helpers: a seeded PRNG, message patterns, and workers that are always terminated. */
import { createHook } from 'node:async_hooks';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { sharedMemory, type WasmMemory } from '../src/wasm.js';

/** mulberry32: a tiny seeded PRNG, so every randomized test can be replayed from the seed it prints. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for a randomized test: SEED from the environment to replay a failure, otherwise a fresh one. */
export function testSeed(name: string): number {
  const seed = process.env.SEED ? Number(process.env.SEED) : (Math.random() * 2 ** 31) >>> 0;
  console.log(`  ${name}: seed ${seed} (replay with SEED=${seed})`);
  return seed;
}

/** Message sizes: mostly small, some up to `max`, and the edges 0 and max themselves. */
export function randomSize(random: () => number, max: number): number {
  const r = random();
  if (r < 0.05) return 0;
  if (r < 0.1) return max;
  if (r < 0.55) return Math.floor(random() * 64);
  return Math.floor(random() * (max + 1));
}

/** Fills `bytes` with the pattern of message number `seq`; `checkPattern` tells the first wrong byte. */
export function fillPattern(bytes: Uint8Array, seq: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seq * 131 + i * 7 + (i >> 8)) & 0xff;
}

export function checkPattern(bytes: Uint8Array, seq: number): number {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== ((seq * 131 + i * 7 + (i >> 8)) & 0xff)) return i;
  }
  return -1;
}

/** Runs a fixture worker to its result message; it is terminated whatever happens, within `timeoutMs`. */
export async function runWorker<T>(fixture: string, workerData: unknown, timeoutMs = 60_000): Promise<T> {
  const worker = new Worker(new URL(`./fixtures/${fixture}.js`, import.meta.url), { workerData });
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${fixture} did not finish in ${timeoutMs} ms`)), timeoutMs);
      worker.once('message', (value: T) => { clearTimeout(timer); resolve(value); });
      worker.once('error', (err) => { clearTimeout(timer); reject(err); });
      worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${fixture} exited with code ${code} before answering`)); });
    });
  } finally {
    await worker.terminate();
  }
}

/**
 * How many lines each writer printed in `text`, for lines `<writer> <i>` that `line` matches (the writer's i-th line,
 * from 0); a writer whose lines are not 0, 1, 2, ... in that order counts -1. Other lines are left out.
 */
export function linesPerWriter(text: string, line: RegExp): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const printed of text.split('\n')) {
    if (!line.test(printed)) continue;
    const at = printed.lastIndexOf(' ');
    const writer = printed.slice(0, at);
    const count = counts[writer] ?? 0;
    counts[writer] = count >= 0 && Number(printed.slice(at + 1)) === count ? count + 1 : -1;
  }
  return counts;
}

/** `promise`, or a failure naming `what` once `ms` have passed: a peer that never answers fails its test, in time. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Counts the timers (setTimeout, setInterval) made from now on that have neither run nor been cleared: after a call
 * that leaves none behind, `pending()` is 0. `stop()` ends the count.
 */
export function pendingTimers(): { pending: () => Promise<number>; stop: () => void } {
  const timers = new Set<number>();
  const hook = createHook({
    init: (id, type) => { if (type === 'Timeout') timers.add(id); },
    destroy: (id) => { timers.delete(id); },
  }).enable();
  return {
    // Node tells of a timer that ran or was cleared a moment later, with the destroy hooks it runs in setImmediate.
    pending: () => new Promise((resolve) => setImmediate(() => setImmediate(() => resolve(timers.size)))),
    stop: () => hook.disable(),
  };
}

/**
 * Collects the warnings the process emits from now on, as `name: message`: `seen()` answers them a tick later (Node
 * emits a warning on the next one). `stop()` ends the collection.
 */
export function processWarnings(): { seen: () => Promise<string[]>; stop: () => void } {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  return {
    seen: () => new Promise((resolve) => setImmediate(() => resolve([...warnings]))),
    stop: () => process.off('warning', onWarning),
  };
}

/**
 * `{ i, next }` objects nested `depth` deep: past about 1,900 the main thread cannot read what a worker (4 MiB of stack)
 * can write, and past about 7,500 a worker cannot read what another can write (up to about 12,000).
 */
export function nestedList(depth: number): unknown {
  let list: unknown = null;
  for (let i = 0; i < depth; i++) list = { i, next: list };
  return list;
}

/**
 * A handshake that keeps this thread from reading a worker's messages until the worker has exited, the moment Node
 * drains what is left of them (docs/probes/exit-drain.mjs). The worker calls `readyToFinish` just before it posts its
 * last messages; this thread calls `readNothingUntilExit` while the call it tests is under way. Slots of `flag`: 0,
 * then READY (the worker waits), BLOCKING (this thread blocks: the worker goes on), EXITED (its process 'exit').
 */
const READY = 1;
const BLOCKING = 2;
const EXITED = 3;

/** A flag for the handshake: pass it to the worker (in `args` or an item; it is shared, not copied). */
export function exitFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/** The worker's side: says it is ready, waits (30 s at most) until the other thread blocks, and says when it exits. */
export function readyToFinish(flag: Int32Array): void {
  process.on('exit', () => { Atomics.store(flag, 0, EXITED); Atomics.notify(flag, 0); });
  Atomics.store(flag, 0, READY);
  Atomics.notify(flag, 0);
  Atomics.wait(flag, 0, READY, 30_000);
}

/**
 * This thread's side: waits for the worker to be ready (30 s at most, reading messages meanwhile), then blocks, reading
 * none, until the worker exits or `ms` pass.
 */
export async function readNothingUntilExit(flag: Int32Array, ms = 1000): Promise<void> {
  for (let i = 0; i < 3000 && Atomics.load(flag, 0) !== READY; i++) await new Promise((ok) => setTimeout(ok, 10));
  if (Atomics.load(flag, 0) !== READY) throw new Error('the worker never became ready to finish (30 s)');
  Atomics.store(flag, 0, BLOCKING);
  Atomics.notify(flag, 0);
  Atomics.wait(flag, 0, BLOCKING, ms);
}

/**
 * Both peers' answers. When one fails, the ring is aborted so that the other, perhaps blocked on it, ends too: no
 * worker outlives the test. A peer that answered with `problems` (a consumer that found messages wrong, and aborted
 * the ring to stop) is reported before the other's failure, which that abort caused.
 */
export async function bothOrAbort<A, B>(ring: { abort(): void }, peers: [Promise<A>, Promise<B>]): Promise<[A, B]> {
  const settled = await Promise.allSettled(peers.map((peer) => peer.catch((err: unknown) => {
    ring.abort();
    throw err;
  })));
  for (const outcome of settled) {
    const problems = outcome.status === 'fulfilled' ? (outcome.value as { problems?: unknown }).problems : undefined;
    if (Array.isArray(problems) && problems.length > 0) throw new Error(`a peer found problems:\n${problems.join('\n')}`);
  }
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as [A, B];
}

// Every worker of this process that came online and has not exited yet, watched through the events each one emits,
// and how many came online in all.
const liveWorkers = new Set<Worker>();
let workersStarted = 0;
const emit = Worker.prototype.emit;
Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]) {
  if (event === 'online') {
    liveWorkers.add(this);
    workersStarted++;
  }
  if (event === 'exit') liveWorkers.delete(this);
  return emit.call(this, event, ...args);
};

/** How many workers of this process have come online so far. */
export function startedWorkers(): number {
  return workersStarted;
}

/** Fails unless every worker this process started has exited (within 5 s: exit events come a little late). */
export async function noWorkerLeft(after = 'the call returned'): Promise<void> {
  for (let i = 0; i < 250 && liveWorkers.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (liveWorkers.size > 0) throw new Error(`${liveWorkers.size} worker(s) still running after ${after}`);
}

/**
 * A shared WebAssembly.Memory of at least `bytes`, for a test that needs one; where the process cannot reserve it
 * (Node 20 under `ulimit -v` of about 10 GB or less: src/wasm.ts), an error that says so, not a TypeError on
 * `undefined` further on.
 */
export function wasmMemory(bytes: number): WasmMemory {
  const memory = sharedMemory(bytes);
  if (memory === undefined) {
    throw new Error(`This test needs a shared WebAssembly.Memory of ${bytes} bytes, and none could be reserved (is the ` +
      'address space limited, ulimit -v, on Node 20?); the command falls back without one, the test cannot');
  }
  return memory;
}

/**
 * Runs `node [nodeArgs...]` with its address space limited to 8 GB (`ulimit -v 8000000`), as a user's process may be,
 * with `env` added to its environment.
 */
export function underAddressLimit(nodeArgs: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('/bin/sh', ['-c', 'ulimit -v 8000000 && exec "$NODE" "$@"', 'sh', ...nodeArgs], {
    env: { ...process.env, ...env, NODE: process.execPath }, encoding: 'utf8', timeout: 60_000,
  });
}

/**
 * Whether a process under underAddressLimit gets a shared WebAssembly.Memory (sharedMemory, src/wasm.ts): V8 reserves
 * 8 to 10 GiB of addresses for each, and where it cannot, Node 20's V8 (11.3) refuses the memory, where Node 24's
 * (13.6) reserves only the memory's own pages and checks every access's bounds in the module's code instead.
 */
export function memoryUnderAddressLimit(): boolean {
  const wasm = new URL('../src/wasm.js', import.meta.url).href;
  const child = underAddressLimit(['--input-type=module', '-e',
    `import { sharedMemory } from '${wasm}'; console.log(sharedMemory(1 << 20) !== undefined);`]);
  if (child.status !== 0) throw new Error(`node did not run under ulimit -v 8000000: ${child.stderr}`);
  return JSON.parse(child.stdout) as boolean;
}

/** What a launch rejected with (its rank, code or cycle, where the error has one); throws if it resolved. */
export async function failure(promise: Promise<unknown>): Promise<Error & { rank?: number; code?: string; cycle?: string[] }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected launch to reject');
}

/** The error `fn` throws; fails the test if it throws none. */
export function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

/** A stdout or stderr that is not a terminal and keeps what is written. */
export function capture(): { isTTY: boolean; write(text: string): boolean; text(): string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (text) => chunks.push(text) > 0, text: () => chunks.join('') };
}

/** Processes whose parent is this process (forked children), read from /proc; [] where there is no /proc. */
export function childPids(): number[] {
  return childPidsOf(process.pid);
}

/** The pids whose parent is `parent`, from Linux's /proc ([] elsewhere). */
export function childPidsOf(parent: number): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/**
 * Float16Array where the runtime has one (Node 24 and later, Node 22 with --js-float16array), typed as the float kind
 * TypeScript knows (our lib, ES2024, declares none); undefined elsewhere: its tests are skipped there.
 */
export const Float16 = (globalThis as { Float16Array?: typeof Float32Array }).Float16Array;

/** Float16 bits: NaNs with payloads (quiet, signalling, negative), -0, the least subnormal, the largest, -Infinity, 1.5. */
export const HALF_BITS = [0x7e01, 0x7c01, 0xfe00, 0x8000, 0x0001, 0x7bff, 0xfc00, 0x3e00];

/** A Float16Array's (or any 2-byte view's) elements as their bits. */
export function bitsOf(view: ArrayBufferView): number[] {
  return Array.from(new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2));
}
