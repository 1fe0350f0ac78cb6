// An object of more than 65,280 sections: gcc -ffunction-sections on a large file numbers its
// sections past SHN_LORESERVE, each symbol's index in .symtab_shndx (SHN_XINDEX). A section whose
// real index is 0xfff1 or 0xfff2 must not read as absolute or COMMON (a regression: the loader
// refused such an object, "f32759 is defined twice in one unit").

import { expect, test } from 'vitest';
import { CodeHeap } from '../../src/index.js';
import { loadObject } from '../../src/elf/index.js';
import { skipWithoutGcc } from './helpers/skip.js';
import { compileObject } from './helpers/toolchain.js';

const FUNCTIONS = 33_000;

const skip = skipWithoutGcc('an object of more than 65,280 sections');

test.skipIf(skip)(`${FUNCTIONS} functions, each in a section of its own with its relocations: all load, each once, and unload`, () => {
  const lines: string[] = ['int f0(void) { return 0; }'];
  for (let i = 1; i < FUNCTIONS; i++) lines.push(`int f${i - 1}(void); int f${i}(void) { return f${i - 1}() + 1; }`);
  const bytes = compileObject(lines.join('\n'), ['-O0', '-ffunction-sections']);
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 8 << 20, dataSize: 1 << 20, cycleThreshold: Infinity });
  const lib = loadObject(heap, bytes, { name: 'many' });
  expect(lib.functions).toBe(FUNCTIONS);
  for (const i of [0, 32_759, 32_760, FUNCTIONS - 1]) {
    const info = heap.node(`f${i}`)!;
    expect(info.kind).toBe('function');
    expect(info.references).toEqual(i === 0 ? [] : [`f${i - 1}`]);
  }
  heap.verify();
  lib.free();
  expect(heap.stats().nodes.total).toBe(0);
});
