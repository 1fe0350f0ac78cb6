// heap.bind: typed native calls, observed by hand-assembled machine code and by the C library.
//
// Each conversion is checked where C would see it: an int -1 comes back as -1 or 4294967295 by
// the result type, floats arrive in xmm registers by class whatever the order of the parameters,
// a buffer's bytes are written by the code and seen by JavaScript. Refused calls leave stats()
// as they were. Runs on Linux x86-64 with the addon built, and must run there on CI.

import { describe, expect, it } from 'vitest';
import { CodeHeap, type Handle } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import {
  bytes, identity, minusOne, multiplyFloats, narrow, native, nativeHeap, skipNative, storeByte, weighted, widenAndAdd,
} from '../helpers/bind.js';
import { asm } from '../helpers/x86.js';

if (skipNative) console.warn(`heap.bind tests skipped: ${native.reason}`);

const KiB = 1024;
const C_STRING = (text: string): Uint8Array => new TextEncoder().encode(`${text}\0`);

function one(heap: CodeHeap, name: string, body: { code: Uint8Array }): Handle {
  return heap.define({ functions: [{ name, ...body }] }).get(name);
}

describe('heap.bind without native memory', () => {
  it('on ArrayBuffer memory bind is NOT_EXECUTABLE, and a handle of the wrong kind INVALID_ARGUMENT', () => {
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB });
    const f = one(heap, 'f', identity());
    const error = expectCode(() => heap.bind(f, { parameters: [], result: 'void' }), 'NOT_EXECUTABLE');
    expect(error.message).toContain('bind(f)');
    const g = heap.define({ globals: [{ name: 'g', size: 8 }] }).get('g');
    expectCode(() => heap.bind(g, { parameters: [], result: 'void' }), 'INVALID_ARGUMENT');
    heap.verify();
  });
});

describe.skipIf(skipNative)('heap.bind: results and arguments as C sees them', () => {
  it('int -1 is -1 as i32, 4294967295 as u32, sign- or zero-extended from its low bits as i8, u8, i16, u16', () => {
    const heap = nativeHeap();
    const f = one(heap, 'minusOne', minusOne());
    expect(heap.bind(f, { parameters: [], result: 'i32' })()).toBe(-1);
    expect(heap.bind(f, { parameters: [], result: 'u32' })()).toBe(4294967295);
    expect(heap.bind(f, { parameters: [], result: 'i8' })()).toBe(-1);
    expect(heap.bind(f, { parameters: [], result: 'u8' })()).toBe(255);
    expect(heap.bind(f, { parameters: [], result: 'i16' })()).toBe(-1);
    expect(heap.bind(f, { parameters: [], result: 'u16' })()).toBe(65535);
    // Writing eax clears the upper half of rax: as a 64-bit result it is 2^32 - 1.
    expect(heap.bind(f, { parameters: [], result: 'i64' })()).toBe(4294967295n);
    expect(heap.bind(f, { parameters: [], result: 'void' })()).toBeUndefined();
    heap.verify();
  });

  it('integers round-trip through rdi: the low bits as the result type reads them', () => {
    const heap = nativeHeap();
    const id = one(heap, 'identity', identity());
    const i32 = heap.bind(id, { parameters: ['i32'], result: 'i32' });
    expect(i32(-1)).toBe(-1);
    expect(i32(-(2 ** 31))).toBe(-(2 ** 31));
    expect(i32(2 ** 31 - 1)).toBe(2 ** 31 - 1);
    expect(heap.bind(id, { parameters: ['u32'], result: 'u32' })(4294967295)).toBe(4294967295);
    expect(heap.bind(id, { parameters: ['u32'], result: 'i8' })(0x1ff)).toBe(-1);
    expect(heap.bind(id, { parameters: ['u32'], result: 'i8' })(0x17f)).toBe(127);
    expect(heap.bind(id, { parameters: ['u32'], result: 'u8' })(0x1fe)).toBe(254);
    expect(heap.bind(id, { parameters: ['i32'], result: 'i16' })(0x18000)).toBe(-32768);
    expect(heap.bind(id, { parameters: ['i8'], result: 'i64' })(-128)).toBe(-128n); // sign-extended by the caller
    expect(heap.bind(id, { parameters: ['u16'], result: 'u64' })(65535)).toBe(65535n);
    heap.verify();
  });

  it('i64 and u64 take bigints to their extremes, and safe-integer numbers', () => {
    const heap = nativeHeap();
    const id = one(heap, 'identity', identity());
    const i64 = heap.bind(id, { parameters: ['i64'], result: 'i64' });
    const u64 = heap.bind(id, { parameters: ['u64'], result: 'u64' });
    expect(i64(-(1n << 63n))).toBe(-(1n << 63n));
    expect(i64((1n << 63n) - 1n)).toBe((1n << 63n) - 1n);
    expect(i64(-1)).toBe(-1n);
    expect(i64(Number.MIN_SAFE_INTEGER)).toBe(BigInt(Number.MIN_SAFE_INTEGER));
    expect(u64((1n << 64n) - 1n)).toBe((1n << 64n) - 1n);
    expect(u64(0)).toBe(0n);
    expect(u64(Number.MAX_SAFE_INTEGER)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    // The same bits, read the other way.
    expect(heap.bind(id, { parameters: ['u64'], result: 'i64' })((1n << 64n) - 1n)).toBe(-1n);
    expect(heap.bind(id, { parameters: ['i64'], result: 'u64' })(-1n)).toBe((1n << 64n) - 1n);
    heap.verify();
  });

  it('f64 and i32 interleaved go to xmm0, xmm1 and edi, esi by class: a * x + b * y', () => {
    const heap = nativeHeap();
    const f = heap.bind(one(heap, 'weighted', weighted()), { parameters: ['f64', 'i32', 'f64', 'i32'], result: 'f64' });
    expect(f(1.5, 3, 0.25, -8)).toBe(2.5);
    expect(f(-0.1, 10, 1e300, 0)).toBe(-0.1 * 10);
    expect(f(Number.NaN, 1, 0, 0)).toBeNaN();
    heap.verify();
  });

  it('f32 arguments are the low half of their xmm register, and an f32 result is rounded to a float', () => {
    const heap = nativeHeap();
    const mul = heap.bind(one(heap, 'mul', multiplyFloats()), { parameters: ['f32', 'f32'], result: 'f32' });
    expect(mul(1.5, 2.25)).toBe(3.375);
    expect(mul(0.1, 3)).toBe(Math.fround(Math.fround(0.1) * 3));
    const widen = heap.bind(one(heap, 'widen', widenAndAdd()), { parameters: ['f32', 'f64'], result: 'f64' });
    expect(widen(0.1, 1)).toBe(Math.fround(0.1) + 1); // x rounded to a float on the way in, y not
    const toFloat = heap.bind(one(heap, 'narrow', narrow()), { parameters: ['f64'], result: 'f32' });
    expect(toFloat(0.1)).toBe(Math.fround(0.1));
    expect(toFloat(1e300)).toBe(Infinity);
    heap.verify();
  });

  it('a pointer result is a bigint: the address of a global, as lea computes it', () => {
    const heap = nativeHeap();
    const unit = heap.define({
      functions: [{ name: 'where', ...asm().leaRax('table').ret().build() }],
      globals: [{ name: 'table', size: 16 }],
    });
    const where = heap.bind(unit.get('where'), { parameters: [], result: 'pointer' });
    expect(where()).toBe(BigInt(unit.get('table').address));
    const id = heap.bind(one(heap, 'identity', identity()), { parameters: ['pointer'], result: 'pointer' });
    expect(id(0x1234)).toBe(0x1234n);
    expect(id((1n << 64n) - 1n)).toBe((1n << 64n) - 1n);
    heap.verify();
  });

  it('a buffer passes the address of its bytes: code writes into it, and JavaScript sees the writes', () => {
    const heap = nativeHeap();
    const store = heap.bind(one(heap, 'store', storeByte()), { parameters: ['buffer', 'u64', 'u8'], result: 'void' });
    const small = new Uint8Array(8); // small enough that V8 keeps its bytes on its own heap until asked
    store(small, 3, 0xab);
    expect([...small]).toEqual([0, 0, 0, 0xab, 0, 0, 0, 0]);
    const large = new Uint8Array(64 * KiB);
    store(large, 65535, 7);
    expect(large[65535]).toBe(7);
    const view = new Uint8Array(new ArrayBuffer(32), 16, 8); // an offset into its buffer
    store(view, 0, 1);
    expect(new Uint8Array(view.buffer)[16]).toBe(1);
    const pointer = heap.bind(one(heap, 'identity', identity()), { parameters: ['buffer'], result: 'pointer' });
    expect(pointer(null)).toBe(0n);
    heap.verify();
  });

  it('C reads a NUL-terminated buffer (strlen) and writes one (snprintf, variadic, with a double in xmm0)', () => {
    const heap = nativeHeap();
    const strlen = heap.bind(one(heap, 'len', asm().jmp('strlen').build()), { parameters: ['buffer'], result: 'u64' });
    expect(strlen(C_STRING('hello, world'))).toBe(12n);
    expect(strlen(C_STRING(''))).toBe(0n);
    // snprintf reads its double through va_arg, which finds it only when al says xmm registers are used.
    const format = heap.bind(one(heap, 'format', asm().jmp('snprintf').build()),
      { parameters: ['buffer', 'u64', 'buffer', 'f64', 'i32'], result: 'i32' });
    const out = new Uint8Array(32);
    expect(format(out, BigInt(out.length), C_STRING('%.3f|%d'), Math.PI, -42)).toBe(9);
    expect(new TextDecoder().decode(out.subarray(0, 9))).toBe('3.142|-42');
    expect(out[9]).toBe(0);
    // What a variadic callee reads: al, the bound on the vector registers used; all eight are passed.
    const al = heap.bind(one(heap, 'al', bytes(0x0f, 0xb6, 0xc0, 0xc3)), { parameters: ['f64'], result: 'u8' }); // movzx eax, al
    expect(al(1)).toBe(8);
    heap.verify();
  });

  it('code written with heap.write runs: the write goes to the bytes the CPU executes', () => {
    const heap = nativeHeap();
    const f = one(heap, 'seven', asm().movRaxImm(7).ret().build()); // 48 C7 C0 imm32 C3
    const run = heap.bind(f, { parameters: [], result: 'i32' });
    expect(run()).toBe(7);
    heap.write(f.address + 3, Uint8Array.of(42, 0, 0, 0));
    expect(run()).toBe(42);
    heap.verify();
  });
});

describe.skipIf(skipNative)('heap.bind: refusals', () => {
  it('a wrong count, type or out-of-range value is INVALID_ARGUMENT naming the function, parameter, type and value; nothing changes', () => {
    const heap = nativeHeap();
    const f = heap.bind(one(heap, 'weighted', weighted()), { parameters: ['f64', 'i32', 'f64', 'i32'], result: 'f64' });
    const id = one(heap, 'identity', identity());
    const u8 = heap.bind(id, { parameters: ['u8'], result: 'u8' });
    const i64 = heap.bind(id, { parameters: ['i64'], result: 'i64' });
    const u64 = heap.bind(id, { parameters: ['u64'], result: 'u64' });
    const pointer = heap.bind(id, { parameters: ['pointer'], result: 'pointer' });
    const buffer = heap.bind(id, { parameters: ['buffer'], result: 'pointer' });
    const before = heap.stats();
    const call = (g: unknown, ...args: unknown[]): unknown => (g as (...a: unknown[]) => unknown)(...args);
    const cases: [() => unknown, string[]][] = [
      [() => call(f, 1, 2, 3), ['weighted (bound)', 'takes 4 arguments', 'f64, i32, f64, i32', 'got 3']],
      [() => call(f, 1, 2, 3, 4, 5), ['got 5']],
      [() => call(f, 1, 2 ** 31, 3, 4), ['weighted (bound)', 'argument 1 (i32)', '2147483648', '-2147483648 to 2147483647']],
      [() => call(f, 1, 1.5, 3, 4), ['argument 1 (i32) is 1.5']],
      [() => call(f, 1n, 1, 3, 4), ['argument 0 (f64) is 1n', 'a number']],
      [() => call(f, 1, '2', 3, 4), ['argument 1 (i32) is "2"']],
      [() => call(u8, 256), ['identity (bound)', 'argument 0 (u8) is 256', '0 to 255']],
      [() => call(u8, -1), ['argument 0 (u8) is -1']],
      [() => call(i64, 1n << 63n), ['argument 0 (i64)', '9223372036854775808n']],
      [() => call(i64, 2 ** 53), ['argument 0 (i64) is 9007199254740992']],
      [() => call(u64, -1n), ['argument 0 (u64) is -1n']],
      [() => call(u64, 1n << 64n), ['argument 0 (u64)']],
      [() => call(pointer, -1), ['argument 0 (pointer) is -1']],
      [() => call(buffer, new Int8Array(4)), ['argument 0 (buffer) is a Int8Array', 'a Uint8Array or null']],
      [() => call(buffer, undefined), ['argument 0 (buffer) is undefined']],
    ];
    for (const [run, parts] of cases) {
      const error = expectCode(run, 'INVALID_ARGUMENT');
      for (const part of parts) expect(error.message).toContain(part);
    }
    expect(heap.stats()).toEqual(before);
    heap.verify();
  });

  it('the signature is read once and checked at bind: unknown types, a buffer result, more parameters than registers', () => {
    const heap = nativeHeap();
    const f = one(heap, 'f', identity());
    const bad = (signature: unknown): string => expectCode(() => heap.bind(f, signature as never), 'INVALID_ARGUMENT').message;
    expect(bad({ parameters: ['int'], result: 'i32' })).toContain('bind(f): parameter 0 has type "int"');
    expect(bad({ parameters: ['i32'], result: 'buffer' })).toContain('the result has type "buffer"');
    expect(bad({ parameters: 'i32', result: 'i32' })).toContain('parameters must be an array');
    expect(bad(null)).toContain('takes { parameters, result }');
    expect(bad({ parameters: Array(7).fill('pointer'), result: 'void' })).toContain('7 integer-class parameters');
    expect(bad({ parameters: Array(9).fill('f64'), result: 'void' })).toContain('stack arguments are not supported');
    expect(bad({ get parameters(): never { throw new RangeError('no'); }, result: 'void' })).toContain('threw');
    // Six integer-class and eight float parameters at once are fine.
    heap.bind(f, { parameters: [...Array(6).fill('i64'), ...Array(8).fill('f64')], result: 'i64' });
    const parameters: string[] = ['i32'];
    let reads = 0;
    const signature = { get parameters() { reads++; return parameters; }, result: 'i32' };
    const bound = heap.bind(f, signature as never) as (x: number) => number;
    parameters[0] = 'f64';
    expect(bound(5)).toBe(5); // still an i32
    expect(reads).toBe(1);
    heap.verify();
  });

  it('a freed handle or a closed heap is USE_AFTER_FREE, as for heap.call', () => {
    const heap = nativeHeap();
    const unit = heap.define({ functions: [{ name: 'f', ...identity() }] });
    const handle = heap.lookup('f');
    const f = heap.bind(handle, { parameters: ['i32'], result: 'i32' });
    expect(f(3)).toBe(3);
    handle.free();
    expect(expectCode(() => f(3), 'USE_AFTER_FREE').message).toContain('f (bound): the handle on f was freed');
    expect(heap.node('f')).toBeDefined(); // the unit's handle still holds f: only this handle was freed
    const g = heap.bind(unit.get('f'), { parameters: ['i32'], result: 'i32' });
    heap.verify();
    heap.close();
    expect(expectCode(() => g(3), 'USE_AFTER_FREE').message).toContain('the heap was closed');
    expectCode(() => heap.bind(unit.get('f'), { parameters: [], result: 'void' }), 'USE_AFTER_FREE');
  });

  it('a bound function called from an observer is REENTRANT_CALL, as heap.call is', () => {
    let bound: ((x: number) => number) | undefined;
    const errors: unknown[] = [];
    const heap = nativeHeap({ observer: { alloc: () => bound?.(1), error: (error) => errors.push(error) } });
    bound = heap.bind(one(heap, 'f', identity()), { parameters: ['i32'], result: 'i32' });
    heap.define({ globals: [{ name: 'g', size: 8 }] });
    expect(errors).toHaveLength(1);
    expect((errors[0] as { code?: unknown }).code).toBe('REENTRANT_CALL');
    heap.verify();
  });
});
