// The pause chart as a vega-lite spec (bench/charts.ts renders it): how long the JIT-like workload
// (bench/macro.bench.ts) waits on the heap, at each percentile, with whole collections and with
// collections in slices (cyclePause), beside the 1 ms target. Built from the pieces of
// bench/chart-specs.ts; the y axis is in ns like the other charts', so its labels carry units.

import type { TopLevelSpec } from 'vega-lite';
import type { ChartInput } from './charts.js';
import {
  COLOURS, DASHED, PANEL, SOLID, common, layers, legend, subtitle, yEncoding, type Datum, type Position,
} from './chart-specs.js';

/** The percentiles along the x axis, in order; a series draws the ones its run kept. */
const LEVELS = ['p50', 'p90', 'p99', 'p99.9', 'max'] as const;
type Level = (typeof LEVELS)[number];
const TARGET_MS = 1;

/** The parts of a macro result the chart reads (bench/macro.bench.ts's MacroResult). */
export interface PauseFigures {
  readonly config: { readonly cyclePause?: number };
  readonly collector: { readonly pauseMedianMs: number; readonly pauseP99Ms: number; readonly pauseMaxMs: number };
  readonly calls?: {
    readonly p50Ms: number; readonly p90Ms?: number; readonly p99Ms: number; readonly p999Ms: number; readonly maxMs: number;
  };
  readonly slices?: {
    readonly longestP50Ms?: number; readonly longestP90Ms?: number; readonly longestP99Ms: number; readonly longestMaxMs: number;
    readonly withoutV8Gc?: { readonly longestP99Ms: number; readonly longestMaxMs: number };
  };
}

export function pauseSpec(results: ChartInput): TopLevelSpec | null {
  const whole = results.macro;
  const sliced = results.macroSliced;
  if (whole === undefined) return null;
  const budget = sliced?.config.cyclePause;
  const names = {
    collections: 'whole collections: pause',
    wholeCalls: 'whole collections: heap calls',
    slices: 'in slices: longest slice',
    ownSlices: 'in slices: longest, less V8 GC',
    slicedCalls: 'in slices: heap calls',
    target: `target: ${TARGET_MS} ms`,
  };
  const data: Datum[] = [];
  const add = (series: string, figures: Partial<Record<Level, number | undefined>>): void => {
    LEVELS.forEach((level, x) => {
      const ms = figures[level];
      if (ms !== undefined && ms > 0 && Number.isFinite(ms)) data.push({ series, x, ns: ms * 1e6, measured: true });
    });
  };
  const c = whole.collector;
  add(names.collections, { p50: c.pauseMedianMs, p99: c.pauseP99Ms, max: c.pauseMaxMs });
  if (whole.calls !== undefined) add(names.wholeCalls, callLevels(whole.calls));
  if (sliced?.calls !== undefined) add(names.slicedCalls, callLevels(sliced.calls));
  const s = sliced?.slices;
  if (s !== undefined) add(names.slices, { p50: s.longestP50Ms, p90: s.longestP90Ms, p99: s.longestP99Ms, max: s.longestMaxMs });
  if (s?.withoutV8Gc !== undefined) add(names.ownSlices, { p99: s.withoutV8Gc.longestP99Ms, max: s.withoutV8Gc.longestMaxMs });
  if (data.length === 0) return null;
  for (const x of [0, LEVELS.length - 1]) data.push({ series: names.target, x, ns: TARGET_MS * 1e6, measured: false });

  const series = legend(data, [
    { name: names.collections, colour: COLOURS[2], dash: SOLID },
    { name: names.wholeCalls, colour: COLOURS[1], dash: SOLID },
    { name: names.slices, colour: COLOURS[0], dash: SOLID },
    { name: names.ownSlices, colour: COLOURS[0], dash: DASHED },
    { name: names.slicedCalls, colour: COLOURS[3], dash: SOLID },
    { name: names.target, colour: COLOURS[4], dash: DASHED },
  ]);
  const x: Position = {
    field: 'x',
    type: 'quantitative',
    title: 'percentile (nearest rank)',
    scale: { domain: [-0.25, LEVELS.length - 0.75], nice: false, zero: false },
    axis: {
      values: LEVELS.map((_, i) => i),
      labelExpr: `[${LEVELS.map((l) => `'${l}'`).join(', ')}][datum.value]`,
      grid: true,
    },
  };
  return {
    ...common(),
    title: {
      text: 'Pauses in the JIT-like workload',
      subtitle: subtitle(
        results,
        'the time one heap call or one collection keeps the program waiting, by percentile; lower is better',
        `collections whole, or in slices${budget === undefined ? '' : ` of cyclePause ${budget} ms`}; pause and slice series have one value a collection`,
      ),
    },
    data: { values: data },
    width: PANEL.width,
    height: PANEL.height,
    layer: layers(x, yEncoding('pause (log scale)', data), series),
  };
}

function callLevels(calls: NonNullable<PauseFigures['calls']>): Partial<Record<Level, number | undefined>> {
  return { p50: calls.p50Ms, p90: calls.p90Ms, p99: calls.p99Ms, 'p99.9': calls.p999Ms, max: calls.maxMs };
}
