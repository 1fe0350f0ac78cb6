// The cycle collector's entry point over the node table.
//
// This first version drains the candidate buffer of DEAD entries only: nodes reclaimed by
// counting while buffered give their ids back here, exactly once. Live candidates stay buffered
// (still purple) for the trial-deletion passes (markRoots / scanRoots / collectRoots), which
// free garbage cycles and arrive with the collector itself.

import type { HeapGraph } from '../rc/heap-graph.js';
import { BUFFERED } from '../rc/node-table.js';
import type { CollectionResult } from '../types.js';

export function collectCycles(graph: HeapGraph): CollectionResult {
  const start = performance.now();
  const { nodes, candidates } = graph;
  const count = candidates.length;
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const id = candidates.ids[i]!;
    if (nodes.isAlive(id)) {
      candidates.ids[kept++] = id;
    } else {
      nodes.flags[id] = nodes.flags[id]! & ~BUFFERED;
      nodes.releaseId(id);
    }
  }
  candidates.length = kept;
  return { freed: 0, bytes: 0, visited: count, candidates: count, ms: performance.now() - start };
}
