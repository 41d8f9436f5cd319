/**
 * Exercise 6 — bandwidth: two ranks, one sends typed arrays of log-spaced sizes and the other receives them; how
 * many MB/s get through, per size, for three ways of moving them:
 *
 * - clone: postMessage with structured clone, the way Python's multiprocessing pickles: a copy on each side;
 * - transfer: postMessage with the ArrayBuffer in the transfer list: the memory changes owner, no copy in between;
 * - shared: shmcomm's ring in a SharedArrayBuffer: one copy in (send), one copy out (recv), and no system call
 *   while the stream flows (a side that finds nothing to do spins briefly, then sleeps in Atomics.wait).
 *
 * Small messages measure the cost per message (MB/s grow with the size); large ones measure the copies (the
 * curve flattens). The log-log chart shows both regimes at once. This is the `shmcomm bench bandwidth` machinery
 * (windows of messages then an acknowledgement, as in OSU's osu_bw; every message verified by the receiver),
 * called with the exercise's settings; `shmcomm bench bandwidth` adds zerocopy, memcpy and more. The same run from
 * the command line, to vary it: `shmcomm bench bandwidth --modes clone,transfer,shared --max 16MiB --points 15
 * --time 0.1 --warmup 0.02`. The code that moves the messages: src/bench/bandwidth-ports.ts (clone, transfer),
 * src/bench/bandwidth-rings.ts (shared), src/bench/bandwidth-worker.ts (the windows, the clock, the checks).
 *
 * Run: npm run exercise -- bandwidth
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import type { BandwidthOptions } from '../src/bench/args.js';
import { runBandwidth } from '../src/bench/bandwidth.js';
import { runWithoutRepMovsb, type TransportName } from '../src/index.js';

export interface BandwidthExerciseOptions {
  ranks?: number; // always 2: one sender, one receiver
  transport?: TransportName; // all three are measured
  minBytes?: number; // default 8 B
  maxBytes?: number; // default 16 MiB
  points?: number; // sizes, log-spaced from minBytes to maxBytes; default 15
  seconds?: number; // measuring time per mode and size; default 0.1
  out?: (line: string) => void;
}

export interface BandwidthExerciseResult {
  settings: BandwidthOptions;
  lines: string[]; // what was printed: the table, the chart, messages per second
}

export async function run(options: BandwidthExerciseOptions = {}): Promise<BandwidthExerciseResult> {
  const { minBytes = 8, maxBytes = 16 * 2 ** 20, points = 15, seconds = 0.1, out } = options;
  const print = out ?? console.log;
  if (options.ranks !== undefined && options.ranks !== 2) print(`bandwidth always runs on 2 ranks (--ranks ${options.ranks} ignored)`);
  if (options.transport !== undefined) print(`bandwidth measures all three transports (--transport ${options.transport} ignored)`);

  const settings: BandwidthOptions = {
    modes: ['clone', 'transfer', 'shared'],
    minBytes,
    maxBytes,
    points,
    seconds,
    warmupSeconds: seconds / 5, // unmeasured windows before each size (six times as long for the first: V8 compiles)
    window: 64, // messages in flight before the receiver acknowledges
    ringBytes: undefined, // each ring mode at its best ring size; larger messages cross the ring in chunks
    rounds: 1, // each size measured once
    chart: true,
    json: false,
    csvFile: undefined,
  };
  // The benchmark writes its report in one piece; the exercise prints it line by line through `out`.
  const lines: string[] = [];
  const stdout = {
    isTTY: out === undefined && process.stdout.isTTY, // colors only on a terminal
    columns: process.stdout.columns,
    write(text: string) {
      for (const line of text.replace(/\n$/, '').split('\n')) {
        lines.push(line);
        print(line);
      }
    },
  };
  await runBandwidth(settings, { stdout, stderr: process.stderr }); // progress goes to stderr, on a terminal only
  return { settings, lines };
}

// Also runnable on its own: node dist/exercises/6-bandwidth.js. That runs the last build: after an edit, run
// npm run exercise -- bandwidth, which builds first. On an AMD CPU it then goes on in a second process whose memcpy
// avoids glibc's slow `rep movsb`, as the `shmcomm` command does (src/glibc.ts).
if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  await runWithoutRepMovsb();
  await run();
}
