/**
 * The first module of every rank's and every map worker's thread. Source maps are a thread's own setting, which a
 * worker does not inherit from the thread that starts it (unless Node was started with `--enable-source-maps`), and a
 * module's map is read as the module loads: so the setting of the launching thread (`sourceMaps` in the worker's data)
 * is turned on here, before anything of shmcomm loads, and then the worker's own module is imported. A rank's error
 * then shows shmcomm's frames at their `.ts` lines, as well as the program's.
 *
 * Here too a worker whose program (its import, or its promise) can never settle exits with code 13, as Node's own
 * code says of a main module whose top-level await is pending when nothing is left on the event loop. This module
 * awaits nothing, and sets that code itself: Node 24 gives it to the 'exit' event too, where Node 20 gives a 0 (and
 * the event's code is how the launching thread tells it from a program's `process.exit(13)`: workers.ts,
 * neverSettled), and prints `Warning: Detected unsettled top-level await` at the line of this file that awaited.
 */
import { workerData } from 'node:worker_threads';
import type { WorkerEntryData } from './workers.js';

const { entry, sourceMaps } = workerData as WorkerEntryData;
if (sourceMaps && !process.sourceMapsEnabled) process.setSourceMapsEnabled(true);

/** Node's exit code for a main promise that can never settle (kUnsettledTopLevelAwait). */
const NEVER_SETTLED = 13;
let settled = false; // the worker's module has settled: it has posted its end, or failed to load
let emptied = false; // the event loop emptied before that
// 'beforeExit' comes when the event loop is empty, never on a process.exit(); its listeners (the program's) may give
// the loop work again, and an exit(0) much later then reads as a promise that never settled: rare enough to allow.
process.on('beforeExit', () => { if (!settled) emptied = true; });
// The event carries the exit's code, and Node then exits with process.exitCode as the listeners leave it.
process.on('exit', (code) => { if (emptied && code === 0) process.exitCode = NEVER_SETTLED; });

let running: Promise<unknown>; // the worker's module, which settles once the worker has posted its end
if (entry === 'rank') running = import('./rank.js');
else if (entry === 'pool') running = import('./pool-worker.js');
else throw new TypeError(`worker-entry: no worker called ${JSON.stringify(entry)} (expected 'rank' or 'pool')`);

// The worker has posted all it will (a rank's result or error, a map worker's 'done'), and stays, idle, until the
// thread that started it terminates it (launch and map terminate every worker they start). Node trap: a worker that
// exits leaves its unread messages to a drain that stops at the first one the starting thread cannot read (a value
// nested deeper than that thread's stack allows: a 'messageerror'), and the messages after it are lost; a worker that
// stays has them read as usual (docs/probes/exit-drain.mjs). Lost were a result behind an unreadable message of the
// program's own, the 'resultPosted' behind an unreadable result, and map's 'done'.
// A module that failed to load (its own programs' errors rank.js and pool-worker.js catch) is thrown again, outside the
// promise, as an exception that nothing catches: the worker's error, as a top-level await's rejection was. A rejection
// that nothing handles is one only by default: under --unhandled-rejections=warn the loop emptied, and read as code 13.
void running.then(() => {
  settled = true;
  setInterval(() => {}, 2 ** 31 - 1);
}, (error: unknown) => {
  settled = true;
  process.nextTick(() => { throw error; });
});
