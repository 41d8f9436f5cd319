import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every file under `dir`, as paths relative to `root` with `/`, sorted. */
function filesUnder(dir: string, root = dir): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(path, root));
    else files.push(relative(root, path).split(sep).join('/'));
  }
  return files.sort();
}

test('build.mjs removes what dist/ holds of a source that is gone, and nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shmcomm-build-'));
  try {
    for (const folder of ['src/sub', 'exercises', 'test', 'dist/src/sub', 'dist/test']) {
      mkdirSync(join(dir, folder), { recursive: true });
    }
    writeFileSync(join(dir, 'src/kept.ts'), 'export const kept: number = 1;\n');
    writeFileSync(join(dir, 'src/sub/kept.ts'), 'export const sub = 2;\n');
    // What an earlier build (and `npm run types`) wrote of files since renamed or deleted
    for (const gone of ['src/gone', 'src/sub/gone', 'test/gone.test']) {
      for (const extension of ['.js', '.js.map', '.d.ts', '.d.ts.map']) {
        writeFileSync(join(dir, 'dist', gone + extension), '');
      }
    }
    writeFileSync(join(dir, 'dist/src/kept.d.ts'), 'export declare const kept: number;\n'); // tsc's, of a live source
    writeFileSync(join(dir, 'dist/src/notes.txt'), 'not the build\'s\n');
    const build = join(ROOT, 'build.mjs');
    const run = spawnSync(process.execPath, [build, '--quiet'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.is(run.stderr, '');
    assert.is(run.status, 0);
    assert.equal(filesUnder(join(dir, 'dist')), [
      'src/kept.d.ts', 'src/kept.js', 'src/kept.js.map', 'src/notes.txt', 'src/sub/kept.js', 'src/sub/kept.js.map',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
