#!/usr/bin/env node
// The command line lives in src/cli.ts; this file only starts it, in a second process where glibc needs one.
import { spawn } from 'node:child_process';
import { environmentWithoutRepMovsb, host, SECOND_PROCESS } from '../dist/src/glibc.js';

// glibc reads GLIBC_TUNABLES only when a process starts, and on AMD CPUs its memcpy should run without `rep movsb`
// (src/glibc.ts says why): there, run the command in a second process started so, and end as it ends. Not under a
// debugger (--inspect), which would attach to the first process, the one that only waits.
const second = process.env[SECOND_PROCESS] === '1';
const debugging = process.execArgv.some((flag) => flag.startsWith('--inspect'));
const tuned = second || debugging ? null : environmentWithoutRepMovsb(process.env, host());
const status = tuned === null ? undefined : await runAgain(tuned);
if (status === undefined) await start(); // no second process needed, or it could not start: run here
else process.exitCode = status;

async function start() {
  if (second && process.channel !== undefined) {
    // End with the first process, even when it was killed outright (SIGKILL) and could pass nothing on; it may
    // have died already, before this listener was there.
    process.channel.unref();
    process.once('disconnect', () => process.exit(1));
    if (!process.connected) process.exit(1);
  }
  // `shmcomm bench | head` closes our stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const { main } = await import('../dist/src/cli.js');
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * Runs this command again with `env`, passing SIGINT, SIGTERM and SIGHUP on; resolves to its exit status, after
 * dying of the signal it died of, if any. Resolves to undefined if it could not start.
 */
function runAgain(env) {
  return new Promise((resolve) => {
    const args = [...process.execArgv, ...process.argv.slice(1)];
    const child = spawn(process.execPath, args, { env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const forward = (signal) => child.kill(signal);
    for (const signal of signals) process.on(signal, forward);
    const settle = () => {
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
