// Benchmark of the cycle collector (src/cycles/collect.ts): one collectCycles() over a heap that
// is all garbage cycles, beside the limit of any traversal, a full-heap mark-sweep, and the
// collectors of CPython and PHP; then its locality: a collection over a little garbage in a big
// live heap, against a full mark-sweep.
//
// 1. codeheap: the graph (bench/shapes.ts: pairs, one ring, random with 4 calls per node) is
//    defined through the public API in a fresh heap (cycleThreshold: Infinity), every handle is
//    freed, so every node is a buffered candidate held only by garbage cycles, and ONE
//    collectCycles() is timed. Figures are the median over fresh heaps, per node of the graph,
//    after 30 untimed collections of the shape (V8 must have optimized the collector first). The
//    "(V8 gc)" column is the part of that time V8's own collector took inside the call.
// 2. limit: one depth-first traversal of the same graph in flat typed arrays (CSR offsets and
//    targets, a byte of mark per node, an Int32Array stack), every node and edge once. Trial
//    deletion walks the graph three times (markGray, scan, collectWhite) and then frees every node,
//    so it cannot come near 1x; the target is 4x. Beside it, "sweep": a naive full-heap
//    mark-sweep of the same graph, which with no roots marks nothing and sweeps every node.
// 3. CPython: bench/python/gc_shapes.py builds the same graph (same xorshift sequence, checked by
//    checksum) of plain lists and times one gc.collect(), with the interpreter's own objects
//    frozen out of it (gc.freeze()). Target: codeheap at most half its cost. PHP, where it is
//    installed: bench/php/gc_shapes.php does the same with objects and gc_collect_cycles()
//    (bench/php-peer.ts); reported, with no target.
// 4. locality: 1,000,000 live functions (1,000 rings of 1,000, each held by a handle on its
//    first function) and 16 live leaf helpers, then 1,000 garbage functions (rings of 10, each
//    also calling a helper). One collectCycles() must visit about the garbage, not the heap;
//    the naive alternative marks from the roots over a CSR copy of the whole graph and sweeps every
//    node. Target: collectCycles at least 100x faster.
//
// Run: npm run build && node --expose-gc --single-threaded-gc --import tsx bench/cycles.bench.ts
//        [--quick] [--sizes=1000,1000000] [--json=out.json]
// (quick: sizes up to 100,000, fewer samples). bench/run.ts runs it so, in a process of its own.
// It measures the compiled library in dist/, as a user runs it (under tsx the same code is slower).
// --single-threaded-gc keeps V8's collector off the second core: on a machine of two cores, its
// concurrent marking and sweeping after each sample's set-up otherwise compete with the timed
// collection for memory bandwidth (the same graph then took 1.5-3x as long); V8's own pauses
// inside a timed call still count, and are reported in the "(V8 gc)" column.

import { loadavg } from 'node:os';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { UnitDefinition } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { runPhp } from './php-peer.js';
import {
  SHAPES, edgeChecksum, edgesPerNode, functionNames, graphUnits, makeGraph, markSweep, traverseAll,
  type CsrGraph, type Shape,
} from './shapes.js';

/**
 * The compiled library (`npm run build` writes it), as users run it; its types are the sources'.
 * A path in a variable, so that typechecking a fresh clone does not need dist/ to exist.
 */
const DIST_ENTRY: string = '../dist/index.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
type CodeHeap = InstanceType<typeof CodeHeap>;

const MiB = 1024 * 1024;
/** Pairs are defined in units of this many functions; rings and random graphs are one unit. */
const UNIT_SIZE = 10_000;
/** Targets, as ratios of codeheap's figure to the other's (at most) and speedup (at least). */
export const TARGETS = { vsLimit: 4, vsCPython: 0.5, localitySpeedup: 100 } as const;

export interface CyclesRow {
  readonly shape: Shape;
  readonly nodes: number;
  readonly edges: number;
  /** Fresh heaps timed (one collectCycles() each). */
  readonly samples: number;
  /** Median ms of one collectCycles() over the whole graph, divided by nodes, in ns. */
  readonly codeheapNsPerNode: number;
  /** Fastest and slowest of those collections, per node, in ns. */
  readonly codeheapMinNsPerNode: number;
  readonly codeheapMaxNsPerNode: number;
  /** Median ms of V8's own collections inside that call, per node, in ns (part of the above). */
  readonly v8GcNsPerNode: number;
  /** Nodes freed and visited by each collection (the same in every sample). */
  readonly freed: number;
  readonly visited: number;
  /** Median of one flat typed-array traversal of the same graph, per node, in ns. */
  readonly limitNsPerNode: number;
  /**
   * Median of a naive full-heap mark-sweep of the same graph in flat typed arrays, per node, in
   * ns: with no roots it marks nothing and sweeps every node onto a free list.
   */
  readonly markSweepNsPerNode: number;
  /** CPython's gc.collect() per node, net of its fixed cost on an empty heap; null when skipped. */
  readonly cpythonNsPerNode: number | null;
  /** PHP's gc_collect_cycles() per node, net of its fixed cost on an empty buffer; null when skipped. */
  readonly phpNsPerNode: number | null;
  /** codeheap / limit; target at most TARGETS.vsLimit. */
  readonly vsLimit: number;
  /** codeheap / CPython; target at most TARGETS.vsCPython; null when CPython was skipped. */
  readonly vsCPython: number | null;
}

export interface LocalityFigure {
  readonly liveNodes: number;
  readonly garbageNodes: number;
  readonly samples: number;
  /** Median ms of one collectCycles() with the garbage as its only candidates. */
  readonly collectMs: number;
  /** Nodes that collection visited (markGray's count) and freed. */
  readonly visited: number;
  readonly freed: number;
  /** Median ms of a full mark-sweep of the same graph (roots: the handles). */
  readonly markSweepMs: number;
  /** markSweepMs / collectMs; target at least TARGETS.localitySpeedup. */
  readonly speedup: number;
  /** ms of the one collection that first found the 1,000,000 freed-handle candidates live. */
  readonly liveScanMs: number;
}

export interface CyclesBenchResult {
  readonly quick: boolean;
  /** os.loadavg() at the start: 1, 5 and 15 minutes. */
  readonly loadAverage: readonly number[];
  /** CPython's version, or why it was skipped. */
  readonly cpython: { readonly version: string } | { readonly skipped: string };
  /** PHP's version, or why it was skipped (bench/php-peer.ts). */
  readonly php: { readonly version: string } | { readonly skipped: string };
  readonly rows: CyclesRow[];
  readonly locality: LocalityFigure;
  readonly totalSeconds: number;
}

interface PythonFigure {
  shape: Shape;
  nodes: number;
  ns_per_node_net: number;
  collected: number;
  checksum: number;
  python: string;
}

const SCRIPT = fileURLToPath(new URL('./python/gc_shapes.py', import.meta.url));

/**
 * A full V8 collection before each sample's set-up, so the garbage of earlier samples is not
 * collected inside a timed call. The timed call follows its set-up at once, as CPython's does.
 */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A heap sized for `nodes` functions (32 bytes each once FUNCTION_SIZE is rounded up to its
 * alignment; twice over, at least 1 MiB), as a
 * JIT sizes its heap, not one size for every graph: a fresh 256 MiB arena per sample made V8 start
 * incremental marking (its external memory grew), and while that ran, a 1,000-node collection
 * took 170 µs instead of 80 (`--no-incremental-marking` took the difference away).
 */
function newHeap(nodes: number): CodeHeap {
  const codeSize = Math.max(MiB, 2 ** Math.ceil(Math.log2(2 * nodes * 32)));
  return new CodeHeap({ arch: 'x86_64', codeSize, dataSize: 64 * 1024, cycleThreshold: Infinity });
}

/** Untimed collections of this many nodes, before each timed series: see warmUp. */
const WARM_UP_NODES = 1_000;
const WARM_UP_RUNS = 30;

/**
 * Runs the collector on small heaps of the shape until V8 has optimized it. Each timed sample is
 * one call, so without this the first samples of a series run in the interpreter: at 10,000 nodes
 * the first five calls of a cold process took 3.4, 1.6, 0.7, 1.1 and 0.37 µs per node.
 */
function warmUp(shape: Shape): void {
  const units = graphUnits(makeGraph(shape, WARM_UP_NODES), functionNames(WARM_UP_NODES, 'warm'), UNIT_SIZE);
  for (let r = 0; r < WARM_UP_RUNS; r++) {
    const heap = newHeap(WARM_UP_NODES);
    for (const unit of units) heap.define(unit).free();
    heap.collectCycles();
  }
}

/**
 * V8's own collections (perf_hooks 'gc' entries) that start inside a timed window: the part of a
 * timed call that the JavaScript heap's collector took, for instance after the call shrank a Map.
 */
class V8GcWatch {
  #entries: PerformanceEntry[] = [];
  readonly #observer = new PerformanceObserver((list) => {
    this.#entries.push(...list.getEntries());
  });

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * ms of V8 collections that started in each [start, end) window. Call it once after a series,
   * not between samples: entries arrive a turn of the event loop late, and giving up the thread
   * between samples made the next collectCycles() calls 10x slower (V8 threw away their optimized
   * code: `--trace-deopt` reports "weak objects").
   */
  async within(windows: readonly (readonly [number, number])[]): Promise<number[]> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const ms = windows.map(([start, end]) => {
      let sum = 0;
      for (const entry of this.#entries) if (entry.startTime >= start && entry.startTime < end) sum += entry.duration;
      return sum;
    });
    this.#entries = [];
    return ms;
  }

  stop(): void {
    this.#observer.disconnect();
  }
}

/** One fresh heap per sample: define, free every handle, time one collectCycles(). */
async function timeCodeheap(units: readonly UnitDefinition[], nodes: number, samples: number, gc: () => void, v8: V8GcWatch) {
  const ms: number[] = [];
  const windows: [number, number][] = [];
  let freed = 0;
  let visited = 0;
  for (let s = 0; s < samples; s++) {
    gc();
    let heap: CodeHeap | undefined = newHeap(nodes);
    for (const unit of units) heap.define(unit).free();
    const start = performance.now();
    const result = heap.collectCycles();
    const end = performance.now();
    ms.push(end - start);
    windows.push([start, end]);
    if (result.candidates !== nodes || result.freed !== nodes || heap.stats().nodes.total !== 0) {
      throw new Error(`collectCycles of ${result.candidates} candidates freed ${result.freed} of ${nodes} garbage nodes; ${heap.stats().nodes.total} remain`);
    }
    freed = result.freed;
    visited = result.visited;
    heap = undefined;
  }
  return { ms: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), gcMs: median(await v8.within(windows)), freed, visited };
}

/** Median ns of one traverseAll; small graphs are traversed many times per sample. */
function timeLimit(graph: CsrGraph, samples: number): number {
  const marks = new Uint8Array(graph.nodes);
  const stack = new Int32Array(graph.nodes);
  return timeRepeated(graph, samples, () => {
    marks.fill(0);
    const start = performance.now();
    const visited = traverseAll(graph, marks, stack);
    const elapsed = performance.now() - start;
    if (visited !== graph.nodes) throw new Error(`the traversal visited ${visited} of ${graph.nodes} nodes`);
    return elapsed;
  });
}

/** Median ns of one full-heap markSweep of the graph with no roots: everything is swept free. */
function timeMarkSweep(graph: CsrGraph, samples: number): number {
  const marks = new Uint8Array(graph.nodes);
  const stack = new Int32Array(graph.nodes);
  const free = new Int32Array(graph.nodes);
  const roots = new Int32Array(0);
  return timeRepeated(graph, samples, () => {
    const start = performance.now();
    const swept = markSweep(graph, roots, marks, stack, free);
    const elapsed = performance.now() - start;
    if (swept !== graph.nodes) throw new Error(`the mark-sweep freed ${swept} of ${graph.nodes} nodes`);
    return elapsed;
  });
}

/**
 * Median ns of `once` (which returns the ms it timed), after two untimed samples; small graphs
 * run many times per sample so that one sample is about a million nodes' work.
 */
function timeRepeated(graph: CsrGraph, samples: number, once: () => number): number {
  const repeat = Math.max(1, Math.ceil(1e6 / graph.nodes));
  const ns: number[] = [];
  for (let s = -2; s < samples; s++) {
    let elapsed = 0;
    for (let r = 0; r < repeat; r++) elapsed += once();
    if (s >= 0) ns.push((elapsed * 1e6) / repeat);
  }
  return median(ns);
}

function runCPython(shape: Shape, graph: CsrGraph, samples: number): PythonFigure | string {
  const run = spawnSync('python3', [SCRIPT, '--shape', shape, '--nodes', String(graph.nodes), '--samples', String(samples)], {
    encoding: 'utf8', maxBuffer: 1 << 20,
  });
  if (run.error !== undefined) return `python3 could not be run (${run.error.message})`;
  if (run.status !== 0) return `gc_shapes.py exited with ${run.status}: ${run.stderr.trim()}`;
  const figure = JSON.parse(run.stdout) as PythonFigure;
  const checksum = edgeChecksum(graph);
  if (figure.checksum !== checksum) throw new Error(`CPython built other edges for ${shape} ${graph.nodes}: checksum ${figure.checksum}, ours ${checksum}`);
  if (figure.collected !== graph.nodes) throw new Error(`CPython collected ${figure.collected} of ${graph.nodes} ${shape} nodes`);
  return figure;
}

/**
 * A peer collector run once per graph until it fails once: after that it is skipped, for the
 * reason it gave the first time, and its figures are null.
 */
class Peer {
  #outcome: { readonly version: string } | { readonly skipped: string } | undefined;

  /** ns per node from `run` (a reason string when it could not run), or null once skipped. */
  figure(name: string, run: () => { version: string; nsPerNode: number } | string): number | null {
    if (this.#outcome !== undefined && 'skipped' in this.#outcome) return null;
    const figure = run();
    if (typeof figure === 'string') {
      this.#outcome = { skipped: figure };
      console.log(`  ${name} skipped: ${figure}`);
      return null;
    }
    this.#outcome = { version: figure.version };
    return figure.nsPerNode;
  }

  outcome(): { readonly version: string } | { readonly skipped: string } {
    return this.#outcome ?? { skipped: 'no sizes were run' };
  }
}

const LIVE_RINGS = 1_000;
const LIVE_RING = 1_000;
const HELPERS = 16;
const GARBAGE_RING = 10;
const GARBAGE = 1_000;
const WARM_UP_SAMPLES = 5;

/**
 * The locality graph, ids in definition order: live rings [0, live), helpers [live, live +
 * HELPERS), garbage [live + HELPERS, n). Live nodes call their ring's next node (one edge, the
 * cheapest graph to mark, so the mark-sweep is not flattered); garbage nodes also call a helper.
 */
function localityGraph(): { graph: CsrGraph; names: string[]; roots: Int32Array } {
  const live = LIVE_RINGS * LIVE_RING;
  const nodes = live + HELPERS + GARBAGE;
  const offsets = new Int32Array(nodes + 1);
  const targets: number[] = [];
  const ringNext = (i: number, base: number, size: number): number => base + ((i - base + 1) % size);
  for (let i = 0; i < nodes; i++) {
    offsets[i] = targets.length;
    if (i < live) targets.push(ringNext(i, i - (i % LIVE_RING), LIVE_RING));
    else if (i >= live + HELPERS) {
      const g = i - live - HELPERS;
      targets.push(ringNext(i, i - (g % GARBAGE_RING), GARBAGE_RING), live + (g % HELPERS));
    }
  }
  offsets[nodes] = targets.length;
  const names = Array.from({ length: nodes }, (_, i) =>
    i < live ? `live${i}` : i < live + HELPERS ? `helper${i - live}` : `garbage${i - live - HELPERS}`);
  const roots = new Int32Array(LIVE_RINGS + HELPERS);
  for (let r = 0; r < LIVE_RINGS; r++) roots[r] = r * LIVE_RING;
  for (let h = 0; h < HELPERS; h++) roots[LIVE_RINGS + h] = live + h;
  return { graph: { nodes, offsets, targets: Int32Array.from(targets) }, names, roots };
}

function timeLocality(samples: number, gc: () => void): LocalityFigure {
  const { graph, names, roots } = localityGraph();
  const live = LIVE_RINGS * LIVE_RING;
  const heap = newHeap(graph.nodes);
  const held: { free(): void }[] = [];
  for (const unit of graphUnits(graph, names, LIVE_RING, 0, live)) {
    const handles = heap.define(unit).handles();
    held.push(handles[0]!);
    for (let i = 1; i < handles.length; i++) handles[i]!.free();
  }
  held.push(...heap.define(graphUnits(graph, names, HELPERS, live, live + HELPERS)[0]!).handles());
  // The freed handles left every live function a candidate: one collection finds them all live.
  gc();
  const liveScanMs = heap.collectCycles().ms;
  const garbage = graphUnits(graph, names, GARBAGE, live + HELPERS)[0]!;
  const collectMs: number[] = [];
  let visited = 0;
  let freed = 0;
  // The first samples only warm the collector up on this heap's shape; they are not kept.
  for (let s = -WARM_UP_SAMPLES; s < samples; s++) {
    gc();
    heap.define(garbage).free();
    const start = performance.now();
    const result = heap.collectCycles();
    if (s >= 0) collectMs.push(performance.now() - start);
    ({ visited, freed } = result);
    if (freed !== GARBAGE) throw new Error(`the locality collection freed ${freed} of ${GARBAGE} garbage nodes`);
  }
  if (heap.stats().nodes.total !== live + HELPERS) throw new Error('the locality heap lost live nodes');

  const marks = new Uint8Array(graph.nodes);
  const stack = new Int32Array(graph.nodes);
  const free = new Int32Array(graph.nodes);
  const sweepMs: number[] = [];
  for (let s = -2; s < samples; s++) {
    const start = performance.now();
    const swept = markSweep(graph, roots, marks, stack, free);
    if (s >= 0) sweepMs.push(performance.now() - start);
    if (swept !== GARBAGE) throw new Error(`the mark-sweep freed ${swept} of ${GARBAGE} garbage nodes`);
  }
  for (const handle of held) handle.free();
  const figure = { collectMs: median(collectMs), markSweepMs: median(sweepMs) };
  return {
    liveNodes: live + HELPERS, garbageNodes: GARBAGE, samples, ...figure, visited, freed,
    speedup: figure.markSweepMs / figure.collectMs, liveScanMs,
  };
}

/** Samples per size: fresh heaps are cheap at 1,000 nodes and take seconds at 1,000,000. */
function samplesFor(nodes: number, quick: boolean): number {
  if (nodes <= 1_000) return quick ? 11 : 21;
  if (nodes <= 10_000) return quick ? 7 : 11;
  return 5;
}

export async function main(opts: { quick?: boolean; sizes?: readonly number[] } = {}): Promise<CyclesBenchResult> {
  const quick = opts.quick === true;
  const began = performance.now();
  const gc = fullGc();
  const v8 = new V8GcWatch();
  const loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
  const sizes = opts.sizes ?? (quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000]);
  console.log(`cycle collection: one collectCycles() per fresh heap of garbage; load average ${loadAverage.join(' ')}`);
  const cpython = new Peer();
  const php = new Peer();
  const rows: CyclesRow[] = [];
  for (const shape of SHAPES) {
    for (const nodes of sizes) {
      const samples = samplesFor(nodes, quick);
      const graph = makeGraph(shape, nodes);
      const units = graphUnits(graph, functionNames(nodes), UNIT_SIZE);
      warmUp(shape);
      const codeheap = await timeCodeheap(units, nodes, samples, gc, v8);
      const limitNs = timeLimit(graph, Math.max(5, samples));
      const markSweepNs = timeMarkSweep(graph, Math.max(5, samples));
      const cpythonNs = cpython.figure('CPython', () => {
        const figure = runCPython(shape, graph, samples);
        return typeof figure === 'string' ? figure : { version: figure.python, nsPerNode: figure.ns_per_node_net };
      });
      const phpNs = php.figure('PHP', () => {
        const figure = runPhp(shape, nodes, samples, edgeChecksum(graph));
        return typeof figure === 'string' ? figure : { version: figure.php, nsPerNode: figure.ns_per_node_net };
      });
      const codeheapNs = (codeheap.ms * 1e6) / nodes;
      const row: CyclesRow = {
        shape, nodes, edges: nodes * edgesPerNode(shape), samples, codeheapNsPerNode: codeheapNs,
        codeheapMinNsPerNode: (codeheap.minMs * 1e6) / nodes, codeheapMaxNsPerNode: (codeheap.maxMs * 1e6) / nodes,
        v8GcNsPerNode: (codeheap.gcMs * 1e6) / nodes,
        freed: codeheap.freed, visited: codeheap.visited, limitNsPerNode: limitNs / nodes,
        markSweepNsPerNode: markSweepNs / nodes, cpythonNsPerNode: cpythonNs, phpNsPerNode: phpNs,
        vsLimit: codeheapNs / (limitNs / nodes), vsCPython: cpythonNs === null ? null : codeheapNs / cpythonNs,
      };
      rows.push(row);
      console.log(`  ${formatRow(row)}`);
    }
  }
  v8.stop();
  const locality = timeLocality(quick ? 7 : 11, gc);
  const result: CyclesBenchResult = {
    quick, loadAverage, cpython: cpython.outcome(), php: php.outcome(), rows, locality, totalSeconds: (performance.now() - began) / 1e3,
  };
  return result;
}

function formatRow(r: CyclesRow): string {
  const ratio = (x: number | null, target: number): string =>
    x === null ? '—'.padStart(9) : `${x.toFixed(2)}x ${x <= target ? 'ok' : 'NO'}`.padStart(9);
  const ns = (x: number | null): string => (x === null ? '—' : x.toFixed(1)).padStart(9);
  return `${r.shape.padEnd(8)}${String(r.nodes).padStart(10)}${String(r.edges).padStart(10)}`
    + `${ns(r.codeheapNsPerNode)}${ns(r.v8GcNsPerNode)}${ns(r.limitNsPerNode)}${ns(r.markSweepNsPerNode)}${ns(r.cpythonNsPerNode)}${ns(r.phpNsPerNode)}`
    + `  ${ratio(r.vsLimit, TARGETS.vsLimit)}  ${ratio(r.vsCPython, TARGETS.vsCPython)}${String(r.samples).padStart(5)}`;
}

export function printResult(result: CyclesBenchResult): void {
  const cpython = 'version' in result.cpython ? `CPython ${result.cpython.version}` : `CPython skipped: ${result.cpython.skipped}`;
  console.log(`\ncollectCycles() of an all-garbage heap, ns per node (medians; ${cpython}; load average at start ${result.loadAverage.join(' ')})`);
  console.log(`shape        nodes     edges codeheap  (V8 gc)    limit    sweep  CPython      PHP   vs limit(<=${TARGETS.vsLimit})  vs CPython(<=${TARGETS.vsCPython}) n`);
  for (const row of result.rows) console.log(formatRow(row));
  const l = result.locality;
  const ok = l.speedup >= TARGETS.localitySpeedup ? 'ok' : 'NO';
  console.log(`\nlocality: ${l.liveNodes} live + ${l.garbageNodes} garbage nodes, medians of ${l.samples}`);
  console.log(`  collectCycles   ${l.collectMs.toFixed(3).padStart(9)} ms  visited ${l.visited}, freed ${l.freed}`);
  console.log(`  full mark-sweep ${l.markSweepMs.toFixed(3).padStart(9)} ms  over all ${l.liveNodes + l.garbageNodes} nodes`);
  console.log(`  speedup         ${l.speedup.toFixed(0).padStart(9)}x    (target >= ${TARGETS.localitySpeedup}x: ${ok})`);
  console.log(`  (the first collection, finding the 1,000,000 freed-handle candidates live, took ${l.liveScanMs.toFixed(0)} ms)`);
  console.log(`total ${result.totalSeconds.toFixed(1)} s`);
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  const sizes = process.argv.find((a) => a.startsWith('--sizes='))?.slice('--sizes='.length).split(',').map(Number);
  const result = await main({ quick, ...(sizes === undefined ? {} : { sizes }) });
  printResult(result);
  writeResult(json, result);
}
