// heap.retainers() and heap.retainedSize() by name (the laws over random graphs are in
// test/property/retainers.property.test.ts): a chain through a vtable and a stub, a pin as the
// root, garbage that no root reaches, what a node alone keeps, long chains, and bad input.

import { describe, expect, test } from 'vitest';
import { expectCode } from './helpers/errors.js';
import { newHeap } from './helpers/heaps.js';
import { asm, quads } from './helpers/x86.js';

describe('heap.retainers', () => {
  test('a function reached only through a vtable: the chain names the global, the stub, each offset and type', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [{ name: 'method', ...asm().call('helper').ret().build() }, { name: 'helper', ...asm().ret().build() }],
      globals: [{ name: 'vtable', ...quads(16, [{ offset: 8, symbol: 'method', via: 'stub' }]) }],
    });
    const vtable = heap.lookup('vtable');
    unit.free();
    expect(heap.retainers('helper')).toEqual({
      root: { name: 'vtable', kind: 'global', holds: 1 },
      edges: [
        { from: 'vtable', to: 'stub(method)', offset: 8, type: 'R_X86_64_64' },
        // A stub's site is its pointer slot: offset 0 there.
        { from: 'stub(method)', to: 'method', offset: 0, type: 'R_X86_64_64' },
        { from: 'method', to: 'helper', offset: 1, type: 'R_X86_64_PLT32' },
      ],
    });
    // A root itself: no edges.
    expect(heap.retainers(vtable)).toEqual({ root: { name: 'vtable', kind: 'global', holds: 1 }, edges: [] });
    vtable.free();
    heap.verify();
  });

  test('a pin is a root; garbage no root reaches has none (null) until it is collected', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'a', ...asm().call('b').ret().build() }, { name: 'b', ...asm().call('a').ret().build() }] });
    const pin = heap.pin(unit.get('a'));
    const lookups = ['a', 'b'].map((n) => heap.lookup(n));
    unit.free();
    for (const h of lookups) h.free();
    expect(heap.retainers('b')).toEqual({ root: { name: 'a', kind: 'function', holds: 1 }, edges: [{ from: 'a', to: 'b', offset: 1, type: 'R_X86_64_PLT32' }] });
    pin.release();
    // The cycle is garbage now, waiting for the collector (the threshold is off here).
    expect(heap.retainers('a')).toBeNull();
    expect(heap.retainedSize('a')).toBe(heap.node('a')!.size + heap.node('b')!.size);
    heap.collectCycles();
    expectCode(() => heap.retainers('a'), 'UNDEFINED_SYMBOL');
    heap.verify();
  });
});

describe('heap.retainedSize', () => {
  test('what only the node keeps goes with it; nothing goes while another root reaches it', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [
        { name: 'top', ...asm().call('mine').call('shared').ret().build() },
        { name: 'mine', ...asm().ret().build() },
        { name: 'shared', ...asm().ret().build() },
        { name: 'other', ...asm().call('shared').ret().build() },
      ],
    });
    const [top, other] = [heap.lookup('top'), heap.lookup('other')];
    unit.free();
    const size = (name: string) => heap.node(name)!.size;
    expect(heap.retainedSize(top)).toBe(size('top') + size('mine'));
    expect(heap.retainedSize('shared')).toBe(0);
    other.free();
    expect(heap.retainedSize(top)).toBe(size('top') + size('mine') + size('shared'));
    top.free();
    heap.verify();
  });

  test('a chain of 100,000 functions: both walk it without recursion', () => {
    const heap = newHeap({ codeSize: 8 << 20 });
    const n = 100_000;
    const functions = Array.from({ length: n }, (_, i) => ({ name: `c${i}`, ...(i + 1 < n ? asm().call(`c${i + 1}`).ret().build() : asm().ret().build()) }));
    const unit = heap.define({ functions });
    const head = heap.lookup('c0');
    unit.free();
    const path = heap.retainers(`c${n - 1}`)!;
    expect(path.root.name).toBe('c0');
    expect(path.edges).toHaveLength(n - 1);
    expect(path.edges[n - 2]).toMatchObject({ from: `c${n - 2}`, to: `c${n - 1}` });
    expect(heap.retainedSize(head)).toBe(heap.stats().code.usedBytes);
    head.free();
  });

  test('a name the heap does not have is UNDEFINED_SYMBOL; a freed handle is USE_AFTER_FREE; a handle of another heap is INVALID_ARGUMENT', () => {
    const heap = newHeap();
    const other = newHeap();
    const h = heap.define({ functions: [{ name: 'f', ...asm().ret().build() }] }).get('f');
    const foreign = other.define({ functions: [{ name: 'g', ...asm().ret().build() }] }).get('g');
    for (const call of [(x: never) => heap.retainers(x), (x: never) => heap.retainedSize(x)]) {
      expectCode(() => call('nope' as never), 'UNDEFINED_SYMBOL');
      expectCode(() => call(foreign as never), 'INVALID_ARGUMENT');
    }
    h.free();
    expectCode(() => heap.retainers(h), 'USE_AFTER_FREE');
    expectCode(() => heap.retainedSize(h), 'USE_AFTER_FREE');
  });
});
