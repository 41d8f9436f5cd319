/**
 * Exercise 6 — bandwidth: how many MB/s of typed arrays get from one thread to another, by message size, for each
 * of launch's three transports:
 *
 * - clone: postMessage with structured clone, the way Python's multiprocessing pickles: a copy on each side;
 * - transfer: one copy into a fresh ArrayBuffer, which postMessage then transfers: the memory changes owner;
 * - shared: shmcomm's ring in a SharedArrayBuffer: one copy in (send), one copy out (recv).
 *
 * The rank program below is the same for all three: it only calls comm.send and comm.recv, and `launch` picks the
 * transport. Rank 0 sends a window of arrays of one size, rank 1 receives them, checks each and acknowledges the
 * window, as OSU's osu_bw does, over and over for a fixed time: MB/s = bytes of arrays received / seconds. Small
 * arrays measure what a message costs (MB/s grow with the size), large ones what copying bytes costs (they flatten).
 *
 * The table, then the log-log chart of the course (src/bench/chart.ts draws it).
 *
 * Go further: `shmcomm bench bandwidth` measures the same and more (zero-copy, the machine's memcpy ceiling, medians
 * of several rounds); its code is in src/bench/bandwidth-*.ts.
 *
 * Run: npm run exercise -- bandwidth      (about 8 s; always two ranks)
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { launch, runWithoutRepMovsb, type Comm, type TransportName } from '../src/index.js';
import { renderChart } from '../src/bench/chart.js';
import { formatCount, formatNumber, formatSize } from '../src/bench/format.js';
import { renderTable } from '../src/bench/table.js';
import { printLine, shouldUseColor, terminalColumns } from '../src/term.js';
import { plural } from './plural.js';
import { WrongResultError } from './verdict.js';

export interface BandwidthExerciseOptions {
  ranks?: number; // always 2: one sender, one receiver
  transport?: TransportName; // all three are measured
  minBytes?: number; // the smallest array, default 8 B; the sizes go up 4 times at a step
  maxBytes?: number; // the largest array at most, default 8 MiB
  seconds?: number; // measuring time per size and transport; default 0.2
  out?: (line: string) => void;
}

const TRANSPORTS: readonly TransportName[] = ['clone', 'transfer', 'shared'];
const WINDOW = 64; // arrays in flight before rank 1 acknowledges, as in osu_bw...
const WINDOW_BYTES = 16 * 2 ** 20; // ...but at most 16 MiB of them: clone and transfer queue a copy of each

interface Args {
  sizes: number[];
  seconds: number;
}

/** What a rank reports: rank 0 the MB/s per size, rank 1 what it checked. */
export interface RankReport {
  mbPerSec: number[];
  received: number;
  wrong: number; // arrays of the wrong length, or with a wrong first or last byte
}

// ─── The rank program: runs in each of the two workers ──────────────────────────────────────────────────────

export default function bandwidthRank(comm: Comm, { sizes, seconds }: Args): RankReport {
  const report: RankReport = { mbPerSec: [], received: 0, wrong: 0 };
  for (const bytes of sizes) {
    const window = Math.max(1, Math.min(WINDOW, Math.floor(WINDOW_BYTES / bytes)));
    if (comm.rank === 0) report.mbPerSec.push(sendFor(seconds, comm, new Uint8Array(bytes), window));
    else receiveAll(comm, bytes, window, report);
  }
  return report;
}

/** Rank 0: sends windows of `array` for `seconds` (after one unmeasured window), and returns the MB/s. */
function sendFor(seconds: number, comm: Comm, array: Uint8Array, window: number): number {
  sendWindow(comm, array, window); // unmeasured: the first sends allocate and compile
  let windows = 0;
  let elapsedMs = 0;
  const started = performance.now();
  do {
    sendWindow(comm, array, window);
    windows++;
    elapsedMs = performance.now() - started;
  } while (elapsedMs < seconds * 1000);
  comm.send(1, false); // no more windows of this size
  return (windows * window * array.byteLength) / (elapsedMs / 1000) / 1e6;
}

function sendWindow(comm: Comm, array: Uint8Array, window: number): void {
  comm.send(1, true); // another window comes (one small message per window: rank 1 must know when to stop)
  for (let i = 0; i < window; i++) {
    array[0] = i; // what rank 1 checks: the array's place in the window, at both ends
    array[array.length - 1] = i;
    comm.send(1, array);
  }
  comm.recv(1); // the acknowledgement: rank 1 has received the whole window
}

/** Rank 1: receives windows of arrays of `bytes` until rank 0 says there are no more, checking each array. */
function receiveAll(comm: Comm, bytes: number, window: number, report: RankReport): void {
  while (comm.recv<boolean>(0)) {
    for (let i = 0; i < window; i++) {
      const array = comm.recv<Uint8Array>(0);
      report.received++;
      if (array.byteLength !== bytes || array[0] !== i || array[bytes - 1] !== i) report.wrong++;
    }
    comm.send(0, true);
  }
}

// ─── The launcher: runs in the main thread ──────────────────────────────────────────────────────────────────

export interface BandwidthExerciseResult {
  sizes: number[];
  mbPerSec: Record<TransportName, number[]>; // per transport, one per size
  received: number; // arrays rank 1 checked, over all transports
  wrong: number;
}

export async function run(options: BandwidthExerciseOptions = {}): Promise<BandwidthExerciseResult> {
  const { minBytes = 8, maxBytes = 8 * 2 ** 20, seconds = 0.2, out = printLine } = options;
  if (!Number.isInteger(minBytes) || minBytes < 1) {
    throw new RangeError(`Expected \`minBytes\` to be an integer of at least 1, got ${minBytes}`);
  }
  if (!Number.isInteger(maxBytes) || maxBytes < minBytes) {
    throw new RangeError(`Expected \`maxBytes\` to be an integer of at least minBytes (${minBytes}), got ${maxBytes}`);
  }
  if (!(seconds > 0)) throw new RangeError(`Expected \`seconds\` to be more than 0, got ${seconds}`);
  const { ranks, transport: asked } = options;
  if (ranks !== undefined && ranks !== 2) out(`bandwidth always runs on 2 ranks (--ranks ${ranks} ignored)`);
  if (asked !== undefined) out(`bandwidth measures all three transports (--transport ${asked} ignored)`);

  const sizes: number[] = [];
  for (let bytes = minBytes; bytes <= maxBytes; bytes *= 4) sizes.push(bytes);
  const mbPerSec = {} as Record<TransportName, number[]>;
  let received = 0;
  let wrong = 0;
  for (const transport of TRANSPORTS) {
    const timeoutMs = 30_000 + 3 * sizes.length * seconds * 1000;
    const [sender, receiver] = await launch<RankReport>(import.meta.url, {
      size: 2, transport, args: { sizes, seconds } satisfies Args, timeoutMs,
    });
    mbPerSec[transport] = sender!.mbPerSec;
    received += receiver!.received;
    wrong += receiver!.wrong;
  }

  out(`bandwidth: rank 0 sends windows of up to ${WINDOW} Uint8Arrays to rank 1, which checks each and acknowledges`);
  out(`${seconds} s per size and transport; MB/s of arrays received (1 MB = 10^6 bytes)`);
  const rows = sizes.map((bytes, i) => [formatSize(bytes), ...TRANSPORTS.map((t) => formatNumber(mbPerSec[t][i]!))]);
  for (const line of renderTable(['size', ...TRANSPORTS], rows).split('\n')) out(line);
  // The course's log-log plot: both axes logarithmic, so that the cost per message (the rising left part, MB/s in
  // proportion to the size) and the cost per byte (the flat right part) show on one chart.
  if (sizes.length > 1) {
    const series = TRANSPORTS.map((t) => ({ name: t, points: sizes.map((x, i) => ({ x, y: mbPerSec[t][i]! })) }));
    const onTerminal = options.out === undefined; // colors only when printing to a terminal
    const color = onTerminal && shouldUseColor(process.stdout);
    const columns = onTerminal ? terminalColumns(process.stdout) : undefined;
    const chart = renderChart(series, { color, columns, yUnit: 'MB/s', title: 'MB/s by size (log-log)' });
    for (const line of ['', ...chart.split('\n'), '']) out(line);
  }
  const perSecond = TRANSPORTS.map((t) => `${t} ${formatCount((mbPerSec[t][0]! * 1e6) / sizes[0]!)}`);
  out(`arrays a second at ${formatSize(sizes[0]!)}: ${perSecond.join(', ')}`);
  checkArrays(received, wrong, out);
  return { sizes, mbPerSec, received, wrong };
}

/**
 * Prints what rank 1 found, over all transports, and throws a WrongResultError if any array had the wrong length
 * or a wrong first or last byte.
 */
export function checkArrays(received: number, wrong: number, out: (line: string) => void): void {
  const checked = `rank 1 checked ${plural(received, 'array')} (length, first and last byte)`;
  out(wrong === 0 ? `${checked}: all right` : `${checked}: ${formatCount(wrong)} WRONG`);
  if (wrong > 0) throw new WrongResultError(`bandwidth: rank 1 received ${plural(wrong, 'wrong array')}`);
}

// Also runnable on its own: node dist/exercises/6-bandwidth.js. That runs the last build: after an edit, run
// npm run exercise -- bandwidth, which builds first. On an AMD CPU it then goes on in a second process whose memcpy
// avoids glibc's slow `rep movsb`, as the `shmcomm` command does (src/glibc.ts).
if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  await runWithoutRepMovsb();
  await run();
}
