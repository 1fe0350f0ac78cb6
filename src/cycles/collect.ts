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
//    must not overflow the JavaScript stack. Scan's order therefore differs from the paper's
//    depth-first order; the result does not, because scanBlack re-blackens a node that an
//    earlier visit had whitened, restoring its edges' counts exactly once.
//  - Increment does not recolor a node black (it would cost a write on every new edge). A
//    buffered node is therefore always purple when markRoots sees it, and at worst a live
//    candidate is scanned and found live.
//  - collectWhite gathers the garbage first and frees it after: the edges between white nodes
//    already lost their counts in markGray, and an edge from a white node to a live (black) node
//    did too, so freeing detaches sites without decrementing anything — a live node is never
//    decremented twice.
//  - A candidate reclaimed by counting while buffered (DEAD) gives its id back in markRoots,
//    exactly once; its memory went at once, when its count reached zero.
//
// Pre: called between public calls (no user code runs inside). Post: the buffer is empty; every
// node that was reachable only through garbage cycles from a candidate is freed; every count is
// exact again.

import type { HeapGraph } from '../rc/heap-graph.js';
import { BLACK, BUFFERED, GRAY, growI32, NONE, PURPLE, WHITE } from '../rc/node-table.js';
import type { CollectionResult } from '../types.js';

export class CycleCollector {
  private stack = new Int32Array(256);
  private garbage = new Int32Array(256);
  private garbageCount = 0;
  private visited = 0;

  constructor(private readonly graph: HeapGraph) {}

  /** The collector's driver, read as a table of contents. */
  collectCycles(): CollectionResult {
    const start = performance.now();
    const { graph } = this;
    const candidates = graph.candidates.length;
    const before = { ...graph.freed.cycles };
    this.visited = 0;
    this.garbageCount = 0;
    const roots = this.markRoots();
    this.scanRoots(roots);
    this.collectRoots(roots);
    this.freeGarbage();
    graph.candidates.clear();
    return {
      freed: graph.freed.cycles.nodes - before.nodes,
      bytes: graph.freed.cycles.bytes - before.bytes,
      visited: this.visited,
      candidates,
      ms: performance.now() - start,
    };
  }

  /**
   * MarkRoots. Post: every buffered node that was purple and alive is gray, with the subgraph it
   * reaches, and the counts of all edges inside that subgraph subtracted; those roots are kept at
   * the front of the buffer (the count is returned), every other entry has left it.
   */
  private markRoots(): number {
    const { nodes, candidates } = this.graph;
    let kept = 0;
    for (let i = 0; i < candidates.length; i++) {
      const id = candidates.ids[i]!;
      if (!nodes.isAlive(id)) {
        // DEAD: reclaimed by counting while buffered. Its id is free from now on.
        nodes.flags[id] = nodes.flags[id]! & ~BUFFERED;
        nodes.releaseId(id);
      } else if (nodes.colorOf(id) === PURPLE && nodes.rc[id]! > 0) {
        this.markGray(id);
        candidates.ids[kept++] = id;
      } else {
        // Already gray: another root's markGray reached it, and that root's scan covers it.
        nodes.flags[id] = nodes.flags[id]! & ~BUFFERED;
      }
    }
    return kept;
  }

  /** MarkGray: color the subgraph gray, subtracting one count per internal edge. */
  private markGray(root: number): void {
    const { nodes, sites } = this.graph;
    const rc = nodes.rc;
    if (nodes.colorOf(root) === GRAY) return;
    nodes.setColor(root, GRAY);
    let top = this.push(0, root);
    while (top > 0) {
      const id = this.stack[--top]!;
      this.visited++;
      for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOut[s]!) {
        const target = sites.targetOf(s);
        rc[target]!--;
        if (nodes.colorOf(target) !== GRAY) {
          nodes.setColor(target, GRAY);
          top = this.push(top, target);
        }
      }
    }
  }

  /** ScanRoots. Post: no node reachable from a root is gray: each is black (live) or white. */
  private scanRoots(roots: number): void {
    for (let i = 0; i < roots; i++) this.scan(this.graph.candidates.ids[i]!);
  }

  /** Scan: a gray node still counted from outside is live (scanBlack); at zero it turns white. */
  private scan(root: number): void {
    const { nodes, sites } = this.graph;
    let top = this.push(0, root);
    while (top > 0) {
      const id = this.stack[--top]!;
      if (nodes.colorOf(id) !== GRAY) continue;
      if (nodes.rc[id]! > 0) {
        this.scanBlack(id, top);
        continue;
      }
      nodes.setColor(id, WHITE);
      for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOut[s]!) {
        const target = sites.targetOf(s);
        if (nodes.colorOf(target) === GRAY) top = this.push(top, target);
      }
    }
  }

  /**
   * ScanBlack: restore the counts of every edge out of a live node and what it reaches. It works
   * on the stack above `base`, where scan's pending entries end.
   */
  private scanBlack(root: number, base: number): void {
    const { nodes, sites } = this.graph;
    const rc = nodes.rc;
    nodes.setColor(root, BLACK);
    let top = this.push(base, root);
    while (top > base) {
      const id = this.stack[--top]!;
      for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOut[s]!) {
        const target = sites.targetOf(s);
        rc[target]!++;
        if (nodes.colorOf(target) !== BLACK) {
          nodes.setColor(target, BLACK);
          top = this.push(top, target);
        }
      }
    }
  }

  /** CollectRoots. Post: the buffer is empty and every white node reachable from a root is listed as garbage (colored black so it is listed once). */
  private collectRoots(roots: number): void {
    const { nodes, candidates } = this.graph;
    for (let i = 0; i < roots; i++) {
      const id = candidates.ids[i]!;
      nodes.flags[id] = nodes.flags[id]! & ~BUFFERED;
      this.collectWhite(id);
    }
  }

  /** CollectWhite: gather the white subgraph; buffered whites wait for their own root's turn. */
  private collectWhite(root: number): void {
    const { nodes, sites } = this.graph;
    if (nodes.colorOf(root) !== WHITE) return;
    nodes.setColor(root, BLACK);
    let top = this.push(0, root);
    while (top > 0) {
      const id = this.stack[--top]!;
      this.addGarbage(id);
      for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOut[s]!) {
        const target = sites.targetOf(s);
        if (nodes.colorOf(target) === WHITE && (nodes.flags[target]! & BUFFERED) === 0) {
          nodes.setColor(target, BLACK);
          top = this.push(top, target);
        }
      }
    }
  }

  /** Frees the garbage: sites first (so no in-list names a freed node), then the nodes. */
  private freeGarbage(): void {
    const { graph } = this;
    for (let i = 0; i < this.garbageCount; i++) graph.detachSites(this.garbage[i]!);
    graph.reason = 'cycles';
    try {
      for (let i = 0; i < this.garbageCount; i++) graph.reclaimDetached(this.garbage[i]!);
    } finally {
      graph.reason = 'rc';
    }
  }

  private push(top: number, id: number): number {
    if (top === this.stack.length) this.stack = growI32(this.stack, top * 2);
    this.stack[top] = id;
    return top + 1;
  }

  private addGarbage(id: number): void {
    if (this.garbageCount === this.garbage.length) this.garbage = growI32(this.garbage, this.garbageCount * 2);
    this.garbage[this.garbageCount++] = id;
  }
}
