// The object loader on real gcc output: each corpus file, in every flag variant, loaded eagerly
// and lazily into native memory, each entry's result compared with the same source linked into a
// normal program, verify() after every step; then backpatching (evict, redefine) seen by the
// object's own callers, and unload giving every node, byte and site back.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadObject } from '../../src/elf/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { footprint, nativeHeap } from './heaps.js';
import { expectCode } from '../helpers/errors.js';
import { compileObject, corpusPath, gccSkip, nativeResults, VARIANTS } from './gcc.js';

const skip = gccSkip() || !isNativeAvailable().available;
const FILES = ['calls.c', 'switch.c', 'pointers.c', 'data.c', 'libc.c'];

function entriesOf(file: string): string[] {
  return [...readFileSync(corpusPath(file), 'utf8').matchAll(/long (test_\w+)\(void\)/g)].map((m) => m[1]!);
}

describe.skipIf(skip)('gcc output loads and runs from the heap, as the same source linked natively', () => {
  for (const flags of VARIANTS) {
    for (const lazy of [false, true]) {
      test(`${flags.join(' ')}${lazy ? ', lazy' : ''}`, () => {
        const heap = nativeHeap();
        const empty = footprint(heap.stats());
        for (const file of FILES) {
          const entries = entriesOf(file);
          const expected = nativeResults([corpusPath(file)], flags, entries);
          const lib = loadObject(heap, compileObject(corpusPath(file), flags), { name: file, lazy });
          heap.verify();
          for (const entry of entries) {
            expect(heap.call(lib.get(entry)), `${file} ${entry}`).toBe(expected.get(entry));
            heap.verify();
          }
          if (lazy) expect(lib.materialized).toBeGreaterThan(0);
          lib.free();
          heap.verify();
          expect(footprint(heap.stats()), `after unloading ${file}`).toEqual(empty);
        }
      });
    }
  }
});

describe.skipIf(skip)('what a JIT does to a loaded object', () => {
  const flags = ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections'];

  test('evicting a function the object calls: its callers reach the trampoline, which compiles it again from its section', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, compileObject(corpusPath('calls.c'), flags), { name: 'calls' });
    const square = lib.get('exported_square');
    heap.evict(square);
    expect(heap.node(square)?.state).toBe('lazy');
    heap.verify();
    expect(heap.call(lib.get('test_exported'))).toBe(12345n * 12345n);
    expect(heap.node(square)?.state).toBe('live');
    heap.verify();
    lib.free();
  });

  test('redefining a function is seen by every caller in the object, and function pointers in its data keep their value', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, compileObject(corpusPath('pointers.c'), flags), { name: 'pointers' });
    const before = heap.call(lib.get('direct'));
    // pick(i) returns ops[i]; redefine it to return 0 (xor eax, eax; ret).
    heap.redefine(lib.get('pick'), { code: new Uint8Array([0x31, 0xc0, 0xc3]) });
    expect(heap.call(lib.get('pick'), 1)).toBe(0n);
    expect(heap.call(lib.get('direct'))).toBe(before);
    heap.verify();
    lib.free();
  });

  test('a function whose jump table another node points into cannot be evicted; a function with its own can', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, compileObject(corpusPath('switch.c'), flags), { name: 'switch' });
    heap.evict(lib.get('classify'));
    heap.verify();
    expect(heap.call(lib.get('test_switch'))).toBe(nativeResults([corpusPath('switch.c')], flags, ['test_switch']).get('test_switch'));
    lib.free();
  });

  test('two objects each with a private static of one name; a third calls into the first; unloading the first while called is harmless', () => {
    const heap = nativeHeap();
    const empty = footprint(heap.stats());
    const one = loadObject(heap, compileObject(corpusPath('private1.c'), flags), { name: 'one' });
    const two = loadObject(heap, compileObject(corpusPath('private2.c'), flags), { name: 'two' });
    expect(heap.call(one.get('test_private1'))).toBe(102n);
    expect(heap.call(two.get('test_private2'))).toBe(202n);
    const calls = loadObject(heap, compileObject(corpusPath('calls.c'), flags), { name: 'calls' });
    const caller = loadObject(heap, compileObject(corpusPath('caller.c'), flags), { name: 'caller' });
    calls.free();
    expect(heap.call(caller.get('test_caller'))).toBe(122n);
    heap.verify();
    for (const lib of [one, two, caller]) lib.free();
    expect(footprint(heap.stats())).toEqual(empty);
  });

  test('constructors run on load, destructors on unload', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, compileObject(corpusPath('ctors.c'), flags), { name: 'ctors' });
    expect(heap.call(lib.get('test_ctor'))).toBe(1234n);
    const out = heap.define({ globals: [{ name: 'out', size: 8 }] });
    heap.write(lib.symbol('dtor_out').address, u64(out.get('out').address));
    lib.free();
    expect(new DataView(heap.read(out.get('out').address, 8).buffer).getBigInt64(0, true)).toBe(1235n);
    const deferred = loadObject(heap, compileObject(corpusPath('ctors.c'), flags), { name: 'ctors', constructors: 'defer' });
    expect(heap.call(deferred.get('test_ctor'))).toBe(0n);
    deferred.runConstructors();
    expect(heap.call(deferred.get('test_ctor'))).toBe(1234n);
    deferred.free();
    heap.verify();
  });

  test('thread-local storage is refused, naming the section, and the heap is unchanged', () => {
    const heap = nativeHeap();
    const before = footprint(heap.stats());
    const error = expectCode(() => loadObject(heap, compileObject(corpusPath('tls.c'), flags), { name: 'tls' }), 'UNSUPPORTED');
    expect(error.message).toMatch(/tls: .*(\.tdata|\.tbss|thread-local)/);
    expect(footprint(heap.stats())).toEqual(before);
  });
});

function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}
