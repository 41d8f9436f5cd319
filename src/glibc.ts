/**
 * glibc's `memcpy` on AMD CPUs, and why the `shmcomm` command starts itself a second time.
 *
 * Every large copy shmcomm makes is C's `memcpy` (src/copy.ts). From 2,112 bytes up to about the size of a core's
 * L2, glibc's `memcpy` copies with the `rep movsb` instruction, and on AMD's Zen cores that instruction slows down
 * when the destination lies a few bytes after the source in their pages: when `(destination - source) % 4096` is
 * 1 to 63 (glibc bug 30994; glibc 2.40 stopped using `rep movsb` on AMD, Debian 12 ships 2.36). On the Zen 4 VM of
 * docs/PERFORMANCE.md a copy of 128 KiB runs at 2.2 to 3.4 GB/s when the destination is 8 bytes ahead, 25 to 33 GB/s
 * when it is 16 to 56 ahead, and 45 to 55 GB/s otherwise (`node docs/probes/rep-movsb.mjs`). Where two buffers lie
 * depends on malloc and on where a message falls in a ring, so a benchmark met the slow case at some sizes of some
 * runs and not in others, the ceiling (the `memcpy` mode) as much as the modes it is compared with.
 *
 * glibc reads its tunables once, when a process starts, from the environment variable GLIBC_TUNABLES: nothing a
 * running Node.js program does can change how its `memcpy` copies. So the `shmcomm` command (bin/shmcomm.js) runs
 * itself again with `glibc.cpu.x86_rep_movsb_threshold` set beyond any copy it makes, which leaves glibc its vector
 * loops at every size, as newer glibc does on AMD by itself; the same probe then gives 49 to 55 GB/s at every offset.
 * SHMCOMM_REP_MOVSB=1 keeps glibc's own choice. A program of yours that uses the library can be started the same way:
 *
 *     GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824 node app.js
 */
import { cpuVendor, readCpuinfo } from './cpuinfo.js';

/**
 * The glibc tunable that sets the smallest copy `memcpy` makes with `rep movsb`, at 1 GiB: beyond the L2-sized
 * copies glibc would make with it, so it makes none.
 */
export const NO_REP_MOVSB = 'glibc.cpu.x86_rep_movsb_threshold=1073741824';
/** The environment variable that keeps glibc's own choice: `SHMCOMM_REP_MOVSB=1`. */
export const KEEP_REP_MOVSB = 'SHMCOMM_REP_MOVSB';

/** What decides whether a process's `memcpy` can meet the slow case: the system, its C library, the CPU's maker. */
export interface Host {
  platform: string;
  arch: string;
  /** glibc's version, `2.36`, or undefined where the C library is another (musl) or there is none (Windows). */
  glibc: string | undefined;
  /** `AuthenticAMD`, `GenuineIntel`, ... from Linux's `/proc/cpuinfo`; '' where there is none. */
  cpuVendor: string;
}

export function host(): Host {
  // Node's diagnostic report names the C library it runs on, as detect-libc reads it.
  const { header } = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
  return { platform: process.platform, arch: process.arch, glibc: header.glibcVersionRuntime, cpuVendor: cpuVendor(readCpuinfo()) };
}

/** Whether this host's glibc has the tunable (2.33 and later) and copies with `rep movsb` on an AMD CPU. */
function meetsBug30994(h: Host): boolean {
  if (h.platform !== 'linux' || h.arch !== 'x64' || h.glibc === undefined || h.cpuVendor !== 'AuthenticAMD') return false;
  const [major = 0, minor = 0] = h.glibc.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 33);
}

/** The threshold GLIBC_TUNABLES sets (`glibc.cpu.x86_rep_movsb_threshold=4096` gives '4096'), if it sets one. */
function thresholdSet(env: NodeJS.ProcessEnv): string | undefined {
  return /(?:^|:)glibc\.cpu\.x86_rep_movsb_threshold=(\w+)/.exec(env.GLIBC_TUNABLES ?? '')?.[1];
}

/**
 * The environment to start this process again with, so that glibc's `memcpy` never uses `rep movsb`: `env` with
 * NO_REP_MOVSB added to GLIBC_TUNABLES (after any tunables already there). Null when there is nothing to do: the
 * host does not meet the bug, the threshold is set already (by the user, or this is the second start), or
 * SHMCOMM_REP_MOVSB=1 asks to keep glibc's choice.
 */
export function environmentWithoutRepMovsb(env: NodeJS.ProcessEnv, h: Host): NodeJS.ProcessEnv | null {
  if (!meetsBug30994(h) || env[KEEP_REP_MOVSB] === '1' || thresholdSet(env) !== undefined) return null;
  const tunables = env.GLIBC_TUNABLES ?? '';
  return { ...env, GLIBC_TUNABLES: tunables === '' ? NO_REP_MOVSB : `${tunables}:${NO_REP_MOVSB}` };
}

/**
 * What the benchmarks' headers and JSON say of the copies: `glibc 2.36, rep movsb off` when GLIBC_TUNABLES sets the
 * threshold at 1 GiB or more, `glibc 2.36, rep movsb from 4096 B` when lower, `glibc 2.36, rep movsb on` on an AMD
 * CPU where it is not set, `glibc 2.36` elsewhere, and '' without glibc.
 */
export function memcpyText(env: NodeJS.ProcessEnv, h: Host): string {
  if (h.glibc === undefined) return '';
  const threshold = thresholdSet(env);
  if (threshold !== undefined) {
    // glibc reads decimal or 0x hexadecimal, as Number() does
    return Number(threshold) >= 1 << 30 ? `glibc ${h.glibc}, rep movsb off` : `glibc ${h.glibc}, rep movsb from ${threshold} B`;
  }
  return meetsBug30994(h) ? `glibc ${h.glibc}, rep movsb on` : `glibc ${h.glibc}`;
}
