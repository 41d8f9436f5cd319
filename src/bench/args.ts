/**
 * The command lines of `shmcomm bench bandwidth|latency|collectives` and `shmcomm exercise`, parsed into typed
 * option objects.
 *
 * Each command is a table of option specs, here; options.ts reads a command line against its table, and prints the
 * table as the command's help, so the defaults shown are the defaults used. Every mistake is a `UsageError` that
 * names the option, the value given and what is allowed; the CLI prints it with where its command's help is (`See
 * shmcomm bench latency --help.`) and exits with status 2.
 */
import { accessSync, closeSync, constants, lstatSync, openSync, rmSync, statSync, type Stats } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { DEFAULT_ARENA_BYTES } from '../arena.js';
import { didYouMean } from '../describe.js';
import { FRAME_HEADER_BYTES, MAX_RING_BYTES } from '../ring.js';
import { terminalColumns } from '../term.js';
import { WAIT_STRATEGIES, type WaitStrategy } from '../wait.js';
import { isRingMode } from './bandwidth-job.js';
import { formatSize } from './format.js';
import { helpText, OptionReader, UsageError, WHAT_VALUE, type OptionSpec } from './options.js';

export const BANDWIDTH_MODES = [
  'clone', 'transfer', 'transfer-alloc', 'shared', 'zerocopy', 'ringbuf', 'process', 'memcpy',
] as const;
export const LATENCY_MODES = ['spin', 'park', 'spinThenPark', 'async', 'transfer', 'clone', 'onmessage', 'process'] as const;
/** The latency modes that ping-pong through a pair of shmcomm rings, and the largest message one can carry. */
export const LATENCY_RING_MODES: readonly LatencyMode[] = ['spin', 'park', 'spinThenPark', 'async'];
export const MAX_LATENCY_RING_MESSAGE = MAX_RING_BYTES / 2 - FRAME_HEADER_BYTES;
export const COLLECTIVE_OPS = ['bcast', 'reduce', 'allreduce', 'barrier'] as const;
export const TRANSPORTS = ['shared', 'transfer', 'clone'] as const;
/**
 * The exercises of `shmcomm exercise`, in course order; src/exercises.ts gives each its file, exercises/<n>-<name>.ts
 * for the n-th (exerciseNamed reads those file names too).
 */
export const EXERCISE_NAMES = ['sample', 'ring', 'gather', 'broadcast', 'reduce', 'bandwidth'] as const;
export const BENCHMARKS: readonly string[] = ['bandwidth', 'latency', 'collectives'];

export type BandwidthMode = (typeof BANDWIDTH_MODES)[number];
export type LatencyMode = (typeof LATENCY_MODES)[number];
export type CollectiveOp = (typeof COLLECTIVE_OPS)[number];
export type Transport = (typeof TRANSPORTS)[number];
export type ExerciseName = (typeof EXERCISE_NAMES)[number];

/** What each exercise asks, as exercises/README.md titles it (`shmcomm exercise --help` lists them). */
const EXERCISE_QUESTIONS: Record<ExerciseName, string> = {
  sample: 'a pool, or ranks of your own',
  ring: 'the fewest connections',
  gather: 'can ranks share a connection?',
  broadcast: 'linear, tree, or not at all',
  reduce: 'summing onto one rank',
  bandwidth: 'how fast do arrays travel?',
};

/** What the benchmarks print: always a table and (where there is one) a chart, or JSON only; CSV on the side. */
export interface OutputOptions {
  /** `--json`: print only JSON on stdout (default false). */
  json: boolean;
  /** `--csv FILE`: also write the rows to FILE (default: none). */
  csvFile: string | undefined;
}

export interface BandwidthOptions extends OutputOptions {
  minBytes: number; // --min 8
  maxBytes: number; // --max 64MiB
  points: number; // --points 20
  window: number; // --window 64: messages per acknowledgement
  seconds: number; // --time 0.2: measuring time per mode and size
  warmupSeconds: number; // --warmup 0.05
  modes: BandwidthMode[]; // --modes: all by default, in the order of BANDWIDTH_MODES; else in the order given
  ringBytes: number | undefined; // --ring auto: undefined, each ring mode at its own best size
  rounds: number; // --rounds 1: how many times every size is measured; the table shows the median
  chart: boolean; // --no-chart turns it off
}

export interface LatencyOptions extends OutputOptions {
  minBytes: number; // --min 8
  maxBytes: number; // --max 64KiB
  points: number; // --points 14 (every power of two from 8 B to 64 KiB)
  iterations: number | undefined; // --iterations N: exactly N round trips per size, instead of --time
  seconds: number; // --time 0.2
  warmupSeconds: number; // --warmup 0.05
  modes: LatencyMode[]; // --modes: all
  chart: boolean; // --no-chart
}

export interface CollectivesOptions extends OutputOptions {
  ranks: number[]; // --ranks 2,4,8
  sizes: number[]; // --sizes 8,64KiB,8MiB (bytes)
  ops: CollectiveOp[]; // --ops: all
  transports: Transport[]; // --transports: all
  seconds: number; // --time 0.2 per op, size, rank count and transport
  warmupSeconds: number; // --warmup 0.05
  strategy: WaitStrategy | undefined; // --strategy auto: launch's default (spinThenPark, or park with more ranks than cores)
  arenaBytes: number; // --arena 16MiB: launch's arenaBytes (0: none)
}

export interface ExerciseOptions {
  ranks: number | undefined; // --ranks N (default: the exercise's own)
  transport: Transport | undefined; // --transport shared (default: the exercise's own, shared)
  unsafe: boolean; // --unsafe: gather also runs several producers on one ring without a lock
}

export type BenchRequest =
  | { command: 'bandwidth'; options: BandwidthOptions }
  | { command: 'latency'; options: LatencyOptions }
  | { command: 'collectives'; options: CollectivesOptions }
  | { command: 'help'; text: string };

export type ExerciseRequest =
  | { command: 'exercise'; name: ExerciseName; options: ExerciseOptions }
  | { command: 'help'; text: string };

/** A list option whose default is every name it accepts. */
const allOf = (name: string, names: readonly string[], help: string): OptionSpec =>
  ({ name, value: 'LIST', default: names.join(','), names, help });

/** `--json` and `--csv`; `fields` names the first fields of a row. */
const outputSpecs = (fields: string): OptionSpec[] => [
  {
    name: 'json',
    help: `print only JSON: an object of node, cpus, memcpy, settings, notes and rows (each with ${fields} and more)`,
  },
  { name: 'csv', value: 'FILE', help: 'also write the rows to FILE as CSV' },
];
/** `--time` and `--warmup`; `each` says what one measurement covers, `warmupNote` anything more of the warm-up. */
const timeSpecs = (each: string, warmupNote = ''): OptionSpec[] => [
  { name: 'time', value: 'SECONDS', default: '0.2', help: `measuring time per ${each}` },
  { name: 'warmup', value: 'SECONDS', default: '0.05', help: `unmeasured time before each measurement${warmupNote}` },
];
const NO_CHART: OptionSpec = { name: 'no-chart', help: 'print the table without the chart' };

const BANDWIDTH_SPECS: OptionSpec[] = [
  { name: 'min', value: 'SIZE', default: '8', help: 'smallest message: a multiple of 8 bytes (B, KiB, MiB, GiB)' },
  { name: 'max', value: 'SIZE', default: '64MiB', help: 'largest message' },
  { name: 'points', value: 'N', default: '20', help: 'number of sizes, log-spaced from --min to --max (fewer where two round to one multiple of 8)' },
  {
    name: 'window', value: 'N', default: '64',
    // The rule, not the default's case: with --window 8, messages up to 8 MiB go 8 at a time.
    help: 'messages sent between two acknowledgements, as in osu_bw, and 64 MiB of them at most: ' +
      'messages over 64 MiB / N go fewer at a time (with 64, those over 1 MiB)',
  },
  // With 0, what the warm-up hides is timed: each mode's first window then holds its set-up too (transfer's receiver
  // builds its reference copy there, 125 ms at 64 MiB on the Zen 3 VM of docs/PERFORMANCE.md)
  ...timeSpecs('mode and size',
    " (six times that before a mode's first size, while V8 compiles; with 0 the modes' set-up is timed too)"),
  allOf('modes', BANDWIDTH_MODES, 'modes to run, comma-separated'),
  {
    name: 'ring', value: 'SIZE', default: 'auto',
    help: 'ring size for shared, zerocopy, ringbuf: a power of two, or auto (shared 2 MiB, zerocopy 4 MiB; ' +
      'ringbuf 1 MiB when the two threads share a cache or the machine is too busy to tell, 32 MiB when not: ' +
      'measured first)',
  },
  { name: 'rounds', value: 'N', default: '1', help: 'measure every size N times, one round of all sizes after another, and show the median of each (an odd N, on a noisy machine; a note names rounds more than 2x apart)' },
  ...outputSpecs('mode, bytes, mbPerSec'),
  NO_CHART,
];

const LATENCY_SPECS: OptionSpec[] = [
  { name: 'min', value: 'SIZE', default: '8', help: 'smallest message: a multiple of 8 bytes (B, KiB, MiB, GiB)' },
  { name: 'max', value: 'SIZE', default: '64KiB', help: 'largest message' },
  { name: 'points', value: 'N', default: '14', help: 'number of sizes, log-spaced; 14 is every power of two (fewer where two round to one multiple of 8)' },
  { name: 'iterations', value: 'N', help: 'round trips per mode and size, instead of --time' },
  ...timeSpecs('mode and size'),
  allOf('modes', LATENCY_MODES, 'modes to run, comma-separated'),
  ...outputSpecs('mode, bytes, microseconds'),
  NO_CHART,
];

const COLLECTIVES_SPECS: OptionSpec[] = [
  { name: 'ranks', value: 'LIST', default: '2,4,8', help: 'rank counts from 2 to 64, comma-separated' },
  {
    name: 'sizes', value: 'LIST', sizes: true, default: '8,64KiB,8MiB',
    help: 'message sizes, multiples of 8 from 8 B to 1 GiB, comma-separated',
  },
  allOf('ops', COLLECTIVE_OPS, 'collectives to time, comma-separated'),
  allOf('transports', TRANSPORTS, 'transports to use, comma-separated'),
  {
    name: 'strategy', value: 'NAME', default: 'auto',
    help: `how blocked ranks wait: ${WAIT_STRATEGIES.join(', ')}, or auto (park when ranks outnumber cores, else spinThenPark)`,
  },
  {
    name: 'arena', value: 'SIZE', default: formatSize(DEFAULT_ARENA_BYTES).replace(' ', ''),
    help: 'bytes of the shared arena, through which allreduce from 64 KiB, reduce from 512 KiB and large bcasts go (shared transport); 0 for none: allreduce then goes round a ring, reduce and bcast down their trees',
  },
  ...timeSpecs('op, rank count, size and transport'),
  ...outputSpecs('transport, ranks, op, bytes, microsPerCall'),
];

const EXERCISE_SPECS: OptionSpec[] = [
  { name: 'ranks', value: 'N', help: 'number of ranks, 1 to 64 (default 4; sample 2, and as many pool workers; gather at least 2; bandwidth 2)' },
  {
    name: 'transport', value: 'NAME',
    help: `how ranks talk: ${TRANSPORTS.join(', ')} (default shared; bandwidth: all; gather's part a: always shared)`,
  },
  { name: 'unsafe', help: "gather: also run several producers on one ring without a lock (rank 0's checks catch it)" },
];

/**
 * Every benchmark's options, to tell an option's value from a benchmark's name out of place: `bench --iterations 100
 * --help latency` names latency, not "100", though --iterations is latency's and not bandwidth's.
 */
const ALL_BENCH_SPECS = [...BANDWIDTH_SPECS, ...LATENCY_SPECS, ...COLLECTIVES_SPECS];

/** `shmcomm bench bandwidth --help`, in lines of at most `columns` (the terminal's width; 80 off a terminal). */
export function bandwidthHelp(columns = terminalColumns(process.stdout)): string {
  return helpText('bench [bandwidth] [options]',
    'Bandwidth between two worker threads per message size and mode, like OSU osu_bw, in MB/s (10^6 bytes/s).',
    BANDWIDTH_SPECS, columns, 'Other benchmarks: shmcomm bench latency, shmcomm bench collectives (each has --help).');
}

/** `shmcomm bench latency --help`, in lines of at most `columns`. */
export function latencyHelp(columns = terminalColumns(process.stdout)): string {
  return helpText('bench latency [options]',
    'One-way latency between two worker threads per message size and mode, like OSU osu_latency (median, µs).',
    LATENCY_SPECS, columns);
}

/** `shmcomm bench collectives --help`, in lines of at most `columns`. */
export function collectivesHelp(columns = terminalColumns(process.stdout)): string {
  return helpText('bench collectives [options]',
    'Time per call of each collective, per rank count, message size and transport. The transports take turns: each ' +
    'op and size is measured on every transport back to back.', COLLECTIVES_SPECS, columns);
}

/** `shmcomm exercise --help`, in lines of at most `columns`. */
export function exerciseHelp(columns = terminalColumns(process.stdout)): string {
  const files = EXERCISE_NAMES.map((name, i) => `${i + 1}-${name}${name === 'gather' ? ` (or ${GATHER_LOCK})` : ''}`);
  const width = Math.max(...EXERCISE_NAMES.map((name) => name.length));
  const listed = EXERCISE_NAMES.map((name, i) => `  ${i + 1} ${name.padEnd(width)}  ${EXERCISE_QUESTIONS[name]}`);
  return helpText('exercise <name> [options]',
    `Run one of the exercises of the course (exercises/README.md):\n${listed.join('\n')}\n` +
    `Each answers to its name, its number, and its file's name: ${files.join(', ')}.`,
    EXERCISE_SPECS, columns);
}

/** `--min` and `--max`, the first no larger than the second. */
function sizeRange(reader: OptionReader): { minBytes: number; maxBytes: number } {
  const minBytes = reader.size('min');
  const maxBytes = reader.size('max');
  if (minBytes > maxBytes) {
    const message = `Expected \`--min\` (${formatSize(minBytes)}) to be at most \`--max\` (${formatSize(maxBytes)})`;
    throw new UsageError(message, '--min');
  }
  return { minBytes, maxBytes };
}

function outputOptions(reader: OptionReader): OutputOptions {
  const csvFile = reader.text('csv');
  if (csvFile !== undefined) checkWritable(csvFile);
  return { json: reader.has('json'), csvFile };
}

/** What is at `path`, or undefined where nothing is: no entry, or a file where the path needs a directory (ENOTDIR). */
function entryAt(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Refuses a `--csv` file that could not be written, before a run whose results would then be lost. */
function checkWritable(file: string): void {
  const directory = dirname(resolve(file));
  let existing: Stats | undefined;
  let problem: string | undefined;
  if (file === '-') problem = 'this command writes CSV to files only (for stdout, --csv /dev/stdout, or --json)';
  else if (/[\\/]$/.test(file)) problem = 'it names a directory, not a file'; // `out/`: dirname() would drop the `out`
  else {
    // stat, too, can refuse a path (a name too long, a loop of links): the catch below says so
    try {
      existing = entryAt(file);
      if (!entryAt(directory)?.isDirectory()) problem = `there is no directory ${directory}`;
      else if (existing?.isDirectory()) problem = 'it is a directory';
      else {
        accessSync(existing ? file : directory, constants.W_OK);
        // access() says yes to root in /proc, where no file can be made: a path where nothing is (not even a link) is
        // made and removed again, and a plain file opened for appending, which changes nothing in it. A FIFO or a
        // device is left alone (opening a pipe would end its reader's stream).
        const entry = lstatSync(file, { throwIfNoEntry: false });
        if (entry === undefined || entry.isFile()) closeSync(openSync(file, 'a'));
        if (entry === undefined) rmSync(file, { force: true });
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problem = code === 'EACCES' || code === 'EPERM' || code === undefined
        ? `${existing ? 'it' : `the directory ${directory}`} is not writable` : `it cannot be opened (${code})`;
    }
  }
  if (problem !== undefined) throw new UsageError(`Cannot write the \`--csv\` file ${file}: ${problem}`, '--csv');
}

/** The options of `shmcomm bench bandwidth` (`argv` holds the options only). */
export function parseBandwidthArgs(argv: readonly string[]): BandwidthOptions {
  const reader = new OptionReader('shmcomm bench bandwidth', BANDWIDTH_SPECS, argv);
  const modes = reader.names('modes', BANDWIDTH_MODES, 'mode');
  if (reader.has('ring') && !modes.some(isRingMode)) {
    throw doesNotApply('--ring', 'the ring modes (shared, zerocopy, ringbuf)', '--modes', modes, 'one');
  }
  return {
    ...sizeRange(reader),
    points: reader.integer('points', 2, 200),
    window: reader.integer('window', 1, 100_000),
    seconds: reader.seconds('time', 0.001),
    warmupSeconds: reader.seconds('warmup', 0),
    modes,
    ringBytes: reader.ringSize('ring'),
    rounds: reader.integer('rounds', 1, 99),
    chart: !reader.has('no-chart'),
    ...outputOptions(reader),
  };
}

/** The options of `shmcomm bench latency`. */
export function parseLatencyArgs(argv: readonly string[]): LatencyOptions {
  const reader = new OptionReader('shmcomm bench latency', LATENCY_SPECS, argv);
  if (reader.has('iterations') && reader.has('time')) {
    throw new UsageError('Use either `--iterations` or `--time`, not both', '--iterations');
  }
  const range = sizeRange(reader);
  const modes = reader.names('modes', LATENCY_MODES, 'mode');
  const ringModes = modes.filter((mode) => LATENCY_RING_MODES.includes(mode));
  if (ringModes.length > 0 && range.maxBytes > MAX_LATENCY_RING_MESSAGE) {
    // 512 MiB less 16 bytes: a byte count of nine digits says less than the rule it comes from.
    const limit = `${formatSize(MAX_RING_BYTES / 2)} less ${FRAME_HEADER_BYTES} bytes`;
    const others = modes.filter((mode) => !LATENCY_RING_MODES.includes(mode));
    const without = others.length > 0 ? `; \`--modes ${others.join(',')}\` leaves the ring modes out` : '';
    throw new UsageError(
      `Expected \`--max\` to be at most ${limit} (half the largest ring, ${formatSize(MAX_RING_BYTES)}, less a frame ` +
        `header) for ${ringModes.join(', ')}, got "${reader.text('max')}"${without}`,
      '--max',
    );
  }
  return {
    ...range,
    points: reader.integer('points', 2, 200),
    iterations: reader.has('iterations') ? reader.integer('iterations', 1, 1e9) : undefined,
    seconds: reader.seconds('time', 0.001),
    warmupSeconds: reader.seconds('warmup', 0),
    modes,
    chart: !reader.has('no-chart'),
    ...outputOptions(reader),
  };
}

/** The options of `shmcomm bench collectives`. */
export function parseCollectivesArgs(argv: readonly string[], memoryBytes = machineMemory()): CollectivesOptions {
  const reader = new OptionReader('shmcomm bench collectives', COLLECTIVES_SPECS, argv);
  const strategy = reader.choice('strategy', ['auto', ...WAIT_STRATEGIES] as const);
  const ranks = reader.integers('ranks', 2, 64);
  const sizes = reader.sizes('sizes');
  const ops = reader.names('ops', COLLECTIVE_OPS, 'op');
  if (ops.some((op) => op !== 'barrier')) refuseBeyondMemory(ranks, sizes, memoryBytes); // barrier moves no bytes
  const transports = reader.names('transports', TRANSPORTS, 'transport');
  if (reader.has('arena') && !transports.includes('shared')) {
    throw doesNotApply('--arena', 'the shared transport', '--transports', transports, 'shared');
  }
  return {
    ranks,
    sizes,
    ops,
    transports,
    seconds: reader.seconds('time', 0.001),
    warmupSeconds: reader.seconds('warmup', 0),
    strategy: strategy === 'auto' ? undefined : strategy,
    arenaBytes: reader.arenaSize('arena', ranks),
    ...outputOptions(reader),
  };
}

/**
 * The error for an option given for what the run leaves out, which would change nothing: refused, as an option given
 * twice is, rather than ignored without a word.
 */
function doesNotApply(option: string, isFor: string, list: string, given: readonly string[], add: string): UsageError {
  return new UsageError(
    `Option \`${option}\` is for ${isFor}, which \`${list} ${given.join(',')}\` leaves out: add ${add} to \`${list}\`, ` +
    `or leave \`${option}\` out`,
    option,
  );
}

/**
 * About how many copies of its message a rank holds at once in a collective: its value, the result, and one in flight
 * (4 ranks, allreduce of 1 GiB on clone: 11 GB at its peak).
 */
const COPIES_A_RANK = 3;

/** The memory this process may use: the machine's, or less where the system caps it (a container's cgroup). */
function machineMemory(): number {
  const capped = process.constrainedMemory?.(); // undefined (Node 20) or 0 (Node 22) when nothing caps it
  return capped ? Math.min(totalmem(), capped) : totalmem();
}

/** A run whose largest size on its most ranks would need more memory than the machine has, refused before it starts. */
function refuseBeyondMemory(ranks: readonly number[], sizes: readonly number[], memoryBytes: number): void {
  const most = Math.max(...ranks);
  const largest = Math.max(...sizes);
  const needs = COPIES_A_RANK * most * largest;
  if (needs <= memoryBytes) return;
  throw new UsageError(
    `--sizes ${formatSize(largest)} on ${most} ranks needs about ${formatSize(needs)} of memory (${COPIES_A_RANK} copies ` +
    `of the message a rank), more than the ${formatSize(memoryBytes)} this machine has: give smaller --sizes or fewer --ranks`,
    '--sizes',
  );
}

/**
 * Our options that npm took for its own settings: `npm run exercise ring --ranks 3` runs the script with `ring 3`
 * and keeps `--ranks` as `npm_config_ranks=true` in its environment (a script gets only what follows `--`), and
 * `--unsafe` would be lost without a word. Under npm (`npm_lifecycle_event` set), a setting named as one of our
 * options is refused, with what to type. Not `json`, which is a setting of npm's own that an .npmrc may hold.
 */
export function refuseOptionsNpmTook(env: NodeJS.ProcessEnv, argv: readonly string[]): void {
  const script = env.npm_lifecycle_event;
  if (script === undefined) return;
  const specs = [...BANDWIDTH_SPECS, ...LATENCY_SPECS, ...COLLECTIVES_SPECS, ...EXERCISE_SPECS];
  const given = (name: string) => argv.some((word) => word === `--${name}` || word.startsWith(`--${name}=`));
  // npm reads --no-chart as its setting chart (''); one given after `--` too came to us, whatever npm kept
  const taken = [...new Set(specs.map((spec) => spec.name))].filter((name) =>
    name !== 'json' && !given(name) && env[`npm_config_${name.replace(/^no-/, '').replaceAll('-', '_')}`] !== undefined);
  if (taken.length === 0) return;
  const options = taken.map((name) => `--${name}`).join(', ');
  const command = env.npm_command;
  const where = command === 'exec' ? 'after the command, behind `npm exec --`'
    : `after \`${command === 'start' || command === 'test' ? `npm ${command}` : `npm run ${script}`} --\``;
  throw new UsageError(
    `npm took ${options} for itself (a script gets only the arguments after \`--\`): type them ${where}, or take ` +
    'them out of .npmrc and the environment (npm_config_...)',
    `--${taken[0]}`,
  );
}

const wantsHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

/**
 * Everything after `shmcomm bench`: a benchmark name (bandwidth when the options come first), then its options.
 * `--help` or `-h` anywhere asks for that benchmark's help instead, whatever else is there, and so does the word
 * `help` before the name or alone after it (`bench help latency`, `bench latency help`), as `shmcomm help` does.
 */
export function parseBenchArgs(argv: readonly string[]): BenchRequest {
  if (argv[0] === 'help') return parseBenchArgs([...argv.slice(1), '--help']);
  // The benchmark's name comes first, or not at all (bandwidth).
  const named = argv[0] !== undefined && !argv[0].startsWith('-');
  if (!named && wantsHelp(argv)) {
    // Help wins over a name in the wrong place: `bench --help latency`, `bench --json -h latency` ask for latency's
    // (and `bench --help latncy` is refused as an unknown benchmark, with a guess)
    const late = argv[nameIndex(argv, ALL_BENCH_SPECS)];
    if (late !== undefined) return parseBenchArgs([late, '--help']);
  }
  const name = named ? argv[0]! : 'bandwidth';
  const options = !named ? argv : argv.length === 2 && argv[1] === 'help' ? ['--help'] : argv.slice(1);
  if (!named && !wantsHelp(options)) refuseNameAfterOptions(options);
  switch (name) {
    case 'bandwidth':
      if (wantsHelp(options)) return { command: 'help', text: bandwidthHelp() };
      return { command: 'bandwidth', options: parseBandwidthArgs(options) };
    case 'latency':
      if (wantsHelp(options)) return { command: 'help', text: latencyHelp() };
      return { command: 'latency', options: parseLatencyArgs(options) };
    case 'collectives':
      if (wantsHelp(options)) return { command: 'help', text: collectivesHelp() };
      return { command: 'collectives', options: parseCollectivesArgs(options) };
    default:
      throw new UsageError(`Unknown benchmark "${name}"${didYouMean(name, BENCHMARKS)}: expected bandwidth, latency or collectives`);
  }
}

/**
 * `bench --json latency`: a benchmark's name after an option, where it would read as a stray argument of bandwidth
 * (`Unexpected argument "latency"`). The value of an option is no name: `bench --csv latency` writes a file.
 */
function refuseNameAfterOptions(options: readonly string[]): void {
  const at = nameIndex(options, ALL_BENCH_SPECS);
  const name = options[at];
  if (name === undefined || !BENCHMARKS.includes(name)) return;
  const rest = options.filter((_, index) => index !== at).join(' ');
  const suggestion = `shmcomm bench ${name} ${rest}`;
  throw new UsageError(
    `The benchmark's name must come first: \`${suggestion}\`, got "${name}" after \`${options[0]}\``,
  );
}

/**
 * Everything after `shmcomm exercise`: the exercise's name and `--ranks N`, `--transport NAME`, `--unsafe`, in any
 * order (`exercise ring --ranks 4` or `exercise --ranks 4 ring`).
 */
export function parseExerciseArgs(argv: readonly string[]): ExerciseRequest {
  // `--help` anywhere, and the word `help` before the name or alone after it, as for bench
  const helpWord = argv[0] === 'help' || (argv.length === 2 && !argv[0]!.startsWith('-') && argv[1] === 'help');
  if (wantsHelp(argv) || helpWord) return { command: 'help', text: exerciseHelp() };
  const at = nameIndex(argv, EXERCISE_SPECS);
  const options = at < 0 ? argv : [...argv.slice(0, at), ...argv.slice(at + 1)];
  // The options first: in `exercise --ranks 4 --transport` the name is not missing, the transport is.
  const reader = new OptionReader('shmcomm exercise', EXERCISE_SPECS, options);
  if (at < 0) throw missingName(reader);
  const ranks = reader.has('ranks') ? reader.integer('ranks', 1, 64) : undefined;
  const transport = reader.has('transport') ? reader.choice('transport', TRANSPORTS) : undefined;
  const name = exerciseNamed(argv[at]!);
  if (name === undefined) throw unknownExercise(argv[at]!);
  return { command: 'exercise', name, options: { ranks, transport, unsafe: reader.has('unsafe') } };
}

/** The file of gather's lock: a learner reading it who runs it by that name runs gather. */
const GATHER_LOCK = '3-gather-lock';

/**
 * The exercise that `text` names: its name (`sample`), its number in the course (`1`) or its file's name
 * (`1-sample`, and `3-gather-lock` for gather); undefined if none.
 */
export function exerciseNamed(text: string): ExerciseName | undefined {
  if (text === GATHER_LOCK) return 'gather';
  return EXERCISE_NAMES.find((name, i) => text === name || text === String(i + 1) || text === `${i + 1}-${name}`);
}

/**
 * The error for a name that is no exercise's. A learner with the file open may type its path (`exercises/2-ring.ts`,
 * tab-completed): that is the file's name with more around it, so it is the guess.
 */
export function unknownExercise(text: string): UsageError {
  const count = EXERCISE_NAMES.length;
  const fileName = text.replace(/^.*[\\/]/, '').replace(/\.[jt]s$/, '');
  const near = fileName !== text && exerciseNamed(fileName) !== undefined
    ? ` (did you mean ${fileName}?)`
    : didYouMean(text, [...EXERCISE_NAMES, ...EXERCISE_NAMES.map((name, i) => `${i + 1}-${name}`), GATHER_LOCK]);
  return new UsageError(
    `Unknown exercise "${text}"${near}: expected one of ${EXERCISE_NAMES.join(', ')}, a number from 1 to ${count}, ` +
    `or a file's name such as 1-sample`,
  );
}

/** Where the first argument that is neither an option nor an option's value is, or -1. */
function nameIndex(argv: readonly string[], specs: readonly OptionSpec[]): number {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('-')) return i;
    const takesValue = specs.some((spec) => `--${spec.name}` === token && spec.value !== undefined);
    if (takesValue) i++; // `--ranks 4`: the 4 is its value (`--ranks=4` is one token)
  }
  return -1;
}

/** No exercise name on the command line: an option may have taken it as its value (`exercise --ranks ring`). */
function missingName(reader: OptionReader): UsageError {
  for (const spec of EXERCISE_SPECS) {
    if (spec.value === undefined || !reader.has(spec.name)) continue;
    const text = reader.text(spec.name)!;
    // A number is an exercise's too, but `--ranks 3` with no name is more likely 3 ranks than exercise 3.
    if (exerciseNamed(text) === undefined || /^\d+$/.test(text)) continue;
    const option = `--${spec.name}`;
    return new UsageError(`Option \`${option}\` needs a value (${WHAT_VALUE[spec.value]}), got the exercise name "${text}"`, option);
  }
  return new UsageError(`Missing the exercise name: expected one of ${EXERCISE_NAMES.join(', ')}`);
}
