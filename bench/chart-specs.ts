// The benchmarks' charts as vega-lite specs, which bench/charts.ts renders to SVG: log scales,
// one line per series with fixed colours, and in the subtitle where the figures were measured,
// never anything about the run that renders them.

import type { TopLevelSpec } from 'vega-lite';
import type { ChartInput } from './charts.js';

export const PANEL = { width: 640, height: 360 } as const;
/** Panel headings for the bench's shapes (see bench/shapes.ts); other shapes are headed by name. */
const SHAPE_HEADINGS: Readonly<Record<string, string>> = {
  pairs: 'pairs: n/2 two-node cycles, one edge per node',
  ring: 'ring: one cycle through every node, one edge per node',
  random4: 'random4: four edges per node (a random ring plus three random calls)',
};
const FONT = 'Helvetica, Arial, sans-serif';
/** Fixed colours, so a series keeps its colour when another is missing from a run. */
export const COLOURS = ['#4c78a8', '#f58518', '#7f7f7f', '#54a24b', '#e45756', '#b279a2', '#72b7b2', '#9d755d'] as const;
export const SOLID: number[] = [];
export const DASHED = [6, 4];

// vega-lite exports only the top-level spec type; the pieces built apart from it are typed from it.
export type LayerList = Extract<TopLevelSpec, { layer: unknown }>['layer'];
export type Encoding = NonNullable<Extract<LayerList[number], { mark: unknown }>['encoding']>;
export type Position = NonNullable<Encoding['x']>;

/** A point of any chart here: one series' time at one x. */
export interface Datum {
  readonly series: string;
  readonly x: number;
  readonly ns: number;
  /** false for the ends of a line drawn across the range (the bump allocator): no marker. */
  readonly measured: boolean;
  readonly shape?: string;
}

/** A legend entry: its label, colour and dash. */
export interface Series {
  readonly name: string;
  readonly colour: string;
  readonly dash: number[];
}

// ---- the charts ---------------------------------------------------------------------------------

export function collectSpec(results: ChartInput): TopLevelSpec | null {
  const cpython = results.cycles.cpython;
  const names = {
    codeheap: 'codeheap collectCycles()',
    limit: 'traversal limit (flat typed arrays)',
    cpython: `CPython${cpython !== undefined && 'version' in cpython ? ` ${cpython.version}` : ''} gc.collect()`,
  };
  const data: Datum[] = [];
  for (const r of results.cycles.rows) {
    const at = { x: r.nodes, shape: r.shape, measured: true };
    data.push({ ...at, series: names.codeheap, ns: r.codeheapNsPerNode });
    data.push({ ...at, series: names.limit, ns: r.limitNsPerNode });
    if (r.cpythonNsPerNode !== null) data.push({ ...at, series: names.cpython, ns: r.cpythonNsPerNode });
  }
  for (const p of results.extraCollectSeries ?? []) {
    data.push({ series: p.series, x: p.nodes, ns: p.nsPerNode, shape: p.shape, measured: true });
  }
  const plotted = data.filter((d) => d.x > 0 && d.ns > 0 && Number.isFinite(d.x) && Number.isFinite(d.ns));
  if (plotted.length === 0) return null;

  const series = legend(plotted, [
    { name: names.codeheap, colour: COLOURS[0], dash: SOLID },
    { name: names.cpython, colour: COLOURS[1], dash: SOLID },
    { name: names.limit, colour: COLOURS[2], dash: DASHED },
  ]);
  // The bench's shapes in the bench's order, then any others the extra series bring.
  const shapes = unique(['pairs', 'ring', 'random4', ...plotted.map((d) => d.shape ?? '')]).filter((s) =>
    plotted.some((d) => d.shape === s),
  );
  return {
    ...common(),
    title: {
      text: 'Cycle collection: time per node as the heap grows',
      subtitle: subtitle(results, 'one collectCycles() of a heap that is all garbage cycles (median); lower is better'),
    },
    data: { values: plotted.map((d) => ({ ...d, panel: SHAPE_HEADINGS[d.shape ?? ''] ?? d.shape ?? '' })) },
    facet: {
      field: 'panel',
      type: 'nominal',
      sort: shapes.map((s) => SHAPE_HEADINGS[s] ?? s),
      title: null,
      header: { labelFontSize: 13, labelFontWeight: 'bold', labelAnchor: 'start', labelLimit: 0 },
    },
    columns: 1,
    spec: {
      width: PANEL.width,
      height: PANEL.height,
      layer: layers(
        xEncoding('nodes in the heap (log scale)', plotted),
        yEncoding('collection time per node (log scale)', plotted),
        series,
      ),
    },
    resolve: { axis: { x: 'independent' } },
  };
}

export function allocatorSpec(results: ChartInput): TopLevelSpec | null {
  const names = {
    tlsf: 'codeheap TLSF',
    malloc: '@thi.ng/malloc MemPool',
    bump: 'bump allocator (never frees: the limit)',
  };
  const data: Datum[] = [];
  for (const f of results.allocatorPeers) {
    if (f.contender !== 'bump') data.push({ series: names[f.contender], x: f.live, ns: f.medianNs, measured: true });
  }
  const measured = data.filter((d) => d.x > 0 && d.ns > 0 && Number.isFinite(d.x) && Number.isFinite(d.ns));
  if (measured.length === 0) return null;
  const xs = measured.map((d) => d.x);
  const [least, most] = [Math.min(...xs), Math.max(...xs)];
  // The bump allocator keeps no blocks, so it has no x of its own: its one figure is a flat line
  // across the range the others were measured over.
  const plotted = [...measured];
  const bump = results.allocatorPeers.find((f) => f.contender === 'bump');
  if (bump !== undefined && bump.medianNs > 0) {
    for (const x of [least, most]) plotted.push({ series: names.bump, x, ns: bump.medianNs, measured: false });
  }

  const series = legend(plotted, [
    { name: names.tlsf, colour: COLOURS[0], dash: SOLID },
    { name: names.malloc, colour: COLOURS[1], dash: SOLID },
    { name: names.bump, colour: COLOURS[2], dash: DASHED },
  ]);
  const note = [
    'allocate + free at a steady number of live blocks (median per step); lower is better',
  ];
  const pool = measured.filter((d) => d.series === names.malloc).map((d) => d.x);
  const tlsf = measured.filter((d) => d.series === names.tlsf).map((d) => d.x);
  if (pool.length > 0 && tlsf.length > 0 && Math.max(...pool) < Math.max(...tlsf)) {
    note.push(`MemPool is not run past ${count(Math.max(...pool))} live blocks: its set-up is quadratic`);
  }
  return {
    ...common(),
    title: { text: 'Allocate + free: time per step as live blocks grow', subtitle: subtitle(results, ...note) },
    data: { values: plotted },
    width: PANEL.width,
    height: PANEL.height,
    layer: layers(
      xEncoding('live blocks (log scale)', measured),
      yEncoding('allocate + free, per step (log scale)', plotted),
      series,
    ),
  };
}

// ---- pieces shared by both ----------------------------------------------------------------------

/** Settings for the whole picture: white behind (readable on a dark page too), one font. */
export function common(): Pick<TopLevelSpec, '$schema' | 'background' | 'padding' | 'config'> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 16,
    config: {
      font: FONT,
      title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#555', anchor: 'start', offset: 12 },
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
      legend: { labelFontSize: 12, titleFontSize: 12, symbolStrokeWidth: 2.5, symbolSize: 240, labelLimit: 400 },
    },
  };
}

/** The lines, and a marker on each measured point; one legend for colour and dash. */
export function layers(x: Position, y: Position, series: readonly Series[]): LayerList {
  const domain = series.map((s) => s.name);
  // Colour and dash share field, title and legend, so vega-lite draws one legend showing both.
  const shared = {
    field: 'series',
    type: 'nominal',
    title: null,
    legend: { orient: 'top', direction: 'vertical', symbolType: 'stroke' },
  } as const;
  const colour: Encoding['color'] = { ...shared, sort: domain, scale: { domain, range: series.map((s) => s.colour) } };
  const dash: Encoding['strokeDash'] = { ...shared, sort: domain, scale: { domain, range: series.map((s) => s.dash) } };
  return [
    {
      mark: { type: 'line', strokeWidth: 2.5, interpolate: 'linear' },
      encoding: {
        x,
        y,
        color: colour,
        strokeDash: dash,
        order: { field: 'x', type: 'quantitative' },
      },
    },
    {
      transform: [{ filter: 'datum.measured' }],
      mark: { type: 'point', filled: true, size: 50, opacity: 1 },
      encoding: { x, y, color: colour },
    },
  ];
}

export function xEncoding(title: string, data: readonly Datum[]): Position {
  const xs = unique(data.map((d) => d.x)).sort((a, b) => a - b);
  const [least, most] = [Math.min(...xs), Math.max(...xs)];
  // Few sizes were measured: label exactly those; many: label the powers of ten between them.
  const ticks = xs.length <= 8 ? xs : powersOfTen(least, most);
  return {
    field: 'x',
    type: 'quantitative',
    title,
    scale: { type: 'log', domain: [least, most], nice: false, padding: 18 },
    axis: { values: ticks, format: ',d', labelFlush: false, grid: true },
  };
}

export function yEncoding(title: string, data: readonly Datum[]): Position {
  const ns = data.map((d) => d.ns);
  const ticks = logTicks(Math.min(...ns), Math.max(...ns));
  return {
    field: 'ns',
    type: 'quantitative',
    title,
    scale: { type: 'log', domain: [Math.min(...ticks), Math.max(...ticks)], nice: false },
    axis: {
      values: ticks,
      // Units on every label: the scale spans nanoseconds to milliseconds.
      labelExpr:
        "datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + ' ms'"
        + " : datum.value >= 1e3 ? format(datum.value / 1e3, '~g') + ' µs'"
        + " : format(datum.value, '~g') + ' ns'",
    },
  };
}

/**
 * The legend's entries: the known series present, in their order, then the others in the order the
 * caller gave them (so the caller decides which comes first and which colour it gets).
 */
export function legend(data: readonly Datum[], known: readonly Series[]): Series[] {
  const present = new Set(data.map((d) => d.series));
  const result = known.filter((s) => present.has(s.name));
  const others = [...present].filter((name) => !known.some((s) => s.name === name));
  const spare = COLOURS.filter((c) => !known.some((s) => s.colour === c));
  // Past the spare colours, they come round again dashed.
  others.forEach((name, i) => {
    result.push({ name, colour: spare[i % spare.length] ?? '#000000', dash: i < spare.length ? SOLID : DASHED });
  });
  return result;
}

/** Ticks for a log axis covering [least, most]: 1-2-5 in each decade, or just the decades when there are many. */
function logTicks(least: number, most: number): number[] {
  const lo = Math.floor(Math.log10(least));
  const hi = Math.ceil(Math.log10(most));
  const steps = hi - lo > 3 ? [1] : [1, 2, 5];
  const all: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of steps) all.push(m * 10 ** e);
  // Keep one tick at or below the least value and one at or above the most, so the lines fill the panel.
  const below = all.filter((t) => t <= least);
  const above = all.filter((t) => t >= most);
  const from = below.length === 0 ? 0 : below.length - 1;
  const to = above.length === 0 ? all.length : all.length - above.length + 1;
  return all.slice(from, to);
}

function powersOfTen(least: number, most: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.ceil(Math.log10(least)); e <= Math.floor(Math.log10(most)); e++) ticks.push(10 ** e);
  return ticks;
}

export function subtitle(results: ChartInput, ...lines: string[]): string[] {
  const env = results.environment;
  if (env === undefined) return lines;
  return [
    ...lines,
    `${env.date.slice(0, 10)}; node ${env.node}; ${env.cpu}, ${env.cores} cores${env.quick === true ? '; quick run' : ''}`,
  ];
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}
