/**
 * Exercise 2 — ring. Every rank sends to rank + 1, the last one to rank 0; rank 0 starts. Each rank appends its
 * number to the token, so the token comes back carrying its own path.
 *
 * How many connections does that need at minimum? Each rank sends to one rank only, so one one-way channel per
 * rank: N. (`launch` wires every ordered pair, N·(N-1), because a general program may talk to anyone.) This file
 * does not use `launch`: it creates exactly those N rings itself and hands each worker the two it uses.
 *
 * Run: npm run exercise -- ring --ranks 4      (try --transport clone)
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { RingBuffer, type TransportName } from '../src/index.js';
import { printLine } from '../src/term.js';
import { plural } from './plural.js';
import { WrongResultError } from './verdict.js';

export interface RingOptions {
  ranks?: number;
  transport?: TransportName;
  out?: (line: string) => void;
}

/** One one-way connection: its sending end goes to one rank, its receiving end to the next. */
type End = SharedArrayBuffer | MessagePort;

interface RankJob {
  exercise: 'ring'; // marks the workers run() starts: any other worker that imports this file only gets its exports
  rank: number;
  transport: TransportName;
  receiveFrom: End; // the connection from rank - 1
  sendTo: End; // the connection to rank + 1
}

const TIMEOUT_MS = 10_000; // no exercise may hang: a lost token is an error after this long

// ─── The rank program: runs in each worker ──────────────────────────────────────────────────────────────────

async function rank(job: RankJob): Promise<void> {
  const { send, receive } = connect(job);
  if (job.rank === 0) {
    send([0]); // rank 0 starts the token...
    const path = await receive(); // ...and gets it back, from rank size - 1, once it went all the way round
    parentPort!.postMessage([...path, 0]); // home: rank 0 writes the last step itself
    return;
  }
  const path = await receive();
  send([...path, job.rank]);
}

/** The token travels as an Int32Array of the ranks it visited: raw bytes in a ring, a message on a port. */
function connect(job: RankJob): { send(path: number[]): void; receive(): Promise<number[]> } {
  if (job.transport === 'shared') {
    const outbox = RingBuffer.attach(job.sendTo as SharedArrayBuffer); // we are this ring's one producer
    const inbox = RingBuffer.attach(job.receiveFrom as SharedArrayBuffer); // and this ring's one consumer
    return {
      send: (path) => outbox.write(Int32Array.from(path)),
      // async only to match the ports' receive: the read blocks this worker until the token comes (fine in a worker)
      receive: async () => {
        const bytes = inbox.read({ timeoutMs: TIMEOUT_MS })!; // null only if the ring was closed: never here
        return Array.from(new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
      },
    };
  }
  const outbox = job.sendTo as MessagePort;
  const inbox = job.receiveFrom as MessagePort;
  return {
    send: (path) => {
      const token = Int32Array.from(path);
      outbox.postMessage(token, job.transport === 'transfer' ? [token.buffer] : []);
    },
    receive: async () => {
      const [token] = (await once(inbox, 'message')) as [Int32Array];
      return Array.from(token);
    },
  };
}

if (!isMainThread && (workerData as RankJob | undefined)?.exercise === 'ring') await rank(workerData as RankJob);

// ─── The launcher: runs in the main thread ──────────────────────────────────────────────────────────────────

export interface RingResult {
  path: number[];
  connections: number;
}

export async function run(options: RingOptions = {}): Promise<RingResult> {
  const { ranks: size = 4, transport = 'shared', out = printLine } = options;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`Expected \`ranks\` to be at least 1, got ${size}`);

  // Exactly N one-way connections: connection i carries the token from rank i to rank (i + 1) % N.
  const connections: { sending: End; receiving: End }[] = [];
  for (let i = 0; i < size; i++) {
    if (transport === 'shared') {
      const ring = RingBuffer.create(4096); // a token is a few bytes: a small ring is plenty
      connections.push({ sending: ring.buffer, receiving: ring.buffer });
    } else {
      const { port1, port2 } = new MessageChannel(); // two-way by nature; we use port1 → port2 only
      connections.push({ sending: port1, receiving: port2 });
    }
  }

  // A worker does not inherit this thread's source maps (the shmcomm command turns them on): asked for, an error in a
  // rank names the lines of this .ts file, as in launch's ranks, not those of dist/'s build. Only when node runs with
  // no options of its own: a worker given execArgv inherits none of them, and refuses some (--max-old-space-size).
  const sourceMaps = process.sourceMapsEnabled && process.execArgv.length === 0;
  const execArgv = sourceMaps ? ['--enable-source-maps'] : undefined;
  const workers: Worker[] = [];
  try {
    const result = new Promise<number[]>((resolve, reject) => {
      for (let r = 0; r < size; r++) {
        const job: RankJob = {
          exercise: 'ring', rank: r, transport,
          receiveFrom: connections[(r - 1 + size) % size]!.receiving,
          sendTo: connections[r]!.sending,
        };
        // Ports must be transferred to the worker that uses them; SharedArrayBuffers are simply shared. The two are
        // always different ports (a port2 to receive on, a port1 to send on), even when 1 rank sends to itself.
        const ends = [job.receiveFrom, job.sendTo];
        const ports = ends.filter((end): end is MessagePort => !(end instanceof SharedArrayBuffer));
        const worker = new Worker(new URL(import.meta.url), { workerData: job, transferList: ports, execArgv });
        worker.on('message', resolve); // only rank 0 posts: the finished path
        worker.on('error', (error) => reject(new Error(`ring rank ${r} failed: ${error.message}`, { cause: error })));
        workers.push(worker);
      }
      setTimeout(() => reject(new Error(`ring: no token back after ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref();
    });
    const path = await result;

    const channels = transport === 'shared'
      ? plural(size, 'one-way shared ring')
      : `${plural(size, 'MessageChannel')} (used one way, ${transport})`;
    out(`ring of ${plural(size, 'rank')} over ${channels}: connection i carries rank i → rank (i + 1) % ${size}`);
    checkPath(path, size, out);
    out(size === 1
      ? 'connections: 1, from rank 0 back to itself (launch would wire none: 1 rank makes no pair)'
      : `connections: ${size}, one per rank (launch would wire every ordered pair: ${size * (size - 1)})`);
    return { path, connections: size };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/**
 * Prints the token's path and throws a WrongResultError unless it is 0, 1, ..., size - 1 and back to 0: every rank
 * once, in order, and home.
 */
export function checkPath(path: number[], size: number, out: (line: string) => void): void {
  const expected = [...Array.from({ length: size }, (_, rank) => rank), 0];
  const right = path.length === expected.length && expected.every((rank, i) => path[i] === rank);
  out(`token path: ${path.join(' → ')}${right ? '' : `, WRONG: expected ${expected.join(' → ')}`}`);
  if (!right) throw new WrongResultError(`ring: the token went ${path.join(' → ')}, not ${expected.join(' → ')}`);
}

// Also runnable on its own: node dist/exercises/2-ring.js. That runs the last build: after an edit, run
// npm run exercise -- ring, which builds first.
if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) await run();
