// Transpile src/, exercises/ and test/ into dist/ file by file (no bundling), so that worker entry files and
// module URLs keep the layout they have in the source tree. Types are checked separately by `tsc --noEmit`.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const roots = ['src', 'exercises', 'test'];

function sources(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

const started = performance.now();
// Files are replaced in place (a build never leaves dist/ half-empty for a test that runs meanwhile);
// `node build.mjs --clean` starts from an empty dist/.
if (process.argv.includes('--clean')) rmSync('dist', { recursive: true, force: true });
const entryPoints = roots.flatMap(sources);
const { outputFiles } = await build({
  entryPoints,
  outdir: 'dist',
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // The maps point at the .ts files, which ship beside dist/ (package.json "files"): Node's --enable-source-maps, a
  // debugger and the declaration maps' go-to-definition read them there, so a copy of each inside its map would only
  // double what a package installs.
  sourcesContent: false,
  logLevel: 'warning',
  write: false,
});
// Each file is written beside its old self, then renamed over it: a worker that imports it meanwhile reads the old
// file or the new one, whole. esbuild's own writes truncate, then fill: a rank that started during a rebuild could read
// a module empty (launches failed with "does not provide an export named ...", or "exited with code 0").
for (const file of outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const next = `${file.path}.${process.pid}.tmp`;
  writeFileSync(next, file.contents);
  renameSync(next, file.path);
}

// What dist/ holds of a source since renamed or deleted goes too (esbuild's output and tsc's declarations): npm test
// ran the old copy of a test that no longer existed, and npm pack shipped modules that no longer existed.
const OUTPUT = /\.(js|js\.map|d\.ts|d\.ts\.map)$/;
function removeOrphans(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeOrphans(path);
    else if (OUTPUT.test(entry.name) && !existsSync(relative('dist', path).replace(OUTPUT, '.ts'))) {
      rmSync(path, { force: true });
    }
  }
}
for (const root of roots) {
  if (existsSync(join('dist', root))) removeOrphans(join('dist', root));
}
if (!process.argv.includes('--quiet')) {
  const ms = Math.round(performance.now() - started);
  console.error(`build: ${entryPoints.length} files into dist/ in ${ms} ms`);
}
