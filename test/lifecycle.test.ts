// A JIT's life with the heap, written the way a JIT would drive it: emit x86-64 with the test
// assembler, define a module, recompile a hot function, evict a cold one, let the compile callback
// bring it back, unload. After every step the bytes are decoded with heap.read: each call site
// must land on the current body (or the trampoline while lazy) and the vtable's function pointer
// must never change (DESIGN semantics 2, 4, 5 and 7).

import { abandon } from './helpers/heaps.js';
import { expect, test } from 'vitest';
import { CodeHeap } from '../src/index.js';
import { asm, branchTarget, isTrampoline, nodeOf, quads, readU64, stubTarget, type Emitted } from './helpers/x86.js';

/** fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2), recursive, System V. */
function fib(padding = 0): Emitted {
  return asm()
    .nop(padding)
    .cmpRdi(2).jl('base')
    .push('rbx').push('rbp')
    .movRbxRdi()
    .leaRdiRbxPlus(-1).call('fib')
    .movRbpRax()
    .leaRdiRbxPlus(-2).call('fib')
    .addRaxRbp()
    .pop('rbp').pop('rbx')
    .ret()
    .label('base').movRaxRdi().ret()
    .build();
}

/** add1(x) = x + 1; `version` pads the body so each recompile is recognisably different. */
function add1(version: number): Emitted {
  return asm().nop(16 * version).leaRaxRdiPlus(1).ret().build();
}

/** twice(x) = add1(add1(x)): two call sites on add1. */
const twice = asm().call('add1').movRdiRax().call('add1').ret().build();

test('lifecycle: redefine, evict and materialize keep every call site and the vtable pointer on the current add1', () => {
  const compiled: string[] = [];
  const heap = new CodeHeap({
    arch: 'x86_64', codeSize: 64 * 1024, dataSize: 4096, cycleThreshold: Infinity,
    compile: (name) => {
      compiled.push(name);
      return add1(3);
    },
  });
  const module = heap.define({
    functions: [
      { name: 'fib', ...fib() },
      { name: 'add1', ...add1(0) },
      { name: 'twice', ...twice },
    ],
    globals: [{ name: 'vtable', ...quads(16, [{ offset: 0, symbol: 'add1' }, { offset: 8, symbol: 'fib' }]) }],
  });
  heap.verify();
  const vtable = module.get('vtable').address;
  const add1Pointer = readU64(heap, vtable);
  const fibPointer = readU64(heap, vtable + 8);
  const twiceAt = module.get('twice').address;
  const callSites = [twiceAt, twiceAt + 8]; // call add1; mov rdi, rax; call add1

  /** Every reference to add1 reaches `target`; the vtable still holds the same pointers. */
  const expectAdd1At = (target: number): void => {
    heap.verify();
    for (const site of callSites) expect(branchTarget(heap, site)).toBe(target);
    expect(readU64(heap, vtable)).toBe(add1Pointer);
    expect(readU64(heap, vtable + 8)).toBe(fibPointer);
    expect(stubTarget(heap, add1Pointer)).toBe(target);
    expect(nodeOf(heap, 'add1').stub?.address).toBe(add1Pointer);
  };

  // fib's two recursive calls are at +15 and +27 (after cmp, jl, push, push, mov, lea).
  const fibAt = module.get('fib').address;
  expect(branchTarget(heap, fibAt + 15)).toBe(fibAt);
  expect(branchTarget(heap, fibAt + 27)).toBe(fibAt);
  expect(stubTarget(heap, fibPointer)).toBe(fibAt);
  expect(nodeOf(heap, 'add1')).toMatchObject({ rc: 4, referrers: ['stub(add1)', 'twice'] });
  expectAdd1At(module.get('add1').address);
  const firstBody = module.get('add1').address;

  // Recompile add1 (a hot function got a better body).
  heap.redefine(module.get('add1'), add1(1));
  const second = module.get('add1').address;
  expect(second).not.toBe(firstBody);
  expect(heap.read(second, add1(1).code.length)).toEqual(add1(1).code);
  expectAdd1At(second);

  // Recompile fib: its own recursive calls follow it.
  heap.redefine(module.get('fib'), fib(32));
  const fib2 = module.get('fib').address;
  expect(branchTarget(heap, fib2 + 32 + 15)).toBe(fib2);
  expect(branchTarget(heap, fib2 + 32 + 27)).toBe(fib2);
  expect(stubTarget(heap, fibPointer)).toBe(fib2);

  // Evict add1 (cold): references reach its reentry trampoline.
  const used = heap.stats().code.usedBytes;
  heap.evict(module.get('add1'));
  const trampoline = module.get('add1').address;
  expect(isTrampoline(heap, trampoline)).toBe(true);
  expect(nodeOf(heap, 'add1')).toMatchObject({ state: 'lazy', address: trampoline });
  expectAdd1At(trampoline);
  expect(heap.stats().code.usedBytes).toBeLessThan(used);
  expect(compiled).toEqual([]);

  // A call through the trampoline: the compile callback brings add1 back and everything follows.
  heap.materialize(module.get('add1'));
  expect(compiled).toEqual(['add1']);
  const third = module.get('add1').address;
  expect(nodeOf(heap, 'add1').state).toBe('live');
  expect(heap.read(third, add1(3).code.length)).toEqual(add1(3).code);
  expectAdd1At(third);
  // Two call sites and one stub slot per move: redefine, evict, materialize; for fib only its
  // stub slot (its old body's two calls to itself go with that body, so they are not rewritten).
  expect(heap.stats().patches).toBe(3 * 3 + 1);

  // Unload: everything goes by counting except fib, which calls itself (a cycle, left to the
  // collector, which this heap never runs by itself).
  abandon(heap, module);
  heap.verify();
  expect(heap.stats().nodes.total).toBe(1);
  expect(nodeOf(heap, 'fib')).toMatchObject({ rc: 2, referrers: ['fib'] });
});

test('lifecycle: unloading a module returns every byte once the JIT drops its pointers', () => {
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * 1024, dataSize: 4096, cycleThreshold: Infinity });
  const empty = heap.stats();
  const module = heap.define({
    functions: [{ name: 'fib', ...fib() }, { name: 'add1', ...add1(0) }, { name: 'twice', ...twice }],
    globals: [{ name: 'vtable', ...quads(16, [{ offset: 0, symbol: 'add1' }, { offset: 8, symbol: 'fib' }]) }],
  });
  const entry = heap.pointer(module.get('twice')); // an address handed to the host
  heap.redefine(module.get('add1'), add1(2));
  heap.evict(module.get('add1'));
  abandon(heap, module);
  heap.verify();
  // fib calls itself, so it is a cycle: counting alone cannot free it. Everything else went,
  // except twice, which the host's pointer still holds (and twice holds lazy add1).
  expect(heap.node('vtable')).toBeUndefined();
  expect(nodeOf(heap, 'twice').rc).toBe(1);
  expect(nodeOf(heap, 'add1').state).toBe('lazy');
  entry.free();
  heap.verify();
  expect(heap.node('twice')).toBeUndefined();
  expect(heap.node('add1')).toBeUndefined();
  const stats = heap.stats();
  expect(stats.nodes.total).toBe(1); // fib's self-cycle, until a collection
  expect(stats.nodes.stubs).toBe(0);
  expect(stats.code.usedBytes).toBe(nodeOf(heap, 'fib').size);
  expect(stats.data.usedBytes).toBe(empty.data.usedBytes);
});
