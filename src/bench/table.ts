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
  const gap = ' '.repeat(options.gap ?? 2);
  const columns = header.length;

  const widths: number[] = [];
  const aligns: Align[] = [];
  for (let column = 0; column < columns; column++) {
    let width = visibleWidth(header[column]!);
    for (const row of rows) width = Math.max(width, visibleWidth(row[column] ?? ''));
    widths.push(width);
    aligns.push(options.align?.[column] ?? (isNumericColumn(rows, column) ? 'right' : 'left'));
  }

  const line = (cells: readonly string[]): string => {
    const padded: string[] = [];
    for (let column = 0; column < columns; column++) {
      padded.push(pad(cells[column] ?? '', widths[column]!, aligns[column]!));
    }
    return padded.join(gap).trimEnd();
  };

  const lines = [line(header)];
  if (options.rule ?? true) lines.push(widths.map((width) => '─'.repeat(width)).join(gap));
  for (const row of rows) lines.push(line(row));
  return lines.join('\n');
}
