// FunctionBody.unwind on any memory: the table is checked at define (INVALID_ARGUMENT naming the
// function and the offset in the table), and the region hears of each body placed with one, with
// the table made absolute for its address (Region.unwindPlaced), and of that body's block freed
// (Region.unwindFreed): by a recompile, an evict, an unload, counting or the collector. The
// process's unwinder on native memory is test/elf/unwind.test.ts.

import { describe, expect, test } from 'vitest';
import { arrayBufferMemory, CodeHeap, type Memory } from '../src/index.js';
import { expectCode } from './helpers/errors.js';
import { asm } from './helpers/x86.js';

/**
 * A CIE (pcrel sdata4; with 'P' an indirect personality pointer, with 'L' an LSDA encoding) and
 * one FDE over [start, start + range) of the body (with 'L', 4 bytes of LSDA pointer).
 */
function table(start = 0, range = 4, augmentation = 'zR'): Uint8Array {
  const data = [...augmentation.slice(1)].flatMap((c) => (c === 'P' ? [0x9b, 0, 0, 0, 0] : c === 'L' ? [0x1b] : c === 'R' ? [0x1b] : [0x1b]));
  const cie = [0x14, 0, 0, 0, 0, 0, 0, 0, 1, ...[...augmentation].map((c) => c.charCodeAt(0)), 0, 1, 0x78, 0x10, data.length, ...data, 0x0c, 0x07, 0x08, 0x90, 0x01];
  while ((cie.length - 4) % 4 !== 0 || cie.length < 0x18) cie.push(0);
  cie[0] = cie.length - 4;
  const lsda = augmentation.includes('L');
  const fde = new DataView(new ArrayBuffer(lsda ? 0x1c : 0x18));
  fde.setUint32(0, fde.byteLength - 4, true);
  fde.setUint32(4, cie.length + 4, true);
  fde.setInt32(8, start, true);
  fde.setUint32(12, range, true);
  fde.setUint8(16, lsda ? 4 : 0);
  return Uint8Array.from([...cie, ...new Uint8Array(fde.buffer)]);
}

type Told = ['placed', number, Uint8Array] | ['freed', number];

function recording(told: Told[]): Memory {
  const memory = arrayBufferMemory();
  return {
    reserve: (layout) => Object.assign(memory.reserve(layout), {
      unwindPlaced: (address: number, t: Uint8Array) => void told.push(['placed', address, t]),
      unwindFreed: (address: number) => void told.push(['freed', address]),
    }),
  };
}

const body = (n = 4) => ({ ...asm().nop(n).ret().build(), unwind: table(0, n) });

describe('FunctionBody.unwind', () => {
  test('the region gets each table made absolute for its body, and hears when the body goes', () => {
    const told: Told[] = [];
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: recording(told), compile: () => body(6) });
    const unit = heap.define({ functions: [{ name: 'f', ...body() }, { name: 'g', ...asm().ret().build() }] });
    const f = unit.get('f');
    const at = heap.node(f)!.address;
    expect(told).toHaveLength(1);
    const [kind, address, absolute] = told[0] as ['placed', number, Uint8Array];
    expect([kind, address]).toEqual(['placed', at]);
    const view = new DataView(absolute.buffer);
    expect(absolute[0x10], 'the CIE\'s pointer encoding is absptr').toBe(0);
    expect(view.getUint32(0x18, true)).toBe(0x14 + 8);
    expect(view.getUint32(0x1c, true), 'the FDE points back at the CIE').toBe(0x1c);
    expect(Number(view.getBigUint64(0x20, true))).toBe(at);
    expect(Number(view.getBigUint64(0x28, true))).toBe(4);
    told.length = 0;
    // A recompile: the new body's table, then the old body's freed (the order the blocks go in).
    heap.redefine(f, body(8));
    const moved = heap.node(f)!.address;
    expect(told.map((t) => t.slice(0, 2))).toEqual([['placed', moved], ['freed', at]]);
    told.length = 0;
    heap.evict(f);
    expect(told).toEqual([['freed', moved]]);
    told.length = 0;
    heap.materialize(f);
    const compiled = heap.node(f)!.address;
    expect(told.map((t) => t.slice(0, 2))).toEqual([['placed', compiled]]);
    told.length = 0;
    unit.free();
    expect(told).toEqual([['freed', compiled]]);
    heap.verify();
  });

  test('a personality routine and an LSDA, named beside the table, are absolute pointers to where those symbols are', () => {
    const told: Told[] = [];
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: recording(told) });
    const unit = heap.define({
      globals: [{ name: 'personality_slot', size: 8 }, { name: 'handlers', size: 16 }],
      functions: [{ name: 'f', ...asm().nop(4).ret().build(), unwind: { table: table(0, 4, 'zPLR'), personality: { symbol: 'personality_slot' }, lsda: [{ symbol: 'handlers', addend: 4 }] } }],
    });
    const [, address, absolute] = told[0] as ['placed', number, Uint8Array];
    expect(address).toBe(heap.node('f')!.address);
    const view = new DataView(absolute.buffer);
    // CIE: length, id, version 1, "zPLR", code 1, data -8, ra 16, then 11 bytes of data: P absptr indirect + 8, L absptr, R absptr.
    expect([...absolute.subarray(17, 29)]).toEqual([11, 0x80, ...absolute.subarray(19, 27), 0, 0]);
    expect(Number(view.getBigUint64(19, true))).toBe(heap.node('personality_slot')!.address);
    const fde = view.getUint32(0, true) + 4;
    expect(Number(view.getBigUint64(fde + 8, true))).toBe(address);
    expect(absolute[fde + 24], 'the FDE\'s augmentation data: 8 bytes').toBe(8);
    expect(Number(view.getBigUint64(fde + 25, true))).toBe(heap.node('handlers')!.address + 4);
    // Named exactly when the CIE has them.
    expect(expectCode(() => heap.define({ functions: [{ name: 'g', ...asm().nop(4).ret().build(), unwind: table(0, 4, 'zPLR') }] }), 'INVALID_ARGUMENT').message)
      .toMatch(/unwind.personality must be given exactly when the CIE has a personality/);
    unit.free();
    heap.verify();
  });

  test('a body a call or a pin keeps goes on retired with its table, which goes when the retired body does', () => {
    const told: Told[] = [];
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: recording(told) });
    const unit = heap.define({ functions: [{ name: 'f', ...body() }] });
    const at = heap.node('f')!.address;
    const pin = heap.pin(unit.get('f'));
    heap.redefine(unit.get('f'), asm().ret().build());
    expect(told.filter((t) => t[0] === 'freed')).toEqual([]);
    pin.release();
    expect(told.filter((t) => t[0] === 'freed')).toEqual([['freed', at]]);
    unit.free();
    heap.verify();
  });

  test('garbage freed by the collector takes its tables with it; a heap whose functions have none tells nothing', () => {
    const told: Told[] = [];
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: recording(told) });
    const unit = heap.define({ functions: [{ name: 'a', ...asm().call('b').ret().build(), unwind: table(0, 6) }, { name: 'b', ...asm().call('a').ret().build(), unwind: table(0, 6) }] });
    const held = ['a', 'b'].map((n) => heap.lookup(n));
    const addresses = ['a', 'b'].map((n) => heap.node(n)!.address).sort();
    unit.free();
    for (const h of held) h.free();
    told.length = 0;
    heap.collectCycles();
    expect(told.map((t) => t[1]).sort()).toEqual(addresses);
    told.length = 0;
    heap.define({ functions: [{ name: 'plain', ...asm().ret().build() }] }).free();
    expect(told).toEqual([]);
    heap.verify();
  });

  test('a table that is not one the heap takes is INVALID_ARGUMENT naming the function and where, and nothing is defined', () => {
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: recording([]) });
    const code = asm().nop(4).ret().build();
    const cases: [unknown, RegExp][] = [
      ['eh', /unwind must be a Uint8Array/],
      [table().subarray(0, 30), /^f: unwind table at \+0x18: an FDE's length 20 does not fit/],
      [table(0, 4, 'zRS'), /augmentation "zRS"; "zR", "zPR", "zLR" and "zPLR" are taken/],
      [table(2, 9), /the FDE covers \[\+0x2, \+0xb\), outside the 5 bytes of code/],
      [table().subarray(0, 0x18), /no FDE follows the CIE/],
    ];
    for (const [unwind, message] of cases) {
      expect(expectCode(() => heap.define({ functions: [{ name: 'f', ...code, unwind: unwind as Uint8Array }] }), 'INVALID_ARGUMENT').message).toMatch(message);
      expect(heap.node('f')).toBeUndefined();
    }
    heap.verify();
  });
});
