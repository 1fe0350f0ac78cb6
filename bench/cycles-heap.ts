// The heaps the collector's suites measure.

import type { CollectionResult, UnitDefinition } from '../src/index.js';
import { functionNames, graphUnits, makeGraph, type Shape } from './shapes.js';
import { dropUnannounced } from './unannounced.js';

/**
 * The compiled library (`npm run build` writes it), as users run it; its types are the sources'.
 * A path in a variable, so that typechecking a fresh clone does not need dist/ to exist.
 */
const DIST_ENTRY: string = '../dist/index.js';
export const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
export type CodeHeap = InstanceType<typeof CodeHeap>;

const MiB = 1024 * 1024;

/**
 * A heap sized for `nodes` functions (32 bytes each once FUNCTION_SIZE is rounded up to its
 * alignment; twice over, at least 1 MiB), as a JIT sizes its heap, not one size for every
 * graph: a fresh 256 MiB arena per sample made V8 start
 * incremental marking (its external memory grew), and while that ran, a 1,000-node collection
 * took 170 µs instead of 80 (`--no-incremental-marking` took the difference away).
 */
export function newHeap(nodes: number): CodeHeap {
  const codeSize = Math.max(MiB, 2 ** Math.ceil(Math.log2(2 * nodes * 32)));
  return new CodeHeap({ arch: 'x86_64', codeSize, dataSize: 64 * 1024, cycleThreshold: Infinity });
}

/**
 * A heap that is all garbage cycles: the units defined in a fresh heap and dropped unannounced
 * (bench/unannounced.ts: unit.free() alone would reclaim them at once), so every node is a
 * buffered candidate held only by cycles and one collectCycles() must free them all.
 */
export function garbageHeap(units: readonly UnitDefinition[], nodes: number): CodeHeap {
  const heap = newHeap(nodes);
  for (const unit of units) dropUnannounced(heap, heap.define(unit));
  return heap;
}

/** Throws unless the collection found every node a candidate and freed it, leaving none. */
export function checkAllFreed(heap: CodeHeap, result: CollectionResult, nodes: number): void {
  const left = heap.stats().nodes.total;
  if (result.candidates !== nodes || result.freed !== nodes || left !== 0) {
    throw new Error(`collectCycles of ${result.candidates} candidates freed ${result.freed} of ${nodes} garbage nodes; ${left} remain`);
  }
}

/** Untimed collections of this many nodes, before each timed series: see warmUp. */
const WARM_UP_NODES = 1_000;
const WARM_UP_RUNS = 30;

/**
 * Runs the collector on small heaps of the shape until V8 has optimized it. Each timed sample is
 * one call, so without this the first samples of a series run in the interpreter: at 10,000 nodes
 * the first five calls of a cold process took 3.4, 1.6, 0.7, 1.1 and 0.37 µs per node.
 */
export function warmUp(shape: Shape, unitSize: number): void {
  const units = graphUnits(makeGraph(shape, WARM_UP_NODES), functionNames(WARM_UP_NODES, 'warm'), unitSize);
  for (let r = 0; r < WARM_UP_RUNS; r++) {
    garbageHeap(units, WARM_UP_NODES).collectCycles();
  }
}
