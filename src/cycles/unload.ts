// Unload: trial deletion over one set of nodes (a unit or a loaded object whose handles all went),
// so what only they held is reclaimed within the call, cycles included, at a cost proportional to
// the set (DESIGN semantics 10), not to the candidate buffer or the heap.
//
// Bacon & Rajan's synchronous algorithm (section 3) restricted to a set S: each node of S gets a
// trial count, its count less the sites from S that target it (MarkGray's subtraction, over S's
// own edges only). A node left with a positive trial count is referenced from outside S (another
// node, a handle, a pin, a running call); it and everything it reaches within S are live (Scan,
// ScanBlack). The rest of S is garbage: every reference to it comes from other garbage in S. It is
// freed by dropping its outgoing sites (CollectWhite), which takes every garbage node's count to
// zero; rc's cascade frees them, and what only they held.
//
// Departures from the full collector:
//  - S is the set given (with the stubs of its functions, whose edges make the cycles of pointer
//    tables), not the candidates: a garbage cycle through nodes outside S is not found here, and
//    stays a candidate for collectCycles, as before.
//  - No colors are written: the trial counts and the marks live in arrays of this call, indexed
//    by position in S, so the collector's state and the candidate buffer are left as they are
//    (buffered nodes freed here become DEAD entries, as with any free by counting).
//  - Stubs in the garbage are not dropped from: their one site is the link to their function, and
//    they go by counting once the garbage pointing at them has dropped its sites.
//
// Pre: between public calls (called from inside one mutating call, never during a collection).
// Post: no node of S is garbage in S's own terms; every count is exact.

import * as base from '../base.js';
import { LargeMap } from '../large-map.js';
import type { HeapGraph } from '../rc/heap-graph.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, NONE, STUB } = base;

/** Reclaims the garbage among `ids` (live node ids; others are skipped); returns the nodes freed. */
export function collectSet(graph: HeapGraph, ids: ArrayLike<number>): number {
  const { nodes, sites } = graph;
  // S: the live nodes given, each once, then the stubs of its functions.
  const position = new LargeMap<number, number>();
  const members: number[] = [];
  const add = (id: number): void => {
    if (id === NONE || !nodes.isAlive(id) || position.has(id)) return;
    position.set(id, members.length);
    members.push(id);
  };
  for (let i = 0; i < ids.length; i++) add(ids[i]!);
  const given = members.length;
  for (let i = 0; i < given; i++) if (nodes.kindOf(members[i]!) === FUNCTION) add(nodes.stubOf(members[i]!));
  const n = members.length;
  if (n === 0) return 0;
  // MarkGray over S's own edges: trial = rc less the sites from S.
  const trial = new Float64Array(n);
  for (let i = 0; i < n; i++) trial[i] = nodes.rc[members[i]!]!;
  for (let i = 0; i < n; i++) {
    for (let s = nodes.firstOut[members[i]!]!; s !== NONE; s = sites.nextOf(s)) {
      const j = position.get(sites.targetOf(s));
      if (j !== undefined) trial[j]!--;
    }
  }
  // Scan and ScanBlack: what is held from outside, and all it reaches in S, is live. A worklist.
  const live = new Uint8Array(n);
  const work: number[] = [];
  for (let i = 0; i < n; i++) {
    if (trial[i]! > 0) {
      live[i] = 1;
      work.push(i);
    }
  }
  while (work.length > 0) {
    const i = work.pop()!;
    for (let s = nodes.firstOut[members[i]!]!; s !== NONE; s = sites.nextOf(s)) {
      const j = position.get(sites.targetOf(s));
      if (j !== undefined && live[j] === 0) {
        live[j] = 1;
        work.push(j);
      }
    }
  }
  // CollectWhite: the garbage drops its sites; the cascade frees it and what only it held.
  let freed = 0;
  for (let i = 0; i < n; i++) {
    const id = members[i]!;
    if (live[i] === 1 || !nodes.isAlive(id) || nodes.kindOf(id) === STUB) continue;
    freed += graph.dropOutgoing(id, 'cycles');
  }
  return freed;
}
