// The object-per-node baseline of the benchmarks (bench/object-graph.ts) collects what it should:
// its figures are compared with codeheap's, so it must free exactly the garbage, on the same
// shapes, and leave live counts exact. Graphs stay small: the baseline recurses by design.

import { describe, expect, test } from 'vitest';
import { ObjectGraph, ObjectNode } from '../bench/object-graph.js';
import { SHAPES, makeGraph, type CsrGraph } from '../bench/shapes.js';

/** The graph as ObjectNodes, each retained once while its edges are added (roots not released). */
function build(objects: ObjectGraph, graph: CsrGraph): ObjectNode[] {
  const nodes = Array.from({ length: graph.nodes }, () => new ObjectNode());
  for (const node of nodes) objects.retain(node);
  for (let i = 0; i < graph.nodes; i++) {
    for (let k = graph.offsets[i]!; k < graph.offsets[i + 1]!; k++) objects.addEdge(nodes[i]!, nodes[graph.targets[k]!]!);
  }
  return nodes;
}

/** n fresh nodes, each retained once, joined in a cycle 0 -> 1 -> ... -> n-1 -> 0. */
function cycle(objects: ObjectGraph, n: number): ObjectNode[] {
  const nodes = Array.from({ length: n }, () => new ObjectNode());
  for (const node of nodes) objects.retain(node);
  for (let i = 0; i < n; i++) objects.addEdge(nodes[i]!, nodes[(i + 1) % n]!);
  return nodes;
}

describe('object-per-node baseline', () => {
  test.each(SHAPES)('frees every node of a released %s graph, and only by collectCycles', (shape) => {
    const objects = new ObjectGraph();
    const graph = makeGraph(shape, 200);
    const nodes = build(objects, graph);
    for (const node of nodes) objects.release(node);
    // Every node has an incoming edge, so counting frees none; each is a candidate.
    expect(objects.freedCount).toBe(0);
    expect(objects.candidates).toBe(graph.nodes);
    expect(objects.collectCycles()).toEqual({ freed: graph.nodes });
    expect(nodes.every((n) => n.freed && !n.buffered && n.edges.size === 0)).toBe(true);
    expect(objects.candidates).toBe(0);
    // A second collection finds nothing left to do.
    expect(objects.collectCycles()).toEqual({ freed: 0 });
  });

  test('a cycle still held by a root is not freed, and its counts are restored', () => {
    const objects = new ObjectGraph();
    const ring = cycle(objects, 5);
    for (let i = 1; i < ring.length; i++) objects.release(ring[i]!);
    expect(objects.candidates).toBe(4);
    expect(objects.collectCycles()).toEqual({ freed: 0 });
    expect(ring.map((n) => n.rc)).toEqual([2, 1, 1, 1, 1]);
    expect(ring.every((n) => !n.freed && n.color === 'black')).toBe(true);
    // Released at last, it is garbage and goes.
    objects.release(ring[0]!);
    expect(objects.collectCycles()).toEqual({ freed: 5 });
  });

  test('a garbage cycle that points at a live node leaves that node its own count', () => {
    const objects = new ObjectGraph();
    const live = new ObjectNode();
    objects.retain(live);
    const garbage = cycle(objects, 3);
    objects.addEdge(garbage[0]!, live);
    objects.addEdge(garbage[1]!, live);
    objects.addEdge(garbage[1]!, live);
    expect(live.rc).toBe(4);
    for (const node of garbage) objects.release(node);
    expect(objects.collectCycles()).toEqual({ freed: 3 });
    expect(garbage.every((n) => n.freed)).toBe(true);
    // The three edges from the garbage went with it; the root's reference is all that is left.
    expect(live.rc).toBe(1);
    expect(live.freed).toBe(false);
    objects.release(live);
    expect(live.freed).toBe(true);
    expect(objects.freedCount).toBe(4);
  });

  test('a node reachable only through garbage is freed with it; one held from outside is not', () => {
    const objects = new ObjectGraph();
    const garbage = cycle(objects, 2);
    const tail = new ObjectNode();
    const held = new ObjectNode();
    objects.retain(tail);
    objects.retain(held);
    objects.addEdge(garbage[0]!, tail);
    objects.addEdge(tail, held);
    objects.release(tail);
    for (const node of garbage) objects.release(node);
    expect(objects.collectCycles()).toEqual({ freed: 3 });
    expect(tail.freed).toBe(true);
    expect(held.freed).toBe(false);
    expect(held.rc).toBe(1);
  });

  test('candidates released to zero while buffered are freed by the next collection, once', () => {
    const objects = new ObjectGraph();
    const a = new ObjectNode();
    const b = new ObjectNode();
    objects.retain(a);
    objects.retain(a);
    objects.retain(b);
    objects.addEdge(a, b);
    objects.release(a);
    expect(a.buffered).toBe(true);
    objects.release(a);
    // a reached zero and dropped its edge, which made b a candidate; a waits in the buffer.
    expect(a.freed).toBe(false);
    expect(b.rc).toBe(1);
    expect(b.buffered).toBe(true);
    objects.release(b);
    expect(b.freed).toBe(false);
    expect(objects.freedCount).toBe(0);
    expect(objects.collectCycles()).toEqual({ freed: 2 });
    expect(a.freed && b.freed).toBe(true);
    expect(objects.collectCycles()).toEqual({ freed: 0 });
    expect(objects.freedCount).toBe(2);
  });
});
