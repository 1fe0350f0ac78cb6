// The linkers' chart as a vega-lite spec (bench/charts.ts renders it): per-function cost against
// the number of functions, for heap.define, loadObject, ld.bfd -shared and ld.gold -shared, from
// bench/linkers.bench.ts's figures. Built from the pieces of bench/chart-specs.ts.

import type { TopLevelSpec } from 'vega-lite';
import type { ChartInput } from './charts.js';
import {
  COLOURS, DASHED, PANEL, SOLID, common, layers, legend, subtitle, xEncoding, yEncoding, type Datum,
} from './chart-specs.js';

export function linkerSpec(results: ChartInput): TopLevelSpec | null {
  const names = {
    define: 'codeheap heap.define',
    load: 'codeheap loadObject (gcc object)',
    bfd: 'ld.bfd -shared (whole process)',
    gold: 'ld.gold -shared (whole process)',
  };
  const data: Datum[] = [];
  for (const r of results.linkers?.rows ?? []) {
    const at = { x: r.functions, measured: true };
    data.push({ ...at, series: names.define, ns: r.defineNs });
    if (r.loadObjectNs !== null) data.push({ ...at, series: names.load, ns: r.loadObjectNs });
    if (r.bfdNs !== null) data.push({ ...at, series: names.bfd, ns: r.bfdNs });
    if (r.goldNs !== null) data.push({ ...at, series: names.gold, ns: r.goldNs });
  }
  const plotted = data.filter((d) => d.x > 0 && d.ns > 0 && Number.isFinite(d.ns));
  if (plotted.length === 0) return null;
  const series = legend(plotted, [
    { name: names.define, colour: COLOURS[0], dash: SOLID },
    { name: names.load, colour: COLOURS[3], dash: SOLID },
    { name: names.gold, colour: COLOURS[1], dash: DASHED },
    { name: names.bfd, colour: COLOURS[2], dash: DASHED },
  ]);
  const refused = (results.linkers?.rows ?? []).filter((r) => r.loadObjectNs === null).map((r) => r.functions.toLocaleString('en-US'));
  const note = ['N one-call functions (a ring), per function (median); lower is better'];
  if (refused.length > 0) note.push(`loadObject refused the object at ${refused.join(', ')} functions (see BENCHMARKS.md)`);
  return {
    ...common(),
    title: { text: 'Linking: cost per function as the unit grows', subtitle: subtitle(results, ...note) },
    data: { values: plotted },
    width: PANEL.width,
    height: PANEL.height,
    layer: layers(xEncoding('functions (log scale)', plotted), yEncoding('time per function (log scale)', plotted), series),
  };
}
