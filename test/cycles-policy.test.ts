// When the collector runs by itself (DESIGN.md semantics 6; src/cycles/policy.ts): at the end of
// the public call that brings the candidate buffer to the threshold, never inside a call; with
// 'auto' the threshold adapts like PHP's (up a step after an unproductive run, back down after
// productive ones); Infinity turns automatic runs off; and before giving up on an allocation a
// collection runs and the allocation is retried, OUT_OF_MEMORY only when even that cannot help.

import { describe, expect, test } from 'vitest';
import {
  CodeHeap, CodeHeapError, type CodeHeapOptions, type CollectionResult, type Handle, type HeapStats, type Observer,
} from '../src/index.js';
import { asm, image, nodeOf, sameBytes, type Emitted, type Image } from './helpers/x86.js';
import { detach, KiB, leaf } from './helpers/heaps.js';
import { expectCode } from './helpers/errors.js';

const INITIAL_AUTO_THRESHOLD = 10_000; // DESIGN: "adapts like PHP's", whose threshold starts at 10,000

function newHeap(options: Partial<CodeHeapOptions>): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, validateCollections: true, ...options });
}

function calls(...targets: string[]): Emitted {
  const a = asm();
  for (const t of targets) a.call(t);
  return a.ret().build();
}

/** `count` garbage-to-be 2-cycles p{i}a <-> p{i}b in one unit; each handle freed adds one candidate. */
function definePairs(heap: CodeHeap, prefix: string, count: number): Handle[] {
  const functions = [];
  for (let i = 0; i < count; i++) {
    functions.push({ name: `${prefix}${i}a`, ...calls(`${prefix}${i}b`) });
    functions.push({ name: `${prefix}${i}b`, ...calls(`${prefix}${i}a`) });
  }
  return detach(heap, heap.define({ functions }));
}

describe('automatic collection at a safe point', () => {
  test('cycleThreshold 50: the call that brings the buffer to 50 candidates runs one collection at its end, after its own events', () => {
    type Seen = { type: 'alloc' | 'free' | 'patch' | 'collect'; what: string };
    const seen: Seen[] = [];
    const results: CollectionResult[] = [];
    let heap!: CodeHeap;
    const observer: Observer = {
      alloc: (e) => seen.push({ type: 'alloc', what: e.name }),
      free: (e) => seen.push({ type: 'free', what: `${e.name} by ${e.by}` }),
      patch: (e) => seen.push({ type: 'patch', what: e.symbol }),
      collect: (e) => {
        // The collection ran after the call had finished: h's new body is in place, the old one gone.
        heap.verify();
        expect(heap.node('h')?.references).toEqual([]);
        seen.push({ type: 'collect', what: `freed ${e.freed} of ${e.candidates}` });
        results.push(e);
      },
    };
    heap = newHeap({ cycleThreshold: 50, observer });
    expect(heap.stats().cycleThreshold).toBe(50);
    const pairs = definePairs(heap, 'p', 25);
    const held = heap.define({ functions: [{ name: 'h', ...calls('t') }, { name: 't', ...calls('t') }] });

    // 49 candidates, one per handle freed: no collection yet.
    for (let k = 0; k < 49; k++) {
      pairs[k]!.free();
      heap.verify();
      expect(heap.stats()).toMatchObject({ candidates: k + 1, collections: 0 });
    }
    expect(results).toEqual([]);
    const nodesBefore = heap.stats().nodes.total;

    // The 50th: recompiling h drops its call to t (t keeps its handle and self-call), which buffers t.
    seen.length = 0;
    heap.redefine(held.get('h'), leaf());
    heap.verify();
    const stats = heap.stats();
    expect(stats.collections).toBe(1);
    expect(stats.candidates).toBe(0);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ candidates: 50, freed: 48 }); // 24 pairs fully released
    expect(stats.nodes.total).toBe(nodesBefore - 48);
    // Order: redefine's own events (patch, alloc, free of the old body) all come before the collect event.
    const collectAt = seen.findIndex((e) => e.type === 'collect');
    expect(collectAt).toBeGreaterThan(0);
    const own = seen.filter((e) => e.type !== 'collect' && !e.what.endsWith('by cycles'));
    expect(own.map((e) => `${e.type} ${e.what}`)).toEqual(['patch h', 'alloc h', 'free h by redefine']);
    for (const e of own) expect(seen.indexOf(e)).toBeLessThan(collectAt);
    expect(seen.filter((e) => e.what.endsWith('by cycles'))).toHaveLength(48);

    // The next 50 candidates run the next collection, and so on.
    pairs[49]!.free(); // pair 24 is released; candidate 1
    held.get('t').free(); // t: its self-call keeps it at one count; candidate 2
    expect(heap.stats()).toMatchObject({ candidates: 2, collections: 1 });
    expect(heap.collectCycles().freed).toBe(3); // an explicit run any time: p24a, p24b, t
  });

  test("REENTRANT_CALL from the collect event of an automatic run reaches the observer's error method, after the call's work is done", () => {
    let heap!: CodeHeap;
    const errors: unknown[] = [];
    heap = newHeap({
      cycleThreshold: 2,
      observer: { collect: () => void heap.collectCycles(), error: (error) => errors.push(error) },
    });
    const [a, b] = detach(heap, heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a') }] }));
    a!.free();
    b!.free(); // the second candidate: a run at the end of this free, whose event re-enters
    expect(errors).toEqual([expect.objectContaining({ code: 'REENTRANT_CALL' })]);
    expect(errors[0]).toBeInstanceOf(CodeHeapError);
    heap.verify();
    expect(b!.freed).toBe(true); // the free itself happened
    expect(heap.stats()).toMatchObject({ collections: 1, candidates: 0, nodes: { total: 0 } });
  });

  test("'auto': the threshold starts at 10,000, rises a step after an unproductive run and comes back down after productive ones", () => {
    const runs: CollectionResult[] = [];
    const heap = newHeap({ codeSize: 8192 * KiB, dataSize: 4 * KiB, observer: { collect: (e) => runs.push(e) } });
    expect(heap.stats().cycleThreshold).toBe(INITIAL_AUTO_THRESHOLD);

    // Live candidates: functions held by their unit's handle, each referring to `leaf` (so not green).
    // A lookup + free leaves one at its count again, and buffers it.
    let liveDefined = 0;
    heap.define({ functions: [{ name: 'leaf', ...leaf() }] });
    const bufferLive = (count: number): void => {
      while (liveDefined < count) {
        const functions = [];
        for (let i = liveDefined; i < Math.min(count, liveDefined + 10_000); i++) functions.push({ name: `live${i}`, ...calls('leaf') });
        heap.define({ functions });
        liveDefined += functions.length;
      }
      for (let i = 0; i < count; i++) heap.lookup(`live${i}`).free();
    };
    /** Candidates that are all garbage: pairs released handle by handle. */
    let garbageRound = 0;
    const bufferGarbage = (count: number): void => {
      for (const h of definePairs(heap, `g${garbageRound++}_`, count / 2)) h.free();
    };
    /** One round of exactly `threshold` candidates must run exactly one collection, at its last call. */
    const round = (buffer: (count: number) => void): CollectionResult => {
      const before = heap.stats();
      buffer(before.cycleThreshold);
      const after = heap.stats();
      expect(after.collections, 'one automatic run per round').toBe(before.collections + 1);
      expect(after.candidates).toBe(0);
      const run = runs.at(-1)!;
      expect(run.candidates).toBe(before.cycleThreshold);
      heap.verify();
      return run;
    };

    const unproductive1 = round(bufferLive);
    expect(unproductive1.freed).toBe(0);
    const raised1 = heap.stats().cycleThreshold;
    const step = raised1 - INITIAL_AUTO_THRESHOLD;
    expect(step, 'an unproductive run raises the threshold').toBeGreaterThan(0);

    const unproductive2 = round(bufferLive);
    expect(unproductive2.freed).toBe(0);
    expect(heap.stats().cycleThreshold).toBe(INITIAL_AUTO_THRESHOLD + 2 * step);

    const productive1 = round(bufferGarbage);
    expect(productive1.freed).toBe(INITIAL_AUTO_THRESHOLD + 2 * step);
    expect(heap.stats().cycleThreshold, 'a productive run lowers it a step').toBe(INITIAL_AUTO_THRESHOLD + step);

    const productive2 = round(bufferGarbage);
    expect(productive2.freed).toBe(INITIAL_AUTO_THRESHOLD + step);
    expect(heap.stats().cycleThreshold).toBe(INITIAL_AUTO_THRESHOLD);

    const productive3 = round(bufferGarbage);
    expect(productive3.freed).toBe(INITIAL_AUTO_THRESHOLD);
    expect(heap.stats().cycleThreshold, 'never below where it started').toBe(INITIAL_AUTO_THRESHOLD);
    expect(runs).toHaveLength(5);
  });

  test('cycleThreshold Infinity never runs a collection by itself, however many candidates wait', () => {
    const heap = newHeap({ codeSize: 4096 * KiB, cycleThreshold: Infinity });
    expect(heap.stats().cycleThreshold).toBe(Infinity);
    const handles = definePairs(heap, 'p', 30_000);
    for (const h of handles) h.free();
    heap.verify();
    const stats = heap.stats();
    expect(stats.collections).toBe(0);
    expect(stats.candidates).toBe(60_000);
    expect(stats.nodes.total).toBe(60_000);
    expect(heap.collectCycles().freed).toBe(60_000); // an explicit run still frees them all
    heap.verify();
  });

  test('a fixed cycleThreshold does not adapt, whatever the runs free', () => {
    const heap = newHeap({ cycleThreshold: 20 });
    heap.define({ functions: [{ name: 'leaf', ...leaf() }] });
    const live = [];
    for (let i = 0; i < 20; i++) live.push({ name: `live${i}`, ...calls('leaf') });
    heap.define({ functions: live });
    for (let i = 0; i < 20; i++) heap.lookup(`live${i}`).free(); // 20 live candidates: an unproductive run
    expect(heap.stats()).toMatchObject({ collections: 1, cycleThreshold: 20 });
    for (const h of definePairs(heap, 'p', 10)) h.free(); // 20 garbage candidates
    expect(heap.stats()).toMatchObject({ collections: 2, cycleThreshold: 20, candidates: 0 });
    heap.verify();
  });
});

describe('a collection before OUT_OF_MEMORY', () => {
  // A 4 KiB code arena filled exactly: a lazy function's 8-byte trampoline, a function `keep`
  // (1016 bytes, 8-aligned) and a cycle big <-> bag (1536 bytes each), garbage or held. Every
  // allocation then needs the cycle gone.
  const CODE = 4096;

  function fullHeap(garbage: boolean): { heap: CodeHeap; keep: Handle; lazy: Handle } {
    const heap = newHeap({ codeSize: CODE, dataSize: 4 * KiB, cycleThreshold: Infinity, compile: () => leaf() });
    const lazy = heap.declare('lazy');
    const unit = heap.define({
      functions: [
        { name: 'keep', ...asm().nop(1015).ret().build(), align: 8 },
        { name: 'big', ...asm().call('bag').nop(1536 - 6).ret().build() },
        { name: 'bag', ...asm().call('big').nop(1536 - 6).ret().build() },
      ],
    });
    if (garbage) {
      unit.get('big').free();
      unit.get('bag').free();
    }
    heap.verify();
    expect(heap.stats().code.freeBytes, 'the arena is full').toBe(0);
    return { heap, keep: unit.get('keep'), lazy };
  }

  /** Public calls that need a block of the code arena: a body, a trampoline or a stub. */
  const needsRoom: Record<string, (heap: CodeHeap, keep: Handle, lazy: Handle) => void> = {
    define: (heap) => void heap.define({ functions: [{ name: 'fresh', ...asm().nop(2047).ret().build() }] }),
    declare: (heap) => void heap.declare('later'),
    pointer: (heap, keep) => void heap.pointer(keep),
    redefine: (heap, keep) => heap.redefine(keep, asm().nop(1500).ret().build()),
    evict: (heap, keep) => heap.evict(keep),
    materialize: (heap, _keep, lazy) => heap.materialize(lazy),
  };

  for (const [call, run] of Object.entries(needsRoom)) {
    test(`${call} in an arena full of garbage cycles: one collection runs, the allocation is retried and succeeds`, () => {
      const { heap, keep, lazy } = fullHeap(true);
      run(heap, keep, lazy);
      heap.verify();
      const stats = heap.stats();
      expect(stats.collections).toBe(1);
      expect(stats.freedByCycles.nodes).toBe(2);
      expect(heap.node('big')).toBeUndefined();
      expect(heap.node('keep')).toBeDefined();
    });

    if (call === 'evict') continue; // evict never fails for room: see below
    test(`${call} in an arena full of live code: OUT_OF_MEMORY after one collection, and the heap is unchanged but for the collection counter`, () => {
      const { heap, keep, lazy } = fullHeap(false);
      const before = image(heap);
      expectCode(() => run(heap, keep, lazy), 'OUT_OF_MEMORY');
      heap.verify();
      expectSameHeap(image(heap), before, 1);
    });
  }

  test('evict in an arena full of live code: after one collection the trampoline takes the head of the body, and the rest is free', () => {
    const { heap, keep } = fullHeap(false);
    const address = keep.address;
    heap.evict(keep);
    heap.verify();
    expect(nodeOf(heap, 'keep')).toMatchObject({ state: 'lazy', address });
    expect(heap.stats()).toMatchObject({ collections: 1, code: { freeBytes: 1016 - 8 } });
  });

  test('evict of a pinned body in an arena full of live code: OUT_OF_MEMORY after one collection (the body stays, so it has no room to give)', () => {
    const { heap, keep } = fullHeap(false);
    const pin = heap.pin(keep);
    const before = image(heap);
    expectCode(() => heap.evict(keep), 'OUT_OF_MEMORY');
    heap.verify();
    expectSameHeap(image(heap), before, 1);
    pin.release();
  });

  test('OUT_OF_MEMORY after a collection that freed some garbage: the only change is what that collection did', () => {
    // Two identical heaps: one runs collectCycles() itself, the other a define too big to fit even
    // then. Afterwards they must be byte for byte and figure for figure the same.
    const build = (): CodeHeap => fullHeap(true).heap;
    const explicit = build();
    const failed = build();
    expect(explicit.collectCycles().freed).toBe(2);
    expectCode(() => failed.define({ functions: [{ name: 'huge', ...asm().nop(3500).ret().build() }] }), 'OUT_OF_MEMORY');
    failed.verify();
    expectSameHeap(image(failed), image(explicit), 0);
    expect(failed.node('big')).toBeUndefined();
  });
});

/** Same stats (but `collections` more runs) and the same bytes in both arenas. */
function expectSameHeap(after: Image, before: Image, collections: number): void {
  const expected: HeapStats = { ...before.stats, collections: before.stats.collections + collections };
  expect(after.stats).toEqual(expected);
  expect(sameBytes(after.code, before.code), 'code arena bytes').toBe(true);
  expect(sameBytes(after.data, before.data), 'data arena bytes').toBe(true);
}
