// The one relocation applier (src/reloc/apply.ts): its modes, and which kinds a heap's span
// settles (a site of a settled kind with its usual addend needs no range check inside the heap).

import { describe, expect, test } from 'vitest';
import * as apply from '../../src/reloc/apply.js';
import { x86_64 } from '../../src/reloc/x86-64.js';

const { APPLIED, CHECK, MISMATCH, OUT_OF_RANGE, VERIFY, WRITE, applyRelocation, settledKinds } = apply;
const kind = (name: string) => x86_64.kind(name)!;

describe('applyRelocation', () => {
  test('CHECK refuses what does not fit, WRITE encodes, VERIFY compares', () => {
    const view = new DataView(new ArrayBuffer(16));
    const pc32 = kind('R_X86_64_PC32');
    expect(applyRelocation(x86_64, view, CHECK, pc32, 0, 0x4000_1000, -4, 0x4000_0000)).toBe(APPLIED);
    expect(applyRelocation(x86_64, view, CHECK, pc32, 0, 0x7fff_0000_0000, -4, 0x4000_0000)).toBe(OUT_OF_RANGE);
    expect(applyRelocation(x86_64, view, WRITE, pc32, 4, 0x4000_1000, -4, 0x4000_0000)).toBe(APPLIED);
    expect(view.getInt32(4, true)).toBe(0x1000 - 4);
    expect(applyRelocation(x86_64, view, VERIFY, pc32, 4, 0x4000_1000, -4, 0x4000_0000)).toBe(APPLIED);
    expect(applyRelocation(x86_64, view, VERIFY, pc32, 4, 0x4000_1008, -4, 0x4000_0000)).toBe(MISMATCH);
    expect(applyRelocation(x86_64, view, VERIFY, kind('R_X86_64_32'), 8, -8, 0, 0)).toBe(OUT_OF_RANGE);
  });
});

describe('settledKinds', () => {
  const settled = (low: number, high: number): string[] =>
    x86_64.kinds.filter((k) => settledKinds(x86_64, low, high)[k.id] === 1).map((k) => k.name);

  test('a heap at 1 GiB settles every kind: all its addresses fit 32 bits, signed or not', () => {
    expect(settled(0x4000_0000, 0x4010_0000)).toEqual(['R_X86_64_64', 'R_X86_64_PC32', 'R_X86_64_PLT32', 'R_X86_64_32', 'R_X86_64_32S', 'R_X86_64_PC64']);
  });

  test('straddling 2^31 unsettles R_X86_64_32S; above 4 GiB, R_X86_64_32 too', () => {
    expect(settled(0x7fff_0000, 0x8001_0000)).not.toContain('R_X86_64_32S');
    expect(settled(0x7fff_0000, 0x8001_0000)).toContain('R_X86_64_32');
    expect(settled(0x1_0000_0000, 0x1_0010_0000)).toEqual(['R_X86_64_64', 'R_X86_64_PC32', 'R_X86_64_PLT32', 'R_X86_64_PC64']);
  });

  test('a span of 2 GiB unsettles the PC-relative kinds: -4 past the far end does not fit', () => {
    expect(settled(0x1000_0000, 0x1000_0000 + 2 ** 31)).not.toContain('R_X86_64_PC32');
    expect(settled(0x1000_0000, 0x1000_0000 + 2 ** 31 - 8)).toContain('R_X86_64_PC32');
  });
});
