// Backpatching, and the one body swap that every change of a function's body goes through.
//
// A function's body moves when it is redefined, materialized or evicted. swapBody() is the one
// routine for all three (commit calls it for a new body, evict for a trampoline): it re-points
// every site that targets the function at the new block, then detaches the old body from the
// function for its owner (the body lifecycle, bodies/) to retire or release.
//
// The walk follows the function's incoming list only, so it costs O(its sites), independent of
// the heap's size. Each site is rewritten by the one relocation applier (reloc/apply.ts) from the
// new address, its addend and its own address. The pointer slot of the function's stub is one of
// these sites, so function pointers follow. Sites inside the body being replaced (a recursive
// function's calls to itself) are skipped when that body is about to be freed; a body that stays
// (retired: pinned code may still be running in it) keeps being patched like any other.

import { CodeHeapError, hex } from '../errors.js';
import * as base from '../base.js';
import type { HeapGraph, OldBody } from '../rc/heap-graph.js';
import * as apply from '../reloc/apply.js';
import type { LinkContext } from './link-context.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { CHECK, OUT_OF_RANGE, WRITE, applyRelocation, describeValue } = apply;

/** Heap positions [from, to) whose sites a backpatch leaves alone. */
export interface LocRange {
  readonly from: number;
  readonly to: number;
}

export const NO_SKIP: LocRange = { from: 0, to: 0 };

/**
 * The bytes of fn's current body when replacing it frees them (the old body is not kept), so the
 * backpatch need not rewrite the body's calls to itself; an empty range otherwise.
 */
export function dyingBody(graph: HeapGraph, fn: number, keepsOld: boolean): LocRange {
  if (keepsOld || graph.nodes.isLazy(fn)) return NO_SKIP;
  const block = graph.nodes.block[fn]!;
  const from = graph.arenas.code.loc(block);
  return { from, to: from + graph.arenas.code.sizeOf(block) };
}

/**
 * Throws RELOCATION_OUT_OF_RANGE, naming the site, when re-pointing the sites that target
 * `target` at address `to` would push any site's value out of its field. Pre: nothing has been
 * written yet.
 */
export function checkBackpatch(ctx: LinkContext, target: number, to: number, skip: LocRange): void {
  const { graph, arch, settled } = ctx;
  const { sites, arenas } = graph;
  const { kinds } = arch;
  const { view } = arenas;
  const { from, to: end } = skip;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
    const loc = sites.loc[site]!;
    if (loc >= from && loc < end) continue;
    const kindId = sites.kindOf(site);
    // A site with its type's usual addend fits wherever its target moves in the heap.
    if (settled[kindId] === 1 && !sites.hasCustomAddend(site)) continue;
    const kind = kinds[kindId]!;
    const A = sites.addendOf(site, kind.usualAddend);
    const P = arenas.addressOfLoc(loc);
    if (applyRelocation(arch, view, CHECK, kind, loc, to, A, P) === OUT_OF_RANGE) {
      throw new CodeHeapError('RELOCATION_OUT_OF_RANGE',
        `moving ${graph.nodes.nameOf(target)} to ${hex(to)} would make the ${kind.name} site at ${hex(P)} (${siteOwner(graph, site)}) `
        + `hold ${describeValue(kind, to, A, P)}, outside [${hex(kind.min)}, ${hex(kind.max)}]`);
    }
  }
}

/** Re-points every site targeting `target` at address `to`. Pre: checkBackpatch passed. Returns the sites patched. */
export function backpatch(ctx: LinkContext, target: number, to: number, skip: LocRange): number {
  const { graph, arch } = ctx;
  const { sites, arenas } = graph;
  const { kinds } = arch;
  const { view } = arenas;
  const { from, to: end } = skip;
  let patched = 0;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
    const loc = sites.loc[site]!;
    if (loc >= from && loc < end) continue;
    const kind = kinds[sites.kindOf(site)]!;
    applyRelocation(arch, view, WRITE, kind, loc, to, sites.addendOf(site, kind.usualAddend), arenas.addressOfLoc(loc));
    patched++;
  }
  return patched;
}

/**
 * The body swap: fn's block becomes `block` (a body, or a trampoline when `lazy`), every site that
 * targets fn is re-pointed at it, and the old body comes back detached (still allocated, its own
 * sites still counted) with the number of sites patched. `keepsOld`: the old body will be
 * retired, so its own sites to fn are patched too. Pre: `block` is written, and checkBackpatch
 * passed for its address.
 */
export function swapBody(ctx: LinkContext, fn: number, block: number, lazy: boolean, keepsOld: boolean): { old: OldBody; patched: number } {
  const { graph } = ctx;
  const to = graph.arenas.code.addressOf(block);
  const patched = to === graph.addressOf(fn) ? countIncoming(graph, fn, dyingBody(graph, fn, keepsOld))
    : backpatch(ctx, fn, to, dyingBody(graph, fn, keepsOld));
  return { old: graph.swapBody(fn, block, lazy), patched };
}

/** The sites a backpatch to the same address would rewrite (each already holds its value). */
function countIncoming(graph: HeapGraph, fn: number, skip: LocRange): number {
  const { sites } = graph;
  let count = 0;
  for (let site = graph.nodes.firstIn[fn]!; site !== NONE; site = sites.nextIn[site]!) {
    const loc = sites.loc[site]!;
    if (loc < skip.from || loc >= skip.to) count++;
  }
  return count;
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
