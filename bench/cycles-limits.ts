// The collector's anchors, timed: one flat typed-array traversal of a garbage graph (the limit of
// any traversal) and a naive full-heap mark-sweep of it, as medians in ns for the whole graph.
// In a module of their own so that every suite that sets a collection beside them (the collector's
// suite, the first collection in a fresh process) times them the same way.

import { median } from './harness.js';
import { markSweep, traverseAll, type CsrGraph } from './shapes.js';

/** Median ns of one traverseAll; small graphs are traversed many times per sample. */
export function timeLimit(graph: CsrGraph, samples: number): number {
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
export function timeMarkSweep(graph: CsrGraph, samples: number): number {
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
