/**
 * glibc's `memcpy` on AMD (src/glibc.ts): which hosts the `shmcomm` command starts again without `rep movsb`, the
 * environment it starts them with, what the benchmarks say of it, and the command itself doing so, end to end.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { childPidsOf, within } from './helpers.js';
import { cpuVendor } from '../src/cpuinfo.js';
import { environmentWithoutRepMovsb, host, memcpyText, NO_REP_MOVSB, thresholdSet, type Host } from '../src/glibc.js';

const ZEN: Host = { platform: 'linux', arch: 'x64', glibc: '2.36', cpuVendor: 'AuthenticAMD' };
const BIN = fileURLToPath(new URL('../../bin/shmcomm.js', import.meta.url));

/** This process's environment without the variables that decide on a second process: as a user's shell has it. */
function freshEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  delete env.SHMCOMM_REP_MOVSB;
  delete env.SHMCOMM_SECOND_PROCESS;
  return env;
}

test('an AMD CPU under glibc 2.33 or later is started again with rep movsb off, after the tunables already set', () => {
  assert.equal(environmentWithoutRepMovsb({ PATH: '/bin' }, ZEN), {
    PATH: '/bin',
    GLIBC_TUNABLES: NO_REP_MOVSB,
    SHMCOMM_SECOND_PROCESS: '1',
  });
  assert.is(NO_REP_MOVSB, 'glibc.cpu.x86_rep_movsb_threshold=1073741824');
  assert.equal(environmentWithoutRepMovsb({ GLIBC_TUNABLES: 'glibc.malloc.check=3' }, ZEN), {
    GLIBC_TUNABLES: `glibc.malloc.check=3:${NO_REP_MOVSB}`,
    SHMCOMM_SECOND_PROCESS: '1',
  });
  for (const glibc of ['2.33', '3.0']) {
    assert.equal(environmentWithoutRepMovsb({}, { ...ZEN, glibc }), { GLIBC_TUNABLES: NO_REP_MOVSB, SHMCOMM_SECOND_PROCESS: '1' }, glibc);
  }
});

test('nothing is started again elsewhere, when the threshold is set already, or with SHMCOMM_REP_MOVSB=1', () => {
  const none = [
    { ...ZEN, cpuVendor: 'GenuineIntel' },
    { ...ZEN, cpuVendor: '' },
    { ...ZEN, glibc: undefined }, // musl
    { ...ZEN, glibc: '2.32' }, // no such tunable yet
    { ...ZEN, arch: 'arm64' },
    { ...ZEN, platform: 'darwin' },
  ];
  for (const h of none) assert.is(environmentWithoutRepMovsb({}, h), null, JSON.stringify(h));
  // The second start (or the user) has set it: whatever the value, it stays.
  assert.is(environmentWithoutRepMovsb({ GLIBC_TUNABLES: NO_REP_MOVSB }, ZEN), null);
  assert.is(environmentWithoutRepMovsb({ GLIBC_TUNABLES: 'glibc.malloc.check=3:glibc.cpu.x86_rep_movsb_threshold=0x1000' }, ZEN), null);
  assert.is(environmentWithoutRepMovsb({ SHMCOMM_REP_MOVSB: '1' }, ZEN), null);
  // Another tunable whose name ends the same way is not this one.
  assert.equal(environmentWithoutRepMovsb({ GLIBC_TUNABLES: 'glibc.cpu.x86_rep_movsb_stop_threshold=1' }, ZEN), {
    GLIBC_TUNABLES: `glibc.cpu.x86_rep_movsb_stop_threshold=1:${NO_REP_MOVSB}`,
    SHMCOMM_SECOND_PROCESS: '1',
  });
});

test('thresholdSet reads the last setting as glibc does: hexadecimal, octal, decimal', () => {
  const set = (value: string): number | undefined => thresholdSet({ GLIBC_TUNABLES: `glibc.cpu.x86_rep_movsb_threshold=${value}` });
  assert.is(set('4096'), 4096);
  assert.is(set('0x1000'), 4096);
  assert.is(set('0X40000000'), 1 << 30);
  assert.is(set('010000'), 4096);
  assert.is(set('0'), 0);
  assert.ok(Number.isNaN(set('4k')!));
  assert.ok(Number.isNaN(set('')!));
  assert.is(thresholdSet({}), undefined);
  assert.is(thresholdSet({ GLIBC_TUNABLES: 'glibc.cpu.x86_rep_movsb_stop_threshold=8192' }), undefined);
  const twice = 'glibc.cpu.x86_rep_movsb_threshold=4096:glibc.malloc.check=3:glibc.cpu.x86_rep_movsb_threshold=0x2000';
  assert.is(thresholdSet({ GLIBC_TUNABLES: twice }), 8192);
});

test('memcpyText says how the copies were made', () => {
  assert.is(memcpyText({ GLIBC_TUNABLES: NO_REP_MOVSB }, ZEN), 'glibc 2.36, rep movsb off');
  assert.is(memcpyText({ GLIBC_TUNABLES: 'glibc.cpu.x86_rep_movsb_threshold=0x40000000' }, ZEN), 'glibc 2.36, rep movsb off');
  assert.is(memcpyText({ GLIBC_TUNABLES: 'a.b=1:glibc.cpu.x86_rep_movsb_threshold=4096' }, ZEN), 'glibc 2.36, rep movsb from 4096 B');
  assert.is(memcpyText({ GLIBC_TUNABLES: 'glibc.cpu.x86_rep_movsb_threshold=0x1000' }, ZEN), 'glibc 2.36, rep movsb from 4096 B');
  assert.is(memcpyText({}, ZEN), 'glibc 2.36'); // glibc chooses, as its version does
  assert.is(memcpyText({ GLIBC_TUNABLES: 'glibc.cpu.x86_rep_movsb_threshold=4k' }, ZEN), 'glibc 2.36');
  assert.is(memcpyText({}, { ...ZEN, cpuVendor: 'GenuineIntel' }), 'glibc 2.36');
  assert.is(memcpyText({ GLIBC_TUNABLES: NO_REP_MOVSB }, { ...ZEN, glibc: undefined }), '');
});

test('glibc itself reads NO_REP_MOVSB as a threshold of 1 GiB (its loader lists the tunables it took)', () => {
  const loader = '/lib64/ld-linux-x86-64.so.2';
  assert.is(thresholdSet({ GLIBC_TUNABLES: NO_REP_MOVSB }), 1 << 30);
  if (host().glibc === undefined || !existsSync(loader)) return; // no x64 glibc here to ask
  const listed = spawnSync(loader, ['--list-tunables'], { env: { GLIBC_TUNABLES: NO_REP_MOVSB }, encoding: 'utf8', timeout: 10_000 });
  assert.is(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, /^glibc\.cpu\.x86_rep_movsb_threshold: 0x40000000 \(min: /m);
});

test('cpuVendor reads the first processor\'s vendor_id', () => {
  assert.is(cpuVendor('processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n\nprocessor\t: 1\nvendor_id\t: Other\n'), 'AuthenticAMD');
  assert.is(cpuVendor('processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n'), '');
});

/** Runs the command on one 8-byte size of the memcpy mode with `env`; its status, its JSON's `memcpy`, its stderr. */
function runBench(env: NodeJS.ProcessEnv, ...extra: string[]): { status: number | null; memcpy: unknown; stderr: string } {
  const args = ['bench', 'bandwidth', '--json', '--modes', 'memcpy', '--min', '8', '--max', '8', '--time', '0.01', '--warmup', '0.005'];
  const child = spawnSync(process.execPath, [BIN, ...args, ...extra], { env, encoding: 'utf8', timeout: 60_000 });
  const memcpy = child.status === 0 ? (JSON.parse(child.stdout) as { memcpy: unknown }).memcpy : undefined;
  return { status: child.status, memcpy, stderr: child.stderr };
}

test('the command runs in a process started with the tunable where it applies, and says so in its JSON', () => {
  const h = host();
  const env = freshEnv();
  const tuned = runBench(env);
  assert.is(tuned.status, 0, tuned.stderr);
  assert.is(tuned.memcpy, memcpyText(environmentWithoutRepMovsb(env, h) ?? env, h));
  if (environmentWithoutRepMovsb(env, h) !== null) assert.match(String(tuned.memcpy), /, rep movsb off$/);

  const kept = runBench({ ...env, SHMCOMM_REP_MOVSB: '1' });
  assert.is(kept.status, 0, kept.stderr);
  assert.is(kept.memcpy, memcpyText(env, h));
  if (h.glibc !== undefined) assert.is(kept.memcpy, `glibc ${h.glibc}`);

  // The second process's exit status and messages are the command's, said once.
  const wrong = runBench(env, '--points', 'many');
  assert.is(wrong.status, 2);
  assert.is(wrong.stderr,
    'shmcomm: Expected `--points` to be an integer from 2 to 200, got "many"\n\nSee shmcomm bench bandwidth --help.\n');
});

const RERUN_PROGRAM = fileURLToPath(new URL('./fixtures/rerun-program.js', import.meta.url));

/** What test/fixtures/rerun-program.ts prints. */
interface Said {
  pid: number;
  second: string | null;
  tunables: string | null;
  workerSawChildren: number;
  childSawMarker: string;
}

test("runWithoutRepMovsb: a program goes on in a second process started so, with its exit status; a worker's call returns", () => {
  const program = RERUN_PROGRAM;
  const env = freshEnv();
  const run = (extra: NodeJS.ProcessEnv) => {
    const child = spawnSync(process.execPath, [program], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });
    assert.is(child.status, 7, child.stderr);
    const lines = child.stdout.trim().split('\n');
    assert.is(lines.length, 1, child.stdout); // the program ran once, in one process
    return { pid: child.pid, said: JSON.parse(lines[0]!) as Said };
  };
  const twice = environmentWithoutRepMovsb(env, host()) !== null;
  const { pid, said } = run({});
  assert.is(said.workerSawChildren, 0);
  assert.is(said.childSawMarker, 'unset', 'a process the program starts is no second process');
  if (twice) {
    assert.is.not(said.pid, pid);
    assert.is(said.second, '1');
    assert.is(said.tunables, NO_REP_MOVSB);
  } else {
    assert.equal([said.pid, said.second, said.tunables], [pid, null, null]);
  }
  const kept = run({ SHMCOMM_REP_MOVSB: '1' });
  assert.equal([kept.said.pid, kept.said.second, kept.said.tunables], [kept.pid, null, null]);
});

test('runWithoutRepMovsb goes on in this process where the second cannot start, even when spawn() throws', () => {
  // Linux takes no environment string over 128 KiB (MAX_ARG_STRLEN): GLIBC_TUNABLES of 131,040 bytes starts this
  // process, and with NO_REP_MOVSB added (46 more) not the second: spawn() throws E2BIG, where a missing executable
  // would emit 'error' instead. Unknown tunables glibc skips.
  const tunables = `glibc.malloc.check=3:${'x'.repeat(131_040 - 21)}`;
  assert.is(tunables.length, 131_040);
  const env = { ...freshEnv(), GLIBC_TUNABLES: tunables };
  const child = spawnSync(process.execPath, [RERUN_PROGRAM], { env, encoding: 'utf8', timeout: 60_000 });
  assert.is(child.stderr, '');
  assert.is(child.status, 7);
  const said = JSON.parse(child.stdout) as Said;
  assert.equal([said.pid, said.second, said.tunables === tunables], [child.pid, null, true]);
});

test('runWithoutRepMovsb stays in this process where a second would not run the program as it was', async () => {
  const env = freshEnv();
  // Forked, with an IPC channel to its parent: its messages must reach the parent, so it goes on where it was started.
  const forked = fork(RERUN_PROGRAM, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  try {
    const exited = new Promise<number | null>((resolve) => forked.once('exit', resolve));
    const sent = await within(Promise.race([
      new Promise<{ pid: number }>((resolve) => forked.once('message', (message) => resolve(message as { pid: number }))),
      exited.then(() => undefined),
    ]), 60_000, 'the forked program');
    assert.equal(sent, { pid: forked.pid }, 'the forked program sent its pid from the process its parent started');
    assert.is(await within(exited, 60_000, "the forked program's exit"), 7);
  } finally {
    forked.kill('SIGKILL'); // nothing, once it has exited
  }
  // A script from -e or from stdin: the second process would not get it (stdin is read already).
  const library = JSON.stringify(new URL('../src/index.js', import.meta.url).href);
  const code = `import(${library}).then(async (m) => { await m.runWithoutRepMovsb(); console.log(process.pid); })`;
  const evaluated = spawnSync(process.execPath, ['-e', code, 'an-argument'], { env, encoding: 'utf8', timeout: 60_000 });
  assert.is(evaluated.stdout.trim(), String(evaluated.pid), evaluated.stderr);
  const piped = spawnSync(process.execPath, ['-', 'an-argument'], { env, input: code, encoding: 'utf8', timeout: 60_000 });
  assert.is(piped.stdout.trim(), String(piped.pid), piped.stderr);
  // --inspect in NODE_OPTIONS: the debugger is the first process's (port 0: any free one)
  const inspected = spawnSync(process.execPath, [RERUN_PROGRAM], {
    env: { ...env, NODE_OPTIONS: '--inspect=127.0.0.1:0' }, encoding: 'utf8', timeout: 60_000,
  });
  assert.is(inspected.status, 7, inspected.stderr);
  assert.is((JSON.parse(inspected.stdout.trim()) as Said).pid, inspected.pid);
});

/** Polls `check` every 50 ms until it is true or `ms` have passed; returns its last answer. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; !check(); ) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Whether `pid` runs: a zombie (ended, not yet reaped by whoever adopted it) counts as ended. */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** Starts a 60-second benchmark through the command; resolves a second later, with the second process, if any. */
async function startLongBench(): Promise<{ command: ChildProcess; second: number | undefined; exited: Promise<NodeJS.Signals | null> }> {
  const env = freshEnv();
  const command = spawn(process.execPath, [BIN, 'bench', 'bandwidth', '--modes', 'memcpy', '--min', '8', '--max', '8', '--time', '60'], {
    env,
    stdio: 'ignore',
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => command.once('exit', (_code, signal) => resolve(signal)));
  const twice = environmentWithoutRepMovsb(env, host()) !== null;
  try {
    if (twice) assert.ok(await eventually(() => childPidsOf(command.pid!).length > 0, 30_000), 'no second process');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // its benchmark under way
    const children = childPidsOf(command.pid!);
    assert.is(children.length, twice ? 1 : 0, `second processes: ${children.join(', ')}`);
    if (!twice) console.log('  no second process on this host (not AMD with glibc 2.33+): only the command is checked');
    return { command, second: children[0], exited };
  } catch (error) {
    for (const pid of childPidsOf(command.pid!)) process.kill(pid, 'SIGKILL'); // neither outlives a failed start
    command.kill('SIGKILL');
    throw error;
  }
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${signal} to the command ends the second process too, and the command dies of it`, async () => {
    const { command, second, exited } = await startLongBench();
    try {
      command.kill(signal);
      assert.is(await within(exited, 60_000, `the command after ${signal}`), signal);
      // The command passed the signal on and waited for the second process to end (and reaped it) before it died.
      if (second !== undefined) assert.not.ok(alive(second), `process ${second} outlived the command`);
    } finally {
      command.kill('SIGKILL');
      if (second !== undefined && alive(second)) process.kill(second, 'SIGKILL');
    }
  });
}

test('a command killed outright (SIGKILL) takes its second process with it', async () => {
  const { command, second, exited } = await startLongBench();
  try {
    command.kill('SIGKILL');
    assert.is(await within(exited, 60_000, 'the command after SIGKILL'), 'SIGKILL');
    if (second !== undefined) assert.ok(await eventually(() => !alive(second), 10_000), `process ${second} outlived the command`);
  } finally {
    if (second !== undefined && alive(second)) process.kill(second, 'SIGKILL');
  }
});

test.run();
