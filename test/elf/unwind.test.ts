// Unwind tables of loaded code (FunctionBody.unwind, cut out of the object's .eh_frame:
// src/elf/unwind-tables.ts) registered with the process's unwinder on native memory: backtrace()
// called from loaded code compiled without frame pointers steps through its frames into the
// caller's, a C++ exception thrown in loaded code is caught in loaded code (personality routine
// and LSDAs), and each table is taken back when its body's block is freed, by an unload or a
// recompile. The unwinder is asked directly too, through a JIT function that jumps to libgcc's
// _Unwind_Find_FDE.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { CodeHeap } from '../../src/index.js';
import { loadObject } from '../../src/elf/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { nativeHeap } from './helpers/heaps.js';
import { skipWithoutGcc } from './helpers/skip.js';
import { compileObject, compileObjectFile } from './helpers/toolchain.js';

const here = dirname(fileURLToPath(import.meta.url));
const object = () => compileObject({ path: join(here, 'fixtures', 'backtrace.c') }, ['-O1', '-fPIC', '-ffunction-sections', '-fomit-frame-pointer']);
const skip = skipWithoutGcc('unwind tables') || !isNativeAvailable().available;
const cxxObjectFile = () => compileObjectFile({ path: join(here, 'fixtures', 'exceptions.cc') }, ['-O1', '-fPIC', '-ffunction-sections']);

/** Whether the process's unwinder has an FDE for `pc` (libgcc's _Unwind_Find_FDE, through JIT code). */
function unwinderKnows(heap: CodeHeap): (pc: number) => boolean {
  const unit = heap.define({ functions: [{ name: 'find_fde', code: Uint8Array.from([0xe9, 0, 0, 0, 0]), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: '_Unwind_Find_FDE', addend: -4 }] }] });
  const find = heap.bind(unit.get('find_fde'), { parameters: ['u64', 'buffer'], result: 'u64' });
  const bases = new Uint8Array(24);
  return (pc) => find(BigInt(pc), bases) !== 0n;
}

describe.skipIf(skip)('unwind tables of loaded code', () => {
  test('backtrace() steps through loaded frames; an unload takes the tables back', () => {
    const heap = nativeHeap();
    const knows = unwinderKnows(heap);
    const lib = loadObject(heap, object(), { name: 'bt' });
    const pcs = ['depth', 'inner', 'outer'].map((name) => heap.node(name)!.address + 1);
    for (const pc of pcs) expect(knows(pc)).toBe(true);
    // depth, inner, outer, then the addon's call and the JavaScript engine's frames beneath.
    expect(heap.call(lib.get('outer'), 0)).toBeGreaterThan(5n);
    lib.free();
    for (const pc of pcs) expect(knows(pc), 'the table went with its body').toBe(false);
    heap.verify();
    heap.close();
  });

  test('a recompiled function\'s old table goes with its old body; a body with none stops the walk there', () => {
    const heap = nativeHeap();
    const knows = unwinderKnows(heap);
    const lib = loadObject(heap, object(), { name: 'bt' });
    const old = heap.node('inner')!.address + 1;
    const through = heap.call(lib.get('outer'), 0);
    // inner again, by hand and with no table: mov edi, 0; jmp depth (a tail call).
    heap.redefine(lib.get('inner'), { code: Uint8Array.from([0x31, 0xff, 0xe9, 0, 0, 0, 0]), relocations: [{ offset: 3, type: 'R_X86_64_PLT32', symbol: 'depth', addend: -4 }] });
    expect(knows(old)).toBe(false);
    expect(knows(heap.node('inner')!.address + 1)).toBe(false);
    // depth's table still steps out of depth, into outer (the tail call left no inner frame).
    expect(heap.call(lib.get('outer'), 0)).toBe(through - 1n);
    lib.free();
    heap.verify();
    heap.close();
  });

  test('a C++ exception thrown in loaded code is caught in loaded code, through a loaded frame', () => {
    // In a child process: an exception no unwind table lets through ends the process (std::terminate).
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
      const { readFileSync } = await import('node:fs');
      const { CodeHeap } = await import(${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)});
      const { nativeMemory } = await import(${JSON.stringify(new URL('../../src/native/index.ts', import.meta.url).href)});
      const { loadObject } = await import(${JSON.stringify(new URL('../../src/elf/index.ts', import.meta.url).href)});
      const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16, memory: nativeMemory() });
      const lib = loadObject(heap, readFileSync(${JSON.stringify(cxxObjectFile())}), { name: 'ex' });
      const caught = heap.call(lib.get('catcher'), 1);
      const returned = heap.call(lib.get('catcher'), 0);
      lib.free();
      heap.verify();
      process.stdout.write(JSON.stringify({ caught: Number(BigInt.asIntN(32, caught)), returned: Number(returned) }));
    `], { encoding: 'utf8', timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({ caught: -1, returned: 1 });
  });

  test('two hundred loads and unloads leave no table behind', () => {
    const heap = nativeHeap();
    const knows = unwinderKnows(heap);
    const bytes = object();
    let pc = 0;
    for (let i = 0; i < 200; i++) {
      const lib = loadObject(heap, bytes, { name: `bt${i}` });
      pc = heap.node('inner')!.address + 1;
      expect(knows(pc)).toBe(true);
      lib.free();
    }
    expect(knows(pc)).toBe(false);
    heap.verify();
    heap.close();
  });
});
