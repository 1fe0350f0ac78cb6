// Draws the benchmarks' scaling curves as SVG files, headless: vega-lite compiles a spec to vega,
// vega renders it to an SVG string with no canvas and no browser. The specs are built in
// bench/chart-specs.ts.
//
//   npx tsx bench/charts.ts [bench/results/latest.json] [--out=bench/results]
//
// writes, from the results file a run of bench/run.ts left:
//
//   collect-scaling.svg     collectCycles() time per node against heap size, one panel per shape,
//                           beside the traversal limit and CPython (and any extra series the caller adds)
//   allocator-scaling.svg   allocate + free time per step against live blocks: codeheap's TLSF,
//                           @thi.ng/malloc's MemPool and the bump allocator
//   linker-scaling.svg      define and loadObject time per function against functions, beside
//                           ld.bfd and ld.gold (bench/chart-linkers.ts)
//   pauses.svg              the JIT-like workload's pauses by percentile, whole collections and
//                           collections in slices, beside the 1 ms target (bench/chart-pauses.ts)
//
// The files are committed beside the JSON, so the same input has to give the same bytes: text widths
// are estimated rather than measured (a canvas package, if one were installed, would measure them
// with whatever fonts the machine has), the ids of clip paths restart with every chart, and nothing
// about the run that rendered them (time, paths) goes into the picture.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { linkerSpec } from './chart-linkers.js';
import { pauseSpec, type PauseFigures } from './chart-pauses.js';
import { allocatorSpec, collectSpec } from './chart-specs.js';

// vega exports its text measurer at run time, but its typings leave it out.
declare module 'vega' {
  export const textMetrics: {
    /** true: measure text with a canvas when one is available; false: always estimate. */
    canvas(use: boolean): void;
  };
}

/** One point of a collection-time curve, for series beyond the three the chart draws itself. */
export interface CollectPoint {
  /** The graph's shape: a panel of its own ('pairs', 'ring', 'random4', or another). */
  readonly shape: string;
  readonly nodes: number;
  /** The legend's label; points with the same label form one line. */
  readonly series: string;
  readonly nsPerNode: number;
}

/**
 * What the charts are drawn from: the parts of bench/results/*.json they read, so bench/run.ts can
 * pass the results it holds and the command line can pass the parsed file.
 */
export interface ChartInput {
  /** bench/allocator-peers.bench.ts's figures; `live` is 0 for the bump allocator. */
  readonly allocatorPeers: readonly {
    readonly contender: 'tlsf' | 'malloc' | 'bump';
    readonly live: number;
    /** Median ns of one allocate + free step. */
    readonly medianNs: number;
  }[];
  readonly cycles: {
    /** The CPython the peer figures came from, or why it was not run. */
    readonly cpython?: { readonly version: string } | { readonly skipped: string };
    readonly rows: readonly {
      readonly shape: string;
      readonly nodes: number;
      readonly codeheapNsPerNode: number;
      readonly limitNsPerNode: number;
      /** null when CPython was not run. */
      readonly cpythonNsPerNode: number | null;
    }[];
  };
  /**
   * More collection-time curves to draw beside codeheap's (an object-per-node baseline, a
   * mark-sweep collector, ...): each distinct `series` is a line, in each `shape`'s panel.
   */
  readonly extraCollectSeries?: readonly CollectPoint[];
  /** bench/linkers.bench.ts's figures, ns per function; absent in results written before it. */
  readonly linkers?: {
    readonly rows: readonly {
      readonly functions: number;
      readonly defineNs: number;
      readonly loadObjectNs: number | null;
      readonly bfdNs: number | null;
      readonly goldNs: number | null;
    }[];
  };
  /** bench/macro.bench.ts's figures with whole collections and in slices; absent in older results. */
  readonly macro?: PauseFigures;
  readonly macroSliced?: PauseFigures;
  /** Where the figures were measured, for the charts' subtitles. */
  readonly environment?: {
    readonly date: string;
    readonly node: string;
    readonly cpu: string;
    readonly cores: number;
    readonly quick?: boolean;
  };
}

export const COLLECT_CHART = 'collect-scaling.svg';
export const ALLOCATOR_CHART = 'allocator-scaling.svg';
export const LINKER_CHART = 'linker-scaling.svg';
export const PAUSE_CHART = 'pauses.svg';

/**
 * Renders the charts into outDir (created if missing) and returns the paths written. A chart with
 * no data is not written.
 */
export async function renderCharts(results: ChartInput, outDir: string): Promise<string[]> {
  // Estimated widths (0.8 em a character) are the same on every machine; see the header.
  vega.textMetrics.canvas(false);
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [file, spec] of [
    [COLLECT_CHART, collectSpec(results)],
    [ALLOCATOR_CHART, allocatorSpec(results)],
    [LINKER_CHART, linkerSpec(results)],
    [PAUSE_CHART, pauseSpec(results)],
  ] as const) {
    if (spec === null) continue;
    const path = join(outDir, file);
    await writeFile(path, await toSvg(spec));
    written.push(path);
  }
  return written;
}

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    // Clip-path and gradient ids count up across renders; from 1 again, each chart's are its own.
    vega.resetSVGDefIds();
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

// ---- command line -------------------------------------------------------------------------------

async function main(args: readonly string[]): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  let input = join(here, 'results', 'latest.json');
  let out = join(here, 'results');
  let inputs = 0;
  for (const arg of args) {
    if (arg.startsWith('--out=')) out = resolve(arg.slice('--out='.length));
    else if (!arg.startsWith('-') && inputs++ === 0) input = resolve(arg);
    else throw new Error(`usage: npx tsx bench/charts.ts [results.json] [--out=dir] (not understood: ${arg})`);
  }
  const results = JSON.parse(await readFile(input, 'utf8')) as ChartInput;
  if (!Array.isArray(results.allocatorPeers) || !Array.isArray(results.cycles?.rows)) {
    throw new Error(`${input}: no allocatorPeers or cycles.rows; is it a results file of bench/run.ts?`);
  }
  const started = performance.now();
  const written = await renderCharts(results, out);
  const ms = performance.now() - started;
  for (const path of written) console.log(`wrote ${path}`);
  console.log(`(${ms.toFixed(0)} ms)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
