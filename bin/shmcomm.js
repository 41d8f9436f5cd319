#!/usr/bin/env node
// The command line lives in src/cli.ts; this file only starts it.
import { main } from '../dist/src/cli.js';

// `shmcomm bench | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
