/**
 * The `shmcomm` command line. It only parses and delegates: the options are read in `bench/args.ts` (by the reader of
 * `bench/options.ts`), the benchmarks live in `bench/`, the exercises in `exercises.ts`. `main` returns the exit status
 * instead of exiting, so tests can call it: 0 done, 1 failed, 2 the command line was wrong (the message and the usage,
 * or where the command's help is, go to stderr).
 */
import { readFile } from 'node:fs/promises';
import { BENCHMARKS, parseBenchArgs, parseExerciseArgs, refuseOptionsNpmTook } from './bench/args.js';
import { UsageError } from './bench/options.js';
import { OutputError, VerificationError } from './bench/report.js';
import { runBandwidth } from './bench/bandwidth.js';
import { runCollectives } from './bench/collectives.js';
import { runLatency } from './bench/latency.js';
import { didYouMean } from './describe.js';
import { DeadlockError, RankFailedError, TimeoutError } from './errors.js';
import { runExercise, WrongResultError } from './exercises.js';
import { NO_REP_MOVSB } from './glibc.js';
import { hangingItem, terminalColumns, usageLines, visibleWidth, words, wrapText } from './term.js';

/** The usage, in lines of at most `columns`. */
function usage(columns: number): string {
  const forms = [
    ['bench', '[bandwidth|latency|collectives]', '[options]'],
    ['exercise', '<name>', '[--ranks N]', '[--transport shared|transfer|clone]', '[--unsafe]'],
    ['--help |', '--version'],
  ];
  return usageLines('shmcomm', forms, columns).join('\n');
}

const COMMANDS: [string, string][] = [
  ['bench bandwidth', 'MB/s per message size and mode: a table and a log-log chart (the default benchmark)'],
  ['bench latency', 'one-way latency per message size and mode (wait strategies, postMessage, processes)'],
  ['bench collectives', 'time per call of bcast, reduce, allreduce and barrier'],
  ['exercise <name>', 'run one of the exercises'],
];

/** The paragraphs after the commands, each a list of the pieces it wraps between. */
const NOTES: readonly string[][] = [
  // The command whole, on a line of its own where it does not fit after the words.
  [...words('Each command explains its options with --help, for example:'), 'shmcomm bench latency --help'],
  words('Colors follow NO_COLOR, then FORCE_COLOR as Node reads it, and are off when stdout is not a terminal.'),
  words(`On an AMD CPU under glibc, shmcomm runs in a second process started with GLIBC_TUNABLES=${NO_REP_MOVSB}, ` +
    'so that memcpy never uses rep movsb (glibc bug 30994: up to 15x slower for some buffer placements); ' +
    "SHMCOMM_REP_MOVSB=1 keeps glibc's choice."),
];

/**
 * `shmcomm --help`, in lines of at most `columns` (the terminal's width; 80 off a terminal), with a blank line between
 * two paragraphs, which wrap.
 */
export function shmcommHelp(columns = terminalColumns(process.stdout)): string {
  const paragraph = (pieces: readonly string[]): string => hangingItem('', [pieces], 0, columns).join('\n');
  const commands = COMMANDS.flatMap(([command, about]) => hangingItem(`  ${command}`, [words(about)], 22, columns));
  return [
    paragraph(words('shmcomm: zero-copy shared-memory messaging between worker threads.')),
    usage(columns),
    ['Commands:', ...commands].join('\n'),
    ...NOTES.map(paragraph),
  ].join('\n\n');
}

/** Runs the command in `argv` (the arguments after `shmcomm`) and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    const { message, status } = describeFailure(error, argv);
    console.error(process.stderr.isTTY ? wrapMessage(message, terminalColumns(process.stderr)) : message);
    return status;
  }
}

/**
 * A failure's message for a terminal `columns` wide: its lines of words wrapped, as the help is; a stack's frames
 * (indented) left whole, as are lines that fit. Off a terminal it goes as it is: one line a message, for logs and grep.
 */
export function wrapMessage(message: string, columns: number): string {
  return message.split('\n').map((line) => (visibleWidth(line) <= columns || /^\s/.test(line) ? line : wrapText(line, columns))).join('\n');
}

/**
 * What `main` prints on stderr for an error that ended the command `argv`, and the exit status it returns: 2 for a
 * mistake in the command line, 1 for anything else.
 */
export function describeFailure(error: unknown, argv: readonly string[]): { message: string; status: 1 | 2 } {
  if (error instanceof UsageError) {
    const help = helpCommand(argv);
    const next = help === undefined ? usage(terminalColumns(process.stderr)) : `See ${help} --help.`;
    return { message: `shmcomm: ${error.message}\n\n${next}`, status: 2 };
  }
  // An output we could not write, an exercise that printed its WRONG line, a benchmark's messages that arrived wrong,
  // or a launch that ran out of time (what each rank was doing is in the message; the stack would be the launcher's
  // timer): the message says it all.
  const launchTimeout = error instanceof TimeoutError && error.op === 'launch';
  const known = error instanceof OutputError || error instanceof WrongResultError || error instanceof VerificationError;
  if (known || launchTimeout) {
    return { message: `shmcomm: ${error.message}`, status: 1 };
  }
  // A rank that failed, or a deadlock: the message says what happened, and the stack of the rank's own error (the
  // cause) where in its program; the stack of the launcher, which only reported it, would say nothing more.
  if (error instanceof RankFailedError || error instanceof DeadlockError) {
    return { message: `shmcomm: ${error.message}${framesOf(error.cause)}${causesOf(error.cause)}`, status: 1 };
  }
  if (!(error instanceof Error)) return { message: `shmcomm: ${String(error)}`, status: 1 };
  // An error that reports another, as an exercise reports the error of a worker it started (`ring rank 2 failed:`):
  // the cause's stack says where it happened; the report's would say where the 'error' event reached the reporter,
  // in Node's internals.
  if (error.cause instanceof Error) {
    return { message: `shmcomm: ${error.message}\nCaused by: ${error.cause.stack ?? error.cause.message}`, status: 1 };
  }
  // A failure of the command itself: the stack says where.
  return { message: error.stack ?? error.message, status: 1 };
}

/** How many errors of an AggregateError causesOf names; it counts the rest. */
const AGGREGATED_SHOWN = 10;

/**
 * What a rank's error says beneath its own message: `Caused by: RangeError: port 99999 out of range` for each cause
 * in its chain, and an AggregateError's errors, one a line (`  [0] Error: x`); '' when there are none. The rank's
 * error is rebuilt in this thread with its causes and errors (thrown.ts), which would otherwise go unprinted.
 */
function causesOf(error: unknown): string {
  let text = '';
  for (let at = error, depth = 0; at instanceof Error && depth < 10; depth++) {
    if (at instanceof AggregateError) {
      // thrown.ts sends 100 errors at most, then a note of how many it left out: the note ends the list as it is
      const last: unknown = at.errors.at(-1);
      const note = isNote(last) ? `\n  ${last.message}` : '';
      const listed = note === '' ? at.errors : at.errors.slice(0, -1);
      const errors = listed.slice(0, AGGREGATED_SHOWN).map((each, i) => `\n  [${i}] ${oneLine(each)}`).join('');
      const more = listed.length > AGGREGATED_SHOWN ? `\n  and ${listed.length - AGGREGATED_SHOWN} more` : '';
      text += errors + more + note;
    }
    if (!Object.hasOwn(at, 'cause')) break;
    at = at.cause;
    text += `\nCaused by: ${oneLine(at)}`;
  }
  return text;
}

/** `RangeError: port 99999 out of range`: an error's name and message (a note of thrown.ts's as it is), or the text. */
function oneLine(value: unknown): string {
  if (isNote(value)) return value.message;
  return value instanceof Error ? `${value.name}: ${value.message}` : String(value);
}

/** A note thrown.ts puts where it left something out: `(a cycle: ...)`, `(4900 more errors, not sent)`. */
function isNote(value: unknown): value is Error {
  return value instanceof Error && value.name === 'Error' && /^\(.*\)$/.test(value.message);
}

/** The `    at ...` lines of an error's stack, each on a line of its own after a newline; '' for anything else. */
function framesOf(error: unknown): string {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  return stack.split('\n').filter((line) => /^\s+at /.test(line)).map((line) => `\n${line}`).join('');
}

const HELP_WORDS = ['--help', '-h', 'help'];

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case '--help':
    case '-h':
    case 'help': {
      const topic = rest.filter((word) => !HELP_WORDS.includes(word) && !word.startsWith('-')); // `help bench latency`
      if (topic.length > 0) return run([...topic, '--help']);
      print(shmcommHelp());
      return 0;
    }
    case '--version':
    case '-v':
      if (rest.length > 0) throw new UsageError(`Unexpected \`${rest[0]}\` after ${command}`, rest[0]);
      print(await version());
      return 0;
    case 'bench': {
      refuseOptionsNpmTook(process.env, rest);
      const request = parseBenchArgs(rest);
      if (request.command === 'help') print(request.text);
      else if (request.command === 'bandwidth') await runBandwidth(request.options);
      else if (request.command === 'latency') await runLatency(request.options);
      else await runCollectives(request.options);
      return 0;
    }
    case 'exercise': {
      refuseOptionsNpmTook(process.env, rest);
      const request = parseExerciseArgs(rest);
      if (request.command === 'help') print(request.text);
      else await runExercise(request.name, request.options);
      return 0;
    }
    case undefined:
      throw new UsageError('Missing a command');
    default:
      if (command.startsWith('-')) {
        const near = didYouMean(command, ['--help', '--version']); // as the commands' options get
        throw new UsageError(`Unknown option \`${command}\`${near}: expected a command, --help or --version`, command);
      }
      throw new UsageError(`Unknown command "${command}"${didYouMean(command, ['bench', 'exercise', 'help'])}: expected bench or exercise`);
  }
}

/** The command whose --help explains a mistake in `argv`: `shmcomm bench latency`, `shmcomm exercise`; else none. */
function helpCommand(argv: readonly string[]): string | undefined {
  const [command, sub] = argv;
  if (command === 'exercise') return 'shmcomm exercise';
  if (command !== 'bench') return undefined;
  return BENCHMARKS.includes(sub ?? '') ? `shmcomm bench ${sub}` : 'shmcomm bench';
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** The version in package.json: this file is dist/src/cli.js, two levels below the package root. */
async function version(): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
