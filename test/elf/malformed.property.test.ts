// Malformed objects: whatever bytes of a valid object are changed, truncated or garbled, loadObject
// either loads something that verify() accepts, or throws a CodeHeapError, and a refusal leaves
// the heap exactly as it was. Runs on ArrayBuffer memory (nothing is executed), constructors
// deferred, so only the reading and linking are under test.

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { CodeHeap, CodeHeapError } from '../../src/index.js';
import { loadObject } from '../../src/elf/index.js';
import { expectCode } from '../helpers/errors.js';
import { corpusPath } from './corpus/index.js';
import { footprint } from './helpers/heaps.js';
import { skipWithoutGcc } from './helpers/skip.js';
import { compileObject } from './helpers/toolchain.js';

const skip = skipWithoutGcc('malformed objects');
const flags = ['-O2', '-fPIC', '-ffunction-sections', '-fdata-sections'];

function arrayHeap(): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 20, cycleThreshold: Infinity, resolveExternal: () => 0x5000_0000 });
}

function snapshot(heap: CodeHeap): string {
  return JSON.stringify(footprint(heap.stats())) + Buffer.from(heap.read(heap.stats().code.address, 1 << 16)).toString('base64');
}

const ALLOWED = new Set(['INVALID_OBJECT', 'UNSUPPORTED', 'UNDEFINED_SYMBOL', 'RELOCATION_OUT_OF_RANGE', 'RELOCATION_OUT_OF_BOUNDS', 'INVALID_ARGUMENT', 'DUPLICATE_SYMBOL', 'OUT_OF_MEMORY']);

describe.skipIf(skip)('malformed objects', () => {
  const valid = skip ? new Uint8Array(0) : compileObject({ path: corpusPath('fnptr.c') }, flags);

  test('truncated, the wrong class, machine or type: INVALID_OBJECT naming what is wrong', () => {
    const heap = arrayHeap();
    const before = snapshot(heap);
    expect(expectCode(() => loadObject(heap, valid.subarray(0, 40)), 'INVALID_OBJECT').message).toMatch(/shorter than an ELF header/);
    expect(expectCode(() => loadObject(heap, valid.subarray(0, valid.length - 100)), 'INVALID_OBJECT').message).toMatch(/past the end/);
    const patched = (at: number, value: number): Uint8Array => {
      const copy = valid.slice();
      copy[at] = value;
      return copy;
    };
    expect(expectCode(() => loadObject(heap, patched(4, 1)), 'INVALID_OBJECT').message).toMatch(/ELFCLASS64/);
    expect(expectCode(() => loadObject(heap, patched(18, 3)), 'INVALID_OBJECT').message).toMatch(/EM_X86_64/);
    expect(expectCode(() => loadObject(heap, patched(16, 2)), 'INVALID_OBJECT').message).toMatch(/ET_REL/);
    expect(snapshot(heap)).toBe(before);
  });

  test('a relocation past its section, or naming a symbol out of range: INVALID_OBJECT, heap unchanged', () => {
    const heap = arrayHeap();
    const before = snapshot(heap);
    const view = new DataView(valid.buffer, valid.byteOffset, valid.byteLength);
    const shoff = Number(view.getBigUint64(40, true));
    const count = view.getUint16(60, true);
    let rela = -1;
    for (let i = 0; i < count && rela < 0; i++) if (view.getUint32(shoff + i * 64 + 4, true) === 4) rela = i;
    const entry = Number(view.getBigUint64(shoff + rela * 64 + 24, true));
    const pastSection = valid.slice();
    new DataView(pastSection.buffer).setBigUint64(entry, 1n << 40n, true);
    expect(expectCode(() => loadObject(heap, pastSection), 'INVALID_OBJECT').message).toMatch(/relocation 0 of \.rela.*past the/);
    const badSymbol = valid.slice();
    new DataView(badSymbol.buffer).setUint32(entry + 12, 100_000, true);
    expect(expectCode(() => loadObject(heap, badSymbol), 'INVALID_OBJECT').message).toMatch(/names symbol 100000/);
    expect(snapshot(heap)).toBe(before);
  });

  test('garbage section indices, and a relocation against a section that is not loaded: INVALID_OBJECT naming them', () => {
    const heap = arrayHeap();
    const before = snapshot(heap);
    const view = new DataView(valid.buffer, valid.byteOffset, valid.byteLength);
    const shoff = Number(view.getBigUint64(40, true));
    const count = view.getUint16(60, true);
    const header = (i: number) => shoff + i * 64;
    const typeOf = (i: number) => view.getUint32(header(i) + 4, true);
    const sections = Array.from({ length: count }, (_, i) => i);
    const rela = sections.find((i) => typeOf(i) === 4)!;
    const symtab = sections.find((i) => typeOf(i) === 2)!;
    const patch = (edit: (v: DataView) => void): Uint8Array => {
      const copy = valid.slice();
      edit(new DataView(copy.buffer));
      return copy;
    };
    // A relocation section applying to section 9999, of a file with a few dozen.
    const target = patch((v) => v.setUint32(header(rela) + 44, 9999, true));
    expect(expectCode(() => loadObject(heap, target), 'INVALID_OBJECT').message).toMatch(/applies to section 9999, which does not exist/);
    // The symbol table's string table index pointing nowhere.
    const link = patch((v) => v.setUint32(header(symtab) + 40, 9999, true));
    expect(expectCode(() => loadObject(heap, link), 'INVALID_OBJECT').message).toMatch(/string table index 9999/);
    // A symbol defined in section 5000.
    const symbols = Number(view.getBigUint64(header(symtab) + 24, true));
    const relocated = Number(view.getBigUint64(header(rela) + 24, true));
    const symbol = view.getUint32(relocated + 12, true);
    const defined = patch((v) => v.setUint16(symbols + symbol * 24 + 6, 5000, true));
    expect(expectCode(() => loadObject(heap, defined), 'INVALID_OBJECT').message).toMatch(/defined in section 5000/);
    // The first relocation's symbol moved into a section the loader does not load (non-allocatable).
    const unloaded = sections.find((i) => typeOf(i) === 1 && (Number(view.getBigUint64(header(i) + 8, true)) & 2) === 0)!;
    const discarded = patch((v) => v.setUint16(symbols + symbol * 24 + 6, unloaded, true));
    expect(expectCode(() => loadObject(heap, discarded), 'INVALID_OBJECT').message).toMatch(/lies in no loaded section/);
    expect(snapshot(heap)).toBe(before);
    heap.verify();
  });

  test('a COMMON symbol or a section aligned past 4096 is UNSUPPORTED, not placed at a smaller alignment', () => {
    const heap = arrayHeap();
    const before = snapshot(heap);
    const common = compileObject('int wide __attribute__((aligned(8192)));\nint touch(void) { return wide; }\n', ['-O1', '-fPIC', '-fcommon']);
    expect(expectCode(() => loadObject(heap, common), 'UNSUPPORTED').message).toMatch(/COMMON symbol wide asks for alignment 8192/);
    const section = compileObject('int wide __attribute__((aligned(8192))) = 1;\nint touch(void) { return wide; }\n', ['-O1', '-fPIC', '-fdata-sections']);
    expect(expectCode(() => loadObject(heap, section), 'UNSUPPORTED').message).toMatch(/alignment 8192/);
    expect(snapshot(heap)).toBe(before);
  });

  test('an object that mixes GOTPC32 (a GOT base within rel32 reach) with the large model\'s GOTOFF64 is UNSUPPORTED, naming both', () => {
    const heap = arrayHeap();
    const before = snapshot(heap);
    const mixed = compileObject([
      'static long counter = 42;',
      'long mixed(void) {',
      '  long base, off;',
      '  __asm__("lea _GLOBAL_OFFSET_TABLE_(%%rip), %0" : "=r"(base));',
      '  __asm__("movabs $counter@GOTOFF, %0" : "=r"(off));',
      '  return *(long*)(base + off);',
      '}',
    ].join('\n'), ['-O1', '-fPIC']);
    expect(expectCode(() => loadObject(heap, mixed), 'UNSUPPORTED').message).toMatch(/mixes R_X86_64_GOTPC32 with the large code model/);
    expect(snapshot(heap)).toBe(before);
  });

  test('hostile inputs: a proxy or a detached buffer for the bytes, options whose getters throw, a resolve that throws or lies', () => {
    const heap = arrayHeap();
    const before = snapshot(heap);
    expectCode(() => loadObject(heap, new Proxy(valid, {}) as Uint8Array), 'INVALID_ARGUMENT');
    expectCode(() => loadObject(heap, [...valid] as unknown as Uint8Array), 'INVALID_ARGUMENT');
    const detached = valid.slice();
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expectCode(() => loadObject(heap, detached), 'INVALID_OBJECT');
    const throwing = { get name(): string { throw new Error('no name'); } };
    expectCode(() => loadObject(heap, valid, throwing), 'INVALID_ARGUMENT');
    expectCode(() => loadObject(heap, valid, { name: '' }), 'INVALID_ARGUMENT');
    expectCode(() => loadObject(heap, valid, { lazy: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT');
    const libc = compileObject({ path: corpusPath('libc.c') }, flags);
    const error = expectCode(() => loadObject(heap, libc, { resolve: () => { throw new Error('resolver down'); } }), 'INVALID_ARGUMENT');
    expect(error.message).toMatch(/resolve\(\w+\)/);
    expectCode(() => loadObject(heap, libc, { resolve: () => -5 }), 'INVALID_ARGUMENT');
    expect(snapshot(heap)).toBe(before);
    heap.verify();
  });

  test.prop([fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }), fc.option(fc.nat())], { numRuns: 300 })(
    'bytes changed or cut anywhere: a CodeHeapError and the heap unchanged, or a load that verify() accepts and unload undoes',
    (changes, cut) => {
      const heap = arrayHeap();
      const empty = snapshot(heap);
      const bytes = valid.slice(0, cut === null ? valid.length : cut % (valid.length + 1));
      for (const [at, value] of changes) if (bytes.length > 0) bytes[at % bytes.length] = value;
      let lib;
      try {
        lib = loadObject(heap, bytes, { constructors: 'defer' });
      } catch (error) {
        if (!(error instanceof CodeHeapError)) throw error;
        expect(ALLOWED.has(error.code), `${error.code}: ${error.message}`).toBe(true);
        expect(snapshot(heap)).toBe(empty);
        heap.verify();
        return;
      }
      heap.verify();
      lib.free();
      heap.verify();
      expect(heap.stats().nodes.total).toBe(0);
    },
  );
});
