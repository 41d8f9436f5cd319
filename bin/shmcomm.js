#!/usr/bin/env node
// The command line lives in src/cli.ts; this file only starts it.
import { spawnSync } from 'node:child_process';
import { environmentWithoutRepMovsb, host } from '../dist/src/glibc.js';

// glibc reads GLIBC_TUNABLES only when a process starts, and on AMD CPUs its memcpy should be started without
// `rep movsb` (src/glibc.ts says why): where that applies, run this command again in a process started so.
const tuned = environmentWithoutRepMovsb(process.env, host());
if (tuned !== null) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: tuned });
  if (child.error === undefined) {
    if (child.signal !== null) process.kill(process.pid, child.signal); // ended by a signal: end so too
    process.exit(child.status ?? 1);
  }
  // It could not start: run here, with glibc as it is.
}

// `shmcomm bench | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const { main } = await import('../dist/src/cli.js');
process.exitCode = await main(process.argv.slice(2));
