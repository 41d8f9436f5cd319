/**
 * The bandwidth benchmark end to end on tiny sizes and short times, every mode: valid JSON with every mode and
 * size, the table and chart in plain text, the CSV file; the verification helpers; and a failing worker that takes
 * the whole group down. Speed is never asserted.
 */
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { capture, childPids, noWorkerLeft } from './helpers.js';
import { BANDWIDTH_MODES, parseBandwidthArgs } from '../src/bench/args.js';
import {
  autoRingBytes, bandwidthTables, ratioToMemcpy, describeRings, fewerRoundsNote, measureBandwidth, readingNote, runBandwidth,
  smallestLines,
  spreadNote, verificationError, type BandwidthRow,
  type RingChoice,
  type RingMode,
} from '../src/bench/bandwidth.js';
import { ACK, END } from '../src/bench/bandwidth-ports.js';
import { measureLineMicros, stateChangeNote } from '../src/bench/line-probe.js';
import { formatSize, logSizes } from '../src/bench/format.js';
import {
  copyFailure, expectedAt, makeSource, messageOk, RovingStamps, sampleIndices, samplesOk, shouldSkip, stamp, STAMP_EVERY,
  startsRound, windowFor,
} from '../src/bench/payload.js';
import { PeerGroup, stallMsFor } from '../src/bench/peers.js';
import { host, memcpyText } from '../src/glibc.js';

const TINY = ['--min', '8', '--max', '64KiB', '--points', '3', '--time', '0.02', '--warmup', '0.005'];

const isPositive = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value > 0;

test('--json: every mode at every size, with positive finite numbers', async () => {
  const opts = parseBandwidthArgs([...TINY, '--json']);
  const stdout = capture();
  const stderr = capture();
  await runBandwidth(opts, { stdout, stderr });
  const doc = JSON.parse(stdout.text()) as {
    node: string; cpus: string; memcpy: string; settings: Record<string, unknown>; rows: Record<string, unknown>[]; notes: string[];
  };
  assert.equal(Object.keys(doc), ['node', 'cpus', 'memcpy', 'settings', 'rows', 'notes']);
  assert.is(doc.node, process.version);
  // The run's settings as parsed (not --json itself), and the notes the text would end with (a string each).
  assert.equal(doc.settings, {
    minBytes: 8, maxBytes: 65536, points: 3, window: 64, seconds: 0.02, warmupSeconds: 0.005,
    modes: [...BANDWIDTH_MODES], rounds: 1, ringBytes: null, // --ring auto: every option has its key
  });
  assert.ok(Array.isArray(doc.notes) && doc.notes.every((note) => typeof note === 'string' && note.startsWith('Note: ')), String(doc.notes));
  assert.is(doc.memcpy, memcpyText(process.env, host()));
  assert.type(doc.cpus, 'string');
  const sizes = logSizes(8, 65536, 3);
  assert.is(doc.rows.length, BANDWIDTH_MODES.length * sizes.length);
  for (const mode of BANDWIDTH_MODES) {
    for (const bytes of sizes) {
      const row = doc.rows.find((r) => r.mode === mode && r.bytes === bytes);
      assert.ok(row, `a row for ${mode} at ${bytes} bytes`);
      const ringMode = mode === 'shared' || mode === 'zerocopy' || mode === 'ringbuf';
      const keys = ['mode', 'bytes', 'mbPerSec', 'messages', 'seconds'];
      // A ring mode says its ring, and a copying mode (shared, ringbuf) the line time auto measured at the start.
      if (ringMode) keys.push(...(mode === 'zerocopy' ? ['ringBytes'] : ['ringBytes', 'lineMicros']));
      assert.equal(Object.keys(row), keys);
      if (ringMode) assert.is(row.ringBytes, autoRingBytes(mode, (row.lineMicros as number | undefined) ?? NaN));
      assert.ok(isPositive(row.mbPerSec), `${mode} ${bytes}: mbPerSec ${row.mbPerSec}`);
      assert.ok(isPositive(row.seconds), `${mode} ${bytes}: seconds ${row.seconds}`);
      assert.ok(Number.isInteger(row.messages) && (row.messages as number) > 0, `${mode} ${bytes}: messages ${row.messages}`);
    }
  }
  assert.is(stderr.text(), '', 'no progress line when stderr is not a terminal');
  assert.equal(childPids(), [], 'no child process left');
});

test('--rounds 3: every size three times, by turns, and the median of each in the row (the process mode too)', async () => {
  const opts = parseBandwidthArgs(['--min', '8', '--max', '1KiB', '--points', '2', '--time', '0.02', '--warmup', '0.005',
    '--modes', 'shared,process,memcpy', '--rounds', '3', '--json']);
  const started: string[] = [];
  const rows = await measureBandwidth(opts, { onStart: (mode, bytes) => started.push(`${mode} ${bytes}`) });
  // Round after round, each size by turns of the three modes.
  const round = ['shared 8', 'process 8', 'memcpy 8', 'shared 1024', 'process 1024', 'memcpy 1024'];
  assert.equal(started, [...round, ...round, ...round]);
  assert.equal(rows.map((row) => `${row.mode} ${row.bytes}`), ['shared 8', 'shared 1024', 'process 8', 'process 1024', 'memcpy 8', 'memcpy 1024']);
  for (const row of rows) {
    const label = `${row.mode} ${row.bytes}`;
    assert.is(row.rounds?.length, 3, label);
    assert.ok(row.rounds!.every(isPositive), label);
    assert.is(row.mbPerSec, [...row.rounds!].sort((a, b) => a - b)[1], `${label}: the median round`);
    assert.ok(Math.abs(row.mbPerSec - (row.bytes * row.messages) / row.seconds / 1e6) < 1e-9 * row.mbPerSec, `${label}: its own round's count and time`);
  }
  // The text says how many rounds each figure is the median of; one round leaves the field out.
  const stdout = capture();
  const file = join(tmpdir(), `shmcomm-rounds-${process.pid}-${Date.now()}.csv`);
  try {
    await runBandwidth(parseBandwidthArgs([...TINY, '--modes', 'memcpy', '--rounds', '3', '--no-chart', '--csv', file]), { stdout, stderr: capture() });
    // The CSV keeps every round: three MB/s apart by spaces, the row's own among them.
    const csv = readFileSync(file, 'utf8').trim().split('\n');
    assert.is(csv[0], 'mode,bytes,mbPerSec,messages,seconds,ringBytes,lineMicros,rounds');
    assert.is(csv.length, 1 + 3);
    for (const line of csv.slice(1)) {
      const cells = line.split(',');
      const rounds = cells[7]!.split(' ').map(Number);
      assert.is(rounds.length, 3, line);
      assert.ok(rounds.every(isPositive), line);
      assert.is(Number(cells[2]), [...rounds].sort((a, b) => a - b)[1], `${line}: mbPerSec is the median round`);
    }
  } finally {
    rmSync(file, { force: true });
  }
  assert.match(stdout.text(), /0\.02 s per size, median of 3 rounds/);
  const even = capture();
  await runBandwidth(parseBandwidthArgs([...TINY, '--modes', 'memcpy', '--rounds', '2', '--no-chart']), { stdout: even, stderr: capture() });
  assert.match(even.text(), /0\.02 s per size, lower median of 2 rounds/, 'an even N: the slower middle round, said so');
  const once = await measureBandwidth(parseBandwidthArgs([...TINY, '--modes', 'memcpy']));
  assert.ok(once.every((row) => row.rounds === undefined));
  assert.equal(childPids(), [], 'no child process left');
});

test('table, ratios and chart in plain text, and --csv writes the rows', async () => {
  const file = join(tmpdir(), `shmcomm-bench-${process.pid}-${Date.now()}.csv`);
  try {
    const opts = parseBandwidthArgs([...TINY, '--modes', 'memcpy,zerocopy,clone', '--csv', file]);
    const stdout = capture();
    const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
    delete process.env.NO_COLOR;
    delete process.env.FORCE_COLOR;
    try {
      await runBandwidth(opts, { stdout, stderr: capture() });
    } finally {
      Object.assign(process.env, saved);
      for (const [key, value] of Object.entries(saved)) if (value === undefined) delete process.env[key];
    }
    const text = stdout.text();
    assert.not.match(text, /\x1b\[/, 'no escape codes when stdout is not a terminal');
    assert.match(text, /Node v\d+/);
    assert.match(text, /MB\/s/);
    assert.match(text, /size\s+memcpy\s+zerocopy\s+clone/);
    assert.match(text, /Ratio to memcpy/);
    assert.match(text, /\d\.\d+x/);
    assert.match(text, /64 KiB/);
    assert.match(text, /└┬/, 'the chart x axis');
    assert.match(text, /\n─o─ memcpy   ─x─ zerocopy   ─\+─ clone\n/, 'the chart legend: a mark per series');
    assert.match(text, /Messages\/s at 8 B/);

    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.is(lines[0], 'mode,bytes,mbPerSec,messages,seconds,ringBytes,lineMicros,rounds');
    assert.is(lines.length, 1 + 3 * 3);
    const sizes = logSizes(8, 65536, 3);
    assert.equal(lines.slice(1).map((line) => line.split(',').slice(0, 2).join(',')),
      ['memcpy', 'zerocopy', 'clone'].flatMap((mode) => sizes.map((bytes) => `${mode},${bytes}`)), 'a row a mode and size, in order');
    for (const line of lines.slice(1)) {
      const [mode, , mbPerSec, messages, seconds, ringBytes, lineMicros, rounds] = line.split(',');
      assert.ok(isPositive(Number(mbPerSec)), line);
      assert.ok(isPositive(Number(messages)) && isPositive(Number(seconds)), line);
      assert.is(ringBytes, mode === 'zerocopy' ? String(4 * 2 ** 20) : '', line); // zerocopy's ring, chosen without a probe
      assert.is(lineMicros, '', line);
      assert.is(rounds, '', `${line}: one round, no list`);
    }
  } finally {
    rmSync(file, { force: true });
  }
});

test('--no-chart leaves the chart out', async () => {
  const stdout = capture();
  await runBandwidth(parseBandwidthArgs([...TINY, '--modes', 'shared', '--no-chart']), { stdout, stderr: capture() });
  assert.match(stdout.text(), /shared/);
  // The header says the ring and the state the run began in (on lines of 80 columns: read as one).
  const state = '(a line crosses in \\d+\\.\\d{2,3} µs: (the threads share a cache|they share no cache)|the line probe ' +
    'took \\d+\\.\\d{2,3} µs a bounce, at a second try too: its threads took turns, the machine is busy)';
  assert.match(stdout.text().replace(/\n/g, ' '), new RegExp(`rings \\(auto\\): shared 2 MiB \\(${state}\\)`));
  assert.not.match(stdout.text(), /└┬/);
});

test('on a terminal the progress line tells each step: probe, each mode starting, each size, probe', async () => {
  const stderr = { ...capture(), isTTY: true, columns: 200 };
  const opts = parseBandwidthArgs([...TINY, '--modes', 'memcpy,shared', '--no-chart']);
  await runBandwidth(opts, { stdout: capture(), stderr });
  const lines = stderr.text().split('\r\x1b[2K').slice(1); // each update, and the erasing at the end
  assert.equal(lines.slice(0, 3), [
    "bandwidth: probing the machine's state", 'bandwidth: starting memcpy (1/2 modes)',
    'bandwidth: starting shared (2/2 modes)',
  ]);
  const sizes = logSizes(8, 65536, 3).flatMap((bytes) => ['memcpy', 'shared'].map((mode) => `${mode} ${formatSize(bytes)}`));
  const steps = lines.slice(3, -2).map((line) => line.replace(/ \(\d+\/6\), ~\d+ s left$/, ''));
  assert.equal(steps, sizes.map((size) => `bandwidth: ${size}`));
  assert.equal(lines.slice(-2), ["bandwidth: probing the machine's state at the end", '']);
});

test('--ring auto: shared 2 MiB, zerocopy 4 MiB; ringbuf 1 MiB when the threads share a cache, 32 MiB when not', async () => {
  const MiB = 2 ** 20;
  const modes: RingMode[] = ['zerocopy', 'shared', 'ringbuf'];
  assert.equal(modes.map((mode) => autoRingBytes(mode, 0.1)), [4 * MiB, 2 * MiB, MiB]);
  assert.equal(modes.map((mode) => autoRingBytes(mode, 0.49)), [4 * MiB, 2 * MiB, 32 * MiB]);
  // From 1 µs the probe's threads took turns: no state, and ringbuf a fixed ring (it got the far state's 32 MiB).
  assert.equal(modes.map((mode) => autoRingBytes(mode, 4122.3)), [4 * MiB, 2 * MiB, MiB]);
  const choices: RingChoice[] = [
    { mode: 'shared', bytes: 2 * MiB, lineMicros: 0.5 },
    { mode: 'zerocopy', bytes: 4 * MiB },
    { mode: 'ringbuf', bytes: 32 * MiB, lineMicros: 0.5 },
  ];
  assert.is(describeRings(choices, undefined, 0.5),
    'rings (auto): shared 2 MiB, zerocopy 4 MiB, ringbuf 32 MiB (a line crosses in 0.50 µs: they share no cache)');
  assert.is(describeRings(choices.slice(0, 2), undefined, 0.123),
    'rings (auto): shared 2 MiB, zerocopy 4 MiB (a line crosses in 0.12 µs: the threads share a cache)');
  const busyChoices: RingChoice[] = [
    { mode: 'shared', bytes: 2 * MiB, lineMicros: 3746.58 },
    { mode: 'ringbuf', bytes: MiB, lineMicros: 3746.58 },
  ];
  assert.is(describeRings(busyChoices, undefined, 3746.58),
    'rings (auto): shared 2 MiB, ringbuf 1 MiB (the line probe took 3746.58 µs a bounce, at a second try too: its ' +
      'threads took turns, the machine is busy, so ringbuf runs on its fixed ring, not one chosen by the state)');
  assert.is(describeRings(busyChoices.slice(0, 1), undefined, 2.5),
    'rings (auto): shared 2 MiB (the line probe took 2.50 µs a bounce, at a second try too: its threads took turns, ' +
      'the machine is busy)');
  assert.is(describeRings(choices, 4 * MiB), 'ring 4 MiB');
  // The probe itself: two threads, a positive finite time (never a speed), and no thread left behind.
  const micros = await measureLineMicros();
  assert.ok(Number.isFinite(micros) && micros > 0, `line time ${micros}`);
  // A run reports the ring each ring mode ran on.
  const seen: RingChoice[] = [];
  const looks: string[] = [];
  let startLine = NaN;
  await measureBandwidth(parseBandwidthArgs([...TINY, '--modes', 'shared,zerocopy,ringbuf']), {
    onRing: (choice) => seen.push(choice),
    onLine: (when, lineMicros) => {
      looks.push(`${when} ${lineMicros > 0}`);
      if (when === 'start') startLine = lineMicros;
    },
  });
  assert.equal(looks, ['start true', 'end true'], 'auto also looks at the start and at the end of the run');
  assert.equal(seen.slice(0, 2), [{ mode: 'shared', bytes: 2 * MiB, lineMicros: startLine }, { mode: 'zerocopy', bytes: 4 * MiB }]);
  assert.equal(seen[2], { mode: 'ringbuf', bytes: autoRingBytes('ringbuf', startLine), lineMicros: startLine }); // the probe decided
});

test('--ring auto: a busy line probe looks once more, and if still busy ringbuf gets its fixed ring', async () => {
  const MiB = 2 ** 20;
  /** A run of ringbuf alone with the probe's readings in `readings`; what it chose and what the probe read. */
  const run = async (readings: number[]) => {
    const choices: RingChoice[] = [];
    const looks: string[] = [];
    const probe = async (): Promise<number> => readings.shift()!;
    await measureBandwidth(parseBandwidthArgs(['--max', '64', '--points', '2', '--time', '0.005', '--warmup', '0', '--modes', 'ringbuf']), {
      onRing: (choice) => choices.push(choice),
      onProbe: (when) => looks.push(`probe ${when}`),
      onLaunch: (mode) => looks.push(`launch ${mode}`),
      onLine: (when, lineMicros) => looks.push(`${when} ${lineMicros}`),
    }, probe);
    assert.equal(readings, [], 'every reading taken');
    return { choices, looks };
  };
  // A busy moment that passed: the second reading chooses (far: 32 MiB), and the first is not the run's.
  const passed = await run([5, 0.5, 0.45]);
  assert.equal(passed.choices, [{ mode: 'ringbuf', bytes: 32 * MiB, lineMicros: 0.5 }]);
  assert.equal(passed.looks, ['probe start', 'start 0.5', 'launch ringbuf', 'probe end', 'end 0.45']);
  // Busy twice: the fixed ring, 1 MiB, and the header says why.
  const still = await run([5, 3.25, 4]);
  assert.equal(still.choices, [{ mode: 'ringbuf', bytes: MiB, lineMicros: 3.25 }]);
  // Not busy: one look at the start, as before.
  const near = await run([0.1, 0.12]);
  assert.equal(near.choices, [{ mode: 'ringbuf', bytes: MiB, lineMicros: 0.1 }]);
  await noWorkerLeft('the ringbuf runs');
});

test('messages a second at the smallest size, in lines that keep to the terminal, broken between modes', () => {
  const modes = ['clone', 'transfer', 'transfer-alloc', 'shared', 'zerocopy', 'ringbuf', 'process', 'memcpy'] as const;
  const rates = [101e3, 61.4e3, 95.5e3, 48.9e3, 27.6e3, 9.58e3, 9.53e3, 8.45e6];
  const rows = modes.map((mode, i): BandwidthRow => ({ mode, bytes: 8, mbPerSec: 1, messages: rates[i]!, seconds: 1 }));
  assert.equal(smallestLines(modes, 8, rows.slice(0, 7), 80), [
    'Messages/s at 8 B: clone 101k, transfer 61.4k, transfer-alloc 95.5k,',
    'shared 48.9k, zerocopy 27.6k, ringbuf 9.58k, process 9.53k, memcpy -',
  ]);
  assert.equal(smallestLines(['shared', 'memcpy'], 8, rows, 80), ['Messages/s at 8 B: shared 48.9k, memcpy 8.45M']);
});

test('a run whose line time crossed 0.25 µs gets a note, one that met a busy machine another; a run in one state none', () => {
  assert.is(stateChangeNote([]), undefined);
  assert.is(stateChangeNote([{ when: 'at the start', lineMicros: 0.12 }, { when: 'at the end', lineMicros: 0.2 }]), undefined);
  assert.is(stateChangeNote([{ when: 'at the start', lineMicros: 0.5 }, { when: 'at the end', lineMicros: 0.55 }]), undefined);
  assert.is(
    stateChangeNote([
      { when: 'at the start', lineMicros: 0.13 }, { when: 'for shared', lineMicros: 0.561 }, { when: 'at the end', lineMicros: 0.59 },
    ]),
    'Note: the machine changed state during the run (a cache line between the threads: 0.13 µs at the start, ' +
      '0.56 µs for shared, 0.59 µs at the end): sizes measured in different states do not compare; the modes of ' +
      'one size do, they ran back to back (docs/PERFORMANCE.md, "this machine has two states").',
  );
  // From 1 µs the probe's threads took turns on a busy machine: no state, and no claim that the state changed.
  const busy = 'Note: the machine was busy during the run (a cache line between the threads: 0.10 µs at the start, ' +
    '2.19 µs at the end): figures met at a busy moment may be far off, and sizes measured at different moments do not ' +
    'compare; the modes of one size do, they ran back to back.';
  assert.is(stateChangeNote([{ when: 'at the start', lineMicros: 0.1 }, { when: 'at the end', lineMicros: 2.19 }]), busy);
  assert.is(stateChangeNote([{ when: 'at the start', lineMicros: 4120.69 }, { when: 'at the end', lineMicros: 4000 }]),
    busy.replace('0.10 µs at the start, 2.19 µs', '4120.69 µs at the start, 4000.00 µs'));
});

test('the modes that read every byte in place get a note saying how, named; the copying modes none', () => {
  assert.is(readingNote(['clone', 'shared', 'ringbuf', 'process', 'memcpy']), undefined);
  assert.is(readingNote(['shared', 'zerocopy']), "Note: zerocopy's receiver reads every byte of each message where it " +
    "lies in the ring (a WebAssembly SIMD sum, checked) and copies none out: its figure is a delivery to the receiver's " +
    'core, not a handoff (docs/PERFORMANCE.md, "Method").');
  assert.is(readingNote(['zerocopy'], true), "Note: zerocopy's receiver reads every byte of each message where it lies " +
    'in the ring (a sum in JavaScript, as this process could not reserve a WebAssembly.Memory or run WebAssembly SIMD: ' +
    "a few times slower than the WebAssembly SIMD one, checked) and copies none out: its figure is a delivery to the " +
    'receiver\'s core, not a handoff (docs/PERFORMANCE.md, "Method").');
  assert.is(readingNote(['transfer', 'shared']), 'Note: the receiver of transfer compares every byte of the array it is ' +
    "handed with what was sent (memcmp): its figure is a delivery to the receiver's core, not a handoff " +
    '(docs/PERFORMANCE.md, "Method").');
  assert.is(readingNote(BANDWIDTH_MODES), "Note: zerocopy's receiver reads every byte of each message where it lies in " +
    'the ring (a WebAssembly SIMD sum, checked) and copies none out, and the receivers of transfer and transfer-alloc ' +
    'compare every byte of the arrays they are handed with what was sent (memcmp): their figures are deliveries to the ' +
    'receiver\'s core, not handoffs (docs/PERFORMANCE.md, "Method").');
});

test('the MB/s table explains "-" only where a size was skipped', () => {
  const row = (mode: BandwidthRow['mode'], bytes: number, mbPerSec: number): BandwidthRow => ({ mode, bytes, mbPerSec, messages: 1, seconds: 1 });
  const whole = bandwidthTables(['shared', 'memcpy'], [8, 64], [row('shared', 8, 1), row('shared', 64, 2), row('memcpy', 8, 3), row('memcpy', 64, 4)]);
  assert.is(whole.split('\n')[0], 'MB/s (1 MB = 10^6 bytes)');
  const gap = bandwidthTables(['shared', 'memcpy'], [8, 64], [row('shared', 8, 1), row('memcpy', 8, 3), row('memcpy', 64, 4)]);
  assert.is(gap.split('\n')[0], 'MB/s (1 MB = 10^6 bytes; - = skipped)');
  assert.is(gap, [
    'MB/s (1 MB = 10^6 bytes; - = skipped)', 'size  shared  memcpy', '────  ──────  ──────', ' 8 B    1.00    3.00',
    '64 B       -    4.00', '', 'Ratio to memcpy (one copy in one thread)', 'size  shared', '────  ──────', ' 8 B   0.33x',
    '64 B       -',
  ].join('\n'));
});

test('the tables keep to the terminal: all eight modes go in two blocks at 80 columns, one table at 120', () => {
  const rates = {
    clone: 1.89, transfer: 1.36, 'transfer-alloc': 1.2, shared: 63.5,
    zerocopy: 69.2, ringbuf: 19.5, process: 0.63, memcpy: 769,
  };
  const rows: BandwidthRow[] = [];
  for (const mode of BANDWIDTH_MODES) {
    rows.push({ mode, bytes: 8, mbPerSec: rates[mode], messages: 1, seconds: 1 });
    rows.push({ mode, bytes: 2 ** 20, mbPerSec: rates[mode] * 1000, messages: 1, seconds: 1 });
  }
  const ratios = [
    'Ratio to memcpy (one copy in one thread)', // 80 columns: it fits, and stays whole
    ' size    clone  transfer  transfer-alloc  shared  zerocopy  ringbuf   process',
    '─────  ───────  ────────  ──────────────  ──────  ────────  ───────  ────────',
    '  8 B  0.0025x   0.0018x         0.0016x  0.083x    0.090x   0.025x  0.00082x',
    '1 MiB  0.0025x   0.0018x         0.0016x  0.083x    0.090x   0.025x  0.00082x',
  ];
  assert.is(bandwidthTables(BANDWIDTH_MODES, [8, 2 ** 20], rows, 80), [
    'MB/s (1 MB = 10^6 bytes)', // 82 columns in one table
    ' size  clone  transfer  transfer-alloc  shared',
    '─────  ─────  ────────  ──────────────  ──────',
    '  8 B   1.89      1.36            1.20    63.5',
    '1 MiB  1,890     1,360           1,200  63,500',
    '',
    ' size  zerocopy  ringbuf  process   memcpy',
    '─────  ────────  ───────  ───────  ───────',
    '  8 B      69.2     19.5    0.630      769',
    '1 MiB    69,200   19,500      630  769,000',
    '',
    ...ratios,
  ].join('\n'));
  assert.is(bandwidthTables(BANDWIDTH_MODES, [8, 2 ** 20], rows, 120), [
    'MB/s (1 MB = 10^6 bytes)',
    ' size  clone  transfer  transfer-alloc  shared  zerocopy  ringbuf  process   memcpy',
    '─────  ─────  ────────  ──────────────  ──────  ────────  ───────  ───────  ───────',
    '  8 B   1.89      1.36            1.20    63.5      69.2     19.5    0.630      769',
    '1 MiB  1,890     1,360           1,200  63,500    69,200   19,500      630  769,000',
    '',
    ...ratios,
  ].join('\n'));
});

test('over rounds, a ratio to memcpy is the median of the rounds\' own ratios; over skipped rounds, of the medians', () => {
  const row = (mode: BandwidthRow['mode'], rounds: number[]): BandwidthRow =>
    ({ mode, bytes: 64, mbPerSec: [...rounds].sort((a, b) => a - b)[(rounds.length - 1) >> 1]!, messages: 1, seconds: 1, rounds });
  // Round 2 found the machine fast for both. The rounds' ratios are 0.6, 0.6 and 0.47; the medians, shared's 30 from
  // round 1 and memcpy's 60 from round 3, would give 0.5.
  const shared = row('shared', [30, 60, 28]), memcpy = row('memcpy', [50, 100, 60]);
  assert.is(ratioToMemcpy(shared, memcpy, 3), 0.6);
  assert.is(shared.mbPerSec / memcpy.mbPerSec, 0.5);
  const table = bandwidthTables(['shared', 'memcpy'], [64], [shared, memcpy], 80, 3).split('\n');
  assert.is(table[5], "Ratio to memcpy (one copy in one thread, median of the rounds' own ratios)");
  assert.is(table[8], '64 B   0.60x');
  // Four rounds (0.6, 0.6, 0.47, 0.33): the lower of the middle two, as the rows' medians are.
  assert.is(ratioToMemcpy(row('shared', [30, 60, 28, 33]), row('memcpy', [50, 100, 60, 100]), 4), 28 / 60);
  assert.is(bandwidthTables(['shared', 'memcpy'], [64], [shared, memcpy], 80, 4).split('\n')[5],
    "Ratio to memcpy (one copy in one thread, lower median of the rounds' own ratios)");
  // A round skipped: the rounds no longer pair up, so the medians divide.
  assert.is(ratioToMemcpy(row('shared', [30, 60]), memcpy, 3), 0.5);
  assert.ok(Number.isNaN(ratioToMemcpy(shared, undefined, 3)));
  assert.is(bandwidthTables(['shared', 'memcpy'], [64], [shared, memcpy], 80).split('\n')[5], 'Ratio to memcpy (one copy in one thread)');
});

test('rounds that differ more than 2x get a note naming the rows, six at most', () => {
  const row = (mode: BandwidthRow['mode'], bytes: number, rounds?: number[]): BandwidthRow =>
    ({ mode, bytes, mbPerSec: rounds ? [...rounds].sort((a, b) => a - b)[(rounds.length - 1) >> 1]! : 1, messages: 1, seconds: 1, rounds });
  assert.is(spreadNote([]), undefined);
  assert.is(spreadNote([row('shared', 8), row('shared', 65536, [10, 20, 20])]), undefined); // one round; exactly 2x
  assert.is(
    spreadNote([row('shared', 65536, [28_300, 1_930, 27_700]), row('ringbuf', 65536, [6_100, 5_900, 6_000]), row('zerocopy', 1024, [0.9, 2.1, 1.5])]),
    'Note: rounds that differ more than 2x, MB/s (the table shows their median): shared 64 KiB 1,930 to 28,300, ' +
      'zerocopy 1 KiB 0.900 to 2.10.',
  );
  const many = Array.from({ length: 8 }, (_, i) => row('clone', 8 << i, [1, 3]));
  assert.is(spreadNote(many), 'Note: rounds that differ more than 2x, MB/s (the table shows their median): ' +
    `${[8, 16, 32, 64, 128, 256].map((bytes) => `clone ${formatSize(bytes)} 1.00 to 3.00`).join(', ')}, and 2 more.`);
});

test('a size measured in fewer rounds than the run had gets a note naming it and its count', () => {
  const row = (mode: BandwidthRow['mode'], bytes: number, rounds?: number[]): BandwidthRow =>
    ({ mode, bytes, mbPerSec: 1, messages: 1, seconds: 1, rounds });
  assert.is(fewerRoundsNote([row('clone', 64 << 20)], 1), undefined); // no rounds
  assert.is(fewerRoundsNote([row('clone', 32 << 20, [20, 21, 19])], 3), undefined);
  assert.is(
    fewerRoundsNote([row('clone', 32 << 20, [20, 21, 19]), row('clone', 64 << 20, [15]), row('process', 64 << 20, [9, 8])], 3),
    'Note: measured in fewer of the 3 rounds (skipped as too slow in the others): clone 64 MiB in 1, process 64 MiB in 2.',
  );
});

test('the modes take turns size by size, and the rows still come mode by mode', async () => {
  const events: string[] = [];
  const rows = await measureBandwidth(parseBandwidthArgs([...TINY, '--modes', 'memcpy,shared,clone', '--ring', '64KiB']), {
    onLaunch: (mode) => events.push(`launch ${mode}`),
    onProbe: (when) => events.push(`probe ${when}`), // none: a fixed ring, which no state places
    onStart: (mode, bytes) => events.push(`start ${mode} ${bytes}`),
    onFinish: (mode, bytes) => events.push(`finish ${mode} ${bytes}`),
  });
  const sizes = logSizes(8, 65536, 3);
  const modes = ['memcpy', 'shared', 'clone'];
  // Every mode's workers start before the first size, each announced (the progress line says so meanwhile)
  assert.equal(events, [
    ...modes.map((mode) => `launch ${mode}`),
    ...sizes.flatMap((bytes) => modes.flatMap((mode) => [`start ${mode} ${bytes}`, `finish ${mode} ${bytes}`])),
  ]);
  assert.equal(rows.map((row) => `${row.mode} ${row.bytes}`), modes.flatMap((mode) => sizes.map((bytes) => `${mode} ${bytes}`)));
  assert.equal(childPids(), []);
});

test('measureBandwidth with a window of 1 and a ring smaller than the messages (chunks and wraps)', async () => {
  const opts = parseBandwidthArgs([
    '--min', '8', '--max', '64KiB', '--points', '3', '--time', '0.01', '--warmup', '0', '--window', '1',
    '--ring', '4KiB', '--modes', 'shared,zerocopy,ringbuf,transfer,process',
  ]);
  const rows = await measureBandwidth(opts);
  assert.is(rows.length, 5 * 3);
  for (const row of rows) assert.ok(row.messages > 0 && isPositive(row.mbPerSec), JSON.stringify(row));
  assert.equal(childPids(), []);
});

test('a size over 16 MiB is not skipped on the word of a tiny one: 8 B predicted 1.9 s for 24 MiB, which took 4 ms', async () => {
  const rows = await measureBandwidth(parseBandwidthArgs(['--min', '8', '--max', '24MiB', '--points', '2', '--time', '0.02',
    '--warmup', '0.005', '--modes', 'shared,memcpy', '--ring', '2MiB']));
  const shared = rows.filter((row) => row.mode === 'shared');
  assert.equal(shared.map((row) => row.bytes), [8, 24 * 2 ** 20]);
  assert.ok(shared.every((row) => isPositive(row.mbPerSec)), JSON.stringify(shared)); // measured, not skipped
  assert.equal(childPids(), []);
});

test('payload: stamps and samples catch a message that is stale, truncated or not moved', () => {
  for (const elements of [1, 2, 3, 17, 1000]) {
    const source = makeSource(elements * 8);
    const samples = sampleIndices(elements);
    assert.ok(samples.includes(0) && samples.includes(elements - 1), `${elements}: ends sampled`);
    stamp(source, 41);
    assert.ok(messageOk(source.slice(), 41, elements, samples), `${elements}: a faithful copy passes`);
    assert.not.ok(messageOk(source.slice(), 40, elements, samples), `${elements}: the previous message fails`);
    assert.not.ok(messageOk(source.slice(0, elements - 1), 41, elements, samples), `${elements}: a short one fails`);
    assert.not.ok(messageOk(new Float64Array(elements), 41, elements, samples), `${elements}: zeros fail`);
    for (let i = 0; i < elements; i++) assert.is(source[i], expectedAt(i, 41, elements));
  }
  // Checked chunk by chunk, in place inside a larger buffer.
  const elements = 1000;
  const source = makeSource(elements * 8);
  stamp(source, 7);
  const samples = sampleIndices(elements);
  const ring = new Float64Array(2000);
  ring.set(source.subarray(0, 300), 100);
  ring.set(source.subarray(300), 1000);
  assert.ok(samplesOk(ring, 100, 0, 300, 7, elements, samples));
  assert.ok(samplesOk(ring, 1000, 300, 700, 7, elements, samples));
  ring[1000 + elements - 1 - 300] = 0;
  assert.not.ok(samplesOk(ring, 1000, 300, 700, 7, elements, samples));
});

test('payload: a stamp in every 256 KiB catches a chunk that was not moved, or moved stale', () => {
  const elements = (3 * STAMP_EVERY) / 2 + 5_000; // 1.7 stretches of 256 KiB: stamps at 12,345 and 45,113
  const samples = sampleIndices(elements);
  assert.equal(Array.from(samples), [0, 12_345, (elements >> 1), 45_113, elements - 1]);
  const source = makeSource(elements * 8);
  stamp(source, 9);
  const stale = source.slice();
  stamp(source, 10);
  const moved = source.slice();
  assert.ok(messageOk(moved, 10, elements, samples));
  for (const [from, to] of [[0, 20_000], [40_000, 50_000]]) { // one chunk of message 9 inside message 10
    const mixed = moved.slice();
    mixed.set(stale.subarray(from, to), from);
    assert.not.ok(messageOk(mixed, 10, elements, samples), `elements ${from} to ${to} stale`);
    mixed.set(makeSource(elements * 8).subarray(from, to), from); // never stamped: the pattern alone
    assert.not.ok(messageOk(mixed, 10, elements, samples), `elements ${from} to ${to} not moved`);
  }
  for (let i = 0; i < elements; i += 997) assert.is(moved[i], expectedAt(i, 10, elements), `element ${i}`);
  assert.is(moved[12_345], 10.375);
  assert.is(moved[45_113], 10.375 + 2 ** 32, 'the second stretch says it is the second');
  // A stretch of this very message delivered twice, or in another's place, is caught (it was not: every stamp of a
  // message was seq + 0.375).
  const twice = moved.slice();
  twice.copyWithin(STAMP_EVERY, 0, STAMP_EVERY); // stretch 0 where stretch 1 belongs
  assert.not.ok(messageOk(twice, 10, elements, samples), 'stretch 0 twice');
});

test('payload: each fixed stamp alone catches the piece it sits in stale; a message one element too long fails', () => {
  // 256 KiB and 100 elements: the last 800 bytes, a chunk of their own (shared's chunks are 256 KiB), hold only the
  // last element's stamp; each piece below holds one stamp and no other.
  const elements = STAMP_EVERY + 100;
  const samples = sampleIndices(elements);
  assert.equal(Array.from(samples), [0, 12_345, elements >> 1, elements - 1]);
  const source = makeSource(elements * 8);
  const roving = new RovingStamps(elements);
  roving.restamp(source, 9);
  stamp(source, 9);
  const stale = source.slice();
  roving.restamp(source, 10);
  stamp(source, 10);
  const receiver = new RovingStamps(elements);
  assert.is(copyFailure(source.slice(), 10, samples, receiver), '');
  for (const [from, to] of [[0, 1], [12_000, 13_000], [16_000, 17_000], [STAMP_EVERY, elements]]) {
    const mixed = source.slice();
    mixed.set(stale.subarray(from, to), from); // message 9's bytes there
    assert.not.ok(messageOk(mixed, 10, elements, samples), `elements ${from} to ${to} stale`);
    assert.is(copyFailure(mixed, 10, samples, receiver), "its stamps are not message 10's", `elements ${from} to ${to} stale`);
  }
  // The right stamps in the first `elements` elements, and one more: not the message.
  const longer = new Float64Array(elements + 1);
  longer.set(source);
  assert.not.ok(messageOk(longer, 10, elements, samples), 'one element too many');
  assert.not.ok(messageOk(Array.from(source), 10, elements, samples), 'not a Float64Array');
});

test('process: the child names the first message that failed, as the other receivers do, each size anew', async () => {
  const child = fork(fileURLToPath(new URL('../src/bench/process-peer.js', import.meta.url)), ['bandwidth'], {
    serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const reports: unknown[] = [];
    const finished = new Promise<void>((resolve, reject) => {
      child.on('message', (message: unknown) => {
        if (message === ACK) return;
        reports.push(message);
        if ((message as { type: string }).type === 'finished') resolve();
      });
      child.once('exit', (code) => reject(new Error(`the child exited (code ${code})`)));
    });
    const message = (seq: number, stampedAs = seq, elements = 8): Float64Array => {
      const source = makeSource(64);
      stamp(source, stampedAs);
      return source.subarray(0, elements);
    };
    child.send({ sizes: [64, 64], window: 2 });
    // The first size: message 1 is message 0 again (stale), message 3 is cut short
    for (const sent of [message(0), message(1, 0), message(2), message(3, 3, 7)]) child.send(sent);
    child.send(END);
    child.send(message(0)); // the second size: one message, right
    child.send(END);
    await finished;
    const first = "message 1: its length or stamps are not message 1's";
    assert.equal(reports, [
      { type: 'ready' },
      { type: 'verified', bytes: 64, count: 4, failures: 2, firstFailure: first },
      { type: 'verified', bytes: 64, count: 1, failures: 0 },
      { type: 'finished' },
    ]);
    // The run's error, as the other modes' say it
    const failed = reports[1] as { bytes: number; count: number; failures: number; firstFailure: string };
    const error = `process: 2 of 4 messages of 64 B failed verification; the first, ${first}`;
    assert.is(verificationError('process', failed), error);
  } finally {
    child.kill();
  }
});

test('payload: windows carry at most 64 MiB; only slow big sizes are skipped', () => {
  assert.is(windowFor(8, 64), 64);
  assert.is(windowFor(1 << 20, 64), 64);
  assert.is(windowFor(4 << 20, 64), 16);
  assert.is(windowFor(64 << 20, 64), 1);
  assert.is(windowFor(1 << 30, 64), 1);
  assert.not.ok(shouldSkip(16 << 20, 1));
  assert.not.ok(shouldSkip(64 << 20, undefined));
  assert.not.ok(shouldSkip(64 << 20, 100));
  assert.ok(shouldSkip(64 << 20, 50));
  assert.not.ok(shouldSkip(20e6, 20), 'predicted 1 s exactly: not longer than SLOW_MESSAGE_SECONDS');
  assert.ok(shouldSkip(20e6, 19.99));
  // Each round starts over: its first size has no previous rate to be skipped by, whatever the last round's largest did.
  assert.equal([0, 1, 2, 3, 4, 5].map((i) => startsRound([8, 64, 1024, 8, 64, 1024], i)), [true, false, false, true, false, false]);
  assert.equal([0, 1, 2].map((i) => startsRound([32 << 20, 32 << 20, 32 << 20], i)), [true, true, true]); // one size
});

test('a failing worker fails the group, wakes the others through abort, and leaves none running', async () => {
  let aborted = false;
  const control = new Int32Array(new SharedArrayBuffer(8));
  const group = new PeerGroup<{ type: string }>({
    abort: () => {
      aborted = true;
      Atomics.store(control, 0, 1);
      Atomics.notify(control, 0);
    },
  });
  // One worker blocks until the abort flag is raised; the other throws.
  const blocked = 'const { workerData } = await import("node:worker_threads"); Atomics.wait(workerData, 0, 0); throw new Error("woken");';
  group.start(new URL(`data:text/javascript,${encodeURIComponent(blocked)}`), control, [], () => {});
  group.start(new URL(`data:text/javascript,${encodeURIComponent('throw new Error("boom")')}`), null, [], () => {});
  const started = performance.now();
  let failure: unknown;
  try {
    await group.run();
  } catch (error) {
    failure = error;
  }
  assert.instance(failure, Error);
  assert.is((failure as Error).message, 'boom');
  assert.ok(aborted);
  assert.ok(performance.now() - started < 60_000);
  await noWorkerLeft('the group failed');
});

test('the stall bound grows with what a size may take: --time 600 or a long warm-up is not a stall', () => {
  assert.is(stallMsFor(0.2, 0.5), 60_000 + 3_000 + 200);
  assert.is(stallMsFor(600, 0), 660_000);
  assert.is(stallMsFor(0.2, 10), 60_000 + 60_000 + 200, "a mode's first size warms up six times as long");
});

test('a group whose workers raise their progress count is not stalled, however long they stay silent', async () => {
  // The latency benchmark's --iterations bound assumed a millisecond a round trip: 10,000 trips of 7.1 ms were
  // aborted as "made no progress". Here at a small scale: 250 ms without a report, 1.2 s of work. The silence counts
  // once the worker runs: on a loaded machine (load 10) a worker took longer than 250 ms to start, and the group that
  // moves all along was failed.
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const worker = (stopAfterMs: number) => new URL(`data:text/javascript,${encodeURIComponent(`
    const { parentPort, workerData } = await import("node:worker_threads");
    parentPort.postMessage({ type: "running" });
    const started = Date.now();
    while (Date.now() < started + 1200) {
      if (Date.now() < started + ${stopAfterMs}) Atomics.add(workerData, 0, 1);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    parentPort.postMessage({ type: "done" });`)}`);
  const group = (stopAfterMs: number) => {
    const progress = () => Atomics.load(counter, 0);
    const peers = new PeerGroup<{ type: string }>({ abort: () => {}, stallMs: 250, progress });
    peers.setIdle(true);
    peers.start(worker(stopAfterMs), counter, [], (report) => {
      if (report.type === 'running') peers.setIdle(false);
    });
    return peers.run();
  };
  await group(1200); // moving all along: done, not stalled
  const error = await group(200).then(() => undefined, (e: unknown) => e as Error); // still after 200 ms
  assert.match(error?.message ?? 'no error', /^the benchmark made no progress for \d+ s$/);
  await noWorkerLeft('the groups ended');
});

test('a group waiting for its turn is not stalled; a group failed from outside aborts and leaves none running', async () => {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const group = new PeerGroup<{ type: string }>({
    abort: () => {
      Atomics.store(control, 0, 1);
      Atomics.notify(control, 0);
    },
    stallMs: 50,
  });
  group.setIdle(true); // silence while idle: no stall, however long
  const waiting = 'const { workerData } = await import("node:worker_threads"); Atomics.wait(workerData, 0, 0); throw new Error("woken");';
  group.start(new URL(`data:text/javascript,${encodeURIComponent(waiting)}`), control, [], () => {});
  const run = group.run();
  let settled = false;
  run.then(() => { settled = true; }, () => { settled = true; });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.not.ok(settled, 'an idle group is not failed for its silence');
  group.fail(new Error('another mode failed'));
  let failure: unknown;
  try {
    await run;
  } catch (error) {
    failure = error;
  }
  assert.is((failure as Error).message, 'another mode failed');
  assert.is(Atomics.load(control, 0), 1, 'abort ran: the waiting worker was woken');
  await noWorkerLeft('the group was failed from outside');
});

test.run();
