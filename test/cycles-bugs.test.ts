// Regressions found while testing the cycle collector's trigger policy, each named after what broke.
//
// The adaptive threshold (DESIGN.md semantics 6: "adapts like PHP's (raise it when a run frees
// little)") was adapted after every collection, not only after the automatic runs the threshold
// itself triggered. Only those runs start with a full buffer (threshold candidates), so only for
// them does "freed little" mean "the candidates were mostly live". PHP adapts in the same place
// only: Zend/zend_gc.c calls gc_adjust_threshold(gc_collect_cycles()) from
// gc_possible_root_when_full, and an explicit gc_collect_cycles() leaves the threshold alone
// (Zend/tests/gc_037.phpt). Here an explicit collectCycles(), and the collection a define runs
// before DUPLICATE_SYMBOL or OUT_OF_MEMORY, each raised the threshold by a step. (Fixed by the
// commit "Adapt the collection threshold only after automatic runs, which start with a full buffer".)

import { expect, test } from 'vitest';
import { CodeHeap, type ErrorCode } from '../src/index.js';
import { asm, image, sameBytes } from './helpers/x86.js';
import { expectCode } from './helpers/errors.js';
import { abandon } from './helpers/heaps.js';

const KiB = 1024;
const INITIAL_AUTO_THRESHOLD = 10_000;

function autoHeap(codeSize = 1024 * KiB): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize, dataSize: 4 * KiB, validateCollections: true }); // cycleThreshold: 'auto'
}

/** Defines the 2-cycle {prefix}a <-> {prefix}b and drops its handles: two garbage candidates. */
function unloadCycle(heap: CodeHeap, prefix: string): void {
  abandon(heap, heap.define({
    functions: [
      { name: `${prefix}a`, ...asm().call(`${prefix}b`).ret().build() },
      { name: `${prefix}b`, ...asm().call(`${prefix}a`).ret().build() },
    ],
  }));
}

test("'auto' threshold: explicit collectCycles() calls raised the automatic threshold (a JIT collecting after each unload turned automatic collection off)", () => {
  const heap = autoHeap();
  // A JIT that unloads a small module and collects at once: each run is productive for what it
  // was given (it frees the whole module), but frees fewer than 100 nodes.
  for (let i = 0; i < 5; i++) {
    unloadCycle(heap, `module${i}_`);
    expect(heap.collectCycles().freed).toBe(2);
  }
  heap.verify();
  expect(heap.stats().cycleThreshold).toBe(INITIAL_AUTO_THRESHOLD); // was 60,000

  // The consequence: 10,000 garbage candidates no longer start an automatic run.
  const before = heap.stats().collections;
  for (let i = 0; i < INITIAL_AUTO_THRESHOLD / 2; i++) unloadCycle(heap, `p${i}_`);
  expect(heap.stats().collections).toBe(before + 1);
});

test("'auto' threshold: a define that failed (DUPLICATE_SYMBOL, OUT_OF_MEMORY) changed cycleThreshold through the collection it ran", () => {
  const heap = autoHeap(4 * KiB);
  heap.define({ functions: [{ name: 'f', ...asm().ret().build() }] });
  heap.verify();
  const attempts: [ErrorCode, () => unknown][] = [
    ['DUPLICATE_SYMBOL', () => heap.define({ functions: [{ name: 'f', ...asm().ret().build() }] })],
    ['OUT_OF_MEMORY', () => heap.define({ functions: [{ name: 'big', code: new Uint8Array(8 * KiB).fill(0x90) }] })],
  ];
  for (const [code, attempt] of attempts) {
    const before = image(heap);
    expectCode(attempt, code);
    heap.verify();
    const after = image(heap);
    // A failed call changes nothing but the collection counter of the collection it ran.
    expect(after.stats).toEqual({ ...before.stats, collections: before.stats.collections + 1 }); // cycleThreshold moved up 10,000
    expect(sameBytes(after.code, before.code)).toBe(true);
    expect(sameBytes(after.data, before.data)).toBe(true);
  }
});
