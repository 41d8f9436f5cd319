/**
 * The latency benchmark end to end on tiny sizes and short times, every mode: valid JSON with every mode and size,
 * the table and chart in plain text, the CSV file, and exact iteration counts. Speed is never asserted.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { capture, childPids, errorOf } from './helpers.js';
import { LATENCY_MODES, parseLatencyArgs } from '../src/bench/args.js';
import { logSizes } from '../src/bench/format.js';
import { echoError, measureLatency, ringBytesFor, runLatency } from '../src/bench/latency.js';
import { drive } from '../src/bench/latency-drive.js';
import type { LatencyJob, LatencyReport } from '../src/bench/latency-worker.js';
import { createControl } from '../src/bench/signal.js';
import { describeLine, probeProgress, stateChangeNote } from '../src/bench/line-probe.js';
import { host, memcpyText } from '../src/glibc.js';
import { OutputError } from '../src/bench/report.js';

const TINY = ['--min', '8', '--max', '1KiB', '--points', '3', '--time', '0.02', '--warmup', '0.005'];

const isPositive = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value > 0;

test('--json: every mode at every size, with positive finite numbers', async () => {
  const stdout = capture();
  const stderr = capture();
  await runLatency(parseLatencyArgs([...TINY, '--json']), { stdout, stderr });
  const doc = JSON.parse(stdout.text()) as { node: string; cpus: string; memcpy: string; settings: object; rows: Record<string, unknown>[]; notes: string[] };
  assert.equal(Object.keys(doc), ['node', 'cpus', 'memcpy', 'settings', 'rows', 'notes']);
  // The notes the text would end with: none, or that the machine was busy or changed state during the run.
  assert.ok(doc.notes.every((note) => /^Note: the machine (was busy|changed state) during the run/.test(note)), String(doc.notes));
  assert.is(doc.memcpy, memcpyText(process.env, host()));
  const sizes = logSizes(8, 1024, 3);
  assert.is(doc.rows.length, LATENCY_MODES.length * sizes.length);
  for (const mode of LATENCY_MODES) {
    for (const bytes of sizes) {
      const row = doc.rows.find((r) => r.mode === mode && r.bytes === bytes);
      assert.ok(row, `a row for ${mode} at ${bytes} bytes`);
      assert.equal(Object.keys(row), ['mode', 'bytes', 'microseconds', 'roundTrips', 'seconds']);
      assert.ok(isPositive(row.microseconds), `${mode} ${bytes}: microseconds ${row.microseconds}`);
      assert.ok(isPositive(row.seconds), `${mode} ${bytes}: seconds ${row.seconds}`);
      assert.ok(Number.isInteger(row.roundTrips) && (row.roundTrips as number) > 0, `${mode} ${bytes}: ${row.roundTrips}`);
    }
  }
  assert.is(stderr.text(), '');
  assert.equal(childPids(), [], 'no child process left');
});

test('table and chart in plain text, and --csv writes the rows', async () => {
  const file = join(tmpdir(), `shmcomm-latency-${process.pid}-${Date.now()}.csv`);
  try {
    const stdout = capture();
    const opts = parseLatencyArgs([...TINY, '--modes', 'spinThenPark,clone', '--csv', file]);
    const saved = process.env.FORCE_COLOR;
    delete process.env.FORCE_COLOR;
    try {
      await runLatency(opts, { stdout, stderr: capture() });
    } finally {
      if (saved !== undefined) process.env.FORCE_COLOR = saved;
    }
    const text = stdout.text();
    assert.not.match(text, /\x1b\[/);
    assert.match(text, /Node v\d+/);
    assert.match(text, /size\s+spinThenPark\s+clone/);
    // The header says how far apart the cores were as the run began (or that the probe found the machine busy).
    assert.match(text.replace(/\s+/g, ' '), /median of batches \((a line crosses in \d+\.\d{2,3} µs: (the threads share a cache|they share no cache)|the line probe took .* the machine is busy)\)/);
    assert.match(text, /µs/);
    assert.match(text, /└┬/);
    assert.match(text, /\n─o─ spinThenPark   ─x─ clone\n/, 'the chart legend: a mark per series');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.is(lines[0], 'mode,bytes,microseconds,roundTrips,seconds');
    assert.is(lines.length, 1 + 2 * 3);
  } finally {
    rmSync(file, { force: true });
  }
});

test('on a terminal too narrow for the table, the table goes in blocks, each with the sizes', async () => {
  const stdout = { ...capture(), isTTY: true, columns: 24 }; // size, spinThenPark and clone take 25
  const opts = parseLatencyArgs([
    '--min', '8', '--max', '8', '--iterations', '20', '--modes', 'spinThenPark,clone', '--no-chart',
  ]);
  const saved = process.env.NO_COLOR;
  process.env.NO_COLOR = '1'; // a terminal, but plain text
  try {
    await runLatency(opts, { stdout, stderr: capture() });
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
  const first = /\nsize  spinThenPark\n────  ────────────\n 8 B +[\d.,]+\n/.source;
  const second = /\nsize  clone\n────  ─────\n 8 B +[\d.,]+\n/.source;
  // then the end, or a note that the machine was busy or changed state, wrapped at 24 columns too
  const notes = /(\nNote: [^]*)?$/.source;
  const text = stdout.text();
  assert.match(text, new RegExp(first + second + notes));
  assert.ok(text.split('\n').every((line) => line.length <= 24), text);
});

test('a --csv file that cannot be written after the run: the results are printed first, then the error says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shmcomm-csv-'));
  const csv = join(dir, 'rows.csv');
  const opts = parseLatencyArgs([...TINY, '--modes', 'spin', '--json', '--csv', csv]);
  rmSync(dir, { recursive: true }); // checked at parse time, gone by the end of the run
  const stdout = capture();
  const error = await runLatency(opts, { stdout, stderr: capture() }).then(() => undefined, (e: unknown) => e as Error);
  assert.instance(error, OutputError);
  assert.is(error!.message,
    `Cannot write the \`--csv\` file ${csv} (ENOENT: no such file or directory, open '${csv}'); the results are above`);
  const doc = JSON.parse(stdout.text()) as { rows: unknown[] };
  assert.is(doc.rows.length, 3); // TINY's three sizes
});

test('--csv /dev/stdout into a file: the rows go after the table, which the CSV once wiped out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shmcomm-stdout-'));
  try {
    const file = join(dir, 'out.txt');
    const stdout = openSync(file, 'w'); // `> out.txt`
    const bin = fileURLToPath(new URL('../../bin/shmcomm.js', import.meta.url));
    const run = spawnSync(process.execPath, [
      bin, 'bench', 'latency', '--modes', 'clone', '--min', '8', '--max', '8', '--iterations', '5', '--warmup', '0',
      '--csv', '/dev/stdout',
    ], { stdio: ['ignore', stdout, 'pipe'], encoding: 'utf8', timeout: 60_000 });
    closeSync(stdout);
    assert.is(run.status, 0, run.stderr);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('shmcomm bench latency · Node '), text);
    assert.match(text, /\n\nOne-way latency, µs \(half a round trip; lower is better\)\nsize +clone\n/);
    assert.match(text, /\nmode,bytes,microseconds,roundTrips,seconds\nclone,8,[\d.e-]+,5,[\d.e-]+\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--iterations N times exactly N round trips per size', async () => {
  const rows = await measureLatency(parseLatencyArgs([
    '--min', '8', '--max', '64', '--points', '2', '--iterations', '45', '--warmup', '0', '--modes', 'park,async,transfer,onmessage,process',
  ]));
  assert.is(rows.length, 5 * 2);
  for (const row of rows) assert.is(row.roundTrips, 45, JSON.stringify(row));
  // The JSON's settings say 45 round trips, and no time per size, which was not used.
  const stdout = capture();
  await runLatency(parseLatencyArgs(['--min', '8', '--max', '8', '--iterations', '45', '--modes', 'spin', '--json']), { stdout, stderr: capture() });
  const { settings } = JSON.parse(stdout.text()) as { settings: Record<string, unknown> };
  assert.is(settings.iterations, 45);
  assert.not.ok('seconds' in settings, JSON.stringify(settings));
  assert.equal(childPids(), []);
});

test("the line probe looks before the first mode and after the last, once more at the start when it finds the machine busy", async () => {
  const readings = [3746.58, 0.31, 0.09];
  const seen: string[] = [];
  const rows = await measureLatency(
    parseLatencyArgs(['--min', '8', '--max', '8', '--iterations', '5', '--warmup', '0', '--modes', 'spin,clone']),
    {
      onProbe: (when) => seen.push(`probe ${when}`),
      onLine: (when, micros) => seen.push(`${when} ${micros}`),
      onStart: (mode) => seen.push(mode),
    },
    async () => readings.shift()!,
  );
  // The progress line says what runs before the first size and after the last: the probe, seconds on a busy machine
  assert.equal(seen, ['probe start', 'start 0.31', 'spin', 'clone', 'probe end', 'end 0.09']);
  assert.is(probeProgress('latency', 'start'), "latency: probing the machine's state");
  assert.is(probeProgress('latency', 'end'), "latency: probing the machine's state at the end");
  assert.is(rows.length, 2);
  assert.is(describeLine(0.31), 'a line crosses in 0.31 µs: they share no cache');
  assert.is(describeLine(0.05), 'a line crosses in 0.05 µs: the threads share a cache');
  assert.is(describeLine(0.2496), 'a line crosses in 0.249 µs: the threads share a cache', 'below 0.25, said so');
  assert.is(describeLine(0.2549), 'a line crosses in 0.25 µs: they share no cache');
  assert.is(describeLine(0.9999), 'a line crosses in 0.999 µs: they share no cache');
  assert.is(describeLine(2.5), 'the line probe took 2.50 µs a bounce, at a second try too: its threads took turns, the machine is busy');
  // What the note says of a latency run, whose modes ran one after another, not by turns
  assert.is(stateChangeNote([{ when: 'at the start', lineMicros: 0.31 }, { when: 'at the end', lineMicros: 0.09 }], 'nor do modes, which ran one after another'),
    'Note: the machine changed state during the run (a cache line between the threads: 0.31 µs at the start, 0.09 µs ' +
    'at the end): sizes measured in different states do not compare; nor do modes, which ran one after another ' +
    '(docs/PERFORMANCE.md, "this machine has two states").');
});

test('echoes that come back wrong: the error counts them of every echo checked, the warm-up\'s too', async () => {
  // No warm-up time: one warm-up trip, then --iterations 10 timed ones. Every echo of 8 B is wrong, half of 64 B's.
  const job: LatencyJob = {
    role: 'ping', mode: 'spin', sizes: [8, 64], iterations: 10, seconds: 0.2, warmupSeconds: 0,
    control: createControl(),
  };
  let bytes = 0;
  const reports: LatencyReport[] = [];
  const endpoint = {
    begin: (size: number) => { bytes = size; },
    roundTrip: (seq: number) => bytes === 64 && seq % 2 === 1,
    finish: () => {},
  };
  await drive(job, endpoint, (report) => reports.push(report));
  const results = reports.filter((report) => report.type === 'result');
  const counts = results.map(({ bytes, roundTrips, failures, checked }) => ({ bytes, roundTrips, failures, checked }));
  assert.equal(counts, [
    { bytes: 8, roundTrips: 10, failures: 11, checked: 11 },
    { bytes: 64, roundTrips: 10, failures: 6, checked: 11 }, // seq 0, 2, ..., 10
  ]);
  assert.is(echoError('spin', results[0]!), 'spin: 11 of 11 echoes of 8 B came back wrong');
  assert.is(echoError('spin', results[1]!), 'spin: 6 of 11 echoes of 64 B came back wrong');
});

test('ring sizes hold the largest message', () => {
  assert.is(ringBytesFor(8), 4096);
  assert.is(ringBytesFor(2032), 4096);
  assert.is(ringBytesFor(2033), 8192);
  assert.is(ringBytesFor(65536), 262144);
  const tooLarge = errorOf(() => ringBytesFor(2 ** 30));
  assert.instance(tooLarge, RangeError);
  assert.is(tooLarge.message,
    'Expected latency messages of at most 536870896 bytes (half a 1 GiB ring, less a frame header), got 1073741824');
});

test.run();
