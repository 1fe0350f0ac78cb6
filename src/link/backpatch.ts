// Backpatching: re-pointing every site that targets a function whose body moved.
//
// The walk follows the function's incoming list only, so it costs O(its sites), independent of
// the heap's size. Each site already encodes the old address, so the new value is the old value
// plus the displacement: no addend lookup, no source lookup, one read and one write per site.
// The pointer slot of the function's stub is one of these sites, so function pointers follow.

import { CodeHeapError, hex } from '../errors.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import { NONE } from '../rc/node-table.js';
import { fits, type Architecture } from '../reloc/architecture.js';

/**
 * Throws RELOCATION_OUT_OF_RANGE, naming the site, when moving `target` by `delta` would push
 * any site's value out of its field. Pre: nothing has been written yet.
 */
export function checkBackpatch(graph: HeapGraph, arch: Architecture, target: number, delta: number, to: number): void {
  const { sites, arenas } = graph;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
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
export function backpatch(graph: HeapGraph, arch: Architecture, target: number, delta: number): number {
  const { sites, arenas } = graph;
  const view = arenas.view;
  let patched = 0;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
    const kind = arch.kinds[sites.kindOf(site)]!;
    const loc = sites.loc[site]!;
    arch.write(view, loc, kind, arch.read(view, loc, kind) + delta);
    patched++;
  }
  return patched;
}

/** The name and offset of the node whose bytes hold a site; for messages (scans the heap). */
export function siteOwner(graph: HeapGraph, site: number): string {
  const { nodes, sites } = graph;
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOut[s]!) {
      if (s === site) {
        const offset = graph.arenas.addressOfLoc(sites.loc[site]!) - graph.addressOf(id);
        return `${nodes.nameOf(id)}+${hex(offset)}`;
      }
    }
  }
  return 'an unknown node';
}
