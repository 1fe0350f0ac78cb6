// "Why is this alive?": the shortest chain of references from a root to a node, and what would go
// with the node if its roots went.
//
// A root is a node counted from outside the graph: by handles, pins, or a running call (and a
// retired body, held for a call or a pin). Both walks are explicit worklists over the site lists
// (no recursion: a chain of ten million functions must not overflow the stack).
//  - retainerPath walks backwards from the node over the sites into it, breadth first, until it
//    meets a root: the first met is one of the nearest, and the sites it came by are the path.
//    It visits what is nearer to the node than that root, and keeps only that.
//  - retainedBytes marks everything the other roots reach, then counts what the node reaches that is
//    left unmarked, the node itself included; nothing, when another root reaches the node (its
//    roots going would free nothing). Linear in the live heap: it must cross it to know what else
//    holds a node.

import type { Architecture } from './reloc/architecture.js';
import type { HeapGraph } from './rc/heap-graph.js';
import { LargeMap } from './large-map.js';
import { siteOffset } from './reference-kind.js';
import * as base from './base.js';
import { KIND_NAMES } from './rc/node-table.js';
import type { RelocationType, RetainerPath } from './types.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;

/** The nearest root's chain of references to `id`, or null when no root reaches it (garbage the collector has yet to free). */
export function retainerPath(graph: HeapGraph, arch: Architecture, id: number): RetainerPath | null {
  const { nodes, sites } = graph;
  // For each node met: the site it reaches the next node on the way to `id` by (NONE for `id`).
  const toward = new LargeMap<number, number>();
  toward.set(id, NONE);
  const queue = [id];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    if (nodes.roots[node]! > 0) return pathFrom(graph, arch, node, toward);
    for (let s = nodes.firstIn[node]!; s !== NONE; s = sites.nextIn[s]!) {
      const source = sites.sources[s]!;
      if (toward.has(source)) continue;
      toward.set(source, s);
      queue.push(source);
    }
  }
  return null;
}

function pathFrom(graph: HeapGraph, arch: Architecture, root: number, toward: LargeMap<number, number>): RetainerPath {
  const { nodes, sites } = graph;
  const edges: RetainerPath['edges'] = [];
  for (let s = toward.get(root)!; s !== NONE; s = toward.get(sites.targetOf(s))!) {
    edges.push({
      from: nodes.nameOf(sites.sources[s]!),
      to: nodes.nameOf(sites.targetOf(s)),
      // A stub's one site is its pointer slot, in the data arena: the offset is the slot's.
      offset: siteOffset(graph, s),
      type: arch.kinds[sites.kindOf(s)]!.name as RelocationType,
    });
  }
  return {
    root: { name: nodes.nameOf(root), kind: KIND_NAMES[nodes.kindOf(root)] as RetainerPath['root']['kind'], holds: nodes.roots[root]! },
    edges,
  };
}

/** Bytes that would be freed if the roots of `id` went: it and all that only it keeps. */
export function retainedBytes(graph: HeapGraph, id: number): number {
  const { nodes, sites } = graph;
  const limit = nodes.idLimit;
  const held = new Uint8Array(limit);
  const stack: number[] = [];
  // What the other roots reach.
  for (let r = 0; r < limit; r++) {
    if (r === id || !nodes.isAlive(r) || nodes.roots[r]! === 0 || held[r] !== 0) continue;
    held[r] = 1;
    stack.push(r);
    while (stack.length > 0) {
      for (let s = nodes.firstOut[stack.pop()!]!; s !== NONE; s = sites.nextOf(s)) {
        const target = sites.targetOf(s);
        if (held[target] === 0) {
          held[target] = 1;
          stack.push(target);
        }
      }
    }
  }
  if (held[id] !== 0) return 0;
  // What id reaches that nothing else held.
  let bytes = 0;
  held[id] = 2;
  stack.push(id);
  while (stack.length > 0) {
    const node = stack.pop()!;
    bytes += graph.bytesOf(node);
    for (let s = nodes.firstOut[node]!; s !== NONE; s = sites.nextOf(s)) {
      const target = sites.targetOf(s);
      if (held[target] === 0) {
        held[target] = 2;
        stack.push(target);
      }
    }
  }
  return bytes;
}
