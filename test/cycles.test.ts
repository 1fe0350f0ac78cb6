// The cycle collector's laws (DESIGN.md semantics 6, 7 and 8), one scenario each, through the
// public API only. Automatic collection is off (cycleThreshold: Infinity) so every count and every
// figure is the test's to predict; heap.verify() runs after every step.
//
// Two law helpers carry most of the checking:
//  - collect() runs collectCycles() and checks its report against what the heap shows before and
//    after: freed = nodes gone, bytes = arena bytes returned, candidates = the buffer at the start,
//    visited >= freed, ms >= 0, and freedByRc + freedByCycles moved by exactly the nodes gone.
//  - expectLiveIsReachable() is semantics 7 by a naive oracle: the live nodes are exactly those an
//    explicit worklist reaches over node().references from the names the test holds.

import { describe, expect, test } from 'vitest';
import {
  CodeHeap, type CollectionResult, type Handle, type Observer,
} from '../src/index.js';
import { asm, branchTarget, nodeOf, quads, stubTarget, type Emitted } from './helpers/x86.js';
import { abandon, detach, KiB, leaf, newHeap } from './helpers/heaps.js';

/** A body that calls each target in turn (call rel32, a body reference). */
function calls(...targets: string[]): Emitted {
  const a = asm();
  for (const t of targets) a.call(t);
  return a.ret().build();
}

function rcOf(heap: CodeHeap, name: string): number {
  return nodeOf(heap, name).rc;
}

/**
 * collectCycles(), with its report checked against the heap (DESIGN semantics 6, types.ts
 * CollectionResult): freed is every node the call reclaimed, bytes every byte the arenas got back,
 * candidates the buffer's length at the start; the buffer is empty after and verify() passes.
 */
function collect(heap: CodeHeap): CollectionResult {
  const before = heap.stats();
  const result = heap.collectCycles();
  heap.verify();
  const after = heap.stats();
  const gone = before.nodes.total + before.nodes.retired - (after.nodes.total + after.nodes.retired);
  expect(result.freed, 'freed: the nodes this call reclaimed').toBe(gone);
  expect(result.bytes, 'bytes: what the arenas got back').toBe(before.usedBytes - after.usedBytes);
  expect(result.candidates, 'candidates: the buffer at the start').toBe(before.candidates);
  expect(result.visited).toBeGreaterThanOrEqual(result.freed);
  expect(result.ms).toBeGreaterThanOrEqual(0);
  expect(Number.isFinite(result.ms)).toBe(true);
  expect(after.candidates, 'the buffer is empty after a collection').toBe(0);
  expect(after.collections).toBe(before.collections + 1);
  const reclaimed = after.freedByRc.nodes - before.freedByRc.nodes + (after.freedByCycles.nodes - before.freedByCycles.nodes);
  expect(reclaimed, 'each node is counted once, by rc or by cycles').toBe(gone);
  return result;
}

/**
 * The names reachable from `roots` over node().references, by an explicit worklist. A stub is not
 * a symbol, so its one reference (its function) is found through node(f).stub for the functions
 * in `universe` (every function and global name the test defined).
 */
function reachableFrom(heap: CodeHeap, roots: Iterable<string>, universe: readonly string[]): Set<string> {
  const functionOfStub = new Map<string, string>();
  for (const name of universe) {
    const stub = heap.node(name)?.stub;
    if (stub !== undefined) functionOfStub.set(stub.name, name);
  }
  const seen = new Set<string>();
  const work = [...roots];
  while (work.length > 0) {
    const name = work.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const owner = functionOfStub.get(name);
    // A name that is reachable but not live fails here: safety (semantics 7) is broken.
    const next = owner === undefined ? nodeOf(heap, name).references : [owner];
    for (const n of next) if (!seen.has(n)) work.push(n);
  }
  return seen;
}

/** Semantics 7: every live node (function, global, stub) is reachable from `roots`, and vice versa. */
function expectLiveIsReachable(heap: CodeHeap, roots: Iterable<string>, universe: readonly string[]): void {
  const reachable = reachableFrom(heap, roots, universe);
  const live: string[] = [];
  for (const name of universe) {
    const info = heap.node(name);
    if (info === undefined) continue;
    live.push(name);
    if (info.stub !== undefined) live.push(info.stub.name);
  }
  expect(live.sort(), 'live nodes = nodes reachable from handles and pins').toEqual([...reachable].sort());
  expect(heap.stats().nodes.total).toBe(reachable.size);
}

describe('collectCycles frees garbage cycles (semantics 6)', () => {
  test('a self-recursive function whose last handle goes is freed at once when that handle is its unit\'s (semantics 10)', () => {
    const heap = newHeap({ cycleThreshold: Infinity });
    const empty = heap.stats();
    const fib = heap.define({ functions: [{ name: 'fib', ...calls('fib', 'fib') }] }).get('fib');
    fib.free();
    heap.verify();
    expect(heap.node('fib')).toBeUndefined();
    expect(heap.stats()).toMatchObject({ candidates: 0, collections: 0, freedByCycles: { nodes: 1 }, freedByRc: { nodes: 0 }, usedBytes: empty.usedBytes });
  });

  test('a self-recursive function whose last handle goes is freed by the collector, not by counting, when that handle is not its unit\'s', () => {
    const heap = newHeap();
    const empty = heap.stats();
    const [fib] = detach(heap, heap.define({ functions: [{ name: 'fib', ...calls('fib', 'fib') }] })) as [Handle];
    heap.verify();
    expect(rcOf(heap, 'fib')).toBe(3); // two call sites on itself + the handle
    fib.free();
    heap.verify();
    expect(rcOf(heap, 'fib')).toBe(2);
    expect(heap.stats().candidates).toBe(1);

    const result = collect(heap);
    expect(result.freed).toBe(1);
    expect(heap.node('fib')).toBeUndefined();
    const stats = heap.stats();
    expect(stats.freedByCycles.nodes).toBe(1);
    expect(stats.freedByRc.nodes).toBe(0);
    expect(stats.usedBytes).toBe(empty.usedBytes);
  });

  test('mutual recursion: f <-> g, unreachable, is freed as one cycle', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'f', ...calls('g') }, { name: 'g', ...calls('f') }] });
    abandon(heap, unit);
    heap.verify();
    expect(rcOf(heap, 'f')).toBe(1);
    expect(rcOf(heap, 'g')).toBe(1);
    const result = collect(heap);
    expect(result.freed).toBe(2);
    expect(heap.node('f')).toBeUndefined();
    expect(heap.node('g')).toBeUndefined();
    expect(heap.stats().nodes.total).toBe(0);
  });

  test('a global and its method through the stub: vtable -> stub(method) -> method -> vtable is freed whole, stub included', () => {
    const heap = newHeap();
    const empty = heap.stats();
    const unit = heap.define({
      functions: [{ name: 'method', ...asm().leaRax('vtable').ret().build() }], // PC32 load of the vtable
      globals: [{ name: 'vtable', ...quads(16, [{ offset: 8, symbol: 'method' }]) }], // R_X86_64_64: &method
    });
    heap.verify();
    const stub = nodeOf(heap, 'method').stub;
    expect(stub).toBeDefined();
    expect(nodeOf(heap, 'vtable').references).toEqual([stub!.name]);
    expect(nodeOf(heap, 'method').references).toEqual(['vtable']);
    expect(stubTarget(heap, stub!.address)).toBe(unit.get('method').address);
    abandon(heap, unit);
    heap.verify();
    expect(heap.stats().nodes.total).toBe(3);

    const result = collect(heap);
    expect(result.freed).toBe(3); // method, vtable and stub(method)
    expect(heap.stats().nodes).toMatchObject({ total: 0, stubs: 0 });
    expect(heap.stats().usedBytes).toBe(empty.usedBytes);
  });

  test('only garbage goes: a live cycle next to a garbage one keeps exact counts', () => {
    const heap = newHeap();
    const live = heap.define({
      functions: [{ name: 'f', ...calls('g', 'g') }, { name: 'g', ...asm().call('f').leaRax('f').ret().build() }],
    });
    const dead = heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a', 'a') }] });
    live.get('g').free(); // g becomes a candidate too, but f's handle keeps both alive
    abandon(heap, dead);
    heap.verify();
    const counts = { f: rcOf(heap, 'f'), g: rcOf(heap, 'g'), stub: heap.stats().nodes.stubs };
    expect(counts).toEqual({ f: 3, g: 2, stub: 1 }); // f: handle + g's call + stub(f); g: f's two calls

    const result = collect(heap);
    expect(result.freed).toBe(2);
    expect(heap.node('a')).toBeUndefined();
    expect(heap.node('b')).toBeUndefined();
    expect({ f: rcOf(heap, 'f'), g: rcOf(heap, 'g'), stub: heap.stats().nodes.stubs }).toEqual(counts);
    // The survivors still work: a collection that only restores counts frees nothing more.
    expect(collect(heap).freed).toBe(0);
    expect({ f: rcOf(heap, 'f'), g: rcOf(heap, 'g') }).toEqual({ f: 3, g: 2 });
    expectLiveIsReachable(heap, ['f'], ['f', 'g', 'a', 'b']);
  });

  test('a cycle that owns an acyclic tail: the tail, held only by the garbage, goes in the same call and counts in freed', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [
        { name: 'a', ...calls('b') },
        { name: 'b', ...calls('a', 't1') },
        { name: 't1', ...asm().call('t2').leaRax('t2').ret().build() }, // a call and a pointer: stub(t2) too
        { name: 't2', ...asm().leaRax('data').ret().build() },
      ],
      globals: [{ name: 'data', size: 64 }],
    });
    abandon(heap, unit);
    heap.verify();
    expect(heap.stats().nodes.total).toBe(6);
    const result = collect(heap);
    expect(result.freed).toBe(6); // a, b, t1, t2, stub(t2), data
    expect(heap.stats().nodes.total).toBe(0);
    expect(heap.stats().freedByCycles.nodes).toBe(6);
  });

  test('a node pointing into a cycle is freed by counting when its handle goes; the cycle is left to the collector', () => {
    const heap = newHeap();
    const cycle = heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a') }] });
    const x = heap.define({ functions: [{ name: 'x', ...calls('a', 'b') }] }).get('x');
    abandon(heap, cycle);
    heap.verify();
    x.free();
    heap.verify();
    expect(heap.node('x')).toBeUndefined(); // at once, by counting
    expect(heap.stats().freedByRc.nodes).toBe(1);
    expect(rcOf(heap, 'a')).toBe(1);
    expect(rcOf(heap, 'b')).toBe(1);

    const result = collect(heap);
    expect(result.freed).toBe(2);
    const stats = heap.stats();
    expect(stats.freedByRc.nodes).toBe(1);
    expect(stats.freedByCycles.nodes).toBe(2);
    expect(stats.nodes.total).toBe(0);
  });

  test('a complete graph of four functions (each calls every one, itself included) is freed whole', () => {
    const heap = newHeap();
    const names = ['k0', 'k1', 'k2', 'k3'];
    const held = detach(heap, heap.define({ functions: names.map((name) => ({ name, ...calls(...names) })) }));
    heap.verify();
    for (const name of names) {
      expect(rcOf(heap, name)).toBe(5); // four callers + the handle
      expect(nodeOf(heap, name).referrers).toEqual(names);
    }
    expect(heap.stats().sites).toBe(16);
    held[0]!.free();
    held[1]!.free();
    held[2]!.free();
    expect(collect(heap).freed).toBe(0); // k3's handle still holds the whole graph
    for (const name of names) expect(rcOf(heap, name)).toBe(name === 'k3' ? 5 : 4);
    held[3]!.free();
    heap.verify();
    expect(collect(heap).freed).toBe(4);
    expect(heap.stats()).toMatchObject({ sites: 0, nodes: { total: 0 } });
  });

  test('a buffered candidate that reaches zero is reclaimed exactly once, and its name and id can be used again', () => {
    const freed: string[] = [];
    const heap = newHeap({ observer: { free: (e) => freed.push(`${e.name} by ${e.by}`) } });
    const unit = heap.define({ functions: [{ name: 'L', ...leaf() }, { name: 'f', ...calls('L', 'f') }] });
    const extra = heap.lookup('f');
    unit.get('f').free(); // 3 -> 2: buffered
    heap.verify();
    expect(heap.stats().candidates).toBe(1);
    heap.redefine(extra, calls('L')); // drops the self-call: 2 -> 1, still buffered once
    heap.verify();
    expect(heap.stats().candidates).toBe(1);
    extra.free(); // 1 -> 0 while buffered: reclaimed now, by counting
    heap.verify();
    expect(heap.node('f')).toBeUndefined();
    expect(freed).toEqual(['f by redefine', 'f by rc']);
    // Its entry was the buffer's last, so it went with it: acyclic garbage leaves nothing behind.
    expect(heap.stats().candidates).toBe(0);

    // A new f (and a cycle beside it) is created while the old one's id waits in the buffer.
    const again = heap.define({ functions: [{ name: 'f', ...calls('L', 'g') }, { name: 'g', ...calls('f') }] });
    heap.verify();
    again.get('g').free();
    heap.verify();
    const result = collect(heap);
    expect(result.freed).toBe(0); // the old f is not freed again; the new f and g are held
    expect(rcOf(heap, 'f')).toBe(2);
    expect(rcOf(heap, 'g')).toBe(1);
    expect(freed).toEqual(['f by redefine', 'f by rc']);
    let stats = heap.stats();
    expect(stats.freedByRc.nodes).toBe(1);
    expect(stats.freedByCycles.nodes).toBe(0);

    abandon(heap, again);
    abandon(heap, unit);
    heap.verify();
    expect(collect(heap).freed).toBe(3); // f <-> g, and L, which only the new f held
    stats = heap.stats();
    // Four nodes were ever created (L, f, f, g): each was reclaimed once.
    expect(stats.freedByRc.nodes + stats.freedByCycles.nodes).toBe(4);
    expect(stats.nodes.total).toBe(0);
    heap.define({ functions: [{ name: 'f', ...calls('f') }, { name: 'L', ...leaf() }] });
    heap.verify();
  });

  test('ids of candidates reclaimed while buffered are reused after the collection: unloading in a loop keeps bookkeeping flat', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'L', ...leaf() }] });
    const unloadOnce = (): void => {
      const unit = heap.define({ functions: [{ name: 'f', ...calls('L', 'f') }, { name: 'g', ...calls('g') }] });
      const extra = heap.lookup('f');
      abandon(heap, unit); // f and g buffered; g is garbage
      heap.redefine(extra, calls('L'));
      extra.free(); // f reclaimed by counting while buffered
      expect(collect(heap).freed).toBe(1); // g
    };
    unloadOnce();
    const metadata = heap.stats().metadata.bytes;
    for (let i = 0; i < 200; i++) unloadOnce();
    heap.verify();
    const stats = heap.stats();
    expect(stats.metadata.bytes, 'no node id is lost').toBe(metadata);
    expect(stats.freedByRc.nodes).toBe(201);
    expect(stats.freedByCycles.nodes).toBe(201);
  });

  test("a garbage cycle pointing at a live node: that node's count drops by exactly the garbage's sites", () => {
    const heap = newHeap();
    const live = heap.define({
      functions: [{ name: 'L', ...asm().leaRax('G').call('L').ret().build() }],
      globals: [{ name: 'G', size: 8 }],
    });
    const garbage = heap.define({
      functions: [
        { name: 'a', ...calls('b', 'L', 'L') }, // two call sites on L
        { name: 'b', ...asm().call('a').leaRax('L').ret().build() }, // a pointer to L: stub(L), held only by b
      ],
    });
    heap.lookup('L').free(); // L is a candidate of the same collection
    abandon(heap, garbage);
    heap.verify();
    const before = { L: rcOf(heap, 'L'), G: rcOf(heap, 'G') };
    expect(before).toEqual({ L: 5, G: 2 }); // L: handle + own call + a's two calls + stub(L)'s edge
    expect(nodeOf(heap, 'L').referrers).toEqual(['L', 'a', 'stub(L)']);

    const result = collect(heap);
    expect(result.freed).toBe(3); // a, b, stub(L)
    // The garbage's sites on L: a's two calls, and stub(L)'s edge (stub(L) was garbage too).
    expect(rcOf(heap, 'L')).toBe(before.L - 3);
    expect(rcOf(heap, 'G')).toBe(before.G);
    expect(nodeOf(heap, 'L').stub).toBeUndefined();
    expect(nodeOf(heap, 'L').referrers).toEqual(['L']);
    expectLiveIsReachable(heap, ['L', 'G'], ['L', 'G', 'a', 'b']);
    // A new pointer to L is a new stub, counted again.
    const p = heap.pointer(live.get('L'));
    heap.verify();
    expect(rcOf(heap, 'L')).toBe(before.L - 3 + 1);
    p.free();
    heap.verify();
  });

  test('ten thousand 2-cycles held by one global: one collectCycles frees all 30,000 nodes, stubs included', () => {
    const PAIRS = 10_000;
    const heap = newHeap({ codeSize: 2048 * KiB, dataSize: 1024 * KiB });
    const empty = heap.stats();
    const functions = [];
    const fields = [];
    for (let i = 0; i < PAIRS; i++) {
      functions.push({ name: `a${i}`, ...calls(`b${i}`) });
      functions.push({ name: `b${i}`, ...asm().leaRax(`a${i}`).call(`a${i}`).ret().build() }); // -> stub(a_i) and a_i
      fields.push({ offset: 8 * i, symbol: `a${i}` }); // the table holds &a_i: stub(a_i)
    }
    const held = detach(heap, heap.define({ functions, globals: [{ name: 'table', ...quads(8 * PAIRS, fields) }] }));
    const table = held.at(-1)!;
    for (const handle of held) if (handle !== table) handle.free();
    heap.verify();
    expect(heap.stats().nodes.total).toBe(3 * PAIRS + 1);
    expect(collect(heap).freed).toBe(0); // the table holds every pair
    expect(rcOf(heap, 'a0')).toBe(2); // b0's call + stub(a0)

    table.free(); // the table goes by counting; every stub drops to b_i's pointer
    heap.verify();
    expect(heap.node('table')).toBeUndefined();
    expect(heap.stats().nodes.total).toBe(3 * PAIRS);
    const candidates = heap.stats().candidates;
    const result = collect(heap);
    expect(result.freed).toBe(3 * PAIRS);
    expect(result.candidates).toBe(candidates);
    const stats = heap.stats();
    expect(stats.nodes.total).toBe(0);
    expect(stats.sites).toBe(0);
    expect(stats.freedByCycles.nodes).toBe(3 * PAIRS);
    expect(stats.freedByRc.nodes).toBe(1);
    expect(stats.usedBytes).toBe(empty.usedBytes);
    expect(stats.code).toMatchObject({ usedBlocks: 0, freeBlocks: 1 });
  });

  test('a lazy function held only by a garbage cycle goes with it, trampoline and stub included, and can be declared again', () => {
    const heap = newHeap({ compile: () => leaf() });
    const empty = heap.stats();
    const z = heap.declare('z');
    const unit = heap.define({
      functions: [
        { name: 'a', ...calls('b', 'z') }, // a call to z's trampoline
        { name: 'b', ...asm().call('a').leaRax('z').ret().build() }, // a pointer to z: stub(z)
      ],
    });
    heap.verify();
    expect(nodeOf(heap, 'z').state).toBe('lazy');
    expect(branchTarget(heap, nodeOf(heap, 'a').address + 5)).toBe(z.address);
    abandon(heap, unit);
    z.free();
    heap.verify();
    expect(collect(heap).freed).toBe(4); // a, b, z, stub(z)
    expect(heap.node('z')).toBeUndefined();
    expect(heap.stats().usedBytes).toBe(empty.usedBytes);
    const again = heap.declare('z');
    heap.materialize(again);
    heap.verify();
    expect(nodeOf(heap, 'z').state).toBe('live');
  });

  test('the stub of an external function, held only by a garbage cycle, goes with it', () => {
    const puts = 0x7fff_1234_5670; // out of rel32 reach: calls go through stub(extern puts)
    const heap = newHeap({ resolveExternal: (name) => (name === 'puts' ? puts : undefined) });
    const empty = heap.stats();
    abandon(heap, heap.define({ functions: [{ name: 'a', ...calls('b', 'puts') }, { name: 'b', ...calls('a', 'puts') }] }));
    heap.verify();
    expect(nodeOf(heap, 'a').references).toEqual(['b', 'stub(extern puts)']);
    expect(heap.stats().nodes.stubs).toBe(1);
    expect(collect(heap).freed).toBe(3); // a, b, stub(extern puts)
    expect(heap.stats().usedBytes).toBe(empty.usedBytes);
    // A new caller gets a new stub, whose slot holds the external's address.
    const g = heap.define({ functions: [{ name: 'g', ...calls('puts') }] }).get('g');
    heap.verify();
    expect(stubTarget(heap, branchTarget(heap, g.address))).toBe(puts);
  });

  test('a cycle broken by redefine before collection is freed by counting, not by the collector', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a') }] });
    unit.get('a').free(); // a is held only by b now
    heap.verify();
    heap.redefine(unit.get('b'), leaf()); // the back edge is gone: a reaches zero, at once
    heap.verify();
    expect(heap.node('a')).toBeUndefined();
    expect(rcOf(heap, 'b')).toBe(1);
    unit.get('b').free();
    heap.verify();
    expect(heap.stats().nodes.total).toBe(0);
    expect(collect(heap).freed).toBe(0);
    const stats = heap.stats();
    expect(stats.freedByRc.nodes).toBe(2);
    expect(stats.freedByCycles.nodes).toBe(0);
  });

  test('a cycle broken by evict before collection is freed by counting, not by the collector', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a') }] });
    unit.get('a').free();
    heap.verify();
    heap.evict(unit.get('b')); // b's outgoing sites are dropped: a reaches zero
    heap.verify();
    expect(heap.node('a')).toBeUndefined();
    expect(nodeOf(heap, 'b')).toMatchObject({ state: 'lazy', rc: 1, references: [] });
    unit.get('b').free();
    heap.verify();
    expect(heap.stats().nodes.total).toBe(0);
    expect(collect(heap).freed).toBe(0);
    const stats = heap.stats();
    expect(stats.freedByRc.nodes).toBe(2);
    expect(stats.freedByCycles.nodes).toBe(0);
  });
});

describe('leaves (nodes with no references of their own) are never traversed', () => {
  test('garbage calling a live leaf: the leaf is not visited, its count drops by exactly the garbage\'s calls', () => {
    const freedBy: string[] = [];
    const heap = newHeap({ observer: { free: (e) => freedBy.push(`${e.name} by ${e.by}`) } });
    const helper = heap.define({ functions: [{ name: 'helper', ...leaf() }] });
    abandon(heap, heap.define({
      functions: ['a', 'b', 'c'].map((name, i, ring) => ({ name, ...calls(ring[(i + 1) % 3]!, 'helper', 'helper') })),
    }));
    expect(rcOf(heap, 'helper')).toBe(7);
    const result = collect(heap);
    expect(result).toMatchObject({ freed: 3, visited: 3, candidates: 3 });
    expect(rcOf(heap, 'helper')).toBe(1);
    expect(freedBy).toEqual(['a by cycles', 'b by cycles', 'c by cycles']);
    abandon(heap, helper);
    heap.verify();
    expect(heap.stats().nodes.total).toBe(0);
  });

  test('a leaf only the garbage held goes with it, by the collector, visited and counted in freed', () => {
    const freedBy: string[] = [];
    const heap = newHeap({ observer: { free: (e) => freedBy.push(`${e.name} by ${e.by}`) } });
    // The table is a candidate still held by a handle, so scan runs: leaves are released on that path too.
    const unit = heap.define({
      functions: [{ name: 'a', ...calls('b', 'leafA') }, { name: 'b', ...asm().call('a').leaRax('leafB').ret().build() }, { name: 'leafA', ...leaf() }],
      globals: [{ name: 'leafB', size: 8 }, { name: 'table', ...quads(8, [{ offset: 0, symbol: 'leafB' }]) }],
    });
    const table = heap.lookup('table');
    abandon(heap, unit);
    const result = collect(heap);
    // Freed: a, b and leafA; leafB is held by the table. Visited: the three candidates, and leafA.
    expect(result).toMatchObject({ freed: 3, visited: 4 });
    expect(freedBy.sort()).toEqual(['a by cycles', 'b by cycles', 'leafA by cycles']);
    expect(rcOf(heap, 'leafB')).toBe(1);
    expect(heap.stats().freedByCycles.nodes).toBe(3);
    table.free();
    heap.verify();
    expect(heap.stats().nodes.total).toBe(0);
    expect(heap.stats().freedByRc.nodes).toBe(2); // table, then leafB
  });

  test('a live cycle that calls a leaf, beside garbage that calls it too: scan restores the cycle, the leaf keeps its exact count', () => {
    const heap = newHeap();
    const live = heap.define({ functions: [{ name: 'p', ...calls('q', 'L') }, { name: 'q', ...calls('p', 'L') }, { name: 'L', ...leaf() }] });
    const p = heap.lookup('p');
    abandon(heap, live);
    abandon(heap, heap.define({ functions: [{ name: 'x', ...calls('y', 'L') }, { name: 'y', ...calls('x', 'L') }] }));
    expect(rcOf(heap, 'L')).toBe(4);
    const result = collect(heap);
    expect(result.freed).toBe(2);
    expect(rcOf(heap, 'L')).toBe(2);
    expect(rcOf(heap, 'p')).toBe(2);
    p.free();
    expect(collect(heap).freed).toBe(3);
    expect(heap.stats().nodes.total).toBe(0);
  });

  test('a candidate that lost every reference of its own since it was buffered leaves the buffer', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'f', ...calls('g') }, { name: 'g', ...calls('f') }] });
    const f = heap.lookup('f');
    unit.get('f').free(); // f: 2 -> 1... held by f's handle and g's call
    unit.get('g').free(); // g: held only by f's call now, buffered
    heap.redefine(f, leaf()); // f's call to g goes: g reaches zero, and g's call to f goes with it
    heap.verify();
    expect(heap.node('g')).toBeUndefined();
    // f (now a leaf); the dead g's entry was the buffer's last, so it went with g.
    expect(heap.stats().candidates).toBe(1);
    const result = collect(heap);
    expect(result).toMatchObject({ freed: 0, visited: 0 });
    expect(rcOf(heap, 'f')).toBe(1);
    f.free();
    heap.verify();
    expect(heap.stats().nodes.total).toBe(0);
  });
});

describe('the collection result (types.ts CollectionResult)', () => {
  test('freed counts nodes only the garbage held; bytes matches usedBytes; candidates is the buffer at the start, dead entries included', () => {
    const heap = newHeap();
    const empty = heap.stats();
    abandon(heap, heap.define({
      functions: [
        { name: 'c1', ...asm().call('c2').leaRax('ext').ret().build() },
        { name: 'c2', ...asm().call('c1').call('tail').ret().build() },
        { name: 'tail', ...asm().leaRax('buf').ret().build() },
        { name: 'ext', ...leaf() },
      ],
      globals: [{ name: 'buf', size: 100 }],
    }));
    const held = heap.define({ functions: [{ name: 'h', ...calls('h', 'c1') }] });
    const gone = heap.define({ functions: [{ name: 'd', ...calls('d') }] }).get('d');
    const extra = heap.lookup('d');
    gone.free();
    heap.redefine(extra, leaf());
    heap.lookup('h').free(); // a live candidate, buffered after d
    extra.free(); // d was buffered, then reclaimed by counting: a dead entry in the buffer (not its last)
    heap.verify();
    const before = heap.stats();
    expect(before.candidates).toBe(5); // c1, c2, tail, d (dead), h; ext and buf are green

    expect(collect(heap).freed).toBe(0); // h holds c1 and all it reaches
    abandon(heap, held);
    heap.verify();
    const usedBefore = heap.stats().usedBytes;
    const result = collect(heap);
    // h, c1, c2, and what only they held: tail, buf, ext and stub(ext).
    expect(result.freed).toBe(7);
    expect(result.bytes).toBe(usedBefore - empty.usedBytes);
    expect(result.bytes).toBeGreaterThan(100);
    expect(result.candidates).toBe(1);
    expect(result.visited).toBeGreaterThanOrEqual(7);
    expect(heap.stats().nodes.total).toBe(0);
  });
});

describe('completeness (semantics 7): after collectCycles the live nodes are exactly those reachable from handles and pins', () => {
  /** A small, fast, seeded PRNG (mulberry32), so a failing seed can be replayed. */
  function random(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const MODULES = 4;
  const FUNCTIONS = 8;
  const GLOBALS = 2;

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    test(`a random heap of calls, pointers, globals, recompiles, evictions, handles, pointer handles and pins (seed ${seed})`, () => {
      const rand = random(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
      // An evicted function comes back with a new random body, referring to anything defined.
      const heap = newHeap({ compile: () => body(functionsUpTo, globalsUpTo) });
      const universe: string[] = [];
      const functionsUpTo: string[] = [];
      const globalsUpTo: string[] = [];

      /** A body referring to random symbols from `functions` and `globals`. */
      const body = (functions: readonly string[], globals: readonly string[]): Emitted => {
        const a = asm();
        const refs = Math.floor(rand() * 4);
        for (let r = 0; r < refs; r++) {
          const roll = rand();
          if (roll < 0.5) a.call(pick(functions));
          else if (roll < 0.75 || globals.length === 0) a.leaRax(pick(functions));
          else a.leaRax(pick(globals));
        }
        return a.ret().build();
      };
      const data = (functions: readonly string[], globals: readonly string[]) => {
        const fields: { offset: number; symbol: string; via?: 'body' }[] = [];
        for (let offset = 0; offset < 32; offset += 8) {
          const roll = rand();
          if (roll < 0.3) fields.push({ offset, symbol: pick(functions) }); // &f: stub(f)
          else if (roll < 0.4) fields.push({ offset, symbol: pick(functions), via: 'body' }); // f's body itself
          else if (roll < 0.6 && globals.length > 0) fields.push({ offset, symbol: pick(globals) });
        }
        return quads(32, fields);
      };

      // Modules refer to themselves and to earlier modules, so each can be defined in turn.
      const handles = [];
      for (let m = 0; m < MODULES; m++) {
        const fnames = Array.from({ length: FUNCTIONS }, (_, i) => `m${m}f${i}`);
        const gnames = Array.from({ length: GLOBALS }, (_, i) => `m${m}g${i}`);
        functionsUpTo.push(...fnames);
        globalsUpTo.push(...gnames);
        universe.push(...fnames, ...gnames);
        const unit = heap.define({
          functions: fnames.map((name) => ({ name, ...body(functionsUpTo, globalsUpTo) })),
          globals: gnames.map((name) => ({ name, ...data(functionsUpTo, globalsUpTo) })),
        });
        heap.verify();
        handles.push(...unit.handles());
      }
      // Recompiles may refer to any module: cycles across modules. Evictions break some cycles,
      // and some evicted functions are compiled again.
      for (const h of handles) {
        if (h.kind !== 'function') continue;
        const roll = rand();
        if (roll < 0.4) heap.redefine(h, body(functionsUpTo, globalsUpTo));
        else if (roll < 0.55) heap.evict(h);
        else if (roll < 0.6) {
          heap.evict(h);
          heap.verify();
          heap.materialize(h);
        }
        heap.verify();
      }
      // Roots: some handles, some pointer handles, some pins; everything else is let go.
      const roots = new Map<string, () => void>();
      let n = 0;
      for (const h of handles) {
        const roll = rand();
        if (roll < 0.1) {
          roots.set(`${h.name}#${n++}`, () => h.free());
          continue;
        }
        if (h.kind === 'function' && roll < 0.18) {
          const pointer = heap.pointer(h);
          roots.set(`${nodeOf(heap, h.name).stub!.name}#${n++}`, () => pointer.free());
        } else if (h.kind === 'function' && roll < 0.25) {
          const pin = heap.pin(h);
          roots.set(`${h.name}#${n++}`, () => pin.release());
        }
        h.free();
        heap.verify();
      }
      const rootNames = () => [...roots.keys()].map((key) => key.slice(0, key.lastIndexOf('#')));

      // Before a collection: everything reachable is alive (safety); garbage may linger.
      expect(reachableFrom(heap, rootNames(), universe).size).toBeLessThanOrEqual(heap.stats().nodes.total);
      collect(heap);
      expectLiveIsReachable(heap, rootNames(), universe);

      // Let roots go a few at a time, collecting after each batch.
      const order = [...roots.keys()].sort(() => rand() - 0.5);
      while (order.length > 0) {
        for (const key of order.splice(0, 3)) {
          roots.get(key)!();
          roots.delete(key);
          heap.verify();
        }
        collect(heap);
        expectLiveIsReachable(heap, rootNames(), universe);
      }
      const stats = heap.stats();
      expect(stats.nodes.total).toBe(0);
      expect(stats.freedByCycles.nodes, 'the seed made garbage cycles for the collector').toBeGreaterThan(0);
    });
  }
});

describe('pins are roots (semantics 8)', () => {
  test('a pinned function in a garbage cycle is not collected until its pin is released', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a') }] });
    const pin = heap.pin(unit.get('a'));
    abandon(heap, unit);
    heap.verify();
    expect(collect(heap).freed).toBe(0);
    expect(rcOf(heap, 'a')).toBe(2); // b's call + the pin
    expect(rcOf(heap, 'b')).toBe(1);
    expectLiveIsReachable(heap, ['a'], ['a', 'b']);

    pin.release();
    heap.verify();
    expect(collect(heap).freed).toBe(2);
    expect(heap.stats().nodes.total).toBe(0);
  });

  test('a retired body keeps its targets alive until its last pin goes; then a collection frees the cycle only it held', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [
        { name: 'f', ...calls('c1') },
        { name: 'c1', ...calls('c2') },
        { name: 'c2', ...calls('c1') },
      ],
    });
    const f = unit.get('f');
    const oldBody = f.address;
    const pin = heap.pin(f); // code may be running in f's current body, on two threads
    const pin2 = heap.pin(f);
    heap.redefine(f, leaf()); // the old body is retired, with its call to c1
    heap.verify();
    expect(heap.stats().nodes.retired).toBe(1);
    expect(nodeOf(heap, 'f').references).toEqual([]);
    unit.get('c1').free();
    unit.get('c2').free();
    pin2.release(); // the retired body drops to one count: a candidate, and live
    heap.verify();
    expect(heap.stats().candidates).toBe(3);

    expect(collect(heap).freed).toBe(0); // the retired body (pinned) still calls c1
    expect(rcOf(heap, 'c1')).toBe(2); // c2's call + the retired body's call
    expect(branchTarget(heap, oldBody)).toBe(nodeOf(heap, 'c1').address);
    expect(heap.stats().nodes.retired).toBe(1);

    pin.release(); // the retired body goes by counting; c1 drops to c2's call
    heap.verify();
    expect(heap.stats().nodes.retired).toBe(0);
    expect(rcOf(heap, 'c1')).toBe(1);
    expect(collect(heap).freed).toBe(2);
    expect(heap.node('c1')).toBeUndefined();
    expect(heap.node('c2')).toBeUndefined();
    expect(rcOf(heap, 'f')).toBe(1);
    expectLiveIsReachable(heap, ['f'], ['f', 'c1', 'c2']);
  });
});

describe('re-entrancy and observers', () => {

  test('observers see the collect event with the result, after the collection freed its garbage', () => {
    const seen: { type: string; name?: string; by?: string; result?: CollectionResult }[] = [];
    let heap!: CodeHeap;
    const observer: Observer = {
      free: (e) => seen.push({ type: 'free', name: e.name, by: e.by }),
      collect: (e) => {
        heap.verify(); // consistent when the event arrives
        expect(heap.node('a')).toBeUndefined();
        seen.push({ type: 'collect', result: e });
      },
    };
    heap = newHeap({ observer });
    abandon(heap, heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a') }] }));
    seen.length = 0;
    const result = heap.collectCycles();
    heap.verify();
    const collects = seen.filter((e) => e.type === 'collect');
    expect(collects).toEqual([{ type: 'collect', result }]);
    expect(result.freed).toBe(2);
    const frees = seen.filter((e) => e.type === 'free');
    expect(frees.map((e) => `${e.name} by ${e.by}`).sort()).toEqual(['a by cycles', 'b by cycles']);
  });

  test("REENTRANT_CALL: collectCycles() from a collect observer reaches the observer's error method; the outer collection returns its result", () => {
    let armed = true;
    let heap!: CodeHeap;
    const errors: unknown[] = [];
    heap = newHeap({
      observer: {
        collect: () => {
          if (!armed) return;
          armed = false;
          heap.collectCycles();
        },
        error: (error) => errors.push(error),
      },
    });
    abandon(heap, heap.define({ functions: [{ name: 'a', ...calls('b') }, { name: 'b', ...calls('a') }] }));
    expect(heap.collectCycles().freed).toBe(2);
    expect(errors).toEqual([expect.objectContaining({ code: 'REENTRANT_CALL' })]);
    heap.verify();
    // The outer collection itself completed; the heap is usable again.
    expect(heap.node('a')).toBeUndefined();
    expect(heap.stats()).toMatchObject({ collections: 1, candidates: 0, nodes: { total: 0 } });
    abandon(heap, heap.define({ functions: [{ name: 'a', ...calls('a') }] }));
    expect(collect(heap).freed).toBe(1);
  });

  test("REENTRANT_CALL: define() from a collect observer reaches the observer's error method; the outer collection returns its result", () => {
    let armed = true;
    let heap!: CodeHeap;
    const errors: unknown[] = [];
    heap = newHeap({
      observer: {
        collect: () => {
          if (!armed) return;
          armed = false;
          heap.define({ functions: [{ name: 'sneaky', ...leaf() }] });
        },
        error: (error) => errors.push(error),
      },
    });
    abandon(heap, heap.define({ functions: [{ name: 'a', ...calls('a') }] }));
    expect(heap.collectCycles().freed).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ code: 'REENTRANT_CALL' })]);
    heap.verify();
    expect(heap.node('sneaky')).toBeUndefined();
    expect(heap.node('a')).toBeUndefined();
    heap.define({ functions: [{ name: 'sneaky', ...leaf() }] });
    heap.verify();
  });
});
