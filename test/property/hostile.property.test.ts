// Hostile callers: every public call, fed values built to break a library that trusts its input.
//
// Law (DESIGN, "Every public call leaves the heap consistent even when it throws: validate first,
// then mutate"; README, Errors): whatever a caller passes, in any argument position or nested
// field, each public call either works or throws a CodeHeapError with a code; verify() passes after
// it; after a call that threw the heap is exactly as it was. The values (hostile.values.ts) are
// getters that answer differently on every read or throw, Proxies and revoked Proxies,
// null-prototype objects, Symbols, BigInts, functions, huge, negative and non-integer numbers,
// strings for numbers, detached and resizable buffers, lying Uint8Array subclasses, other typed
// arrays, handles of another heap, freed handles and forged ones. The laws of one call are in
// hostile.harness.ts (step); the calls in hostile.commands.ts.

import { spawnSync } from 'node:child_process';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  arrayBufferMemory, CodeHeap, CodeHeapError, Handle, Pin, type ArenaLayout, type CodeHeapOptions, type ErrorCode,
} from '../../src/index.js';
import { detach, resizableBuffer, type Channel } from './hostile.values.js';
import { recipeArb } from './hostile.arbitraries.js';
import { CODE_ADDRESS, CODE_BYTES, CODE_SIZE, DATA_SIZE, optionsSlot, resolveDefault } from './hostile.slots.js';
import { step, World } from './hostile.harness.js';
import { commandArb, constructAndUse, runCommand, runConstruction } from './hostile.commands.js';

test.prop([fc.array(commandArb, { minLength: 1, maxLength: 8 })], { numRuns: 1000 })(
  'every public call fed hostile values returns or throws a CodeHeapError, verify() passes, and a call that throws changes nothing',
  (commands) => {
    const world = new World();
    for (const command of commands) runCommand(world, command);
  },
);

// new CodeHeap(options), then a small workload through the callbacks and memory the options gave.
test.prop([recipeArb(optionsSlot)], { numRuns: 500 })(
  'new CodeHeap(hostile options) throws a CodeHeapError or makes a heap whose calls, through the callbacks and memory the options gave, keep every law',
  (recipe) => runConstruction(recipe),
);

// ---- one readable example per failure class ----

const code16 = (): Uint8Array => Uint8Array.from(CODE_BYTES);
const callExt = [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'ext', addend: -4 }] as const;
const revoked = <T extends object>(target: T): T => {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
};

/** The call must throw a CodeHeapError with one of these codes and change nothing (step's laws). */
function expectRefused(world: World, what: string, call: () => unknown, codes: readonly ErrorCode[] = ['INVALID_ARGUMENT']): void {
  step(world, what, call, { mustThrow: true, codes });
}

/** A value that answers `first` on its first `n` reads and `later` after. */
function readsThen<T>(n: number, first: () => T, later: () => T): { get: () => T } {
  let reads = 0;
  return { get: () => (reads++ < n ? first() : later()) };
}

describe('messages name a caller\'s value without converting it', () => {
  test('a null-prototype name gets INVALID_ARGUMENT from define and declare; lookup, unit.get and node refuse it with a code', () => {
    const world = new World();
    const name = Object.create(null) as string;
    expectRefused(world, 'define', () => world.heap.define({ functions: [{ name, code: code16() }] }));
    expectRefused(world, 'declare', () => world.heap.declare(name));
    expectRefused(world, 'lookup', () => world.heap.lookup(name), ['INVALID_ARGUMENT', 'UNDEFINED_SYMBOL']);
    expectRefused(world, 'unit.get', () => world.units[0]!.get(name), ['INVALID_ARGUMENT', 'UNDEFINED_SYMBOL']);
    step(world, 'node', () => world.heap.node(name), { readOnly: true, codes: ['INVALID_ARGUMENT'] });
  });

  test('a null-prototype object, a Symbol, a Proxy of a Uint8Array or a revoked proxy where a number goes gets INVALID_ARGUMENT', () => {
    const world = new World();
    for (const value of [Object.create(null), Symbol('n'), new Proxy(new Uint8Array(4), {}), revoked({})] as unknown[]) {
      const n = value as number;
      expectRefused(world, 'read', () => world.heap.read(n, 16));
      expectRefused(world, 'define (align)', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), align: n }] }));
      expectRefused(world, 'define (size)', () => world.heap.define({ globals: [{ name: 'n0', size: n }] }));
      expect(() => new CodeHeap({ arch: 'x86_64', codeSize: n, dataSize: 4096 })).toThrow(CodeHeapError);
      expect(() => new CodeHeap({ arch: 'x86_64', codeSize: 4096, dataSize: 4096, codeAddress: n })).toThrow(CodeHeapError);
    }
  });

  test('a value whose Symbol.toPrimitive throws is refused without being coerced', () => {
    const world = new World();
    const value = { [Symbol.toPrimitive]: () => expect.fail('the library coerced a caller\'s value') } as unknown as number;
    expectRefused(world, 'read', () => world.heap.read(value, 16));
    expectRefused(world, 'define (align)', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), align: value }] }));
  });

  test('a handle-shaped object that is not a Handle (null prototype, forged kind) is refused with INVALID_ARGUMENT', () => {
    const world = new World();
    const nullProto = Object.create(null) as Handle;
    const forged = Object.assign(Object.create(Handle.prototype) as Handle, { kind: Symbol('kind') });
    for (const h of [nullProto, forged]) {
      expectRefused(world, 'free', () => world.heap.free(h));
      expectRefused(world, 'pointer', () => world.heap.pointer(h));
      expectRefused(world, 'materialize', () => world.heap.materialize(h));
    }
  });
});

describe('revoked proxies, proxies of typed arrays and lying arrays', () => {
  test('a revoked proxy as the unit, its functions or a relocation list gets INVALID_ARGUMENT', () => {
    const world = new World();
    expectRefused(world, 'define (unit)', () => world.heap.define(revoked({})));
    expectRefused(world, 'define (functions)', () => world.heap.define({ functions: revoked([]) }));
    expectRefused(world, 'define (relocations)', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations: revoked([]) }] }));
    expectRefused(world, 'new CodeHeap', () => new CodeHeap(revoked({}) as never));
  });

  test('a Proxy of a Uint8Array, or an object that only inherits from Uint8Array.prototype, as code is refused or copied, never a TypeError', () => {
    const world = new World();
    step(world, 'define (Proxy of a Uint8Array)', () => world.heap.define({ functions: [{ name: 'n0', code: new Proxy(code16(), {}) }] }));
    expectRefused(world, 'define (inherits only)', () => world.heap.define({ functions: [{ name: 'n1', code: Object.create(Uint8Array.prototype) as Uint8Array }] }));
  });

  test('a relocation list whose species makes frozen arrays is read as a list or refused', () => {
    class Frozen extends Array<unknown> {
      static override get [Symbol.species](): ArrayConstructor {
        return function frozen() { return Object.freeze([]); } as unknown as ArrayConstructor;
      }
    }
    const relocations = new Frozen();
    relocations.push({ offset: 1, type: 'R_X86_64_PLT32', symbol: 'g', addend: -4 });
    const world = new World();
    step(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations: relocations as never }] }));
  });

  test('a relocation list that claims 2**32 entries gets INVALID_ARGUMENT', () => {
    const relocations = new Proxy([], { get: (target, key) => (key === 'length' ? 2 ** 32 : Reflect.get(target, key) as unknown) });
    const world = new World();
    expectRefused(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations }] }));
  });

  test('a relocation list with a hole gets INVALID_ARGUMENT', () => {
    const world = new World();
    const hole: never[] = [];
    hole.length = 1;
    const sparse = [, { offset: 1, type: 'R_X86_64_PLT32', symbol: 'g', addend: -4 }] as never[];
    expectRefused(world, 'define (a hole)', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations: hole }] }));
    expectRefused(world, 'redefine (a hole first)', () => world.heap.redefine(world.named('f'), { code: code16(), relocations: sparse }));
  });

  test('a relocation list truncated by one of its own getters while it is planned is refused or linked, never a TypeError', () => {
    const relocations: object[] = [];
    relocations.push(
      { get offset() { relocations.length = 0; return 1; }, type: 'R_X86_64_PLT32', symbol: 'g', addend: -4 },
      { offset: 7, type: 'R_X86_64_64', symbol: 'v' },
    );
    const world = new World();
    step(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations: relocations as never }] }));
  });
});

describe('a value read twice is the value checked', () => {
  /** target with a code getter that answers 64 bytes on read `long` and 16 on every other. */
  const growingCode = <T extends object>(target: T, long: number): T & { readonly code: Uint8Array } => {
    let reads = 0;
    return Object.defineProperty(target, 'code', { get: () => (++reads === long ? new Uint8Array(64).fill(0xee) : code16()) }) as T & { readonly code: Uint8Array };
  };

  test('a code view whose length grows between validation and copy cannot write past its block', () => {
    // Today define reads code four times: the third read is copied, into a block the fourth sizes.
    for (let long = 1; long <= 6; long++) {
      const world = new World();
      step(world, `define (read ${long} is long)`, () => world.heap.define({ functions: [growingCode({ name: 'n0' }, long)] }));
    }
  });

  test('a compile callback\'s body is read once: a code getter that grows cannot write past the block', () => {
    // Today materialize reads it five times: the fourth is copied, the fifth sizes the block.
    for (let long = 1; long <= 6; long++) {
      const world = new World();
      world.compile = () => growingCode({}, long);
      step(world, `materialize (read ${long} is long)`, () => world.heap.materialize(world.named('lazy')));
    }
  });

  test('a name that reads "n0" when checked and "" afterwards does not make a node named ""', () => {
    const name = readsThen(1, () => 'n0', () => '');
    const world = new World();
    step(world, 'define', () => world.heap.define({ functions: [Object.defineProperty({ code: code16() }, 'name', name) as never] }));
  });

  test('a relocation offset in bounds when checked and out of bounds afterwards cannot put a site outside its node', () => {
    const offset = readsThen(3, () => 1, () => 14);
    const relocation = Object.defineProperty({ type: 'R_X86_64_PLT32', symbol: 'g', addend: -4 }, 'offset', offset);
    const world = new World();
    step(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations: [relocation as never] }] }));
  });

  test('a Uint8Array subclass whose length getter lies cannot write past its block', () => {
    class Lying extends Uint8Array {
      override get length(): number {
        return 16;
      }
    }
    const world = new World();
    step(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: new Lying(64).fill(0xee) }] }));
  });
});

describe('callbacks that change the caller\'s buffers mid-call', () => {
  test('resolveExternal that grows the resizable buffer behind the code cannot make the copy run past its block', () => {
    const buffer = resizableBuffer(16, 4096);
    const view = new Uint8Array(buffer).fill(0x90);
    const world = new World();
    world.resolve = (name) => {
      buffer.resize(4096);
      return resolveDefault(name);
    };
    step(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: view, relocations: callExt }] }));
  });

  test('resolveExternal that detaches the code\'s buffer leaves the heap sound: the call is refused unchanged or linked from a copy', () => {
    const buffer = new ArrayBuffer(16);
    const view = new Uint8Array(buffer);
    view.set(CODE_BYTES);
    const world = new World();
    world.resolve = (name) => {
      detach(buffer);
      return resolveDefault(name);
    };
    step(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: view, relocations: callExt }] }));
  });

  test('a getter that shrinks the resizable buffer behind a fixed-length code view after it was checked leaves the heap sound', () => {
    const buffer = resizableBuffer(16, 4096);
    const view = new Uint8Array(buffer, 0, 16);
    view.set(CODE_BYTES);
    const world = new World();
    const body = { code: view, get align() { buffer.resize(0); return 16; } };
    step(world, 'redefine', () => world.heap.redefine(world.named('f'), body));
  });
});

describe('what callbacks return', () => {
  test('resolveExternal returning Object.create(null) gets INVALID_ARGUMENT', () => {
    const world = new World();
    world.resolve = () => Object.create(null) as unknown;
    expectRefused(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations: callExt }] }));
  });

  test('resolveExternal returning a BigInt, NaN or a string gets INVALID_ARGUMENT', () => {
    const world = new World();
    for (const answer of [0x2000n, Number.NaN, '0x2000']) {
      world.resolve = () => answer;
      expectRefused(world, 'define', () => world.heap.define({ functions: [{ name: 'n0', code: code16(), relocations: callExt }] }));
    }
  });

  test('a compile callback returning Object.create(null) gets INVALID_ARGUMENT and the function stays lazy', () => {
    const world = new World();
    world.compile = () => Object.create(null) as never;
    expectRefused(world, 'materialize', () => world.heap.materialize(world.named('lazy')));
    expect(world.heap.node('lazy')?.state).toBe('lazy');
  });
});

describe('handles and pins the heap never issued', () => {
  test('a forged Handle cannot change counts (verify passes after free() three times)', () => {
    const world = new World();
    const g = world.named('g');
    const rc = world.heap.node('g')!.rc;
    for (let i = 0; i < 3; i++) {
      expectRefused(world, `free(forged) #${i + 1}`, () => world.heap.free(new (Handle as unknown as new (...a: unknown[]) => Handle)(world.heap, g.name === 'g' ? 1 : 0, 'g', 'function')));
    }
    expect(world.heap.node('g')?.rc).toBe(rc);
  });

  test('Object.create(Handle.prototype) given the heap as owner and a live id is refused by every call that takes a handle', () => {
    const world = new World();
    const forged = (): Handle => Object.assign(Object.create(Handle.prototype) as Handle, { owner: world.heap, id: 0, name: 'f', kind: 'function' });
    expectRefused(world, 'pointer', () => world.heap.pointer(forged()));
    expectRefused(world, 'pin', () => world.heap.pin(forged()));
    expectRefused(world, 'evict', () => world.heap.evict(forged()));
    expectRefused(world, 'redefine', () => world.heap.redefine(forged(), { code: code16() }));
    expectRefused(world, 'free', () => world.heap.free(forged()));
    step(world, 'node', () => world.heap.node(forged()), { readOnly: true, codes: ['INVALID_ARGUMENT'] });
  });

  test('a forged Pin cannot release a count', () => {
    const world = new World();
    const g = world.named('g');
    const rc = world.heap.node('g')!.rc;
    expectRefused(world, 'pin.release', () => new (Pin as unknown as new (...a: unknown[]) => Pin)(world.heap, g.name === 'g' ? 1 : 0, 'g', undefined).release());
    expect(world.heap.node('g')?.rc).toBe(rc);
  });

  test('a handle of another heap is refused with INVALID_ARGUMENT and both heaps stay as they were', () => {
    const world = new World();
    expectRefused(world, 'free', () => world.heap.free(world.foreign));
    expectRefused(world, 'redefine', () => world.heap.redefine(world.foreign, { code: code16() }));
  });

  test('a forged Handle whose id is no node\'s cannot hang the heap', () => {
    // A loop over a node's incoming sites from an id that names no node never ends today, so the
    // call runs in a child process with a time limit.
    const script = `
      import { Handle } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)};
      import { World } from ${JSON.stringify(new URL('./hostile.harness.ts', import.meta.url).href)};
      const outcomes = [];
      for (const id of [1.5, 1e9, Number.NaN]) {
        const { heap } = new World();
        for (const call of [() => heap.redefine(new Handle(heap, id, 'f', 'function'), { code: new Uint8Array(16) }),
                            () => heap.evict(new Handle(heap, id, 'f', 'function'))]) {
          try { call(); outcomes.push('returned'); } catch (error) { outcomes.push(error.code ?? error.name); }
        }
      }
      console.log('returned', outcomes.join(' '));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
    expect(child.signal, 'redefine/evict of a forged Handle with id 1.5, 1e9 or NaN did not return within 10 s').toBeNull();
    expect(child.stdout.trim(), child.stderr).toMatch(/^returned/);
  });
});

describe('options', () => {
  test('an observer whose methods are not functions is refused when the heap is made, or never reached as one', () => {
    for (const observer of [{ alloc: 5 }, { free: 'x' }, { collect: {} }, { patch: Symbol('p') }]) constructAndUse({ ...options(), observer });
  });

  test('an observer getter that throws cannot leave the heap half-changed', () => {
    // Its error may reach the caller (the call has done its work): verify() must pass after it.
    const thrown = new WeakMap<object, Channel>();
    const observer = {
      get patch(): never {
        const error = new Error('the observer\'s own getter');
        thrown.set(error, 'observer');
        throw error;
      },
    };
    constructAndUse({ ...options(), observer }, thrown);
  });

  test('an observer method that throws never reaches the call: the observer\'s error method hears of it and the workload goes on', () => {
    const thrown = new WeakMap<object, Channel>();
    const reported: unknown[] = [];
    let heard = 0;
    const observer = {
      alloc: (): never => {
        const error = new Error('the observer\'s alloc');
        thrown.set(error, 'observer');
        throw error;
      },
      error: (error: unknown): void => {
        heard++;
        reported.push(error);
      },
    };
    constructAndUse({ ...options(), observer }, thrown, reported);
    expect(heard).toBeGreaterThan(0);
  });

  test('compile and resolveExternal are read once: a getter answering a function when checked and NaN afterwards is refused or never called', () => {
    for (const key of ['compile', 'resolveExternal'] as const) {
      const given = options();
      const valid = given[key];
      delete given[key];
      constructAndUse(Object.defineProperty(given, key, readsThen<unknown>(2, () => valid, () => Number.NaN)));
    }
  });

  test('a Memory whose region is shorter than the arenas, or holds no Uint8Array, is refused', () => {
    const region = (bytes: unknown) => ({ reserve: () => ({ bytes, executable: false, description: 'hostile' }) });
    for (const bytes of [new Uint8Array(4096), new Int8Array(CODE_SIZE + DATA_SIZE), undefined]) {
      expect(() => new CodeHeap({ ...options(), memory: region(bytes) as never })).toThrow(CodeHeapError);
    }
  });

  test('a Memory whose chooseAddress answers NaN, an odd, a negative or a string address is refused', () => {
    for (const address of [Number.NaN, CODE_ADDRESS + 1, -4096, '0x40000000']) {
      const memory = { reserve: (layout: ArenaLayout) => arrayBufferMemory().reserve(layout), chooseAddress: () => address as number };
      expect(() => new CodeHeap({ ...options(), memory })).toThrow(CodeHeapError);
    }
  });
});

describe('beyond the letter of the contract (see the notes in the report)', () => {
  test('handle.free(), handle.address and pin.release() on objects that only inherit from Handle and Pin throw INVALID_ARGUMENT, not a TypeError', () => {
    const world = new World();
    const handle = Object.create(Handle.prototype) as Handle;
    const pin = Object.create(Pin.prototype) as Pin;
    expectRefused(world, 'handle.free', () => handle.free());
    expectRefused(world, 'handle.address', () => handle.address);
    expectRefused(world, 'pin.release', () => pin.release());
  });

  test('a resizable ArrayBuffer as memory is refused, or the heap does not depend on the caller not shrinking it', () => {
    const buffer = resizableBuffer(CODE_SIZE + DATA_SIZE, 2 * (CODE_SIZE + DATA_SIZE));
    let heap: CodeHeap;
    try {
      heap = new CodeHeap({ ...options(), memory: buffer });
    } catch (error) {
      expect(error).toBeInstanceOf(CodeHeapError);
      return;
    }
    buffer.resize(0);
    const stage = { heap, names: ['n0'], handles: [], canaries: [], thrown: new WeakMap<object, Channel>(), reported: [] };
    step(stage, 'define', () => heap.define({ globals: [{ name: 'n0', size: 16 }] }));
  });
});

function options(): CodeHeapOptions {
  return {
    arch: 'x86_64', codeSize: CODE_SIZE, dataSize: DATA_SIZE, cycleThreshold: Infinity, resolveExternal: resolveDefault,
    compile: () => ({ code: code16() }),
  };
}
