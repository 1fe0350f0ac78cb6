// What the heap.bind suites share: whether native memory must run here, a native heap, and the
// machine code they call, hand-assembled (each instruction's bytes beside it, as objdump shows them).

import { CodeHeap, type CodeHeapOptions, type FunctionBody } from '../../src/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { runningMemory } from './memory.js';
import { asm } from './x86.js';

export const native = isNativeAvailable();
/** On CI on Linux x86-64 the native suites run, and fail when the addon is missing. */
export const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';
export const skipNative = !native.available && !mustRun;

export function nativeHeap(options: Partial<CodeHeapOptions> = {}): CodeHeap {
  return new CodeHeap({
    arch: 'x86_64', codeSize: 64 * 1024, dataSize: 16 * 1024, cycleThreshold: Infinity, memory: runningMemory(), ...options,
  });
}

/** A body of raw bytes, with no relocations. */
export function bytes(...code: number[]): FunctionBody {
  return { code: Uint8Array.from(code) };
}

/** `mov rax, rdi; ret`: the first integer argument back, all 64 bits. */
export const identity = (): FunctionBody => asm().movRaxRdi().ret().build();

/** `mov eax, -1; ret`: C's `int f(void) { return -1; }` (writing eax clears rax's upper half). */
export const minusOne = (): FunctionBody => bytes(0xb8, 0xff, 0xff, 0xff, 0xff, 0xc3);

/** double f(double x, int a, double y, int b) { return a * x + b * y; } (x, y in xmm0, xmm1; a, b in edi, esi). */
export const weighted = (): FunctionBody => bytes(
  0xf2, 0x0f, 0x2a, 0xd7, // cvtsi2sd xmm2, edi
  0xf2, 0x0f, 0x59, 0xc2, // mulsd xmm0, xmm2
  0xf2, 0x0f, 0x2a, 0xd6, // cvtsi2sd xmm2, esi
  0xf2, 0x0f, 0x59, 0xca, // mulsd xmm1, xmm2
  0xf2, 0x0f, 0x58, 0xc1, // addsd xmm0, xmm1
  0xc3, //                   ret
);

/** float f(float x, float y) { return x * y; } */
export const multiplyFloats = (): FunctionBody => bytes(0xf3, 0x0f, 0x59, 0xc1, 0xc3); // mulss xmm0, xmm1; ret

/** double f(float x, double y) { return x + y; } */
export const widenAndAdd = (): FunctionBody => bytes(
  0xf3, 0x0f, 0x5a, 0xc0, // cvtss2sd xmm0, xmm0
  0xf2, 0x0f, 0x58, 0xc1, // addsd xmm0, xmm1
  0xc3,
);

/** float f(double x) { return (float)x; } */
export const narrow = (): FunctionBody => bytes(0xf2, 0x0f, 0x5a, 0xc0, 0xc3); // cvtsd2ss xmm0, xmm0; ret

/** void f(uint8_t *p, size_t i, uint8_t v) { p[i] = v; } */
export const storeByte = (): FunctionBody => bytes(0x88, 0x14, 0x37, 0xc3); // mov [rdi+rsi], dl; ret

/** double f(int64_t a, double x0, ..., double x7) { return x0 + x1 + ... + x7 + a; } */
export const sumAll = (): FunctionBody => bytes(
  0xf2, 0x0f, 0x58, 0xc1, // addsd xmm0, xmm1
  0xf2, 0x0f, 0x58, 0xc2, // addsd xmm0, xmm2
  0xf2, 0x0f, 0x58, 0xc3, // addsd xmm0, xmm3
  0xf2, 0x0f, 0x58, 0xc4, // addsd xmm0, xmm4
  0xf2, 0x0f, 0x58, 0xc5, // addsd xmm0, xmm5
  0xf2, 0x0f, 0x58, 0xc6, // addsd xmm0, xmm6
  0xf2, 0x0f, 0x58, 0xc7, // addsd xmm0, xmm7
  0xf2, 0x48, 0x0f, 0x2a, 0xcf, // cvtsi2sd xmm1, rdi
  0xf2, 0x0f, 0x58, 0xc1, // addsd xmm0, xmm1
  0xc3,
);

/** JavaScript float work, so that the registers a compile callback returns with are not its caller's. */
export function clobberFloats(): number {
  let z = 0;
  for (let i = 1; i < 1000; i++) z += Math.sqrt(i) * 1.25 - Math.sin(i);
  return z;
}
