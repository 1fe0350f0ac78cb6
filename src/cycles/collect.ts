// Synchronous trial-deletion cycle collection over the node table: the driver.
//
// Bacon & Rajan, "Concurrent Cycle Collection in Reference Counted Systems", ECOOP 2001,
// section 3 (the synchronous algorithm): starting only from the candidates (purple nodes whose
// count was decremented to a non-zero value), subtract the counts of internal edges (markGray);
// whatever still has a count is externally referenced and is restored with all it reaches
// (scanBlack); what is left at zero is garbage (white) and is freed (collectWhite). Each phase is
// a function of its own, named after the paper, with its Pre and Post: mark.ts (markRoots,
// markGray), scan.ts (scanRoots, scan, scanBlack; collectRoots folded in), collect-white.ts.
// validate.ts checks what each phase promises, between the phases, when the heap is built with
// `validateCollections` (tests do), as CPython's gc validates its lists.
//
// Departures from the paper, each explained where it is made:
//  - Every traversal is an explicit worklist, never recursion: a ring of ten million functions
//    must not overflow the JavaScript stack.
//  - The collection takes rc's candidate buffer whole as its roots (rc starts an empty one), so
//    the roots are the collector's own array for the whole run.
//  - markRoots grays all live roots first; markGray then runs from each root in buffer order and
//    never descends into another root (mark.ts). Every gray node is listed: the roots at the front
//    of the buffer, the others in the gray list; scan visits the lists instead of descending from
//    each root (scan.ts).
//  - CollectRoots is folded into scanRoots: a node leaves the buffer when it is scanned.
//  - markGray keeps the sum of the gray nodes' trial counts. Every trial count is at least zero,
//    so a sum of zero means nothing gray is counted from outside: all of it is garbage, and scan,
//    which would only whiten it, is skipped. That is the usual case of a module unloaded whole.
//  - Green nodes (leaves: no outgoing sites) are never grayed or traversed, and edges into them are
//    never counted down; collectWhite releases them as counting does.
//  - Increment does not recolor a node black (it would cost a write on every new edge). A
//    buffered node is therefore always purple when markRoots sees it, and at worst a live
//    candidate is scanned and found live.
//  - The garbage is freed as one batch (collect-white.ts).
//  - A candidate reclaimed by counting while buffered (DEAD) gives its id back in markRoots,
//    exactly once, unless rc let it go earlier (candidates.ts).
//
// Pre: called between public calls (no user code runs inside). Post: the buffer is empty; every
// node that was reachable only through garbage cycles from a candidate is freed; every count is
// exact again.

import type { HeapGraph } from '../rc/heap-graph.js';
import * as nodeTable from '../rc/node-table.js';
import type { CollectionResult } from '../types.js';
import { collectWhite } from './collect-white.js';
import * as white from './collect-white.js';
import { CollectorState } from './collector-state.js';
import { markGray, markRoots } from './mark.js';
import { scanRoots } from './scan.js';
import { validatePhase, type Phase } from './validate.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { GRAY_BITS, WHITE_BITS } = nodeTable;
const { OPEN_GARBAGE } = white;

export class CycleCollector {
  private readonly state: CollectorState;

  /** `validate`: run the phase validator between phases (O(heap) each; for tests and debugging). */
  constructor(private readonly graph: HeapGraph, private readonly validate = false) {
    this.state = new CollectorState(graph);
  }

  /** The collector's driver, read as a table of contents. */
  collectCycles(): CollectionResult {
    const start = performance.now();
    const { graph, state } = this;
    const candidates = graph.candidates.length;
    const before = { ...graph.freed.cycles };
    state.takeRoots();
    this.check('taken');
    let trialSum = markRoots(state);
    this.check('markRoots');
    trialSum = markGray(state, trialSum);
    this.check('markGray');
    const { roots, rootCount, grayList, grayCount } = state;
    if (trialSum === 0) {
      // Every gray node's trial count is zero: nothing is counted from outside, so scan would
      // whiten both lists and restore nothing. The lists are the garbage as they stand, closed
      // under their edges unless some reach leaves.
      const closed = state.greenSites === 0;
      collectWhite(state, roots, rootCount, GRAY_BITS, closed ? state.rootSites : OPEN_GARBAGE);
      collectWhite(state, grayList, grayCount, GRAY_BITS, closed ? state.graySites : OPEN_GARBAGE);
    } else {
      const whiteRoots = scanRoots(state, roots, rootCount);
      const whiteOthers = scanRoots(state, grayList, grayCount);
      this.check('scan', whiteRoots, whiteOthers);
      collectWhite(state, roots, whiteRoots, WHITE_BITS, OPEN_GARBAGE);
      collectWhite(state, grayList, whiteOthers, WHITE_BITS, OPEN_GARBAGE);
    }
    this.check('collectWhite');
    const visited = rootCount + grayCount + state.leavesFreed;
    state.giveBackRoots();
    state.releaseScratch();
    return {
      freed: graph.freed.cycles.nodes - before.nodes,
      bytes: graph.freed.cycles.bytes - before.bytes,
      visited,
      candidates,
      ms: performance.now() - start,
    };
  }

  private check(phase: Phase, whiteRoots = 0, whiteOthers = 0): void {
    if (this.validate) validatePhase(this.state, phase, whiteRoots, whiteOthers);
  }
}
