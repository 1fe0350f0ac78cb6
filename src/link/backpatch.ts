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
import { entryAddend } from '../reloc/architecture.js';
import type { LinkContext } from './link-context.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { CHECK, OUT_OF_RANGE, WRITE, applyRelocation, describeValue } = apply;

/**
 * The bytes of a function's current body, and whether replacing it frees them. Sites inside a
 * dying body (a recursive function's calls to itself, its jump table's entries) are left alone;
 * a kept body (retired: pinned code may still be running in it) has its calls patched like any
 * other site.
 */
export interface BodyRange {
  readonly from: number;
  readonly to: number;
  readonly dying: boolean;
}

export const NO_BODY: BodyRange = { from: 0, to: 0, dying: false };

/** fn's current body, dying unless `keepsOld`; NO_BODY for a lazy function. */
export function currentBody(graph: HeapGraph, fn: number, keepsOld: boolean): BodyRange {
  if (graph.nodes.isLazy(fn)) return NO_BODY;
  const block = graph.nodes.block[fn]!;
  const from = graph.arenas.code.loc(block);
  return { from, to: from + graph.arenas.code.sizeOf(block), dying: !keepsOld };
}

/**
 * Throws RELOCATION_OUT_OF_RANGE, naming the site, when re-pointing the sites that target
 * `target` at address `to` would push any site's value out of its field; and INVALID_ARGUMENT
 * when an interior reference (DESIGN semantics 9: `body + offset`, a jump-table entry) would have
 * to follow the body: it belongs to the old body's layout, so only the body's own dying bytes may
 * hold one. Pre: nothing has been written yet.
 */
export function checkBackpatch(ctx: LinkContext, target: number, to: number, body: BodyRange): void {
  const { graph, arch, settled } = ctx;
  const { sites, arenas } = graph;
  const { kinds } = arch;
  const { view } = arenas;
  const { from, to: end, dying } = body;
  const codeEnd = arenas.code.locBase + arenas.code.size;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
    const loc = sites.loc[site]!;
    const inBody = loc >= from && loc < end;
    if (inBody && dying) continue;
    const kindId = sites.kindOf(site);
    const custom = sites.hasCustomAddend(site);
    // A site with its type's usual addend fits wherever its target moves in the heap.
    if (settled[kindId] === 1 && !custom) continue;
    const kind = kinds[kindId]!;
    const A = sites.addendOf(site, kind.usualAddend);
    const P = arenas.addressOfLoc(loc);
    const interior = custom ? A - entryAddend(kind, loc < codeEnd) : 0;
    if (interior !== 0) throw interiorRefusal(graph, target, site, kind.name, interior, inBody);
    if (applyRelocation(arch, view, CHECK, kind, loc, to, A, P) === OUT_OF_RANGE) {
      throw new CodeHeapError('RELOCATION_OUT_OF_RANGE',
        `moving ${graph.nodes.nameOf(target)} to ${hex(to)} would make the ${kind.name} site at ${hex(P)} (${siteOwner(graph, site)}) `
        + `hold ${describeValue(kind, to, A, P)}, outside [${hex(kind.min)}, ${hex(kind.max)}]`);
    }
  }
}

function interiorRefusal(graph: HeapGraph, target: number, site: number, type: string, offset: number, inBody: boolean): CodeHeapError {
  const name = graph.nodes.nameOf(target);
  const where = `the ${type} site at ${siteOwner(graph, site)} holds an interior reference to ${name}+${hex(offset)}`;
  return new CodeHeapError('INVALID_ARGUMENT', inBody
    ? `${name}'s body must be kept (pinned, or a native call is running) and ${where}: a kept body's interior references would follow the new body; release its pins first`
    : `${where}, which belongs to the layout of ${name}'s current body: replacing or evicting that body would leave it pointing outside ${name}'s body; free its holder first, or define them together (one unit of redefinition)`);
}

/** Re-points every site targeting `target` at address `to`. Pre: checkBackpatch passed. Returns the sites patched. */
export function backpatch(ctx: LinkContext, target: number, to: number, body: BodyRange): number {
  const { graph, arch } = ctx;
  const { sites, arenas } = graph;
  const { kinds } = arch;
  const { view } = arenas;
  const { from, to: end } = skip(body);
  let patched = 0;
  for (let site = graph.nodes.firstIn[target]!; site !== NONE; site = sites.nextIn[site]!) {
    const loc = sites.loc[site]!;
    if (loc >= from && loc < end) continue;
    const kind = kinds[sites.kindOf(site)]!;
    applyRelocation(arch, view, WRITE, kind, loc, to, sites.addendOf(site, kind.usualAddend), arenas.addressOfLoc(loc));
    arenas.touched(loc, kind.width);
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
  const body = currentBody(graph, fn, keepsOld);
  const patched = to === graph.addressOf(fn) ? countIncoming(graph, fn, body) : backpatch(ctx, fn, to, body);
  return { old: graph.swapBody(fn, block, lazy), patched };
}

/** The sites a backpatch to the same address would rewrite (each already holds its value). */
function countIncoming(graph: HeapGraph, fn: number, body: BodyRange): number {
  const { sites } = graph;
  const { from, to } = skip(body);
  let count = 0;
  for (let site = graph.nodes.firstIn[fn]!; site !== NONE; site = sites.nextIn[site]!) {
    const loc = sites.loc[site]!;
    if (loc < from || loc >= to) count++;
  }
  return count;
}

/** The locs whose sites a backpatch leaves alone: a dying body's. */
function skip(body: BodyRange): { from: number; to: number } {
  return body.dying ? body : NO_BODY;
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
