/**
 * Importing a user's program: a rank's module (rank.ts) or the module of map's function (pool-worker.ts).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * `import(url)`, whose SyntaxError says where the mistake is. Node names the file and line of a syntax error only
 * when it goes uncaught; the one that import() rejects with says "Unexpected token ';'" and no more. So for a file,
 * `node --check` reads it once more, and the message gains what that says: ` (at /path/prog.mjs:2: return 1 +;)`,
 * or, where the file itself is sound, ` (in a module that file:///path/prog.mjs imports)`.
 */
export async function importProgram(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof SyntaxError && isParseError(error)) error.message += ` (${whereIsSyntaxError(url)})`;
    throw error;
  }
}

/**
 * True for a SyntaxError of the parser, which comes from Node's module loader alone; one that the module's code threw
 * as it ran (JSON.parse, `throw new SyntaxError`) has a frame of that code in its stack, which says where already.
 */
function isParseError(error: SyntaxError): boolean {
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
  return frames.every((frame) => frame.includes('node:internal'));
}

/** Where the syntax error that importing `url` met lies, as far as `node --check` on its file can tell. */
function whereIsSyntaxError(url: string): string {
  if (!url.startsWith('file:')) return `loading ${url}`;
  const check = spawnSync(process.execPath, ['--check', fileURLToPath(url)], { encoding: 'utf8', timeout: 10_000 });
  if (check.status === 0) return `in a module that ${url} imports`;
  // stderr: "/path/prog.mjs:2", the line itself, a caret under the mistake, "", "SyntaxError: ..."
  const [where, line] = String(check.stderr).split('\n');
  return where !== undefined && /:\d+$/.test(where) ? `at ${where}: ${(line ?? '').trim()}` : `loading ${url}`;
}
