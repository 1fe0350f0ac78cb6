// What a sliced collection promises between its slices (sliced.ts), checked by verify() over the
// whole heap: the marks are where the phase says (in CLEAR, only on live nodes), invariant (I)
// holds for every node the program has not changed (its trial count is at least its count less
// the sites into it from scanned nodes), and no live node reaches the garbage being freed.

import * as base from '../base.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import * as nodeTable from '../rc/node-table.js';
import * as slicedPhases from './sliced-phases.js';
import type { SlicedCollector } from './sliced.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { CLEAR, FREE, IDLE, MARK, ROOTS } = slicedPhases;
const { ALIVE, KEPT, SCANNED, SEEN } = nodeTable;

/** The broken promises, each naming the node and the counts involved. */
export function checkSliced(graph: HeapGraph, sliced: SlicedCollector, sources: Int32Array): string[] {
  const problems: string[] = [];
  const { nodes, sites } = graph;
  const { flags } = nodes;
  const marks = SEEN | SCANNED | KEPT;
  if (sliced.phase === IDLE) {
    for (let id = 0; id < nodes.idLimit; id++) {
      if ((flags[id]! & ALIVE) !== 0 && (flags[id]! & marks) !== 0) problems.push(`${nodes.nameOf(id)} keeps a sliced collection's marks, and none runs`);
    }
    if (nodes.dooming) problems.push('garbage is hidden from the symbol index, and no collection runs');
    return problems;
  }
  if (nodes.dooming !== (sliced.phase === FREE)) problems.push(`the symbol index ${nodes.dooming ? 'hides' : 'shows'} garbage in phase ${sliced.phase}`);
  // Sites into each node from SCANNED nodes: what its trial count has had taken away (a node
  // seen is never a leaf then; one that became a leaf since keeps what was taken).
  const counted = new Int32Array(nodes.idLimit);
  for (let s = 0; s < sources.length; s++) {
    const source = sources[s]!;
    if (source === NONE || (flags[source]! & SCANNED) === 0) continue;
    counted[sites.targetOf(s)]!++;
  }
  const doomed = (id: number): boolean => (flags[id]! & (ALIVE | SEEN | KEPT)) === (ALIVE | SEEN);
  for (let id = 0; id < nodes.idLimit; id++) {
    const f = flags[id]!;
    if ((f & ALIVE) === 0) continue;
    const name = nodes.nameOf(id);
    if ((f & (SCANNED | KEPT)) !== 0 && (f & SEEN) === 0) problems.push(`${name} is scanned or kept but not seen`);
    if (sliced.phase === ROOTS && (f & SCANNED) !== 0) problems.push(`${name} is scanned before every root is taken`);
    if (sliced.phase > MARK && (f & SEEN) !== 0 && (f & SCANNED) === 0) problems.push(`${name} was seen but never scanned`);
    if (sliced.phase === CLEAR && doomed(id)) problems.push(`${name} is garbage the free left behind`);
    if (sliced.phase !== FREE && doomed(id)) {
      const expected = nodes.rc[id]! - counted[id]!;
      // Higher is allowed: a scanned node that gained a site to it before it was seen (its
      // trial count is then its count less what the collector walked). Lower would free the live.
      if (sliced.trial[id]! < expected) {
        problems.push(`${name}: trial count ${sliced.trial[id]}, below ${expected} (count ${nodes.rc[id]} less ${counted[id]} from scanned nodes), though unchanged since seen`);
      }
    }
    if (sliced.phase === FREE && doomed(id) && nodes.roots[id] !== 0) problems.push(`${name} is garbage being freed but has ${nodes.roots[id]} roots`);
  }
  if (sliced.phase === FREE && graph.touchedTop === 0) {
    // Safety: nothing live reaches the garbage (a kept node's reach is kept once the queue drains).
    for (let s = 0; s < sources.length; s++) {
      const source = sources[s]!;
      if (source === NONE || doomed(source)) continue;
      const target = sites.targetOf(s);
      if (doomed(target)) problems.push(`live ${nodes.nameOf(source)} reaches ${nodes.nameOf(target)}, garbage being freed`);
    }
  }
  return problems;
}
