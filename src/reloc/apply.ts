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
import { fits, relocationValue } from './architecture.js';

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
 * the value for S (the target's address) and A (the addend), checked against the field's range,
 * then, as `mode` says, nothing more, encoded, or compared with the field's bytes.
 */
export function applyRelocation(
  arch: Architecture, view: DataView, mode: ApplyMode, kind: RelocationKind, loc: number, S: number, A: number, P: number,
): Applied {
  const value = relocationValue(kind, S, A, P);
  if (!fits(kind, value)) return OUT_OF_RANGE;
  if (mode === WRITE) arch.write(view, loc, kind, value);
  else if (mode === VERIFY && arch.read(view, loc, kind) !== value) return MISMATCH;
  return APPLIED;
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
