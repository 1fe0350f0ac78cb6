// Deep garbage cycles (DESIGN.md "Rules of the house": no recursion over the graph anywhere, and
// semantics 6: one collectCycles() frees exactly the garbage cycles reachable from the candidates).
// A cycle of one million functions must be collected by one call, without overflowing the
// JavaScript stack, leaving the code arena as one free block.
//
// The graphs are built back to front in batches, like a JIT compiling callees first; the edge that
// closes the cycle points forward, to a function not yet compiled, so it is made one of the two
// ways a JIT would: recompiling the last function once the first exists (redefine), or declaring
// the first function lazily and compiling it last (declare, then redefine of the lazy function).

import { expect, test } from 'vitest';
import { CodeHeap, type Handle, type HeapStats, type Relocation } from '../src/index.js';
import { branchTarget } from './helpers/x86.js';

const COUNT = 1_000_000;
const BATCH = 50_000;
const MiB = 1024 * 1024;

/** `call rel32; ret` (E8 rel32 C3): f_i calls f_{i+1}. */
const CALL_RET = Uint8Array.of(0xe8, 0, 0, 0, 0, 0xc3);
const RET = Uint8Array.of(0xc3);

function callTo(target: string): { code: Uint8Array; relocations: Relocation[] } {
  return { code: CALL_RET, relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: target, addend: -4 }] };
}

function newHeap(): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize: 64 * MiB, dataSize: 4096, cycleThreshold: Infinity, validateCollections: true });
}

/**
 * Defines f0 .. f{COUNT-1}, back to front, where f_i calls f_{i+1}; `last` is f{COUNT-1}'s body.
 * Every handle is freed as soon as a caller holds its node, except those `keep` names. Returns the
 * handles kept, by name.
 */
function buildChain(heap: CodeHeap, last: { code: Uint8Array; relocations?: Relocation[] }, keep: ReadonlySet<string>): Map<string, Handle> {
  const kept = new Map<string, Handle>();
  let head: Handle | undefined;
  for (let start = COUNT - BATCH; start >= 0; start -= BATCH) {
    const functions = [];
    for (let i = start; i < start + BATCH; i++) {
      functions.push(i === COUNT - 1 ? { name: `f${i}`, ...last } : { name: `f${i}`, ...callTo(`f${i + 1}`) });
    }
    const handles = heap.define({ functions }).handles();
    if (head !== undefined && !keep.has(head.name)) head.free(); // its callers' batch holds it now
    for (let i = 1; i < handles.length; i++) {
      const h = handles[i]!;
      if (keep.has(h.name)) kept.set(h.name, h);
      else h.free();
    }
    head = handles[0]!;
    if (keep.has(head.name)) kept.set(head.name, head);
  }
  if (!keep.has(head!.name)) throw new Error('buildChain: f0 must be kept');
  return kept;
}

/** The end state of both tests: no node, no site, one free block, data as when empty. */
function expectEmpty(heap: CodeHeap, empty: HeapStats): void {
  const stats = heap.stats();
  expect(stats.nodes.total).toBe(0);
  expect(stats.sites).toBe(0);
  expect(stats.candidates).toBe(0);
  expect(stats.code).toMatchObject({ usedBytes: 0, usedBlocks: 0, freeBlocks: 1, largestFreeBlock: 64 * MiB });
  expect(stats.data.usedBytes).toBe(empty.data.usedBytes);
  expect(stats.freedByCycles.nodes).toBe(COUNT);
}

test('a ring of 1,000,000 functions (f_i calls f_{i+1 mod N}), every node a candidate, is freed by one collectCycles without stack overflow', () => {
  const heap = newHeap();
  const empty = heap.stats();
  const last = `f${COUNT - 1}`;
  const kept = buildChain(heap, { code: RET }, new Set(['f0', last]));
  // Close the ring: recompile the last function to call the first.
  heap.redefine(kept.get(last)!, callTo('f0'));
  const lastAddress = heap.node(last)!.address;
  expect(branchTarget(heap, lastAddress)).toBe(heap.node('f0')!.address);
  kept.get(last)!.free();
  kept.get('f0')!.free();
  heap.verify();
  const built = heap.stats();
  expect(built.nodes.functions).toBe(COUNT);
  expect(built.sites).toBe(COUNT);
  expect(built.candidates).toBe(COUNT); // every handle freed left its node at one count: buffered
  expect(heap.node('f0')?.rc).toBe(1);
  expect(heap.node('f500000')?.rc).toBe(1);

  const result = heap.collectCycles();
  heap.verify();
  expect(result.freed).toBe(COUNT);
  expect(result.candidates).toBe(COUNT);
  expect(result.visited).toBeGreaterThanOrEqual(COUNT);
  expect(result.bytes).toBe(built.usedBytes - heap.stats().usedBytes);
  expect(heap.node('f0')).toBeUndefined();
  expect(heap.node(last)).toBeUndefined();
  expectEmpty(heap, empty);
  expect(heap.stats().freedByRc.nodes).toBe(0); // nothing of the ring went by counting
});

test('a 1,000,000-long chain closed by a back edge to a lazily declared f0: live, it is scanned and restored; released, its one candidate frees it all', () => {
  const heap = newHeap();
  const empty = heap.stats();
  // f0 is declared first, so f{N-1}'s call to it lands on f0's reentry trampoline until f0 is compiled.
  const f0 = heap.declare('f0');
  const lastName = `f${COUNT - 1}`;
  const functions = [];
  // The chain f1 .. f{N-1}; f1's batch is built last, so f0's body can then call f1.
  let head: Handle | undefined;
  for (let start = COUNT - BATCH; start >= 0; start -= BATCH) {
    functions.length = 0;
    for (let i = Math.max(start, 1); i < start + BATCH; i++) {
      functions.push({ name: `f${i}`, ...callTo(i === COUNT - 1 ? 'f0' : `f${i + 1}`) });
    }
    const handles = heap.define({ functions }).handles();
    head?.free();
    for (let i = 1; i < handles.length; i++) handles[i]!.free();
    head = handles[0]!;
  }
  expect(head!.name).toBe('f1');
  expect(heap.node('f0')?.state).toBe('lazy');
  expect(branchTarget(heap, heap.node(lastName)!.address)).toBe(f0.address); // the trampoline
  heap.redefine(f0, callTo('f1')); // compile f0: the back edge is backpatched to its body
  head!.free();
  // (verify() walks all 1,000,000 nodes; it runs once the live collection below has restored every count.)
  expect(heap.node('f0')?.state).toBe('live');
  expect(branchTarget(heap, heap.node(lastName)!.address)).toBe(f0.address);
  expect(branchTarget(heap, f0.address)).toBe(heap.node('f1')!.address);
  const built = heap.stats();
  expect(built.nodes.functions).toBe(COUNT);
  expect(built.sites).toBe(COUNT);

  // Held by f0's handle: a collection over every candidate frees nothing and restores every count.
  const live = heap.collectCycles();
  heap.verify();
  expect(live.freed).toBe(0);
  expect(live.candidates).toBe(built.candidates);
  expect(heap.node('f0')?.rc).toBe(2); // the handle + f{N-1}'s call
  expect(heap.node('f1')?.rc).toBe(1);
  expect(heap.node(lastName)?.rc).toBe(1);
  expect(heap.stats().nodes.functions).toBe(COUNT);

  // Released: the only candidate is f0, and the whole ring hangs from it.
  f0.free();
  expect(heap.stats().candidates).toBe(1);
  const result = heap.collectCycles();
  heap.verify();
  expect(result.freed).toBe(COUNT);
  expect(result.candidates).toBe(1);
  expect(result.visited).toBeGreaterThanOrEqual(COUNT);
  expect(heap.node('f1')).toBeUndefined();
  expectEmpty(heap, empty);
  expect(heap.stats().freedByRc.nodes).toBe(0);
});
