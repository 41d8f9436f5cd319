/**
 * A plain text table for benchmark results:
 *
 *       size     clone  transfer    shared
 *   ────────  ────────  ────────  ────────
 *        8 B      1.23      2.34      45.6
 *     64 KiB     1,234     5,678    12,345
 *
 * Every column is as wide as its widest cell. Columns whose cells are numbers (sizes and rates included) are
 * right-aligned, so digits line up; the others are left-aligned. Cells may carry ANSI color codes: widths are
 * measured on what the terminal shows, not on the escape sequences.
 *
 * A table wider than `width` is split into blocks of columns, one under the other with a blank line between, each
 * repeating the leading column(s), so that no line wraps on the terminal:
 *
 *       size     clone  transfer
 *   ────────  ────────  ────────
 *        8 B      1.23      2.34
 *     64 KiB     1,234     5,678
 *
 *       size    shared
 *   ────────  ────────
 *        8 B      45.6
 *     64 KiB    12,345
 */
import { stripAnsi, visibleWidth } from '../term.js';

export type Align = 'left' | 'right';

export interface TableOptions {
  /** Alignment per column; by default numeric columns go right and the others left. */
  align?: readonly Align[];
  /** Spaces between columns (default 2). */
  gap?: number;
  /** Draw a line of `─` under the header (default true). */
  rule?: boolean;
  /**
   * The columns a line may take (default Infinity: never split). A wider table is printed in blocks of columns that
   * fit, as few as fit and as even as they can be; a column too wide to fit beside the leading ones gets a block of
   * its own, and is wider than `width`.
   */
  width?: number;
  /** How many columns, from the first, label the rows and are repeated in every block (default 1). */
  leading?: number;
}

// A cell that reads as a number: "8 B", "1,234", "-12.5", "0.85x", ".5". "-" alone marks a missing value and
// does not decide the alignment either way.
const NUMERIC_CELL = /^[+-]?(\d|\.\d)/;
const MISSING_CELL = '-';

/** Whether every non-empty cell of column `column` in `rows` starts like a number. */
function isNumericColumn(rows: readonly (readonly string[])[], column: number): boolean {
  let numbers = 0;
  for (const row of rows) {
    const cell = stripAnsi(row[column] ?? '').trim();
    if (cell === '' || cell === MISSING_CELL) continue;
    if (!NUMERIC_CELL.test(cell)) return false;
    numbers++;
  }
  return numbers > 0;
}

/** Pad `cell` to `width` visible columns, on the left (right-aligned) or on the right. */
function pad(cell: string, width: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, width - visibleWidth(cell)));
  return align === 'right' ? fill + cell : cell + fill;
}

/**
 * The table as lines joined by `\n` (no trailing newline). Rows shorter than the header are padded with empty
 * cells; the header decides the number of columns.
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const gap = options.gap ?? 2;
  const columns = header.length;

  const widths: number[] = [];
  const aligns: Align[] = [];
  for (let column = 0; column < columns; column++) {
    let width = visibleWidth(header[column]!);
    for (const row of rows) width = Math.max(width, visibleWidth(row[column] ?? ''));
    widths.push(width);
    aligns.push(options.align?.[column] ?? (isNumericColumn(rows, column) ? 'right' : 'left'));
  }

  // The columns of each block, by index: the leading ones, then the block's own.
  const leading = Math.min(columns, Math.max(0, options.leading ?? 1));
  const labels = Array.from({ length: leading }, (_, column) => column);
  const blocks = splitColumns(widths, leading, gap, options.width ?? Infinity).map((block) => [...labels, ...block]);

  const render = (block: readonly number[]): string => {
    const line = (cells: readonly string[]): string =>
      block.map((column) => pad(cells[column] ?? '', widths[column]!, aligns[column]!)).join(' '.repeat(gap)).trimEnd();
    const lines = [line(header)];
    if (options.rule ?? true) lines.push(block.map((column) => '─'.repeat(widths[column]!)).join(' '.repeat(gap)));
    for (const row of rows) lines.push(line(row));
    return lines.join('\n');
  };
  return blocks.map(render).join('\n\n');
}

/**
 * The columns after the `leading` ones, in blocks that fit in `width` beside the leading ones: one block, all of
 * them, when the whole table fits. Otherwise as few blocks as fit, and then as even as they can be: the narrowest
 * limit that still needs no more blocks (8 modes at 80 columns go 4 and 4, not 7 and 1).
 */
function splitColumns(widths: readonly number[], leading: number, gap: number, width: number): number[][] {
  const labels = widths.map((_, column) => column).slice(0, leading);
  const data = widths.map((_, column) => column).slice(leading);
  // The width of a line of these columns.
  const span = (block: readonly number[]): number =>
    block.reduce((sum, column) => sum + widths[column]!, 0) + gap * Math.max(0, block.length - 1);
  if (span([...labels, ...data]) <= width || data.length === 0) return [data];

  // Greedy: each block takes columns while they fit, and always one (a column too wide for any block).
  const split = (limit: number): number[][] => {
    const blocks: number[][] = [];
    let block: number[] = [];
    for (const column of data) {
      if (block.length > 0 && span([...labels, ...block, column]) > limit) {
        blocks.push(block);
        block = [];
      }
      block.push(column);
    }
    blocks.push(block);
    return blocks;
  };

  const fewest = split(width).length;
  let limit = width;
  while (limit > 0 && split(limit - 1).length === fewest) limit--;
  return split(limit);
}
