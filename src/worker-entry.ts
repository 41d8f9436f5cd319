/**
 * The first module of every rank's and every map worker's thread. Source maps are a thread's own setting, which a
 * worker does not inherit from the thread that starts it (unless Node was started with `--enable-source-maps`), and a
 * module's map is read as the module loads: so the setting of the launching thread (`sourceMaps` in the worker's data)
 * is turned on here, before anything of shmcomm loads, and then the worker's own module is imported. A rank's error
 * then shows shmcomm's frames at their `.ts` lines, as well as the program's.
 */
import { workerData } from 'node:worker_threads';
import type { WorkerEntryData } from './workers.js';

const { entry, sourceMaps } = workerData as WorkerEntryData;
if (sourceMaps && !process.sourceMapsEnabled) process.setSourceMapsEnabled(true);
if (entry === 'rank') await import('./rank.js');
else if (entry === 'pool') await import('./pool-worker.js');
else throw new TypeError(`worker-entry: no worker called ${JSON.stringify(entry)} (expected 'rank' or 'pool')`);

// The worker has posted all it will (a rank's result or error, a map worker's 'done'), and stays, idle, until the
// thread that started it terminates it (launch and map terminate every worker they start). Node trap: a worker that
// exits leaves its unread messages to a drain that stops at the first one the starting thread cannot read (a value
// nested deeper than that thread's stack allows: a 'messageerror'), and the messages after it are lost; a worker that
// stays has them read as usual (docs/probes/exit-drain.mjs). Lost were a result behind an unreadable message of the
// program's own, the 'resultPosted' behind an unreadable result, and map's 'done'.
setInterval(() => {}, 2 ** 31 - 1);
