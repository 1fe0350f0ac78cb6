// The heaps the loader suites load into, and the figures an unload must bring back.

import { CodeHeap, type HeapStats } from '../../../src/index.js';
import { runningMemory } from '../../helpers/memory.js';

export function nativeHeap(): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 20, memory: runningMemory(), cycleThreshold: Infinity, validateCollections: true });
}

/** The figures an unload must bring back. */
export function footprint(stats: HeapStats): object {
  return { nodes: stats.nodes, sites: stats.sites, code: stats.code.usedBytes, data: stats.data.usedBytes, candidates: stats.candidates };
}
