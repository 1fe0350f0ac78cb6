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
//    deletion walks the graph in three passes (markGray; scan, which also lists the white nodes;
//    the batch free) and frees every node with its block and sites, so it cannot come near 1x;
//    the target is 4x. Beside it, "sweep": a naive full-heap
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
//    node. Target: collectCycles at least 100x faster. Each sample of both follows a minor V8
//    collection; the collection right after a full one is reported beside (cycles-locality.ts).
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
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { UnitDefinition } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { Peer, runCPython, type PeerOutcome } from './cycles-peers.js';
import { runPhp } from './php-peer.js';
import { V8GcWatch } from './v8-gc-watch.js';
import { TARGETS } from './cycles-targets.js';
import { checkAllFreed, garbageHeap, warmUp, type CodeHeap } from './cycles-heap.js';
import { median } from './harness.js';
import { timeLocality, type LocalityFigure, type V8Gc } from './cycles-locality.js';
import {
  SHAPES, edgeChecksum, edgesPerNode, functionNames, graphUnits, makeGraph, type Shape,
} from './shapes.js';
import { timeLimit, timeMarkSweep } from './cycles-limits.js';

/** Pairs are defined in units of this many functions; rings and random graphs are one unit. */
const UNIT_SIZE = 10_000;

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

export type { LocalityFigure };

export interface CyclesBenchResult {
  readonly quick: boolean;
  /** os.loadavg() at the start: 1, 5 and 15 minutes. */
  readonly loadAverage: readonly number[];
  /** CPython's version and the rows it failed, or why it was skipped (bench/cycles-peers.ts). */
  readonly cpython: PeerOutcome;
  /** PHP's, likewise (bench/php-peer.ts). */
  readonly php: PeerOutcome;
  readonly rows: CyclesRow[];
  readonly locality: LocalityFigure;
  readonly totalSeconds: number;
}


/**
 * A full V8 collection before each sample's set-up, so the garbage of earlier samples is not
 * collected inside a timed call. The timed call follows its set-up at once, as CPython's does.
 */
function fullGc(): V8Gc {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as V8Gc;
}

/** One fresh heap per sample: define, free every handle, time one collectCycles(). */
async function timeCodeheap(units: readonly UnitDefinition[], nodes: number, samples: number, gc: () => void, v8: V8GcWatch) {
  const ms: number[] = [];
  const windows: [number, number][] = [];
  let freed = 0;
  let visited = 0;
  for (let s = 0; s < samples; s++) {
    gc();
    let heap: CodeHeap | undefined = garbageHeap(units, nodes);
    const start = performance.now();
    const result = heap.collectCycles();
    const end = performance.now();
    ms.push(end - start);
    windows.push([start, end]);
    checkAllFreed(heap, result, nodes);
    freed = result.freed;
    visited = result.visited;
    heap = undefined;
  }
  return { ms: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), gcMs: median(await v8.within(windows)), freed, visited };
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
  const cpython = new Peer('CPython');
  const php = new Peer('PHP');
  const rows: CyclesRow[] = [];
  for (const shape of SHAPES) {
    for (const nodes of sizes) {
      const samples = samplesFor(nodes, quick);
      const graph = makeGraph(shape, nodes);
      const units = graphUnits(graph, functionNames(nodes), UNIT_SIZE);
      warmUp(shape, UNIT_SIZE);
      const codeheap = await timeCodeheap(units, nodes, samples, gc, v8);
      const limitNs = timeLimit(graph, Math.max(5, samples));
      const markSweepNs = timeMarkSweep(graph, Math.max(5, samples));
      const where = `${shape} ${nodes}`;
      const cpythonNs = cpython.figure(where, () => runCPython(shape, graph, samples));
      const phpNs = php.figure(where, () => {
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
  console.log(`  (right after a full V8 gc: ${l.collectAfterFullGcMs.toFixed(3)} ms, ${(l.markSweepMs / l.collectAfterFullGcMs).toFixed(0)}x)`);
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
