// ScanRoots, Scan and ScanBlack: sorting the gray nodes into live (black) and garbage (white)
// (Bacon & Rajan, ECOOP 2001, section 3, figure 2), with CollectRoots folded in.
//
// Departures from the paper (collect.ts lists them all):
//  - Scan is applied to every listed gray node in list order instead of descending from each
//    root: the lists already hold every gray node, and the descent only served to reach them.
//  - CollectRoots is the same pass: a node leaves the buffer when it is scanned, and a node white
//    at that moment moves to the front of its list for collectWhite.
//  - ScanBlack skips edges into green nodes, whose counts markGray left real.

import type { CollectorState } from './collector-state.js';
import * as base from '../base.js';
import * as nodeTable from '../rc/node-table.js';
import * as siteTable from '../rc/site-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { BLACK_BITS, BUFFERED, COLOR_MASK, GRAY_BITS, GREEN, WHITE_BITS } = nodeTable;
const { SITE_TARGET_MASK } = siteTable;

/**
 * ScanRoots over one list of gray nodes, with CollectRoots: scan each node in list order, take it
 * out of the buffer, and move it to the front of the list if it is white at that moment. A later
 * scanBlack (from this list or the next) may still restore one of those (an edge from a live node
 * reached it), so the front holds every garbage node of the list, each once, and possibly some
 * black ones, which collectWhite skips. Returns the length of that front. Post, once both lists
 * are scanned: no node is gray and no node is buffered; a white node is reachable from no black
 * node, and every black node's count is real again.
 */
export function scanRoots(state: CollectorState, list: Int32Array, count: number): number {
  const { flags } = state.graph.nodes;
  let white = 0;
  for (let i = 0; i < count; i++) {
    const id = list[i]!;
    const f = scan(state, id) & ~BUFFERED;
    flags[id] = f;
    if ((f & COLOR_MASK) === WHITE_BITS) list[white++] = id;
  }
  return white;
}

/**
 * Scan: a gray node still counted from outside is live (scanBlack restores it and all it
 * reaches); a gray node at zero turns white, for now. A node an earlier scanBlack reached is black
 * already and stays so. Returns the node's flags afterwards (not yet written for a white node).
 */
export function scan(state: CollectorState, id: number): number {
  const { flags, rc } = state.graph.nodes;
  const f = flags[id]!;
  if ((f & COLOR_MASK) !== GRAY_BITS) return f;
  if (rc[id]! > 0) {
    scanBlack(state, id);
    return flags[id]!;
  }
  return (f & ~COLOR_MASK) | WHITE_BITS;
}

/**
 * ScanBlack: color `root` black and give back the count of every edge out of it, and of every
 * node it reaches that is not black yet, which turns black too. Post: every node reachable from
 * `root` through non-green nodes is black, and counts real again.
 */
export function scanBlack(state: CollectorState, root: number): void {
  const { nodes, sites } = state.graph;
  const { rc, flags, firstOut } = nodes;
  const { links } = sites;
  let stack = state.stack;
  flags[root] = (flags[root]! & ~COLOR_MASK) | BLACK_BITS;
  stack[0] = root;
  let top = 1;
  // Invariant: every node on the stack is black and its edges' counts are not given back yet.
  while (top > 0) {
    const id = stack[--top]!;
    for (let s = firstOut[id]!; s !== NONE; s = links[(s << 1) + 1]!) {
      const target = links[s << 1]! & SITE_TARGET_MASK;
      const f = flags[target]!;
      // markGray left a leaf's count real.
      if ((f & GREEN) !== 0) continue;
      rc[target]!++;
      if ((f & COLOR_MASK) !== BLACK_BITS) {
        flags[target] = (f & ~COLOR_MASK) | BLACK_BITS;
        if (top === stack.length) stack = state.growStack();
        stack[top++] = target;
      }
    }
  }
}
