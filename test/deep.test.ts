// Deep graphs (DESIGN.md "Rules of the house": no recursion over the graph anywhere). A chain of
// one million functions, each held only by its caller, is freed by one free() of the first one's
// handle: the cascade must run on an explicit worklist, not the JavaScript stack, and leave the
// arena as one free block.

import { expect, test } from 'vitest';
import { CodeHeap, type Handle, type Relocation, type Unit } from '../src/index.js';

const COUNT = 1_000_000;
const BATCH = 50_000;
const MiB = 1024 * 1024;

/** `call f{next}; ret` (E8 rel32 C3), or a bare `ret` for the last function. */
const CALL_RET = Uint8Array.of(0xe8, 0, 0, 0, 0, 0xc3);
const RET = Uint8Array.of(0xc3);

/** Defines f[start, end) as one unit: f_i calls f_{i+1} (already in the heap, or in the unit). */
function defineBatch(heap: CodeHeap, start: number, end: number): Unit {
  const functions = [];
  for (let i = start; i < end; i++) {
    if (i === COUNT - 1) {
      functions.push({ name: `f${i}`, code: RET });
      continue;
    }
    const relocations: Relocation[] = [{ offset: 1, type: 'R_X86_64_PLT32', symbol: `f${i + 1}`, addend: -4 }];
    functions.push({ name: `f${i}`, code: CALL_RET, relocations });
  }
  return heap.define({ functions });
}

test('acyclic garbage is reclaimed at once, cascading: a chain of 1,000,000 functions is freed by one free() without stack overflow', () => {
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * MiB, dataSize: 4096, cycleThreshold: Infinity });
  const empty = heap.stats();
  // Built back to front in batches, like a JIT compiling callees first. After each batch only its
  // first function keeps a handle, until the next batch (its callers) holds it by a call site.
  let head: Handle | undefined;
  for (let start = COUNT - BATCH; start >= 0; start -= BATCH) {
    const handles = defineBatch(heap, start, start + BATCH).handles();
    head?.free();
    for (let i = 1; i < handles.length; i++) handles[i]!.free();
    head = handles[0]!;
  }
  const f0 = head!;
  expect(f0.name).toBe('f0');
  const built = heap.stats();
  expect(built.nodes.functions).toBe(COUNT);
  expect(built.sites).toBe(COUNT - 1);
  expect(heap.node('f0')?.rc).toBe(1);
  expect(heap.node('f500000')?.rc).toBe(1);
  // A spot check of the bytes across a batch boundary: f49999 calls f50000.
  const at = heap.node('f49999')!.address;
  const rel = new DataView(heap.read(at + 1, 4).buffer).getInt32(0, true);
  expect(at + 5 + rel).toBe(heap.node('f50000')?.address);
  heap.verify();

  f0.free();
  const stats = heap.stats();
  expect(stats.nodes.total).toBe(0);
  expect(stats.sites).toBe(0);
  expect(stats.freedByRc.nodes).toBe(COUNT);
  expect(stats.code).toMatchObject({ usedBytes: 0, usedBlocks: 0, freeBlocks: 1, largestFreeBlock: 64 * MiB });
  expect(stats.data.usedBytes).toBe(empty.data.usedBytes);
  expect(heap.node('f999999')).toBeUndefined();
  heap.collectCycles(); // lets go of the ids buffered as candidates while the handles were freed
  expect(heap.stats().candidates).toBe(0);
  heap.verify();
});
