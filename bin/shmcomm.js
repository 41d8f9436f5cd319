#!/usr/bin/env node
// The command line lives in src/cli.ts; this file only starts it, in a second process where glibc needs one.
import { spawn } from 'node:child_process';
import { environmentWithoutRepMovsb, host } from '../dist/src/glibc.js';

const tuned = environmentWithoutRepMovsb(process.env, host());
if (tuned === null) {
  await start();
} else {
  // glibc reads GLIBC_TUNABLES only when a process starts, and on AMD CPUs its memcpy should run without `rep movsb`
  // (src/glibc.ts says why): run the command in a second process started so, and end as it ends.
  const status = await runAgain(tuned);
  if (status === undefined) await start(); // it could not start: run here, with glibc as it is
  else process.exitCode = status;
}

async function start() {
  if (process.channel !== undefined) {
    // Started by runAgain: end with the process that started us, even when it was killed outright (SIGKILL).
    process.channel.unref();
    process.once('disconnect', () => process.exit(1));
  }
  // `shmcomm bench | head` closes our stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const { main } = await import('../dist/src/cli.js');
  process.exitCode = await main(process.argv.slice(2));
}

/** Runs this command again with `env`; resolves to its exit status (after dying of the signal it died of, if any). */
function runAgain(env) {
  return new Promise((resolve) => {
    const args = [...process.execArgv, ...process.argv.slice(1)];
    const child = spawn(process.execPath, args, { env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const forward = (signal) => child.kill(signal);
    for (const signal of signals) process.on(signal, forward);
    child.once('error', () => resolve(undefined));
    child.once('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      if (signal !== null) process.kill(process.pid, signal); // die of it too, where it is deadly
      resolve(code ?? 1);
    });
  });
}
