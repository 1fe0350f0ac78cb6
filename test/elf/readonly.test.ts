// Read-only data is read-only at its target address on native memory: an object's .rodata and
// .data.rel.ro, once relocated, lie on pages the CPU may only read (a write faults: the call
// throws MACHINE_FAULT), while the heap still writes them through its own view and its .data stays
// writable; unloading makes the pages writable again for whatever the arena holds next.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { CodeHeapError } from '../../src/index.js';
import { loadObject } from '../../src/elf/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { nativeHeap } from './helpers/heaps.js';
import { skipWithoutGcc } from './helpers/skip.js';
import { compileObject } from './helpers/toolchain.js';

const here = dirname(fileURLToPath(import.meta.url));
const source = { path: join(here, 'fixtures', 'rodata.c') };
const flags = ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections'];
const skip = skipWithoutGcc('read-only data') || !isNativeAvailable().available;

/** The permissions of the mapping holding `address` in this process, as /proc/self/maps shows them. */
function permissionsAt(address: number): string {
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const [range, perms] = line.split(' ');
    const [from, to] = (range ?? '').split('-').map((x) => parseInt(x, 16));
    if (from !== undefined && to !== undefined && address >= from && address < to) return perms ?? '';
  }
  return 'unmapped';
}

describe.skipIf(skip)('read-only data', () => {
  test('.rodata and .data.rel.ro are one node on read-only pages; .data is writable; the heap writes both', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, compileObject(source, flags), { name: 'ro' });
    const rodata = heap.node('ro:.rodata');
    expect(rodata).toBeDefined();
    expect(rodata!.address % 4096).toBe(0);
    expect(permissionsAt(rodata!.address)).toMatch(/^r--/);
    expect(permissionsAt(lib.get('counter').address)).toMatch(/^rw-/);
    expect(heap.call(lib.get('read_limit'), 2)).toBe(30n);
    expect(heap.call(lib.get('name_length'), 1)).toBe(4n);
    expect(heap.call(lib.get('bump_counter'))).toBe(2n);
    // The heap's own view is writable: a JIT may still patch its constants.
    const limit = lib.symbol('limits').address;
    heap.write(limit + 8, new Uint8Array([77, 0, 0, 0, 0, 0, 0, 0]));
    expect(heap.call(lib.get('read_limit'), 1)).toBe(77n);
    heap.verify();
    lib.free();
    // Its pages are writable again for the next block there.
    expect(permissionsAt(rodata!.address)).toMatch(/^rw-/);
    const again = heap.define({ globals: [{ name: 'after', size: 4096, align: 4096 }] });
    expect(permissionsAt(again.get('after').address)).toMatch(/^rw-/);
  });

  test('a write through a cast faults where the code runs: a MACHINE_FAULT naming the function and the read-only data', () => {
    const heap = nativeHeap();
    const lib = loadObject(heap, compileObject({ path: join(here, 'fixtures', 'rodata.c') }, ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections']), { name: 'ro' });
    for (const entry of ['write_limit', 'write_name']) {
      const error = (() => {
        try {
          heap.call(lib.get(entry));
        } catch (caught) {
          return caught as CodeHeapError;
        }
        throw new Error(`${entry} returned`);
      })();
      expect(error.code).toBe('MACHINE_FAULT');
      expect(error.message).toMatch(new RegExp(`^call\\(${entry}\\): SIGSEGV at ${entry}\\+0x[0-9a-f]+ .*: not writable, or not readable, there\\)`));
      heap.verify();
    }
    // The data that is writable still is, and the heap runs on.
    expect(heap.call(lib.get('bump_counter'))).toBe(2n);
    lib.free();
    heap.verify();
  });
});
