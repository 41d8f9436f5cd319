import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatNumber, formatSize, logSizes, parseSize } from '../src/bench/format.js';
import { cpuGeneration } from '../src/cpuinfo.js';
import { Eta, formatDuration, formatShortCount, headerLine, machine } from '../src/bench/report.js';
import { renderTable } from '../src/bench/table.js';
import {
  Progress, hangingItem, type SignalTarget, wrapLine, shouldUseColor, stripAnsi, terminalColumns, words, wrap, wrapText,
} from '../src/term.js';

const KiB = 2 ** 10;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

const GOOD_SIZES: [string, number][] = [
  ['8', 8],
  ['8B', 8],
  ['8 B', 8],
  [' 16 ', 16],
  ['64KiB', 64 * KiB],
  ['64kib', 64 * KiB],
  ['4K', 4 * KiB],
  ['4k', 4 * KiB],
  ['1MiB', MiB],
  ['1M', MiB],
  ['1.5 MiB', 1.5 * MiB],
  ['.5KiB', 512],
  ['2GiB', 2 * GiB],
  ['2G', 2 * GiB],
];

test('parseSize reads bytes, binary units and their one-letter short forms', () => {
  for (const [text, bytes] of GOOD_SIZES) assert.is(parseSize(text, '--max'), bytes, text);
});

const BAD_SIZES: [string, string][] = [
  ['abc', 'Expected `--max` to be a size such as 64KiB or 8MiB, got "abc"'],
  ['', 'Expected `--max` to be a size such as 64KiB or 8MiB, got ""'],
  ['KB', 'Expected `--max` to be a size such as 64KiB or 8MiB, got "KB"'],
  ['8 bytes', 'Expected `--max` to be a size such as 64KiB or 8MiB, got "8 bytes"'],
  ['1e3', 'Expected `--max` to be a size such as 64KiB or 8MiB, got "1e3"'],
  ['--8', 'Expected `--max` to be a size such as 64KiB or 8MiB, got "--8"'],
  ['1MB', 'Expected `--max` to be a size such as 64KiB or 8MiB, got "1MB" (sizes are binary: write MiB)'],
  ['64kb', 'Expected `--max` to be a size such as 64KiB or 8MiB, got "64kb" (sizes are binary: write KiB)'],
  ['-8', 'Expected `--max` to be a positive size, got "-8"'],
  ['0', 'Expected `--max` to be a positive size, got "0"'],
  ['0B', 'Expected `--max` to be a positive size, got "0B"'],
  ['3.5', 'Expected `--max` to be a whole number of bytes, got "3.5" (3.5 bytes)'],
  ['1.3KiB', 'Expected `--max` to be a whole number of bytes, got "1.3KiB" (1331.2 bytes)'],
  ['99999999999 GiB', 'Expected `--max` to be at most 8 PiB, got "99999999999 GiB"'],
];

test('parseSize refuses anything else with a RangeError that says what and why', () => {
  for (const [text, message] of BAD_SIZES) {
    try {
      parseSize(text, '--max');
      assert.unreachable(`"${text}" was accepted`);
    } catch (error) {
      assert.instance(error, RangeError, text);
      assert.is((error as Error).message, message);
    }
  }
});

test('parseSize names `size` by default and accepts 0 only when asked', () => {
  assert.throws(() => parseSize('x'), (error: Error) => error.message === 'Expected `size` to be a size such as 64KiB or 8MiB, got "x"');
  assert.is(parseSize('0', '--skip', { allowZero: true }), 0);
  assert.throws(() => parseSize('-1', '--skip', { allowZero: true }), /^Expected `--skip` to be a size of 0 or more, got "-1"$/);
});

test('formatSize picks the largest unit and keeps three significant digits', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [8, '8 B'],
    [1000, '1000 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1352, '1.32 KiB'],
    [1536, '1.5 KiB'],
    [64 * KiB, '64 KiB'],
    [100 * KiB + 512, '101 KiB'],
    [MiB, '1 MiB'],
    [1.5 * MiB, '1.5 MiB'],
    [64 * MiB, '64 MiB'],
    [GiB, '1 GiB'],
    // Rounded to 1024 of a unit: the next unit, as the table of a run from --max 1048568 printed "1024 KiB".
    [MiB - 8, '1 MiB'],
    [1023.4 * KiB, '1023 KiB'],
    [GiB - 1, '1 GiB'],
  ];
  for (const [bytes, text] of cases) assert.is(formatSize(bytes), text, String(bytes));
});

test('formatSize and parseSize round-trip the sizes a run uses', () => {
  for (const bytes of [8, 64, 512, KiB, 64 * KiB, MiB, 1.5 * MiB, 64 * MiB]) {
    assert.is(parseSize(formatSize(bytes)), bytes);
  }
});

test('formatNumber keeps three significant digits and groups thousands', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [0.01234, '0.0123'],
    [0.5, '0.500'],
    [1.234, '1.23'],
    [9.996, '10.0'],
    [12.34, '12.3'],
    [99.96, '100'],
    [123.4, '123'],
    [21345.6, '21,346'],
    [1234567, '1,234,567'],
    [-5, '-5.00'],
    [NaN, '-'],
    [Infinity, '-'],
  ];
  for (const [value, text] of cases) assert.is(formatNumber(value), text, String(value));
});

test('logSizes(8, 64 MiB, 20): 20 ascending multiples of 8 from 8 B to 64 MiB, evenly spaced in log', () => {
  const sizes = logSizes(8, 64 * MiB, 20);
  assert.is(sizes.length, 20);
  assert.is(sizes[0], 8);
  assert.is(sizes[sizes.length - 1], 64 * MiB);
  for (let i = 0; i < sizes.length; i++) {
    assert.is(sizes[i]! % 8, 0, `size ${sizes[i]} is not a multiple of 8`);
    if (i > 0) assert.ok(sizes[i]! > sizes[i - 1]!, `sizes[${i}] = ${sizes[i]} after ${sizes[i - 1]}`);
  }
  // The exact factor between neighbours is 2^(23/19) = 2.31; rounding to 8 bytes bends it only for tiny sizes.
  for (let i = 5; i < sizes.length; i++) {
    const factor = sizes[i]! / sizes[i - 1]!;
    assert.ok(factor > 2.25 && factor < 2.37, `factor ${factor} at ${sizes[i]}`);
  }
});

test('logSizes hits every power of two when the points allow it, and merges sizes that round alike', () => {
  assert.equal(logSizes(8, 64 * KiB, 14), [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
  assert.equal(logSizes(8, 16, 20), [8, 16]);
  assert.equal(logSizes(64, 64, 5), [64]);
});

test('logSizes refuses ranges it cannot draw', () => {
  assert.throws(() => logSizes(0, 64, 5), /^Expected `min` to be a positive integer, got 0$/);
  assert.throws(() => logSizes(64, 8, 5), /^Expected `max` to be an integer of at least min \(64\), got 8$/);
  assert.throws(() => logSizes(8, 64, 1), /^Expected `points` to be an integer of at least 2 when min < max, got 1$/);
});

// The other presentation helpers of the benchmark output: tables and terminal color.

test('renderTable: widths from content, numbers right-aligned, color codes not counted', () => {
  const green = (text: string) => `\x1b[32m${text}\x1b[39m`;
  const table = renderTable(
    ['size', 'clone', 'mode'],
    [['8 B', '1.23', 'a'], ['64 KiB', '-', 'bb'], ['64 MiB', green('12,345'), 'ccc']],
  );
  assert.is(stripAnsi(table), [
    '  size   clone  mode',
    '──────  ──────  ────',
    '   8 B    1.23  a',
    '64 KiB       -  bb',
    '64 MiB  12,345  ccc',
  ].join('\n'));
  assert.ok(table.includes('\x1b[32m12,345\x1b[39m'));
  const forced = renderTable(['a', 'b'], [['1', 'x']], { align: ['left', 'right'], gap: 1, rule: false });
  assert.is(forced, 'a b\n1 x');
});

// A table of five columns, 41 wide: size 6, clone 5, transfer 8, shared 6, zerocopy 8, and four gaps of 2.
const WIDE_HEADER = ['size', 'clone', 'transfer', 'shared', 'zerocopy'];
const WIDE_ROWS = [['8 B', '1.23', '2.34', '45.6', '50.1'], ['64 KiB', '1,234', '5,678', '12,345', '20,006']];
const WIDE_TABLE = [
  '  size  clone  transfer  shared  zerocopy',
  '──────  ─────  ────────  ──────  ────────',
  '   8 B   1.23      2.34    45.6      50.1',
  '64 KiB  1,234     5,678  12,345    20,006',
].join('\n');

test('renderTable: a table that fits in `width` is printed as without it', () => {
  assert.is(renderTable(WIDE_HEADER, WIDE_ROWS), WIDE_TABLE);
  assert.is(renderTable(WIDE_HEADER, WIDE_ROWS, { width: 41 }), WIDE_TABLE);
  assert.is(renderTable(WIDE_HEADER, WIDE_ROWS, { width: 200 }), WIDE_TABLE);
});

test('renderTable: a wider table goes in blocks that fit, each with the leading column, as even as they can be', () => {
  // One column short of fitting: two blocks, split 2 and 2 (the greedy split, 3 and 1, would leave zerocopy alone).
  assert.is(renderTable(WIDE_HEADER, WIDE_ROWS, { width: 40 }), [
    '  size  clone  transfer',
    '──────  ─────  ────────',
    '   8 B   1.23      2.34',
    '64 KiB  1,234     5,678',
    '',
    '  size  shared  zerocopy',
    '──────  ──────  ────────',
    '   8 B    45.6      50.1',
    '64 KiB  12,345    20,006',
  ].join('\n'));
  // 23 columns: clone and transfer fit together (23), shared and zerocopy (24) do not.
  assert.is(renderTable(WIDE_HEADER, WIDE_ROWS, { width: 23 }), [
    '  size  clone  transfer',
    '──────  ─────  ────────',
    '   8 B   1.23      2.34',
    '64 KiB  1,234     5,678',
    '',
    '  size  shared',
    '──────  ──────',
    '   8 B    45.6',
    '64 KiB  12,345',
    '',
    '  size  zerocopy',
    '──────  ────────',
    '   8 B      50.1',
    '64 KiB    20,006',
  ].join('\n'));
  // Several leading columns are repeated in every block, and so is the table's rule, or its absence.
  const table = renderTable(
    ['transport', 'ranks', 'op', 'µs/call', 'calls'],
    [['shared', '2', 'barrier', '0.166', '1,776,101'], ['clone', '4', 'allreduce', '13,052', '35']],
    { width: 38, leading: 3, rule: false },
  );
  assert.is(table, [
    'transport  ranks  op         µs/call',
    'shared         2  barrier      0.166',
    'clone          4  allreduce   13,052',
    '',
    'transport  ranks  op             calls',
    'shared         2  barrier    1,776,101',
    'clone          4  allreduce         35',
  ].join('\n'));
});

test('renderTable: widths in blocks are measured on what the terminal shows, not on color codes', () => {
  const green = (text: string) => `\x1b[32m${text}\x1b[39m`;
  const colored = WIDE_ROWS.map((row) => row.map((cell, column) => (column === 3 ? green(cell) : cell)));
  // 41 visible columns fit in 41, whatever the codes add.
  const whole = renderTable(WIDE_HEADER, colored, { width: 41 });
  assert.is(stripAnsi(whole), WIDE_TABLE);
  const split = renderTable(WIDE_HEADER, colored, { width: 40 });
  assert.is(split, [
    '  size  clone  transfer',
    '──────  ─────  ────────',
    '   8 B   1.23      2.34',
    '64 KiB  1,234     5,678',
    '',
    '  size  shared  zerocopy',
    '──────  ──────  ────────',
    '   8 B    \x1b[32m45.6\x1b[39m      50.1',
    '64 KiB  \x1b[32m12,345\x1b[39m    20,006',
  ].join('\n'));
});

test('renderTable: a column too wide to fit beside the leading one gets a block of its own', () => {
  const alone = [
    '  size  clone',
    '──────  ─────',
    '   8 B   1.23',
    '64 KiB  1,234',
    '',
    '  size  transfer',
    '──────  ────────',
    '   8 B      2.34',
    '64 KiB     5,678',
    '',
    '  size  shared',
    '──────  ──────',
    '   8 B    45.6',
    '64 KiB  12,345',
    '',
    '  size  zerocopy',
    '──────  ────────',
    '   8 B      50.1',
    '64 KiB    20,006',
  ].join('\n');
  for (const width of [10, 4, 0, -1]) {
    assert.is(renderTable(WIDE_HEADER, WIDE_ROWS, { width }), alone, `width ${width}`);
  }
  // Nothing to split: the leading columns alone are wider, and are printed whole.
  assert.is(renderTable(['size'], [['8 B']], { width: 2 }), 'size\n────\n 8 B');
  assert.is(renderTable(['size', 'a'], [['8 B', '1']], { width: 2, leading: 2 }), 'size  a\n────  ─\n 8 B  1');
});

test('shouldUseColor: NO_COLOR, then FORCE_COLOR, NODE_DISABLE_COLORS, then whether the stream is a terminal', () => {
  const tty = { isTTY: true };
  const file = { isTTY: false };
  assert.is(shouldUseColor(tty, {}), true);
  assert.is(shouldUseColor(file, {}), false);
  assert.is(shouldUseColor(tty, { TERM: 'dumb' }), false);
  assert.is(shouldUseColor(tty, { NO_COLOR: '1' }), false);
  assert.is(shouldUseColor(tty, { NO_COLOR: '' }), true);
  assert.is(shouldUseColor(tty, { NO_COLOR: '1', FORCE_COLOR: '1' }), false);
  assert.is(shouldUseColor(file, { FORCE_COLOR: '1' }), true);
  assert.is(shouldUseColor(file, { FORCE_COLOR: '3' }), true);
  assert.is(shouldUseColor(tty, { FORCE_COLOR: '0' }), false);
  // FORCE_COLOR's values as Node reads them: set but empty forces color, a value Node does not know turns it off.
  assert.is(shouldUseColor(file, { FORCE_COLOR: '' }), true);
  assert.is(shouldUseColor(file, { FORCE_COLOR: 'true' }), true);
  assert.is(shouldUseColor(tty, { FORCE_COLOR: 'false' }), false);
  assert.is(shouldUseColor(tty, { FORCE_COLOR: 'no' }), false);
  assert.is(shouldUseColor(tty, { NODE_DISABLE_COLORS: '' }), false);
  assert.is(shouldUseColor(file, { NODE_DISABLE_COLORS: '1', FORCE_COLOR: '1' }), true);
});

test('Progress writes one self-erasing line on a terminal, and nothing elsewhere', () => {
  const written: string[] = [];
  const terminal = { isTTY: true, columns: 20, write: (text: string) => written.push(text) };
  const progress = new Progress(terminal);
  progress.update('shared 8 B');
  progress.update('a line much longer than the terminal');
  // 17 columns at most on 20: Ctrl-C's echoed `^C` and the cursor after it stay on the line (at 19 the `C` wrapped
  // onto a line of its own, which was erased, and left this one on the terminal)
  progress.update('seventeen columns');
  progress.update('eighteen columns!!');
  progress.done();
  assert.equal(written, [
    '\r\x1b[2Kshared 8 B', '\r\x1b[2Ka line much long…', '\r\x1b[2Kseventeen columns', '\r\x1b[2Keighteen columns…',
    '\r\x1b[2K',
  ]);

  // A pty without a window size says 0 columns: that is no width, and the line is not cut to nothing.
  const sizeless: string[] = [];
  new Progress({ isTTY: true, columns: 0, write: (text: string) => sizeless.push(text) }).update('shared 8 B, ~3 s left');
  assert.equal(sizeless, ['\r\x1b[2Kshared 8 B, ~3 s left']);

  assert.is(terminalColumns({ isTTY: true, columns: 120, write: () => true }), 120);
  assert.is(terminalColumns({ isTTY: true, columns: 0, write: () => true }), 80);
  assert.is(terminalColumns({ isTTY: true, columns: 5, write: () => true }), 80, 'too narrow to be a real width');
  assert.is(terminalColumns({ isTTY: false, columns: 200, write: () => true }), 80, 'a file has no width');

  const silent: string[] = [];
  const pipe = new Progress({ isTTY: false, write: (text: string) => silent.push(text) });
  pipe.update('x');
  pipe.done();
  assert.equal(silent, []);
  // A terminal without escape codes would show them as text: no progress there either.
  const dumb = new Progress({ isTTY: true, columns: 80, write: (text: string) => silent.push(text) }, { TERM: 'dumb' });
  dumb.update('x');
  dumb.done();
  assert.equal(silent, []);
  assert.is(dumb.enabled, false);
});

test('Ctrl-C while the progress line shows erases it, then the process dies of it; done() stops listening', () => {
  const written: string[] = [];
  const terminal = { isTTY: true, columns: 40, write: (text: string) => written.push(text) };
  const kills: string[] = [];
  const events = new EventEmitter();
  const fake: SignalTarget = {
    pid: 4242,
    on: (signal, listener) => events.on(signal, listener),
    off: (signal, listener) => events.off(signal, listener),
    listenerCount: (signal) => events.listenerCount(signal),
    kill: (pid, signal) => kills.push(`${pid} ${signal}`),
  };
  const progress = new Progress(terminal, {}, fake);
  assert.is(events.listenerCount('SIGINT'), 0, 'nothing to erase before the first update');
  progress.update('latency: spin 4 KiB (4/32)');
  progress.update('latency: spin 8 KiB (5/32)');
  assert.equal(['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => events.listenerCount(signal)), [1, 1, 1]);
  events.emit('SIGINT', 'SIGINT');
  assert.equal(written, ['\r\x1b[2Klatency: spin 4 KiB (4/32)', '\r\x1b[2Klatency: spin 8 KiB (5/32)', '\r\x1b[2K']);
  assert.equal(kills, ['4242 SIGINT']);
  assert.equal(['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => events.listenerCount(signal)), [0, 0, 0]);

  // A program that listens for the signal itself decides what it does: the line is erased, the process not killed.
  const own = (): void => {};
  events.on('SIGTERM', own);
  progress.update('bandwidth: shared 8 B');
  events.emit('SIGTERM', 'SIGTERM');
  assert.equal(kills, ['4242 SIGINT']);
  assert.is(written.at(-1), '\r\x1b[2K');
  events.off('SIGTERM', own);

  progress.update('bandwidth: shared 64 B');
  progress.done();
  assert.equal(['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => events.listenerCount(signal)), [0, 0, 0]);
});

test('a real SIGINT while the line shows: the line is erased and the process dies of SIGINT, as without a line', () => {
  // The terminal is this child's stdout, a pipe here, posing as one; it sends itself SIGINT as Ctrl-C would.
  const term = new URL('../src/term.js', import.meta.url).href;
  const code = `import { writeSync } from 'node:fs';
    const { Progress } = await import(${JSON.stringify(term)});
    const stream = { isTTY: true, columns: 80, write: (text) => writeSync(1, text) };
    new Progress(stream, {}).update('bandwidth: clone 8 B (1/48), ~7 s left');
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => writeSync(1, ' still running'), 2000);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
  assert.is(child.stdout, '\r\x1b[2Kbandwidth: clone 8 B (1/48), ~7 s left\r\x1b[2K');
  assert.is(child.signal, 'SIGINT');
});

test('formatShortCount: three figures and the unit they show, formatDuration: seconds, then minutes', () => {
  const counts: [number, string][] = [
    [0, '0'], [789, '789'], [999.4, '999'], [999.6, '1.00k'], [1000, '1.00k'], [45_600, '45.6k'], [456_000, '456k'],
    [999_499, '999k'], [999_999, '1.00M'], [12_340_000, '12.3M'], [NaN, '-'],
  ];
  for (const [count, text] of counts) assert.is(formatShortCount(count), text, String(count));
  const durations: [number, string][] = [
    [0, '0 s'], [-3, '0 s'], [0.4, '0 s'], [44.6, '45 s'], [59.4, '59 s'], [59.6, '1 min 0 s'], [125, '2 min 5 s'],
    [3600, '60 min 0 s'],
  ];
  for (const [seconds, text] of durations) assert.is(formatDuration(seconds), text, String(seconds));
});

test('Eta: the budget until a measurement finishes, then the average from the first measurement\'s start', () => {
  let now = 0;
  const eta = new Eta(10, 0.1, () => now);
  assert.is(eta.secondsLeft(), 1); // 10 measurements of 0.1 s
  now = 5_000; // 5 s of set-up (a line probe, workers starting) before the first measurement
  eta.start();
  assert.is(eta.secondsLeft(), 1);
  now = 5_200;
  eta.finish();
  eta.start(); // the second measurement: the clock stays where the first started it
  assert.is(eta.done, 1);
  assert.is(eta.secondsLeft(), 9 * 0.2); // 0.2 s a measurement, not 5.2 s
  now = 5_300;
  eta.finish();
  assert.is(eta.secondsLeft(), 8 * 0.15);
  const quick = new Eta(4, 1, () => now);
  quick.start();
  now += 100;
  quick.finish();
  assert.is(quick.secondsLeft(), 3, 'never less than the budget of each (1 s, though the first took 0.1)');
  const unstarted = new Eta(3, 0.5, () => now);
  unstarted.finish();
  assert.is(unstarted.secondsLeft(), 1, 'no clock yet: the budget');
});

test('hangingItem: text beside its label, continued under its first line; under the label where narrow', () => {
  const help = words('smallest message: a multiple of 8 bytes (B, KiB, MiB, GiB)');
  assert.equal(hangingItem('  --min SIZE', [[...help, '(default 8)']], 20, 60), [
    '  --min SIZE        smallest message: a multiple of 8 bytes',
    '                    (B, KiB, MiB, GiB) (default 8)',
  ]);
  // A second paragraph starts a line of its own, in the same column.
  assert.equal(hangingItem('  --ops LIST', [words('collectives, comma-separated:'), words('bcast, reduce')], 14, 80), [
    '  --ops LIST  collectives, comma-separated:',
    '              bcast, reduce',
  ]);
  // 19 columns left for the text: it goes under the label, 4 columns further in.
  assert.equal(hangingItem('  --min SIZE', [help], 20, 39), [
    '  --min SIZE',
    '      smallest message: a multiple of',
    '      8 bytes (B, KiB, MiB, GiB)',
  ]);
  // So it does when the label reaches past the column; a label that cannot go further in is followed by a space.
  assert.equal(hangingItem('  --a-long-option', [['text']], 10, 80), ['  --a-long-option', '      text']);
  assert.equal(hangingItem('--long', [['text']], 3, 80), ['--long text']);
  // A piece wider than its line breaks at its spaces; a word wider than its line has one of its own.
  assert.equal(hangingItem('Usage:', [['[--ranks N]', 'averyveryverylongword']], 7, 14), [
    'Usage:',
    '    [--ranks',
    '    N]',
    '    averyveryverylongword',
  ]);
  // A blank label is an indent; no text, the label alone.
  assert.equal(hangingItem('  ', [words('sample, ring, gather')], 2, 16), ['  sample, ring,', '  gather']);
  assert.equal(hangingItem('  -h, --help', [], 20, 80), ['  -h, --help']);
});

test('wrapLine: a line too wide wraps at its spaces, the rest 4 columns further in; a line that fits stays', () => {
  // An exercise's lines as printed at 60 columns, where the terminal had cut them mid-word (`best o` / `f 3`)
  const broadcast = 'broadcast of a Float64Array of 8 MiB (1,048,576 elements: 0.5, 1.5, 2.5, ...) from rank 0 to 4 ' +
    'ranks over shared, best of 3';
  assert.is(wrapLine(broadcast, 60), 'broadcast of a Float64Array of 8 MiB (1,048,576 elements:\n' +
    '    0.5, 1.5, 2.5, ...) from rank 0 to 4 ranks over shared,\n' +
    '    best of 3');
  const primes = '   primes per batch (in input order): [9592, 8392, 8013, 7863, 7678, 7560, 7445, 7408, 7323, 7224, ' +
    '7216]';
  assert.is(wrapLine(primes, 60), '   primes per batch (in input order): [9592, 8392, 8013,\n' +
    '       7863, 7678, 7560, 7445, 7408, 7323, 7224, 7216]');
  // A column's padding stays where the line does not break
  const row = '  linear (3 steps)    6, 10, 14, 18, ...    24.40 ms  all 1,048,576 elements right';
  assert.is(wrapLine(row, 60),
    '  linear (3 steps)    6, 10, 14, 18, ...    24.40 ms  all\n      1,048,576 elements right');
  assert.is(wrapLine(row, 46), '  linear (3 steps)    6, 10, 14, 18, ...\n      24.40 ms  all 1,048,576 elements right',
    'no padding left at the end of a line');
  // Lines that fit, a table's and a chart's among them, are left as they are, spaces and all
  for (const fits of ['  comm.bcast into a buffer                  7.36 ms', ' 1k ┤   ╭──+──╯╮  ╭────x', '']) {
    assert.is(wrapLine(fits, 60), fits);
  }
  // A word wider than the terminal gets a line of its own, whole
  assert.is(wrapLine(`see ${'x'.repeat(30)} here`, 24), `see\n    ${'x'.repeat(30)}\n    here`);
  // Every line keeps to the width, and no word is lost or cut
  for (const columns of [40, 60, 80]) {
    const wrapped = wrapLine(broadcast, columns);
    for (const line of wrapped.split('\n')) assert.ok([...line].length <= columns, `${columns}: "${line}"`);
    assert.is(wrapped.split(/\s+/).join(' '), broadcast);
  }
});

test('wrap breaks between pieces, never inside one; wrapText between words; escape codes take no width', () => {
  const legend = ['── clone', '── transfer', '── transfer-alloc', '── shared'];
  assert.equal(wrap(legend, 40, '   '), ['── clone   ── transfer', '── transfer-alloc   ── shared']);
  assert.equal(wrap(legend, 200, '   '), ['── clone   ── transfer   ── transfer-alloc   ── shared']);
  assert.equal(wrap(['a-long-piece', 'b'], 5), ['a-long-piece', 'b'], 'a piece wider than the line has its own');
  assert.equal(wrap([], 10), []);
  const red = (text: string) => `\x1b[31m${text}\x1b[39m`;
  assert.equal(wrap([red('abcd'), red('efgh')], 9), [`${red('abcd')} ${red('efgh')}`]);
  assert.is(wrapText('Note: the machine was busy during the run', 16), 'Note: the\nmachine was busy\nduring the run');
  assert.is(wrapText('a line crosses in 0.09 µs here', 21), 'a line crosses in\n0.09 µs here', 'a number keeps its unit');
  assert.is(wrapText('sizes 1 2 3 4 5 6 7 8 9', 9), 'sizes 1 2\n3 4 5 6 7\n8 9', 'numbers in a list break as words do');
  assert.is(wrapText('Node v20.20.2 · AMD', 14), 'Node v20.20.2\n· AMD', 'only a word joins the number before it');
  // A number and its word wider than a line together go apart rather than over the line.
  assert.is(wrapText('SHMCOMM_REP_MOVSB=1 keeps the choice', 20), 'SHMCOMM_REP_MOVSB=1\nkeeps the choice');
  // The header breaks between its parts, and inside one only when that part is longer than a line.
  const m = { node: 'v20.20.2', cpuModel: 'AMD EPYC (family 25, model 17)', cores: 2,
    memcpy: 'glibc 2.36, rep movsb off' };
  const settings = 'window 64, 0.2 s per size, rings (auto): shared 2 MiB, zerocopy 1 MiB, ringbuf 32 MiB (a line ' +
    'crosses in 0.50 µs: they share no cache)';
  assert.is(headerLine('shmcomm bench bandwidth', m, settings, 80), [
    'shmcomm bench bandwidth · Node v20.20.2 · AMD EPYC (family 25, model 17)',
    '2 cores · glibc 2.36, rep movsb off',
    'window 64, 0.2 s per size, rings (auto): shared 2 MiB, zerocopy 1 MiB, ringbuf',
    '32 MiB (a line crosses in 0.50 µs: they share no cache)',
  ].join('\n'));
  assert.not.match(headerLine('shmcomm bench bandwidth', m, settings), /\n/, 'no width, one line');
});

test('cpuGeneration reads the first processor\'s family and model from /proc/cpuinfo, and nothing elsewhere', () => {
  const epyc = [
    'processor\t: 0',
    'vendor_id\t: AuthenticAMD',
    'cpu family\t: 25',
    'model\t\t: 17',
    'model name\t: AMD EPYC',
    'stepping\t: 1',
    '',
    'processor\t: 1',
    'cpu family\t: 26',
    'model\t\t: 2',
  ].join('\n');
  assert.is(cpuGeneration(epyc), 'family 25, model 17');
  // An ARM /proc/cpuinfo names parts, not families; "model name" alone is not a model number.
  assert.is(cpuGeneration('processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n'), '');
  assert.is(cpuGeneration('model name\t: AMD EPYC\ncpu family\t: 25\n'), '');
  assert.is(cpuGeneration(''), '');
  // This machine's header names them after the CPU, where Linux has them.
  const generation = process.platform === 'linux' ? cpuGeneration(readFileSync('/proc/cpuinfo', 'utf8')) : '';
  const header = headerLine('shmcomm bench x', machine(), 'settings');
  if (generation === '') assert.not.match(header, /\(family /);
  else assert.ok(header.includes(` (${generation}) · `), header);
});

test.run();
