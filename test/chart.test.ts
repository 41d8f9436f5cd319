import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { columnOf, formatPowerOfTen, renderChart, SERIES_MARKS, type ChartSeries } from '../src/bench/chart.js';
import { logSizes } from '../src/bench/format.js';
import { stripAnsi } from '../src/term.js';

const MiB = 2 ** 20;
const SIZES = logSizes(8, 64 * MiB, 20);
const WIDTH = 60;

/** A series with `y(size)` at every size, except at the sizes in `missing`. */
function series(name: string, y: (bytes: number) => number, missing: number[] = []): ChartSeries {
  return { name, points: SIZES.filter((x) => !missing.includes(x)).map((x) => ({ x, y: y(x) })) };
}

/** A fake bandwidth run: a flat ceiling, a curve that saturates, and a slow one (0.5 MB/s at 8 B). */
const RUN = [
  series('memcpy', () => 20_000),
  series('shared', (bytes) => bytes / (0.4 + bytes / 8000)),
  series('clone', (bytes) => bytes / (16 + bytes / 2000)),
];

/** The parts of a chart: the rows of the plot with their labels, the x axis, the x labels, the legend. */
function parse(chart: string) {
  const lines = chart.split('\n');
  const axisIndex = lines.findIndex((line) => line.includes('└'));
  const plotRows = lines.slice(lines.findIndex((line) => line.includes('┤')), axisIndex);
  const axisColumn = plotRows[0]!.indexOf('┤');
  return {
    lines,
    plotRows,
    labels: plotRows.map((row) => row.slice(0, axisColumn).trim()).filter((label) => label !== ''),
    /** The character at plot column `column` (0 = just right of the axis) of each plot row. */
    column: (column: number) => plotRows.map((row) => row[axisColumn + 1 + column] ?? ' '),
    axis: lines[axisIndex]!,
    xLabels: lines[axisIndex + 1]!,
    legend: lines[axisIndex + 2]!,
  };
}

test('formatPowerOfTen: readable labels for powers of ten', () => {
  const cases: [number, string][] = [
    [-4, '1e-4'], [-3, '0.001'], [-1, '0.1'], [0, '1'], [1, '10'], [2, '100'], [3, '1k'], [4, '10k'], [5, '100k'],
    [6, '1M'], [9, '1G'], [12, '1T'], [14, '100T'], [15, '1e15'],
  ];
  for (const [exponent, label] of cases) assert.is(formatPowerOfTen(exponent), label, String(exponent));
});

test('columnOf maps sizes to columns on a log scale', () => {
  assert.is(columnOf(8, 8, 64 * MiB, 64), 0);
  assert.is(columnOf(64 * MiB, 8, 64 * MiB, 64), 63);
  // 8 B to 64 MiB is 2^3 to 2^26: 2^14.5 is halfway.
  assert.is(columnOf(2 ** 14.5, 8, 64 * MiB, 64), 32);
  assert.is(columnOf(1024, 1024, 1024, 64), 0);
});

test('without color: plain text, y labels are the powers of ten that cover the data', () => {
  const chart = renderChart(RUN, { color: false, yUnit: 'MB/s', width: WIDTH, title: 'Bandwidth' });
  assert.not.ok(chart.includes('\x1b'), 'an escape code in a plain chart');
  const { lines, labels } = parse(chart);
  assert.is(lines[0], 'Bandwidth');
  assert.is(lines[1], 'MB/s');
  // Data from 0.5 (clone at 8 B) to 20,000 (memcpy): labels from 0.1 to 100k, one per decade, top down.
  assert.equal(labels, ['100k', '10k', '1k', '100', '10', '1', '0.1']);
});

test('a series is drawn on the row of its value: 1000 on the 1k row, its mark at each size, a line between', () => {
  const chart = renderChart([series('flat', () => 1000)], { color: false, yUnit: 'MB/s', width: WIDTH });
  const { plotRows } = parse(chart);
  const row = plotRows.find((line) => line.trimStart().startsWith('1k ┤'))!;
  const expected = Array.from({ length: WIDTH }, () => '─');
  for (const size of SIZES) expected[columnOf(size, SIZES[0]!, SIZES[SIZES.length - 1]!, WIDTH)] = 'o';
  assert.ok(row.endsWith(`┤${expected.join('')}`), row);
  assert.is(expected.filter((char) => char === 'o').length, SIZES.length, 'each size a column of its own');
});

test('without colors the lines are told apart by their marks: each measured point, on the row of its value', () => {
  const chart = renderChart(RUN, { color: false, yUnit: 'MB/s', width: WIDTH });
  const { column, plotRows } = parse(chart);
  // The top row is 100k (10^5), the 10k row a decade below it: the rows of a decade, counted from the chart itself.
  const decade = plotRows.findIndex((line) => line.trimStart().startsWith('10k ┤'));
  const rowOf = (value: number) => Math.round(5 * decade) - Math.round(Math.log10(value) * decade);
  // memcpy (o) is flat at 20,000, clone (+) rises from 0.5 to 2,000: they never meet.
  for (const size of SIZES) {
    const at = column(columnOf(size, SIZES[0]!, SIZES[SIZES.length - 1]!, WIDTH));
    assert.is(at[rowOf(20_000)], 'o', `memcpy at ${size}`);
    assert.is(at[rowOf(size / (16 + size / 2000))], '+', `clone at ${size}`);
  }
  // Each series has as many marks as it has points, and no other cell holds a mark.
  const count = (mark: string) => plotRows.join('').split(mark).length - 1;
  assert.equal(['o', 'x', '+'].map(count), [SIZES.length, SIZES.length, SIZES.length]);
  assert.equal(SERIES_MARKS.slice(0, 3), ['o', 'x', '+']);
});

test('x labels: sizes under the axis, each centred on a tick, never touching', () => {
  const { axis, xLabels } = parse(renderChart(RUN, { color: false, yUnit: 'MB/s', width: WIDTH }));
  assert.ok(xLabels.endsWith('64 MiB'), xLabels);
  // Labels are words joined by single spaces ("64 KiB"), with at least two spaces between labels.
  const labels = [...xLabels.matchAll(/\S+( \S+)*/g)].map((match) => {
    return { text: match[0], start: match.index!, end: match.index! + match[0].length };
  });
  assert.equal(labels.map((label) => label.text), ['8 B', '64 B', '1 KiB', '64 KiB', '1 MiB', '64 MiB'], xLabels);
  // Each tick mark has its label right under it, and each label its tick.
  const ticks = [...axis].flatMap((char, i) => (char === '┬' ? [i] : []));
  assert.is(ticks.length, labels.length);
  for (let i = 0; i < ticks.length; i++) {
    assert.ok(labels[i]!.start <= ticks[i]! && ticks[i]! < labels[i]!.end, `tick at ${ticks[i]} without its label`);
  }
});

test('a missing point leaves a gap: nothing drawn in its column, the line resumes after it', () => {
  const missing = SIZES[10]!;
  const chart = renderChart(
    [series('memcpy', () => 10_000), series('shared', () => 100, [missing])],
    { color: false, yUnit: 'MB/s', width: WIDTH },
  );
  const { column, plotRows } = parse(chart);
  const rowOf = (label: string) => plotRows.findIndex((line) => line.trimStart().startsWith(`${label} ┤`));
  const gap = columnOf(missing, SIZES[0]!, SIZES[SIZES.length - 1]!, WIDTH);
  const before = columnOf(SIZES[9]!, SIZES[0]!, SIZES[SIZES.length - 1]!, WIDTH);
  const after = columnOf(SIZES[11]!, SIZES[0]!, SIZES[SIZES.length - 1]!, WIDTH);

  // In the gap's column only memcpy (10k) is drawn; shared (100) is blank there, not dropped to zero.
  const drawn = column(gap).flatMap((char, row) => (char === ' ' ? [] : [row]));
  assert.equal(drawn, [rowOf('10k')]);
  // Its neighbours' columns, where shared has points, carry its mark.
  assert.is(column(before)[rowOf('100')], 'x');
  assert.is(column(after)[rowOf('100')], 'x');
});

test('a point that a log scale cannot show (NaN, 0) is a gap too', () => {
  const values = new Map([[SIZES[4]!, NaN], [SIZES[5]!, 0]]);
  const odd = series('odd', (bytes) => values.get(bytes) ?? 50);
  const chart = renderChart([odd], { color: false, yUnit: 'µs', width: WIDTH });
  const { column } = parse(chart);
  for (const size of values.keys()) {
    const blank = column(columnOf(size, SIZES[0]!, SIZES[SIZES.length - 1]!, WIDTH)).every((char) => char === ' ');
    assert.ok(blank, `column of ${size} is not blank`);
  }
});

test('the legend names every series, in order', () => {
  const { legend } = parse(renderChart(RUN, { color: false, yUnit: 'MB/s', width: WIDTH }));
  assert.is(legend, '─o─ memcpy   ─x─ shared   ─+─ clone');
});

test('the chart keeps to the terminal: 64 columns of plot where they fit, fewer (24 at least) where not', () => {
  const plotWidth = (chart: string) => parse(chart).axis.split('└')[1]!.length;
  const widest = (chart: string) => Math.max(...chart.split('\n').map((line) => [...line].length));
  // 80 columns (a file, or a terminal of unknown width) and more: the default 64 beside the 6 of the y labels.
  assert.is(plotWidth(renderChart(RUN, { color: false, yUnit: 'MB/s' })), 64);
  assert.is(plotWidth(renderChart(RUN, { color: false, yUnit: 'MB/s', columns: 200 })), 64);
  const narrow = renderChart(RUN, { color: false, yUnit: 'MB/s', columns: 50 });
  assert.is(plotWidth(narrow), 44);
  assert.is(widest(narrow), 50);
  // Narrower still: the plot keeps 24 columns, and the legend wraps between its series.
  const tiny = renderChart(RUN, { color: false, yUnit: 'MB/s', columns: 30 });
  assert.is(plotWidth(tiny), 24);
  assert.is(widest(tiny), 30);
  assert.equal(tiny.split('\n').slice(-2), ['─o─ memcpy   ─x─ shared', '─+─ clone']);
  assert.is(plotWidth(renderChart(RUN, { color: false, yUnit: 'MB/s', columns: 10 })), 24);
  // An explicit width is the width, whatever the terminal.
  assert.is(plotWidth(renderChart(RUN, { color: false, yUnit: 'MB/s', width: WIDTH, columns: 30 })), WIDTH);
});

test('with color: one escape code per series, and the same picture once the codes are removed', () => {
  const plain = renderChart(RUN, { color: false, yUnit: 'MB/s', width: WIDTH });
  const colored = renderChart(RUN, { color: true, yUnit: 'MB/s', width: WIDTH });
  // cyan, green and yellow for series 1, 2 and 3, and the reset: no other code
  const codes = new Set(colored.match(/\x1b\[\d+m/g));
  assert.equal([...codes].sort(), ['\x1b[0m', '\x1b[32m', '\x1b[33m', '\x1b[36m']);
  assert.is(parse(colored).legend,
    '\x1b[36m─o─\x1b[0m memcpy   \x1b[32m─x─\x1b[0m shared   \x1b[33m─+─\x1b[0m clone');
  assert.is(stripAnsi(colored), plain);
});

test('no drawable point, or one size only: a short note instead of a chart', () => {
  assert.is(renderChart([], { color: false, yUnit: 'MB/s' }), '(no data to chart)');
  const none = { name: 'none', points: [{ x: 8, y: NaN }] };
  const nothing = renderChart([none], { color: false, yUnit: 'MB/s', title: 'T' });
  assert.is(nothing, 'T\n(no data to chart)');
  const one = [{ name: 'a', points: [{ x: 1024, y: 5000 }] }, { name: 'b', points: [{ x: 1024, y: 9000 }] }];
  assert.is(renderChart(one, { color: false, yUnit: 'MB/s', title: 'T' }),
    'T\n(one size: nothing to draw a line through; the table above has the figures)');
});

test.run();
