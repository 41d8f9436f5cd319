/**
 * What Linux's `/proc/cpuinfo` tells of the CPU beyond `os.cpus()`: its maker and its generation. Both read the
 * first processor's lines; both give '' where there is no such line (another system, an ARM CPU).
 */
import { readFileSync } from 'node:fs';

/** `/proc/cpuinfo`, or '' where there is none to read. */
export function readCpuinfo(): string {
  if (process.platform !== 'linux') return '';
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/**
 * `family 25, model 17`. A cloud VM's CPU is often named only "AMD EPYC", which says nothing of its generation, and
 * two generations' figures are not comparable; these two numbers tell them apart.
 */
export function cpuGeneration(cpuinfo: string): string {
  const family = /^cpu family\s*:\s*(\d+)\s*$/m.exec(cpuinfo)?.[1];
  const model = /^model\s*:\s*(\d+)\s*$/m.exec(cpuinfo)?.[1];
  return family !== undefined && model !== undefined ? `family ${family}, model ${model}` : '';
}

/** The maker: `AuthenticAMD`, `GenuineIntel`. */
export function cpuVendor(cpuinfo: string): string {
  return /^vendor_id\s*:\s*(\S+)\s*$/m.exec(cpuinfo)?.[1] ?? '';
}
