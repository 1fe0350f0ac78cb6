// Regression tests, each named after what broke. They were found by the law suites beside this
// file and fail until src is fixed; keep them when it is.

import { describe, expect, test } from 'vitest';
import { CodeHeap, CodeHeapError, type Observer } from '../src/index.js';
import { asm } from './helpers/x86.js';
import { KiB, leaf, newHeap, abandon } from './helpers/heaps.js';

describe('observer', () => {
  test('a collection run by a failed define is reported by that call, not by the next one', () => {
    const log: string[] = [];
    const heap = newHeap({
      observer: { alloc: (e) => log.push(`alloc ${e.name}`), collect: () => log.push('collect') },
    });
    heap.define({ functions: [{ name: 'f', ...leaf() }] });
    log.length = 0;
    expect(() => heap.define({ functions: [{ name: 'f', ...leaf() }] })).toThrow(CodeHeapError); // DUPLICATE_SYMBOL
    const afterFailure = [...log];
    log.length = 0;
    heap.define({ functions: [{ name: 'g', ...leaf() }] });
    // The next call's events are its own: the stale 'collect' must not arrive here.
    expect(log).toEqual(['alloc g']);
    expect(afterFailure).toEqual(['collect']);
  });

  test('alloc and free events of one block report the same size', () => {
    const allocs = new Map<number, number>();
    const mismatches: string[] = [];
    const observer: Observer = {
      alloc: (e) => allocs.set(e.address, e.size),
      free: (e) => {
        const size = allocs.get(e.address);
        if (size !== e.size) mismatches.push(`${e.kind} ${e.name} at 0x${e.address.toString(16)}: alloc ${size}, free ${e.size}`);
      },
    };
    const heap = newHeap({ observer });
    const unit = heap.define({
      functions: [{ name: 'f', ...asm().call('g').ret().build() }, { name: 'g', ...leaf() }],
      globals: [{ name: 'v', size: 3 }],
    });
    heap.declare('lazy').free();
    abandon(heap, unit);
    heap.verify();
    expect(mismatches).toEqual([]);
  });
});

describe('messages', () => {
  test('INVALID_ARGUMENT for a non-integer offset names the offset as given, not as hex 0x1.8', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'g', ...leaf() }] });
    let message = '';
    try {
      heap.define({ functions: [{ name: 'h', code: new Uint8Array(16), relocations: [{ offset: 1.5, type: 'R_X86_64_PC32', symbol: 'g' }] }] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('1.5');
    expect(message).not.toContain('0x1.8');
  });
});

describe('collect before giving up on an allocation', () => {
  /** f0 <-> stub(f0) (f0's data is its own function pointer) and a 4 KiB self-recursive g: garbage. */
  function heapWithGarbage(): CodeHeap {
    const heap = newHeap({ codeSize: 64 * KiB, dataSize: 64 * KiB });
    abandon(heap, heap.define({ functions: [{ name: 'f0', code: new Uint8Array(8), relocations: [{ offset: 0, type: 'R_X86_64_64', symbol: 'f0' }] }] }));
    abandon(heap, heap.define({ functions: [{ name: 'g', code: new Uint8Array(4 * KiB), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'g', addend: -4 }] }] }));
    return heap;
  }
  const namesF0 = { name: 'f1', code: new Uint8Array(8), relocations: [{ offset: 0, type: 'R_X86_64_64' as const, symbol: 'f0' }] };

  test('a define that names a symbol on a garbage cycle links after the collection instead of failing with UNDEFINED_SYMBOL', () => {
    const heap = heapWithGarbage();
    // big fits only once g is collected; f0 is named, so it is held through that collection.
    const unit = heap.define({ functions: [namesF0, { name: 'big', code: new Uint8Array(62 * KiB) }] });
    heap.verify();
    expect(heap.stats().collections).toBe(1);
    expect(heap.node('g')).toBeUndefined();
    expect(heap.node('f1')?.references).toEqual(['stub(f0)']);
    expect(heap.node('f0')?.referrers).toEqual(['stub(f0)']);
    abandon(heap, unit);
    heap.collectCycles();
    heap.verify();
    expect(heap.stats().nodes.total).toBe(0);
  });

  test('a unit too large even after the collection is OUT_OF_MEMORY, not UNDEFINED_SYMBOL for a name the collection freed', () => {
    const heap = heapWithGarbage();
    let code = '';
    try {
      heap.define({ functions: [namesF0, { name: 'big', code: new Uint8Array(64 * KiB + 16) }] });
    } catch (error) {
      code = (error as CodeHeapError).code;
    }
    expect(code).toBe('OUT_OF_MEMORY');
    heap.verify();
    // f0 was held through the collection and let go after: still garbage, buffered for the next run.
    expect(heap.node('f0')?.rc).toBe(1);
    expect(heap.collectCycles().freed).toBe(2);
    heap.verify();
  });
});
