// Unload: trial deletion over one set of nodes (a unit or a loaded object whose handles all went),
// so what only they held is reclaimed within the call, cycles included, at a cost proportional to
// the set (DESIGN semantics 10), not to the candidate buffer or the heap.
//
// Bacon & Rajan's synchronous algorithm (section 3) restricted to a set S: each node of S gets a
// trial count, its count less the sites from S that target it (MarkGray's subtraction, over S's
// own edges only). A node left with a positive trial count is referenced from outside S (another
// node, a handle, a pin, a running call); it and everything it reaches within S are live (Scan,
// ScanBlack). The rest of S is garbage: every reference to it comes from other garbage in S. It is
// freed as one batch, as the collector frees its garbage (CollectWhite, collect-white.ts): each
// edge out of it into a survivor is released as counting releases it, and rc's cascade then
// frees what only the garbage held.
//
// Departures from the full collector:
//  - S is the set given (with the stubs of its functions, whose edges make the cycles of pointer
//    tables), not the candidates: a garbage cycle through nodes outside S is not found here, and
//    stays a candidate for collectCycles, as before.
//  - The colors are not touched, so the collector's state and the candidate buffer are left as
//    they are (buffered nodes freed here become DEAD entries, as with any free by counting). S is
//    marked with flag bits of its own (IN_SET, HELD), and the trial counts are the counts
//    themselves, counted down and given back within the call, so no map or array the size of S
//    or of the heap is made: a unit of one function costs a few reads.
//
// Any set is safe to give: what is freed is garbage whatever S is (every reference to it comes
// from other freed nodes, and nothing holds it), so an id that a unit remembers and that now holds
// another node (node-table.ts, generation) can only cost the call a look at that node.
//
// Pre: between public calls (called from inside one mutating call, never during a collection).
// Post: no node of S is garbage in S's own terms; every count is exact; no node has IN_SET or HELD.

import * as base from '../base.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import * as nodeTable from '../rc/node-table.js';
import { freeGarbage } from './collect-white.js';
import * as white from './collect-white.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, NONE } = base;
const { ALIVE, HELD, IN_SET } = nodeTable;
const { OPEN_GARBAGE } = white;

/**
 * Reclaims the garbage among `ids` (live node ids; others are skipped) and their functions'
 * stubs; returns the nodes freed. With `generations`, ids[i] counts only while the node there is
 * still of generation generations[i] (a unit's nodes, remembered when it was defined).
 */
export function collectSet(graph: HeapGraph, ids: ArrayLike<number>, generations?: ArrayLike<number>): number {
  const { nodes, sites } = graph;
  const { flags, rc, firstOut, generation } = nodes;
  // S: the live nodes given, each once, then the stubs of its functions.
  const members: number[] = [];
  const add = (id: number): void => {
    if (id === NONE || (flags[id]! & (ALIVE | IN_SET)) !== ALIVE) return;
    flags[id] = flags[id]! | IN_SET;
    members.push(id);
  };
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (generations === undefined || generation[id] === generations[i]) add(id);
  }
  const given = members.length;
  for (let i = 0; i < given; i++) if (nodes.kindOf(members[i]!) === FUNCTION) add(nodes.stubOf(members[i]!));
  const n = members.length;
  if (n === 0) return 0;
  // MarkGray over S's own edges: each member's count less the sites from S into it.
  countInternalSites(graph, members, -1);
  // Scan and ScanBlack: what is held from outside, and all it reaches in S, is live. A worklist.
  const work: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = members[i]!;
    if (rc[id]! > 0) {
      flags[id] = flags[id]! | HELD;
      work.push(id);
    }
  }
  while (work.length > 0) {
    for (let s = firstOut[work.pop()!]!; s !== NONE; s = sites.nextOf(s)) {
      const target = sites.targetOf(s);
      if ((flags[target]! & (IN_SET | HELD)) === IN_SET) {
        flags[target] = flags[target]! | HELD;
        work.push(target);
      }
    }
  }
  // The counts are given back whole before anything is freed; the garbage is what is not held,
  // and keeps IN_SET to be known by while it is freed.
  const garbage: number[] = [];
  countInternalSites(graph, members, +1);
  for (let i = 0; i < n; i++) {
    const id = members[i]!;
    const f = flags[id]!;
    if ((f & HELD) === 0) garbage.push(id);
    else flags[id] = f & ~(IN_SET | HELD);
  }
  // CollectWhite: the garbage goes in one batch, as the collector's does; the cascade after it
  // frees what only the garbage held.
  return garbage.length + freeGarbage(graph, garbage, garbage.length, IN_SET, IN_SET, OPEN_GARBAGE, true);
}

/** Adds `delta` to the count of every member of S, once for each site into it from a member. */
function countInternalSites(graph: HeapGraph, members: readonly number[], delta: number): void {
  const { nodes, sites } = graph;
  const { flags, rc, firstOut } = nodes;
  for (let i = 0; i < members.length; i++) {
    for (let s = firstOut[members[i]!]!; s !== NONE; s = sites.nextOf(s)) {
      const target = sites.targetOf(s);
      if ((flags[target]! & IN_SET) !== 0) rc[target]! += delta;
    }
  }
}
