// The node table's live counts by class (kind and lazy), which let stats() count nodes without
// walking the table: every change of state moves a node between classes, and verify() recounts.

import { describe, expect, test } from 'vitest';
import { FUNCTION, GLOBAL, RETIRED, STUB } from '../../src/base.js';
import { CLASS_MASK, LAZY, NodeTable } from '../../src/rc/node-table.js';
import { nodeCounts } from '../../src/inspect.js';
import { asm } from '../helpers/x86.js';
import { newHeap } from '../helpers/heaps.js';

/** The counts by class as a scan of the table finds them. */
function scanned(nodes: NodeTable): number[] {
  const byClass = new Array<number>(CLASS_MASK + 1).fill(0);
  for (let id = 0; id < nodes.idLimit; id++) if (nodes.isAlive(id)) byClass[nodes.flags[id]! & CLASS_MASK]!++;
  return byClass;
}

describe('live counts by class', () => {
  test('allocate, setLazy and dropLive move a node between classes, as a scan finds it', () => {
    const nodes = new NodeTable();
    const f = nodes.allocate(FUNCTION, 'f', 0);
    const g = nodes.allocate(GLOBAL, 'g', 1);
    const s = nodes.allocate(STUB, 'f', 2);
    const r = nodes.allocate(RETIRED, 'f', 3);
    expect(Array.from(nodes.liveByClass)).toEqual(scanned(nodes));
    nodes.setLazy(f, true);
    nodes.setLazy(f, true); // already lazy: no move
    expect(nodes.liveByClass[FUNCTION | LAZY]).toBe(1);
    expect(nodes.liveByClass[FUNCTION]).toBe(0);
    expect(Array.from(nodes.liveByClass)).toEqual(scanned(nodes));
    expect(nodeCounts(nodes.liveByClass)).toEqual({ functions: 1, globals: 1, stubs: 1, live: 2, lazy: 1, retired: 1, total: 3 });
    for (const id of [f, g, s, r]) {
      nodes.dropLive(id);
      nodes.flags[id] = 0;
    }
    expect(Array.from(nodes.liveByClass)).toEqual(new Array<number>(CLASS_MASK + 1).fill(0));
    expect(nodes.liveCount).toBe(0);
  });

  test('stats() follows define, evict, materialize, free and a collection without a walk', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [
        { name: 'a', ...asm().call('b').ret().build(), compile: () => asm().call('b').ret().build() },
        { name: 'b', ...asm().call('a').ret().build() },
      ],
      globals: [{ name: 'counter', size: 8 }],
    });
    const pointer = heap.pointer(unit.get('a'));
    expect(heap.stats().nodes).toEqual({ functions: 2, globals: 1, stubs: 1, live: 4, lazy: 0, retired: 0, total: 4 });
    heap.evict(unit.get('a'));
    heap.verify();
    expect(heap.stats().nodes).toMatchObject({ functions: 2, live: 3, lazy: 1, total: 4 });
    heap.materialize(unit.get('a'));
    heap.verify();
    expect(heap.stats().nodes).toMatchObject({ live: 4, lazy: 0 });
    unit.free();
    heap.collectCycles();
    heap.verify();
    // The pointer holds the stub, the stub holds a, and a holds b; the global went by counting.
    expect(heap.stats().nodes).toEqual({ functions: 2, globals: 0, stubs: 1, live: 3, lazy: 0, retired: 0, total: 3 });
    pointer.free();
    heap.collectCycles();
    heap.verify();
    expect(heap.stats().nodes.total).toBe(0);
  });
});
