// Reusable laws of the code heap, checked through the public API only.
//
// Each helper names the law it checks and fails with a message that says which node, site or
// figure broke it. They take plain data (names, handles, addresses, expected numbers), not a
// particular model, so any suite can use them: the model-based suite computes the expectations
// with its naive model, example tests write them by hand.

import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { CodeHeapError, type CodeHeap, type ErrorCode, type Handle, type HeapStats, type NodeInfo } from '../../src/index.js';
import type { RelocationType } from '../../src/index.js';

const TWO_POW_32 = 0x1_0000_0000;

/**
 * expect(actual, what).toEqual(expected), at the cost of a comparison when they agree. The suites
 * check thousands of facts per run; vitest's expect() records state on every call and would take
 * most of the time.
 */
export function same<T>(actual: T, expected: T, what: string): void {
  if (actual === expected || isDeepStrictEqual(actual, expected)) return;
  expect(actual, what).toEqual(expected);
}

export const FIELD_WIDTH: Readonly<Record<RelocationType, 4 | 8>> = {
  R_X86_64_64: 8,
  R_X86_64_PC32: 4,
  R_X86_64_PLT32: 4,
  R_X86_64_32: 4,
  R_X86_64_32S: 4,
  R_X86_64_PC64: 8,
};

export function isPcRelative(type: RelocationType): boolean {
  return type === 'R_X86_64_PC32' || type === 'R_X86_64_PLT32';
}

/** The value a relocation field must hold: S + A, or S + A - P (System V psABI). */
export function relocationValue(type: RelocationType, S: number, A: number, P: number): number {
  return isPcRelative(type) ? S + A - P : S + A;
}

/** Whether a computed value fits the field of its type. */
export function fitsField(type: RelocationType, value: number): boolean {
  switch (type) {
    case 'R_X86_64_64': return Number.isSafeInteger(value);
    case 'R_X86_64_32': return value >= 0 && value <= 0xffff_ffff;
    default: return value >= -0x8000_0000 && value <= 0x7fff_ffff;
  }
}

/**
 * The value a field at address P decodes to, read with heap.read: 4 bytes signed (PC32, PLT32,
 * 32S) or unsigned (32), or 8 bytes little-endian two's complement (64).
 */
export function readField(heap: CodeHeap, P: number, type: RelocationType): number {
  const bytes = heap.read(P, FIELD_WIDTH[type]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'R_X86_64_64') return view.getInt32(4, true) * TWO_POW_32 + view.getUint32(0, true);
  return type === 'R_X86_64_32' ? view.getUint32(0, true) : view.getInt32(0, true);
}

export interface ExpectedSite {
  /** Who owns the field, for messages: `f+0x8 -> g`. */
  readonly what: string;
  readonly P: number;
  readonly type: RelocationType;
  /** The target's current address (body, trampoline, stub or external). */
  readonly S: number;
  readonly A: number;
}

/** Law (semantics 7): every site's bytes decode to its target's current address. */
export function expectSiteEncodes(heap: CodeHeap, site: ExpectedSite): void {
  const actual = readField(heap, site.P, site.type);
  const expected = relocationValue(site.type, site.S, site.A, site.P);
  if (actual !== expected) {
    expect.fail(`${site.what}: the ${site.type} field at 0x${site.P.toString(16)} holds 0x${actual.toString(16)}, `
      + `expected 0x${expected.toString(16)} (S = 0x${site.S.toString(16)}, A = ${site.A})`);
  }
}

/**
 * Decodes an x86-64 indirection stub (`FF 25 disp32 CC CC`, DESIGN "stub layout"): returns its
 * pointer slot's address and the value the slot holds.
 */
export function decodeStub(heap: CodeHeap, stubAddress: number, what: string): { slot: number; target: number } {
  const code = heap.read(stubAddress, 8);
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  if (code[0] !== 0xff || code[1] !== 0x25 || code[6] !== 0xcc || code[7] !== 0xcc) {
    expect.fail(`${what} at 0x${stubAddress.toString(16)} is not jmp qword [rip+disp32]: ${[...code].map((b) => b.toString(16)).join(' ')}`);
  }
  const slot = stubAddress + 6 + view.getInt32(2, true);
  return { slot, target: readField(heap, slot, 'R_X86_64_64') };
}

export interface ExpectedRc {
  readonly what: string;
  /** A function or global name, or a handle (stub handles too). */
  readonly subject: string | Handle;
  readonly rc: number;
}

/** Law (semantics 1): rc(n) = sites targeting n + handles on n + pins on n. */
export function expectRcMatches(heap: CodeHeap, expected: readonly ExpectedRc[]): void {
  for (const { what, subject, rc } of expected) {
    const info = heap.node(subject);
    if (info === undefined) expect.fail(`${what}: node() finds no live node`);
    if (info.rc !== rc) expect.fail(`${what}: rc ${info.rc}, the model counts ${rc}`);
  }
}

/** Law (smoke): verify() finds no broken invariant. */
export function expectVerifies(heap: CodeHeap): void {
  try {
    heap.verify();
  } catch (error) {
    expect.fail(`verify() failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Runs call, which must throw a CodeHeapError with this code; returns the error. */
export function expectCodeHeapError(call: () => unknown, code: ErrorCode): CodeHeapError {
  try {
    call();
  } catch (error) {
    if (!(error instanceof CodeHeapError)) {
      expect.fail(`expected CodeHeapError ${code}, got ${error instanceof Error ? error.stack : String(error)}`);
    }
    if (error.code !== code) expect.fail(`expected CodeHeapError ${code}, got ${error.message}`);
    return error;
  }
  return expect.fail(`expected CodeHeapError ${code}, but the call returned`);
}

/** Everything observable about a heap through its public reading calls. */
export interface Snapshot {
  readonly stats: HeapStats;
  /** node() of every subject, in the order given (undefined when none). */
  readonly nodes: (NodeInfo | undefined)[];
  readonly code: Uint8Array;
  readonly data: Uint8Array;
}

export function snapshot(heap: CodeHeap, subjects: readonly (string | Handle)[]): Snapshot {
  const stats = heap.stats();
  return {
    stats,
    nodes: subjects.map((s) => heap.node(s)),
    code: heap.read(stats.code.address, stats.code.size),
    data: heap.read(stats.data.address, stats.data.size),
  };
}

export interface Allowance {
  /**
   * Collections the failed call ran. DESIGN lets define/declare run one before reporting
   * DUPLICATE_SYMBOL against a live name, and every allocation one before OUT_OF_MEMORY. A
   * collection is visible in stats().collections and empties the candidate buffer (candidates,
   * metadata); when it frees nothing, nothing else may differ. (When it frees garbage, compare
   * against a model instead: the snapshot law does not apply.)
   */
  readonly collections: number;
  /**
   * Nodes the call held through its retry collection (the symbols a linking call names) and let
   * go when it failed: each goes back into the candidate buffer, since it may sit on a garbage
   * cycle the collection saw as live only because it was held.
   */
  readonly held?: number;
}

/** Stats with the figures a permitted collection may change taken out. */
function comparableStats(stats: HeapStats, allowance: Allowance): unknown {
  if (allowance.collections === 0) return stats;
  const { collections: _collections, candidates: _candidates, metadata: _metadata, ...rest } = stats;
  return rest;
}

/** Law (validate first, then mutate): a call that throws changes nothing. */
export function expectUnchanged(before: Snapshot, after: Snapshot, allowance: Allowance, what: string): void {
  same(comparableStats(after.stats, allowance), comparableStats(before.stats, allowance), `${what}: stats() changed`);
  if (allowance.collections > 0) {
    same(after.stats.collections, before.stats.collections + allowance.collections, `${what}: collections`);
    const limit = before.stats.candidates + (allowance.held ?? 0);
    if (after.stats.candidates > limit) expect.fail(`${what}: candidates grew from ${before.stats.candidates} to ${after.stats.candidates} (at most ${allowance.held ?? 0} held symbols may return)`);
  }
  same(after.nodes, before.nodes, `${what}: node() changed`);
  expectSameBytes(before.code, after.code, `${what}: code arena`);
  expectSameBytes(before.data, after.data, `${what}: data arena`);
}

function expectSameBytes(before: Uint8Array, after: Uint8Array, what: string): void {
  if (before.length !== after.length) expect.fail(`${what}: ${before.length} bytes before, ${after.length} after`);
  if (Buffer.compare(before, after) === 0) return;
  let at = 0;
  while (before[at] === after[at]) at++;
  expect.fail(`${what}: byte ${at} changed from 0x${before[at]!.toString(16)} to 0x${after[at]!.toString(16)}`);
}

/**
 * Law: a failing call throws the expected error (one of the CodeHeapError codes given, or the very
 * error object a compile callback threw) and leaves stats, node() of every subject and both arenas
 * unchanged. `allowance` may depend on the code thrown. Returns that code (undefined for an error
 * object).
 */
export function expectFailureChangesNothing(
  heap: CodeHeap,
  subjects: readonly (string | Handle)[],
  expected: ErrorCode | readonly ErrorCode[] | { readonly error: unknown },
  call: () => unknown,
  allowance: Allowance | ((code: ErrorCode | undefined) => Allowance),
  what: string,
): ErrorCode | undefined {
  const before = snapshot(heap, subjects);
  let thrown: unknown;
  let returned = false;
  try {
    call();
    returned = true;
  } catch (error) {
    thrown = error;
  }
  let code: ErrorCode | undefined;
  if (typeof expected === 'object' && 'error' in expected) {
    if (thrown !== expected.error) expect(thrown, `${what}: the compile callback's own error reaches the caller`).toBe(expected.error);
  } else {
    const codes: readonly ErrorCode[] = typeof expected === 'string' ? [expected] : expected;
    if (returned) expect.fail(`${what}: expected CodeHeapError ${codes.join(' or ')}, but the call returned`);
    if (!(thrown instanceof CodeHeapError)) {
      expect.fail(`${what}: expected CodeHeapError ${codes.join(' or ')}, got ${thrown instanceof Error ? thrown.stack : String(thrown)}`);
    }
    if (!codes.includes(thrown.code)) expect.fail(`${what}: expected CodeHeapError ${codes.join(' or ')}, got ${thrown.message}`);
    code = thrown.code;
  }
  const allowed = typeof allowance === 'function' ? allowance(code) : allowance;
  expectUnchanged(before, snapshot(heap, subjects), allowed, what);
  return code;
}

/** Law: blocks of live nodes never overlap and lie inside their arena. */
export function expectDisjoint(
  blocks: readonly { readonly what: string; readonly address: number; readonly size: number }[],
  arena: { readonly address: number; readonly size: number; readonly name: string },
): void {
  const sorted = [...blocks].sort((a, b) => a.address - b.address);
  for (const block of sorted) {
    if (block.address < arena.address || block.address + block.size > arena.address + arena.size) {
      expect.fail(`${block.what} [0x${block.address.toString(16)}, +${block.size}) lies outside the ${arena.name} arena`);
    }
  }
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const next = sorted[i]!;
    if (prev.address + prev.size > next.address) {
      expect.fail(`${prev.what} [0x${prev.address.toString(16)}, +${prev.size}) overlaps ${next.what} at 0x${next.address.toString(16)}`);
    }
  }
}
