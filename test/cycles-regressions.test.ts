// Regressions from before the cycle collector existed: garbage cycles were never freed, so a
// module unloaded as a cycle blocked its own reload and allocation gave up with cycles to free.

import { describe, expect, test } from 'vitest';
import { asm, nodeOf, quads } from './helpers/x86.js';
import { newHeap, abandon } from './helpers/heaps.js';

describe('cycle collection (DESIGN semantics 6 and 7)', () => {
  test('collectCycles frees a garbage cycle: f <-> g, a self-recursive function, a vtable and its method', () => {
    const heap = newHeap();
    const empty = heap.stats();
    const unit = heap.define({
      functions: [
        { name: 'f', ...asm().call('g').ret().build() },
        { name: 'g', ...asm().call('f').ret().build() },
        { name: 'fib', ...asm().call('fib').call('fib').ret().build() },
        { name: 'method', ...asm().leaRax('vtable').ret().build() },
      ],
      globals: [{ name: 'vtable', ...quads(8, [{ offset: 0, symbol: 'method' }]) }],
    });
    abandon(heap, unit);
    heap.verify();
    expect(heap.stats().nodes.total).toBe(6); // f, g, fib, method, vtable, stub(method): all garbage

    const result = heap.collectCycles();
    heap.verify();
    expect(result.freed).toBe(6);
    const stats = heap.stats();
    expect(stats.nodes.total).toBe(0);
    expect(stats.freedByCycles.nodes).toBe(6);
    expect(stats.code.usedBytes).toBe(empty.code.usedBytes);
    expect(stats.data.usedBytes).toBe(empty.data.usedBytes);
  });

  test('collectCycles frees only garbage: a cycle still held by a handle survives', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [{ name: 'f', ...asm().call('g').ret().build() }, { name: 'g', ...asm().call('f').ret().build() }],
    });
    const dead = heap.define({
      functions: [{ name: 'a', ...asm().call('b').ret().build() }, { name: 'b', ...asm().call('a').ret().build() }],
    });
    unit.get('g').free();
    abandon(heap, dead);
    const result = heap.collectCycles();
    heap.verify();
    expect(result.freed).toBe(2);
    expect(nodeOf(heap, 'f').rc).toBe(2);
    expect(nodeOf(heap, 'g').rc).toBe(1);
    expect(heap.node('a')).toBeUndefined();
  });

  test('DUPLICATE_SYMBOL: a module unloaded as a cycle does not block its own reload', () => {
    const heap = newHeap();
    const module = { functions: [{ name: 'f', ...asm().call('g').ret().build() }, { name: 'g', ...asm().call('f').ret().build() }] };
    abandon(heap, heap.define(module));
    heap.define(module); // the collection run before DUPLICATE_SYMBOL frees the old f and g
    heap.verify();
  });

  test('OUT_OF_MEMORY only after a collection: garbage cycles are freed before giving up on an allocation', () => {
    const heap = newHeap({ codeSize: 4096 });
    const half = asm().call('other').nop(2042).ret().build(); // 2048 bytes
    abandon(heap, heap.define({
      functions: [{ name: 'one', ...half }, { name: 'other', ...asm().call('one').nop(2042).ret().build() }],
    }));
    heap.define({ functions: [{ name: 'big', ...asm().nop(4095).ret().build() }] });
    heap.verify();
  });

  test('automatic collection runs at a safe point once the candidate buffer passes cycleThreshold', () => {
    const heap = newHeap({ cycleThreshold: 4 });
    for (let i = 0; i < 8; i++) {
      abandon(heap, heap.define({
        functions: [{ name: `a${i}`, ...asm().call(`b${i}`).ret().build() }, { name: `b${i}`, ...asm().call(`a${i}`).ret().build() }],
      }));
    }
    heap.verify();
    const stats = heap.stats();
    expect(stats.collections).toBeGreaterThan(0);
    expect(stats.candidates).toBeLessThanOrEqual(4);
    expect(stats.nodes.total).toBeLessThan(16);
  });
});

