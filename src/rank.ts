/**
 * The worker entry of every rank: builds the rank's Comm from what the launcher wired, imports the program and
 * calls its default export, then reports the return value (or the error) to the launcher.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Comm } from './comm.js';
import { isClass, kindOf } from './describe.js';
import { ControlBlock } from './control.js';
import { functionsByName, importProgram } from './load.js';
import { RANK_REPORT, type RankMessage, type RankReport } from './rank-report.js';
import { MessagePortTransport } from './transport/message-port.js';
import { SharedTransport } from './transport/shared.js';
import type { Transport, TransportName, TransportWiring } from './transport/types.js';
import { reportUncaughtErrors, serializeError } from './thrown.js';
import type { WaitStrategy } from './wait.js';
import type { WorkerEntryData } from './workers.js';
import { stdioFlushed } from './worker-stdio.js';

/** What the launcher sends each rank in `workerData` (worker-entry.ts reads `entry` and `sourceMaps` first). */
export interface RankData extends WorkerEntryData {
  entry: 'rank';
  moduleUrl: string;
  rank: number;
  size: number;
  transport: TransportName;
  strategy: WaitStrategy;
  chunkBytes: number | undefined; // the shared transport's, undefined for its default
  control: SharedArrayBuffer;
  wiring: TransportWiring;
  args: unknown;
}

async function run(data: RankData): Promise<unknown> {
  const control = new ControlBlock(data.control, data.size);
  const channels: Transport =
    data.transport === 'shared'
      ? new SharedTransport(data.rank, data.wiring, control, data.strategy, data.chunkBytes)
      : new MessagePortTransport(data.transport, data.wiring, control);
  const comm = Comm.createInternal(data.rank, data.size, channels, control, data.strategy);
  process.on('exit', (code) => control.markExitEvent(data.rank, code)); // what an exit code of 13 was: workers.ts
  const program = await importProgram(data.moduleUrl);
  if (typeof program.default !== 'function' || isClass(program.default)) {
    const named = functionsByName(program); // `export function main` for `export default`: name what is there
    const found = program.default === undefined ? `no default export${named && ` (it exports ${named} by name)`}`
      : `a default export of ${kindOf(program.default)}`;
    throw new TypeError(`${data.moduleUrl} has ${found}, where a rank runs \`export default function main(comm) {...}\``);
  }
  control.markStarted(data.rank);
  return await program.default(comm, data.args);
}

function report(message: RankReport): void {
  parentPort!.postMessage({ from: RANK_REPORT, ...message } satisfies RankMessage);
}

function reportError(thrown: unknown): void {
  report({ kind: 'error', ...serializeError(thrown) }); // strings, whatever was thrown
}

reportUncaughtErrors((error) => report({ kind: 'uncaught', ...error }));
try {
  const value = await run(workerData as RankData);
  await stdioFlushed(); // what the rank printed, before the report after which launch may terminate its worker
  try {
    report({ kind: 'result', value });
    // A value this thread could post may still be one the launching thread cannot read (nested deeper than its
    // smaller stack allows): Node then drops the message, with a 'messageerror' that cannot say whose it was. This
    // report, which any thread can read, comes next: the launcher that has no result by then knows it was lost.
    report({ kind: 'resultPosted' });
  } catch (err) {
    reportError(new TypeError(`the return value cannot be sent back to the launcher: ${serializeError(err).message}`));
  }
} catch (err) {
  await stdioFlushed();
  reportError(err);
}
