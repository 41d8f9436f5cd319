import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bandwidthHelp, collectivesHelp, exerciseHelp, exerciseNamed, latencyHelp, parseBandwidthArgs, parseBenchArgs,
  parseCollectivesArgs, parseExerciseArgs, parseLatencyArgs, refuseOptionsNpmTook,
} from '../src/bench/args.js';
import { UsageError } from '../src/bench/options.js';
import { didYouMean } from '../src/describe.js';
import { OutputError, VerificationError } from '../src/bench/report.js';
import { describeFailure, main, shmcommHelp, wrapMessage } from '../src/cli.js';
import { WrongResultError } from '../src/exercises.js';
import { DeadlockError, RankFailedError, TimeoutError } from '../src/index.js';

const MiB = 2 ** 20;
/** The hint to an item of a list typed after a space. */
const LIST = 'a list is one word, its items apart by commas,';

/** The UsageError that `parse` throws (a failed assertion when it throws nothing, or something else). */
function usageError(parse: () => unknown): UsageError {
  let thrown: unknown;
  try {
    parse();
  } catch (error) {
    thrown = error;
  }
  assert.instance(thrown, UsageError, `expected a UsageError, got ${String(thrown)}`);
  return thrown as UsageError;
}

test('bandwidth defaults', () => {
  assert.equal(parseBandwidthArgs([]), {
    minBytes: 8,
    maxBytes: 64 * MiB,
    points: 20,
    window: 64,
    seconds: 0.2,
    warmupSeconds: 0.05,
    modes: ['clone', 'transfer', 'transfer-alloc', 'shared', 'zerocopy', 'ringbuf', 'process', 'memcpy'],
    ringBytes: undefined,
    rounds: 1,
    chart: true,
    json: false,
    csvFile: undefined,
  });
});

test('bandwidth options, as `--name value` and `--name=value`', () => {
  const options = parseBandwidthArgs([
    '--min', '64', '--max=1MiB', '--points', '5', '--window=8', '--time', '0.01', '--warmup', '0',
    '--modes', 'zerocopy, shared,zerocopy', '--ring', '64KiB', '--rounds=3', '--json', '--csv', 'out.csv', '--no-chart',
  ]);
  assert.equal(options, {
    minBytes: 64, maxBytes: MiB, points: 5, window: 8, seconds: 0.01, warmupSeconds: 0,
    modes: ['zerocopy', 'shared'], ringBytes: 64 * 1024, rounds: 3, chart: false, json: true, csvFile: 'out.csv',
  });
  assert.is(parseBandwidthArgs(['--modes', 'clone,ringbuf', '--ring', '64KiB']).ringBytes, 64 * 1024, 'one ring mode');
});

test('latency, collectives and exercise defaults', () => {
  assert.equal(parseLatencyArgs([]), {
    minBytes: 8, maxBytes: 64 * 1024, points: 14, iterations: undefined, seconds: 0.2, warmupSeconds: 0.05,
    modes: ['spin', 'park', 'spinThenPark', 'async', 'transfer', 'clone', 'onmessage', 'process'],
    chart: true, json: false, csvFile: undefined,
  });
  assert.is(parseLatencyArgs(['--iterations', '1000']).iterations, 1000);
  assert.equal(parseCollectivesArgs([]), {
    ranks: [2, 4, 8], sizes: [8, 64 * 1024, 8 * MiB], ops: ['bcast', 'reduce', 'allreduce', 'barrier'],
    transports: ['shared', 'transfer', 'clone'], seconds: 0.2, warmupSeconds: 0.05, strategy: undefined,
    arenaBytes: 16 * MiB, json: false, csvFile: undefined,
  });
  assert.equal(parseCollectivesArgs(['--ranks', '8,2,2', '--sizes', '1MiB,8']).ranks, [2, 8]);
  assert.equal(parseCollectivesArgs(['--ranks', '2,02,4']).ranks, [2, 4], 'repeats are counted by number, not text');
  assert.is(parseCollectivesArgs(['--arena', '0']).arenaBytes, 0);
  assert.is(parseCollectivesArgs(['--arena', '1MiB']).arenaBytes, MiB);
  assert.is(parseCollectivesArgs(['--ranks', '2', '--arena', '128']).arenaBytes, 128);
  assert.is(parseCollectivesArgs(['--transports', 'clone,shared', '--arena', '1MiB']).arenaBytes, MiB);
  assert.is(usageError(() => parseCollectivesArgs(['--transports', 'clone', '--arena', '1MiB'])).option, '--arena');
  assert.equal(parseCollectivesArgs(['--sizes', '1MiB,8']).sizes, [8, MiB]);
  // What the largest size on the most ranks would hold (3 copies a rank) must fit in the machine's memory.
  const GiB = 1024 * MiB;
  assert.equal(parseCollectivesArgs(['--sizes', '1GiB', '--ranks', '2'], 6 * GiB).sizes, [GiB]);
  const tooBig = usageError(() => parseCollectivesArgs(['--sizes', '8,1GiB', '--ranks', '2,4'], 6 * GiB));
  assert.is(tooBig.message, '--sizes 1 GiB on 4 ranks needs about 12 GiB of memory (3 copies of the message a rank), ' +
    'more than the 6 GiB this machine has: give smaller --sizes or fewer --ranks');
  assert.is(tooBig.option, '--sizes');
  // barrier moves no bytes: its sizes are not counted
  assert.equal(parseCollectivesArgs(['--sizes', '1GiB', '--ranks', '8', '--ops', 'barrier'], 6 * GiB).ops, ['barrier']);
  // Lists of numbers and sizes typed with spaces: the stray item says how to write the list
  const COLLECTIVES = 'shmcomm bench collectives';
  assert.is(usageError(() => parseCollectivesArgs(['--ranks', '2', '4'])).message,
    `Unexpected argument "4" for \`${COLLECTIVES}\`: ${LIST} \`--ranks 2,4\``);
  assert.is(usageError(() => parseCollectivesArgs(['--sizes', '8,', '64KiB,', '8MiB'])).message,
    `Unexpected argument "64KiB," for \`${COLLECTIVES}\`: ${LIST} \`--sizes 8,64KiB,8MiB\``);
  assert.is(usageError(() => parseCollectivesArgs(['--arena', '8', 'MiB'])).message,
    `Unexpected argument "MiB" for \`${COLLECTIVES}\`: a size is one word, \`--arena 8MiB\``);
  // ... and a list of sizes typed as the table writes them, with a space before the unit: the unit stays with its
  // number (it got no hint, or `--sizes 8,64,KiB`, the unit made an item)
  assert.is(usageError(() => parseCollectivesArgs(['--sizes', '8', 'MiB'])).message,
    `Unexpected argument "MiB" for \`${COLLECTIVES}\`: a size is one word, \`--sizes 8MiB\``);
  assert.is(usageError(() => parseCollectivesArgs(['--sizes', '8,64', 'KiB', '--ranks', '2'])).message,
    `Unexpected argument "KiB" for \`${COLLECTIVES}\`: ${LIST} \`--sizes 8,64KiB\``);
  assert.is(usageError(() => parseCollectivesArgs(['--sizes', '8,', '64', 'KiB'])).message,
    `Unexpected argument "64" for \`${COLLECTIVES}\`: ${LIST} \`--sizes 8,64KiB\``);
  assert.is(usageError(() => parseCollectivesArgs(['--sizes', '8', 'B', '1', 'MiB'])).message,
    `Unexpected argument "B" for \`${COLLECTIVES}\`: ${LIST} \`--sizes 8B,1MiB\``);
  assert.is(usageError(() => parseCollectivesArgs(['--ranks', '2', 'KiB'])).message, // rank counts have no unit
    `Unexpected argument "KiB" for \`${COLLECTIVES}\``);
  assert.equal(parseExerciseArgs(['ring']), {
    command: 'exercise', name: 'ring', options: { ranks: undefined, transport: undefined, unsafe: false },
  });
  const full = { command: 'exercise', name: 'gather', options: { ranks: 4, transport: 'clone', unsafe: true } };
  assert.equal(parseExerciseArgs(['gather', '--ranks', '4', '--transport', 'clone', '--unsafe']), full);
  assert.equal(parseExerciseArgs(['--ranks', '4', 'gather', '--transport=clone', '--unsafe']), full, 'options first');
  assert.equal(parseExerciseArgs(['--unsafe', '--ranks=4', '--transport', 'clone', 'gather']), full, 'the name last');
  assert.equal(parseBandwidthArgs(['--time', '1e-2', '--warmup', '2.5E-3']).seconds, 0.01, 'exponent notation');
});

test('parseBenchArgs: bandwidth by default, a benchmark by name, help anywhere (before the name too)', () => {
  assert.is(parseBenchArgs([]).command, 'bandwidth');
  assert.is(parseBenchArgs(['--points', '4']).command, 'bandwidth');
  const latency = parseBenchArgs(['latency', '--points', '4']);
  assert.is(latency.command, 'latency');
  assert.is(latency.command === 'latency' && latency.options.points, 4);
  assert.is(parseBenchArgs(['collectives']).command, 'collectives');
  assert.equal(parseBenchArgs(['--help']), { command: 'help', text: bandwidthHelp() });
  assert.equal(parseBenchArgs(['latency', '--bogus', '-h']), { command: 'help', text: latencyHelp() });
  assert.equal(parseBenchArgs(['collectives', '--help']), { command: 'help', text: collectivesHelp() });
  assert.equal(parseBenchArgs(['--help', 'latency']), { command: 'help', text: latencyHelp() }); // help, then the name
  assert.equal(parseBenchArgs(['-h', 'collectives', '--ranks', '2']), { command: 'help', text: collectivesHelp() });
  assert.equal(parseBenchArgs(['--help', '--points', '4']), { command: 'help', text: bandwidthHelp() });
  // help wins over a name after an option, and the word help asks for it before the name or alone after it
  assert.equal(parseBenchArgs(['--json', '--help', 'latency']), { command: 'help', text: latencyHelp() });
  // ...after another benchmark's option and its value too, which is no benchmark's name
  assert.equal(parseBenchArgs(['--iterations', '100', '--help', 'latency']), { command: 'help', text: latencyHelp() });
  assert.equal(parseBenchArgs(['--ranks', '2,4', '-h', 'collectives']), { command: 'help', text: collectivesHelp() });
  assert.equal(parseBenchArgs(['--iterations', '100', '--help']), { command: 'help', text: bandwidthHelp() });
  assert.is(usageError(() => parseBenchArgs(['--iterations', '100', 'latency'])).message,
    'The benchmark\'s name must come first: `shmcomm bench latency --iterations 100`, got "latency" after `--iterations`');
  assert.equal(parseBenchArgs(['--csv', 'out.csv', '-h']), { command: 'help', text: bandwidthHelp() });
  assert.equal(parseBenchArgs(['help', 'latency']), { command: 'help', text: latencyHelp() });
  assert.equal(parseBenchArgs(['help']), { command: 'help', text: bandwidthHelp() });
  assert.equal(parseBenchArgs(['collectives', 'help']), { command: 'help', text: collectivesHelp() });
  assert.is(usageError(() => parseBenchArgs(['help', 'latncy'])).message,
    'Unknown benchmark "latncy" (did you mean latency?): expected bandwidth, latency or collectives');
  assert.is(usageError(() => parseBenchArgs(['--help', 'latncy'])).message,
    'Unknown benchmark "latncy" (did you mean latency?): expected bandwidth, latency or collectives');
  assert.equal(parseExerciseArgs(['help', 'ring']), { command: 'help', text: exerciseHelp() });
  assert.equal(parseExerciseArgs(['ring', 'help']), { command: 'help', text: exerciseHelp() });
  assert.is(usageError(() => parseExerciseArgs(['ring', '--transport', 'help'])).message,
    'Expected `--transport` to be one of shared, transfer, clone, got "help"');
  const ring = parseBenchArgs(['--ring', 'AUTO']);
  assert.is(ring.command, 'bandwidth');
  assert.is(ring.command === 'bandwidth' && ring.options.ringBytes, undefined, '--ring AUTO is auto');
  assert.equal(parseExerciseArgs(['--help']), { command: 'help', text: exerciseHelp() });
  // The name after an option: not a stray argument of bandwidth, a name in the wrong place.
  assert.is(usageError(() => parseBenchArgs(['--json', 'latency'])).message,
    'The benchmark\'s name must come first: `shmcomm bench latency --json`, got "latency" after `--json`');
  assert.is(usageError(() => parseBenchArgs(['--points', '4', 'collectives', '--json'])).message,
    'The benchmark\'s name must come first: `shmcomm bench collectives --points 4 --json`, ' +
    'got "collectives" after `--points`');
  const file = parseBenchArgs(['--csv', 'latency', '--json']); // a CSV file named latency, in this directory
  assert.is(file.command, 'bandwidth');
  assert.is(file.command === 'bandwidth' && file.options.csvFile, 'latency');
  const unknown = usageError(() => parseBenchArgs(['bogus']));
  assert.is(unknown.message, 'Unknown benchmark "bogus": expected bandwidth, latency or collectives');
});

const BANDWIDTH = 'shmcomm bench bandwidth';
const BAD_BANDWIDTH: [string[], string][] = [
  [['--bogus'], `Unknown option \`--bogus\` for \`${BANDWIDTH}\``],
  [['-x'], `Unknown option \`-x\` for \`${BANDWIDTH}\``],
  [['stray'], `Unexpected argument "stray" for \`${BANDWIDTH}\``],
  // A size typed as the output writes it, with a space: the stray unit says how to write it
  [['--max', '1', 'MiB'], `Unexpected argument "MiB" for \`${BANDWIDTH}\`: a size is one word, \`--max 1MiB\``],
  [['--min', '1.5', 'KiB', '--max', '8MiB'],
    `Unexpected argument "KiB" for \`${BANDWIDTH}\`: a size is one word, \`--min 1.5KiB\``],
  [['--ring', '4', 'MiB'], `Unexpected argument "MiB" for \`${BANDWIDTH}\`: a size is one word, \`--ring 4MiB\``],
  [['--points', '6', 'sizes'], `Unexpected argument "sizes" for \`${BANDWIDTH}\``],
  // ... and a list typed with spaces, after its commas or instead of them
  [['--modes', 'shared,', 'clone,', 'memcpy', '--max', '1MiB'],
    `Unexpected argument "clone," for \`${BANDWIDTH}\`: ${LIST} \`--modes shared,clone,memcpy\``],
  [['--modes', 'shared', 'clone'],
    `Unexpected argument "clone" for \`${BANDWIDTH}\`: ${LIST} \`--modes shared,clone\``],
  [['--modes', 'shared', ',clone'],
    `Unexpected argument ",clone" for \`${BANDWIDTH}\`: ${LIST} \`--modes shared,clone\``],
  [['--modes', 'shared', 'fast'], `Unexpected argument "fast" for \`${BANDWIDTH}\``],
  [['--json=yes'], 'Option `--json` takes no value, got "--json=yes"'],
  [['--csv'], 'Option `--csv` needs a value (a file path)'],
  [['--csv', '--json'], 'Option `--csv` needs a value (a file path)'],
  [['--max'], 'Option `--max` needs a value (a size such as 64KiB)'],
  [['--min', 'abc'], 'Expected `--min` to be a size such as 64KiB or 8MiB, got "abc"'],
  [['--max', '1MB'], 'Expected `--max` to be a size such as 64KiB or 8MiB, got "1MB" (sizes are binary: write MiB)'],
  [['--min', '0'], 'Expected `--min` to be a positive size, got "0"'],
  [['--min', '-8'], 'Expected `--min` to be a positive size, got "-8"'],
  [['--min', '12'], 'Expected `--min` to be a multiple of 8 bytes (payloads are Float64Arrays), got "12"'],
  [['--max', '2GiB'], 'Expected `--max` to be at most 1 GiB, got "2GiB"'],
  [['--max', '10000000000000000'], 'Expected `--max` to be at most 1 GiB, got "10000000000000000"'],
  [['--min', '99999999999 GiB'], 'Expected `--min` to be at most 1 GiB, got "99999999999 GiB"'],
  [['--min', '64KiB', '--max', '8KiB'], 'Expected `--min` (64 KiB) to be at most `--max` (8 KiB)'],
  [['--points', '1'], 'Expected `--points` to be an integer from 2 to 200, got "1"'],
  [['--points', '2.5'], 'Expected `--points` to be an integer from 2 to 200, got "2.5"'],
  [['--window', '0'], 'Expected `--window` to be an integer from 1 to 100000, got "0"'],
  [['--rounds', '0'], 'Expected `--rounds` to be an integer from 1 to 99, got "0"'],
  [['--rounds', '1.5'], 'Expected `--rounds` to be an integer from 1 to 99, got "1.5"'],
  [['--time', '0'], 'Expected `--time` to be a number of seconds from 0.001 to 3600, got "0"'],
  [['--time', 'abc'], 'Expected `--time` to be a number of seconds from 0.001 to 3600, got "abc"'],
  [['--warmup', '-1'], 'Expected `--warmup` to be a number of seconds from 0 to 3600, got "-1"'],
  [['--modes', 'shared,bogus'],
    'Unknown mode "bogus" in `--modes`; valid modes: clone, transfer, transfer-alloc, shared, zerocopy, ringbuf, process, memcpy'],
  [['--modes', ','],
    'Expected `--modes` to list at least one of clone, transfer, transfer-alloc, shared, zerocopy, ringbuf, process, memcpy, got ","'],
  [['--ring', '3MiB'], 'Expected `--ring` to be auto or a power of two from 4 KiB to 1 GiB, got "3MiB"'],
  [['--ring', '2KiB'], 'Expected `--ring` to be auto or a power of two from 4 KiB to 1 GiB, got "2KiB"'],
  [['--ring', '2GiB'], 'Expected `--ring` to be auto or a power of two from 4 KiB to 1 GiB, got "2GiB"'],
  [['--ring', '0'], 'Expected `--ring` to be auto or a power of two from 4 KiB to 1 GiB, got "0"'],
  [['--ring', 'fast'], 'Expected `--ring` to be auto or a power of two from 4 KiB to 1 GiB, got "fast"'],
  [['--modes', 'shared', '--modes', 'clone'], 'Option `--modes` given twice: give it once, its values with commas between them (--modes a,b)'],
  [['--min', '8', '--max', '16', '--min=16'], 'Option `--min` given twice: give it once'],
  [['--json', '--json'], 'Option `--json` given twice: give it once'],
  // An option for modes the run leaves out would change nothing: refused, not ignored
  [['--modes', 'clone,memcpy', '--ring', '1MiB'], 'Option `--ring` is for the ring modes (shared, zerocopy, ringbuf), ' +
    'which `--modes clone,memcpy` leaves out: add one to `--modes`, or leave `--ring` out'],
];

test('bandwidth: every bad value is refused with a message naming the option, the value and what is allowed', () => {
  for (const [argv, message] of BAD_BANDWIDTH) {
    const error = usageError(() => parseBandwidthArgs(argv));
    assert.is(error.message, message, argv.join(' '));
  }
});

test('latency, collectives, exercise: bad values', () => {
  const cases: [() => unknown, string][] = [
    [() => parseLatencyArgs(['--iterations', '0']),
      'Expected `--iterations` to be an integer from 1 to 1000000000, got "0"'],
    [() => parseLatencyArgs(['--iterations', '10', '--time=1']),
      'Use either `--iterations` or `--time`, not both'],
    [() => parseLatencyArgs(['--modes', 'spin,nap']),
      'Unknown mode "nap" in `--modes`; valid modes: spin, park, spinThenPark, async, transfer, clone, onmessage, process'],
    [() => parseLatencyArgs(['--window', '8']),
      'Unknown option `--window` for `shmcomm bench latency`'],
    [() => parseLatencyArgs(['--modes', 'clone,spin,async', '--max', '512MiB']), // a ring mode's largest message is 16 bytes less
      'Expected `--max` to be at most 512 MiB less 16 bytes (half the largest ring, 1 GiB, less a frame header) for spin, ' +
        'async, got "512MiB"; `--modes clone` leaves the ring modes out'],
    [() => parseLatencyArgs(['--max', '1GiB']),
      'Expected `--max` to be at most 512 MiB less 16 bytes (half the largest ring, 1 GiB, less a frame header) for spin, ' +
        'park, spinThenPark, async, got "1GiB"; `--modes transfer,clone,onmessage,process` leaves the ring modes out'],
    [() => parseLatencyArgs(['--modes', 'park', '--max', '1GiB']),
      'Expected `--max` to be at most 512 MiB less 16 bytes (half the largest ring, 1 GiB, less a frame header) for park, ' +
        'got "1GiB"'],
    [() => parseCollectivesArgs(['--ranks', '1,2']),
      'Expected every item of `--ranks` to be an integer from 2 to 64, got "1" in "1,2"'],
    [() => parseCollectivesArgs(['--ranks', '2,4,100,8']),
      'Expected every item of `--ranks` to be an integer from 2 to 64, got "100" in "2,4,100,8"'],
    [() => parseCollectivesArgs(['--ranks', 'four']),
      'Expected every item of `--ranks` to be an integer from 2 to 64, got "four"'],
    [() => parseCollectivesArgs(['--ranks', ',']),
      'Expected `--ranks` to be a comma-separated list of integers from 2 to 64, got ","'],
    [() => parseLatencyArgs(['--csv', '/no/such/directory/x.csv']),
      'Cannot write the `--csv` file /no/such/directory/x.csv: there is no directory /no/such/directory'],
    [() => parseBandwidthArgs(['--csv', tmpdir()]),
      `Cannot write the \`--csv\` file ${tmpdir()}: it is a directory`],
    [() => parseLatencyArgs(['--csv', 'results/']),
      'Cannot write the `--csv` file results/: it names a directory, not a file'],
    [() => parseCollectivesArgs(['--csv', '-']),
      'Cannot write the `--csv` file -: this command writes CSV to files only (for stdout, --csv /dev/stdout, or --json)'],
    [() => parseLatencyArgs(['--time', '1e-9']),
      'Expected `--time` to be a number of seconds from 0.001 to 3600, got "1e-9"'],
    [() => parseCollectivesArgs(['--sizes', '8,12']),
      'Expected `--sizes` to be a multiple of 8 bytes (payloads are Float64Arrays), got "12"'],
    [() => parseCollectivesArgs(['--sizes', ',']),
      'Expected `--sizes` to list at least one size such as 64KiB, got ","'],
    [() => parseCollectivesArgs(['--sizes', '']),
      'Option `--sizes` needs a value (a comma-separated list)'],
    [() => parseCollectivesArgs(['--csv=']),
      'Option `--csv` needs a value (a file path)'],
    [() => parseCollectivesArgs(['--ops', 'bcast,scan']),
      'Unknown op "scan" in `--ops`; valid ops: bcast, reduce, allreduce, barrier'],
    [() => parseCollectivesArgs(['--arena', '256']), // 64 B a rank for --ranks' default 2,4,8
      'Expected `--arena` to be 0 (no arena) or a size from 512 B (64 B for each of 8 ranks) to 2 GiB, got "256"'],
    [() => parseCollectivesArgs(['--arena', '3GiB']),
      'Expected `--arena` to be 0 (no arena) or a size from 512 B (64 B for each of 8 ranks) to 2 GiB, got "3GiB"'],
    [() => parseCollectivesArgs(['--arena', 'none', '--ranks', '2']),
      'Expected `--arena` to be 0 (no arena) or a size from 128 B (64 B for each of 2 ranks) to 2 GiB, got "none"'],
    [() => parseCollectivesArgs(['--transports', 'tcp']),
      'Unknown transport "tcp" in `--transports`; valid transports: shared, transfer, clone'],
    [() => parseCollectivesArgs(['--transports', 'clone,transfer', '--arena', '1MiB']), 'Option `--arena` is for the ' +
      'shared transport, which `--transports clone,transfer` leaves out: add shared to `--transports`, or leave `--arena` out'],
    [() => parseCollectivesArgs(['--arena', '0', '--transports', 'clone']), 'Option `--arena` is for the shared ' +
      'transport, which `--transports clone` leaves out: add shared to `--transports`, or leave `--arena` out'],
    [() => parseExerciseArgs([]),
      'Missing the exercise name: expected one of sample, ring, gather, broadcast, reduce, bandwidth'],
    [() => parseExerciseArgs(['--ranks', '4', '--unsafe']),
      'Missing the exercise name: expected one of sample, ring, gather, broadcast, reduce, bandwidth'],
    [() => parseExerciseArgs(['sample', 'ring']),
      'Unexpected argument "ring" for `shmcomm exercise`'],
    [() => parseExerciseArgs(['sample', '--ranks', '0']),
      'Expected `--ranks` to be an integer from 1 to 64, got "0"'],
    [() => parseExerciseArgs(['sample', '--transport', 'tcp']),
      'Expected `--transport` to be one of shared, transfer, clone, got "tcp"'],
  ];
  for (const [parse, message] of cases) assert.is(usageError(parse).message, message);
  // Where no file can be made though access() says yes (root in /proc), or where the directory is not writable:
  // refused before the run, not after it.
  if (existsSync('/proc/self')) {
    assert.match(usageError(() => parseLatencyArgs(['--csv', '/proc/x.csv'])).message,
      /^Cannot write the `--csv` file \/proc\/x\.csv: (it cannot be opened \(ENOENT\)|the directory \/proc is not writable)$/);
  }
  // A file that can be written and did not exist is not left behind by the check.
  const fresh = join(tmpdir(), `shmcomm-csv-check-${process.pid}.csv`);
  assert.is(parseLatencyArgs(['--csv', fresh]).csvFile, fresh);
  assert.not.ok(existsSync(fresh), 'the check made no file');
  // A link to a file yet to be made stays a link, and no file is made (the check once removed the link instead); a
  // FIFO is not opened (that would end its reader's stream, or block here with no reader).
  const dir = mkdtempSync(join(tmpdir(), 'shmcomm-csv-'));
  try {
    const link = join(dir, 'link.csv');
    symlinkSync(join(dir, 'target.csv'), link);
    assert.is(parseLatencyArgs(['--csv', link]).csvFile, link);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still there');
    assert.not.ok(existsSync(join(dir, 'target.csv')), 'and its target was not made');
    const fifo = join(dir, 'pipe.csv');
    if (spawnSync('mkfifo', [fifo]).status === 0) assert.is(parseLatencyArgs(['--csv', fifo]).csvFile, fifo);
    // Paths that stat itself refuses were a stack trace and status 1: a file where a directory goes (ENOTDIR), a name
    // too long, a loop of links
    const file = join(dir, 'file.csv');
    writeFileSync(file, '');
    assert.is(usageError(() => parseLatencyArgs(['--csv', join(file, 'x.csv')])).message,
      `Cannot write the \`--csv\` file ${join(file, 'x.csv')}: there is no directory ${file}`);
    assert.is(usageError(() => parseLatencyArgs(['--csv', join(file, 'sub', 'x.csv')])).message,
      `Cannot write the \`--csv\` file ${join(file, 'sub', 'x.csv')}: there is no directory ${join(file, 'sub')}`);
    const long = join(dir, `${'a'.repeat(300)}.csv`);
    assert.is(usageError(() => parseLatencyArgs(['--csv', long])).message,
      `Cannot write the \`--csv\` file ${long}: it cannot be opened (ENAMETOOLONG)`);
    const loop = join(dir, 'loop.csv');
    symlinkSync(loop, loop);
    assert.is(usageError(() => parseLatencyArgs(['--csv', loop])).message,
      `Cannot write the \`--csv\` file ${loop}: it cannot be opened (ELOOP)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exercise: by name, number or file name; an unknown one is named with what would do', () => {
  const aliases: [string, string][] = [
    ['1', 'sample'], ['1-sample', 'sample'], ['2', 'ring'], ['2-ring', 'ring'], ['3', 'gather'], ['3-gather', 'gather'],
    ['3-gather-lock', 'gather'], ['4', 'broadcast'], ['4-broadcast', 'broadcast'], ['5', 'reduce'],
    ['5-reduce', 'reduce'], ['6', 'bandwidth'], ['6-bandwidth', 'bandwidth'], ['bandwidth', 'bandwidth'],
  ];
  for (const [text, name] of aliases) {
    assert.equal(parseExerciseArgs(['--ranks', '3', text]), {
      command: 'exercise', name, options: { ranks: 3, transport: undefined, unsafe: false },
    }, text);
    assert.is(exerciseNamed(text), name, text);
  }
  const expected = 'expected one of sample, ring, gather, broadcast, reduce, bandwidth, a number from 1 to 6, ' +
    'or a file\'s name such as 1-sample';
  const near: Record<string, string> = {
    '1-ring': '2-ring', Sample: 'sample', 'sample-1': 'sample', rign: 'ring',
    // A file's name with its extension, or its path (tab-completed): the name is the guess
    '3-gather.ts': '3-gather', 'exercises/2-ring.ts': '2-ring', './exercises/3-gather-lock.ts': '3-gather-lock',
    'dist/exercises/6-bandwidth.js': '6-bandwidth', 'exercises\\5-reduce.ts': '5-reduce',
  };
  for (const text of ['pi', '0', '7', '01', '3-lock', 'exercises/7-scan.ts', 'x.ts', ...Object.keys(near)]) {
    const error = usageError(() => parseExerciseArgs([text, '--ranks', '2']));
    const guess = near[text] === undefined ? '' : ` (did you mean ${near[text]}?)`;
    assert.is(error.message, `Unknown exercise "${text}"${guess}: ${expected}`, text);
    assert.is(exerciseNamed(text), undefined, text);
  }
  assert.ok(exerciseHelp(200).includes('(exercises/README.md):\n' +
    '  1 sample     a pool, or ranks of your own\n' +
    '  2 ring       the fewest connections\n' +
    '  3 gather     can ranks share a connection?\n' +
    '  4 broadcast  linear, tree, or not at all\n' +
    '  5 reduce     summing onto one rank\n' +
    '  6 bandwidth  how fast do arrays travel?\n' +
    'Each answers to its name, its number, and its file\'s name: 1-sample, 2-ring, ' +
    '3-gather (or 3-gather-lock), 4-broadcast, 5-reduce, 6-bandwidth.\n'), exerciseHelp(200));
  // The questions are exercises/README.md's titles ("## 1. sample — a pool, or ranks of your own")
  const titles = readFileSync(new URL('../../exercises/README.md', import.meta.url), 'utf8').match(/^## \d\. .*$/gm);
  assert.equal(titles?.map((title) => title.replace(/^## (\d)\. (\w+) — /, '$1 $2 ')),
    exerciseHelp(200).split('\n').filter((line) => /^  \d /.test(line)).map((line) => line.trim().replace(/ +/g, ' ')));
});

test('exercise: an option that took the name as its value, or has none, is the mistake named', () => {
  const cases: [string[], string, string | undefined][] = [
    [['--ranks', 'ring'], 'Option `--ranks` needs a value (an integer), got the exercise name "ring"', '--ranks'],
    [['--transport', 'ring'], 'Option `--transport` needs a value (a name), got the exercise name "ring"', '--transport'],
    [['--unsafe', '--ranks=gather'], 'Option `--ranks` needs a value (an integer), got the exercise name "gather"', '--ranks'],
    [['--ranks', '4', '--transport'], 'Option `--transport` needs a value (a name)', '--transport'],
    [['--ranks', '--transport', 'clone'], 'Option `--ranks` needs a value (an integer)', '--ranks'],
    [['ring', '--ranks'], 'Option `--ranks` needs a value (an integer)', '--ranks'],
    [['ring', '--ranks', 'sample'], 'Expected `--ranks` to be an integer from 1 to 64, got "sample"', '--ranks'],
    [['--transport', 'tcp'], 'Missing the exercise name: expected one of sample, ring, gather, broadcast, reduce, bandwidth', undefined],
    [['--transport', '3-gather'],
      'Option `--transport` needs a value (a name), got the exercise name "3-gather"', '--transport'],
    // A number could be an exercise's, but is more likely the ranks wanted.
    [['--ranks', '3'],
      'Missing the exercise name: expected one of sample, ring, gather, broadcast, reduce, bandwidth', undefined],
  ];
  for (const [argv, message, option] of cases) {
    const error = usageError(() => parseExerciseArgs(argv));
    assert.is(error.message, message, argv.join(' '));
    assert.is(error.option, option, argv.join(' '));
  }
  assert.ok(exerciseHelp(200).includes('\n  4 broadcast  linear, tree, or not at all\n'), exerciseHelp(200));
  assert.ok(exerciseHelp(200).includes("without a lock (rank 0's checks catch it)"), exerciseHelp(200));
  assert.ok(exerciseHelp(200).includes("(default shared; bandwidth: all; gather's part a: always shared)"),
    exerciseHelp(200));
});

test('UsageError: name, code, the option at fault', () => {
  const error = usageError(() => parseBandwidthArgs(['--points', 'x']));
  assert.instance(error, Error);
  assert.is(error.name, 'UsageError');
  assert.is(error.code, 'SHMCOMM_USAGE');
  assert.is(error.option, '--points');
  const size = usageError(() => parseBandwidthArgs(['--min', 'x']));
  assert.is(size.message, 'Expected `--min` to be a size such as 64KiB or 8MiB, got "x"');
  assert.instance(size.cause, RangeError);
  assert.is((size.cause as RangeError).message, size.message, "the cause is parseSize's own error");
});

test('each help text lists every option of its command, with the defaults', () => {
  const WIDE = 200; // every option's help on one line
  const expected: [string, string[]][] = [
    [bandwidthHelp(WIDE), [
      '--min', '--max', '--points', '--window', '--time', '--warmup', '--modes', '--ring', '--json', '--csv',
      '--no-chart', '--help',
    ]],
    [latencyHelp(WIDE), [
      '--min', '--max', '--points', '--iterations', '--time', '--warmup', '--modes', '--json', '--csv', '--no-chart',
      '--help',
    ]],
    [collectivesHelp(WIDE), [
      '--ranks', '--sizes', '--ops', '--transports', '--strategy', '--time', '--warmup', '--json', '--csv', '--help',
    ]],
    [exerciseHelp(WIDE), ['--ranks', '--transport', '--help']],
  ];
  for (const [help, options] of expected) {
    for (const option of options) assert.ok(help.includes(`${option} `) || help.endsWith(option), `${option} missing`);
  }
  const bandwidth = bandwidthHelp(WIDE);
  const defaults = ['8', '64MiB', '20', '64', '0.2', '0.05', 'auto'];
  for (const shown of defaults) assert.ok(bandwidth.includes(`(default ${shown})`), shown);
  assert.ok(bandwidth.includes('clone, transfer, transfer-alloc, shared, zerocopy, ringbuf, process, memcpy'));
  // --window's limit by its rule (payload.ts's windowFor), not as the default window of 64 meets it.
  assert.ok(bandwidth.includes('--window N        messages sent between two acknowledgements, as in osu_bw, and 64 ' +
    'MiB of them at most: messages over 64 MiB / N go fewer at a time (with 64, those over 1 MiB) (default 64)'),
  bandwidth);
  const collectives = collectivesHelp(WIDE);
  assert.ok(collectives.includes('(default 2,4,8)') && collectives.includes('(default 8,64KiB,8MiB)'));
});

test("--help wraps at the width given: each option's help in its column, continued under it", () => {
  assert.is(bandwidthHelp(80), [
    'Usage: shmcomm bench [bandwidth] [options]',
    '',
    'Bandwidth between two worker threads per message size and mode, like OSU osu_bw,',
    'in MB/s (10^6 bytes/s).',
    '',
    'Options:',
    '  --min SIZE        smallest message: a multiple of 8 bytes (B, KiB, MiB, GiB)',
    '                    (default 8)',
    '  --max SIZE        largest message (default 64MiB)',
    '  --points N        number of sizes, log-spaced from --min to --max (fewer where',
    '                    two round to one multiple of 8) (default 20)',
    '  --window N        messages sent between two acknowledgements, as in osu_bw,',
    '                    and 64 MiB of them at most: messages over 64 MiB / N go',
    '                    fewer at a time (with 64, those over 1 MiB) (default 64)',
    '  --time SECONDS    measuring time per mode and size (default 0.2)',
    '  --warmup SECONDS  unmeasured time before each measurement (six times that',
    "                    before a mode's first size, while V8 compiles; with 0 the",
    "                    modes' set-up is timed too) (default 0.05)",
    '  --modes LIST      modes to run, comma-separated (default all):',
    '                    clone, transfer, transfer-alloc, shared, zerocopy, ringbuf,',
    '                    process, memcpy',
    '  --ring SIZE       ring size for shared, zerocopy, ringbuf: a power of two, or',
    '                    auto (shared 2 MiB, zerocopy 4 MiB; ringbuf 1 MiB when the',
    '                    two threads share a cache or the machine is too busy to',
    '                    tell, 32 MiB when not: measured first) (default auto)',
    '  --rounds N        measure every size N times, one round of all sizes after',
    '                    another, and show the median of each (an odd N, on a noisy',
    '                    machine; a note names rounds more than 2x apart) (default 1)',
    '  --json            print only JSON: an object of node, cpus, memcpy, settings,',
    '                    notes and rows (each with mode, bytes, mbPerSec and more)',
    '  --csv FILE        also write the rows to FILE as CSV',
    '  --no-chart        print the table without the chart',
    '  -h, --help        show this help',
    '',
    'Other benchmarks: shmcomm bench latency, shmcomm bench collectives (each has',
    '--help).',
  ].join('\n'));
  // Under 20 columns left for the help, it goes under each option; the usage wraps under its first word, and the
  // exercises' questions hang after their names, as an option's help after the option.
  assert.is(exerciseHelp(36), [
    'Usage: shmcomm exercise <name>',
    '               [options]',
    '',
    'Run one of the exercises of the',
    'course (exercises/README.md):',
    '  1 sample     a pool, or ranks of',
    '               your own',
    '  2 ring       the fewest',
    '               connections',
    '  3 gather     can ranks share a',
    '               connection?',
    '  4 broadcast  linear, tree, or not',
    '               at all',
    '  5 reduce     summing onto one rank',
    '  6 bandwidth  how fast do arrays',
    '               travel?',
    'Each answers to its name, its',
    'number, and its file\'s name:',
    '1-sample, 2-ring, 3-gather (or',
    '3-gather-lock), 4-broadcast,',
    '5-reduce, 6-bandwidth.',
    '',
    'Options:',
    '  --ranks N',
    '      number of ranks, 1 to 64',
    '      (default 4; sample 2, and as',
    '      many pool workers; gather at',
    '      least 2; bandwidth 2)',
    '  --transport NAME',
    '      how ranks talk: shared,',
    '      transfer, clone (default',
    '      shared; bandwidth: all;',
    '      gather\'s part a: always',
    '      shared)',
    '  --unsafe',
    '      gather: also run several',
    '      producers on one ring without',
    "      a lock (rank 0's checks catch",
    '      it)',
    '  -h, --help',
    '      show this help',
  ].join('\n'));
  assert.is(shmcommHelp(80), [
    'shmcomm: zero-copy shared-memory messaging between worker threads.',
    '',
    'Usage: shmcomm bench [bandwidth|latency|collectives] [options]',
    '       shmcomm exercise <name> [--ranks N] [--transport shared|transfer|clone]',
    '               [--unsafe]',
    '       shmcomm --help | --version',
    '',
    'Commands:',
    '  bench bandwidth     MB/s per message size and mode: a table and a log-log',
    '                      chart (the default benchmark)',
    '  bench latency       one-way latency per message size and mode (wait',
    '                      strategies, postMessage, processes)',
    '  bench collectives   time per call of bcast, reduce, allreduce and barrier',
    '  exercise <name>     run one of the exercises',
    '',
    'Each command explains its options with --help, for example:',
    'shmcomm bench latency --help',
    '',
    'Colors follow NO_COLOR, then FORCE_COLOR as Node reads it, and are off when',
    'stdout is not a terminal.',
    '',
    'On an AMD CPU under glibc, shmcomm runs in a second process started with',
    'GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824, so that memcpy',
    'never uses rep movsb (glibc bug 30994: up to 15x slower for some buffer',
    "placements); SHMCOMM_REP_MOVSB=1 keeps glibc's choice.",
  ].join('\n'));
  // Too narrow for the arguments beside `shmcomm`: every form's go under it, at one indent.
  const narrow = shmcommHelp(30).split('\n');
  const from = narrow.indexOf('Usage: shmcomm');
  assert.is(narrow.slice(from, from + 13).join('\n'), [
    'Usage: shmcomm',
    '           bench',
    '           [bandwidth|latency|collectives]',
    '           [options]',
    '       shmcomm',
    '           exercise <name>',
    '           [--ranks N]',
    '           [--transport',
    '           shared|transfer|clone]',
    '           [--unsafe]',
    '       shmcomm',
    '           --help | --version',
    '',
  ].join('\n'));
});

test('--help keeps to any width from 20 columns: a line is wider only where it is one word, under its label', () => {
  const helps = { bandwidthHelp, latencyHelp, collectivesHelp, exerciseHelp, shmcommHelp };
  for (const [name, help] of Object.entries(helps)) {
    const unwrapped = help(1000).split(/\s+/).join(' ');
    for (let width = 20; width <= 140; width++) {
      const text = help(width);
      for (const line of text.split('\n')) {
        // A word too wide for the line goes under its label (at most 11 columns in: `Usage: shmcomm` and 4), where
        // it has the most room, not beside it (at 45 columns `[bandwidth|latency|collectives]` went past the edge)
        const word = line.trim();
        const ok = [...line].length <= width || (!word.includes(' ') && line.length - line.trimStart().length <= 11);
        assert.ok(ok, `${name}(${width}): ${[...line].length} columns: "${line}"`);
      }
      // The same words in the same order: only the spaces between them change.
      assert.is(text.split(/\s+/).join(' '), unwrapped, `${name}(${width})`);
    }
  }
});

/** Runs `main(argv)` with stdout and stderr captured; both are restored afterwards, whatever happens. */
async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = { stdout: '', stderr: '' };
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const consoleError = console.error;
  const capture = (stream: 'stdout' | 'stderr') => ((chunk: string | Uint8Array) => {
    output[stream] += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  console.error = (...values: unknown[]) => void (output.stderr += `${values.join(' ')}\n`);
  try {
    return { code: await main(argv), ...output };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    console.error = consoleError;
  }
}

test('main: --help prints the usage and returns 0', async () => {
  const { code, stdout, stderr } = await runMain(['--help']);
  assert.is(code, 0);
  assert.is(stdout, `${shmcommHelp()}\n`);
  assert.ok(stdout.includes('Usage: shmcomm bench [bandwidth|latency|collectives] [options]'), stdout);
  assert.ok(stdout.includes('GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824'), stdout);
  assert.ok(stdout.includes('SHMCOMM_REP_MOVSB=1 keeps'), stdout);
  assert.is(stderr, '');
});

test('main: a bad option prints the message and the usage on stderr and returns 2', async () => {
  const { code, stdout, stderr } = await runMain(['bench', '--bogus']);
  assert.is(code, 2);
  assert.is(stdout, '');
  assert.is(stderr, 'shmcomm: Unknown option `--bogus` for `shmcomm bench bandwidth`\n\nSee shmcomm bench --help.\n');
  const collectives = await runMain(['bench', 'collectives', '--ranks', '1']);
  assert.equal(collectives, { code: 2, stdout: '', stderr: 'shmcomm: Expected every item of `--ranks` to be an integer from 2 to 64, ' +
    'got "1"\n\nSee shmcomm bench collectives --help.\n' }, 'the help of the command that was wrong');
  const unknown = await runMain(['frobnicate']);
  const usage = unknown.stderr.slice(unknown.stderr.indexOf('\n\n') + 2); // its width is the terminal's, if any
  assert.ok(usage.startsWith('Usage: shmcomm bench [bandwidth|latency|collectives] [options]\n'), 'no command: the usage');
  assert.is(unknown.stderr, `shmcomm: Unknown command "frobnicate": expected bench or exercise\n\n${usage}`);
  assert.equal(await runMain([]), { code: 2, stdout: '', stderr: `shmcomm: Missing a command\n\n${usage}` }, 'nothing: the usage');
  assert.is((await runMain(['frobnicate'])).code, 2);
  assert.is((await runMain(['exercise'])).code, 2);
  const noValue = await runMain(['exercise', '--ranks', 'ring']);
  assert.is(noValue.code, 2);
  assert.is(noValue.stderr, 'shmcomm: Option `--ranks` needs a value (an integer), got the exercise name "ring"\n\n' +
    'See shmcomm exercise --help.\n');
});

test('main: --version and a benchmark help', async () => {
  const packageJson = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const { version } = JSON.parse(packageJson) as { version: string };
  assert.equal(await runMain(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
  assert.equal(await runMain(['bench', 'latency', '--help']), { code: 0, stdout: `${latencyHelp()}\n`, stderr: '' });
  assert.equal(await runMain(['help', 'bench', 'latency']), { code: 0, stdout: `${latencyHelp()}\n`, stderr: '' });
  for (const argv of [['--help', '--help'], ['help', 'help'], ['-h', '--help'], ['help', '--version']]) { // once: the stack overflowed
    const twice = await runMain(argv);
    assert.is(twice.code, 0, argv.join(' '));
    assert.is(twice.stdout, `${shmcommHelp()}\n`, argv.join(' '));
  }
  // An option before any command: a guess where it is one slip from one (as the commands' options get), what goes there
  const usage = (await runMain(['frobnicate'])).stderr.split('\n\n')[1];
  const slip = await runMain(['--verison']);
  assert.is(slip.code, 2);
  assert.is(slip.stderr, 'shmcomm: Unknown option `--verison` (did you mean --version?): expected a ' +
    `command, --help or --version\n\n${usage}`);
  const json = await runMain(['--json']);
  assert.is(json.stderr, `shmcomm: Unknown option \`--json\`: expected a command, --help or --version\n\n${usage}`);
  const extra = await runMain(['--version', '--foo']); // was 0, the version, and --foo unread
  assert.is(extra.code, 2);
  assert.is(extra.stderr, `shmcomm: Unexpected \`--foo\` after --version\n\n${usage}`);
});

test('a name one slip away from a known one gets a guess; `help` where a name goes is --help', () => {
  assert.is(didYouMean('rign', ['ring', 'gather']), ' (did you mean ring?)'); // two letters swapped
  assert.is(didYouMean('bandwith', ['bandwidth']), ' (did you mean bandwidth?)'); // one missing
  assert.is(didYouMean('sahredd', ['shared']), ''); // two slips in a short word: no guess
  assert.is(didYouMean('colectivs', ['collectives']), ' (did you mean collectives?)'); // two in a long one
  assert.is(didYouMean('Clone', ['clone']), ' (did you mean clone?)'); // case
  assert.is(didYouMean('tcp', ['shared', 'transfer', 'clone']), '');
  assert.is(didYouMean('8', ['1', '2']), ''); // too short to tell a slip from another word
  assert.is(didYouMean('y'.repeat(100_000), ['bandwidth', 'latency']), ''); // names of other lengths: not compared
  assert.is(usageError(() => parseBenchArgs(['bandwith'])).message,
    'Unknown benchmark "bandwith" (did you mean bandwidth?): expected bandwidth, latency or collectives');
  assert.is(usageError(() => parseBenchArgs(['--modes', 'sahred'])).message,
    'Unknown mode "sahred" (did you mean shared?) in `--modes`; valid modes: clone, transfer, transfer-alloc, shared, ' +
    'zerocopy, ringbuf, process, memcpy');
  assert.is(usageError(() => parseBenchArgs(['--widnow', '8'])).message,
    'Unknown option `--widnow` (did you mean --window?) for `shmcomm bench bandwidth`');
  // A value from a fixed set gets its guess too (it got none, where the same word in `--modes` got one)
  assert.is(usageError(() => parseCollectivesArgs(['--strategy', 'spinthenpark'])).message,
    'Expected `--strategy` to be one of auto, spin, park, spinThenPark, got "spinthenpark" (did you mean spinThenPark?)');
  assert.is(usageError(() => parseExerciseArgs(['ring', '--transport', 'sahred'])).message,
    'Expected `--transport` to be one of shared, transfer, clone, got "sahred" (did you mean shared?)');
  for (const argv of [['help'], ['latency', 'help'], ['collectives', 'help']]) {
    const request = parseBenchArgs(argv);
    assert.is(request.command, 'help', argv.join(' '));
  }
  assert.is((parseBenchArgs(['latency', 'help']) as { text: string }).text, latencyHelp());
  assert.equal(parseExerciseArgs(['help']), { command: 'help', text: exerciseHelp() });
});

test("options that npm took for its own (`npm run exercise ring --ranks 3`) are refused, with what to type", () => {
  // What npm 11.19 gives the script: `npm run exercise gather --unsafe`, `npm start --time 0.1 --no-chart`,
  // `npm test --ranks=3`, `npm exec --ranks=3 -- shmcomm exercise ring`
  const also = 'or take them out of .npmrc and the environment (npm_config_...)';
  const exercise = { npm_lifecycle_event: 'exercise', npm_command: 'run', npm_config_unsafe: 'true' };
  const unsafe = usageError(() => refuseOptionsNpmTook(exercise, ['gather']));
  assert.is(unsafe.message, 'npm took --unsafe for itself (a script gets only the arguments after `--`): ' +
    `type them after \`npm run exercise --\`, ${also}`);
  assert.is(unsafe.option, '--unsafe');
  const start = { npm_lifecycle_event: 'start', npm_command: 'start', npm_config_time: 'true', npm_config_chart: '' };
  assert.is(usageError(() => refuseOptionsNpmTook(start, ['0.1'])).message, 'npm took --time, --no-chart for itself ' +
    `(a script gets only the arguments after \`--\`): type them after \`npm start --\`, ${also}`);
  const test = { npm_lifecycle_event: 'test', npm_command: 'test', npm_config_ranks: '3' };
  const took = 'npm took --ranks for itself (a script gets only the arguments after `--`): type them after';
  assert.is(usageError(() => refuseOptionsNpmTook(test, [])).message, `${took} \`npm test --\`, ${also}`);
  const exec = { npm_lifecycle_event: 'npx', npm_command: 'exec', npm_config_ranks: '3' };
  assert.is(usageError(() => refuseOptionsNpmTook(exec, ['ring'])).message, `${took} the command, behind \`npm exec --\`, ${also}`);
  // An option given after `--` as well came to us (npm's setting may come from an .npmrc): no refusal
  refuseOptionsNpmTook({ ...exercise, npm_config_ranks: '3' }, ['gather', '--unsafe', '--ranks', '2']);
  refuseOptionsNpmTook({ ...exercise, npm_config_ranks: '3' }, ['gather', '--unsafe', '--ranks=2']);
  // Not under npm; npm's own settings (json is one of them, which an .npmrc may set); none of ours
  refuseOptionsNpmTook({ npm_config_ranks: 'true' }, []);
  refuseOptionsNpmTook({ npm_lifecycle_event: 'start', npm_config_json: 'true', npm_config_cache: '/root/.npm' }, []);
  refuseOptionsNpmTook({}, []);
});

test('standard output: a reader that leaves early ends the command quietly (0), a full disk with one line (1)', () => {
  const bin = fileURLToPath(new URL('../../bin/shmcomm.js', import.meta.url));
  // `shmcomm --help | true`: the reader is gone before the command writes (EPIPE); pipefail gives the command's status
  const early = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" --help | true`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal([early.status, early.stderr], [0, '']);
  if (!existsSync('/dev/full')) return;
  const full = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" --help > /dev/full`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal([full.status, full.stderr], [1, 'shmcomm: cannot write to standard output: ENOSPC: no space left on device, write\n']);
});

test('describeFailure: a wrong result or an unwritable output is one line and 1, a crash its stack and 1', async () => {
  const exercise = ['exercise', 'sample'];
  // An exercise has printed its WRONG line already: no stack, which would only say where the check was.
  assert.equal(describeFailure(new WrongResultError('x'), exercise), { message: 'shmcomm: x', status: 1 });
  // The class the exercises throw is the one the command line knows (one module, exercises/verdict.js).
  assert.is((await import('../exercises/verdict.js')).WrongResultError, WrongResultError);
  assert.equal(describeFailure(new OutputError('cannot write out.csv'), ['bench']),
    { message: 'shmcomm: cannot write out.csv', status: 1 });
  // Messages that arrived wrong: which, and how; the stack would be where the benchmark read its receiver's report.
  const wrong = 'shared: 2 of 40 messages of 64 KiB failed verification; the first, message 3: its element 7 is 7.5, not -8';
  assert.equal(describeFailure(new VerificationError(wrong), ['bench']), { message: `shmcomm: ${wrong}`, status: 1 });
  // A launch out of time: what each rank was doing, not the stack of the launcher's timer.
  assert.equal(describeFailure(new TimeoutError('launch', 500, 'rank 0 is running'), ['bench', 'collectives']),
    { message: 'shmcomm: launch timed out after 500 ms: rank 0 is running', status: 1 });
  const crash = new Error('boom');
  assert.ok(crash.stack!.startsWith('Error: boom\n    at '), crash.stack);
  assert.equal(describeFailure(crash, exercise), { message: crash.stack, status: 1 });
  assert.equal(describeFailure('not an Error', exercise), { message: 'shmcomm: not an Error', status: 1 });
  assert.equal(describeFailure(new UsageError('Missing an exercise name'), ['exercise']),
    { message: 'shmcomm: Missing an exercise name\n\nSee shmcomm exercise --help.', status: 2 });
});

test("on a terminal, a failure's lines of words wrap to its width; a stack's frames and lines that fit stay whole", () => {
  const frames = '    at sampleRank (/x/exercises/1-sample.ts:57:30)';
  const message = `shmcomm: Unknown exercise "rign" (did you mean ring?): expected one of sample, ring\n\nShort.\n${frames}`;
  assert.is(wrapMessage(message, 40), 'shmcomm: Unknown exercise "rign" (did\nyou mean ring?): expected one of sample,\n' +
    `ring\n\nShort.\n${frames}`);
  assert.is(wrapMessage(message, 200), message);
});

test("describeFailure: a rank's failure is its message and the rank's own stack, a deadlock its message", () => {
  const exercise = ['exercise', 'sample'];
  const cause = new Error('my bug');
  const frames = '\n    at sampleRank (/x/exercises/1-sample.ts:57:30)\n    at run (file:///x/dist/src/rank.js:18:31)';
  cause.stack = `Error: my bug${frames}`;
  // Not the launcher's stack, which only says where launch() reported it.
  assert.equal(describeFailure(new RankFailedError(1, 'Error: my bug', cause), exercise), {
    message: `shmcomm: rank 1 failed: Error: my bug${frames}`,
    status: 1,
  });
  // The rank's error's own causes, and an AggregateError's errors, which the message alone does not name
  const parse = new Error('could not parse config', { cause: new RangeError('port 99999 out of range', { cause: 'x' }) });
  parse.stack = `Error: could not parse config${frames}`;
  assert.equal(describeFailure(new RankFailedError(1, 'Error: could not parse config', parse), exercise), {
    message: `shmcomm: rank 1 failed: Error: could not parse config${frames}\nCaused by: RangeError: port 99999 out of ` +
      'range\nCaused by: x',
    status: 1,
  });
  const many = new AggregateError(Array.from({ length: 12 }, (_, i) => new TypeError(`bad ${i}`)), 'all failed');
  const { message } = describeFailure(new RankFailedError(0, 'AggregateError: all failed', many), exercise);
  assert.is(message.split('\n').filter((line) => !/^\s+at /.test(line)).join('\n'), [
    'shmcomm: rank 0 failed: AggregateError: all failed',
    ...Array.from({ length: 10 }, (_, i) => `  [${i}] TypeError: bad ${i}`),
    '  and 2 more',
  ].join('\n'));
  // thrown.ts's note of the errors it did not send ends the list as it is, and the count is of those it sent
  const sent = [...Array.from({ length: 100 }, (_, i) => new Error(`e${i}`)), new Error('(4900 more errors, not sent)')];
  const huge = describeFailure(new RankFailedError(0, 'AggregateError: many', new AggregateError(sent, 'many')), exercise);
  assert.ok(huge.message.endsWith('\n  [9] Error: e9\n  and 90 more\n  (4900 more errors, not sent)'), huge.message);
  assert.equal(describeFailure(new RankFailedError(2, 'exited with code 3 before returning a result'), exercise),
    { message: 'shmcomm: rank 2 failed: exited with code 3 before returning a result', status: 1 });
  const cycle = ['rank 0 waits to receive from rank 1', 'rank 1 waits to receive from rank 0'];
  assert.equal(describeFailure(new DeadlockError(cycle), exercise),
    { message: `shmcomm: deadlock: ${cycle.join('; ')}`, status: 1 });
  // A worker an exercise started itself: its error is the cause, whose stack follows the report's message alone (the
  // report's stack is where Node's internals emitted the worker's 'error' event).
  const failed = new Error('ring rank 2 failed: my ring bug', { cause });
  assert.equal(describeFailure(failed, exercise), {
    message: `shmcomm: ring rank 2 failed: my ring bug\nCaused by: ${cause.stack}`,
    status: 1,
  });
  // Any other error of the command keeps its own stack, one of ours included.
  const timeout = new TimeoutError('recv', 100);
  assert.equal(describeFailure(timeout, exercise), { message: timeout.stack, status: 1 });
});

test.run();
