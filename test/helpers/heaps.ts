// The heap most tests start from, and the smallest function body they place in it.

import { CodeHeap, type CodeHeapOptions, type Handle, type Unit } from '../../src/index.js';
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

/**
 * Drops a unit the way a JIT drops a reference it never announced: the unit itself is freed while
 * a handle from lookup() still holds each of its nodes (so its unload finds all of it held), and
 * those handles are freed after, one by one. What only the unit held is then garbage left to
 * counting and to the collector, its cycles as candidates (the last handle of a unit, or
 * unit.free(), would reclaim them at once: DESIGN semantics 10).
 */
export function abandon(heap: CodeHeap, unit: Unit): void {
  for (const handle of detach(heap, unit)) handle.free();
}

/**
 * The unit's symbols held by handles of their own (lookup's), in the unit's order, and the unit
 * freed: freeing these later is an unannounced drop (see abandon), left to the collector.
 */
export function detach(heap: CodeHeap, unit: Unit): Handle[] {
  const held = unit.handles().filter((h) => !h.freed).map((h) => heap.lookup(h.name));
  unit.free();
  return held;
}
