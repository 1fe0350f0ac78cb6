// The observer (STYLE.md habit 9; types.ts Observer): events arrive after the call that caused
// them has finished mutating the heap, so heap.verify() passes inside every event; read-only
// calls work inside an observer and mutating calls are REENTRANT_CALL.

import { describe, expect, test } from 'vitest';
import { CodeHeap, CodeHeapError, type CodeHeapOptions, type Observer } from '../src/index.js';
import { asm, branchTarget, nodeOf, quads, stubTarget } from './helpers/x86.js';
import { KiB, leaf } from './helpers/heaps.js';

type Event =
  | ({ type: 'alloc' } & Parameters<NonNullable<Observer['alloc']>>[0])
  | ({ type: 'free' } & Parameters<NonNullable<Observer['free']>>[0])
  | ({ type: 'patch' } & Parameters<NonNullable<Observer['patch']>>[0])
  | ({ type: 'collect' } & Parameters<NonNullable<Observer['collect']>>[0]);

/**
 * A heap whose observer records every event and runs heap.verify() inside it; `inside` runs in
 * each event too, for tests that look at the heap from there.
 */
function observed(options: Partial<CodeHeapOptions> = {}, inside: (heap: CodeHeap, event: Event) => void = () => {}) {
  const events: Event[] = [];
  const record = (event: Event): void => {
    heap.verify(); // the heap is consistent whenever an event arrives
    events.push(event);
    inside(heap, event);
  };
  const heap: CodeHeap = new CodeHeap({
    arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, cycleThreshold: Infinity, ...options,
    observer: {
      alloc: (e) => record({ type: 'alloc', ...e }),
      free: (e) => record({ type: 'free', ...e }),
      patch: (e) => record({ type: 'patch', ...e }),
      collect: (e) => record({ type: 'collect', ...e }),
    },
  });
  /** The events delivered by `call`, which must all arrive before it returns. */
  const during = (call: () => unknown): Event[] => {
    const start = events.length;
    call();
    return events.slice(start);
  };
  return { heap, events, during };
}

describe('observer events', () => {
  test('alloc events arrive after the call, for every node and stub it created, with verify() passing', () => {
    const seen = new Map<string, number | undefined>();
    const { heap, during } = observed({}, (heap, event) => {
      // Inside the event the whole call has happened: every node of the unit is already there.
      if (event.type === 'alloc' && event.kind !== 'stub') seen.set(event.name, heap.node('caller')?.address);
    });
    let unit!: ReturnType<CodeHeap['define']>;
    const events = during(() => {
      unit = heap.define({
        functions: [{ name: 'f', ...leaf() }, { name: 'caller', ...asm().call('f').ret().build() }],
        globals: [{ name: 'table', ...quads(8, [{ offset: 0, symbol: 'f' }]) }],
      });
    });
    const caller = unit.get('caller').address;
    expect(events.map((e) => [e.type, 'name' in e ? e.name : '', 'kind' in e ? e.kind : ''])).toEqual([
      ['alloc', 'f', 'function'], ['alloc', 'caller', 'function'], ['alloc', 'table', 'global'], ['alloc', 'stub(f)', 'stub'],
    ]);
    expect([...seen.values()]).toEqual([caller, caller, caller]);
    for (const e of events) {
      if (e.type !== 'alloc') continue;
      const address = e.kind === 'stub' ? nodeOf(heap, 'f').stub!.address : nodeOf(heap, e.name).address;
      expect(e.address).toBe(address);
    }
    // Sizes are reserved block sizes (6 bytes of code aligned at 16 round up to 16), the same
    // figure free events and stats() report, so an observer's byte count matches the heap's.
    expect(events.find((e) => e.type === 'alloc' && e.name === 'caller')).toMatchObject({ size: 16 });

    const lazy = during(() => heap.declare('lazy'));
    expect(lazy).toEqual([{ type: 'alloc', name: 'lazy', kind: 'trampoline', address: nodeOf(heap, 'lazy').address, size: 8 }]);
  });

  test("free events carry `by`: rc for a cascade, evict, redefine and materialize for a replaced body", () => {
    const { heap, during } = observed({ compile: () => leaf(3) });
    const unit = heap.define({
      functions: [{ name: 'a', ...asm().call('b').ret().build() }, { name: 'b', ...leaf() }, { name: 'f', ...leaf() }],
    });
    unit.get('b').free();
    const a = unit.get('a').address;
    const b = nodeOf(heap, 'b').address;
    const cascade = during(() => unit.get('a').free());
    expect(cascade.map((e) => e.type === 'free' && [e.name, e.kind, e.address, e.by])).toEqual([
      ['a', 'function', a, 'rc'], ['b', 'function', b, 'rc'],
    ]);

    const f = unit.get('f');
    let old = f.address;
    const evicted = during(() => heap.evict(f));
    expect(evicted.filter((e) => e.type === 'free')).toEqual([
      { type: 'free', name: 'f', kind: 'function', address: old, size: 16, by: 'evict' },
    ]);
    old = f.address; // the trampoline
    const materialized = during(() => heap.materialize(f));
    expect(materialized.filter((e) => e.type === 'free')).toEqual([
      { type: 'free', name: 'f', kind: 'trampoline', address: old, size: 8, by: 'materialize' },
    ]);
    old = f.address;
    const redefined = during(() => heap.redefine(f, asm().nop(20).ret().build()));
    expect(redefined.filter((e) => e.type === 'free')).toEqual([
      { type: 'free', name: 'f', kind: 'function', address: old, size: 16, by: 'redefine' },
    ]);
    // A body retired under a pin is freed by counting when the last pin goes.
    const pin = heap.pin(f);
    old = f.address;
    const retired = during(() => heap.redefine(f, leaf()));
    expect(retired.filter((e) => e.type === 'free')).toEqual([]);
    const released = during(() => pin.release());
    expect(released).toEqual([{ type: 'free', name: 'f (retired)', kind: 'retired', address: old, size: 32, by: 'rc' }]);
  });

  test('patch events name the symbol, the sites rewritten and the old and new address', () => {
    const inside: number[][] = [];
    const { heap, during } = observed({}, (heap, event) => {
      // The bytes are already patched when the event arrives.
      if (event.type === 'patch') inside.push([branchTarget(heap, nodeOf(heap, 'caller').address), stubTarget(heap, nodeOf(heap, 'f').stub!.address)]);
    });
    const unit = heap.define({
      functions: [{ name: 'f', ...leaf() }, { name: 'caller', ...asm().call('f').call('f').ret().build() }],
      globals: [{ name: 'table', ...quads(8, [{ offset: 0, symbol: 'f' }]) }],
    });
    const f = unit.get('f');
    const from = f.address;
    const events = during(() => heap.redefine(f, asm().nop(40).ret().build()));
    const to = f.address;
    expect(events.filter((e) => e.type === 'patch')).toEqual([{ type: 'patch', symbol: 'f', sites: 3, from, to }]);
    expect(inside).toEqual([[to, to]]);
    const trampolineEvents = during(() => heap.evict(f));
    expect(trampolineEvents.filter((e) => e.type === 'patch')).toEqual([{ type: 'patch', symbol: 'f', sites: 3, from: to, to: f.address }]);
  });

  test('collect events report what collectCycles() returned', () => {
    const { heap, during } = observed();
    let result!: ReturnType<CodeHeap['collectCycles']>;
    const events = during(() => {
      result = heap.collectCycles();
    });
    expect(events).toEqual([{ type: 'collect', ...result }]);
    expect(heap.stats().collections).toBe(1);
  });
});

describe('re-entrancy', () => {
  test('mutating calls inside an observer get REENTRANT_CALL while read-only calls (node, stats, verify, read) work', () => {
    const refused: Record<string, string> = {};
    const reads: Record<string, unknown> = {};
    let probe: ((heap: CodeHeap) => void) | undefined;
    const { heap } = observed({ compile: () => leaf() }, (heap) => {
      const run = probe;
      probe = undefined; // once, on the first event of the armed call
      run?.(heap);
    });
    const unit = heap.define({
      functions: [{ name: 'f', ...leaf() }, { name: 'g', ...asm().call('f').ret().build() }],
      globals: [{ name: 'v', size: 8 }],
    });
    const f = unit.get('f');
    const lazy = heap.declare('lazy');
    const pin = heap.pin(f);
    const mutating: Record<string, (heap: CodeHeap) => unknown> = {
      define: (h) => h.define({ functions: [{ name: 'x', ...leaf() }] }),
      declare: (h) => h.declare('y'),
      lookup: (h) => h.lookup('f'),
      pointer: (h) => h.pointer(f),
      redefine: (h) => h.redefine(f, leaf(2)),
      evict: (h) => h.evict(f),
      materialize: (h) => h.materialize(lazy),
      pin: (h) => h.pin(f),
      free: (h) => h.free(unit.get('v')),
      'handle.free': () => unit.get('g').free(),
      'pin.release': () => pin.release(),
      collectCycles: (h) => h.collectCycles(),
    };
    probe = (h) => {
      for (const [name, call] of Object.entries(mutating)) {
        try {
          call(h);
          refused[name] = 'allowed';
        } catch (error) {
          refused[name] = error instanceof CodeHeapError ? error.code : String(error);
        }
      }
      reads.node = h.node('f')?.name;
      reads.stats = h.stats().nodes.total;
      h.verify();
      reads.verify = 'ok';
      reads.read = h.read(f.address, 4).length;
      reads.address = f.address > 0;
      reads.dot = h.toDot().startsWith('digraph');
    };
    heap.define({ functions: [{ name: 'trigger', ...leaf() }] });
    expect(probe).toBeUndefined(); // it ran
    expect(refused).toEqual(Object.fromEntries(Object.keys(mutating).map((k) => [k, 'REENTRANT_CALL'])));
    expect(reads).toEqual({ node: 'f', stats: 5, verify: 'ok', read: 4, address: true, dot: true });
    // Nothing the refused calls attempted happened.
    heap.verify();
    expect(heap.node('x')).toBeUndefined();
    expect(heap.node('y')).toBeUndefined();
    expect(nodeOf(heap, 'f')).toMatchObject({ state: 'live', rc: 3 });
    expect(nodeOf(heap, 'lazy').state).toBe('lazy');
    expect(nodeOf(heap, 'v').rc).toBe(1);
    expect(pin.released).toBe(false);
  });
});
