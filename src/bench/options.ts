/**
 * How the commands' lines are read: each command is a table of option specs (args.ts), and this file reads a command
 * line against its table and prints the table as help.
 *
 * The table is the single source of truth: parsing reads the value given on the command line or else the spec's
 * default, through the same parser, and the help text is printed from the same table, so the defaults shown are the
 * defaults used. Every mistake is a `UsageError` that names the option, the value given and what is allowed; the CLI
 * prints it with where its command's help is (`See shmcomm bench latency --help.`) and exits with status 2.
 */
import { MAX_ARENA_BYTES } from '../arena.js';
import { didYouMean } from '../describe.js';
import { hangingItem, usageLines, words } from '../term.js';
import { formatSize, parseSize } from './format.js';

/** A mistake on the command line. A CLI-only error, so it does not depend on the library's error classes. */
export class UsageError extends Error {
  readonly code = 'SHMCOMM_USAGE';
  /** The option at fault (`--max`), when there is one. */
  readonly option: string | undefined;
  constructor(message: string, option?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
    this.option = option;
  }
}

/**
 * One option of a command. Without `value` it is a flag (off unless given). `default` is text, read by the same
 * parser as a value typed on the command line. `names` marks a list of names whose default is all of them, `sizes` a
 * list of sizes (`8,64KiB`).
 */
export interface OptionSpec {
  name: string;
  value?: 'SIZE' | 'N' | 'SECONDS' | 'LIST' | 'FILE' | 'NAME';
  default?: string;
  names?: readonly string[];
  sizes?: boolean;
  help: string;
}

const MIN_SIZE = 8; // one Float64
const MAX_SIZE = 2 ** 30; // 1 GiB: sender and receiver each hold one, and a test machine has a few GiB
const MAX_SECONDS = 3600;

export const WHAT_VALUE = { SIZE: 'a size such as 64KiB', N: 'an integer', SECONDS: 'a number of seconds',
  LIST: 'a comma-separated list', FILE: 'a file path', NAME: 'a name' } as const;

/**
 * The usual message: ``Expected `--points` to be an integer from 2 to 200, got "abc"``, then `near`, a guess where
 * there is one (didYouMean).
 */
function invalid(option: string, expected: string, text: string, near = ''): UsageError {
  return new UsageError(`Expected \`${option}\` ${expected}, got "${text}"${near}`, option);
}

const NUMBER = /^(\d+\.?\d*|\.\d+)$/;
const UNIT = /^[a-z]+$/i;

/**
 * The hint to a stray argument `argv[at]` that is the rest of the option value before it, typed with a space: a size's
 * unit, as the output writes sizes (`--max 1 MiB`: ': a size is one word, `--max 1MiB`'), or more items of a list
 * (`--modes shared, clone`, `--modes shared clone`, `--ranks 2 4`, `--sizes 8 MiB 64 KiB`: ': a list is one word, its
 * items apart by commas, `--modes shared,clone`'); else ''.
 */
function spacedValue(specs: readonly OptionSpec[], argv: readonly string[], at: number): string {
  const [option, value, token] = [argv[at - 2] ?? '', argv[at - 1] ?? '', argv[at]!];
  const spec = specs.find((known) => `--${known.name}` === option);
  if (spec?.value === 'SIZE' && NUMBER.test(value) && UNIT.test(token)) {
    return `: a size is one word, \`${option} ${value}${token}\``;
  }
  const item = token.replace(/,$/, '');
  // Another item: after a comma, one of the list's names, or for a list of numbers and sizes, a number or a size
  const another = spec?.names === undefined ? /^(\d+\.?\d*|\.\d+)[a-z]*$/i.test(item) : spec.names.includes(item);
  const unit = spec?.sizes === true && NUMBER.test(value.split(',').at(-1)!) && UNIT.test(token); // `--sizes 8,64 KiB`
  const listed = value.endsWith(',') || token.startsWith(',') || another || unit;
  if (spec?.value !== 'LIST' || !listed) return '';
  let end = at;
  while (end < argv.length && !argv[end]!.startsWith('-')) end++;
  const items: string[] = [];
  for (const word of argv.slice(at - 1, end).join(',').split(',').filter((word) => word !== '')) {
    // In a list of sizes, a unit is no item: it goes with the number before it
    if (spec.sizes === true && UNIT.test(word) && NUMBER.test(items.at(-1) ?? '')) items[items.length - 1] += word;
    else items.push(word);
  }
  const rule = spec.sizes === true && items.length === 1
    ? 'a size is one word' : 'a list is one word, its items apart by commas';
  return `: ${rule}, \`${option} ${items.join(',')}\``;
}

/**
 * One command line checked against a spec table. The constructor refuses unknown options, missing values and
 * stray arguments; the typed readers (`size`, `integer`, ...) read the value given, or else the default.
 */
export class OptionReader {
  private readonly given = new Map<string, string | true>();

  constructor(command: string, private readonly specs: readonly OptionSpec[], argv: readonly string[]) {
    for (let i = 0; i < argv.length; i++) {
      const token = argv[i]!;
      if (!token.startsWith('-')) {
        throw new UsageError(`Unexpected argument "${token}" for \`${command}\`${spacedValue(specs, argv, i)}`);
      }
      const equals = token.indexOf('=');
      const option = equals === -1 ? token : token.slice(0, equals);
      const spec = specs.find((s) => `--${s.name}` === option);
      if (!spec) {
        const near = didYouMean(option, specs.map((known) => `--${known.name}`));
        throw new UsageError(`Unknown option \`${option}\`${near} for \`${command}\``, option);
      }
      if (this.given.has(spec.name)) { // the last one would win silently: `--modes spin --modes clone` ran clone alone
        const list = spec.value === 'LIST' ? `, its values with commas between them (--${spec.name} a,b)` : '';
        throw new UsageError(`Option \`${option}\` given twice: give it once${list}`, option);
      }
      if (spec.value === undefined) {
        if (equals !== -1) throw new UsageError(`Option \`${option}\` takes no value, got "${token}"`, option);
        this.given.set(spec.name, true);
        continue;
      }
      // `--max 8MiB` or `--max=8MiB`; in `--csv --json` the value was forgotten: it is not a file named "--json".
      const value = equals === -1 ? argv[++i] : token.slice(equals + 1);
      if (value === undefined || value === '' || value.startsWith('--')) {
        throw new UsageError(`Option \`${option}\` needs a value (${WHAT_VALUE[spec.value]})`, option);
      }
      this.given.set(spec.name, value);
    }
  }

  /** Whether `--name` was on the command line (for a flag: whether it is on). */
  has(name: string): boolean {
    return this.given.has(name);
  }

  /** The text given for `--name`, else its default (undefined when it has none). */
  text(name: string): string | undefined {
    const value = this.given.get(name);
    return typeof value === 'string' ? value : this.specs.find((s) => s.name === name)?.default;
  }

  /** A message size: a multiple of 8 bytes (whole Float64Arrays) from 8 B to 1 GiB. */
  size(name: string, text = this.text(name)!): number {
    const option = `--${name}`;
    let bytes: number;
    try {
      bytes = parseSize(text, option, { max: MAX_SIZE });
    } catch (error) {
      throw new UsageError((error as Error).message, option, { cause: error });
    }
    if (bytes % 8 !== 0) throw invalid(option, 'to be a multiple of 8 bytes (payloads are Float64Arrays)', text);
    if (bytes < MIN_SIZE || bytes > MAX_SIZE) {
      throw invalid(option, `to be a size from ${formatSize(MIN_SIZE)} to ${formatSize(MAX_SIZE)}`, text);
    }
    return bytes;
  }

  /** The shared arena's size: 0 (none), or from 64 bytes a rank of the largest rank count to 2 GiB. */
  arenaSize(name: string, ranks: readonly number[]): number {
    const text = this.text(name)!;
    const most = Math.max(...ranks), least = 64 * most;
    const refused = () => invalid(`--${name}`, `to be 0 (no arena) or a size from ${formatSize(least)} (64 B for each of ${most} ranks) to 2 GiB`, text);
    let bytes: number;
    try {
      bytes = parseSize(text, `--${name}`, { allowZero: true });
    } catch {
      throw refused();
    }
    if (bytes !== 0 && (bytes < least || bytes > MAX_ARENA_BYTES)) throw refused();
    return bytes;
  }

  /** A ring size: a power of two from 4 KiB to 1 GiB, or `auto` (undefined). */
  ringSize(name: string): number | undefined {
    const text = this.text(name)!;
    if (text.toLowerCase() === 'auto') return undefined;
    const refused = () => invalid(`--${name}`, 'to be auto or a power of two from 4 KiB to 1 GiB', text);
    let bytes: number;
    try {
      bytes = this.size(name, text);
    } catch {
      throw refused(); // one message for every way a ring size can be wrong, not a message size's
    }
    if ((bytes & (bytes - 1)) !== 0 || bytes < 4096) throw refused();
    return bytes;
  }

  integer(name: string, min: number, max: number): number {
    const text = this.text(name)!;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw invalid(`--${name}`, `to be an integer from ${min} to ${max}`, text);
    }
    return value;
  }

  seconds(name: string, min: number): number {
    const text = this.text(name)!;
    const value = Number(text);
    if (!/^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(text) || value < min || value > MAX_SECONDS) {
      throw invalid(`--${name}`, `to be a number of seconds from ${min} to ${MAX_SECONDS}`, text);
    }
    return value;
  }

  /** One of `allowed`. */
  choice<T extends string>(name: string, allowed: readonly T[]): T {
    const text = this.text(name)!;
    const chosen = allowed.find((item) => item === text);
    if (chosen === undefined) throw invalid(`--${name}`, `to be one of ${allowed.join(', ')}`, text, didYouMean(text, allowed));
    return chosen;
  }

  /** A comma-separated list of names from `allowed` (a `noun` each), in the order given, without repeats. */
  names<T extends string>(name: string, allowed: readonly T[], noun: string): T[] {
    const items = this.items(name, `to list at least one of ${allowed.join(', ')}`);
    const unknown = items.find((item) => !allowed.some((known) => known === item));
    if (unknown !== undefined) {
      const near = didYouMean(unknown, allowed);
      const message = `Unknown ${noun} "${unknown}"${near} in \`--${name}\`; valid ${noun}s: ${allowed.join(', ')}`;
      throw new UsageError(message, `--${name}`);
    }
    return items as T[];
  }

  /** A comma-separated list of integers from `min` to `max`, ascending, without repeats. */
  integers(name: string, min: number, max: number): number[] {
    const expected = `to be a comma-separated list of integers from ${min} to ${max}`;
    const items = this.items(name, expected);
    const bad = items.find((item) => !/^\d+$/.test(item) || Number(item) < min || Number(item) > max);
    if (bad !== undefined) {
      const text = this.text(name)!;
      const where = items.length > 1 ? ` in "${text}"` : ''; // "1" in "1" says nothing twice
      throw new UsageError(`Expected every item of \`--${name}\` to be an integer from ${min} to ${max}, got "${bad}"${where}`, `--${name}`);
    }
    return [...new Set(items.map(Number))].sort((a, b) => a - b); // `2,02` is one rank count
  }

  /** A comma-separated list of message sizes, ascending, without repeats. */
  sizes(name: string): number[] {
    const bytes = this.items(name, 'to list at least one size such as 64KiB').map((item) => this.size(name, item));
    return [...new Set(bytes)].sort((a, b) => a - b);
  }

  private items(name: string, expected: string): string[] {
    const text = this.text(name)!;
    const items = [...new Set(text.split(',').map((item) => item.trim()).filter((item) => item !== ''))];
    if (items.length === 0) throw invalid(`--${name}`, expected, text);
    return items;
  }
}

/**
 * The help of a command, printed from its spec table (the defaults shown are the defaults used), in lines of at most
 * `columns` where its words allow: each option's help wraps in its own column, under its first line. `usage` is the
 * command line after `shmcomm`.
 */
export function helpText(
  usage: string, about: string, specs: readonly OptionSpec[], columns: number, footer?: string,
): string {
  const left = specs.map((spec) => (spec.value ? `--${spec.name} ${spec.value}` : `--${spec.name}`));
  const column = 2 + Math.max('-h, --help'.length, ...left.map((text) => text.length)) + 2;
  // A line of `about` that starts with spaces keeps them on every line it wraps into; one with a gap of two spaces or
  // more after them is a list's item (an exercise's name, then its question), whose text hangs after the gap, as an
  // option's help does.
  const paragraph = (text: string): string[] => {
    const indent = text.length - text.trimStart().length;
    const item = indent > 0 ? /^ +\S.*?  +/.exec(text)?.[0] : undefined;
    if (item !== undefined) return hangingItem(item, [words(text.slice(item.length))], item.length, columns);
    return hangingItem(text.slice(0, indent), [words(text.slice(indent))], indent, columns);
  };
  // `usage` wraps under its first word, a bracketed group kept whole where it fits.
  const usageText = usageLines('shmcomm', [usage.match(/\[[^\]]*\]|\S+/g) ?? []], columns);
  const lines = [...usageText, '', ...about.split('\n').flatMap(paragraph), '', 'Options:'];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const shown = spec.names ? '(default all):' : spec.default !== undefined ? `(default ${spec.default})` : undefined;
    const help = shown === undefined ? words(spec.help) : [...words(spec.help), shown]; // `(default 0.05)` in one piece
    const names = spec.names ? [words(spec.names.join(', '))] : [];
    lines.push(...hangingItem(`  ${left[i]!}`, [help, ...names], column, columns));
  }
  lines.push(...hangingItem('  -h, --help', [words('show this help')], column, columns));
  if (footer) lines.push('', ...paragraph(footer));
  return lines.join('\n');
}
