// heap.bind and lazy functions: a bound call that enters a trampoline compiles the function in
// JavaScript and continues with every argument register as it was, xmm0 .. xmm7 included; the
// JavaScript run meanwhile may call the same bound function again, and may not take a buffer's
// bytes away from the code that holds their address.

import { describe, expect, it } from 'vitest';
import type { FunctionBody } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { bytes, clobberFloats, native, nativeHeap, skipNative, storeByte, sumAll } from '../helpers/bind.js';
import { asm, image, sameBytes } from '../helpers/x86.js';

if (skipNative) console.warn(`heap.bind lazy tests skipped: ${native.reason}`);

const SUM_ALL = ['i64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64'] as const;
const POWERS = [1, 2, 4, 8, 16, 32, 64, 128] as const;

/** double f(double x, int a) { return a == 0 ? x : inner(x, a); } (a tail call). */
const dispatch = (): FunctionBody => asm()
  .byte(0x85, 0xff) // test edi, edi
  .byte(0x74, 0x05) // jz +5 (over the jmp)
  .jmp('inner')
  .ret()
  .build();

/** double inner(double x, int a) { return x * a; } */
const scale = (): FunctionBody => bytes(
  0xf2, 0x0f, 0x2a, 0xcf, // cvtsi2sd xmm1, edi
  0xf2, 0x0f, 0x59, 0xc1, // mulsd xmm0, xmm1
  0xc3,
);

describe.skipIf(skipNative)('heap.bind: lazy functions', () => {
  it('a lazy function taking eight doubles and an integer, compiled on its first call, gets them all intact', () => {
    let compiles = 0;
    const heap = nativeHeap();
    const lazy = heap.declare('sumAll', () => {
      compiles++;
      clobberFloats();
      return sumAll();
    });
    const sum = heap.bind(lazy, { parameters: SUM_ALL, result: 'f64' });
    expect(heap.node('sumAll')!.state).toBe('lazy');
    expect(sum(256, ...POWERS)).toBe(511);
    expect(compiles).toBe(1);
    expect(heap.node('sumAll')!.state).toBe('live');
    expect(sum(-3, 0.5, 0.25, 0, 0, 0, 0, 0, 1024)).toBe(1021.75); // live now: no trampoline on the way
    expect(compiles).toBe(1);
    heap.verify();
  });

  it('through a call site: the trampoline entered by a tail jump hands over xmm0 and edi', () => {
    const heap = nativeHeap();
    const inner = heap.declare('inner', () => {
      clobberFloats();
      return scale();
    });
    const outer = heap.define({ functions: [{ name: 'dispatch', ...dispatch() }] }).get('dispatch');
    inner.free();
    const f = heap.bind(outer, { parameters: ['f64', 'i32'], result: 'f64' });
    expect(f(2.5, 0)).toBe(2.5);
    expect(heap.node('inner')!.state).toBe('lazy');
    expect(f(2.5, 4)).toBe(10);
    expect(heap.node('inner')!.state).toBe('live');
    expect(f(-1.25, 3)).toBe(-3.75);
    heap.verify();
  });

  it('a compile callback may call the same bound function: the outer call keeps its own arguments', () => {
    const heap = nativeHeap();
    let f: ((x: number, a: number) => number) | undefined;
    let nested = Number.NaN;
    const inner = heap.declare('inner', () => {
      nested = f!(100.5, 0); // the same closure, other arguments, while the outer call is in the trampoline
      return scale();
    });
    const outer = heap.define({ functions: [{ name: 'dispatch', ...dispatch() }] }).get('dispatch');
    inner.free();
    f = heap.bind(outer, { parameters: ['f64', 'i32'], result: 'f64' });
    expect(f(1.5, 6)).toBe(9);
    expect(nested).toBe(100.5);
    heap.verify();
  });

  it('a compile callback that throws makes the bound call throw it, with the heap unchanged', () => {
    const heap = nativeHeap();
    const failure = new RangeError('no compiler today');
    const inner = heap.declare('inner', () => { throw failure; });
    const outer = heap.define({ functions: [{ name: 'dispatch', ...dispatch() }] }).get('dispatch');
    inner.free();
    const f = heap.bind(outer, { parameters: ['f64', 'i32'], result: 'f64' });
    const before = heap.stats();
    expect(() => f(1, 1)).toThrow(failure);
    expect(heap.stats()).toEqual(before);
    expect(heap.node('inner')!.state).toBe('lazy');
    heap.verify();
  });
});

describe.skipIf(skipNative)('heap.bind: buffers while JavaScript runs during the call', () => {
  /** store(p, i, v) whose store is done by a lazy function that `compile` compiles. */
  function lazyStore(compile: () => void): (p: Uint8Array | null, i: number, v: number) => undefined {
    const heap = nativeHeap();
    const lazy = heap.declare('store', () => {
      compile();
      return storeByte();
    });
    return heap.bind(lazy, { parameters: ['buffer', 'u64', 'u8'], result: 'void' });
  }

  it('a buffer kept as it was: the code compiled on the way writes into it', () => {
    const buffer = new Uint8Array(16);
    const store = lazyStore(() => clobberFloats());
    store(buffer, 5, 99);
    expect(buffer[5]).toBe(99);
  });

  it('a buffer detached by the compile callback: the call is abandoned before the code writes to a dangling address', () => {
    const buffer = new Uint8Array(4096);
    const store = lazyStore(() => void structuredClone(buffer.buffer, { transfer: [buffer.buffer] }));
    const error = expectCode(() => store(buffer, 5, 99), 'INVALID_ARGUMENT');
    expect(error.message).toContain('store (bound): the Uint8Array of argument 0 was detached or resized');
    expect(buffer.byteLength).toBe(0);
  });

  it('a heap whose call was abandoned so is consistent, unchanged but for the function compiled', () => {
    const heap = nativeHeap();
    let buffer = new Uint8Array(64);
    const lazy = heap.declare('store', () => {
      void structuredClone(buffer.buffer, { transfer: [buffer.buffer] });
      return storeByte();
    });
    const store = heap.bind(lazy, { parameters: ['buffer', 'u64', 'u8'], result: 'void' });
    const before = image(heap);
    expectCode(() => store(buffer, 1, 2), 'INVALID_ARGUMENT');
    expect(heap.node('store')!.state).toBe('live');
    expect(heap.stats().nodes.total).toBe(before.stats.nodes.total);
    heap.verify();
    buffer = new Uint8Array(8);
    store(buffer, 1, 2); // live now: no JavaScript runs during the call
    expect(buffer[1]).toBe(2);
    expect(sameBytes(image(heap).data, before.data)).toBe(true);
    heap.verify();
  });
});
