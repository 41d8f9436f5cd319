// Runs every dist/test/**/*.test.js in its own Node process (each uvu file runs alone, with a time bound),
// then prints the one closing line CI reads: `N passed, N failed`.
// Usage: node test/run.mjs [substring ...]   (only the files whose path contains one of the substrings)
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const FILE_TIMEOUT_MS = Number(process.env.SHMCOMM_TEST_TIMEOUT_MS ?? 240_000);
const filters = process.argv.slice(2);

function testFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...testFiles(path));
    else if (entry.name.endsWith('.test.js')) files.push(path);
  }
  return files.sort();
}

let running; // the test file's process, while it runs

/** Kills a test file's process and every process it started (its group). */
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL'); // the group is gone already, or there are no groups here
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (running !== undefined) killGroup(running);
    process.exit(128 + constants.signals[signal]);
  });
}

/** Whether a process of `child`'s group is still there 2 s after it ended (one it killed may take a moment to go). */
async function groupOutlives(child) {
  for (let waited = 0; ; waited += 50) {
    try {
      process.kill(-child.pid, 0);
    } catch {
      return false; // no such group: every process of it has ended
    }
    if (waited >= 2000) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    // A process group of its own, so that a timeout (or a Ctrl-C here) kills the processes its tests started too.
    const child = spawn(process.execPath, ['--enable-source-maps', file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running = child;
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk); });
    child.stderr.on('data', (chunk) => { output += chunk; process.stderr.write(chunk); });
    const timer = setTimeout(() => {
      console.error(`\n${file}: killed after ${FILE_TIMEOUT_MS} ms (SHMCOMM_TEST_TIMEOUT_MS)`);
      killGroup(child);
    }, FILE_TIMEOUT_MS);
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
      let failed = total - passed; // uvu's Total counts the tests that ran: a skipped one is not in it
      // A crash, a kill or a non-zero exit with nothing counted is still a failure, and so is a file that ran no test.
      if ((code !== 0 || signal) && failed === 0) failed = 1;
      if (total === 0 && failed === 0) {
        console.error(`\n${file}: ran no test (does it call test.run()?)`);
        failed = 1;
      }
      // A process the file started and left running outlives it in its group: a failure, and it is killed.
      if (await groupOutlives(child)) {
        console.error(`\n${file}: left a process running after it ended; killed`);
        killGroup(child);
        failed += 1;
      }
      running = undefined;
      resolve({ file, passed, failed, skipped, ms: Date.now() - started, code, signal });
    });
  });
}

const root = 'dist/test';
const files = testFiles(root).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const results = [];
for (const file of files) {
  console.log(`\n# ${relative(root, file)}`);
  results.push(await runFile(file));
}

console.log('\nfile                                  passed failed   seconds');
for (const r of results) {
  const status = r.failed > 0 ? `  <- exit ${r.signal ?? r.code}` : '';
  console.log(`${relative(root, r.file).padEnd(38)}${String(r.passed).padStart(6)}${String(r.failed).padStart(7)}${(r.ms / 1000).toFixed(1).padStart(10)}${status}`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const skipped = results.reduce((n, r) => n + r.skipped, 0);
if (files.length === 0) console.log('no test files found');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
