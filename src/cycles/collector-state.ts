// What one collection knows while it runs: the roots it took from rc, the gray nodes it found,
// the explicit stack every traversal uses, and the figures the phases hand each other.
//
// One CollectorState lives as long as its heap, so scratch arrays are reused from one collection
// to the next (up to SCRATCH_KEPT entries each). Each phase (mark.ts, scan.ts, collect-white.ts)
// is a function over it; collect.ts runs them in order.

import { grown } from '../base.js';
import type { HeapGraph } from '../rc/heap-graph.js';

/** Entries of collector scratch kept between runs (4 MiB per array). */
const SCRATCH_KEPT = 1 << 20;
const SCRATCH_INITIAL = 256;
const EMPTY = new Int32Array(0);

export class CollectorState {
  /** The candidate buffer as the collection took it: after markRoots, the live roots at its front. */
  roots: Int32Array<ArrayBuffer> = EMPTY;
  /** Entries of `roots` as taken (DEAD and green entries included). */
  taken = 0;
  /** Live roots, packed to the front of `roots` by markRoots. */
  rootCount = 0;
  /** The gray nodes that are not roots, in the order markGray grayed them. */
  grayList: Int32Array<ArrayBuffer> = new Int32Array(SCRATCH_INITIAL);
  grayCount = 0;
  /** The explicit stack of markGray and scanBlack. */
  stack: Int32Array<ArrayBuffer> = new Int32Array(SCRATCH_INITIAL);
  /** Sites out of the roots and out of the other gray nodes, as markGray walked them. */
  rootSites = 0;
  graySites = 0;
  /** Sites from gray nodes into green ones (leaves), which markGray did not count down. */
  greenSites = 0;
  /** Leaves only the garbage held, freed with it by collectWhite. */
  leavesFreed = 0;

  constructor(readonly graph: HeapGraph) {}

  /** Takes rc's candidates as this collection's roots; rc's buffer is empty until giveBackRoots. */
  takeRoots(): number {
    const { ids, length } = this.graph.candidates.take();
    this.roots = ids;
    this.taken = length;
    this.rootCount = 0;
    this.grayCount = 0;
    this.rootSites = 0;
    this.graySites = 0;
    this.greenSites = 0;
    this.leavesFreed = 0;
    return length;
  }

  /** The collection is over: rc's buffer is the taken array again, emptied. */
  giveBackRoots(): void {
    this.graph.candidates.giveBack(this.roots);
    this.roots = EMPTY;
    this.taken = 0;
  }

  growStack(): Int32Array<ArrayBuffer> {
    this.stack = grown(this.stack, this.stack.length * 2);
    return this.stack;
  }

  growGrayList(): Int32Array<ArrayBuffer> {
    this.grayList = grown(this.grayList, this.grayList.length * 2);
    return this.grayList;
  }

  /** Scratch that grew past SCRATCH_KEPT entries is not kept for the next, likely smaller, run. */
  releaseScratch(): void {
    if (this.stack.length > SCRATCH_KEPT) this.stack = new Int32Array(SCRATCH_INITIAL);
    if (this.grayList.length > SCRATCH_KEPT) this.grayList = new Int32Array(SCRATCH_INITIAL);
  }
}
