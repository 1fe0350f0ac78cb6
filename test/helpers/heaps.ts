// The heap most tests start from, and the smallest function body they place in it.

import { CodeHeap, type CodeHeapOptions } from '../../src/index.js';
import { asm, type Emitted } from './x86.js';

export const KiB = 1024;

/**
 * 64 KiB of code, 16 KiB of data, no automatic collection (tests that count need that), and the
 * collector's phase validator on (every collection checks what each of its phases promises).
 */
export function newHeap(options: Partial<CodeHeapOptions> = {}): CodeHeap {
  return new CodeHeap({
    arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, cycleThreshold: Infinity, validateCollections: true, ...options,
  });
}

/** `lea rax, [rdi+imm]; ret`: a leaf function. */
export function leaf(imm = 1): Emitted {
  return asm().leaRaxRdiPlus(imm).ret().build();
}
