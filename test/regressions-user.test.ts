// Regressions of what a new user found, one describe per finding. Each test failed on the code
// before its fix (the observer, forged handles, stub offsets, repeated codes, heap.close).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CodeHeap, CodeHeapError, Handle, Pin, Unit, type ObserverEvent } from '../src/index.js';
import { expectCode } from './helpers/errors.js';
import { KiB, leaf, newHeap } from './helpers/heaps.js';
import { asm, nodeOf, quads } from './helpers/x86.js';

describe('an observer that throws cannot take a call back', () => {
  test('alloc throws during define: the Unit is returned, its handle holds the function, and the error reaches observer.error', () => {
    const errors: { error: unknown; event: ObserverEvent }[] = [];
    const heap = newHeap({
      observer: {
        alloc() {
          throw new Error('observer bug');
        },
        error: (error, event) => errors.push({ error, event }),
      },
    });
    const unit = heap.define({ functions: [{ name: 'f', ...leaf() }, { name: 'g', ...asm().call('f').ret().build() }] });
    heap.verify();
    expect(unit.get('f').address).toBe(nodeOf(heap, 'f').address);
    expect(nodeOf(heap, 'f').rc).toBe(2); // the unit's handle and g's call
    // Every event was still delivered, each failure reported with its event.
    expect(errors.map((e) => [(e.error as Error).message, e.event.type, 'name' in e.event ? e.event.name : ''])).toEqual([
      ['observer bug', 'alloc', 'f'], ['observer bug', 'alloc', 'g'],
    ]);
    unit.free();
    expect(heap.stats().nodes.total).toBe(0);
    // Before the fix the next define of f was DUPLICATE_SYMBOL: the unit was lost with its handles.
    heap.define({ functions: [{ name: 'f', ...leaf() }] });
    heap.verify();
  });

  test('with no error method, the error is thrown again from a microtask (an uncaught exception), and the call still returns', () => {
    const child = fileURLToPath(new URL('./helpers/throwing-hook-child.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', child, 'observer'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ unit: true, rc: 1, kind: 'function', verified: true, uncaught: ['observer bug'] });
  });
});

describe('only the heap makes handles, pins and units', () => {
  test('the constructors refuse to run, forged objects are refused by every call, and counts stay exact', () => {
    const heap = newHeap();
    const h = heap.define({ functions: [{ name: 'f', ...leaf() }] }).get('f');
    const construct = (cls: unknown, ...args: unknown[]): unknown => new (cls as new (...a: unknown[]) => unknown)(...args);
    expectCode(() => construct(Handle, h, 0, 'f', 'function'), 'INVALID_ARGUMENT');
    expectCode(() => construct(Pin, h, 0, 'f', undefined), 'INVALID_ARGUMENT');
    expectCode(() => construct(Unit, [h]), 'INVALID_ARGUMENT');
    const forged = Object.create(Handle.prototype) as Handle;
    const lookalike = { name: 'f', kind: 'function', address: h.address, freed: false } as unknown as Handle;
    for (const fake of [forged, lookalike]) {
      for (let i = 0; i < 3; i++) expectCode(() => heap.free(fake), 'INVALID_ARGUMENT');
      expectCode(() => heap.pin(fake), 'INVALID_ARGUMENT');
      expectCode(() => heap.redefine(fake, leaf()), 'INVALID_ARGUMENT');
    }
    expectCode(() => forged.free(), 'INVALID_ARGUMENT'); // no owner to call back into
    heap.verify();
    expect(nodeOf(heap, 'f').rc).toBe(1);
  });

  test('nothing of a handle but its name and kind is visible: no id, owner or marker to call', () => {
    const heap = newHeap();
    const h = heap.define({ functions: [{ name: 'f', ...leaf() }] }).get('f');
    expect(Object.keys(h).sort()).toEqual(['kind', 'name']);
    expect(Object.getOwnPropertyNames(Handle.prototype).sort()).toEqual(['address', 'constructor', 'free', 'freed', 'toString']);
    expect(Object.getOwnPropertyNames(Pin.prototype).sort()).toEqual(['constructor', 'release', 'released']);
    // The heap has no public method that frees by id or releases a pin's hold by hand.
    const names = Object.getOwnPropertyNames(CodeHeap.prototype);
    for (const internal of ['freeHandle', 'releasePin', 'handleAddress']) expect(names).not.toContain(internal);
  });
});

describe('a stub reference carries no offset', () => {
  test('a jump-table entry PC32 to f+0x17 from data, and a pointer to f + 3 in code, are INVALID_ARGUMENT; a pointer to f itself links', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'f', ...asm().nop(32).ret().build() }] });
    const table = { name: 'table', data: new Uint8Array(8), relocations: [{ offset: 0, type: 'R_X86_64_PC32', symbol: 'f', addend: 0x17 } as const] };
    const error = expectCode(() => heap.define({ globals: [table] }), 'INVALID_ARGUMENT');
    expect(error.message).toContain('table+0x0');
    expect(error.message).toContain('addend 23');
    expectCode(() => heap.define({ functions: [{ name: 'g', ...asm().movRax('f', { addend: 3 }).ret().build() }] }), 'INVALID_ARGUMENT');
    expectCode(() => heap.define({ globals: [{ name: 'vt', ...quads(8, [{ offset: 0, symbol: 'f', addend: 8 }]) }] }), 'INVALID_ARGUMENT');
    heap.verify();
    // The same references with no offset are pointers; with via: 'body' they address the body.
    heap.define({
      functions: [{ name: 'g', ...asm().movRax('f').leaRax('f').movRax('f', { addend: 3, via: 'body' }).ret().build() }],
      globals: [{ name: 'rel', data: new Uint8Array(8), relocations: [{ offset: 0, type: 'R_X86_64_PC32', symbol: 'f' }] }],
    });
    heap.verify();
  });
});

describe('messages say the code once', () => {
  test('the code is a field, and the message does not repeat it', () => {
    const heap = newHeap();
    const error = expectCode(() => heap.lookup('nowhere'), 'UNDEFINED_SYMBOL');
    expect(error.message).not.toContain('UNDEFINED_SYMBOL');
    expect(`${error.code}: ${error.message}`).toBe('UNDEFINED_SYMBOL: lookup: no function or global named nowhere');
    const call = expectCode(() => heap.call(heap.declare('f')), 'NOT_EXECUTABLE');
    expect(call.message.startsWith('call(f)')).toBe(true);
  });
});

describe('heap.close()', () => {
  test('releases the heap at once; any later use is USE_AFTER_FREE, while freeing handles and pins does nothing', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'f', ...leaf() }] });
    const pin = heap.pin(unit.get('f'));
    heap.close();
    heap.close(); // twice: nothing more
    for (const [what, call] of [
      ['define', () => heap.define({ functions: [{ name: 'g', ...leaf() }] })],
      ['lookup', () => heap.lookup('f')],
      ['stats', () => heap.stats()],
      ['node', () => heap.node('f')],
      ['verify', () => heap.verify()],
      ['collectCycles', () => heap.collectCycles()],
      ['address', () => unit.get('f').address],
      ['read', () => heap.read(0x4000_0000, 1)],
    ] as const) {
      const error = expectCode(call, 'USE_AFTER_FREE');
      expect(error.message, what).toContain('the heap was closed');
    }
    unit.free();
    pin.release();
    expect(unit.get('f').freed).toBe(false); // nothing happened: the heap is gone
  });

  test('[Symbol.dispose] closes it, so `using` releases a heap at the end of its block', () => {
    let outer: CodeHeap | undefined;
    {
      using heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB });
      heap.define({ functions: [{ name: 'f', ...leaf() }] });
      outer = heap;
    }
    expectCode(() => outer.stats(), 'USE_AFTER_FREE');
  });

  test('close from an observer is REENTRANT_CALL (reported to the observer), and the heap stays open', () => {
    const errors: unknown[] = [];
    let heap!: CodeHeap;
    heap = newHeap({ observer: { alloc: () => heap.close(), error: (e) => errors.push(e) } });
    heap.define({ functions: [{ name: 'f', ...leaf() }] });
    expect(errors).toEqual([expect.objectContaining({ code: 'REENTRANT_CALL' })]);
    expect(errors[0]).toBeInstanceOf(CodeHeapError);
    heap.verify();
  });
});
