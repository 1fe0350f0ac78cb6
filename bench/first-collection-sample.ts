// One sample of bench/first-collection.bench.ts, in a process of its own: the first collection
// this process ever runs; then, after the collector suite's warm-up, the same heap built and
// collected again (warm, as bench/cycles.bench.ts times it); then once more with a full V8
// collection just before collectCycles(); and the typed-array traversal of the graph.
//
// Run (bench/first-collection.bench.ts does it, one process per sample):
//   node --expose-gc --single-threaded-gc --import tsx bench/first-collection-sample.ts \
//     --shape=pairs --nodes=1000000 [--json=out.json]
// The flags are the collector suite's (bench/cycles.bench.ts says why), so that the warm figure
// here is the one that suite measures.

import { childArgs, isEntry, writeResult } from './child.js';
import { checkAllFreed, garbageHeap, warmUp } from './cycles-heap.js';
import { timeLimit } from './cycles-limits.js';
import { functionNames, graphUnits, makeGraph, SHAPES, type Shape } from './shapes.js';

/** Pairs are defined in units of this many functions, as in the collector's suite. */
const UNIT_SIZE = 10_000;

/** ns per node of each collection in one process, in the order they ran. */
export interface FirstCollectionSample {
  readonly shape: Shape;
  readonly nodes: number;
  /** The first collectCycles() the process ran: the collector's code not yet compiled by V8. */
  readonly firstNsPerNode: number;
  /**
   * The same heap built and collected again once the collector's suite's warm-up has run (30
   * collections of 1,000 nodes), with a full V8 collection before the build: that suite's figure.
   */
  readonly warmNsPerNode: number;
  /** Built once more, then gc() just before the timed collectCycles(). */
  readonly afterGcNsPerNode: number;
  /** Median of one flat typed-array traversal of the same graph. */
  readonly traversalNsPerNode: number;
}

/** A full V8 collection; the process must run with --expose-gc. */
function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('first-collection-sample needs node --expose-gc');
  gc();
}

export function sample(shape: Shape, nodes: number): FirstCollectionSample {
  const graph = makeGraph(shape, nodes);
  const units = graphUnits(graph, functionNames(nodes), UNIT_SIZE);
  const collect = (gcFirst: boolean): number => {
    const heap = garbageHeap(units, nodes);
    if (gcFirst) fullGc();
    const start = performance.now();
    const result = heap.collectCycles();
    const ns = (performance.now() - start) * 1e6;
    checkAllFreed(heap, result, nodes);
    return ns / nodes;
  };
  const firstNsPerNode = collect(false);
  warmUp(shape, UNIT_SIZE);
  fullGc();
  const warmNsPerNode = collect(false);
  const afterGcNsPerNode = collect(true);
  const traversalNsPerNode = timeLimit(graph, 5) / nodes;
  return { shape, nodes, firstNsPerNode, warmNsPerNode, afterGcNsPerNode, traversalNsPerNode };
}

if (isEntry(import.meta.url)) {
  const { json } = childArgs();
  const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const shape = arg('shape') as Shape | undefined;
  const nodes = Number(arg('nodes'));
  if (shape === undefined || !SHAPES.includes(shape) || !Number.isInteger(nodes) || nodes <= 0) {
    throw new Error(`usage: first-collection-sample.ts --shape=${SHAPES.join('|')} --nodes=N (got ${shape}, ${arg('nodes')})`);
  }
  writeResult(json, sample(shape, nodes));
}
