/**
 * A log-log line chart for the terminal, drawn with asciichart. Each measured point carries its series' mark (`o`,
 * `x`, ...), the columns between two points a line. Here `shared` lacks 8 KiB, so its line breaks after `╭──x` and
 * resumes further right:
 *
 *   MB/s
 *   100k ┤
 *        │o────o────o────o────o────o────o────o────o──o
 *    10k ┤                              x────x────x──x
 *        │                 ╭──x
 *     1k ┤             ╭─x─╯
 *        │        ╭─x──╯
 *    100 ┤    ╭x──╯
 *        │x───╯
 *     10 ┤
 *        └┬───────┬─────────┬──────┬───────┬─────────┬
 *        8 B    64 B      1 KiB  8 KiB  64 KiB   1 MiB
 *   ─o─ memcpy   ─x─ shared
 *
 * asciichart draws one value per column and spaces its rows evenly between a min and a max. It knows nothing of
 * logarithms, x values or gaps, so this file does three things around it:
 *
 * 1. x: every size gets a column by its logarithm (`columnOf`), so 8 B, 64 B, 512 B sit equally far apart even
 *    when a run measured uneven sizes. Between two measured sizes the line is interpolated column by column.
 * 2. y: asciichart plots log10(y). The range is widened to whole powers of ten and the height rounded so that each
 *    power of ten falls exactly on a row; those rows get the labels 1, 10, 100, 1k ... instead of "2.00", "3.00".
 * 3. gaps: asciichart 1.5 cannot skip values (a NaN poisons its min/max and then throws "Invalid array length").
 *    So each unbroken run of a series is plotted on its own, with the shared min/max/height (hence the same rows),
 *    and its line characters are copied into one grid at the run's columns. Where a series has no point, its line
 *    stops: nothing is drawn, rather than a dive to zero.
 *
 * Colors: asciichart can color a series, but then every cell carries escape codes, which makes copying cells
 * awkward. Instead the grid remembers which series drew each cell, and cells are colored when the rows are joined.
 * Where two series cross, the later one in the list is drawn on top, and the marks on top of every line. The marks
 * tell the lines apart where there are no colors (a pipe, a file, NO_COLOR, this comment), and show with colors too,
 * where they say which columns were measured and which only drawn between.
 */
import {
  colored, plot, blue, cyan, green, lightcyan, lightgreen, lightmagenta, lightred, magenta, red, yellow,
} from 'asciichart';
import { DEFAULT_COLUMNS, wrap } from '../term.js';
import { formatSize } from './format.js';

export interface ChartPoint {
  /** Message size in bytes (drawn on a log scale). */
  x: number;
  /** The measurement: MB/s, microseconds... Points whose y is not a positive finite number count as missing. */
  y: number;
}

export interface ChartSeries {
  name: string;
  points: readonly ChartPoint[];
}

export interface ChartOptions {
  /** Columns of the plot area, without the y labels (default 64, or what fits in `columns`). */
  width?: number;
  /**
   * The terminal's width (default 80). The chart keeps within it where it can: a terminal too narrow for the default
   * plot gets a narrower one, but never under MIN_WIDTH columns (with the y labels, about 30 in all), and the legend
   * wraps between its series.
   */
  columns?: number;
  /** Rows of the plot area, roughly: rounded so that powers of ten fall on rows (default 16). */
  height?: number;
  /** ANSI colors (one per series, legend included); false gives plain text without any escape code. */
  color: boolean;
  /** The unit of y, printed above the y labels: "MB/s", "µs". */
  yUnit: string;
  /** A heading printed above the chart. */
  title?: string;
}

const DEFAULT_WIDTH = 64;
/** The narrowest plot a narrow terminal gets: 8 B to 64 MiB still show three size labels. */
const MIN_WIDTH = 24;
const DEFAULT_HEIGHT = 16;

/** Series colors, in order; the eleventh series reuses the first color. */
export const SERIES_COLORS: readonly string[] = [
  cyan, green, yellow, magenta, blue, red, lightgreen, lightmagenta, lightcyan, lightred,
];

/**
 * Series marks, in order: each series' measured points carry its mark, which the legend repeats (`─o─ clone`), so
 * that the lines can be told apart without colors too. ASCII, one column wide in every terminal; the eleventh series
 * reuses the first mark.
 */
export const SERIES_MARKS: readonly string[] = ['o', 'x', '+', '*', '#', '@', '%', '&', '$', '='];

const markOf = (series: number): string => SERIES_MARKS[series % SERIES_MARKS.length]!;

/** The column (0 to width - 1) of size `x` when `xMin` is drawn in column 0 and `xMax` in the last column. */
export function columnOf(x: number, xMin: number, xMax: number, width: number): number {
  if (xMax === xMin) return 0;
  const fraction = Math.log(x / xMin) / Math.log(xMax / xMin);
  return Math.round(fraction * (width - 1));
}

/** A readable label for 10^exponent: 0.001, 0.1, 1, 10, 100, 1k, 10k, 1M, 1G, 1T; 1e-4 and 1e15 beyond those. */
export function formatPowerOfTen(exponent: number): string {
  if (exponent < -3 || exponent >= 15) return `1e${exponent}`;
  if (exponent < 0) return (10 ** exponent).toFixed(-exponent);
  const suffixes = ['', 'k', 'M', 'G', 'T'];
  const thousands = Math.floor(exponent / 3);
  return `${10 ** (exponent - 3 * thousands)}${suffixes[thousands]}`;
}

/** One drawn character and the index of the series that drew it. */
interface Cell {
  char: string;
  series: number;
}

/** A size label under the x axis: its tick's column in the plot, where the label starts on the line. */
interface Tick {
  column: number;
  start: number;
  label: string;
}

/** The chart as lines joined by `\n`: title, unit, plot rows, x axis, x labels, legend. */
export function renderChart(series: readonly ChartSeries[], options: ChartOptions): string {
  const columns = options.columns ?? DEFAULT_COLUMNS;
  const height = Math.max(1, Math.round(options.height ?? DEFAULT_HEIGHT));
  const paint = (text: string, seriesIndex: number): string =>
    options.color ? colored(text, SERIES_COLORS[seriesIndex % SERIES_COLORS.length]) : text;

  const lines: string[] = [];
  if (options.title) lines.push(options.title);

  // Only points that a log scale can show. A size whose y cannot be shown (a mode that failed) is still a size.
  const positive = (value: number): boolean => value > 0 && Number.isFinite(value);
  const usable = series.map((s) => s.points.filter((p) => positive(p.x) && positive(p.y)));
  const all = usable.flat();
  if (all.length === 0) {
    lines.push('(no data to chart)');
    return lines.join('\n');
  }

  // x: the sizes of any series, ascending. A series without a drawable point at one of them has a gap there.
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)).filter(positive))].sort((a, b) => a - b);
  if (sizes.length === 1) {
    lines.push('(one size: nothing to draw a line through; the table above has the figures)');
    return lines.join('\n');
  }
  const xMin = sizes[0]!;
  const xMax = sizes[sizes.length - 1]!;

  // y: whole powers of ten around the data (the epsilon keeps log10(1000) = 2.9999... from adding a decade).
  const logs = all.map((p) => Math.log10(p.y));
  const bottom = Math.floor(Math.min(...logs) + 1e-9);
  let top = Math.ceil(Math.max(...logs) - 1e-9);
  if (top === bottom) top++;
  const rowsPerDecade = Math.max(1, Math.round(height / (top - bottom)));
  const rows = (top - bottom) * rowsPerDecade; // asciichart draws rows + 1 lines, top one = `top`

  // The y labels sit on the rows where a power of ten falls; the other rows carry only the axis.
  const labels: string[] = [];
  for (let row = 0; row <= rows; row++) {
    labels.push(row % rowsPerDecade === 0 ? formatPowerOfTen(top - row / rowsPerDecade) : '');
  }
  const labelWidth = Math.max(...labels.map((label) => label.length));
  const gutter = labelWidth + 2; // labels, a space, the axis
  // The plot takes what the terminal leaves beside the labels, up to the default width.
  const fitting = Math.min(DEFAULT_WIDTH, Math.max(MIN_WIDTH, columns - gutter));
  const width = Math.max(2, Math.round(options.width ?? fitting));

  const grid: (Cell | undefined)[][] = [];
  for (let row = 0; row <= rows; row++) grid.push(new Array<Cell | undefined>(width).fill(undefined));

  for (let index = 0; index < usable.length; index++) {
    const logByX = new Map(usable[index]!.map((p) => [p.x, Math.log10(p.y)]));
    for (const run of unbrokenRuns(sizes, logByX)) {
      const start = columnOf(run[0]!.x, xMin, xMax, width);
      const values = interpolateColumns(run, (x) => columnOf(x, xMin, xMax, width));
      drawRun(grid, values, start, index, { min: bottom, max: top, rows });
    }
  }

  // The marks on top of every line, so that a later series' line never hides an earlier series' point (a later
  // series' mark does, where two points fall on one cell: the legend's order says which shows). Each goes on
  // the row where asciichart put its value: the same rounding of the same scale (rowsPerDecade rows to a decade).
  const rowOf = (log: number) => rows - (Math.round(log * rowsPerDecade) - Math.round(bottom * rowsPerDecade));
  for (let index = 0; index < usable.length; index++) {
    for (const p of usable[index]!) {
      grid[rowOf(Math.log10(p.y))]![columnOf(p.x, xMin, xMax, width)] = { char: markOf(index), series: index };
    }
  }

  lines.push(options.yUnit);
  for (let row = 0; row <= rows; row++) {
    const axis = labels[row] ? '┤' : '│';
    lines.push(`${labels[row]!.padStart(labelWidth)} ${axis}${joinCells(grid[row]!, paint)}`.trimEnd());
  }

  const ticks = placeTicks(xMin, xMax, width, gutter);
  let axisLine = '';
  for (let column = 0; column < width; column++) axisLine += ticks.some((t) => t.column === column) ? '┬' : '─';
  lines.push(`${' '.repeat(gutter - 1)}└${axisLine}`);
  let labelLine = '';
  for (const tick of ticks) labelLine += ' '.repeat(tick.start - labelLine.length) + tick.label;
  lines.push(labelLine);

  lines.push(...wrap(series.map((s, index) => `${paint(`─${markOf(index)}─`, index)} ${s.name}`), columns, '   '));
  return lines.join('\n');
}

/**
 * The runs of consecutive sizes (from `sizes`, which holds every series' sizes) that this series has: a size it
 * lacks ends one run, and the next size it has starts another.
 */
function unbrokenRuns(sizes: readonly number[], logByX: ReadonlyMap<number, number>): { x: number; log: number }[][] {
  const runs: { x: number; log: number }[][] = [];
  let current: { x: number; log: number }[] = [];
  for (const x of sizes) {
    const log = logByX.get(x);
    if (log === undefined) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else {
      current.push({ x, log });
    }
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/**
 * One log10(y) per column from the run's first column to its last: measured points keep their value, the columns
 * between two points get a straight line (straight on the log-log chart, since columns are log x).
 */
function interpolateColumns(run: readonly { x: number; log: number }[], column: (x: number) => number): number[] {
  const start = column(run[0]!.x);
  const values = [run[0]!.log];
  for (let i = 1; i < run.length; i++) {
    const from = column(run[i - 1]!.x);
    const to = column(run[i]!.x);
    for (let c = from + 1; c <= to; c++) {
      values[c - start] = run[i - 1]!.log + ((run[i]!.log - run[i - 1]!.log) * (c - from)) / (to - from);
    }
    // Two sizes in one column (a narrow chart): the later one wins.
    if (to === from) values[to - start] = run[i]!.log;
  }
  return values;
}

/**
 * Let asciichart draw one run and copy its line into `grid`, starting at column `start`.
 *
 * asciichart puts the first value on its y axis and draws, in each later column, the step from one value to the
 * next. Plotting the run with its first value doubled makes column k hold the step *into* value k (column 0 is a
 * flat `─` at the first value), so every value of the run gets exactly one column of its own.
 * With `offset: 1` and a one-character label, each line is the axis character followed by one character per step.
 */
function drawRun(
  grid: (Cell | undefined)[][],
  values: readonly number[],
  start: number,
  series: number,
  range: { min: number; max: number; rows: number },
): void {
  const text = plot([values[0]!, ...values], {
    min: range.min,
    max: range.max,
    height: range.rows,
    offset: 1,
    format: () => ' ',
  });
  const plotted = text.split('\n');
  for (let row = 0; row <= range.rows; row++) {
    for (let k = 0; k < values.length; k++) {
      const char = plotted[row]![k + 1];
      if (char !== undefined && char !== ' ') grid[row]![start + k] = { char, series };
    }
  }
}

/** A row of cells as text; each stretch drawn by one series is painted in that series' color. */
function joinCells(cells: readonly (Cell | undefined)[], paint: (text: string, series: number) => string): string {
  let text = '';
  let column = 0;
  while (column < cells.length) {
    const cell = cells[column];
    if (cell === undefined) {
      text += ' ';
      column++;
      continue;
    }
    let stretch = '';
    while (column < cells.length && cells[column]?.series === cell.series) stretch += cells[column++]!.char;
    text += paint(stretch, cell.series);
  }
  return text;
}

/**
 * The size labels under the x axis. The ends always get one; then powers of 1024 (1 KiB, 1 MiB), then 64 and 8
 * times those, each only where it keeps two spaces from the labels already placed. A label is centred on its
 * column (`start` counts from the left edge of the line, the y labels included).
 */
function placeTicks(xMin: number, xMax: number, width: number, gutter: number): Tick[] {
  const candidates = [xMin, xMax];
  for (const remainder of [0, 6, 3]) {
    for (let exponent = Math.ceil(Math.log2(xMin)); 2 ** exponent < xMax; exponent++) {
      if (exponent % 10 === remainder && 2 ** exponent > xMin) candidates.push(2 ** exponent);
    }
  }
  const placed: Tick[] = [];
  for (const x of candidates) {
    const label = formatSize(x);
    const column = columnOf(x, xMin, xMax, width);
    const centred = gutter + column - Math.floor(label.length / 2);
    const start = Math.min(Math.max(0, centred), gutter + width - label.length);
    const end = start + label.length;
    const clear = placed.every((other) => {
      const apart = end + 2 <= other.start || start >= other.start + other.label.length + 2;
      return apart && other.column !== column;
    });
    if (clear) placed.push({ column, start, label });
  }
  return placed.sort((a, b) => a.start - b.start);
}
