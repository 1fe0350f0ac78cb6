// A sliced collection's phases (sliced.ts), its budget, and the two loops that run once a
// collection over whole arrays: taking the roots and taking the marks off. Those two are plain
// functions on typed arrays: they run cold (once a collection, often before V8 optimised them),
// and code V8 compiles on the stack for a loop in a method is thrown away on the way out when the
// method's later property accesses have no type feedback yet.

import type { NodeTable } from '../rc/node-table.js';
import * as nodeTable from '../rc/node-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ALIVE, BLACK_BITS, BUFFERED, COLOR_MASK, GREEN, KEPT, SCANNED, SEEN } = nodeTable;

/** The phases of a sliced collection; IDLE when none runs. */
export const IDLE = 0;
/** The candidates taken from the buffer join S a stretch at a time (see takeRoots). */
export const ROOTS = 1;
export const MARK = 2;
export const SCAN = 3;
export const FREE = 4;
/** The garbage is freed; the marks come off S a stretch at a time. */
export const CLEAR = 5;

export interface SliceBudget {
  /** Stop once this much time went (milliseconds). */
  readonly ms: number;
  /** Stop once this many nodes and sites were visited. */
  readonly work: number;
}

/**
 * Takes roots[from, to) into S (list[count..], with their trial counts); returns S's new size.
 * A root reclaimed since it was buffered has its id released; a green one is no candidate. Like
 * clearMarks, a loop of its own on the node table's arrays (see the header).
 */
export function takeRoots(nodes: NodeTable, trial: Int32Array, list: Int32Array, count: number, roots: Int32Array, from: number, to: number): number {
  const { flags, rc } = nodes;
  for (let i = from; i < to; i++) {
    const id = roots[i]!;
    const f = flags[id]!;
    if ((f & ALIVE) === 0) {
      nodes.releaseId(id);
      continue;
    }
    const black = f & ~(BUFFERED | COLOR_MASK) | BLACK_BITS;
    if ((f & GREEN) !== 0) {
      flags[id] = black;
      continue;
    }
    flags[id] = black | SEEN;
    trial[id] = rc[id]!;
    list[count++] = id;
  }
  return count;
}

/**
 * Clears SEEN, SCANNED and KEPT of list[from, to). A loop of its own on typed arrays alone: it runs
 * once a collection, often before V8 optimised it, and code compiled on the stack for it then has
 * no property access to find without type feedback on the way out (which would throw it away).
 */
export function clearMarks(flags: Uint16Array, list: Int32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const id = list[i]!;
    flags[id] = flags[id]! & ~(SEEN | SCANNED | KEPT);
  }
}
