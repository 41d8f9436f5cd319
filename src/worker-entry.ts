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
