/**
 * glibc's `memcpy` on AMD CPUs, and why the `shmcomm` command starts itself a second time.
 *
 * Every large copy shmcomm makes is C's `memcpy` (src/copy.ts). From 2,112 bytes up to about the size of a core's
 * L2, glibc's `memcpy` copies with the `rep movsb` instruction, and on AMD's Zen cores that instruction slows down
 * when the destination lies a few bytes after the source in their pages: when `(destination - source) % 4096` is
 * 1 to 63 (glibc bug 30994, which later glibc releases answered by not using `rep movsb` on AMD; Debian 12 ships
 * 2.36). On the Zen 4 VM of docs/PERFORMANCE.md a copy of 128 KiB runs at 2.9 to 3.5 GB/s when the destination is 8
 * bytes ahead, 28 to 41 GB/s at some other distances under 64, and up to 56 GB/s elsewhere (`node
 * docs/probes/rep-movsb.mjs`). Where two buffers lie depends on malloc and on where a message falls in a ring, so a
 * benchmark met the slow case at some sizes of some runs and not in others.
 *
 * glibc reads its tunables once, when a process starts, from the environment variable GLIBC_TUNABLES: nothing a
 * running Node.js program does can change how its `memcpy` copies. So the `shmcomm` command (bin/shmcomm.js) runs
 * itself again with `glibc.cpu.x86_rep_movsb_threshold` set beyond any copy it makes, which leaves glibc its vector
 * loops at every size; the same probe then gives 43 to 52 GB/s at every offset. SHMCOMM_REP_MOVSB=1 keeps glibc's
 * own choice. A program of yours that uses the library can do what the command does with `runWithoutRepMovsb()`,
 * or be started so:
 *
 *     GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824 node app.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { cpuVendor, readCpuinfo } from './cpuinfo.js';

/**
 * The glibc tunable that sets the smallest copy `memcpy` makes with `rep movsb`, at 1 GiB: beyond the L2-sized
 * copies glibc would make with it, so it makes none.
 */
export const NO_REP_MOVSB = 'glibc.cpu.x86_rep_movsb_threshold=1073741824';
/** The environment variable that keeps glibc's own choice: `SHMCOMM_REP_MOVSB=1`. */
export const KEEP_REP_MOVSB = 'SHMCOMM_REP_MOVSB';
/** The environment variable that marks the second process, set by `runWithoutRepMovsb()` when it starts one. */
export const SECOND_PROCESS = 'SHMCOMM_SECOND_PROCESS';

/** What decides whether a process's `memcpy` can meet the slow case: the system, its C library, the CPU's maker. */
export interface Host {
  platform: string;
  arch: string;
  /** glibc's version, `2.36`, or undefined where the C library is another (musl) or there is none (Windows). */
  glibc: string | undefined;
  /** `AuthenticAMD`, `GenuineIntel`, ... from Linux's `/proc/cpuinfo`; '' where there is none. */
  cpuVendor: string;
}

let thisHost: Host | undefined;

/** This process's host, read once (Node's diagnostic report, which names the C library, takes a few ms). */
export function host(): Host {
  if (thisHost === undefined) {
    const { header } = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
    thisHost = { platform: process.platform, arch: process.arch, glibc: header.glibcVersionRuntime, cpuVendor: cpuVendor(readCpuinfo()) };
  }
  return thisHost;
}

/** Whether this host's glibc has the tunable (2.33 and later) and runs on an AMD CPU, where `rep movsb` can be slow. */
function meetsBug30994(h: Host): boolean {
  if (h.platform !== 'linux' || h.arch !== 'x64' || h.glibc === undefined || h.cpuVendor !== 'AuthenticAMD') return false;
  const [major = 0, minor = 0] = h.glibc.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 33);
}

/**
 * The threshold GLIBC_TUNABLES sets, in bytes, if it sets one: the last setting counts, as in glibc, and glibc's
 * numbers are C's (`0x1000` hexadecimal, `010000` octal, `4096` decimal). NaN for a value glibc would not read.
 */
export function thresholdSet(env: NodeJS.ProcessEnv): number | undefined {
  const settings = [...(env.GLIBC_TUNABLES ?? '').matchAll(/(?:^|:)glibc\.cpu\.x86_rep_movsb_threshold=([^:]*)/g)];
  const text = settings.at(-1)?.[1];
  if (text === undefined) return undefined;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^0[0-7]*$/.test(text)) return parseInt(text, 8);
  return /^[1-9]\d*$/.test(text) ? Number(text) : NaN;
}

/**
 * The environment to start this process again with, so that glibc's `memcpy` never uses `rep movsb`: `env` with
 * NO_REP_MOVSB added to GLIBC_TUNABLES (after any tunables already there) and SECOND_PROCESS set. Null when there
 * is nothing to do: the host does not meet the bug, the threshold is set already (by the user, or this is the second
 * process), or SHMCOMM_REP_MOVSB=1 asks to keep glibc's choice.
 */
export function environmentWithoutRepMovsb(env: NodeJS.ProcessEnv, h: Host): NodeJS.ProcessEnv | null {
  if (!meetsBug30994(h) || env[KEEP_REP_MOVSB] === '1' || thresholdSet(env) !== undefined) return null;
  const tunables = env.GLIBC_TUNABLES ?? '';
  return { ...env, GLIBC_TUNABLES: tunables === '' ? NO_REP_MOVSB : `${tunables}:${NO_REP_MOVSB}`, [SECOND_PROCESS]: '1' };
}

/**
 * What the benchmarks' headers and JSON say of the copies: `glibc 2.36, rep movsb off` when GLIBC_TUNABLES sets the
 * threshold at 1 GiB or more, `glibc 2.36, rep movsb from 4096 B` when lower, `glibc 2.36` when it is not set (glibc
 * then chooses), and '' without glibc.
 */
export function memcpyText(env: NodeJS.ProcessEnv, h: Host): string {
  if (h.glibc === undefined) return '';
  const threshold = thresholdSet(env);
  if (threshold === undefined || Number.isNaN(threshold)) return `glibc ${h.glibc}`;
  return threshold >= 1 << 30 ? `glibc ${h.glibc}, rep movsb off` : `glibc ${h.glibc}, rep movsb from ${threshold} B`;
}

/**
 * Runs this program again, in a second process whose glibc `memcpy` never uses `rep movsb`, where that helps (an
 * AMD CPU under glibc 2.33 or later, on Linux x64), and ends as that process ends: with its exit status, or of the
 * signal it died of. Await it first thing in a program's main thread:
 *
 *     await runWithoutRepMovsb(); // returns here at once, or in the second process; the first only waits
 *
 * It returns at once (and the program goes on in this process) in a worker thread, in the second process itself,
 * where nothing is to be gained or SHMCOMM_REP_MOVSB=1 asks to keep glibc's choice, where this process could not be
 * started again as it was (canRunAgain below), and if the second process cannot start. Meanwhile the first process
 * passes SIGINT, SIGTERM and SIGHUP on, and the second ends if the first is killed outright.
 */
export async function runWithoutRepMovsb(): Promise<void> {
  if (!isMainThread) return;
  if (process.env[SECOND_PROCESS] === '1') return endWithFirstProcess();
  if (!canRunAgain()) return;
  const env = environmentWithoutRepMovsb(process.env, host());
  if (env === null) return;
  const status = await runAgain(env);
  if (status === undefined) return; // it could not start: go on here, with glibc as it is
  process.exit(status);
}

/**
 * Whether a second process would run this program as this one does: it has a script file to run again (not `node -e`
 * or `-p`, nor a script read from stdin, which the first process has read already), no debugger (`--inspect`, on the
 * command line or in NODE_OPTIONS, would stay with the first process, which only waits), and no IPC channel to a parent
 * that forked it (`process.send` would go to the first process, which would drop it).
 */
function canRunAgain(): boolean {
  const script = process.argv[1];
  if (script === undefined || script === '-' || process.channel !== undefined) return false;
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const evaluates = flags.some((flag) => ['-e', '-p', '-pe', '-ep'].includes(flag) || /^--(eval|print)(=|$)/.test(flag));
  return !evaluates && !flags.some((flag) => flag.startsWith('--inspect'));
}

/**
 * The second process: ends with the first, even when it was killed outright (SIGKILL) and could pass nothing on (once
 * its event loop turns: a program busy in a loop ends when it next waits). Its marker goes: a program it starts is no
 * second process (GLIBC_TUNABLES, which it inherits, keeps that one from starting itself again).
 */
function endWithFirstProcess(): void {
  delete process.env[SECOND_PROCESS];
  if (process.channel === undefined) return;
  process.channel.unref(); // the channel must not keep this process alive once its work is done
  process.once('disconnect', () => process.exit(1));
  if (!process.connected) process.exit(1); // the first process died before this listener was there
}

/**
 * Runs this program again with `env`, passing SIGINT, SIGTERM and SIGHUP on; resolves to its exit status, after
 * dying of the signal it died of, if any. Resolves to undefined if it could not start: spawn() reports some failures
 * with an 'error' event (a missing executable: ENOENT) and throws the others (an environment string over Linux's 128
 * KiB: E2BIG; ENOMEM).
 */
function runAgain(env: NodeJS.ProcessEnv): Promise<number | undefined> {
  return new Promise((resolve) => {
    const args = [...process.execArgv, ...process.argv.slice(1)];
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, { env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    } catch {
      resolve(undefined);
      return;
    }
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const forward = (signal: NodeJS.Signals): boolean => child.kill(signal);
    for (const signal of signals) process.on(signal, forward);
    const settle = (): void => {
      for (const signal of signals) process.off(signal, forward);
    };
    child.on('error', () => {
      if (child.pid !== undefined) return; // a signal that could not be passed on: the second process still runs
      settle();
      resolve(undefined);
    });
    child.once('exit', (code, signal) => {
      settle();
      if (signal !== null) process.kill(process.pid, signal); // die of it too, where it is deadly
      resolve(code ?? 1);
    });
  });
}
