// The first collection in a fresh process, and one right after a full V8 collection, each beside
// the warm figure and the typed-array traversal measured in the same process.
//
// The collector's suite (bench/cycles.bench.ts) times collections after 30 untimed ones, when V8
// has compiled the collector. A JIT that collects once, early, meets it cold: this suite starts
// one process per sample (bench/first-collection-sample.ts), whose first collectCycles() is timed
// on a fresh heap that is all garbage (1,000,000 pairs, or one ring of 1,000,000), then, after
// that suite's warm-up, the same heap is built and collected again (warm), then once more with
// gc() just before the collection.
// Figures are medians over the processes, ns per node; each ratio is of figures of one process.
//
// Run: npm run build && npx tsx bench/first-collection.bench.ts [--quick]
// (quick: 50,000 nodes, 3 processes per shape; full: 1,000,000 nodes, 5 per shape; about 20 s
// a process at 1,000,000, most of it building the three heaps).

import { childArgs, isEntry, runChild, writeResult } from './child.js';
import type { FirstCollectionSample } from './first-collection-sample.js';
import { median } from './harness.js';
import type { Shape } from './shapes.js';

export const FIRST_COLLECTION_SHAPES: readonly Shape[] = ['pairs', 'ring'];

export interface FirstCollectionRow {
  readonly shape: Shape;
  readonly nodes: number;
  readonly samples: number;
  /** Medians over the processes, ns per node. */
  readonly firstNsPerNode: number;
  readonly warmNsPerNode: number;
  readonly afterGcNsPerNode: number;
  readonly traversalNsPerNode: number;
  /** Medians of each process's own ratios. */
  readonly firstVsWarm: number;
  readonly firstVsTraversal: number;
  readonly afterGcVsWarm: number;
  readonly afterGcVsTraversal: number;
  readonly warmVsTraversal: number;
}

export interface FirstCollectionResult {
  readonly quick: boolean;
  readonly rows: FirstCollectionRow[];
  readonly totalSeconds: number;
}

/** The medians of a shape's samples, each ratio taken inside one process first. */
export function summarize(samples: readonly FirstCollectionSample[]): FirstCollectionRow {
  const first = samples[0];
  if (first === undefined) throw new Error('summarize needs at least one sample');
  const of = (f: (s: FirstCollectionSample) => number): number => median(samples.map(f));
  return {
    shape: first.shape,
    nodes: first.nodes,
    samples: samples.length,
    firstNsPerNode: of((s) => s.firstNsPerNode),
    warmNsPerNode: of((s) => s.warmNsPerNode),
    afterGcNsPerNode: of((s) => s.afterGcNsPerNode),
    traversalNsPerNode: of((s) => s.traversalNsPerNode),
    firstVsWarm: of((s) => s.firstNsPerNode / s.warmNsPerNode),
    firstVsTraversal: of((s) => s.firstNsPerNode / s.traversalNsPerNode),
    afterGcVsWarm: of((s) => s.afterGcNsPerNode / s.warmNsPerNode),
    afterGcVsTraversal: of((s) => s.afterGcNsPerNode / s.traversalNsPerNode),
    warmVsTraversal: of((s) => s.warmNsPerNode / s.traversalNsPerNode),
  };
}

export function main(opts: { quick?: boolean } = {}): FirstCollectionResult {
  const quick = opts.quick === true;
  const began = performance.now();
  const nodes = quick ? 50_000 : 1_000_000;
  const processes = quick ? 3 : 5;
  console.log(`first collection in a fresh process: ${nodes} nodes, ${processes} processes per shape (ns per node)`);
  const rows: FirstCollectionRow[] = [];
  for (const shape of FIRST_COLLECTION_SHAPES) {
    const samples: FirstCollectionSample[] = [];
    for (let p = 0; p < processes; p++) {
      const s = runChild<FirstCollectionSample>('first-collection-sample.ts', ['--expose-gc', '--single-threaded-gc'], false,
        [`--shape=${shape}`, `--nodes=${nodes}`]);
      console.log(`  ${shape.padEnd(6)} first ${s.firstNsPerNode.toFixed(1).padStart(7)}  warm ${s.warmNsPerNode.toFixed(1).padStart(7)}`
        + `  after gc() ${s.afterGcNsPerNode.toFixed(1).padStart(7)}  traversal ${s.traversalNsPerNode.toFixed(1).padStart(6)}`);
      samples.push(s);
    }
    const row = summarize(samples);
    console.log(`  ${shape.padEnd(6)} medians: first ${row.firstNsPerNode.toFixed(1)} (${row.firstVsWarm.toFixed(2)}x warm, `
      + `${row.firstVsTraversal.toFixed(2)}x traversal); after gc() ${row.afterGcNsPerNode.toFixed(1)} (${row.afterGcVsWarm.toFixed(2)}x warm, `
      + `${row.afterGcVsTraversal.toFixed(2)}x traversal); warm ${row.warmNsPerNode.toFixed(1)}`);
    rows.push(row);
  }
  return { quick, rows, totalSeconds: (performance.now() - began) / 1000 };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, main({ quick }));
}
