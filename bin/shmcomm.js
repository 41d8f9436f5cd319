#!/usr/bin/env node
// The command line lives in src/cli.ts; this file only starts it.
import { runWithoutRepMovsb } from '../dist/src/glibc.js';

// On an AMD CPU under glibc, the command runs in a second process whose memcpy never uses `rep movsb` (src/glibc.ts
// says why); this process then only waits for it, and ends as it ends.
await runWithoutRepMovsb();

// `shmcomm bench | head` closes our stdout early: that is the reader's choice, not an error. Any other failure to
// write (a full disk: `> /dev/full`) ends the command with one line.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  console.error(`shmcomm: cannot write to standard output: ${error.message}`);
  process.exit(1);
});

// An error's stack at the lines of the .ts files: in this thread, and in the ranks it launches, the program's frames
// and shmcomm's alike (launch passes the setting on, from Node 20.7: src/worker-entry.ts): what a learner who changed
// an exercise needs to find a mistake.
process.setSourceMapsEnabled(true);
const { main } = await import('../dist/src/cli.js');
process.exitCode = await main(process.argv.slice(2));
