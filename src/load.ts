/**
 * Importing a user's program: a rank's module (rank.ts) or the module of map's function (pool-worker.ts), and saying
 * where a syntax error in it is.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isClass } from './describe.js';

/**
 * The `code` that importProgram gives a SyntaxError of the parser. The one that import() rejects with says
 * "Unexpected token ';'" and no more (Node names the file and line only of an error that goes uncaught), so the
 * launching thread (launch, map) adds where it is, once for all its workers: withSyntaxErrorAt.
 */
export const PARSE_ERROR = 'SHMCOMM_PARSE_ERROR';

/**
 * On globalThis while a worker imports its program (importProgram): the program's URL. A Symbol.for, so that every
 * copy of shmcomm in the worker sees it (the program may import the package by another path than the worker did).
 */
const IMPORTING = Symbol.for('shmcomm.importingProgram');

/**
 * Refuses, in the launching thread before any worker starts, a file: URL that names no file here (none at all, a
 * directory, a path of another host): every worker's import would fail alike, and blame shmcomm's loader. `path` is
 * what the caller gave, when it gave a path (map takes them, relative ones from the current directory).
 */
export function refuseNoProgramFile(url: string, path?: string): void {
  const given = JSON.stringify(path ?? url);
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch (error) {
    throw new TypeError(`Expected \`moduleUrl\` to be a file: URL of a path here, got ${given}: ${(error as Error).message}`);
  }
  let what: string;
  try {
    if (statSync(file).isFile()) return;
    what = 'it is not a file';
  } catch (error) { // none, or a path through a file, a loop of links, a folder we may not read, a NUL
    // By its code, not by `throwIfNoEntry: false`, which Node 24 lets hide a path through a file too (ENOTDIR, #56993).
    const none = (error as NodeJS.ErrnoException).code === 'ENOENT';
    what = none ? 'there is none' : `it cannot be read (${(error as Error).message})`;
  }
  const relative = path !== undefined && !isAbsolute(path);
  const resolved = relative ? ` (${file}, from the current directory)` : '';
  // Most often a program run from another folder than its own: how to name the file beside it from anywhere
  const beside = relative && what === 'there is none'
    ? `; for one beside your module, pass new URL(${given}, import.meta.url)` : '';
  throw Object.assign(new Error(`Expected \`moduleUrl\` to name a file, got ${given}${resolved}: ${what}${beside}`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

/**
 * `import(url)`'s module, its default export read as a bundler reads it from CommonJS that TypeScript or Babel wrote
 * (esModuleDefault); a SyntaxError of the parser gets the code PARSE_ERROR, and a TypeScript file that this Node cannot
 * run says what to do. (Source maps, where the launching thread has them, were turned on as the worker started:
 * worker-entry.ts.)
 */
export async function importProgram(url: string): Promise<Record<string, unknown>> {
  const global = globalThis as { [IMPORTING]?: string };
  global[IMPORTING] = url;
  try {
    return esModuleDefault((await import(url)) as Record<string, unknown>);
  } catch (error) {
    if (error instanceof SyntaxError && isParseError(error)) Object.assign(error, { code: PARSE_ERROR });
    throw isUnrunTypeScript(error, url) ? withTypeScriptAdvice(error) : error;
  } finally {
    delete global[IMPORTING];
  }
}

/**
 * The functions a module exports by name (no class), for the error that says the export asked for is missing: `main`,
 * `a, b, c and 7 more`; '' for none. Most often a program that wrote `export function main` for `export default`.
 * Not 'module.exports', which Node 23 and later add to a CommonJS module's exports: the default export again.
 */
export function functionsByName(module: Record<string, unknown>): string {
  const names = Object.keys(module).filter((name) => name !== 'default' && name !== 'module.exports' &&
    typeof module[name] === 'function' && !isClass(module[name]));
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/**
 * TypeScript and Babel compile `export default main` to CommonJS as `exports.default = main`, beside `exports.__esModule
 * = true`; Node's import() gives the whole `module.exports` as the default export, an object, where bundlers (and
 * TypeScript's own `esModuleInterop`) read its `default`. So does this: a rank file or map's module compiled to
 * CommonJS runs as written, and one compiled from a module with no default export (`export function main`) has none.
 * Its named exports Node finds itself.
 */
function esModuleDefault(module: Record<string, unknown>): Record<string, unknown> {
  const exports = module['default'] as { __esModule?: unknown; default?: unknown } | null | undefined;
  if (typeof exports !== 'object' || exports === null || exports.__esModule !== true) return module;
  return { ...module, default: exports.default };
}

/**
 * True when `import(url)` refused a TypeScript file for its extension: Node 20 runs none (22.6 and later strip the
 * types, by default from 22.18 and 23.6; a loader such as tsx, given to the launching process, reaches workers too).
 */
function isUnrunTypeScript(error: unknown, url: string): error is TypeError & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/.test(new URL(url).pathname);
}

function withTypeScriptAdvice(error: TypeError & { code: string }): TypeError {
  const advice = `Node ${process.version} runs TypeScript only with type stripping (from Node 22.6; on by default ` +
    'from 22.18 and 23.6): compile the file with tsc and pass the .js (README, "A first program")';
  return Object.assign(new TypeError(`${error.message}: ${advice}`), { code: error.code });
}

/**
 * Throws while a worker imports its program: `call` (launch or map) at the top level of the program's own file, with
 * no `if (isMainThread)` around it, would start workers that import the file again, and launch again, until memory
 * runs out.
 */
export function refuseWhileImporting(call: 'launch' | 'map'): void {
  const url = (globalThis as { [IMPORTING]?: string })[IMPORTING];
  if (url === undefined) return;
  throw new Error(
    `${call}() was called as a worker imported ${url}: called at a module's top level, it runs again in every ` +
      `worker that imports the module; guard that line with \`if (isMainThread)\` (node:worker_threads)`,
  );
}

/**
 * True for a SyntaxError of the parser, whose stack holds only Node's module loader (and our own import() above); one
 * that the module's code threw as it ran (JSON.parse, `throw new SyntaxError`) has a frame of that code, which says
 * where already. Node's frames are any of its built-in modules: Node 24's loader runs through node:diagnostics_channel.
 */
function isParseError(error: SyntaxError): boolean {
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
  // Our own frame by its function's name: with --enable-source-maps it names load.ts, not this file's URL.
  const ours = (frame: string) => /[( ]node:/.test(frame) || frame.includes(' importProgram ');
  return frames.length > 0 && frames.every(ours);
}

/**
 * `message`, the message of a parse error in the program at `url`, with where `node --check` finds it:
 * `Unexpected token ';' (at /path/prog.mjs:2: return 1 +;)`, or `... (node --check finds no mistake in
 * /path/prog.mjs itself)`: then look in the modules it imports. Unchanged for a program that is not a file.
 * The check runs without NODE_OPTIONS (a preload or an inspector there would run in it too) and is killed after
 * CHECK_MS: this thread waits for it, with every timer of the run (three checks at most, for a .js file).
 */
export function withSyntaxErrorAt(message: string, url: string): string {
  return `${message}${syntaxErrorAt(url)}`;
}

/**
 * What withSyntaxErrorAt adds to a message: ` (at /path/prog.mjs:2: return 1 +;)`, or '' for a program not in a
 * file.
 */
export function syntaxErrorAt(url: string): string {
  if (!url.startsWith('file:')) return '';
  const path = fileURLToPath(url);
  const check = nodeCheck(['--check', path]);
  if (check.status === 0) {
    return path.endsWith('.js') && packageType(path) === undefined ? asDetectedModule(path) : noMistakeIn(path);
  }
  const found = locate(check.stderr, path);
  // ESM syntax in a .js file that Node reads as CommonJS: a warning on stderr says how to load an ES module (Node 20:
  // "To load an ES module, set ...", Node 24: "Failed to load the ES module: /path/f.js. Make sure to set ...").
  const commonJs = check.stderr.split('\n').some((line) => /To load an ES module|Failed to load the ES module/.test(line));
  if (!commonJs) return found;
  // A .cjs file is CommonJS whatever its package.json says: only its name can change that
  const fix = path.endsWith('.cjs') ? 'name it .mjs' : 'name it .mjs, or set "type": "module" in its package.json';
  return `${found}; Node reads ${path} as CommonJS: ${fix}`;
}

const noMistakeIn = (path: string) => ` (node --check finds no mistake in ${path} itself)`;

/**
 * Node 20.20's `--check` passes a .js file of a package without "type" that does not parse as CommonJS, has module
 * syntax, and does not parse as a module either, where import() reads it as a module and finds that mistake. So a .js
 * file that --check passes is checked again from stdin, as a module, and, when that finds a mistake, as CommonJS: a
 * file that parses as CommonJS was read as CommonJS (top-level `return` is no module's syntax), and --check's answer
 * stands. From stdin, since Node ignores a default type given by flag for files under node_modules.
 */
function asDetectedModule(path: string): string {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch {
    return noMistakeIn(path);
  }
  const asModule = nodeCheck(['--input-type=module', '--check', '-'], source);
  const found = locate(asModule.stderr, STDIN, path);
  if (found === '') return noMistakeIn(path);
  return nodeCheck(['--input-type=commonjs', '--check', '-'], source).status === 0 ? noMistakeIn(path) : found;
}

/**
 * The "type" of the package.json that Node reads for `path`, the nearest above it (not above a node_modules folder),
 * or undefined where it sets none: only then does Node detect module syntax in a .js file.
 */
function packageType(path: string): string | undefined {
  for (let dir = dirname(path); basename(dir) !== 'node_modules'; dir = dirname(dir)) {
    try {
      const { type } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown };
      return typeof type === 'string' ? type : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined; // not JSON, say: check again
    }
    if (dirname(dir) === dir) break;
  }
  return undefined;
}

/** `node ...args`, with `input` on stdin, without NODE_OPTIONS (a preload or an inspector there runs in it too). */
function nodeCheck(args: string[], input?: string): { status: number | null; stderr: string } {
  const check = spawnSync(process.execPath, args, {
    encoding: 'utf8', input, timeout: CHECK_MS, killSignal: 'SIGKILL', env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { status: check.status, stderr: String(check.stderr) };
}

/** What node --check calls source it read from stdin. */
const STDIN = '[stdin]';

/**
 * Where `node --check`'s stderr puts the mistake, named after `path`: ` (at /path/prog.mjs:2: return 1 +;)`, or ''.
 * Its stderr holds "/path/prog.mjs:2" (`[stdin]:2` for source read from stdin), the line itself, a caret under the
 * mistake, "", "SyntaxError: ...", maybe after a warning.
 */
function locate(stderr: string, checked: string, path = checked): string {
  const lines = stderr.split('\n');
  const at = lines.findIndex((where) => where.startsWith(`${checked}:`) && /:\d+$/.test(where));
  if (at < 0) return '';
  return ` (at ${path}${lines[at]!.slice(checked.length)}: ${excerpt(lines[at + 1] ?? '', lines[at + 2] ?? '')})`;
}

/** The most of a source line that a message shows: a minified file's one line is the whole file. */
const SHOWN_CHARS = 80;

/** `line` without its indent, or SHOWN_CHARS of it around the caret that `caretLine` puts under the mistake. */
function excerpt(line: string, caretLine: string): string {
  const text = line.trim();
  if (text.length <= SHOWN_CHARS) return text;
  const caret = Math.max(0, caretLine.indexOf('^') - (line.length - line.trimStart().length));
  const from = Math.max(0, Math.min(caret - SHOWN_CHARS / 2, text.length - SHOWN_CHARS));
  const to = from + SHOWN_CHARS;
  return `${from > 0 ? '…' : ''}${text.slice(from, to)}${to < text.length ? '…' : ''}`;
}

/** The most the launching thread waits for `node --check` (it takes 50 ms or so). */
const CHECK_MS = 3000;
