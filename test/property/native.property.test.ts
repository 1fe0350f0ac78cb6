// Model-based suite on native memory: the machine code itself checks the heap's backpatching.
//
// A family of functions f0 .. f7. Each body is either a constant (f(x) = x + k) or a call through
// to an earlier function (f(x) = g(x) + k, g = f_j with j < i, by a direct call: a body reference
// that backpatching must keep right). Random redefines (a new k or a new callee), evicts (the
// next call compiles the function again through its trampoline, from the model's current
// definition), calls of any function, a function-pointer table called through, and
// collectCycles. The naive model is a table of (k, callee) per function, evaluated by
// recursion; after every step the CPU's answer must equal the model's, and verify() must pass.
// Then the same lifecycle, step by step, on native memory and in an executor process at once,
// the executor crashed (EXECUTOR_LOST) and respawned, or replaced, between steps.

import { test, fc } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { CodeHeap, type FunctionBody, type Handle, type Memory } from '../../src/index.js';
import { isNativeAvailable, nativeMemory } from '../../src/native/index.js';
import { spawnExecutor } from '../../src/executor/index.js';
import { expectCode } from '../helpers/errors.js';
import { asm } from '../helpers/x86.js';

const FUNCTIONS = 8;
const name = (i: number): string => `f${i}`;

/** The model: f_i(x) = (callee === -1 ? x : f_callee(x)) + k. */
interface Definition {
  k: number;
  callee: number;
}

function evaluate(model: readonly Definition[], i: number, x: bigint): bigint {
  let result = x;
  const chain: number[] = [];
  for (let f = i; f !== -1; f = model[f]!.callee) chain.push(f);
  for (const f of chain) result += BigInt(model[f]!.k);
  return result;
}

function body(d: Definition): FunctionBody {
  if (d.callee === -1) return asm().leaRaxRdiPlus(d.k).ret().build();
  // sub rsp, 8; call callee; add rax, k; add rsp, 8; ret
  return asm().subRsp8().call(name(d.callee)).addRax(d.k).addRsp8().ret().build();
}

type Command =
  | { op: 'call'; f: number; x: number }
  | { op: 'callTable'; f: number; x: number }
  | { op: 'redefine'; f: number; k: number; callee: number }
  | { op: 'evict'; f: number }
  | { op: 'collect' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('call' as const), f: fc.nat(FUNCTIONS - 1), x: fc.integer({ min: -1000, max: 1000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('callTable' as const), f: fc.nat(FUNCTIONS - 1), x: fc.integer({ min: -1000, max: 1000 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('redefine' as const), f: fc.nat(FUNCTIONS - 1), k: fc.integer({ min: -100, max: 100 }), callee: fc.integer({ min: -1, max: FUNCTIONS - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('evict' as const), f: fc.nat(FUNCTIONS - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('collect' as const) }) },
);

const native = isNativeAvailable();

/**
 * The family in a heap on `memory`, kept to the model: `apply` runs a command on it and checks
 * what the model says; `check` that every function is callable and the pointers never moved.
 */
class Family {
  readonly model: Definition[] = Array.from({ length: FUNCTIONS }, (_, i) => ({ k: i + 1, callee: i - 1 }));
  readonly compiles = new Array<number>(FUNCTIONS).fill(0);
  readonly heap: CodeHeap;
  readonly handles: Handle[];
  readonly via: Handle[];
  readonly pointers: number[];

  constructor(memory: Memory) {
    this.heap = new CodeHeap({
      arch: 'x86_64', codeSize: 16 * 1024, dataSize: 4 * 1024, cycleThreshold: Infinity, memory,
      compile: (fn) => {
        const i = Number(fn.slice(1));
        this.compiles[i]!++;
        return body(this.model[i]!);
      },
    });
    const { heap, model } = this;
    // table[i] = &f_i, a function pointer (f_i's stub); via_i(x) tail-jumps through table[i].
    const unit = heap.define({
      functions: [
        ...model.map((d, i) => ({ name: name(i), ...body(d) })),
        ...model.map((_, i) => ({ name: `via${i}`, ...asm().jmpThrough('table', { addend: 8 * i - 4 }).build() })),
      ],
      globals: [{
        name: 'table', data: new Uint8Array(8 * FUNCTIONS),
        relocations: model.map((_, i) => ({ offset: 8 * i, type: 'R_X86_64_64' as const, symbol: name(i) })),
      }],
    });
    this.handles = model.map((_, i) => unit.get(name(i)));
    this.via = model.map((_, i) => unit.get(`via${i}`));
    this.pointers = model.map((_, i) => heap.node(name(i))!.stub!.address);
  }

  apply(c: Command): void {
    const { heap, model, handles, via, compiles } = this;
    switch (c.op) {
      case 'call':
        expect(heap.call(handles[c.f]!, c.x)).toBe(evaluate(model, c.f, BigInt(c.x)));
        break;
      case 'callTable':
        expect(heap.call(via[c.f]!, c.x)).toBe(evaluate(model, c.f, BigInt(c.x)));
        break;
      case 'redefine': {
        // Only earlier functions may be called (no recursion in the family).
        const d = { k: c.k, callee: c.callee < c.f ? c.callee : -1 };
        heap.redefine(handles[c.f]!, body(d));
        model[c.f] = d;
        break;
      }
      case 'evict': {
        const before = compiles[c.f]!;
        heap.evict(handles[c.f]!);
        expect(heap.node(name(c.f))!.state).toBe('lazy');
        expect(compiles[c.f]).toBe(before);
        break;
      }
      case 'collect':
        heap.collectCycles();
        break;
    }
    heap.verify();
    // Function pointers never change, whatever happened to the bodies.
    model.forEach((_, i) => expect(heap.node(name(i))!.stub!.address).toBe(this.pointers[i]));
  }

  /** Everything is callable at the end, each lazy function compiled exactly once more. */
  checkAll(): void {
    const { heap, model, handles, compiles } = this;
    const lazy = model.map((_, i) => heap.node(name(i))!.state === 'lazy');
    const before = [...compiles];
    for (let i = 0; i < FUNCTIONS; i++) expect(heap.call(handles[i]!, 5)).toBe(evaluate(model, i, 5n));
    model.forEach((_, i) => expect(compiles[i]! - before[i]!).toBe(lazy[i] ? 1 : 0));
    heap.verify();
  }
}

describe.skipIf(!native.available)('native memory, model-based', () => {
  test.prop([fc.array(command, { minLength: 1, maxLength: 60 })], { numRuns: 60 })(
    'every call, direct or through a function pointer, returns what the model computes, after every redefine and evict',
    (commands) => {
      const family = new Family(nativeMemory());
      for (const c of commands) family.apply(c);
      family.checkAll();
      family.heap.close();
    },
  );

  test.prop([fc.array(fc.oneof({ weight: 12, arbitrary: command }, { weight: 1, arbitrary: fc.constantFrom('crash' as const, 'respawn' as const) }), { minLength: 1, maxLength: 60 })], { numRuns: 60 })(
    'the same lifecycle on native memory and in an executor, step by step in turn, with the executor crashed or replaced on the way: every result the model\'s',
    (steps) => {
      const executor = spawnExecutor();
      const families = [new Family(nativeMemory()), new Family(executor)] as const;
      const remote = families[1];
      // A function that faults, in the executor's heap only: the crash of a step.
      remote.heap.define({ functions: [{ name: 'crash', code: Uint8Array.from([0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0xc3]) }] });
      for (const step of steps) {
        if (step === 'crash') {
          expectCode(() => remote.heap.call(remote.heap.lookup('crash')), 'EXECUTOR_LOST');
          expectCode(() => remote.heap.call(remote.handles[0]!, 1), 'EXECUTOR_LOST');
          remote.heap.verify();
          executor.respawn();
        } else if (step === 'respawn') {
          executor.respawn();
        } else {
          for (const family of families) family.apply(step);
        }
      }
      for (const family of families) family.checkAll();
      for (const family of families) family.heap.close();
      expect(executor.alive).toBe(false);
    },
  );
});
