// What a relocation site is, for the drawings of the graph (toDot, the heap snapshot): a call
// (PC-relative, to an entry), a pointer (absolute, to an entry or a stub), a pointer into a body at
// an offset (an addend other than its type's usual one: a jump table's entry), a reference to a
// global's data, or a stub's link to its function.

import type { HeapGraph } from './rc/heap-graph.js';
import type { Architecture } from './reloc/architecture.js';
import * as base from './base.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { GLOBAL, STUB } = base;

export type ReferenceKind = 'call' | 'pointer' | 'interior' | 'data' | 'stub';

export function referenceKind(graph: HeapGraph, arch: Architecture, site: number): ReferenceKind {
  const { nodes, sites } = graph;
  if (nodes.kindOf(sites.sources[site]!) === STUB) return 'stub';
  if (nodes.kindOf(sites.targetOf(site)) === GLOBAL) return 'data';
  if (sites.hasCustomAddend(site)) return 'interior';
  return arch.kinds[sites.kindOf(site)]!.pcRelative ? 'call' : 'pointer';
}

/** Where a site's field lies in its source: its offset in the body, or in a stub's pointer slot. */
export function siteOffset(graph: HeapGraph, site: number): number {
  const { nodes, sites } = graph;
  const from = sites.sources[site]!;
  const start = nodes.kindOf(from) === STUB ? graph.arenas.data.loc(nodes.slotOf(from)) : graph.arenaOf(from).loc(nodes.block[from]!);
  return sites.loc[site]! - start;
}
