// heap.unload(handles): the handles go, and what only their nodes held is reclaimed in the call,
// cycles among them included, without collectCycles and without touching the candidates of the
// rest of the heap (DESIGN semantics 10). Each case checks verify() and the exact figures.

import { describe, expect, test } from 'vitest';
import { expectCode } from './helpers/errors.js';
import { leaf, newHeap } from './helpers/heaps.js';
import { asm, quads } from './helpers/x86.js';

const fn = (name: string, body: { code: Uint8Array; relocations?: import('../src/index.js').Relocation[] }) => ({ name, ...body });

describe('heap.unload', () => {
  test('a unit of cycles (mutual recursion, self-recursion, a vtable through a stub) goes whole, stubs included', () => {
    const heap = newHeap();
    const empty = heap.stats();
    const unit = heap.define({
      functions: [
        fn('f', asm().call('g').ret().build()), fn('g', asm().call('f').ret().build()),
        fn('self', asm().call('self').ret().build()), fn('method', asm().loadRax('vtable').ret().build()),
      ],
      globals: [{ name: 'vtable', ...quads(8, [{ offset: 0, symbol: 'method' }]) }],
    });
    expect(heap.stats().nodes.stubs).toBe(1);
    const freed = heap.unload(unit.handles());
    expect(freed).toBe(6);
    const after = heap.stats();
    expect(after.nodes.total).toBe(0);
    expect(after.usedBytes).toBe(empty.usedBytes);
    expect(after.sites).toBe(0);
    expect(after.collections).toBe(0);
    expect(after.freedByCycles.nodes).toBe(6);
    heap.verify();
  });

  test('what is held from outside stays, with all it reaches; the rest goes, and an acyclic tail only it held', () => {
    const heap = newHeap();
    const tail = heap.define({ functions: [fn('tail', leaf())] });
    const unit = heap.define({
      functions: [
        fn('a', asm().call('b').call('tail').ret().build()), fn('b', asm().call('a').ret().build()),
        fn('kept', asm().call('keptToo').ret().build()), fn('keptToo', asm().call('kept').ret().build()),
      ],
    });
    tail.free();
    // Another unit calls `kept`: kept and keptToo are referenced from outside the unloaded set.
    const caller = heap.define({ functions: [fn('caller', asm().call('kept').ret().build())] });
    const extra = heap.lookup('b');
    heap.unload(unit.handles());
    // b is held by a handle: a and b stay; the pair kept/keptToo is held by caller.
    expect(heap.node('a')?.state).toBe('live');
    expect(heap.node('kept')?.state).toBe('live');
    extra.free();
    heap.verify();
    heap.unload([...caller.handles()]);
    expect(heap.node('caller')).toBeUndefined();
    // kept/keptToo were only held by caller, but they were not in the set unloaded: they wait for the collector.
    expect(heap.node('kept')?.state).toBe('live');
    heap.collectCycles();
    expect(heap.stats().nodes.total).toBe(0);
    heap.verify();
  });

  test('a pinned function of the set stays while pinned; freed handles are skipped; the candidates of others are left alone', () => {
    const heap = newHeap();
    const other = heap.define({ functions: [fn('x', asm().call('y').ret().build()), fn('y', asm().call('x').ret().build())] });
    other.free();
    const candidates = heap.stats().candidates;
    const unit = heap.define({ functions: [fn('p', asm().call('q').ret().build()), fn('q', asm().call('p').ret().build())] });
    const pin = heap.pin(unit.get('p'));
    unit.get('q').free();
    heap.unload(unit.handles());
    expect(heap.node('p')?.state).toBe('live');
    expect(heap.node('x')?.state).toBe('live');
    expect(heap.stats().candidates).toBeGreaterThanOrEqual(candidates);
    pin.release();
    heap.collectCycles();
    expect(heap.stats().nodes.total).toBe(0);
    heap.verify();
  });

  test('anything but an iterable of this heap\'s handles is INVALID_ARGUMENT, and nothing is freed', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [fn('f', leaf())] });
    const foreign = newHeap().define({ functions: [fn('g', leaf())] }).get('g');
    expectCode(() => heap.unload(42 as unknown as Iterable<never>), 'INVALID_ARGUMENT');
    expectCode(() => heap.unload([unit.get('f'), foreign]), 'INVALID_ARGUMENT');
    expectCode(() => heap.unload([unit.get('f'), { name: 'f' }] as never), 'INVALID_ARGUMENT');
    const throwing = { [Symbol.iterator]() { throw new Error('no'); } };
    expectCode(() => heap.unload(throwing as unknown as Iterable<never>), 'INVALID_ARGUMENT');
    expect(unit.get('f').freed).toBe(false);
    expect(heap.stats().nodes.total).toBe(1);
    heap.verify();
  });

  test('a ring of 200,000 functions unloads without recursion', () => {
    const heap = newHeap({ codeSize: 64 << 20, dataSize: 1 << 20 });
    const n = 200_000;
    const functions = Array.from({ length: n }, (_, i) => fn(`r${i}`, asm().call(`r${(i + 1) % n}`).ret().build()));
    const unit = heap.define({ functions });
    expect(heap.unload(unit.handles())).toBe(n);
    expect(heap.stats().nodes.total).toBe(0);
  });
});
