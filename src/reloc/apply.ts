// Applying a relocation: the one place a relocation's value is computed, range-checked, written
// and compared, as Cranelift's perform_relocations is for its module.
//
// The linker checks every planned site with it (CHECK) and writes them (WRITE); backpatching
// rewrites every site of a moved target with it; verify() compares every site with it (VERIFY).
// Callers find the target's address S (a resolver of their own: a planned slot, a node's current
// address) and the field's address P; what S + A (- P) means for a type, what fits its field and
// how it is encoded is decided here and in the architecture's table (x86-64.ts). Adding a
// relocation type or an architecture changes reloc/ only.

import type { Architecture, RelocationKind } from './architecture.js';
import * as architecture from './architecture.js';

// Imported functions, bound to module constants (README, Architecture): this runs once per site.
const { fits, relocationValue } = architecture;

/** Compute and range-check only. */
export const CHECK = 0;
/** Compute, range-check and encode into the field. */
export const WRITE = 1;
/** Compute and compare with what the field holds. */
export const VERIFY = 2;
export type ApplyMode = typeof CHECK | typeof WRITE | typeof VERIFY;

/** applyRelocation's answers. */
export const APPLIED = 0;
/** The value does not fit the field (nothing was written). */
export const OUT_OF_RANGE = 1;
/** VERIFY only: the field holds another value. */
export const MISMATCH = 2;
export type Applied = typeof APPLIED | typeof OUT_OF_RANGE | typeof MISMATCH;

/**
 * Applies one relocation of `kind` whose field is at local position `loc` (target address P):
 * the value for S (the target's address) and A (the addend), then, as `mode` says: checked
 * against the field's range (CHECK), encoded (WRITE: Pre: a CHECK of it passed, so it is not
 * checked twice), or checked and compared with the field's bytes (VERIFY).
 */
export function applyRelocation(
  arch: Architecture, view: DataView, mode: ApplyMode, kind: RelocationKind, loc: number, S: number, A: number, P: number,
): Applied {
  const value = relocationValue(kind, S, A, P);
  if (mode === WRITE) {
    arch.write(view, loc, kind, value);
    return APPLIED;
  }
  if (!fits(kind, value)) return OUT_OF_RANGE;
  return mode === VERIFY && arch.read(view, loc, kind) !== value ? MISMATCH : APPLIED;
}

/**
 * Per kind id: 1 when a relocation of that kind with its usual addend fits its field for every
 * target address S and field address P in [low, high), the heap's span. A site whose fit is so
 * settled needs no range check when its target moves inside the heap (or when it is linked to a
 * node of the heap): S + A - P lies in (low - high + A, high - low + A), S + A in [low + A, high + A).
 */
export function settledKinds(arch: Architecture, low: number, high: number): Uint8Array {
  const settled = new Uint8Array(arch.kinds.length);
  for (const kind of arch.kinds) {
    const A = kind.usualAddend;
    const least = kind.pcRelative ? low - (high - 1) + A : low + A;
    const most = kind.pcRelative ? (high - 1) - low + A : high - 1 + A;
    settled[kind.id] = fits(kind, least) && fits(kind, most) ? 1 : 0;
  }
  return settled;
}

/** The computation of a value for a message: `S + A - P = ...` or `S + A = ...`, in hex. */
export function describeValue(kind: RelocationKind, S: number, A: number, P: number): string {
  const value = relocationValue(kind, S, A, P);
  return kind.pcRelative
    ? `S + A - P = ${hex(S)} + ${A} - ${hex(P)} = ${hex(value)}`
    : `S + A = ${hex(S)} + ${A} = ${hex(value)}`;
}

function hex(value: number): string {
  return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}
