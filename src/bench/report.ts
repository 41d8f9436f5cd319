/**
 * What the bandwidth, latency and collectives benchmarks print besides their own tables: the machine line, JSON, CSV,
 * the progress line's time estimate, and where output goes (so tests can capture it).
 */
import { fstatSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { cpuGeneration, readCpuinfo } from '../cpuinfo.js';
import { host, memcpyText } from '../glibc.js';
import { wrap, wrapText, type TextStream } from '../term.js';
import type { OutputOptions } from './args.js';
import { formatNumber } from './format.js';

/** Where a benchmark writes: results on stdout, the progress line on stderr. Tests pass fakes. */
export interface BenchOutput {
  stdout: TextStream;
  stderr: TextStream;
}

export const processOutput = (): BenchOutput => ({ stdout: process.stdout, stderr: process.stderr });

/**
 * The machine a run measured: Node's version, the CPU as `os.cpus()` names it, with its family and model numbers
 * where Linux gives them (`AMD EPYC (family 25, model 17)`), and how glibc's `memcpy` copies (src/glibc.ts).
 */
export interface Machine {
  node: string;
  cpuModel: string;
  cores: number;
  /** `glibc 2.36, rep movsb off`, or '' without glibc. */
  memcpy: string;
}

export function machine(): Machine {
  const list = cpus();
  const name = list[0]?.model.trim() || 'unknown CPU';
  const generation = cpuGeneration(readCpuinfo());
  return {
    node: process.version,
    cpuModel: generation === '' ? name : `${name} (${generation})`,
    cores: list.length,
    memcpy: memcpyText(process.env, host()),
  };
}

/** The `cpus` field of the JSON output: `"2 x AMD EPYC (family 25, model 17)"`. */
export function cpusText(m: Machine): string {
  return `${m.cores} x ${m.cpuModel}`;
}

/**
 * `shmcomm bench bandwidth · Node v20.20.2 · AMD EPYC (family 25, model 17) · 2 cores · glibc 2.36, rep movsb off ·
 * window 64, 0.2 s per size`, in lines of at most `columns`: broken between two of its parts where it can, and a
 * part too long for a line of its own (the settings, often) between two words.
 */
export function headerLine(title: string, m: Machine, settings: string, columns = Infinity): string {
  const cores = `${m.cores} ${m.cores === 1 ? 'core' : 'cores'}`;
  const parts = [title, `Node ${m.node}`, m.cpuModel, cores, m.memcpy, settings].filter((part) => part !== '');
  return wrap(parts, columns, ' · ').map((line) => wrapText(line, columns)).join('\n');
}

/**
 * The JSON document of a run: `{ node, cpus, memcpy, settings, rows, notes }`, indented, with a final newline.
 * `settings` are the command's options as it ran (not how it printed: `--json`, `--csv`, `--no-chart`), null where one
 * was left to its automatic choice; `notes` the notes the text prints after its tables (a ratio line, rounds far apart,
 * a machine that changed state), or none: not its lines of figures, such as bandwidth's messages a second at the
 * smallest size, which the rows hold.
 */
export function jsonText(
  m: Machine, options: OutputOptions & { chart?: boolean }, rows: readonly object[], notes: readonly string[] = [],
): string {
  const { json: _json, csvFile: _csv, chart: _chart, ...given } = options;
  // Every option has its key: null for one left to its automatic choice (`--ring auto`, no `--strategy`)
  const settings = Object.fromEntries(Object.entries(given).map(([name, value]) => [name, value ?? null]));
  return `${JSON.stringify({ node: m.node, cpus: cpusText(m), memcpy: m.memcpy, settings, rows, notes }, null, 2)}\n`;
}

/**
 * Writes `rows` (objects with the same keys, in `columns` order) to `file` as CSV with a header line. Into the file
 * this process prints to (`--csv /dev/stdout > out.txt`), they go after what was printed.
 */
export async function writeCsv(file: string, columns: readonly string[], rows: readonly object[]): Promise<void> {
  const lines = [columns.join(',')];
  for (const row of rows) {
    const record = row as Record<string, unknown>;
    lines.push(columns.map((column) => csvCell(record[column])).join(','));
  }
  try {
    await writeFile(file, `${lines.join('\n')}\n`, { flag: printedTo(file) ? 'a' : 'w' });
  } catch (error) {
    // --csv was checked before the run, but a disk can fill up or a path go away meanwhile (or be /proc).
    throw new OutputError(`Cannot write the \`--csv\` file ${file} (${(error as Error).message}); the results are above`);
  }
}

/**
 * Whether `file` is the plain file that stdout or stderr writes to (`/dev/stdout`, or its own name, under `> out.txt`):
 * opened afresh for writing, it would be emptied of the table just printed there.
 */
function printedTo(file: string): boolean {
  const target = statSync(file, { throwIfNoEntry: false });
  if (target?.isFile() !== true) return false;
  return [process.stdout.fd, process.stderr.fd].some((fd) => {
    try {
      const open = fstatSync(fd);
      return open.dev === target.dev && open.ino === target.ino;
    } catch {
      return false; // closed
    }
  });
}

/** A result that could not be written where it was asked to go: the command says so, without a stack. */
export class OutputError extends Error {
  override name = 'OutputError';
}

/**
 * Messages of a benchmark that arrived wrong: the message says which mode, how many of how many, and what was wrong
 * with the first; the command says so without a stack, which would be the benchmark's own, where it read the report.
 */
export class VerificationError extends Error {
  override name = 'VerificationError';
}

/** One CSV cell: empty for a missing field, a list's items apart by spaces, quoted where CSV needs it. */
function csvCell(value: unknown): string {
  const text = Array.isArray(value) ? value.join(' ') : String(value ?? '');
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A count for people, in three figures: 12.3M, 456k, 789 (format.ts's formatCount gives every digit). The unit is
 * chosen by the count as shown, so 999,999 is 1.00M, not 1,000k.
 */
export function formatShortCount(count: number): string {
  if (!Number.isFinite(count)) return '-';
  const shown = Number(count.toPrecision(3));
  if (shown >= 1e6) return `${formatNumber(count / 1e6)}M`;
  if (shown >= 1e3) return `${formatNumber(count / 1e3)}k`;
  return formatNumber(count);
}

/** A duration for the progress line: `45 s`, `2 min 5 s`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/**
 * Estimates the time left of a run of `total` measurements, each budgeted `budgetSeconds`. Until one is finished
 * the budget is all there is; after that, the average time the finished ones took (the slow modes' overshoot and
 * workers started between them included) is the better guide. The clock starts with the first measurement
 * (`start`): what comes before it, such as the line probe and the start of every mode's workers in the bandwidth
 * benchmark, happens once, and counted in the average it made a 3 s run say `~40 s left` after its first step.
 * `now` is the clock, in milliseconds (tests pass a fake one).
 */
export class Eta {
  private started: number | undefined;
  private finished = 0;

  constructor(
    private readonly total: number,
    private readonly budgetSeconds: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A measurement begins. The first call starts the clock; later ones change nothing. */
  start(): void {
    this.started ??= this.now();
  }

  finish(): void {
    this.finished++;
  }

  get done(): number {
    return this.finished;
  }

  secondsLeft(): number {
    const left = this.total - this.finished;
    if (this.finished === 0 || this.started === undefined) return left * this.budgetSeconds;
    const perMeasurement = (this.now() - this.started) / 1000 / this.finished;
    return left * Math.max(perMeasurement, this.budgetSeconds);
  }
}
