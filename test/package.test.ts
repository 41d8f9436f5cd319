import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

interface Manifest {
  bin: Record<string, string>;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  files: string[];
  dependencies: Record<string, string>;
}

/** `npm pack`'s file list, from dist/ as it is (no build), in under a few seconds and without the network. */
function packedFiles(): { files: string[]; unpackedSize: number } {
  const options = ['--dry-run', '--json', '--ignore-scripts', '--no-update-notifier', '--loglevel=error'];
  const pack = spawnSync('npm', ['pack', ...options], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.is(pack.status, 0, `npm pack --dry-run: ${pack.error?.message ?? pack.stderr}`);
  const [report] = JSON.parse(pack.stdout) as { files: { path: string }[]; unpackedSize: number }[];
  return { files: report!.files.map((file) => file.path).sort(), unpackedSize: report!.unpackedSize };
}

/** The specifiers a module built by esbuild imports, re-exports or resolves with `new URL(…, import.meta.url)`. */
function specifiers(code: string): string[] {
  const found: string[] = [];
  const specifier = /(?:\bfrom|\bimport)\s*\(?\s*"([^"]+)"|new URL\("([^"]+)", import\.meta\.url\)/g;
  for (const match of code.matchAll(specifier)) found.push((match[1] ?? match[2])!);
  return found;
}

test('npm pack ships what bin, exports, types and the exercises need, and no tests', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
  const { files, unpackedSize } = packedFiles();
  const packed = new Set(files);
  const named = [...Object.values(manifest.bin), manifest.types];
  for (const target of Object.values(manifest.exports)) {
    named.push(...(typeof target === 'string' ? [target] : Object.values(target)));
  }
  for (const path of named) {
    const file = path.replace(/^\.\//, '');
    // The declarations exist once `npm run types` has run (npm install, npm ci, npm pack): `files` must cover them
    if (file.endsWith('.d.ts')) assert.ok(manifest.files.some((entry) => file.startsWith(`${entry}/`)), file);
    else assert.ok(packed.has(file), `${file} (named in package.json) is not packed`);
  }
  for (const exercise of readdirSync(join(ROOT, 'exercises')).filter((name) => name.endsWith('.ts'))) {
    const built = `dist/exercises/${exercise.replace(/\.ts$/, '.js')}`;
    assert.ok(packed.has(built), `${built} (shmcomm exercise runs it) is not packed`);
  }
  // Each packed module's relative imports and worker URLs are packed; its packages are dependencies, not dev ones
  for (const file of files.filter((path) => path.endsWith('.js'))) {
    for (const specifier of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
      if (specifier.startsWith('node:')) continue;
      if (!specifier.startsWith('.')) {
        assert.ok(specifier in manifest.dependencies, `${file} imports ${specifier}, which is no dependency`);
        continue;
      }
      const target = relative(ROOT, join(ROOT, file, '..', specifier)).split(sep).join('/');
      assert.ok(packed.has(target), `${file} needs ${target}, which is not packed`);
    }
  }
  const unwanted = /^(test|dist\/test|docs\/probes|scratch|node_modules)\/|\.tmp$/;
  for (const file of files) assert.not.match(file, unwanted, `${file} should not be packed`);
  // 2.2 MB on 2026-11-29, docs/PERFORMANCE.md the largest (0.24 MB): a stray capture or bundle would stand out
  assert.ok(unpackedSize < 4_000_000, `the package unpacks to ${unpackedSize} bytes`);
});

test.run();
