// MarkRoots and MarkGray: the trial deletion of every edge inside the subgraph the candidates
// reach (Bacon & Rajan, ECOOP 2001, section 3, figure 2).
//
// Departures from the paper (collect.ts lists them all):
//  - MarkRoots grays every live root first, and MarkGray then runs from each root in buffer order:
//    a root is never descended into from another root, it is traversed on its own turn. When many
//    candidates are garbage (a module unloaded, every handle of a unit freed) the nodes are then
//    traversed in buffer order, which is mostly allocation order, and only edge targets are random.
//  - Every gray node is listed: the roots at the front of the buffer, the others in the gray list.
//  - The sum of the gray nodes' trial counts is kept; zero means all of them are garbage.
//  - Edges into green nodes (leaves) are not counted down: a leaf's count stays real.

import type { CollectorState } from './collector-state.js';
import * as base from '../base.js';
import * as nodeTable from '../rc/node-table.js';
import * as siteTable from '../rc/site-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { ALIVE, BUFFERED, COLOR_MASK, GRAY_BITS, GREEN } = nodeTable;
const { SITE_TARGET_MASK } = siteTable;

/**
 * MarkRoots: every live purple candidate becomes a gray root, packed to the front of the buffer.
 * Pre: state.roots[0 .. state.taken) is the candidate buffer as taken from rc; every entry is
 * BUFFERED; a live entry is purple or green. Post: the live, non-green entries are gray, still
 * BUFFERED, and are state.roots[0 .. state.rootCount); a DEAD entry (reclaimed by counting while
 * buffered) has given its id back, exactly once; a green entry (it lost its sites since it was
 * buffered, so it is on no cycle) has left the buffer with its count real. Returns the sum of the
 * roots' counts (their trial counts before any edge is subtracted).
 */
export function markRoots(state: CollectorState): number {
  const { nodes } = state.graph;
  const { rc, flags } = nodes;
  const ids = state.roots;
  const length = state.taken;
  let rootCount = 0;
  let trialSum = 0;
  for (let i = 0; i < length; i++) {
    const root = ids[i]!;
    const rootFlags = flags[root]!;
    if ((rootFlags & ALIVE) === 0) {
      nodes.releaseId(root);
      continue;
    }
    if ((rootFlags & GREEN) !== 0) {
      flags[root] = rootFlags & ~(BUFFERED | COLOR_MASK);
      continue;
    }
    // Packing writes only once an entry has left: a buffer read and never written is not
    // written back to memory (a million roots are 4 MiB of it).
    if (rootCount !== i) ids[rootCount] = root;
    rootCount++;
    flags[root] = (rootFlags & ~COLOR_MASK) | GRAY_BITS;
    trialSum += rc[root]!;
  }
  state.rootCount = rootCount;
  return trialSum;
}

/**
 * MarkGray from every root, in buffer order: subtract one count per edge out of a gray node into
 * a node that is not green, and gray, list and traverse every node so reached that is not gray
 * yet. Pre: markRoots ran (the roots are gray and no other node is). Post: every node reachable
 * from a root through non-green nodes is gray; the non-root ones are state.grayList[0 ..
 * state.grayCount), each once; the count of every edge out of a gray node into a non-green node
 * is subtracted exactly once; rootSites, graySites and greenSites count the sites walked out of
 * the roots, out of the other gray nodes, and into leaves. Returns `trialSum` (markRoots' sum)
 * brought up to date: the sum of the trial counts of every gray node, never negative, since a
 * node's count includes every edge into it.
 */
export function markGray(state: CollectorState, trialSum: number): number {
  const { nodes, sites } = state.graph;
  const { rc, flags, firstOut } = nodes;
  // A site's target word and its next site sit side by side in links (2s, 2s + 1).
  const { links } = sites;
  const roots = state.roots;
  const rootCount = state.rootCount;
  let stack = state.stack;
  let grayList = state.grayList;
  let grayCount = 0;
  let rootSites = 0;
  let graySites = 0;
  let greenSites = 0;
  for (let i = 0; i < rootCount; i++) {
    const root = roots[i]!;
    let top = 0;
    let id = root;
    // Invariant: every node on the stack is gray and listed, and its edges are not counted yet.
    for (;;) {
      let out = 0;
      for (let s = firstOut[id]!; s !== NONE; s = links[(s << 1) + 1]!) {
        out++;
        const target = links[s << 1]! & SITE_TARGET_MASK;
        const f = flags[target]!;
        if ((f & GREEN) !== 0) {
          greenSites++;
          continue;
        }
        const count = rc[target]! - 1;
        rc[target] = count;
        if ((f & COLOR_MASK) === GRAY_BITS) {
          trialSum--;
        } else {
          flags[target] = (f & ~COLOR_MASK) | GRAY_BITS;
          trialSum += count;
          if (grayCount === grayList.length) grayList = state.growGrayList();
          grayList[grayCount++] = target;
          if (top === stack.length) stack = state.growStack();
          stack[top++] = target;
        }
      }
      if (id === root) rootSites += out;
      else graySites += out;
      if (top === 0) break;
      id = stack[--top]!;
    }
  }
  state.grayCount = grayCount;
  state.rootSites = rootSites;
  state.graySites = graySites;
  state.greenSites = greenSites;
  return trialSum;
}
