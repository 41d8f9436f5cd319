/**
 * Terminal output: whether to use color, text wrapped to a width, and a one-line progress indicator. (The chart's
 * colors are asciichart's: chart.ts.)
 *
 * The rules are Node's own (`tty.getColorDepth`, which colours Node's warnings and `util.inspect`), but for one:
 * - `NO_COLOR` set to any non-empty value turns color off, whatever else is set: the user asked for it
 *   (https://no-color.org). Here shmcomm departs from Node, where FORCE_COLOR wins over NO_COLOR;
 * - `FORCE_COLOR` set to `1`, `2`, `3`, `true` or nothing (`FORCE_COLOR=`) turns color on, even when the output is
 *   a file or a pipe; set to anything else (`0`, `false`, `no`) it turns color off;
 * - `NODE_DISABLE_COLORS`, set to anything, turns it off;
 * - otherwise color is used only when the stream is a terminal (and `TERM` is not `dumb`).
 * Progress goes to stderr and only when stderr is a terminal (and `TERM` is not `dumb`), so `shmcomm bench --json >
 * out.json` stays clean.
 */

/** The part of a Node stream that these helpers use; a fake with these fields is enough in tests. */
export interface TextStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

type Env = Record<string, string | undefined>;

/** Whether output written to `stream` should carry ANSI color codes. */
export function shouldUseColor(stream: { isTTY?: boolean } = process.stdout, env: Env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return ['', '1', '2', '3', 'true'].includes(force);
  if (env.NODE_DISABLE_COLORS !== undefined) return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

// CSI sequences: ESC [ parameters final-byte. Covers colors (`m`) and cursor/erase codes (`K`, `G`, ...).
const ANSI_PATTERN = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** `text` without ANSI escape sequences: what the terminal actually shows. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, '');
}

/** How many terminal columns `text` takes (escape codes take none; each code point takes one). */
export function visibleWidth(text: string): number {
  return [...stripAnsi(text)].length;
}

/**
 * `pieces` joined by `separator` into lines of at most `width` columns: a line breaks between two pieces, never
 * inside one, and the separator at a break is dropped (a piece wider than `width` gets a line of its own). Escape
 * codes take no width. `wrap(['── clone', '── shared'], 12, '   ')` gives `['── clone', '── shared']`.
 */
export function wrap(pieces: readonly string[], width: number, separator = ' '): string[] {
  const lines: string[] = [];
  let line: string | undefined;
  for (const piece of pieces) {
    if (line !== undefined && visibleWidth(line) + visibleWidth(separator) + visibleWidth(piece) <= width) {
      line += separator + piece;
    } else {
      if (line !== undefined) lines.push(line);
      line = piece;
    }
  }
  if (line !== undefined) lines.push(line);
  return lines;
}

/**
 * `text` split at its spaces into the pieces `wrapText` breaks it between: its words, a number kept with the word
 * after it (`0.09 µs`, `2 cores`, `16 MiB`), so that no line starts with a unit; a list of numbers stays apart.
 */
export function words(text: string): string[] {
  const pieces: string[] = [];
  for (const word of text.split(' ')) {
    const last = pieces.length - 1;
    if (last >= 0 && /\d$/.test(pieces[last]!) && !pieces[last]!.includes(' ') && /^[\p{L}µ]/u.test(word)) {
      pieces[last] += ` ${word}`;
    } else {
      pieces.push(word);
    }
  }
  return pieces;
}

/** `pieces`, but each one wider than `width` split at its spaces: kept whole only where it fits on a line. */
function fitPieces(pieces: readonly string[], width: number): string[] {
  return pieces.flatMap((piece) => (visibleWidth(piece) > width ? piece.split(' ') : [piece]));
}

/**
 * `text` wrapped at its spaces into lines of at most `width` columns, joined by newlines. A number keeps the word
 * after it (`0.09 µs`, `2 cores`, `16 MiB`) where the two fit on a line; a list of numbers still breaks anywhere.
 */
export function wrapText(text: string, width: number): string {
  return wrap(fitPieces(words(text), width), width).join('\n');
}

/**
 * One line of printout for a terminal `columns` wide: as it is where it fits (a table's row, a chart's), else
 * wrapped at its spaces, each further line UNDER_LABEL_INDENT columns further in than the line itself starts, so that
 * it reads as one item and not as the next (`   primes per batch: [9592, 8392,` then `       8013, 7863]`).
 */
export function wrapLine(line: string, columns: number): string {
  if (visibleWidth(line) <= columns) return line;
  const indent = line.length - line.trimStart().length;
  const further = indent + UNDER_LABEL_INDENT;
  const lines: string[] = [];
  let current = ' '.repeat(indent);
  let empty = true; // no word on `current` yet
  // A run of spaces (a column's padding) gives empty pieces: kept within a line, dropped where the line breaks
  for (const piece of fitPieces(words(line.slice(indent)), columns - further)) {
    if (empty && piece === '') continue;
    if (!empty && visibleWidth(current) + 1 + visibleWidth(piece) > columns) {
      lines.push(current.trimEnd()); // the padding before the break, if any
      [current, empty] = [' '.repeat(further), true];
    }
    current += (empty ? '' : ' ') + piece;
    empty = false;
  }
  lines.push(current);
  return lines.join('\n');
}

/**
 * `console.log(line)`, but on a terminal a line wider than it wraps at its spaces (wrapLine) instead of at its edge,
 * mid-word: the exercises print with it. Off a terminal a line goes as it is, for logs and grep.
 */
export function printLine(line: string): void {
  console.log(process.stdout.isTTY === true ? wrapLine(line, terminalColumns(process.stdout)) : line);
}

/** Below this many columns for its text, a list item puts the text under its label instead of beside it. */
const MIN_HANGING_WIDTH = 20;
/** How much further in than its label a list item's text goes when it goes under the label. */
const UNDER_LABEL_INDENT = 4;

/**
 * One item of a list such as a command's options: `label`, then its text from column `column` on, in lines of at most
 * `width` columns whose continuations start at that column too (a hanging indent):
 *
 *   --min SIZE        smallest message: a multiple of 8 bytes (B, KiB, MiB,
 *                     GiB) (default 8)
 *
 * Each paragraph, a list of pieces (`words(text)`, or `['<name>', '[--ranks N]']`), starts a line of its own and
 * breaks between its pieces; a piece wider than a line breaks at its spaces, and a word wider than a line has one of
 * its own. When fewer than MIN_HANGING_WIDTH columns would be left for the text, or than its widest word needs, or the
 * label reaches past `column`, the text goes on the lines under the label, UNDER_LABEL_INDENT columns further in than
 * the label starts (where that is left of `column`): `under` decides it for the caller that wants several items alike.
 */
export function hangingItem(
  label: string, paragraphs: readonly (readonly string[])[], column: number, width: number,
  under = goesUnderLabel(label, paragraphs, column, width),
): string[] {
  const labelWidth = visibleWidth(label);
  const underIndent = label.length - label.trimStart().length + UNDER_LABEL_INDENT;
  if (underIndent >= column) under = false; // no room left of `column` to go under
  const indent = under ? underIndent : labelWidth > column ? labelWidth + 1 : column;
  const lines: string[] = [];
  for (const pieces of paragraphs) {
    lines.push(...wrap(fitPieces(pieces, width - indent), width - indent).map((line) => ' '.repeat(indent) + line));
  }
  if (under) return label.trim() === '' ? lines : [label.trimEnd(), ...lines];
  if (lines.length === 0) return [label.trimEnd()];
  lines[0] = label + lines[0]!.slice(labelWidth); // the label in place of the indent's first columns
  return lines;
}

/** Whether hangingItem puts the text of this item under its label (its comment says when). */
export function goesUnderLabel(
  label: string, paragraphs: readonly (readonly string[])[], column: number, width: number,
): boolean {
  const underIndent = label.length - label.trimStart().length + UNDER_LABEL_INDENT;
  const widestWord = Math.max(0, ...paragraphs.flat().flatMap((piece) => piece.split(' ')).map(visibleWidth));
  const besideWidth = width - column;
  return underIndent < column && (besideWidth < MIN_HANGING_WIDTH || besideWidth < widestWord || visibleWidth(label) > column);
}

/**
 * A command's usage, one form after another (`Usage: shmcomm bench ...`, then `       shmcomm exercise ...`): each
 * form's pieces wrap under its first word after `command`, or, on a terminal too narrow for that, under `command` a
 * little further in, the same for every form.
 */
export function usageLines(command: string, forms: readonly (readonly string[])[], columns: number): string[] {
  const prefix = 'Usage: ';
  const [column, width] = [command.length + 1, columns - prefix.length];
  const under = forms.some((pieces) => goesUnderLabel(command, [pieces], column, width)); // every form alike
  const lines = forms.flatMap((pieces) => hangingItem(command, [pieces], column, width, under));
  return lines.map((line, index) => (index === 0 ? prefix : ' '.repeat(prefix.length)) + line);
}

/** A width below this is no terminal's real one: a pty opened without a window size reports 0 columns. */
const MIN_PLAUSIBLE_COLUMNS = 20;
/** The width assumed when a terminal's is unknown. */
export const DEFAULT_COLUMNS = 80;

/**
 * How many columns a terminal on `stream` has: its `columns` when it is a terminal that reports a plausible width,
 * else DEFAULT_COLUMNS (a file or a pipe; a pty without a window size, whose `columns` is 0).
 */
export function terminalColumns(stream: TextStream): number {
  const columns = stream.columns;
  const plausible = stream.isTTY === true && columns !== undefined && columns >= MIN_PLAUSIBLE_COLUMNS;
  return plausible ? columns : DEFAULT_COLUMNS;
}

const CLEAR_LINE = '\r\x1b[2K';
/** Columns the progress line leaves free at its end: the `^C` that Ctrl-C echoes (2) and the cursor's. */
const PROGRESS_MARGIN = 3;

/** The signals that end the command where it stands: Ctrl-C, `kill`, a closed terminal. */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The part of `process` that Progress uses to erase its line when a signal ends the command; a fake in tests. */
export interface SignalTarget {
  readonly pid: number;
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  listenerCount(signal: NodeJS.Signals): number;
  kill(pid: number, signal: NodeJS.Signals): unknown;
}

/**
 * One line of progress on stderr that rewrites itself: `update('shared 64 KiB, 12 s left')` replaces the previous
 * text, `done()` erases the line. On anything that is not a terminal (a file, a pipe, CI logs) it writes nothing,
 * nor on a terminal that says it understands no escape codes (`TERM=dumb`): the line rewrites itself with them.
 *
 * While the line shows, a signal that ends the command (Ctrl-C's SIGINT, SIGTERM, SIGHUP) erases it first: the
 * command then dies of that signal as it would have, but leaves no half line before the shell's next prompt.
 */
export class Progress {
  readonly enabled: boolean;
  private readonly stream: TextStream;
  private readonly signals: SignalTarget;
  private shown = false;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.done();
    // With no listener left, the signal's default action is back: sent again, it ends the process as it would have.
    // Where the program listens for it itself, the program decides.
    if (this.signals.listenerCount(signal) === 0) this.signals.kill(this.signals.pid, signal);
  };

  constructor(stream: TextStream = process.stderr, env: Env = process.env, signals: SignalTarget = process) {
    this.stream = stream;
    this.signals = signals;
    this.enabled = stream.isTTY === true && env.TERM !== 'dumb';
  }

  /**
   * Replace the progress line with `text`, plain text cut to the terminal width so that it never wraps: short of it by
   * PROGRESS_MARGIN columns, the cursor's and the `^C` that the terminal echoes after the text at Ctrl-C, which
   * would otherwise wrap onto a line of its own and leave this one standing when the line is erased.
   */
  update(text: string): void {
    if (!this.enabled) return;
    const room = terminalColumns(this.stream) - PROGRESS_MARGIN;
    const line = [...text].length > room ? [...text].slice(0, room - 1).join('') + '…' : text;
    this.stream.write(CLEAR_LINE + line);
    if (!this.shown) for (const signal of ENDING_SIGNALS) this.signals.on(signal, this.onSignal);
    this.shown = true;
  }

  /** Erase the progress line, leaving the cursor at the start of an empty line for the results. */
  done(): void {
    if (!this.shown) return;
    this.stream.write(CLEAR_LINE);
    for (const signal of ENDING_SIGNALS) this.signals.off(signal, this.onSignal);
    this.shown = false;
  }
}
