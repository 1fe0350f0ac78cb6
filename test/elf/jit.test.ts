// What a JIT does to a loaded object: evict a function and have the object's callers compile it
// again from its section, redefine one and keep the function pointers in the object's data,
// unload an object another calls into, run and defer constructors and destructors.

import { describe, expect, test } from 'vitest';
import { loadObject } from '../../src/elf/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { corpusPath, VARIANTS } from './corpus/index.js';
import { footprint, nativeHeap } from './helpers/heaps.js';
import { skipWithoutGcc } from './helpers/skip.js';
import { compileObject, nativeResults } from './helpers/toolchain.js';

const skip = skipWithoutGcc('the loaded-object scenarios') || !isNativeAvailable().available;
const flags = VARIANTS.O1;
const object = (file: string) => compileObject({ path: corpusPath(file) }, flags);
const expectedOf = (files: string[], entry: string) => nativeResults(files.map((f) => ({ path: corpusPath(f) })), flags, [entry]).get(entry);

describe.skipIf(skip)('what a JIT does to a loaded object', () => {
  test('evicting a function the object calls: its callers reach the trampoline, which compiles it again from its section', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, object('calls.c'), { name: 'calls' });
    const square = lib.get('exported_square');
    heap.evict(square);
    expect(heap.node(square)?.state).toBe('lazy');
    heap.verify();
    expect(heap.call(lib.get('test_exported_call'))).toBe(expectedOf(['calls.c'], 'test_exported_call'));
    expect(heap.node(square)?.state).toBe('live');
    heap.verify();
    lib.free();
  });

  test('redefining a function is seen by every caller in the object; function pointers in its data keep their value', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, object('fnptr.c'), { name: 'fnptr' });
    const before = heap.call(lib.get('address_of_add'));
    const pick = heap.bind(lib.get('pick'), { parameters: ['i64'], result: 'pointer' });
    expect(pick(0)).toBe(before);
    // pick(i) returns table[i & 3]; redefined, it returns 0 (xor eax, eax; ret).
    heap.redefine(lib.get('pick'), { code: new Uint8Array([0x31, 0xc0, 0xc3]) });
    expect(pick(0)).toBe(0n);
    expect(heap.call(lib.get('test_equal_static'))).toBe(0n);
    expect(heap.call(lib.get('address_of_add'))).toBe(before);
    heap.verify();
    lib.free();
  });

  test('a function with its own jump table laid inside it can be evicted, and runs again', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, object('switch.c'), { name: 'switch' });
    heap.evict(lib.get('dispatch'));
    heap.verify();
    expect(heap.call(lib.get('test_switch'))).toBe(expectedOf(['switch.c'], 'test_switch'));
    lib.free();
  });

  test('private statics of one name in two objects; a caller of a third keeps it working after it is unloaded', () => {
    const heap = nativeHeap();
    const empty = footprint(heap.stats());
    const a = loadObject(heap, object('private_a.c'), { name: 'a' });
    const b = loadObject(heap, object('private_b.c'), { name: 'b' });
    expect(heap.call(a.get('test_private_a'))).toBe(expectedOf(['private_a.c'], 'test_private_a'));
    expect(heap.call(b.get('test_private_b'))).toBe(expectedOf(['private_b.c'], 'test_private_b'));
    const calls = loadObject(heap, object('calls.c'), { name: 'calls' });
    const caller = loadObject(heap, object('caller.c'), { name: 'caller' });
    calls.free();
    expect(heap.node('exported_square')?.state).toBe('live');
    expect(heap.call(caller.get('test_cross_object'))).toBe(expectedOf(['calls.c', 'caller.c'], 'test_cross_object'));
    heap.verify();
    for (const lib of [a, b, caller]) lib.free();
    expect(footprint(heap.stats())).toEqual(empty);
  });

  test('constructors run on load in priority order, destructors on unload; deferred, they run when asked', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, object('ctors.c'), { name: 'ctors' });
    expect(heap.call(lib.get('test_ctor_trace'))).toBe(expectedOf(['ctors.c'], 'test_ctor_trace'));
    const expected = heap.call(lib.get('test_dtor_value'));
    const out = heap.define({ globals: [{ name: 'out', size: 8 }] }).get('out');
    const pointer = new Uint8Array(8);
    new DataView(pointer.buffer).setBigUint64(0, BigInt(out.address), true);
    heap.write(lib.symbol('dtor_out').address, pointer);
    lib.free();
    expect(new DataView(heap.read(out.address, 8).buffer).getBigInt64(0, true)).toBe(expected);
    const deferred = loadObject(heap, object('ctors.c'), { name: 'ctors', constructors: 'defer' });
    expect(heap.call(deferred.get('test_ctor_trace'))).toBe(0n);
    deferred.runConstructors();
    expect(heap.call(deferred.get('test_ctor_trace'))).toBe(expectedOf(['ctors.c'], 'test_ctor_trace'));
    deferred.free();
    heap.verify();
  });
});
