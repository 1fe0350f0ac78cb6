// Benchmark of the object-per-node baseline (bench/object-graph.ts): the collector a JavaScript
// developer would write first, on the same garbage graphs as codeheap's collector, and the depth
// of graph at which its recursion overflows the stack.
//
// 1. Per shape and size: the graph of bench/shapes.ts (pairs, one ring, random with 4 edges per
//    node; the very graphs bench/cycles.bench.ts gives codeheap) is built as ObjectNodes, each
//    held by one external reference; then every reference is released, so every node is a
//    buffered candidate held only by garbage cycles, and ONE collectCycles() is timed. Figures
//    are the median over fresh graphs, per node, after untimed collections of a small graph of
//    the shape (V8 must have optimized the collector first). Every collection must free every
//    node. A collection that throws RangeError (Maximum call stack size exceeded) marks the size
//    as overflowed and ends its samples: the baseline cannot collect that graph at all.
// 2. Overflow depth: the shortest ring (a chain closed by a back edge, all released) whose
//    collection overflows the default stack, found by doubling and then bisecting. markGray,
//    scan and collectWhite each recurse once per node of a ring, so the length is the depth.
//    The depth depends on V8's frame sizes, hence on how far the collector has been optimized:
//    the search runs warmed up, as the timings do.
//
// Run: npx tsx bench/object-graph.bench.ts [--quick]
// (quick: sizes up to 100,000, fewer samples, a coarser depth search). No flags are needed; with
// --expose-gc a full V8 collection runs before each sample's set-up, as in bench/cycles.bench.ts.

import { childArgs, isEntry, writeResult } from './child.js';
import { median } from './harness.js';
import { ObjectGraph, ObjectNode } from './object-graph.js';
import { SHAPES, makeGraph, type CsrGraph, type Shape } from './shapes.js';

export interface ObjectGraphRow {
  readonly shape: Shape;
  readonly nodes: number;
  /** Fresh graphs collected; when overflowed, the last of them is the one that overflowed. */
  readonly samples: number;
  /** Median ms of one collectCycles() over the whole graph, per node, in ns; null when overflowed. */
  readonly nsPerNode: number | null;
  /** A collection of this graph threw RangeError (the stack overflowed). */
  readonly overflowed: boolean;
  /** Median time to build the graph (nodes, edges, roots taken and released), per node, in ns. */
  readonly buildNsPerNode: number;
}

export interface ObjectGraphResult {
  readonly quick: boolean;
  readonly rows: ObjectGraphRow[];
  /** The shortest released ring whose collectCycles() overflowed the default stack (nodes). */
  readonly overflowDepth: number;
  /** The longest ring the search saw collected; overflowDepth is within tolerance of it. */
  readonly collectedDepth: number;
  /** The search's precision: (overflowDepth - collectedDepth) / overflowDepth is at most this. */
  readonly depthTolerance: number;
  readonly totalSeconds: number;
}

/** With --expose-gc, a full V8 collection, so earlier samples' garbage is not collected inside a timed call. */
const gc = (globalThis as { gc?: () => void }).gc;

/**
 * One instance of each class, alive for the whole run. Class fields give instances a map reached
 * from the constructor's initial map only through (weak) transitions; with every node of the last
 * graph dead, a full collection dropped that map, and V8 threw away the collector's optimized
 * code (`--trace-deopt`: "weak objects") and reoptimized it inside the next timed calls, which
 * then took several to tens of times as long (random4 of 1,000 nodes: a median of 2.9 µs per
 * node instead of 0.2).
 */
export const KEEP_MAPS_ALIVE: readonly object[] = [new ObjectGraph(), new ObjectNode()];

const WARM_UP_NODES = 1_000;
const WARM_UP_RUNS = 30;

/** The graph as ObjectNodes, each held by one root while its edges are added, then released. */
function build(graph: CsrGraph): ObjectGraph {
  const objects = new ObjectGraph();
  const nodes: ObjectNode[] = [];
  for (let i = 0; i < graph.nodes; i++) {
    const node = new ObjectNode();
    objects.retain(node);
    nodes.push(node);
  }
  const { offsets, targets } = graph;
  for (let i = 0; i < graph.nodes; i++) {
    const from = nodes[i]!;
    for (let k = offsets[i]!; k < offsets[i + 1]!; k++) objects.addEdge(from, nodes[targets[k]!]!);
  }
  for (const node of nodes) objects.release(node);
  if (objects.candidates !== graph.nodes) throw new Error(`${objects.candidates} candidates of ${graph.nodes} nodes`);
  return objects;
}

/** The collection's figure, or 'overflow' when it threw RangeError; any other failure throws. */
function collect(objects: ObjectGraph, nodes: number): number | 'overflow' {
  let freed: number;
  const start = performance.now();
  try {
    freed = objects.collectCycles().freed;
  } catch (error) {
    if (error instanceof RangeError) return 'overflow';
    throw error;
  }
  const ms = performance.now() - start;
  if (freed !== nodes) throw new Error(`collectCycles freed ${freed} of ${nodes} garbage nodes`);
  return ms;
}

function warmUp(shape: Shape): void {
  const graph = makeGraph(shape, WARM_UP_NODES);
  for (let r = 0; r < WARM_UP_RUNS; r++) {
    // As before each sample, so that whatever a full collection costs the optimized code is paid here.
    gc?.();
    if (collect(build(graph), graph.nodes) === 'overflow') throw new Error(`a warm-up ${shape} of ${WARM_UP_NODES} nodes overflowed`);
  }
}

function timeShape(shape: Shape, nodes: number, samples: number): ObjectGraphRow {
  const graph = makeGraph(shape, nodes);
  const collectMs: number[] = [];
  const buildMs: number[] = [];
  let overflowed = false;
  let run = 0;
  while (run < samples && !overflowed) {
    run++;
    gc?.();
    const start = performance.now();
    const objects = build(graph);
    buildMs.push(performance.now() - start);
    const ms = collect(objects, nodes);
    if (ms === 'overflow') overflowed = true;
    else collectMs.push(ms);
  }
  return {
    shape, nodes, samples: run, nsPerNode: overflowed ? null : (median(collectMs) * 1e6) / nodes, overflowed,
    buildNsPerNode: (median(buildMs) * 1e6) / nodes,
  };
}

/** Whether collecting a released ring of `length` nodes overflows the stack. */
function ringOverflows(length: number): boolean {
  return collect(build(makeGraph('ring', length)), length) === 'overflow';
}

/**
 * The shortest overflowing ring, by doubling from 1,024 and then bisecting until the bracket
 * [collected, overflowed) is within `tolerance` of its top.
 */
function overflowDepth(tolerance: number): { collected: number; overflowed: number } {
  let collected = 0;
  let overflowed = 1_024;
  while (!ringOverflows(overflowed)) {
    collected = overflowed;
    overflowed *= 2;
    if (overflowed > 1 << 26) throw new Error(`a ring of ${collected} nodes collected without overflowing; no depth found`);
  }
  while (overflowed - collected > overflowed * tolerance) {
    const mid = Math.floor((collected + overflowed) / 2);
    if (ringOverflows(mid)) overflowed = mid;
    else collected = mid;
  }
  return { collected, overflowed };
}

/** Samples per size, as bench/cycles.bench.ts takes them. */
function samplesFor(nodes: number, quick: boolean): number {
  if (nodes <= 1_000) return quick ? 11 : 21;
  if (nodes <= 10_000) return quick ? 7 : 11;
  return 5;
}

function formatRow(r: ObjectGraphRow): string {
  const ns = r.nsPerNode === null ? 'overflowed' : `${r.nsPerNode.toFixed(1)} ns/node`;
  return `${r.shape.padEnd(8)}${String(r.nodes).padStart(10)}  ${ns.padStart(14)}  build ${r.buildNsPerNode.toFixed(0).padStart(5)} ns/node  n=${r.samples}`;
}

export async function main(opts: { quick?: boolean } = {}): Promise<ObjectGraphResult> {
  const quick = opts.quick === true;
  const began = performance.now();
  const sizes = quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000];
  console.log('object-per-node baseline: one recursive collectCycles() per fresh graph of garbage (Map edges)');
  const rows: ObjectGraphRow[] = [];
  for (const shape of SHAPES) {
    warmUp(shape);
    for (const nodes of sizes) {
      const row = timeShape(shape, nodes, samplesFor(nodes, quick));
      rows.push(row);
      console.log(`  ${formatRow(row)}`);
    }
  }
  warmUp('ring');
  const depthTolerance = quick ? 0.1 : 0.02;
  const depth = overflowDepth(depthTolerance);
  console.log(`  overflow depth: a released ring of ${depth.overflowed} nodes overflows the stack; ${depth.collected} collected`);
  const totalSeconds = (performance.now() - began) / 1e3;
  console.log(`  total ${totalSeconds.toFixed(1)} s`);
  return { quick, rows, overflowDepth: depth.overflowed, collectedDepth: depth.collected, depthTolerance, totalSeconds };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick }));
}
