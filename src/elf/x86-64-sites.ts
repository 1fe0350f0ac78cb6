// What an x86-64 relocation of an object means for the heap: its ELF type number, how the
// instruction around it uses the address, and the GOT relaxations a static linker performs.
//
// gcc calls a static function with R_X86_64_PC32, not PLT32, so the type alone does not say
// whether a rel32 is a call: the opcode in front of the field does. A rel32 is the last field of
//
//   call rel32        E8 [rel32]            jmp rel32     E9 [rel32]
//   jcc rel32         0F 8x [rel32]         (a branch: a body reference, backpatched)
//   lea/mov/cmp ...   [REX] op modrm [rel32] with modrm = 00 reg 101 (RIP-relative: data or a pointer)
//
// A RIP-relative ModRM byte has mod 00 and r/m 101, so (modrm & 0xC7) === 0x05; no such byte
// equals E8 or E9 or has the high nibble 8 in the jcc position, so the opcode test cannot confuse
// an operand for a branch.
//
// GOT relaxation (psABI appendix B.2, what ld does for GOTPCRELX when the target is local):
//
//   mov foo@GOTPCREL(%rip), %reg   [REX] 8B modrm [rel32]  ->  [REX] 8D modrm [rel32]   lea foo(%rip), %reg
//   call *foo@GOTPCREL(%rip)       FF 15 [rel32]           ->  67 E8 [rel32]            addr32 call foo
//   jmp *foo@GOTPCREL(%rip)        FF 25 [rel32]           ->  E9 [rel32] 90            jmp foo; nop
//
// Anything else that reads the GOT (push, test, an arithmetic operand) keeps its GOT entry.

import type { RelocationType } from '../types.js';

export const R_X86_64_NONE = 0;
export const R_X86_64_64 = 1;
export const R_X86_64_PC32 = 2;
export const R_X86_64_GOT32 = 3;
export const R_X86_64_PLT32 = 4;
export const R_X86_64_GOTPCREL = 9;
export const R_X86_64_32 = 10;
export const R_X86_64_32S = 11;
export const R_X86_64_TLSGD = 19;
export const R_X86_64_TLSLD = 20;
export const R_X86_64_DTPOFF32 = 21;
export const R_X86_64_GOTTPOFF = 22;
export const R_X86_64_TPOFF32 = 23;
export const R_X86_64_PC64 = 24;
export const R_X86_64_GOTOFF64 = 25;
export const R_X86_64_GOTPC32 = 26;
export const R_X86_64_GOT64 = 27;
export const R_X86_64_GOTPCREL64 = 28;
export const R_X86_64_GOTPC64 = 29;
export const R_X86_64_PLTOFF64 = 31;
export const R_X86_64_SIZE32 = 32;
export const R_X86_64_SIZE64 = 33;
export const R_X86_64_GOTPCRELX = 41;
export const R_X86_64_REX_GOTPCRELX = 42;

/** The heap's name of each type the heap itself applies. */
const HEAP_TYPES: Readonly<Record<number, RelocationType>> = {
  [R_X86_64_64]: 'R_X86_64_64', [R_X86_64_PC32]: 'R_X86_64_PC32', [R_X86_64_PLT32]: 'R_X86_64_PLT32',
  [R_X86_64_32]: 'R_X86_64_32', [R_X86_64_32S]: 'R_X86_64_32S', [R_X86_64_PC64]: 'R_X86_64_PC64',
};

/** Thread-local storage types: refused at load (the heap has no TLS block to give an object). */
const TLS_TYPES: Readonly<Record<number, string>> = {
  [R_X86_64_TLSGD]: 'R_X86_64_TLSGD', [R_X86_64_TLSLD]: 'R_X86_64_TLSLD', [R_X86_64_DTPOFF32]: 'R_X86_64_DTPOFF32',
  [R_X86_64_GOTTPOFF]: 'R_X86_64_GOTTPOFF', [R_X86_64_TPOFF32]: 'R_X86_64_TPOFF32', 16: 'R_X86_64_DTPMOD64',
  17: 'R_X86_64_DTPOFF64', 18: 'R_X86_64_TPOFF64', 34: 'R_X86_64_GOTPC32_TLSDESC', 35: 'R_X86_64_TLSDESC_CALL',
  36: 'R_X86_64_TLSDESC',
};

const OTHER_TYPES: Readonly<Record<number, string>> = {
  [R_X86_64_NONE]: 'R_X86_64_NONE', [R_X86_64_GOT32]: 'R_X86_64_GOT32', 5: 'R_X86_64_COPY', 6: 'R_X86_64_GLOB_DAT',
  7: 'R_X86_64_JUMP_SLOT', 8: 'R_X86_64_RELATIVE', [R_X86_64_GOTPCREL]: 'R_X86_64_GOTPCREL', 12: 'R_X86_64_16',
  13: 'R_X86_64_PC16', 14: 'R_X86_64_8', 15: 'R_X86_64_PC8', [R_X86_64_GOTOFF64]: 'R_X86_64_GOTOFF64',
  [R_X86_64_GOTPC32]: 'R_X86_64_GOTPC32', [R_X86_64_GOT64]: 'R_X86_64_GOT64', [R_X86_64_GOTPCREL64]: 'R_X86_64_GOTPCREL64',
  [R_X86_64_GOTPC64]: 'R_X86_64_GOTPC64', 30: 'R_X86_64_GOTPLT64', [R_X86_64_PLTOFF64]: 'R_X86_64_PLTOFF64', [R_X86_64_SIZE32]: 'R_X86_64_SIZE32', [R_X86_64_SIZE64]: 'R_X86_64_SIZE64',
  37: 'R_X86_64_IRELATIVE', 38: 'R_X86_64_RELATIVE64', [R_X86_64_GOTPCRELX]: 'R_X86_64_GOTPCRELX',
  [R_X86_64_REX_GOTPCRELX]: 'R_X86_64_REX_GOTPCRELX',
};

/** The heap's name for a type it applies itself, or undefined. */
export function heapType(type: number): RelocationType | undefined {
  return Object.hasOwn(HEAP_TYPES, type) ? HEAP_TYPES[type] : undefined;
}

/** A type's psABI name for messages. */
export function typeName(type: number): string {
  for (const table of [HEAP_TYPES, TLS_TYPES, OTHER_TYPES]) if (Object.hasOwn(table, type)) return table[type]!;
  return `type ${type}`;
}

export function isTls(type: number): boolean {
  return Object.hasOwn(TLS_TYPES, type);
}

/** The large code model's GOT-relative types (64-bit offsets from the GOT base). */
export function isLargeModel(type: number): boolean {
  return type === R_X86_64_GOTOFF64 || type === R_X86_64_GOT64 || type === R_X86_64_GOTPCREL64 || type === R_X86_64_GOTPC64 || type === R_X86_64_PLTOFF64;
}

export function isGotLoad(type: number): boolean {
  return type === R_X86_64_GOTPCREL || type === R_X86_64_GOTPCRELX || type === R_X86_64_REX_GOTPCRELX;
}

/** Whether the rel32 at `offset` of code is the operand of a call, jmp or jcc. */
export function isBranch(code: Uint8Array, offset: number): boolean {
  const op = offset >= 1 ? code[offset - 1]! : -1;
  if (op === 0xe8 || op === 0xe9) return true;
  return offset >= 2 && code[offset - 2] === 0x0f && (op & 0xf0) === 0x80;
}

/** How a GOTPCRELX site may be relaxed: to `lea` (a pointer), to a direct call or jump, or not at all. */
export type Relaxation = 'lea' | 'call' | 'jmp' | 'none';

export function relaxationOf(code: Uint8Array, offset: number, type: number, addend: number): Relaxation {
  if ((type !== R_X86_64_GOTPCRELX && type !== R_X86_64_REX_GOTPCRELX) || addend !== -4 || offset < 2) return 'none';
  const op = code[offset - 2]!;
  const modrm = code[offset - 1]!;
  if (op === 0x8b && (modrm & 0xc7) === 0x05) return 'lea';
  if (op === 0xff && modrm === 0x15) return 'call';
  if (op === 0xff && modrm === 0x25) return 'jmp';
  return 'none';
}

/**
 * Rewrites the instruction around a GOT load (see the table above) and returns the offset of the
 * rel32 field of the result, whose addend stays the same.
 */
export function relax(code: Uint8Array, offset: number, how: Exclude<Relaxation, 'none'>): number {
  if (how === 'lea') {
    code[offset - 2] = 0x8d;
    return offset;
  }
  if (how === 'call') {
    code[offset - 2] = 0x67;
    code[offset - 1] = 0xe8;
    return offset;
  }
  // jmp: E9 rel32 then a nop, one byte earlier; the jump still ends where the old one did, less one.
  code[offset - 2] = 0xe9;
  code[offset + 3] = 0x90;
  return offset - 1;
}
