/**
 * Importing a user's program: a rank's module (rank.ts) or the module of map's function (pool-worker.ts), and saying
 * where a syntax error in it is.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The `code` that importProgram gives a SyntaxError of the parser. The one that import() rejects with says
 * "Unexpected token ';'" and no more (Node names the file and line only of an error that goes uncaught), so the
 * launching thread (launch, map) adds where it is, once for all its workers: withSyntaxErrorAt.
 */
export const PARSE_ERROR = 'SHMCOMM_PARSE_ERROR';

/** `import(url)`; a SyntaxError of the parser gets the code PARSE_ERROR. */
export async function importProgram(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof SyntaxError && isParseError(error)) Object.assign(error, { code: PARSE_ERROR });
    throw error;
  }
}

/**
 * True for a SyntaxError of the parser, whose stack holds only Node's module loader (and our own import() above); one
 * that the module's code threw as it ran (JSON.parse, `throw new SyntaxError`) has a frame of that code, which says
 * where already.
 */
function isParseError(error: SyntaxError): boolean {
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
  // Our own frame by its function's name: with --enable-source-maps it names load.ts, not this file's URL.
  const ours = (frame: string) => frame.includes('node:internal') || frame.includes(' importProgram ');
  return frames.length > 0 && frames.every(ours);
}

/**
 * `message`, the message of a parse error in the program at `url`, with where `node --check` finds it:
 * `Unexpected token ';' (at /path/prog.mjs:2: return 1 +;)`, or `... (in a module that file:///path/prog.mjs
 * imports)` where the file itself is sound. Unchanged for a program that is not a file.
 */
export function withSyntaxErrorAt(message: string, url: string): string {
  if (!url.startsWith('file:')) return message;
  const check = spawnSync(process.execPath, ['--check', fileURLToPath(url)], { encoding: 'utf8', timeout: 10_000 });
  if (check.status === 0) return `${message} (in a module that ${url} imports)`;
  // stderr: "/path/prog.mjs:2", the line itself, a caret under the mistake, "", "SyntaxError: ..."
  const [where, line] = String(check.stderr).split('\n');
  return where !== undefined && /:\d+$/.test(where) ? `${message} (at ${where}: ${(line ?? '').trim()})` : message;
}
