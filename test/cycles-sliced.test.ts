// collectCycles({ budget }) and the automatic sliced mode (cyclePause): a collection in slices,
// with the heap usable in between (cycles/sliced.ts). The laws under random changes between
// slices are in test/property/sliced.property.test.ts; these are the cases by name.

import { describe, expect, test } from 'vitest';
import type { CollectionResult } from '../src/index.js';
import { expectCode } from './helpers/errors.js';
import { abandon, newHeap } from './helpers/heaps.js';
import { asm } from './helpers/x86.js';

const pairs = (count: number, prefix = 'p') => {
  const functions = [];
  for (let i = 0; i < count; i++) {
    functions.push({ name: `${prefix}${i}a`, ...asm().call(`${prefix}${i}b`).ret().build() });
    functions.push({ name: `${prefix}${i}b`, ...asm().call(`${prefix}${i}a`).ret().build() });
  }
  return { functions };
};

describe('collectCycles({ budget })', () => {
  test('runs in slices: each stops within its work, the heap verifies in between, and the collection counts once, when done', () => {
    const events: CollectionResult[] = [];
    const heap = newHeap({ cycleThreshold: Infinity, observer: { collect: (e) => events.push(e) } });
    abandon(heap, heap.define(pairs(500)));
    expect(heap.stats().candidates).toBe(1000);
    const slices: CollectionResult[] = [];
    const began: number[] = [];
    for (let done = false; !done;) {
      began.push(performance.now());
      const result = heap.collectCycles({ budget: { work: 100 } });
      slices.push(result);
      done = result.done !== false;
      heap.verify();
      if (!done) expect(heap.stats().collections).toBe(0);
    }
    expect(slices.length).toBeGreaterThan(10);
    expect(slices.reduce((sum, r) => sum + r.freed, 0)).toBe(1000);
    expect(heap.stats()).toMatchObject({ collections: 1, nodes: { total: 0 }, candidates: 0 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ freed: 1000, candidates: 1000, done: true, slices: slices.length });
    // The event names the longest slice and when it began: within the call that ran it.
    const { longestSliceMs, longestSliceAt, ms } = events[0]!;
    const longest = slices.reduce((most, r, k) => (r.ms > slices[most]!.ms ? k : most), 0);
    expect(longestSliceMs).toBe(slices[longest]!.ms);
    expect(ms).toBeCloseTo(slices.reduce((sum, r) => sum + r.ms, 0), 9);
    expect(longestSliceAt).toBeGreaterThanOrEqual(began[longest]!);
    expect(longestSliceAt! + longestSliceMs!).toBeLessThanOrEqual(began[longest + 1] ?? performance.now());
  });

  test('garbage found is no longer found by name while it is freed; defining one of its names finishes the collection first', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    abandon(heap, heap.define(pairs(200)));
    // Slices until the freeing has begun and p199a is not yet freed.
    let result: CollectionResult;
    do result = heap.collectCycles({ budget: { work: 50 } });
    while (result.freed === 0 && result.done === false);
    expect(result.done).toBe(false);
    expectCode(() => heap.lookup('p199a'), 'UNDEFINED_SYMBOL');
    expect(heap.node('p199a')).toBeUndefined();
    heap.verify();
    const again = heap.define({ functions: [{ name: 'p199a', ...asm().ret().build() }] });
    expect(heap.stats()).toMatchObject({ collections: 2, nodes: { total: 1 } }); // the sliced one finished, then a whole one
    again.free();
    heap.verify();
  });

  test('a node the program reaches between slices is kept, with all it reaches; the rest goes', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    abandon(heap, heap.define(pairs(100)));
    heap.collectCycles({ budget: { work: 20 } }); // marking has begun
    const kept = heap.lookup('p7b');
    for (let done = false; !done;) done = heap.collectCycles({ budget: { work: 20 } }).done !== false;
    heap.verify();
    expect(heap.node('p7a')).toBeDefined();
    expect(heap.stats().nodes.total).toBe(2);
    kept.free();
    expect(heap.collectCycles().freed).toBe(2);
  });

  test('while the roots are still being taken, a root freed by counting and a node buffered anew are each accounted once', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    abandon(heap, heap.define(pairs(50)));
    // h0..h9 call a leaf, so they are no leaves themselves: dropping one of two lookup handles on
    // each buffers them (after the 100 pair functions) while the other still holds it.
    const unit = heap.define({
      functions: [
        { name: 'leaf', ...asm().ret().build() },
        ...Array.from({ length: 10 }, (_, i) => ({ name: `h${i}`, ...asm().call('leaf').ret().build() })),
        { name: 'k', ...asm().call('leaf').ret().build() },
      ],
    });
    const held = Array.from({ length: 10 }, (_, i) => heap.lookup(`h${i}`));
    const dropped = Array.from({ length: 10 }, (_, i) => heap.lookup(`h${i}`));
    const leaf = heap.lookup('leaf');
    const k = [heap.lookup('k'), heap.lookup('k')];
    unit.free();
    for (const h of dropped) h.free();
    expect(heap.stats().candidates).toBe(110);
    expect(heap.collectCycles({ budget: { work: 10 } }).done).toBe(false);
    heap.verify();
    // h0..h9 are roots the collection has yet to take; freed now, by counting.
    for (const h of held) h.free();
    heap.verify();
    // k joins the new buffer (its count dropped to one), then goes by counting: its entry goes too.
    k[0]!.free();
    expect(heap.stats().candidates).toBe(1);
    heap.verify();
    k[1]!.free();
    expect(heap.stats().candidates).toBe(0);
    heap.verify();
    let freed = 0;
    for (let done = false; !done;) {
      const result = heap.collectCycles({ budget: { work: 10 } });
      freed += result.freed;
      done = result.done !== false;
      heap.verify();
    }
    expect(freed).toBe(100);
    expect(heap.stats()).toMatchObject({ nodes: { total: 1 }, candidates: 0 });
    leaf.free();
    expect(heap.stats().nodes.total).toBe(0);
    heap.verify();
  });

  test('a whole collectCycles() finishes a sliced one still running, then collects what came since', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    abandon(heap, heap.define(pairs(100)));
    expect(heap.collectCycles({ budget: { work: 10 } }).done).toBe(false);
    abandon(heap, heap.define(pairs(5, 'q')));
    heap.collectCycles();
    expect(heap.stats()).toMatchObject({ collections: 2, nodes: { total: 0 }, candidates: 0 });
    heap.verify();
  });

  test('a budget that is not milliseconds or { ms, work } is INVALID_ARGUMENT, and runs nothing', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    for (const options of [{ budget: 0 }, { budget: -1 }, { budget: 'fast' }, { budget: {} }, { budget: { work: 1.5 } }, { budget: { ms: Number.NaN } }, null, 7]) {
      expectCode(() => heap.collectCycles(options as never), 'INVALID_ARGUMENT');
    }
    expect(heap.stats().collections).toBe(0);
    expect(heap.collectCycles({ budget: 5 }).done).toBe(true);
  });
});

describe('cyclePause: automatic collections in slices', () => {
  test('due collections run in slices at the ends of mutating calls, and free what a whole collection would', () => {
    const events: CollectionResult[] = [];
    const heap = newHeap({ codeSize: 256 * 1024, cycleThreshold: 50, cyclePause: 0.01, observer: { collect: (e) => events.push(e) } });
    // 4,000 unannounced drops: a collection is due every 50 candidates, and runs in slices.
    abandon(heap, heap.define(pairs(2000)));
    heap.verify();
    expect(events.length).toBeGreaterThan(10);
    for (const e of events) expect(e.done).toBe(true);
    // Slices end by the clock, so what each frees varies; a node kept by a touch and then let go
    // by its handle goes by counting instead. Every node is accounted for, one way or the other.
    const stats = heap.stats();
    expect(events.reduce((sum, e) => sum + e.freed, 0)).toBeLessThanOrEqual(stats.freedByCycles.nodes);
    expect(stats.freedByCycles.nodes + stats.freedByRc.nodes + stats.nodes.total).toBe(4000);
    heap.collectCycles();
    expect(heap.stats().nodes.total).toBe(0);
    heap.verify();
  });

  test('cyclePause must be a positive number of milliseconds', () => {
    for (const cyclePause of [0, -1, Infinity, '1', Number.NaN]) expectCode(() => newHeap({ cyclePause: cyclePause as number }), 'INVALID_ARGUMENT');
  });
});
