// The laws of DESIGN.md "Semantics (the contract)" and "Edge cases, settled", one test each,
// through the public API only. Every step is followed by heap.verify(), and every claim about a
// reference is checked on the bytes (decoded with heap.read), not only on what node() reports.
//
// Stub-specific laws (call vs pointer, one stub per function, external stubs) are in
// stubs.test.ts; the cycle collector's laws are in regressions-examples.test.ts.

import { describe, expect, test } from 'vitest';
import { CodeHeap, CodeHeapError, DEFAULT_CODE_ADDRESS, type CodeHeapOptions, type Relocation } from '../src/index.js';
import {
  asm, branchTarget, decodedTarget, image, isTrampoline, nodeOf, quads, readI32, readU32, readU64, sameBytes,
  stubOf, stubTarget, type Emitted,
} from './helpers/x86.js';
import { KiB, leaf, newHeap } from './helpers/heaps.js';

function fn(name: string, emitted: Emitted, extra: { align?: number } = {}) {
  return { name, ...emitted, ...extra };
}

function rcOf(heap: CodeHeap, name: string): number {
  return nodeOf(heap, name).rc;
}

describe('semantics', () => {
  test('counting: rc = sites + handles + pins (+1 while the stub exists)', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [
        fn('g', leaf()),
        fn('f', asm().call('g').call('g').ret().build()), // two call sites on g
        fn('h', asm().leaRax('g').ret().build()), // a pointer reference: h -> stub(g) -> g
      ],
    });
    heap.verify();
    // 2 call sites from f + 1 stub edge + the unit's handle.
    expect(rcOf(heap, 'g')).toBe(4);
    expect(nodeOf(heap, 'g').referrers).toEqual(['f', 'stub(g)']);
    const pointer = heap.pointer(unit.get('g'));
    heap.verify();
    // stub(g): h's lea + the pointer handle. g is unchanged: the stub existed already.
    expect(heap.node(pointer)!.rc).toBe(2);
    expect(rcOf(heap, 'g')).toBe(4);

    const extra = heap.lookup('g');
    heap.verify();
    expect(rcOf(heap, 'g')).toBe(5);
    const pin = heap.pin(extra);
    heap.verify();
    expect(rcOf(heap, 'g')).toBe(6);
    pin.release();
    heap.verify();
    expect(rcOf(heap, 'g')).toBe(5);
    extra.free();
    heap.verify();
    expect(rcOf(heap, 'g')).toBe(4);

    unit.get('f').free(); // f goes, and with it its two sites on g
    heap.verify();
    expect(heap.node('f')).toBeUndefined();
    expect(rcOf(heap, 'g')).toBe(2);
    unit.get('h').free(); // stub(g) keeps one count: the pointer handle
    heap.verify();
    expect(heap.node(pointer)!.rc).toBe(1);
    expect(rcOf(heap, 'g')).toBe(2);
    pointer.free(); // the stub goes, and with it its edge to g
    heap.verify();
    expect(nodeOf(heap, 'g').stub).toBeUndefined();
    expect(rcOf(heap, 'g')).toBe(1);
    expect(heap.stats().nodes.stubs).toBe(0);
  });

  test('explicit free is a no-op on live things; freeing twice does nothing; no dangling reference', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [fn('g', leaf()), fn('f', asm().call('g').ret().build())] });
    const g = unit.get('g');
    const address = g.address;
    const body = heap.read(address, 4);
    heap.verify();

    g.free();
    heap.verify();
    // Still referenced by f: alive, same place, same bytes, and f's call still lands on it.
    expect(nodeOf(heap, 'g')).toMatchObject({ state: 'live', address, rc: 1 });
    expect(heap.read(address, 4)).toEqual(body);
    expect(branchTarget(heap, unit.get('f').address)).toBe(address);
    expect(g.freed).toBe(true);

    const before = image(heap);
    g.free(); // the same handle again: nothing
    heap.free(g);
    g[Symbol.dispose]();
    heap.verify();
    const after = image(heap);
    expect(after.stats).toEqual(before.stats);
    expect(sameBytes(after.code, before.code)).toBe(true);
    expect(() => g.address).toThrow(CodeHeapError);

    unit.get('f').free(); // the last reference: both go, nothing dangles
    heap.verify();
    expect(heap.node('f')).toBeUndefined();
    expect(heap.node('g')).toBeUndefined();
    expect(heap.stats().nodes.total).toBe(0);
    expect(heap.stats().code.usedBytes).toBe(0);
  });

  test('acyclic garbage is reclaimed at once, cascading', () => {
    const heap = newHeap();
    const empty = heap.stats();
    const unit = heap.define({
      functions: [
        fn('a', asm().call('b').ret().build()),
        fn('b', asm().call('c').ret().build()),
        fn('c', asm().leaRax('counter').ret().build()),
      ],
      globals: [{ name: 'counter', size: 8 }],
    });
    for (const name of ['b', 'c', 'counter']) {
      unit.get(name).free();
      heap.verify();
      expect(heap.node(name)).toBeDefined(); // still held by its referrer
    }
    unit.get('a').free();
    heap.verify();
    for (const name of ['a', 'b', 'c', 'counter']) expect(heap.node(name)).toBeUndefined();
    const stats = heap.stats();
    expect(stats.nodes.total).toBe(0);
    expect(stats.freedByRc.nodes).toBe(4);
    expect(stats.freedByCycles.nodes).toBe(0);
    expect(stats.code.usedBytes).toBe(empty.code.usedBytes);
    expect(stats.data.usedBytes).toBe(empty.data.usedBytes);
    expect(stats.code.freeBlocks).toBe(1);
    expect(stats.sites).toBe(0);
  });

  test("evict backpatches callers and the stub to the trampoline and drops f's outgoing sites", () => {
    const heap = newHeap();
    const caller = asm().call('f').nop().call('f').ret().build();
    const unit = heap.define({
      functions: [
        fn('helper', leaf()),
        fn('f', asm().call('helper').ret().build()),
        fn('caller', caller),
      ],
      globals: [{ name: 'vtable', ...quads(8, [{ offset: 0, symbol: 'f' }]) }],
    });
    unit.get('helper').free(); // helper is held by f's body only
    const pointer = stubOf(heap, 'f');
    const body = unit.get('f').address;
    const patches = heap.stats().patches;
    heap.verify();

    heap.evict(unit.get('f'));
    heap.verify();
    const f = nodeOf(heap, 'f');
    expect(f.state).toBe('lazy');
    expect(f.size).toBe(0);
    expect(f.address).not.toBe(body);
    expect(isTrampoline(heap, f.address)).toBe(true);
    const callerAddress = unit.get('caller').address;
    for (const r of caller.relocations) expect(decodedTarget(heap, callerAddress, r)).toBe(f.address);
    expect(readU64(heap, unit.get('vtable').address)).toBe(pointer); // the pointer value is stable
    expect(stubOf(heap, 'f')).toBe(pointer);
    expect(stubTarget(heap, pointer)).toBe(f.address); // ...and the stub now reaches the trampoline
    expect(heap.stats().patches).toBe(patches + 3);
    // f's outgoing site went with its body, so helper lost its only count.
    expect(f.references).toEqual([]);
    expect(heap.node('helper')).toBeUndefined();
  });

  test("evict breaks a cycle's counts: f <-> g are freed once f's outgoing site is dropped", () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [fn('f', asm().call('g').ret().build()), fn('g', asm().call('f').ret().build())],
    });
    unit.get('g').free();
    heap.verify();
    expect(rcOf(heap, 'g')).toBe(1);
    expect(rcOf(heap, 'f')).toBe(2);

    heap.evict(unit.get('f'));
    heap.verify();
    expect(heap.node('g')).toBeUndefined(); // g's only count was f's call
    expect(nodeOf(heap, 'f')).toMatchObject({ state: 'lazy', rc: 1, referrers: [] });
    unit.get('f').free();
    heap.verify();
    const stats = heap.stats();
    expect(stats.nodes.total).toBe(0);
    expect(stats.code.usedBytes).toBe(0); // the trampoline went with f
  });

  test('materialize runs the per-function or default compile callback and backpatches everything to the new body', () => {
    const calls: string[] = [];
    const compiled = leaf(7);
    const heap = newHeap({
      compile: (name) => {
        calls.push(`default:${name}`);
        return compiled;
      },
    });
    const own = heap.declare('own', (name, api) => {
      calls.push(`own:${name}`);
      expect(api).toBe(heap);
      return compiled;
    });
    const shared = heap.declare('shared');
    const caller = asm().call('own').call('shared').ret().build();
    const unit = heap.define({
      functions: [fn('caller', caller)],
      globals: [{ name: 'table', ...quads(16, [{ offset: 0, symbol: 'own' }, { offset: 8, symbol: 'shared' }]) }],
    });
    const table = unit.get('table').address;
    const pointers = [readU64(heap, table), readU64(heap, table + 8)];
    heap.verify();
    expect(calls).toEqual([]);

    for (const [handle, index] of [[own, 0], [shared, 1]] as const) {
      const trampoline = handle.address;
      heap.materialize(handle);
      heap.verify();
      const info = nodeOf(heap, handle.name);
      expect(info.state).toBe('live');
      expect(info.address).not.toBe(trampoline);
      expect(heap.read(info.address, compiled.code.length)).toEqual(compiled.code);
      expect(decodedTarget(heap, unit.get('caller').address, caller.relocations[index]!)).toBe(info.address);
      expect(readU64(heap, table + 8 * index)).toBe(pointers[index]);
      expect(stubTarget(heap, pointers[index]!)).toBe(info.address);
    }
    expect(calls).toEqual(['own:own', 'default:shared']);

    // A defined function's own `compile` recompiles it after an evict.
    const defined = heap.define({
      functions: [{ name: 'hot', ...leaf(), compile: (name) => (calls.push(`hot:${name}`), leaf(9)) }],
    }).get('hot');
    heap.evict(defined);
    heap.materialize(defined);
    heap.verify();
    expect(calls.at(-1)).toBe('hot:hot');
    expect(heap.read(defined.address, 4)).toEqual(leaf(9).code.subarray(0, 4));
  });

  test('redefine counts new targets before dropping old ones and backpatches every call site and the stub', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [
        fn('kept', leaf(1)),
        fn('dropped', leaf(2)),
        fn('added', leaf(3)),
        fn('f', asm().call('kept').call('dropped').ret().build()),
        fn('caller', asm().call('f').ret().build()),
      ],
      globals: [{ name: 'vtable', ...quads(8, [{ offset: 0, symbol: 'f' }]) }],
    });
    unit.get('kept').free(); // kept and dropped are held by f's body only
    unit.get('dropped').free();
    const kept = nodeOf(heap, 'kept');
    const pointer = stubOf(heap, 'f');
    const old = unit.get('f').address;
    heap.verify();
    expect(kept.rc).toBe(1);

    const next = asm().call('kept').call('added').nop(32).ret().build();
    heap.redefine(unit.get('f'), next);
    heap.verify();
    // kept is in both bodies: with a single count it would have gone to zero if the old body's
    // sites were dropped first. It survives in place with its one count.
    expect(nodeOf(heap, 'kept')).toMatchObject({ address: kept.address, rc: 1 });
    expect(heap.node('dropped')).toBeUndefined();
    expect(rcOf(heap, 'added')).toBe(2); // its handle + the new body's call
    const f = nodeOf(heap, 'f');
    expect(f.address).not.toBe(old);
    expect(f.references).toEqual(['kept', 'added']);
    for (const r of next.relocations) expect(decodedTarget(heap, f.address, r)).toBe(nodeOf(heap, r.symbol).address);
    expect(branchTarget(heap, unit.get('caller').address)).toBe(f.address);
    expect(readU64(heap, unit.get('vtable').address)).toBe(pointer);
    expect(stubTarget(heap, pointer)).toBe(f.address);
  });

  test('redefine of a recursive function points its own calls at the new body', () => {
    const heap = newHeap();
    const f = heap.define({ functions: [fn('f', asm().call('f').ret().build())] }).get('f');
    heap.redefine(f, asm().nop(16).call('f').ret().build());
    heap.verify();
    expect(branchTarget(heap, f.address + 16)).toBe(f.address);
    expect(nodeOf(heap, 'f').rc).toBe(2); // the handle + its own call
  });

  test('pins: a body replaced while pinned is retired, not reused, and keeps its references until the last pin goes', () => {
    // A code arena of 4096 bytes: two 2048-byte bodies fill it, so "not reused" is exact.
    const heap = newHeap({ codeSize: 4096 });
    const oldBody = asm().leaRax('counter').nop(2048 - 8).ret().build();
    const unit = heap.define({ functions: [fn('f', oldBody)], globals: [{ name: 'counter', size: 8 }] });
    unit.get('counter').free(); // held by the old body only
    const f = unit.get('f');
    const old = f.address;
    const first = heap.pin(f);
    const second = heap.pin(f);
    heap.verify();

    heap.redefine(f, asm().nop(2047).ret().build());
    heap.verify();
    let stats = heap.stats();
    expect(stats.nodes.retired).toBe(1);
    expect(stats.code.usedBytes).toBe(4096);
    expect(f.address).not.toBe(old);
    // The retired body's bytes are intact, and its reference still reaches counter.
    const counter = nodeOf(heap, 'counter');
    expect(counter.rc).toBe(1);
    expect(decodedTarget(heap, old, oldBody.relocations[0]!)).toBe(counter.address);
    expect(oldBody.code.length).toBe(2048);
    expect(heap.read(old, 3)).toEqual(oldBody.code.subarray(0, 3));
    expect(heap.read(old + 7, 2041)).toEqual(oldBody.code.subarray(7));
    // Not reused: nothing else fits while the old body is retired.
    expect(() => heap.define({ functions: [fn('filler', asm().nop(2047).ret().build())] }))
      .toThrow(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
    heap.verify();

    first.release();
    heap.verify();
    expect(heap.stats().nodes.retired).toBe(1); // one pin still holds it
    expect(heap.node('counter')).toBeDefined();
    first.release(); // releasing twice does nothing
    heap.verify();
    expect(heap.stats().nodes.retired).toBe(1);

    second.release();
    heap.verify();
    stats = heap.stats();
    expect(stats.nodes.retired).toBe(0);
    expect(stats.code.usedBytes).toBe(2048);
    expect(heap.node('counter')).toBeUndefined(); // the retired body's reference went with it
    // Reusable: the next allocation of that size lands exactly where the old body was.
    const filler = heap.define({ functions: [fn('filler', asm().nop(2047).ret().build())] }).get('filler');
    heap.verify();
    expect(filler.address).toBe(old);
  });

  test('pins: a pin counts like a handle, and an evicted pinned body is retired too', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [fn('g', leaf()), fn('f', asm().call('g').ret().build())],
    });
    unit.get('g').free();
    const f = unit.get('f');
    const old = f.address;
    const pin = heap.pin(f);
    f.free(); // only the pin holds f now
    heap.verify();
    expect(rcOf(heap, 'f')).toBe(1);

    const f2 = heap.lookup('f');
    heap.evict(f2);
    heap.verify();
    expect(heap.stats().nodes.retired).toBe(1);
    // The retired body still calls g, and that call is backpatched when g moves.
    const g = heap.lookup('g');
    heap.redefine(g, asm().nop(40).leaRaxRdiPlus(1).ret().build());
    heap.verify();
    expect(branchTarget(heap, old)).toBe(g.address);
    g.free();
    f2.free();
    heap.verify();
    expect(nodeOf(heap, 'f').state).toBe('lazy');

    pin.release();
    heap.verify();
    const stats = heap.stats();
    expect(stats.nodes.total).toBe(0);
    expect(stats.nodes.retired).toBe(0);
    expect(stats.code.usedBytes).toBe(0);
  });

  test("safety: every site's bytes encode the target's current address", () => {
    const far = 0x7fff_0000_1000;
    const heap = newHeap({ resolveExternal: (name) => (name === 'puts' ? far : name === 'near' ? 0x5000_0000 : undefined) });
    // Every relocation we hand in, by source name: the oracle decodes each from the bytes.
    const linked = new Map<string, readonly Relocation[]>();
    const expectedTarget = (r: Relocation): number => {
      if (r.symbol === 'puts') return far;
      if (r.symbol === 'near') return 0x5000_0000;
      const target = nodeOf(heap, r.symbol);
      if (target.kind === 'global') return target.address;
      const body = r.via === undefined ? r.type === 'R_X86_64_PLT32' : r.via === 'body';
      return body ? target.address : stubOf(heap, r.symbol);
    };
    const check = (): void => {
      heap.verify();
      for (const [source, relocations] of linked) {
        const info = nodeOf(heap, source);
        if (info.state === 'lazy') continue;
        for (const r of relocations) {
          const S = decodedTarget(heap, info.address, r);
          if (r.symbol === 'puts' && r.type === 'R_X86_64_PLT32') expect(stubTarget(heap, S)).toBe(far);
          else expect(S, `${source}+${r.offset} -> ${r.symbol}`).toBe(expectedTarget(r));
        }
      }
    };
    const f = asm().call('g').jmp('g').leaRax('g').movRax('g').movEax('data', { addend: 4 }).movRaxS('data')
      .call('puts').call('near').leaRax('g', { via: 'body' }).ret().build();
    // Body references to the entry, by every type: they follow every move. (References into the
    // middle of a body are interior references, which evict and redefine refuse to leave behind:
    // test/interior.test.ts.)
    const g = asm().call('f').movRax('f', { via: 'body' }).ret().build();
    const data = quads(24, [{ offset: 0, symbol: 'f' }, { offset: 8, symbol: 'g', via: 'body' }, { offset: 16, symbol: 'data' }]);
    const unit = heap.define({ functions: [fn('f', f), fn('g', g)], globals: [{ name: 'data', ...data }] });
    linked.set('f', f.relocations).set('g', g.relocations).set('data', data.relocations);
    check();

    const g2 = asm().nop(100).call('f').leaRax('data').ret().build();
    heap.redefine(unit.get('g'), g2);
    linked.set('g', g2.relocations);
    check();
    heap.evict(unit.get('f'));
    check();
    heap.evict(unit.get('g'));
    check();
    heap.redefine(unit.get('f'), f); // a lazy function can be redefined directly
    check();
    const g3 = asm().call('g').call('f', { via: 'stub' }).ret().build();
    heap.redefine(unit.get('g'), g3);
    linked.set('g', g3.relocations);
    check();
    const hCode = asm().call('f').movRax('g').ret().build();
    const h = heap.define({ functions: [fn('h', hCode)] });
    linked.set('h', hCode.relocations);
    check();
    unit.get('f').free();
    h.get('h').free();
    linked.delete('h');
    check();
  });

  test('relocation math: R_X86_64_64 = S + A, PC32/PLT32 = S + A - P, 32 zero-extended, 32S sign-extended', () => {
    const high = 0xf000_1000; // >= 2^31: fits R_X86_64_32, not R_X86_64_32S
    const heap = newHeap({ resolveExternal: (name) => ({ high, zero: 0 } as Record<string, number>)[name] });
    const code = asm()
      .movRax('table', { addend: 8 }) // +2
      .leaRax('table', { addend: -4 }) // +13
      .call('g') // +18
      .movEax('high') // +23
      .movRaxS('zero', { addend: -16 }) // +30
      .movRax('zero', { addend: -1 }) // +36
      .ret().build();
    const unit = heap.define({
      functions: [fn('g', leaf()), fn('f', code)],
      globals: [{ name: 'table', size: 32 }],
    });
    heap.verify();
    const f = unit.get('f').address;
    const g = unit.get('g').address;
    const table = unit.get('table').address;
    expect(readU64(heap, f + 2)).toBe(table + 8);
    expect(readI32(heap, f + 13)).toBe(table - 4 - (f + 13));
    expect(readI32(heap, f + 18)).toBe(g - 4 - (f + 18));
    expect(heap.read(f + 23, 4)).toEqual(Uint8Array.of(0x00, 0x10, 0x00, 0xf0)); // 0xf0001000, zero-extended
    expect(readU32(heap, f + 23)).toBe(high);
    expect(heap.read(f + 30, 4)).toEqual(Uint8Array.of(0xf0, 0xff, 0xff, 0xff)); // -16, sign-extended
    expect(heap.read(f + 36, 8)).toEqual(new Uint8Array(8).fill(0xff)); // -1 as two's complement
    // The same values do not fit the other 32-bit form.
    for (const [type, symbol, addend] of [['R_X86_64_32S', 'high', 0], ['R_X86_64_32', 'zero', -16]] as const) {
      const bad = { code: new Uint8Array(8), relocations: [{ offset: 0, type, symbol, addend }] };
      expect(() => heap.define({ functions: [fn('bad', bad)] })).toThrow(expect.objectContaining({ code: 'RELOCATION_OUT_OF_RANGE' }));
      heap.verify();
    }
  });

  test('cycles: a node decremented to a non-zero count becomes a candidate unless it has no outgoing references', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [
        { name: 'leaf', ...leaf() },
        { name: 'mid', ...asm().call('leaf').ret().build() },
        { name: 'top', ...asm().call('mid').call('leaf').ret().build() },
      ],
    });
    unit.get('leaf').free(); // 3 -> 2: green (no outgoing references), never buffered
    heap.verify();
    expect(heap.stats().candidates).toBe(0);
    unit.get('mid').free(); // 2 -> 1: it references leaf, so it may be on a cycle
    heap.verify();
    expect(heap.stats().candidates).toBe(1);
  });

  test('cycles: a candidate whose count reaches zero while buffered is reclaimed exactly once', () => {
    const freed: string[] = [];
    const heap = newHeap({ observer: { free: (e) => freed.push(e.name) } });
    const unit = heap.define({
      functions: [
        { name: 'g', ...leaf() },
        { name: 'f', ...asm().call('g').ret().build() },
        { name: 'top', ...asm().call('f').ret().build() },
      ],
    });
    unit.get('f').free(); // f becomes a candidate
    expect(heap.stats().candidates).toBe(1);
    unit.get('g').free();
    unit.get('top').free(); // top goes, then f (while buffered), then g
    heap.verify();
    expect(heap.node('f')).toBeUndefined();
    expect(freed).toEqual(['top', 'f', 'g']);
    const result = heap.collectCycles();
    heap.verify();
    expect(result.freed).toBe(0); // f was already reclaimed by counting, not again
    const stats = heap.stats();
    expect(stats.candidates).toBe(0);
    expect(stats.freedByRc.nodes).toBe(3);
    expect(stats.freedByCycles.nodes).toBe(0);
    expect(freed).toEqual(['top', 'f', 'g']);
    // The id f held is reusable now: a new node can be created and verified.
    heap.define({ functions: [{ name: 'f', ...leaf() }] });
    heap.verify();
  });

  test("unit.get returns the unit's own handle: the same object on every call, holding define's one count", () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [fn('f', leaf())], globals: [{ name: 'v', size: 8 }] });
    expect(unit.get('f')).toBe(unit.get('f'));
    expect(rcOf(heap, 'f')).toBe(1);
    expect(unit.names).toEqual(['f', 'v']);
    unit.free();
    heap.verify();
    expect(unit.get('f').freed).toBe(true);
    expect(heap.stats().nodes.total).toBe(0);
  });

  test('placement: default codeAddress 0x4000_0000, dataAddress right after code', () => {
    const heap = newHeap({ codeSize: 8 * KiB });
    const stats = heap.stats();
    expect(DEFAULT_CODE_ADDRESS).toBe(0x4000_0000);
    expect(stats.code.address).toBe(0x4000_0000);
    expect(stats.data.address).toBe(0x4000_0000 + 8 * KiB);
    const unit = heap.define({ functions: [fn('f', leaf())], globals: [{ name: 'g', size: 8 }] });
    expect(unit.get('f').address).toBeGreaterThanOrEqual(0x4000_0000);
    expect(unit.get('g').address).toBeGreaterThanOrEqual(0x4000_0000 + 8 * KiB);
    const custom = newHeap({ codeAddress: 0x10_0000, dataAddress: 0x20_0000 });
    expect([custom.stats().code.address, custom.stats().data.address]).toEqual([0x10_0000, 0x20_0000]);
  });
});

describe('edge cases, settled', () => {
  test('lookup finds functions and globals only', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [fn('f', leaf())], globals: [{ name: 'v', size: 8 }] });
    const stub = heap.pointer(unit.get('f'));
    expect(heap.lookup('f').kind).toBe('function');
    expect(heap.lookup('v').kind).toBe('global');
    expect(stub.name).toBe('stub(f)');
    expect(() => heap.lookup('stub(f)')).toThrow(expect.objectContaining({ code: 'UNDEFINED_SYMBOL' }));
    expect(heap.node('stub(f)')).toBeUndefined();
    expect(heap.node(stub)!.kind).toBe('stub');
    heap.verify();
  });

  test('evict of a lazy function and materialize of a live one do nothing', () => {
    let compiles = 0;
    const heap = newHeap({ compile: () => (compiles++, leaf()) });
    const lazy = heap.declare('lazy');
    const live = heap.define({ functions: [fn('live', leaf())] }).get('live');
    heap.pointer(lazy);
    const before = image(heap);
    heap.evict(lazy);
    heap.materialize(live);
    heap.verify();
    const after = image(heap);
    expect(after.stats).toEqual(before.stats);
    expect(sameBytes(after.code, before.code) && sameBytes(after.data, before.data)).toBe(true);
    expect(compiles).toBe(0);
  });

  test('a compile callback that throws or returns a non-definition leaves the function lazy and the heap unchanged', () => {
    const failure = new Error('the compiler gave up');
    const results: unknown[] = [failure, undefined, 42, { code: 'c3' }, { code: new Uint8Array(0) },
      { code: Uint8Array.of(0xe8, 0, 0, 0, 0), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'nowhere', addend: -4 }] }];
    let next: unknown;
    const heap = newHeap({
      compile: () => {
        if (next === failure) throw failure;
        return next as ReturnType<NonNullable<CodeHeapOptions['compile']>>;
      },
    });
    const f = heap.declare('f');
    heap.define({ functions: [fn('caller', asm().call('f').ret().build())] });
    heap.pointer(f);
    const before = image(heap);
    for (const result of results) {
      next = result;
      let caught: unknown;
      try {
        heap.materialize(f);
      } catch (error) {
        caught = error;
      }
      if (result === failure) expect(caught).toBe(failure); // the callback's own error reaches the caller
      else expect(caught).toBeInstanceOf(CodeHeapError);
      heap.verify();
      expect(nodeOf(heap, 'f').state).toBe('lazy');
      const after = image(heap);
      expect(after.stats).toEqual(before.stats);
      expect(sameBytes(after.code, before.code) && sameBytes(after.data, before.data)).toBe(true);
    }
    next = leaf();
    heap.materialize(f); // and it compiles once the callback succeeds
    heap.verify();
    expect(nodeOf(heap, 'f').state).toBe('live');
  });

  test('alignment up to 4096 is honoured', () => {
    const heap = newHeap();
    const aligns = [1, 2, 4, 8, 16, 64, 256, 4096];
    const unit = heap.define({
      functions: aligns.map((align) => fn(`f${align}`, leaf(), { align })),
      globals: aligns.map((align) => ({ name: `g${align}`, size: 3, align })),
    });
    heap.verify();
    for (const align of aligns) {
      expect(unit.get(`f${align}`).address % align).toBe(0);
      expect(unit.get(`g${align}`).address % align).toBe(0);
    }
    // Defaults: 16 for functions, 8 for globals.
    const defaults = heap.define({ functions: [fn('d', asm().ret().build())], globals: [{ name: 'dv', size: 1 }] });
    expect(defaults.get('d').address % 16).toBe(0);
    expect(defaults.get('dv').address % 8).toBe(0);
    heap.redefine(unit.get('f1'), { ...leaf(), align: 4096 });
    heap.verify();
    expect(unit.get('f1').address % 4096).toBe(0);
  });

  test('block metadata lives outside the arenas: a unit exactly filling the arena fits', () => {
    const heap = newHeap({ codeSize: 4096, dataSize: 4096 });
    const empty = heap.stats();
    expect(empty.code.usedBytes).toBe(0);
    const code = asm().nop(4095).ret().build().code;
    const unit = heap.define({
      functions: [{ name: 'big', code }],
      globals: [{ name: 'rest', size: empty.data.freeBytes }],
    });
    heap.verify();
    const stats = heap.stats();
    expect(unit.get('big').address).toBe(empty.code.address);
    expect([stats.code.freeBytes, stats.data.freeBytes, stats.largestFreeBlock]).toEqual([0, 0, 0]);
    expect(heap.read(empty.code.address, 4096)).toEqual(code);
    unit.free();
    heap.verify();
    expect(heap.stats().code).toEqual(empty.code);
  });

  test('a function gets its reentry trampoline only while it is lazy', () => {
    const heap = newHeap();
    const body = asm().nop(31).ret().build(); // 32 bytes
    const f = heap.define({ functions: [{ name: 'f', ...body, compile: () => body }] }).get('f');
    const used = (): number => heap.stats().code.usedBytes;
    expect(used()).toBe(32);
    heap.evict(f);
    heap.verify();
    expect(used()).toBe(8); // the trampoline only
    heap.materialize(f);
    heap.verify();
    expect(used()).toBe(32); // the trampoline is gone again
    const lazy = heap.declare('lazy');
    expect(used()).toBe(40);
    lazy.free();
    heap.verify();
    expect(used()).toBe(32);
  });

  test('DUPLICATE_SYMBOL only for live names: a name whose node was freed can be defined again', () => {
    const heap = newHeap();
    const first = heap.define({ functions: [fn('f', leaf(1))], globals: [{ name: 'v', size: 8 }] });
    first.free();
    heap.verify();
    const second = heap.define({ functions: [fn('f', leaf(2))], globals: [{ name: 'v', size: 8 }] });
    heap.verify();
    expect(nodeOf(heap, 'f').address).toBe(second.get('f').address);

    const user = heap.define({ functions: [fn('user', asm().call('f').ret().build())] });
    second.get('f').free(); // f is still referenced by user: the name stays taken
    expect(() => heap.define({ functions: [fn('f', leaf(3))] })).toThrow(expect.objectContaining({ code: 'DUPLICATE_SYMBOL' }));
    expect(() => heap.declare('f')).toThrow(expect.objectContaining({ code: 'DUPLICATE_SYMBOL' }));
    heap.verify();
    user.free();
    heap.verify();
    heap.declare('f'); // now f's node is gone and the name is free
    heap.verify();
  });
});
