// Interior references (DESIGN semantics 9): a reference into the middle of a function's body, as
// a jump table's entries or a cold section's jump back into its function. It holds body + offset,
// is checked to lie inside the body, and is never left behind by evict or redefine. Also the
// relocation kinds and resolution an object loader needs: R_X86_64_PC64 and a caller-resolved
// `address`.

import { describe, expect, test } from 'vitest';
import type { CodeHeap } from '../src/index.js';
import { expectCode } from './helpers/errors.js';
import { newHeap } from './helpers/heaps.js';
import { asm, quads, readU64 } from './helpers/x86.js';

/** A 32-byte function body of nops and a ret, so offsets inside it are easy to name. */
function body32(): { code: Uint8Array } {
  return asm().nop(31).ret().build();
}

/** What a refused call must leave exactly as it was. */
function snapshot(heap: CodeHeap): string {
  const { ms: _ms, ...stats } = { ms: 0, ...heap.stats() };
  return JSON.stringify(stats) + Buffer.from(heap.read(heap.stats().code.address, 4096)).toString('hex');
}

describe('interior references', () => {
  test('a table in data holds body + offset, backpatched never, checked by verify', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [{ name: 'f', ...body32() }],
      globals: [{ name: 'table', ...quads(16, [{ offset: 0, symbol: 'f', addend: 0x10, via: 'body' }, { offset: 8, symbol: 'f', addend: 0x1f, via: 'body' }]) }],
    });
    const f = unit.get('f').address;
    expect(readU64(heap, unit.get('table').address)).toBe(f + 0x10);
    expect(readU64(heap, unit.get('table').address + 8)).toBe(f + 0x1f);
    heap.verify();
  });

  test('an interior reference outside the body, before it or into a lazy function is INVALID_ARGUMENT, the heap unchanged', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'f', ...body32() }] });
    heap.declare('lazy', () => body32());
    const before = snapshot(heap);
    const table = (symbol: string, addend: number) => ({ globals: [{ name: 't', ...quads(8, [{ offset: 0, symbol, addend, via: 'body' }]) }] });
    expect(expectCode(() => heap.define(table('f', 32)), 'INVALID_ARGUMENT').message).toMatch(/f\+0x20, outside the 32 bytes of its body/);
    expectCode(() => heap.define(table('f', -1)), 'INVALID_ARGUMENT');
    expect(expectCode(() => heap.define(table('lazy', 4)), 'INVALID_ARGUMENT').message).toMatch(/lazy is lazy: it has no body/);
    // In code, a rel32 that ends its instruction reaches the entry with -4: -4 + 32 is past the end.
    expectCode(() => heap.define({ functions: [{ name: 'g', ...asm().leaRax('f', { via: 'body', addend: 28 }).ret().build() }] }), 'INVALID_ARGUMENT');
    expect(snapshot(heap)).toBe(before);
    heap.define({ functions: [{ name: 'g', ...asm().leaRax('f', { via: 'body', addend: 27 }).ret().build() }] });
    heap.verify();
  });

  test('evict and redefine refuse to leave another node\'s interior reference behind; once it goes they work', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [{ name: 'f', ...body32() }],
      globals: [{ name: 'table', ...quads(8, [{ offset: 0, symbol: 'f', addend: 8, via: 'body' }]) }],
    });
    const before = snapshot(heap);
    const evicted = expectCode(() => heap.evict(unit.get('f')), 'INVALID_ARGUMENT');
    expect(evicted.message).toMatch(/table\+0x0 holds an interior reference to f\+0x8/);
    expectCode(() => heap.redefine(unit.get('f'), body32()), 'INVALID_ARGUMENT');
    expect(snapshot(heap)).toBe(before);
    heap.verify();
    unit.get('table').free();
    heap.redefine(unit.get('f'), body32());
    heap.evict(unit.get('f'));
    heap.verify();
  });

  test('evict in place (no room for a trampoline) refuses the same way', () => {
    const heap = newHeap({ codeSize: 4096 });
    const unit = heap.define({
      functions: [{ name: 'f', ...asm().nop(4089).ret().build() }],
      globals: [{ name: 'table', ...quads(8, [{ offset: 0, symbol: 'f', addend: 8, via: 'body' }]) }],
    });
    expect(heap.stats().code.largestFreeBlock).toBeLessThan(16);
    // The evict collects once before it settles on the body's own bytes: only that figure moves.
    const before = { ...heap.stats(), collections: 0 };
    const bytes = heap.read(unit.get('f').address, 4090);
    expectCode(() => heap.evict(unit.get('f')), 'INVALID_ARGUMENT');
    expect({ ...heap.stats(), collections: 0 }).toEqual(before);
    expect(heap.read(unit.get('f').address, 4090)).toEqual(bytes);
    heap.verify();
  });

  test('a body\'s interior references to itself go with it: redefine and evict work, and the new body\'s own point into it', () => {
    const heap = newHeap();
    const selfTable = () => asm().movRax('f', { via: 'body', addend: 12 }).nop(4).ret().build();
    const unit = heap.define({ functions: [{ name: 'f', ...selfTable() }] });
    const first = unit.get('f').address;
    expect(readU64(heap, first + 2)).toBe(first + 12);
    heap.redefine(unit.get('f'), selfTable());
    const second = unit.get('f').address;
    expect(second).not.toBe(first);
    expect(readU64(heap, second + 2)).toBe(second + 12);
    heap.verify();
    heap.evict(unit.get('f'));
    heap.verify();
  });

  test('a pinned body with interior references to itself cannot be retired: redefine is refused until the pin goes', () => {
    const heap = newHeap();
    const selfTable = () => asm().movRax('f', { via: 'body', addend: 12 }).nop(4).ret().build();
    const unit = heap.define({ functions: [{ name: 'f', ...selfTable() }] });
    const pin = heap.pin(unit.get('f'));
    const before = snapshot(heap);
    expect(expectCode(() => heap.redefine(unit.get('f'), selfTable()), 'INVALID_ARGUMENT').message).toMatch(/must be kept/);
    expectCode(() => heap.evict(unit.get('f')), 'INVALID_ARGUMENT');
    expect(snapshot(heap)).toBe(before);
    pin.release();
    heap.redefine(unit.get('f'), selfTable());
    heap.verify();
  });

  test('a call into the middle of a function is an interior reference too (a cold part jumping back)', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [{ name: 'hot', ...body32() }, { name: 'cold', ...asm().jmp('hot', { addend: 0x10 - 4 }).build() }],
    });
    const jump = unit.get('cold').address;
    const target = jump + 5 + new DataView(heap.read(jump + 1, 4).buffer).getInt32(0, true);
    expect(target).toBe(unit.get('hot').address + 0x10);
    expectCode(() => heap.evict(unit.get('hot')), 'INVALID_ARGUMENT');
    heap.evict(unit.get('cold'));
    heap.evict(unit.get('hot'));
    heap.verify();
  });
});

describe('what an object loader needs of relocations', () => {
  test('R_X86_64_PC64 holds S + A - P in 64 bits', () => {
    const heap = newHeap();
    const unit = heap.define({
      globals: [{ name: 'far', size: 8 }, { name: 'rel', data: new Uint8Array(8), relocations: [{ offset: 0, type: 'R_X86_64_PC64', symbol: 'far', addend: 2 }] }],
    });
    const value = new DataView(heap.read(unit.get('rel').address, 8).buffer).getBigInt64(0, true);
    expect(value).toBe(BigInt(unit.get('far').address + 2 - unit.get('rel').address));
    heap.verify();
  });

  test('a relocation with its own address needs no resolver; one name at two addresses gets two stubs', () => {
    const heap = newHeap({ resolveExternal: () => undefined });
    const far1 = 0x7000_0000_0000;
    const far2 = 0x7100_0000_0000;
    const caller = (address: number) => asm().call('log').ret().build().relocations.map((r) => ({ ...r, address }));
    const code = asm().call('log').ret().build().code;
    const unit = heap.define({ functions: [{ name: 'a', code, relocations: caller(far1) }, { name: 'b', code, relocations: caller(far2) }] });
    expect(heap.stats().nodes.stubs).toBe(2);
    heap.define({ functions: [{ name: 'c', code, relocations: caller(far1) }] });
    expect(heap.stats().nodes.stubs).toBe(2);
    heap.verify();
    const words = (fn: string) => {
      const at = unit.get(fn).address;
      const stub = at + 5 + new DataView(heap.read(at + 1, 4).buffer).getInt32(0, true);
      const slot = stub + 6 + new DataView(heap.read(stub + 2, 4).buffer).getInt32(0, true);
      return readU64(heap, slot);
    };
    expect(words('a')).toBe(far1);
    expect(words('b')).toBe(far2);
    expectCode(() => heap.define({ functions: [{ name: 'd', code, relocations: caller(-1) }] }), 'INVALID_ARGUMENT');
  });

  test('a read-only global starts a page and has its pages to itself; readOnly must be a boolean', () => {
    const heap = newHeap();
    const unit = heap.define({ globals: [{ name: 'before', size: 8 }, { name: 'table', data: new Uint8Array(100), readOnly: true }, { name: 'after', size: 8 }] });
    const table = unit.get('table').address;
    expect(table % 4096).toBe(0);
    for (const other of ['before', 'after']) {
      const at = unit.get(other).address;
      expect(at < table || at >= table + 4096, other).toBe(true);
    }
    heap.verify();
    expectCode(() => heap.define({ globals: [{ name: 'bad', size: 8, readOnly: 1 as unknown as boolean }] }), 'INVALID_ARGUMENT');
  });
});
