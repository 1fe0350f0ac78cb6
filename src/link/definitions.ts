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
import { LargeMap } from '../large-map.js';
import type { CompileCallback } from '../types.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, FUNCTION_ALIGN, GLOBAL, GLOBAL_ALIGN, MAX_ALIGN, NONE } = base;

/** One relocation as the caller gave it, read once; the planner checks every field. */
export interface RelocationInput {
  readonly isObject: boolean;
  /** The element itself, for messages when it is not an object. */
  readonly element: unknown;
  readonly offset: unknown;
  readonly type: unknown;
  readonly symbol: unknown;
  readonly addend: unknown;
  readonly via: unknown;
  readonly address: unknown;
}

/** A function or global to link, as the planner takes it. */
export interface Definition {
  readonly kind: typeof FUNCTION | typeof GLOBAL;
  readonly name: string;
  /** A copy of the initial bytes (a global's may be shorter than its size: the rest is zero). */
  readonly bytes: Uint8Array;
  readonly size: number;
  readonly align: number;
  readonly relocations: readonly RelocationInput[];
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
  readonly names: LargeMap<string, number>;
}

/** The definitions of a unit (define). Post: names are distinct. */
export function unitDefinitions(unit: unknown): UnitDefinitions {
  return readInput('define', () => {
    if (typeof unit !== 'object' || unit === null) invalid(`define takes { functions, globals }, got ${show(unit)}`);
    const { functions, globals } = unit as { functions?: unknown; globals?: unknown };
    const result: Definition[] = [];
    for (const f of elements(functions ?? [], 'unit.functions')) {
      if (typeof f !== 'object' || f === null) invalid(`a function definition must be an object, got ${show(f)}`);
      const { name, compile } = f as Record<string, unknown>;
      const body = readBody(f as Record<string, unknown>);
      checkName(name, 'function');
      if (compile !== undefined && typeof compile !== 'function') invalid(`${name}: compile must be a function, got ${show(compile)}`);
      result.push(functionDefinition(name, body, compile as CompileCallback | undefined, NONE, false));
    }
    for (const g of elements(globals ?? [], 'unit.globals')) {
      if (typeof g !== 'object' || g === null) invalid(`a global definition must be an object, got ${show(g)}`);
      result.push(globalDefinition(g as Record<string, unknown>));
    }
    const names = new LargeMap<string, number>();
    for (let i = 0; i < result.length; i++) {
      const { name } = result[i]!;
      // One hash operation per name: a set that does not grow the map met the name before.
      const size = names.size;
      names.set(name, i);
      if (names.size === size) throw new CodeHeapError('DUPLICATE_SYMBOL', `${name} is defined twice in one unit`);
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
    return functionDefinition(name, readBody(body as Record<string, unknown>), compile, fn, keepsOld);
  });
}

/**
 * A body's fields, each read once and in order, and each taken at once: the code copied and the
 * relocations snapshotted as they are read, before the next getter can run. Nothing is judged yet.
 */
interface BodyInput {
  readonly code: unknown;
  readonly bytes: Uint8Array | undefined;
  readonly relocations: unknown;
  readonly inputs: RelocationInput[] | undefined;
  readonly align: unknown;
}

function readBody(body: Record<string, unknown>): BodyInput {
  const code = body['code'];
  const bytes = copyBytes(code, 'code');
  const relocations = body['relocations'];
  const inputs = Array.isArray(relocations) ? relocationInputs(relocations, bytes?.length ?? 0) : undefined;
  return { code, bytes, relocations, inputs, align: body['align'] };
}

function functionDefinition(
  name: string, body: BodyInput, compile: CompileCallback | undefined, replaces: number, keepsOld: boolean,
): Definition {
  const { bytes } = body;
  if (bytes === undefined) invalid(`${name}: code must be a Uint8Array, got ${show(body.code)}`);
  if (bytes.length === 0) invalid(`${name}: code must hold at least one byte`);
  return {
    kind: FUNCTION, name, bytes, size: bytes.length, align: alignment(name, body.align, FUNCTION_ALIGN),
    relocations: relocationsOf(name, body.relocations, body.inputs), compile, replaces, keepsOld, readOnly: false,
  };
}

function globalDefinition(g: Record<string, unknown>): Definition {
  const name = g['name'];
  const data = g['data'];
  const copied = data === undefined ? undefined : copyBytes(data, 'data');
  const size = g['size'];
  const relocations = g['relocations'];
  const room = Math.max(copied?.length ?? 0, typeof size === 'number' && size > 0 ? size : 0);
  const inputs = Array.isArray(relocations) ? relocationInputs(relocations, room) : undefined;
  const align = g['align'];
  const readOnly = g['readOnly'];
  checkName(name, 'global');
  if (readOnly !== undefined && typeof readOnly !== 'boolean') invalid(`${name}: readOnly must be a boolean, got ${show(readOnly)}`);
  let bytes: Uint8Array;
  let length: number;
  if (data !== undefined) {
    const copy = copied;
    if (copy === undefined) invalid(`${name}: data must be a Uint8Array, got ${show(data)}`);
    bytes = copy;
    length = size === undefined ? copy.length : (size as number);
    if (!Number.isSafeInteger(length) || length < copy.length) {
      invalid(`${name}: size ${show(size)} must be an integer no smaller than data (${copy.length} bytes)`);
    }
  } else {
    if (!Number.isSafeInteger(size) || (size as number) < 0) invalid(`${name}: give data, or a non-negative integer size (got ${show(size)})`);
    length = size as number;
    bytes = new Uint8Array(0);
  }
  return {
    kind: GLOBAL, name, bytes, size: length,
    // Read-only pages hold nothing else: the block starts a page, and its size is rounded to pages.
    align: readOnly === true ? Math.max(MAX_ALIGN, alignment(name, align, GLOBAL_ALIGN)) : alignment(name, align, GLOBAL_ALIGN),
    relocations: relocationsOf(name, relocations, inputs), compile: undefined, replaces: NONE, keepsOld: false, readOnly: readOnly === true,
  };
}

/**
 * A copy of a Uint8Array's bytes, taken through its internal slots; undefined when the value is
 * not a Uint8Array (a proxy of one is not). A detached view has no bytes.
 */
function copyBytes(value: unknown, what: string): Uint8Array | undefined {
  const length = uint8Length(value);
  if (length < 0) return undefined;
  const view = value as Uint8Array;
  if (length > 2 ** 31) invalid(`${what} of ${length} bytes: an arena holds at most 2^31`);
  const copy = new Uint8Array(length);
  copy.set(view);
  return copy;
}

/** The elements of an array, each read once (a proxy's `length` and indexes: once each). */
function elements(list: unknown, what: string, most = Number.MAX_SAFE_INTEGER): unknown[] {
  if (!Array.isArray(list)) invalid(`${what} must be an array, got ${show(list)}`);
  const length = (list as unknown[]).length;
  if (length > most) invalid(`${what}: ${length} entries in ${most} bytes: relocation fields cannot all lie in them without overlapping`);
  const result = new Array<unknown>(length);
  for (let i = 0; i < length; i++) result[i] = (list as unknown[])[i];
  return result;
}

/** The relocations of a definition as read: none, the snapshot, or INVALID_ARGUMENT for a non-array. */
function relocationsOf(name: string, list: unknown, inputs: RelocationInput[] | undefined): RelocationInput[] {
  if (list === undefined) return [];
  if (inputs === undefined) invalid(`${name}: relocations must be an array, got ${show(list)}`);
  return inputs;
}

/** Each relocation of an array, its fields read once. */
/**
 * Each relocation of an array, its fields read once. More relocations than the node has bytes
 * cannot all lie in it without overlapping: that list is refused before it is read, so a list
 * claiming a billion entries costs nothing.
 */
function relocationInputs(list: unknown[], bytes: number): RelocationInput[] {
  return elements(list, 'relocations', bytes).map((element): RelocationInput => {
    if (typeof element !== 'object' || element === null) {
      return { isObject: false, element, offset: undefined, type: undefined, symbol: undefined, addend: undefined, via: undefined, address: undefined };
    }
    const { offset, type, symbol, addend, via, address } = element as Record<string, unknown>;
    return { isObject: true, element, offset, type, symbol, addend, via, address };
  });
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
