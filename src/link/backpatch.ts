// Backpatching: re-pointing every site that targets a function whose body moved.
//
// The walk follows the function's incoming list only, so it costs O(its sites), independent of
// the heap's size. Each site already encodes the old address, so the new value is the old value
// plus the displacement: no addend lookup, no source lookup, one read and one write per site.
// The pointer slot of the function's stub is one of these sites, so function pointers follow.
// Sites inside the body being replaced (a recursive function's calls to itself) are skipped when
// that body is about to be freed; a retired body, which pinned code may still be running, keeps
// being patched like any other.

import { CodeHeapError, hex } from '../errors.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import * as base from '../base.js';
import { fits, type Architecture } from '../reloc/architecture.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;

/**
 * Throws RELOCATION_OUT_OF_RANGE, naming the site, when moving `target` by `delta` would push
 * any site's value out of its field. Pre: nothing has been written yet.
 */
export function checkBackpatch(
  graph: HeapGraph, arch: Architecture, target: number, delta: number, to: number, skip: LocRange = NO_SKIP,
): void {
  const { sites, arenas } = graph;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
    if (sites.loc[site]! >= skip.from && sites.loc[site]! < skip.to) continue;
    const kind = arch.kinds[sites.kindOf(site)]!;
    const value = arch.read(arenas.view, sites.loc[site]!, kind) + delta;
    if (!fits(kind, value)) {
      const at = arenas.addressOfLoc(sites.loc[site]!);
      throw new CodeHeapError('RELOCATION_OUT_OF_RANGE',
        `moving ${graph.nodes.nameOf(target)} to ${hex(to)} would make the ${kind.name} site at ${hex(at)} (${siteOwner(graph, site)}) hold ${hex(value)}, outside [${hex(kind.min)}, ${hex(kind.max)}]`);
    }
  }
}

/** Adds delta to every site targeting `target`. Pre: checkBackpatch passed. Returns the sites patched. */
export function backpatch(
  graph: HeapGraph, arch: Architecture, target: number, delta: number, skip: LocRange = NO_SKIP,
): number {
  const { sites, arenas } = graph;
  const view = arenas.view;
  let patched = 0;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
    const loc = sites.loc[site]!;
    if (loc >= skip.from && loc < skip.to) continue;
    const kind = arch.kinds[sites.kindOf(site)]!;
    arch.write(view, loc, kind, arch.read(view, loc, kind) + delta);
    patched++;
  }
  return patched;
}

/** Heap positions [from, to) whose sites a backpatch leaves alone. */
export interface LocRange {
  readonly from: number;
  readonly to: number;
}

const NO_SKIP: LocRange = { from: 0, to: 0 };

/**
 * The bytes of fn's current body when replacing it frees them (no pin holds the body), so the
 * backpatch need not rewrite the body's calls to itself; an empty range otherwise.
 */
export function dyingBody(graph: HeapGraph, fn: number, held: boolean): LocRange {
  if (held || graph.nodes.isLazy(fn)) return NO_SKIP;
  const block = graph.nodes.block[fn]!;
  const from = graph.arenas.code.loc(block);
  return { from, to: from + graph.arenas.code.sizeOf(block) };
}

/** The name and offset of the node whose bytes hold a site; for messages (scans the heap). */
export function siteOwner(graph: HeapGraph, site: number): string {
  const { nodes, sites } = graph;
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) {
      if (s === site) {
        const offset = graph.arenas.addressOfLoc(sites.loc[site]!) - graph.addressOf(id);
        return `${nodes.nameOf(id)}+${hex(offset)}`;
      }
    }
  }
  return 'an unknown node';
}
