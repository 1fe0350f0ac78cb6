// x86-64 relocations: the System V AMD64 psABI types a JIT emits for code and data.
//
// Implements the calculations of psABI table 4.10 for the six types below. Departure from the
// psABI: R_X86_64_PLT32 is computed as L + A - P with L the callee's body (or its stub when the
// callee is external and out of rel32 reach), which is what a static linker does when it
// resolves a PLT call locally.
//
//   type            field  value        fits when
//   R_X86_64_64     u64    S + A        any (two's complement, 64 bits)
//   R_X86_64_PC32   s32    S + A - P    -2^31 <= v < 2^31
//   R_X86_64_PLT32  s32    L + A - P    -2^31 <= v < 2^31
//   R_X86_64_32     u32    S + A        0 <= v < 2^32   (zero-extended by the CPU)
//   R_X86_64_32S    s32    S + A        -2^31 <= v < 2^31 (sign-extended by the CPU)
//   R_X86_64_PC64   s64    S + A - P    any (64-bit differences in data: `.quad f - .`)

import type { Architecture, RelocationKind } from './architecture.js';

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const UINT32_MAX = 0xffff_ffff;
const TWO_POW_32 = 0x1_0000_0000;

const kinds: readonly RelocationKind[] = [
  {
    name: 'R_X86_64_64', id: 0, width: 8, pcRelative: false,
    min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER,
    bodyByDefault: false, usualAddend: 0,
  },
  {
    name: 'R_X86_64_PC32', id: 1, width: 4, pcRelative: true,
    min: INT32_MIN, max: INT32_MAX, bodyByDefault: false, usualAddend: -4,
  },
  {
    name: 'R_X86_64_PLT32', id: 2, width: 4, pcRelative: true,
    min: INT32_MIN, max: INT32_MAX, bodyByDefault: true, usualAddend: -4,
  },
  {
    name: 'R_X86_64_32', id: 3, width: 4, pcRelative: false,
    min: 0, max: UINT32_MAX, bodyByDefault: false, usualAddend: 0,
  },
  {
    name: 'R_X86_64_32S', id: 4, width: 4, pcRelative: false,
    min: INT32_MIN, max: INT32_MAX, bodyByDefault: false, usualAddend: 0,
  },
  {
    name: 'R_X86_64_PC64', id: 5, width: 8, pcRelative: true,
    min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, bodyByDefault: false, usualAddend: 0,
  },
];

const byName = new Map(kinds.map((k) => [k.name, k]));

/** The id of R_X86_64_64: stub pointer slots are sites of this kind. */
export const R_X86_64_64 = 0;

export const x86_64: Architecture = {
  name: 'x86_64',
  kinds,
  kind: (name) => byName.get(name),

  write(view, pos, kind, value) {
    if (kind.width === 8) {
      // ToUint32 reduces any safe integer modulo 2^32, negatives included; the high word is the
      // floor quotient, so -1 becomes 0xffffffff_ffffffff as two's complement requires.
      view.setUint32(pos, value >>> 0, true);
      view.setUint32(pos + 4, Math.floor(value / TWO_POW_32) >>> 0, true);
    } else {
      view.setUint32(pos, value >>> 0, true);
    }
  },

  read(view, pos, kind) {
    if (kind.width === 8) {
      return view.getInt32(pos + 4, true) * TWO_POW_32 + view.getUint32(pos, true);
    }
    return kind.min === 0 ? view.getUint32(pos, true) : view.getInt32(pos, true);
  },
};
