// heap.unload(handles): the handles go, and what only their nodes held is reclaimed in the call,
// cycles among them included, without collectCycles and without touching the candidates of the
// rest of the heap (DESIGN semantics 10). Each case checks verify() and the exact figures.

import { describe, expect, test } from 'vitest';
import { expectCode } from './helpers/errors.js';
import { abandon, leaf, newHeap } from './helpers/heaps.js';
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
    abandon(heap, other); // handle by handle: the x <-> y cycle is left to the collector, as candidates
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

  test('unit.free() unloads: a unit that is a garbage cycle goes in the call, with no collection (DESIGN semantics 10)', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [fn('f', asm().call('g').ret().build()), fn('g', asm().call('f').ret().build())] });
    unit.free();
    expect(heap.stats().nodes.total).toBe(0);
    expect(heap.stats().collections).toBe(0);
    unit.free();
    heap.verify();
  });
});

describe('the last handle of a unit unloads it (semantics 10)', () => {
  const pair = (a: string, b: string) => ({ functions: [fn(a, asm().call(b).ret().build()), fn(b, asm().call(a).ret().build())] });

  test('unit.free(), `using`, and freeing its handles one by one each reclaim a unit of cycles in that call', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    const empty = heap.stats();
    heap.define(pair('a', 'b')).free();
    expect(heap.stats()).toMatchObject({ nodes: { total: 0 }, candidates: 0, collections: 0 });
    {
      using unit = heap.define(pair('c', 'd'));
      expect(unit.get('c').address).toBeGreaterThan(0);
    }
    expect(heap.stats().nodes.total).toBe(0);
    const unit = heap.define(pair('e', 'f'));
    unit.get('e').free();
    expect(heap.stats().nodes.total).toBe(2); // f's handle still holds both
    unit.get('f').free(); // the last: the pair goes now, with no collection
    const after = heap.stats();
    expect(after).toMatchObject({ nodes: { total: 0 }, collections: 0, usedBytes: empty.usedBytes, sites: 0 });
    expect(after.freedByCycles.nodes).toBe(6);
    heap.verify();
  });

  test('what another handle or another unit still reaches stays, and goes with the last of those', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    const unit = heap.define(pair('a', 'b'));
    const user = heap.define({ functions: [fn('user', asm().call('a').ret().build())] });
    const b = heap.lookup('b');
    unit.free();
    expect(heap.stats().nodes.total).toBe(3);
    b.free(); // not a unit's handle: a and b stay for user, and b is not even a candidate of its own
    expect(heap.stats()).toMatchObject({ nodes: { total: 3 } });
    heap.verify();
    user.free(); // user goes by counting; the a <-> b cycle it held is left to the collector
    expect(heap.stats().nodes.total).toBe(2);
    expect(heap.collectCycles().freed).toBe(2);
    heap.verify();
  });

  test('a node of the unit freed early lends its id to another; the unit\'s last handle does not take that node for its own', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    // x is acyclic and goes by counting when its handle does, while y's handle keeps the unit open.
    const unit = heap.define({ functions: [fn('x', leaf()), fn('y', asm().call('y').ret().build())] });
    unit.get('x').free();
    // A self-recursive function that takes x's id, then is dropped unannounced: garbage for the collector.
    const other = heap.define({ functions: [fn('z', asm().call('z').ret().build())] });
    const z = heap.lookup('z');
    other.free();
    z.free();
    expect(heap.stats()).toMatchObject({ nodes: { total: 2 }, candidates: 1 });
    unit.get('y').free(); // unloads y; z is not the unit's, whatever its id
    expect(heap.node('z')).toBeDefined();
    expect(heap.node('y')).toBeUndefined();
    expect(heap.collectCycles().freed).toBe(1);
    heap.verify();
  });
});
