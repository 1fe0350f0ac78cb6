// heap.retainers() and heap.retainedSize() against a brute-force model of the same graph: which
// functions the held handles reach, by breadth-first search over the calls as the test wrote
// them, and what each function keeps that nothing else does.
//
// Laws, for every function of a random graph held in part by handles (the rest garbage, cycles
// included, left for a collection that does not run):
//  - retainers is null exactly when no held function reaches the node; otherwise its root is a
//    held function, its edges are calls the test wrote, chained from the root to the node, and
//    there are as many as the shortest such chain in the model has;
//  - retainedSize is what the model frees if the node's roots went: nothing when another root
//    reaches it, else the bytes of it and of what only it reaches.

import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { CodeHeap } from '../../src/index.js';
import { asm } from '../helpers/x86.js';

const graphArb = fc.array(fc.record({ calls: fc.array(fc.nat(30), { maxLength: 3 }), held: fc.boolean() }), { minLength: 1, maxLength: 30 });

test.prop([graphArb], { numRuns: 200 })('retainers and retainedSize agree with a brute-force model', (spec) => {
  const names = spec.map((_, i) => `f${i}`);
  const calls = spec.map((s) => s.calls.map((c) => c % spec.length));
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity });
  const unit = heap.define({
    functions: names.map((name, i) => {
      let a = asm();
      for (const c of calls[i]!) a = a.call(names[c]!);
      return { name, ...a.ret().build() };
    }),
  });
  const held = names.filter((_, i) => spec[i]!.held).map((n) => heap.lookup(n));
  unit.free();
  heap.verify();
  const alive = names.filter((n) => heap.node(n) !== undefined);
  const index = (name: string): number => Number(name.slice(1));
  const roots = held.map((h) => index(h.name));

  /** Model: shortest distance from any root to each function, breadth first over the calls. */
  const distance = new Array<number>(spec.length).fill(-1);
  const queue = [...roots];
  for (const r of roots) distance[r] = 0;
  for (let head = 0; head < queue.length; head++) {
    const f = queue[head]!;
    for (const c of calls[f]!) {
      if (distance[c] === -1) {
        distance[c] = distance[f]! + 1;
        queue.push(c);
      }
    }
  }
  /** Model: what `from` reaches, itself included. */
  const reach = (from: readonly number[]): Set<number> => {
    const seen = new Set<number>(from);
    const stack = [...from];
    while (stack.length > 0) {
      for (const c of calls[stack.pop()!]!) {
        if (seen.has(c)) continue;
        seen.add(c);
        stack.push(c);
      }
    }
    return seen;
  };

  for (const name of alive) {
    const f = index(name);
    const path = heap.retainers(name);
    if (distance[f] === -1) {
      expect(path, `${name} is reached by no root`).toBeNull();
    } else {
      expect(path, `${name} is reached from a root`).not.toBeNull();
      const { root, edges } = path!;
      expect(roots, `${root.name} is held`).toContain(index(root.name));
      expect(root.holds).toBe(roots.filter((r) => r === index(root.name)).length);
      expect(edges.length, `the chain to ${name} is a shortest one`).toBe(distance[f]);
      let at = root.name;
      for (const edge of edges) {
        expect(edge.from).toBe(at);
        expect(calls[index(edge.from)], `${edge.from} calls ${edge.to}`).toContain(index(edge.to));
        expect(edge.type).toBe('R_X86_64_PLT32');
        // The rel32 of the k-th call (e8 rel32, five bytes each) is at 5k + 1.
        expect((edge.offset - 1) % 5).toBe(0);
        expect(calls[index(edge.from)]![(edge.offset - 1) / 5]).toBe(index(edge.to));
        at = edge.to;
      }
      expect(at).toBe(name);
    }
    // If its roots went: nothing goes while another root reaches it; else it and what only it reaches.
    const others = reach(roots.filter((r) => r !== f));
    const kept = others.has(f) ? [] : [...reach([f])].filter((g) => !others.has(g));
    const bytes = kept.reduce((sum, g) => sum + heap.node(names[g]!)!.size, 0);
    expect(heap.retainedSize(name), `retainedSize(${name})`).toBe(bytes);
  }
  heap.verify();
  for (const h of held) h.free();
});
