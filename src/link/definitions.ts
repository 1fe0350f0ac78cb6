// Reading what a JIT hands in: units of functions and globals, and replacement bodies.
//
// Every caller-supplied object is read exactly once, here, into a snapshot the rest of the link
// trusts: each property once, each array's length and each element once, each byte view copied
// at once through its internal slots (a subclass's getters, a proxy's traps and a resizable
// buffer's later size change nothing). Validation then looks only at the snapshot, so an input
// that changes between two reads (a getter, a proxy, a buffer resized by a callback) cannot make a
// checked value differ from a used one. A read that throws (a getter, a revoked proxy) is
// INVALID_ARGUMENT with the thrown value as its cause.
//
// The shape is checked here (the "shape" stage: names, code, data, sizes, alignment, a name given
// twice in one unit); relocation fields are snapshotted raw and checked by the planner, after the
// heap has looked for live duplicate names.

import * as base from '../base.js';
import { isAlignment, uint8Length } from '../base.js';
import { CodeHeapError, invalid, show } from '../errors.js';
import { NameTable } from '../name-table.js';
import type { CompileCallback } from '../types.js';
import type { CheckedLines } from '../heap/region.js';
import { readLines, snapshotLines } from './lines.js';
import { readUnwind, snapshotUnwind, type UnwindTemplate } from './unwind.js';
import { ByteSnapshot, NO_RELOCATIONS, RelocationColumns } from './snapshot.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, FUNCTION_ALIGN, GLOBAL, GLOBAL_ALIGN, MAX_ALIGN, NONE } = base;

/** A function or global to link, as the planner takes it. */
export interface Definition {
  readonly kind: typeof FUNCTION | typeof GLOBAL;
  readonly name: string;
  /**
   * The copied bytes of its unit; its own initial bytes are [bytesAt, bytesAt + byteLength) there
   * (a global's may be shorter than its size: the rest is zero).
   */
  readonly bytes: ByteSnapshot;
  readonly bytesAt: number;
  readonly byteLength: number;
  readonly size: number;
  readonly align: number;
  /** The relocations of its unit as read; its own are [firstRelocation, + relocationCount). */
  readonly relocations: RelocationColumns;
  readonly firstRelocation: number;
  readonly relocationCount: number;
  readonly compile: CompileCallback | undefined;
  /** The function whose body this replaces (redefine, materialize), or NONE for a new node. */
  readonly replaces: number;
  /**
   * A replacement only: the old body stays after the swap (retired: a pin or a running call may
   * be in it), so its own sites to the function are backpatched with everyone else's.
   */
  readonly keepsOld: boolean;
  /** A global the CPU may only read once it is linked (GlobalDefinition.readOnly): on pages of its own. */
  readonly readOnly: boolean;
  /** A function's unwind table (FunctionBody.unwind), checked: unwind.ts. */
  readonly unwind: UnwindTemplate | undefined;
  /** A function's line table (FunctionBody.lines), checked: lines.ts. */
  readonly lines: CheckedLines | undefined;
}

/** Runs `read` over caller input; anything it throws that is not ours becomes INVALID_ARGUMENT. */
export function readInput<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof CodeHeapError) throw error;
    return invalid(`${what}: reading it threw ${describeThrown(error)}`, error);
  }
}

/** A unit's definitions, and its names to their index (distinct: DUPLICATE_SYMBOL otherwise). */
export interface UnitDefinitions {
  readonly definitions: Definition[];
  readonly names: NameTable;
}

/** The definitions of a unit (define). Post: names are distinct. */
export function unitDefinitions(unit: unknown): UnitDefinitions {
  return readInput('define', () => {
    if (typeof unit !== 'object' || unit === null) invalid(`define takes { functions, globals }, got ${show(unit)}`);
    const { functions, globals } = unit as { functions?: unknown; globals?: unknown };
    const result: Definition[] = [];
    const functionList = elements(functions ?? [], 'unit.functions');
    const into = new Snapshot(functionList.length);
    for (let i = 0; i < functionList.length; i++) {
      const f = functionList[i];
      if (typeof f !== 'object' || f === null) invalid(`a function definition must be an object, got ${show(f)}`);
      const { name, compile } = f as Record<string, unknown>;
      into.readBody(f as Record<string, unknown>);
      checkName(name, 'function');
      if (compile !== undefined && typeof compile !== 'function') invalid(`${name}: compile must be a function, got ${show(compile)}`);
      result.push(functionDefinition(name, into, compile as CompileCallback | undefined, NONE, false));
    }
    const globalList = elements(globals ?? [], 'unit.globals');
    for (let i = 0; i < globalList.length; i++) {
      const g = globalList[i];
      if (typeof g !== 'object' || g === null) invalid(`a global definition must be an object, got ${show(g)}`);
      result.push(globalDefinition(g as Record<string, unknown>, into));
    }
    const names = new NameTable(result.length);
    for (let i = 0; i < result.length; i++) {
      const { name } = result[i]!;
      // One hash operation per name: a set of a name the table held met it before.
      if (!names.set(name, i)) throw new CodeHeapError('DUPLICATE_SYMBOL', `${name} is defined twice in one unit`);
    }
    return { definitions: result, names };
  });
}

/**
 * A new body for the existing function `fn` named `name` (redefine, or what a compile callback
 * returned): `{ code, relocations?, align? }`, read once.
 */
export function replacementBody(name: string, body: unknown, fn: number, compile: CompileCallback | undefined, keepsOld: boolean): Definition {
  return readInput(name, () => {
    if (typeof body !== 'object' || body === null) invalid(`${name}: a function body must be { code, relocations? }, got ${show(body)}`);
    const into = new Snapshot(1);
    into.readBody(body as Record<string, unknown>);
    return functionDefinition(name, into, compile, fn, keepsOld);
  });
}

/** Where a unit's input is copied as it is read: its bytes, and its relocations (snapshot.ts). */
class Snapshot {
  readonly bytes: ByteSnapshot;
  /** Made on the first relocation: most replacement bodies have none. */
  private columns: RelocationColumns | null = null;

  /** `definitions`: how many the unit has, to size the copies (a guess of 32 bytes and one relocation each). */
  constructor(private readonly definitions: number) {
    this.bytes = new ByteSnapshot(definitions * 32);
  }

  get relocations(): RelocationColumns {
    return this.columns ??= new RelocationColumns(this.definitions);
  }

  /** The columns definitions point at: the shared empty ones while the unit has no relocation. */
  get relocationsOrNone(): RelocationColumns {
    return this.columns ?? NO_RELOCATIONS;
  }

  // The body read last (readBody), its fields kept here rather than in an object per function.
  code: unknown = undefined;
  /** Where its code was copied, or -1 when code is not a Uint8Array. */
  codeAt = -1;
  codeLength = -1;
  relocationList: unknown = undefined;
  /** Where its relocations were read to, or -1 when relocations is not an array. */
  firstRelocation = -1;
  align: unknown = undefined;
  /** The body's unwind table as given (judged with the rest: functionDefinition). */
  unwind: unknown = undefined;
  /** The body's line table as given (judged with the rest). */
  lines: unknown = undefined;

  /**
   * Reads a body's fields, each once and in order, and takes each at once: the code copied and
   * the relocations snapshotted as they are read, before the next getter can run. Nothing is
   * judged yet.
   */
  readBody(body: Record<string, unknown>): void {
    const code = body['code'];
    this.code = code;
    this.codeLength = uint8Length(code);
    this.codeAt = copyBytes(code, this.codeLength, 'code', this.bytes);
    const relocations = body['relocations'];
    this.relocationList = relocations;
    this.firstRelocation = Array.isArray(relocations) ? readRelocations(relocations, Math.max(this.codeLength, 0), this) : -1;
    this.align = body['align'];
    // Read now, as the code is: a later getter must not change what was checked.
    this.unwind = snapshotUnwind(body['unwind']);
    this.lines = snapshotLines(body['lines']);
  }
}

/** The function definition of the body `into` read last. */
function functionDefinition(
  name: string, into: Snapshot, compile: CompileCallback | undefined, replaces: number, keepsOld: boolean,
): Definition {
  const { codeAt: bytesAt, codeLength: byteLength } = into;
  if (bytesAt < 0) invalid(`${name}: code must be a Uint8Array, got ${show(into.code)}`);
  if (byteLength === 0) invalid(`${name}: code must hold at least one byte`);
  const firstRelocation = relocationsStart(name, into.relocationList, into.firstRelocation, into);
  const given = into.unwind;
  const lines = into.lines;
  return {
    kind: FUNCTION, name, bytes: into.bytes, bytesAt, byteLength, size: byteLength, align: alignment(name, into.align, FUNCTION_ALIGN),
    relocations: into.relocationsOrNone, firstRelocation, relocationCount: into.relocationsOrNone.count - firstRelocation,
    compile, replaces, keepsOld, readOnly: false, unwind: given === undefined ? undefined : readUnwind(name, given, byteLength),
    lines: lines === undefined ? undefined : readLines(name, lines, byteLength),
  };
}

function globalDefinition(g: Record<string, unknown>, into: Snapshot): Definition {
  const name = g['name'];
  const data = g['data'];
  const dataLength = data === undefined ? -1 : uint8Length(data);
  const dataAt = data === undefined ? -1 : copyBytes(data, dataLength, 'data', into.bytes);
  const size = g['size'];
  const relocations = g['relocations'];
  const room = Math.max(dataAt < 0 ? 0 : dataLength, typeof size === 'number' && size > 0 ? size : 0);
  const first = Array.isArray(relocations) ? readRelocations(relocations, room, into) : -1;
  const align = g['align'];
  const readOnly = g['readOnly'];
  checkName(name, 'global');
  if (readOnly !== undefined && typeof readOnly !== 'boolean') invalid(`${name}: readOnly must be a boolean, got ${show(readOnly)}`);
  let length: number;
  if (data !== undefined) {
    if (dataAt < 0) invalid(`${name}: data must be a Uint8Array, got ${show(data)}`);
    length = size === undefined ? dataLength : (size as number);
    if (!Number.isSafeInteger(length) || length < dataLength) {
      invalid(`${name}: size ${show(size)} must be an integer no smaller than data (${dataLength} bytes)`);
    }
  } else {
    if (!Number.isSafeInteger(size) || (size as number) < 0) invalid(`${name}: give data, or a non-negative integer size (got ${show(size)})`);
    length = size as number;
  }
  const firstRelocation = relocationsStart(name, relocations, first, into);
  return {
    kind: GLOBAL, name, bytes: into.bytes, bytesAt: Math.max(dataAt, 0), byteLength: Math.max(dataLength, 0), size: length,
    // Read-only pages hold nothing else: the block starts a page, and its size is rounded to pages.
    align: readOnly === true ? Math.max(MAX_ALIGN, alignment(name, align, GLOBAL_ALIGN)) : alignment(name, align, GLOBAL_ALIGN),
    relocations: into.relocationsOrNone, firstRelocation, relocationCount: into.relocationsOrNone.count - firstRelocation,
    compile: undefined, replaces: NONE, keepsOld: false, readOnly: readOnly === true, unwind: undefined, lines: undefined,
  };
}

/**
 * Copies a Uint8Array's bytes (`length`: uint8Length of it) into the unit's snapshot, through its
 * internal slots; returns where they start, or -1 when the value is not a Uint8Array (a proxy of
 * one is not). A detached view has no bytes.
 */
function copyBytes(value: unknown, length: number, what: string, into: ByteSnapshot): number {
  if (length < 0) return -1;
  if (length > 2 ** 31) invalid(`${what} of ${length} bytes: an arena holds at most 2^31`);
  return into.append(value as Uint8Array, length);
}

/** The elements of an array, each read once (a proxy's `length` and indexes: once each). */
function elements(list: unknown, what: string): unknown[] {
  if (!Array.isArray(list)) invalid(`${what} must be an array, got ${show(list)}`);
  const length = (list as unknown[]).length;
  const result = new Array<unknown>(length);
  for (let i = 0; i < length; i++) result[i] = (list as unknown[])[i];
  return result;
}

/**
 * Where a definition's relocations start in the unit's columns (none: an empty run at the end),
 * or INVALID_ARGUMENT for a non-array.
 */
function relocationsStart(name: string, list: unknown, first: number, into: Snapshot): number {
  if (list === undefined) return into.relocationsOrNone.count;
  if (first < 0) invalid(`${name}: relocations must be an array, got ${show(list)}`);
  return first;
}

/**
 * Reads each relocation of an array into the unit's columns, its fields once each; returns where
 * they start. More relocations than the node has bytes cannot all lie in it without overlapping:
 * that list is refused before it is read, so a list claiming a billion entries costs nothing.
 */
function readRelocations(list: unknown[], bytes: number, into: Snapshot): number {
  const length = list.length;
  if (length > bytes) invalid(`relocations: ${length} entries in ${bytes} bytes: relocation fields cannot all lie in them without overlapping`);
  const columns = into.relocations;
  const first = columns.count;
  // Every element first, then each one's fields: the order in which they were always read.
  for (let i = 0; i < length; i++) columns.takeElement(list[i]);
  for (let r = first; r < first + length; r++) columns.readFields(r);
  return first;
}

function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name === '') invalid(`a ${what} needs a non-empty string name, got ${show(name)}`);
}

function alignment(name: string, align: unknown, fallback: number): number {
  if (align === undefined) return fallback;
  if (typeof align !== 'number' || !isAlignment(align)) {
    invalid(`${name}: alignment must be a power of two from 1 to ${MAX_ALIGN}, got ${show(align)}`);
  }
  return align;
}

function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return show(error);
  try {
    return `${error.name}: ${error.message}`;
  } catch (second) {
    // A foreign error whose name or message is itself a throwing getter.
    return `${show(error)} (whose message could not be read: ${show(second)})`;
  }
}
