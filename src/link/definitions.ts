// Checking what a JIT hands in: units of functions and globals, and replacement bodies.
//
// Public input is validated here, once, into the Definition shape the planner trusts. Every
// rejection is INVALID_ARGUMENT (or DUPLICATE_SYMBOL for a name given twice in one unit) with
// the offending name and value in the message.

import { CodeHeapError, invalid } from '../errors.js';
import * as base from '../base.js';
import type { FunctionBody, UnitDefinition } from '../types.js';
import type { Definition } from './plan.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, GLOBAL, MAX_ALIGN, NONE } = base;

const FUNCTION_ALIGN = 16;
const GLOBAL_ALIGN = 8;

export function unitDefinitions(unit: UnitDefinition): Definition[] {
  if (typeof unit !== 'object' || unit === null) invalid(`define takes { functions, globals }, got ${String(unit)}`);
  const functions = unit.functions ?? [];
  const globals = unit.globals ?? [];
  if (!Array.isArray(functions)) invalid('unit.functions must be an array');
  if (!Array.isArray(globals)) invalid('unit.globals must be an array');
  const result: Definition[] = [];
  for (const f of functions) {
    if (typeof f !== 'object' || f === null) invalid(`a function definition must be an object, got ${String(f)}`);
    checkName(f.name, 'function');
    if (f.compile !== undefined && typeof f.compile !== 'function') invalid(`${f.name}: compile must be a function`);
    result.push(functionBody(f.name, f, NONE, f.compile));
  }
  for (const g of globals) {
    if (typeof g !== 'object' || g === null) invalid(`a global definition must be an object, got ${String(g)}`);
    checkName(g.name, 'global');
    result.push(globalDefinition(g));
  }
  const seen = new Set<string>();
  for (const d of result) {
    if (seen.has(d.name)) throw new CodeHeapError('DUPLICATE_SYMBOL', `${d.name} is defined twice in one unit`);
    seen.add(d.name);
  }
  return result;
}

/** A function body for a new function, a redefine or a compile callback's result. */
export function functionBody(
  name: string, body: FunctionBody, existing: number, compile: Definition['compile'],
): Definition {
  if (typeof body !== 'object' || body === null) invalid(`${name}: a function body must be { code, relocations? }, got ${String(body)}`);
  if (!(body.code instanceof Uint8Array)) invalid(`${name}: code must be a Uint8Array`);
  if (body.code.length === 0) invalid(`${name}: code must hold at least one byte`);
  return {
    kind: FUNCTION, name, bytes: body.code, size: body.code.length,
    align: alignment(name, body.align, FUNCTION_ALIGN), relocations: relocations(name, body.relocations),
    compile, existing,
  };
}

function globalDefinition(g: NonNullable<UnitDefinition['globals']>[number]): Definition {
  let bytes: Uint8Array;
  let size: number;
  if (g.data !== undefined) {
    if (!(g.data instanceof Uint8Array)) invalid(`${g.name}: data must be a Uint8Array`);
    bytes = g.data;
    size = g.size ?? g.data.length;
    if (!Number.isSafeInteger(size) || size < g.data.length) {
      invalid(`${g.name}: size ${String(g.size)} must be an integer no smaller than data (${g.data.length} bytes)`);
    }
  } else {
    if (!Number.isSafeInteger(g.size) || g.size! < 0) invalid(`${g.name}: give data, or a non-negative integer size (got ${String(g.size)})`);
    size = g.size!;
    bytes = new Uint8Array(0);
  }
  return {
    kind: GLOBAL, name: g.name, bytes, size, align: alignment(g.name, g.align, GLOBAL_ALIGN),
    relocations: relocations(g.name, g.relocations), compile: undefined, existing: NONE,
  };
}

function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name === '') invalid(`a ${what} needs a non-empty string name, got ${String(name)}`);
}

function alignment(name: string, align: number | undefined, fallback: number): number {
  if (align === undefined) return fallback;
  if (!Number.isInteger(align) || align < 1 || align > MAX_ALIGN || (align & (align - 1)) !== 0) {
    invalid(`${name}: alignment must be a power of two from 1 to ${MAX_ALIGN}, got ${String(align)}`);
  }
  return align;
}

function relocations(name: string, list: FunctionBody['relocations']): FunctionBody['relocations'] & object {
  if (list === undefined) return [];
  if (!Array.isArray(list)) invalid(`${name}: relocations must be an array`);
  return list;
}
