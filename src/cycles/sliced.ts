// Sliced cycle collection: trial deletion in bounded slices, with the heap changing between them.
//
// The synchronous collector (collect.ts) counts trial deletions down in the counts themselves and
// finishes before the call returns. A slice must stop anywhere and let the program run, so here:
//  - Trial counts live in an array of their own (`trial`, by node id); the counts stay real, so
//    the program's releases and frees between slices work as always.
//  - The set S is marked in the flags (SEEN), with SCANNED once a node's edges are counted down
//    and KEPT once it is known live. S is listed in `list`, which markGray uses as its queue.
//  - Every change of a count goes through rc (counted-graph.ts), which marks a SEEN node KEPT
//    when the program changes its count (touch), and queues it so that all it reaches in S is
//    kept too. That is the invariant the slices rely on:
//
//      (I) a node of S that is not KEPT has had the same references into it, and the same roots,
//          since it was SEEN; its trial count is its count less the sites into it that the
//          collector walked out of SCANNED nodes. (A site a scanned node gained before its
//          target was seen was not walked: the trial count is higher then, which only keeps
//          more. verify() checks the bound between slices: sliced-verify.ts.)
//
//    So a node of S left at trial zero and reached from no KEPT node once every node of S is
//    scanned and every kept node has kept its reach is referenced only from such nodes: that set
//    is closed, held by nothing, and garbage (the paper's white), however the heap changed.
//  - The garbage is freed in slices too. It stays allocated until then, but it is "doomed": the
//    symbol index no longer finds it (rc/symbol-index.ts), so no new reference can reach it, and
//    a define that wants one of its names finishes the collection first (code-heap.ts,
//    checkFresh). A garbage stub may still be handed out by pointer() for its live function;
//    the touch keeps it, and it stays (what it points at is live).
//  - Each slice frees by dropping the outgoing sites of doomed nodes; counting frees them once
//    their last reference goes, and what only they held, as the unload does (unload.ts).
//
// The program can only make a node of S live through a public call, and each one is a touch, so
// a slice may keep more than the synchronous collector would (it found the node changed), never
// less: what it leaves is a candidate again or is found by the next collection.
//
// The phases: ROOTS takes the candidates into S, MARK counts S's edges down, SCAN keeps what is
// held from outside, FREE frees the rest, CLEAR takes the marks off. Each stops anywhere: none is
// a pass over the candidates or S in one slice (the first and last used to be, 0.5-3.7 ms of a
// 0.5 ms slice in bench/macro.bench.ts, run cold once a collection). While ROOTS runs, the
// candidate buffer and the collection's array of roots both hold BUFFERED nodes; a node buffered
// then is FRESH too, so a free knows which of the two holds it (rc/node-flags.ts).
//
// Work is measured in nodes and sites visited; a time budget is checked every CHECK_EVERY units.

import { grown } from '../base.js';
import * as base from '../base.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import * as nodeTable from '../rc/node-table.js';
import * as slicedPhases from './sliced-phases.js';
import { clearMarks, takeRoots, type SliceBudget } from './sliced-phases.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE, STUB } = base;
const { ALIVE, BUFFERED, FRESH, KEPT, KIND_MASK, SCANNED, SEEN } = nodeTable;
const { CLEAR, FREE, IDLE, MARK, ROOTS, SCAN } = slicedPhases;

/** Work units between two looks at the clock. */
const CHECK_EVERY = 256;
/** Work units a node freed counts for (see freeSome). */
const FREE_WEIGHT = 32;
/** Nodes that ROOTS takes, or whose marks CLEAR takes off, between two looks at the budget. */
const STRETCH = CHECK_EVERY;
const NO_ROOTS = new Int32Array(0);

export class SlicedCollector {
  phase = IDLE;
  /** Trial counts of the nodes of S, by id. */
  trial = new Int32Array(0);
  /** S in the order seen; markGray's queue runs from `cursor`. */
  list = new Int32Array(256);
  count = 0;
  /** Where the current phase is in `list`. */
  cursor = 0;
  /** Candidates the collection started from. */
  candidates = 0;
  /** The candidate buffer's array, taken at the start: roots[rootAt, candidates) are still to take. */
  private roots: Int32Array<ArrayBuffer> = NO_ROOTS;
  private rootAt = 0;
  /** Nodes of S (for the result's `visited`). */
  visited = 0;
  /** Nodes and bytes this collection's slices freed so far (not the program's frees between them). */
  readonly total = { nodes: 0, bytes: 0 };

  constructor(private readonly graph: HeapGraph) {}

  get running(): boolean {
    return this.phase !== IDLE;
  }

  /**
   * Takes the candidate buffer's array as the roots of a new collection, in O(1): ROOTS takes
   * them into S in slices. Until it is done, a node buffered anew is FRESH (counted-graph.ts).
   */
  start(): void {
    const { graph } = this;
    const { nodes } = graph;
    if (this.trial.length < nodes.capacity) this.trial = new Int32Array(nodes.capacity);
    const taken = graph.candidates.take();
    this.roots = taken.ids;
    this.rootAt = 0;
    this.candidates = taken.length;
    // A root's id is below the capacity now, and S holds no more roots than were taken: taking
    // them needs no growth of either array.
    if (this.list.length < taken.length) this.list = new Int32Array(taken.length * 2);
    this.count = 0;
    this.cursor = 0;
    this.visited = 0;
    this.total.nodes = 0;
    this.total.bytes = 0;
    graph.bufferedBits = BUFFERED | FRESH;
    this.phase = ROOTS;
  }

  /** Pending roots, for verify(): those a free leaves BUFFERED and not FRESH. */
  pendingRoots(): Int32Array {
    return this.phase === ROOTS ? this.roots.subarray(this.rootAt, this.candidates) : NO_ROOTS;
  }

  /**
   * Runs the collection on for at most `budget`, counted from `since` (performance.now() when the
   * caller began: a slice that started the collection has spent part of its time on start());
   * returns true once it is over.
   */
  slice(budget: SliceBudget, since: number): boolean {
    const { cycles } = this.graph.freed;
    const nodes = cycles.nodes;
    const bytes = cycles.bytes;
    try {
      return this.run(budget, since);
    } finally {
      this.total.nodes += cycles.nodes - nodes;
      this.total.bytes += cycles.bytes - bytes;
    }
  }

  private run(budget: SliceBudget, since: number): boolean {
    const deadline = since + budget.ms;
    let work = 0;
    const spent = (units: number): boolean => {
      work += units;
      return work >= budget.work || (work % CHECK_EVERY < units && performance.now() >= deadline);
    };
    // ROOTS and CLEAR look at the budget every `stretch` nodes (every node under a small work budget).
    const stretch = Math.min(STRETCH, Math.max(1, budget.work));
    while (this.phase !== IDLE) {
      if (this.phase === ROOTS) {
        if (this.takeSomeRoots(spent, stretch)) return false;
        this.endRoots();
        this.phase = MARK;
      } else if (this.phase === MARK) {
        if (this.markSome(spent)) return false;
        this.phase = SCAN;
        this.cursor = 0;
      } else if (this.phase === SCAN) {
        if (this.scanSome(spent)) return false;
        this.phase = FREE;
        this.cursor = 0;
        this.graph.nodes.dooming = true;
      } else if (this.phase === FREE) {
        if (this.freeSome(spent)) return false;
        this.phase = CLEAR;
        this.cursor = 0;
        // What is left of S is live: nothing is hidden any more, and no touch queues a node (all
        // are KEPT), so the marks can come off while the program runs.
        this.graph.nodes.dooming = false;
        this.graph.touchedTop = 0;
      } else {
        if (this.clearSome(spent, stretch)) return false;
        this.finish();
      }
    }
    return true;
  }

  /** Takes roots into S, `stretch` between looks at the budget; true when out of it. */
  private takeSomeRoots(spent: (units: number) => boolean, stretch: number): boolean {
    while (this.rootAt < this.candidates) {
      const to = Math.min(this.rootAt + stretch, this.candidates);
      const count = takeRoots(this.graph.nodes, this.trial, this.list, this.count, this.roots, this.rootAt, to);
      this.visited += count - this.count;
      this.count = count;
      const units = to - this.rootAt;
      this.rootAt = to;
      if (spent(units)) return true;
    }
    return false;
  }

  /** Every root is in S: the buffer gets its array back, and what joined it since is no longer FRESH. */
  private endRoots(): void {
    const { graph } = this;
    const { candidates } = graph;
    const { flags } = graph.nodes;
    for (let i = 0; i < candidates.length; i++) {
      const id = candidates.ids[i]!;
      flags[id] = flags[id]! & ~FRESH;
    }
    graph.bufferedBits = BUFFERED;
    candidates.giveBack(this.roots);
    this.roots = NO_ROOTS;
  }

  /** A node joins S with its trial count. */
  private see(id: number, trialCount: number): void {
    const { flags } = this.graph.nodes;
    flags[id] = flags[id]! | SEEN;
    if (id >= this.trial.length) this.trial = grown(this.trial, Math.max(this.graph.nodes.capacity, id + 1));
    this.trial[id] = trialCount;
    if (this.count === this.list.length) this.list = grown(this.list, this.count * 2);
    this.list[this.count++] = id;
    this.visited++;
  }

  /** MarkGray from the queue; true when the budget ran out first. */
  private markSome(spent: (units: number) => boolean): boolean {
    const { nodes, sites } = this.graph;
    const { flags, rc, firstOut } = nodes;
    while (this.cursor < this.count) {
      const id = this.list[this.cursor++]!;
      const f = flags[id]!;
      // A node freed since it was seen, or an id since handed to another node, or scanned already.
      if ((f & (ALIVE | SEEN | SCANNED)) !== (ALIVE | SEEN)) continue;
      flags[id] = f | SCANNED;
      let out = 1;
      for (let s = firstOut[id]!; s !== NONE; s = sites.nextOf(s)) {
        out++;
        // Leaves too (unlike markGray): one may gain references later, and its trial count must
        // then still be its count less every site from a scanned node (invariant I).
        const target = sites.targetOf(s);
        if ((flags[target]! & SEEN) !== 0) this.trial[target]!--;
        else this.see(target, rc[target]! - 1);
      }
      if (spent(out)) return true;
    }
    return false;
  }

  /** Scan and ScanBlack: what is counted from outside or touched is kept, with all it reaches. */
  private scanSome(spent: (units: number) => boolean): boolean {
    const { graph } = this;
    const { flags } = graph.nodes;
    for (;;) {
      if (this.keepTouched(spent)) return true;
      if (this.cursor === this.count) return false;
      const id = this.list[this.cursor++]!;
      const f = flags[id]!;
      if ((f & (ALIVE | SEEN | KEPT)) === (ALIVE | SEEN) && this.trial[id]! > 0) {
        flags[id] = f | KEPT;
        this.queueKept(id);
      }
      if (spent(1)) return true;
    }
  }

  /** Drains the queue of kept nodes, keeping what they reach in S; true when out of budget. */
  private keepTouched(spent: (units: number) => boolean): boolean {
    const { graph } = this;
    const { nodes, sites } = graph;
    const { flags, firstOut } = nodes;
    while (graph.touchedTop > 0) {
      const id = graph.touched[--graph.touchedTop]!;
      if ((flags[id]! & ALIVE) === 0) continue;
      let out = 1;
      for (let s = firstOut[id]!; s !== NONE; s = sites.nextOf(s)) {
        out++;
        const target = sites.targetOf(s);
        const t = flags[target]!;
        if ((t & (SEEN | KEPT)) === SEEN) {
          flags[target] = t | KEPT;
          this.queueKept(target);
        }
      }
      if (spent(out)) return true;
    }
    return false;
  }

  private queueKept(id: number): void {
    const { graph } = this;
    if (graph.touchedTop === graph.touched.length) graph.touched = grown(graph.touched, graph.touchedTop * 2);
    graph.touched[graph.touchedTop++] = id;
  }

  /** Frees doomed nodes by dropping their sites; true when out of budget. */
  private freeSome(spent: (units: number) => boolean): boolean {
    const { graph } = this;
    const { flags } = graph.nodes;
    // A garbage stub the program took back (pointer()) was kept: the queue keeps what it reaches,
    // which is live already (its function), before anything more is freed.
    if (this.keepTouched(spent)) return true;
    graph.freeingSlice = true;
    try {
      while (this.cursor < this.count) {
        const id = this.list[this.cursor++]!;
        const f = flags[id]!;
        if ((f & (ALIVE | SEEN | KEPT)) !== (ALIVE | SEEN) || (f & KIND_MASK) === STUB) continue;
        // A free costs tens of times a visit (the arena, the indexes): weighed so, the clock is
        // read every few frees rather than every few hundred.
        const freed = graph.dropOutgoing(id);
        if (spent(FREE_WEIGHT * (1 + freed))) return true;
      }
    } finally {
      graph.freeingSlice = false;
    }
    return false;
  }

  /** Takes the marks off S, `stretch` nodes between looks at the budget; true when out of it. */
  private clearSome(spent: (units: number) => boolean, stretch: number): boolean {
    const { flags } = this.graph.nodes;
    while (this.cursor < this.count) {
      const to = Math.min(this.cursor + stretch, this.count);
      clearMarks(flags, this.list, this.cursor, to);
      const units = to - this.cursor;
      this.cursor = to;
      if (spent(units)) return true;
    }
    return false;
  }

  /** The collection is over: no node keeps its marks. */
  private finish(): void {
    this.phase = IDLE;
    this.count = 0;
    this.cursor = 0;
    if (this.list.length > 1 << 20) this.list = new Int32Array(256);
  }
}
