#!/usr/bin/env node
// The command line lives in src/cli.ts; this file only starts it.
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv.slice(2));
