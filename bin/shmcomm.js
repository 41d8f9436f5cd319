#!/usr/bin/env node
// The command line lives in src/cli.ts; this file only starts it.
import { runWithoutRepMovsb } from '../dist/src/glibc.js';

// On an AMD CPU under glibc, the command runs in a second process whose memcpy never uses `rep movsb` (src/glibc.ts
// says why); this process then only waits for it, and ends as it ends.
await runWithoutRepMovsb();

// `shmcomm bench | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const { main } = await import('../dist/src/cli.js');
process.exitCode = await main(process.argv.slice(2));
