// The collector's phase validator: what each phase promises, checked over the whole heap between
// phases, as CPython's gc checks its lists (validate_list) before and after each step.
//
// Off by default (each check is O(nodes + sites)); a heap built with `validateCollections: true`
// runs it in every collection, and the collector tests and the model-based suite do. A broken
// promise is CodeHeapError('CORRUPT') naming the phase, the node and the counts involved.

import { CodeHeapError } from '../errors.js';
import * as base from '../base.js';
import * as nodeTable from '../rc/node-table.js';
import type { CollectorState } from './collector-state.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { ALIVE, BUFFERED, COLOR_MASK, GRAY_BITS, GREEN, PURPLE_BITS, WHITE_BITS } = nodeTable;

/** The point of a collection just checked: the name of the phase that has just run. */
export type Phase = 'taken' | 'markRoots' | 'markGray' | 'scan' | 'collectWhite';

/** Checks the promises of `phase`; throws CORRUPT listing (up to 20 of) those broken. */
export function validatePhase(state: CollectorState, phase: Phase, whiteRoots: number, whiteOthers: number): void {
  const problems: string[] = [];
  const { nodes } = state.graph;
  const { flags } = nodes;
  const limit = nodes.idLimit;
  const color = (id: number): number => flags[id]! & COLOR_MASK;
  // Real counts (sites targeting a node + its roots), and the sites into it whose count trial
  // deletion has taken away and not given back: those out of gray nodes once markGray ran, out of
  // white nodes once scan ran (scanBlack gave back those out of black nodes).
  const subtracted = phase === 'markGray' ? GRAY_BITS : phase === 'scan' ? WHITE_BITS : NONE;
  const { real, internal } = countEdges(state, (id) => color(id) === subtracted);
  const listed = new Uint8Array(limit);
  const list = (ids: Int32Array, count: number, what: string): void => {
    for (let i = 0; i < count; i++) {
      const id = ids[i]!;
      if (listed[id] !== 0) problems.push(`${what} lists node ${id} twice (or in both lists)`);
      listed[id] = 1;
    }
  };
  let buffered = 0;
  for (let id = 0; id < limit; id++) if ((flags[id]! & BUFFERED) !== 0) buffered++;

  if (phase === 'taken') {
    list(state.roots, state.taken, 'the taken buffer');
    if (state.graph.candidates.length !== 0) problems.push('rc kept candidates after the collector took them');
    if (buffered !== state.taken) problems.push(`${buffered} nodes are flagged BUFFERED, the taken buffer holds ${state.taken}`);
    for (let i = 0; i < state.taken; i++) {
      const id = state.roots[i]!;
      if ((flags[id]! & BUFFERED) === 0) problems.push(`candidate ${id} is not flagged BUFFERED`);
      if ((flags[id]! & ALIVE) !== 0 && (flags[id]! & GREEN) === 0 && color(id) !== PURPLE_BITS) problems.push(`candidate ${id} is not purple`);
    }
  } else if (phase === 'markRoots') {
    list(state.roots, state.rootCount, 'the roots');
    if (buffered !== state.rootCount) problems.push(`${buffered} nodes are flagged BUFFERED, ${state.rootCount} roots are left`);
    for (let id = 0; id < limit; id++) {
      const gray = color(id) === GRAY_BITS && (flags[id]! & ALIVE) !== 0;
      if (gray !== (listed[id] === 1)) problems.push(`node ${id} is ${gray ? '' : 'not '}gray but ${gray ? 'not ' : ''}a root`);
    }
    for (let i = 0; i < state.rootCount; i++) {
      const id = state.roots[i]!;
      if ((flags[id]! & (ALIVE | BUFFERED | GREEN)) !== (ALIVE | BUFFERED)) problems.push(`root ${id} is dead, green or unbuffered`);
    }
  } else if (phase === 'markGray') {
    list(state.roots, state.rootCount, 'the roots');
    list(state.grayList, state.grayCount, 'the gray list');
    forEachEdge(state, (source, target) => {
      if (color(source) === GRAY_BITS && (flags[target]! & GREEN) === 0 && color(target) !== GRAY_BITS) {
        problems.push(`gray node ${source} reaches node ${target}, which is not gray`);
      }
    });
  } else if (phase === 'scan') {
    list(state.roots, whiteRoots, 'the white roots');
    list(state.grayList, whiteOthers, 'the white gray-list front');
    if (buffered !== 0) problems.push(`${buffered} nodes are still flagged BUFFERED after scan`);
    forEachEdge(state, (source, target) => {
      if (color(source) !== WHITE_BITS && (flags[source]! & ALIVE) !== 0 && color(target) === WHITE_BITS) {
        problems.push(`live node ${source} reaches white node ${target}`);
      }
    });
  }
  for (let id = 0; id < limit; id++) {
    const f = flags[id]!;
    if ((f & ALIVE) === 0) continue;
    const c = f & COLOR_MASK;
    if (phase === 'scan' && c === GRAY_BITS) problems.push(`node ${id} is still gray after scan`);
    if (phase === 'scan' && c === WHITE_BITS && listed[id] !== 1) problems.push(`white node ${id} is in no white front`);
    if (phase === 'collectWhite' && (c === GRAY_BITS || c === WHITE_BITS)) {
      problems.push(`node ${id} survived the collection ${c === GRAY_BITS ? 'gray' : 'white'}`);
    }
    const expected = real[id]! - internal[id]!;
    if (nodes.rc[id] !== expected) {
      problems.push(`node ${id} counts ${nodes.rc[id]}, expected ${expected} (${real[id]} real, less ${internal[id]} taken by trial deletion)`);
    }
    if (expected < 0) problems.push(`node ${id} has a negative trial count`);
    if (phase === 'scan' && c === WHITE_BITS && expected !== 0) problems.push(`white node ${id} is still counted from outside`);
  }
  if (problems.length > 0) {
    throw new CodeHeapError('CORRUPT', `the collector broke its promises after ${phase}:\n  ${problems.slice(0, 20).join('\n  ')}`);
  }
}

/** Calls `visit(source, target)` for every site of every live node. */
function forEachEdge(state: CollectorState, visit: (source: number, target: number) => void): void {
  const { nodes, sites } = state.graph;
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) visit(id, sites.targetOf(s));
  }
}

/**
 * Per node: its real count (sites targeting it + its roots) and the sites into it from nodes for
 * which `subtracted` holds. Edges into green nodes are never counted down by trial deletion.
 */
function countEdges(state: CollectorState, subtracted: (id: number) => boolean): { real: Int32Array; internal: Int32Array } {
  const { nodes } = state.graph;
  const real = new Int32Array(nodes.idLimit);
  const internal = new Int32Array(nodes.idLimit);
  for (let id = 0; id < nodes.idLimit; id++) if (nodes.isAlive(id)) real[id] = nodes.roots[id]!;
  forEachEdge(state, (source, target) => {
    real[target]!++;
    if (subtracted(source) && !nodes.isGreen(target)) internal[target]!++;
  });
  return { real, internal };
}
