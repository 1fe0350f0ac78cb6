// Stubs, pointer slots and trampolines (DESIGN.md semantics 2 and the stub edge cases): which
// references go to a body and which to the canonical stub, that there is one stub per function
// and per far external, and that stubs are nodes like any other. Every value is decoded from the
// bytes with heap.read, and heap.verify() runs after every step.

import { describe, expect, test } from 'vitest';
import {
  asm, branchTarget, decodedTarget, isTrampoline, nodeOf, quads, readU64, stubOf, stubSlot, stubTarget,
  trampolineSlot,
} from './helpers/x86.js';
import { leaf, newHeap } from './helpers/heaps.js';

describe('call vs pointer', () => {
  test('call vs pointer: PLT32 targets the body, R_X86_64_64 targets stub(f); via overrides both ways', () => {
    const heap = newHeap();
    const user = asm()
      .call('f') // PLT32: body
      .movRax('f') // R_X86_64_64: stub
      .leaRax('f') // PC32: stub
      .call('f', { via: 'stub' }) // PLT32 made a pointer reference
      .movRax('f', { via: 'body' }) // R_X86_64_64 made a body reference
      .leaRax('f', { via: 'body' }) // PC32 made a body reference (how an object loader passes local calls)
      .ret().build();
    const unit = heap.define({ functions: [{ name: 'f', ...leaf() }, { name: 'user', ...user }] });
    heap.verify();
    const body = unit.get('f').address;
    const stub = stubOf(heap, 'f');
    expect(stub).not.toBe(body);
    const at = unit.get('user').address;
    const targets = user.relocations.map((r) => decodedTarget(heap, at, r));
    expect(targets).toEqual([body, stub, stub, stub, body, body]);
    expect(stubTarget(heap, stub)).toBe(body);

    // Moving f: body references follow it; stub references keep their value.
    heap.redefine(unit.get('f'), asm().nop(48).leaRaxRdiPlus(2).ret().build());
    heap.verify();
    const moved = unit.get('f').address;
    expect(user.relocations.map((r) => decodedTarget(heap, at, r))).toEqual([moved, stub, stub, stub, moved, moved]);
    expect(stubTarget(heap, stub)).toBe(moved);
  });

  test('references to globals target the global directly, whatever via says', () => {
    const heap = newHeap();
    const user = asm().movRax('v').leaRax('v').leaRax('v', { via: 'stub' }).movRax('v', { via: 'body' }).ret().build();
    const unit = heap.define({ globals: [{ name: 'v', size: 16 }], functions: [{ name: 'user', ...user }] });
    heap.verify();
    const v = unit.get('v').address;
    expect(user.relocations.map((r) => decodedTarget(heap, unit.get('user').address, r))).toEqual([v, v, v, v]);
    expect(heap.stats().nodes.stubs).toBe(0);
  });
});

describe('one stub per function', () => {
  test('one stub per function: every pointer to f has the same value across redefine and evict', () => {
    const heap = newHeap({ compile: () => leaf(5) });
    const first = heap.define({
      functions: [{ name: 'f', ...leaf() }, { name: 'a', ...asm().leaRax('f').movRax('f').ret().build() }],
      globals: [{ name: 'vtable', ...quads(16, [{ offset: 0, symbol: 'f' }, { offset: 8, symbol: 'f' }]) }],
    });
    const f = first.get('f');
    const pointer = heap.pointer(f);
    heap.verify();
    const value = pointer.address;
    const vtable = first.get('vtable').address;
    const a = first.get('a');
    /** Every place that holds a pointer to f, read from the bytes. */
    const pointers = (): number[] => [
      readU64(heap, vtable), readU64(heap, vtable + 8),
      decodedTarget(heap, a.address, { offset: 3, type: 'R_X86_64_PC32', symbol: 'f', addend: -4 }),
      readU64(heap, a.address + 9),
      stubOf(heap, 'f'), pointer.address, heap.pointer(f).address,
    ];
    const check = (): void => {
      heap.verify();
      expect(pointers()).toEqual(Array(7).fill(value));
      expect(heap.stats().nodes.stubs).toBe(1);
      expect(stubTarget(heap, value)).toBe(nodeOf(heap, 'f').address);
    };
    check();
    // A second unit, linked later, gets the same stub.
    const later = heap.define({ globals: [{ name: 'later', ...quads(8, [{ offset: 0, symbol: 'f' }]) }] });
    expect(readU64(heap, later.get('later').address)).toBe(value);
    check();
    heap.redefine(f, asm().nop(64).leaRaxRdiPlus(3).ret().build());
    check();
    heap.evict(f);
    check();
    expect(isTrampoline(heap, stubTarget(heap, value))).toBe(true);
    heap.materialize(f);
    check();
    // While anyone holds the pointer, even with f's own handles gone, the value stays.
    f.free();
    first.get('a').free();
    heap.verify();
    expect([readU64(heap, vtable), pointer.address, stubOf(heap, 'f')]).toEqual([value, value, value]);
    expect(stubTarget(heap, value)).toBe(nodeOf(heap, 'f').address);
  });

  test('stub layout: jmp [rip+disp32] through an 8-byte slot in the data arena holding the current body', () => {
    const heap = newHeap();
    const f = heap.define({ functions: [{ name: 'f', ...leaf() }] }).get('f');
    const pointer = heap.pointer(f);
    heap.verify();
    const stats = heap.stats();
    const slot = stubSlot(heap, pointer.address);
    expect(pointer.address).toBeGreaterThanOrEqual(stats.code.address);
    expect(pointer.address).toBeLessThan(stats.code.address + stats.code.size);
    expect(slot).toBeGreaterThanOrEqual(stats.data.address);
    expect(slot).toBeLessThan(stats.data.address + stats.data.size);
    expect(slot % 8).toBe(0);
    expect(readU64(heap, slot)).toBe(f.address);
    expect(nodeOf(heap, 'f').referrers).toEqual(['stub(f)']);
    expect(heap.node(pointer)).toMatchObject({ kind: 'stub', name: 'stub(f)', references: ['f'], address: pointer.address });
  });

  test('pointer() of a lazy function: its stub reaches the trampoline, then the body once materialized', () => {
    const heap = newHeap({ compile: () => leaf(4) });
    const f = heap.declare('f');
    const pointer = heap.pointer(f);
    heap.verify();
    expect(stubTarget(heap, pointer.address)).toBe(f.address);
    expect(isTrampoline(heap, f.address)).toBe(true);
    const value = pointer.address;
    heap.materialize(f);
    heap.verify();
    expect(pointer.address).toBe(value);
    expect(stubTarget(heap, value)).toBe(f.address);
    expect(isTrampoline(heap, f.address)).toBe(false);
  });
});

describe('stubs are nodes', () => {
  test('edge cases: stubs are nodes (counted, reclaimed at zero and included in freed)', () => {
    const heap = newHeap();
    const empty = heap.stats();
    const unit = heap.define({
      functions: [{ name: 'f', ...leaf() }, { name: 'user', ...asm().leaRax('f').ret().build() }],
    });
    const pointer = heap.pointer(unit.get('f'));
    heap.verify();
    expect(heap.node(pointer)!.rc).toBe(2); // user's lea + the pointer handle
    expect(heap.stats().nodes).toMatchObject({ functions: 2, stubs: 1, total: 3 });

    unit.get('user').free();
    heap.verify();
    expect(heap.node(pointer)!.rc).toBe(1);
    unit.get('f').free(); // f is still held by its stub
    heap.verify();
    expect(nodeOf(heap, 'f').rc).toBe(1);
    const freedBefore = heap.stats().freedByRc.nodes;
    pointer.free(); // the stub reaches zero, and takes f with it
    heap.verify();
    const stats = heap.stats();
    expect(stats.nodes.total).toBe(0);
    expect(stats.freedByRc.nodes - freedBefore).toBe(2);
    expect(stats.code.usedBytes).toBe(empty.code.usedBytes);
    expect(stats.data.usedBytes).toBe(empty.data.usedBytes); // the slot went with the stub
  });

  test('a PLT32 call to an external out of rel32 reach goes through stub(extern NAME), whose slot holds the address', () => {
    const puts = 0x7fff_1234_5670; // far from 0x4000_0000
    const abs = 0x4800_0000; // within rel32 reach
    const heap = newHeap({ resolveExternal: (name) => ({ puts, abs } as Record<string, number>)[name] });
    const code = asm().call('puts').call('abs').jmp('puts').ret().build();
    const first = heap.define({ functions: [{ name: 'f', ...code }] });
    heap.verify();
    const f = first.get('f').address;
    expect(branchTarget(heap, f + 5)).toBe(abs); // in reach: a direct call, no stub
    const stub = branchTarget(heap, f);
    expect(branchTarget(heap, f + 10)).toBe(stub); // one stub per external
    expect(stubTarget(heap, stub)).toBe(puts);
    expect(heap.stats().nodes.stubs).toBe(1);
    expect(nodeOf(heap, 'f').references).toEqual(['stub(extern puts)']);
    expect(heap.node('stub(extern puts)')).toBeUndefined(); // not a symbol
    expect(() => heap.lookup('puts')).toThrow(expect.objectContaining({ code: 'UNDEFINED_SYMBOL' }));

    const second = heap.define({ functions: [{ name: 'g', ...asm().call('puts').ret().build() }] });
    heap.verify();
    expect(branchTarget(heap, second.get('g').address)).toBe(stub); // shared across units
    expect(heap.stats().nodes.stubs).toBe(1);
    first.free();
    heap.verify();
    expect(heap.stats().nodes.stubs).toBe(1); // g still calls through it
    second.free();
    heap.verify();
    expect(heap.stats().nodes).toMatchObject({ stubs: 0, total: 0 });
  });

  test('trampolines: every lazy reference reaches a call through the one resolver slot', () => {
    const heap = newHeap();
    const a = heap.declare('a');
    const b = heap.declare('b');
    const user = asm().call('a').call('b').movRax('a').ret().build();
    const unit = heap.define({ functions: [{ name: 'user', ...user }] });
    heap.verify();
    const at = unit.get('user').address;
    expect(branchTarget(heap, at)).toBe(a.address);
    expect(branchTarget(heap, at + 5)).toBe(b.address);
    expect(stubTarget(heap, readU64(heap, at + 12))).toBe(a.address); // the pointer goes through stub(a)
    expect(a.address).not.toBe(b.address);
    expect(trampolineSlot(heap, a.address)).toBe(trampolineSlot(heap, b.address));
    expect(nodeOf(heap, 'a')).toMatchObject({ state: 'lazy', size: 0, address: a.address });
  });
});
