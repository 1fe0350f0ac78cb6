// CollectWhite: freeing the garbage the collector found (Bacon & Rajan, ECOOP 2001, section 3,
// figure 2), as one batch.
//
// Departure from the paper: the garbage is freed as one batch over the lists, not node by node
// from each root. The edges between garbage nodes already lost their counts in markGray, and an
// edge from garbage to a live (black) node did too, so freeing detaches sites without counting
// anything down (a live node is never decremented twice), and the arenas take the blocks back
// together, merging runs of neighbours before any free list is touched. Edges into leaves (green
// nodes, whose counts markGray left real) are released as counting releases them: a leaf only
// the garbage held goes with it. An unload frees the garbage it finds in the same batch
// (freeGarbage), its counts real: there every edge out of the garbage is released.

import type { HeapGraph } from '../rc/heap-graph.js';
import type { SiteTable } from '../rc/site-table.js';
import type { CollectorState } from './collector-state.js';
import * as base from '../base.js';
import * as nodeTable from '../rc/node-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, GLOBAL, NONE, STUB } = base;
const { ALIVE, BUFFERED, CLASS_MASK, COLOR_MASK, GREEN, KIND_MASK, LAZY } = nodeTable;

/** collectWhite's `closedSites` for garbage that may reach survivors (scan ran). */
export const OPEN_GARBAGE = -1;

/**
 * Frees the nodes of garbage[0 .. count) whose color is `garbageColor` (white after scan; gray
 * when markGray found the whole gray set garbage and scan was skipped), in one pass over the list;
 * a listed node of another color (scanBlack restored it after it was listed) is skipped.
 *
 * `closedSites` is OPEN_GARBAGE, or the number of sites out of the listed nodes when the garbage
 * is closed under its edges (scan was skipped and no gray node reaches a leaf: everything the gray
 * nodes reach is gray and listed here or in the other list). Closed garbage reads no site: no
 * target needs looking at, and each outgoing list joins the free sites whole.
 *
 * Pre: trial deletion has already taken away the count of every edge out of the garbage into a
 * non-green node, and every site into a garbage node comes from garbage; a listed node may still
 * be flagged BUFFERED (its id is released here). Post: the garbage nodes and their sites are
 * freed; a site into a survivor is unlinked from its in-list, a site into garbage is not (that list
 * goes whole, and a freed id's firstIn is reset when the id is handed out again); leaves whose
 * count reached zero are reclaimed once the blocks are back (state.leavesFreed counts them).
 */
export function collectWhite(state: CollectorState, garbage: Int32Array, count: number, garbageColor: number, closedSites: number): void {
  state.leavesFreed += freeGarbage(state.graph, garbage, count, COLOR_MASK, garbageColor, closedSites, false);
}

/**
 * The batch free of collectWhite for any garbage: the listed nodes with `flags & mask === value`.
 * `counted` false: the collector's garbage (collectWhite's Pre). `counted` true: the counts are
 * real and the candidate buffer is live (an unload's garbage, cycles/unload.ts): a site into a
 * survivor counts it down as a free by counting would, and a buffered node's id goes through the
 * buffer. Every site into the garbage comes from the garbage either way. Returns the nodes the
 * cascade freed after the batch (what only the garbage held).
 */
export function freeGarbage(
  graph: HeapGraph, garbage: ArrayLike<number>, count: number, mask: number, value: number, closedSites: number, counted: boolean,
): number {
  const { nodes, sites, arenas, log } = graph;
  const { code, data } = arenas;
  const { flags, firstOut, block } = nodes;
  const closed = closedSites !== OPEN_GARBAGE;
  // Closed garbage whose sites all have their usual addends frees each outgoing list unread.
  const listsUnread = closed && sites.customAddendCount === 0;
  let freed = 0;
  let released = 0;
  // Live counts leave by runs of one class (a module is mostly functions): a decrement per node
  // of a shared counter is a chain through memory that the loop would wait on.
  let runClass = 0;
  let runLength = 0;
  // Names the garbage gives up, counted here and handed to the symbol index once (as live counts).
  let names = 0;
  for (let i = 0; i < count; i++) {
    const id = garbage[i]!;
    const f = flags[id]!;
    if ((f & mask) !== value) continue;
    freed++;
    if ((f & CLASS_MASK) !== runClass) {
      nodes.dropLiveOfClass(runClass, runLength);
      runClass = f & CLASS_MASK;
      runLength = 0;
    }
    runLength++;
    const kind = f & KIND_MASK;
    const first = firstOut[id]!;
    // A function with a body or a global gives up its name; anything else forgets its indexes.
    if ((f & (KIND_MASK | LAZY)) === FUNCTION || kind === GLOBAL) names++;
    else graph.forgetReclaimed(id, kind, first);
    if (first !== NONE) {
      if (listsUnread) sites.freeListUnread(first);
      else if (closed) sites.freeList(first);
      else freeOpenList(graph, sites, flags, first, mask, value, counted);
    }
    if (log !== null) graph.logReclaim(id, graph.addressOf(id), graph.bytesOf(id), 'cycles');
    // Each block is freed in its arena's batch as it is listed: a global's block and a stub's
    // pointer slot in the data arena, every other block (a stub's code too) in the code arena.
    if (kind === GLOBAL) data.freeInBatch(block[id]!);
    else code.freeInBatch(block[id]!);
    if (kind === STUB) data.freeInBatch(nodes.slotOf(id));
    if (counted && (f & BUFFERED) !== 0) {
      // Still listed by the buffer (or a sliced collection's roots): it gives the id back.
      flags[id] = f & ~mask;
      firstOut[id] = NONE;
      graph.releaseFreedId(id);
    } else {
      nodes.releaseUncounted(id);
      released++;
    }
  }
  nodes.countReleased(released);
  nodes.symbols.forgetMany(names);
  nodes.symbols.tidy(freed);
  nodes.dropLiveOfClass(runClass, runLength);
  // Lists freed unread were not counted: the caller counted their sites.
  if (listsUnread) sites.countFreed(closedSites);
  const bytes = code.finishBatch() + data.finishBatch();
  graph.freed.cycles.nodes += freed;
  graph.freed.cycles.bytes += bytes;
  // Leaves only the garbage held go with it, once its blocks are back.
  return graph.reclaimScheduled('cycles');
}

/**
 * Frees the outgoing list of a garbage node that may reach survivors, in one walk. Freed garbage
 * reads as not alive, garbage still to come by its flags: neither keeps an in-list. A site into
 * any other live node is unlinked from the node's in-list, and then:
 *  - the collector's garbage (`counted` false): a leaf (GREEN) loses the count, as counting
 *    would take it, since markGray left it real (a leaf at zero is scheduled, to be reclaimed once
 *    the batch is done); any other node lost it in markGray, and scanBlack, the site's source
 *    being garbage, did not give it back;
 *  - an unload's (`counted` true): the target is released as a free by counting releases it
 *    (rc/counted-graph.ts), whatever it is.
 */
function freeOpenList(graph: HeapGraph, sites: SiteTable, flags: Uint16Array, first: number, mask: number, value: number, counted: boolean): void {
  const { rc } = graph.nodes;
  let count = 0;
  for (let site = first; site !== NONE; site = sites.nextOf(site)) {
    count++;
    sites.clearAddend(site);
    const target = sites.targetOf(site);
    const targetFlags = flags[target]!;
    if ((targetFlags & ALIVE) === 0 || (targetFlags & mask) === value) continue;
    if (counted) {
      graph.releaseTargetOf(site, target);
    } else {
      graph.unlinkIn(site, target);
      if ((targetFlags & GREEN) !== 0 && --rc[target]! === 0) graph.scheduleReclaim(target);
    }
  }
  sites.freeListUnread(first);
  sites.countFreed(count);
}
