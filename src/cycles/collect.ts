// Synchronous trial-deletion cycle collection over the node table.
//
// Bacon & Rajan, "Concurrent Cycle Collection in Reference Counted Systems", ECOOP 2001,
// section 3 (the synchronous algorithm): starting only from the candidates (purple nodes whose
// count was decremented to a non-zero value), subtract the counts of internal edges (markGray);
// whatever still has a count is externally referenced and is restored with all it reaches
// (scanBlack); what is left at zero is garbage (white) and is freed (collectWhite).
//
// Departures from the paper:
//  - Every traversal is an explicit worklist, never recursion: a ring of ten million functions
//    must not overflow the JavaScript stack.
//  - MarkGray does not descend into a candidate that is still waiting for its own turn in
//    markRoots (buffered and not yet gray): it only subtracts the edge's count, and the candidate
//    is grayed and traversed as a root when markRoots reaches it. Every node reachable from the
//    roots is still gray when markRoots ends, and every edge out of a gray node still loses its
//    count exactly once. What changes is the order: when many candidates are garbage (a module
//    unloaded, every handle of a unit freed) the nodes are traversed in buffer order, which is
//    mostly allocation order, and only the targets of edges are random accesses.
//  - Every gray node is listed: the roots in the candidate buffer itself (markRoots packs the
//    live ones to its front as it reads it), every other node markGray grays in the gray list.
//    Scan then visits both lists instead of descending from each root: a gray node still counted
//    from outside is live and is restored with all it reaches (scanBlack, which re-blackens a node
//    scan whitened earlier, restoring its edges' counts exactly once); a gray node at zero turns
//    white for now. The descent of the paper's scan only served to reach gray nodes, and the lists
//    hold them all, in any order. When every node of a graph is a candidate (a module whose
//    handles were all freed) the gray list stays empty and no scratch is allocated at all.
//  - CollectRoots and CollectWhite are the same pass as scanRoots: each node leaves the buffer
//    when scan reaches it, and a node white at that moment moves to the front of its list. The
//    batch free takes the nodes of those fronts that are still white (a later scanBlack may have
//    restored one), so no further pass over the lists is needed.
//  - MarkRoots keeps the sum of the gray nodes' trial counts. Every trial count is at least zero
//    (a node's count includes every edge into it), so a sum of zero means no gray node is counted
//    from outside: all of them are garbage, and scan, which would only whiten them, is skipped.
//    That is the usual case of a module unloaded whole.
//  - Green nodes (leaves: no outgoing sites) are never grayed. The paper marks acyclic objects
//    green by type and never buffers them; here markGray and scanBlack also skip every edge into
//    one, so a leaf's count stays real through the collection, and the batch free releases the
//    edges from garbage into leaves as counting does (a leaf only garbage held is freed with it).
//    The runtime helpers, external stubs and constant data that every function may reference are
//    never visited, and garbage that reaches only itself and leaves still skips scan. A root that
//    turned green after it was buffered (a new body without relocations) just leaves the buffer.
//  - Increment does not recolor a node black (it would cost a write on every new edge). A
//    buffered node is therefore always purple when markRoots sees it, and at worst a live
//    candidate is scanned and found live.
//  - The garbage is freed as one batch, not node by node as in collectWhite: the edges between
//    white nodes already lost their counts in markGray, and an edge from a white node to a live
//    (black) node did too, so freeing detaches sites without decrementing anything — a live node
//    is never decremented twice — and the arenas take the blocks back together.
//  - A candidate reclaimed by counting while buffered (DEAD) gives its id back in markRoots,
//    exactly once; its memory went at once, when its count reached zero.
//
// Pre: called between public calls (no user code runs inside). Post: the buffer is empty; every
// node that was reachable only through garbage cycles from a candidate is freed; every count is
// exact again.

import type { HeapGraph } from '../rc/heap-graph.js';
import * as heapGraph from '../rc/heap-graph.js';
import * as siteTable from '../rc/site-table.js';
import { grown } from '../base.js';
import * as base from '../base.js';
import * as nodeTable from '../rc/node-table.js';
import type { CollectionResult } from '../types.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { OPEN_GARBAGE } = heapGraph;
const { SITE_TARGET_MASK } = siteTable;
const { ALIVE, BLACK_BITS, BUFFERED, COLOR_MASK, GRAY_BITS, GREEN, WHITE_BITS } = nodeTable;
const { NONE } = base;

export class CycleCollector {
  private stack = new Int32Array(256);
  /** The gray nodes that are not roots, in the order markGray grayed them. */
  private grayList = new Int32Array(256);
  private grayCount = 0;
  /** Live roots, packed to the front of the candidate buffer by markRoots. */
  private rootCount = 0;
  /** Sites out of the roots, and out of the other gray nodes, as markRoots walked them. */
  private rootSites = 0;
  private graySites = 0;
  /** Sites from gray nodes into green ones (leaves), which markGray did not count down. */
  private greenSites = 0;

  constructor(private readonly graph: HeapGraph) {}

  /** The collector's driver, read as a table of contents. */
  collectCycles(): CollectionResult {
    const start = performance.now();
    const { graph } = this;
    const roots = graph.candidates.ids;
    const candidates = graph.candidates.length;
    const before = { ...graph.freed.cycles };
    const trialSum = this.markRoots();
    const { rootCount, grayList, grayCount } = this;
    // Leaves only the garbage held, freed with it: the collector visits them as it frees them.
    let leaves = 0;
    if (trialSum === 0) {
      // Every gray node's trial count is zero: nothing is counted from outside, so scan would
      // whiten both lists and restore nothing. The lists are the garbage as they stand, closed
      // under their edges unless some reach leaves.
      const closed = this.greenSites === 0;
      leaves += graph.reclaimGarbage(roots, rootCount, GRAY_BITS, closed ? this.rootSites : OPEN_GARBAGE);
      leaves += graph.reclaimGarbage(grayList, grayCount, GRAY_BITS, closed ? this.graySites : OPEN_GARBAGE);
    } else {
      const whiteRoots = this.scanRoots(roots, rootCount);
      const whiteOthers = this.scanRoots(grayList, grayCount);
      leaves += graph.reclaimGarbage(roots, whiteRoots, WHITE_BITS, OPEN_GARBAGE);
      leaves += graph.reclaimGarbage(grayList, whiteOthers, WHITE_BITS, OPEN_GARBAGE);
    }
    graph.candidates.clear();
    this.releaseScratch();
    return {
      freed: graph.freed.cycles.nodes - before.nodes,
      bytes: graph.freed.cycles.bytes - before.bytes,
      visited: rootCount + grayCount + leaves,
      candidates,
      ms: performance.now() - start,
    };
  }

  /**
   * MarkRoots, with MarkGray run from each root in the same loop. Post: every live buffered node
   * is a root, gray and packed to the front of the buffer (rootCount of them); every other node
   * they reach is gray and on the gray list; the count of every edge out of a gray node is
   * subtracted once; DEAD entries have left the buffer (roots leave it in scanRoots, or in the
   * batch free when scan is skipped); rootSites and graySites count the sites out of the roots and
   * out of the other gray nodes (the batch free of closed garbage frees them unread). Returns the
   * sum of the gray nodes' trial counts.
   *
   * MarkGray is written out here rather than called per root: with many small garbage cycles (a
   * module of mutually recursive pairs) most roots gray only themselves, and a call that reloads
   * the tables it walks cost twice the walk itself.
   */
  private markRoots(): number {
    const { nodes, sites, candidates } = this.graph;
    const { rc, flags, firstOut } = nodes;
    // A site's target word and its next site sit side by side in links (2s, 2s + 1).
    const { links } = sites;
    const ids = candidates.ids;
    const length = candidates.length;
    let stack = this.stack;
    let grayList = this.grayList;
    let grayCount = 0;
    let rootCount = 0;
    // The sum of the trial counts of the gray nodes, kept as they change: a node adds its count
    // when it turns gray, and each later edge into it takes one away. A node still waiting for its
    // turn as a root adds its count then, edges already subtracted.
    let trialSum = 0;
    let rootSites = 0;
    let graySites = 0;
    let greenSites = 0;
    for (let i = 0; i < length; i++) {
      const root = ids[i]!;
      const rootFlags = flags[root]!;
      if ((rootFlags & ALIVE) === 0) {
        // DEAD: reclaimed by counting while buffered. Its id is free from now on.
        flags[root] = rootFlags & ~BUFFERED;
        nodes.releaseId(root);
        continue;
      }
      if ((rootFlags & GREEN) !== 0) {
        // It lost its sites since it was buffered (a new body with no relocations): a node with
        // no edges is on no cycle. It leaves the buffer, and its count stays real.
        flags[root] = rootFlags & ~(BUFFERED | COLOR_MASK);
        continue;
      }
      // Purple: markGray never grays a buffered node, so its turn is its first visit. Its trial
      // count may already be zero (earlier roots took their edges to it): it is alive all the
      // same, and its own edges have not been subtracted yet. Packing writes behind the read.
      // Packing writes only once an entry has left: a buffer read and never written is not
      // written back to memory (a million roots are 4 MiB of it).
      if (rootCount !== i) ids[rootCount] = root;
      rootCount++;
      flags[root] = (rootFlags & ~COLOR_MASK) | GRAY_BITS;
      trialSum += rc[root]!;
      // MarkGray(root): subtract one count per edge out of a gray node, and gray, list and do the
      // same for every node it reaches that is not gray yet. A buffered node not yet gray waits
      // for its own turn as a root (see the departures).
      let top = 0;
      let id = root;
      for (;;) {
        let out = 0;
        for (let s = firstOut[id]!; s !== NONE; s = links[(s << 1) + 1]!) {
          out++;
          const target = links[s << 1]! & SITE_TARGET_MASK;
          const f = flags[target]!;
          if ((f & GREEN) !== 0) {
            // A leaf is on no cycle: its count is left real (see the departures).
            greenSites++;
            continue;
          }
          const count = rc[target]! - 1;
          rc[target] = count;
          if ((f & COLOR_MASK) === GRAY_BITS) {
            trialSum--;
          } else if ((f & BUFFERED) === 0) {
            flags[target] = (f & ~COLOR_MASK) | GRAY_BITS;
            trialSum += count;
            if (grayCount === grayList.length) grayList = this.grayList = grown(grayList, grayCount * 2);
            grayList[grayCount++] = target;
            if (top === stack.length) stack = this.stack = grown(stack, top * 2);
            stack[top++] = target;
          }
        }
        if (id === root) rootSites += out;
        else graySites += out;
        if (top === 0) break;
        id = stack[--top]!;
      }
    }
    this.rootCount = rootCount;
    this.grayCount = grayCount;
    this.rootSites = rootSites;
    this.graySites = graySites;
    this.greenSites = greenSites;
    return trialSum;
  }

  /**
   * ScanRoots over one list of gray nodes, with CollectRoots and CollectWhite in the same pass.
   * Each node is scanned in list order (scan), leaves the buffer, and moves to the front of the
   * list if it is white at that moment. A later scanBlack (from this list or the next) may still
   * restore one of those (an edge from a live node reached it), so the front holds every garbage
   * node of the list, each once, and possibly some black ones, which the batch free skips; their
   * number is returned. Post, once both lists are scanned: no gray node is left and no node is
   * buffered.
   */
  private scanRoots(list: Int32Array, count: number): number {
    const { flags, rc } = this.graph.nodes;
    let white = 0;
    for (let i = 0; i < count; i++) {
      const id = list[i]!;
      // Scan(id), written out for the common case: a gray node still counted from outside is live
      // (scanBlack); at zero it turns white. A node an earlier scanBlack reached is black already.
      let f = flags[id]!;
      if ((f & COLOR_MASK) === GRAY_BITS) {
        if (rc[id]! > 0) {
          this.scanBlack(id);
          f = flags[id]!;
        } else {
          f = (f & ~COLOR_MASK) | WHITE_BITS;
        }
      }
      f &= ~BUFFERED;
      flags[id] = f;
      if ((f & COLOR_MASK) === WHITE_BITS) list[white++] = id;
    }
    return white;
  }

  /** ScanBlack: restore the counts of every edge out of a live node and of all it reaches. */
  private scanBlack(root: number): void {
    const { nodes, sites } = this.graph;
    const { rc, flags, firstOut } = nodes;
    const { links } = sites;
    flags[root] = (flags[root]! & ~COLOR_MASK) | BLACK_BITS;
    let top = this.push(0, root);
    while (top > 0) {
      const id = this.stack[--top]!;
      for (let s = firstOut[id]!; s !== NONE; s = links[(s << 1) + 1]!) {
        const target = links[s << 1]! & SITE_TARGET_MASK;
        const f = flags[target]!;
        // markGray left a leaf's count real.
        if ((f & GREEN) !== 0) continue;
        rc[target]!++;
        if ((f & COLOR_MASK) !== BLACK_BITS) {
          flags[target] = (f & ~COLOR_MASK) | BLACK_BITS;
          top = this.push(top, target);
        }
      }
    }
  }

  /** Scratch that grew past a million entries is not kept for the next, likely smaller, run. */
  private releaseScratch(): void {
    if (this.stack.length > SCRATCH_KEPT) this.stack = new Int32Array(256);
    if (this.grayList.length > SCRATCH_KEPT) this.grayList = new Int32Array(256);
  }

  private push(top: number, id: number): number {
    if (top === this.stack.length) this.stack = grown(this.stack, top * 2);
    this.stack[top] = id;
    return top + 1;
  }
}

/** Entries of collector scratch kept between runs (4 MiB per array). */
const SCRATCH_KEPT = 1 << 20;
