// Garbage-graph shapes for the cycle-collector benchmark, as flat CSR data; the units that build
// one in a CodeHeap through the public API; and the two flat typed-array traversals the collector
// is measured against (the limit of any traversal, and a naive full-heap mark-sweep).
//
// The same shapes are built by bench/python/gc_shapes.py for CPython's collector. Both draw from
// the same xorshift32 sequence in the same order, so for one (shape, nodes) they build the very
// same graph; `edgeChecksum` lets the caller check that they did.
//
// Shapes (node i is function f<i>; every node has at least one incoming edge, so freeing the
// handles reclaims nothing by counting and leaves every node to the cycle collector):
//  pairs    f_2i <-> f_2i+1: n/2 two-node cycles, one edge per node
//  ring     f_i -> f_(i+1 mod n): one cycle through every node, one edge per node
//  random4  four calls per node: the first follows a random Hamiltonian cycle (a shuffled ring,
//           which gives every node an incoming edge), the other three go to uniformly random
//           nodes (self-calls and repeats included)

import type { Relocation, UnitDefinition } from '../src/index.js';

export const SHAPES = ['pairs', 'ring', 'random4'] as const;
export type Shape = (typeof SHAPES)[number];

/**
 * A directed graph in compressed sparse rows: node i's edges are
 * targets[offsets[i] .. offsets[i + 1]).
 */
export interface CsrGraph {
  readonly nodes: number;
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
}

/** Bytes of every benchmark function: up to four `call rel32` (E8 xx xx xx xx), `ret`, int3 fill. */
export const FUNCTION_SIZE = 24;
const CALL_SIZE = 5;
const MAX_CALLS = 4;

/** Edges per node of each shape. */
export function edgesPerNode(shape: Shape): number {
  return shape === 'random4' ? MAX_CALLS : 1;
}

/** A 32-bit xorshift generator (Marsaglia 2003, shifts 13, 17, 5); gc_shapes.py mirrors it. */
export class XorShift32 {
  constructor(private state: number) {
    if ((state | 0) === 0) throw new RangeError('xorshift32 needs a non-zero seed');
  }

  /** The next value in [0, 2^32). */
  next(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s;
    return s >>> 0;
  }

  /** A value in [0, bound); the modulo bias is below 2^-12 for bounds up to 2^20. */
  below(bound: number): number {
    return this.next() % bound;
  }
}

export const DEFAULT_SEED = 0x2545f491;

export function makeGraph(shape: Shape, nodes: number, seed = DEFAULT_SEED): CsrGraph {
  if (shape === 'pairs' && nodes % 2 !== 0) throw new RangeError(`pairs needs an even node count, got ${nodes}`);
  const per = edgesPerNode(shape);
  const offsets = new Int32Array(nodes + 1);
  for (let i = 0; i <= nodes; i++) offsets[i] = i * per;
  const targets = new Int32Array(nodes * per);
  if (shape === 'pairs') {
    for (let i = 0; i < nodes; i++) targets[i] = i ^ 1;
  } else if (shape === 'ring') {
    for (let i = 0; i < nodes; i++) targets[i] = (i + 1) % nodes;
  } else {
    const random = new XorShift32(seed);
    // Fisher–Yates, from the top down, then each node's first call goes to its successor.
    const order = new Int32Array(nodes);
    for (let i = 0; i < nodes; i++) order[i] = i;
    for (let i = nodes - 1; i > 0; i--) {
      const j = random.below(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (let k = 0; k < nodes; k++) targets[order[k]! * per] = order[(k + 1) % nodes]!;
    for (let i = 0; i < nodes; i++) {
      for (let e = 1; e < per; e++) targets[i * per + e] = random.below(nodes);
    }
  }
  return { nodes, offsets, targets };
}

/** A checksum of the edge list, computed the same way by gc_shapes.py: FNV-1a over the targets. */
export function edgeChecksum(graph: CsrGraph): number {
  let hash = 0x811c9dc5;
  for (let k = 0; k < graph.targets.length; k++) {
    hash ^= graph.targets[k]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** `call` ×calls, `ret`, int3 up to FUNCTION_SIZE bytes. One shared array per call count. */
const CODE_BY_CALLS = Array.from({ length: MAX_CALLS + 1 }, (_, calls) => {
  const code = new Uint8Array(FUNCTION_SIZE).fill(0xcc);
  for (let c = 0; c < calls; c++) code[c * CALL_SIZE] = 0xe8;
  code[calls * CALL_SIZE] = 0xc3;
  return code;
});

/**
 * Units that define the graph's nodes [start, end) as functions named names[i], each calling its
 * targets through R_X86_64_PLT32 relocations (addend -4). A unit may call nodes of units defined
 * before it, never after: the graph is cut only where no edge points forward past the cut (pairs
 * cut every `unitSize` nodes; a ring or a random graph is one unit). A unit does not change when
 * defined, so one may be defined in many heaps.
 */
export function graphUnits(
  graph: CsrGraph, names: readonly string[], unitSize = Infinity, start = 0, end = graph.nodes,
): UnitDefinition[] {
  const units: UnitDefinition[] = [];
  let from = start;
  let reach = -1;
  for (let i = start; i < end; i++) {
    for (let k = graph.offsets[i]!; k < graph.offsets[i + 1]!; k++) reach = Math.max(reach, graph.targets[k]!);
    if (i + 1 === end || (i + 1 - from >= unitSize && reach <= i)) {
      units.push(unitOf(graph, names, from, i + 1));
      from = i + 1;
    }
  }
  return units;
}

function unitOf(graph: CsrGraph, names: readonly string[], start: number, end: number): UnitDefinition {
  const functions = [];
  for (let i = start; i < end; i++) {
    const first = graph.offsets[i]!;
    const calls = graph.offsets[i + 1]! - first;
    if (calls > MAX_CALLS) throw new RangeError(`${names[i]} has ${calls} edges; at most ${MAX_CALLS} fit in ${FUNCTION_SIZE} bytes`);
    const relocations: Relocation[] = [];
    for (let c = 0; c < calls; c++) {
      relocations.push({ offset: c * CALL_SIZE + 1, type: 'R_X86_64_PLT32', symbol: names[graph.targets[first + c]!]!, addend: -4 });
    }
    functions.push({ name: names[i]!, code: CODE_BY_CALLS[calls]!, relocations });
  }
  return { functions };
}

/** f0, f1, ...: the names of the benchmark graphs' functions. */
export function functionNames(count: number, prefix = 'f'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/**
 * The practical limit of any traversal: every node and every edge once, depth-first on an
 * explicit stack, over flat typed arrays with a byte of mark per node. Pre: `marks` is all zero;
 * it is left with every node marked. Returns the nodes visited.
 */
export function traverseAll(graph: CsrGraph, marks: Uint8Array, stack: Int32Array): number {
  let visited = 0;
  for (let root = 0; root < graph.nodes; root++) visited += markFrom(graph, root, marks, stack);
  return visited;
}

/** Marks what `root` reaches, depth-first on an explicit stack; returns the nodes newly marked. */
function markFrom(graph: CsrGraph, root: number, marks: Uint8Array, stack: Int32Array): number {
  if (marks[root] !== 0) return 0;
  const { offsets, targets } = graph;
  let visited = 0;
  marks[root] = 1;
  stack[0] = root;
  let top = 1;
  // Invariant: every node on the stack is marked, and every marked node was pushed once.
  while (top > 0) {
    const id = stack[--top]!;
    visited++;
    for (let k = offsets[id]!, end = offsets[id + 1]!; k < end; k++) {
      const target = targets[k]!;
      if (marks[target] === 0) {
        marks[target] = 1;
        stack[top++] = target;
      }
    }
  }
  return visited;
}

/**
 * A naive full-heap mark-sweep: mark from the roots, then sweep every node, pushing the unmarked
 * ones on a free list and clearing the marks of the rest. Pre: `marks` is all zero; so is it after.
 * Returns the nodes swept free.
 */
export function markSweep(graph: CsrGraph, roots: Int32Array, marks: Uint8Array, stack: Int32Array, free: Int32Array): number {
  for (let r = 0; r < roots.length; r++) markFrom(graph, roots[r]!, marks, stack);
  let freed = 0;
  for (let id = 0; id < graph.nodes; id++) {
    if (marks[id] !== 0) marks[id] = 0;
    else free[freed++] = id;
  }
  return freed;
}
