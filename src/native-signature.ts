// Signatures of heap.bind: a native function's C prototype as parameter and result types (the
// names Deno's and Bun's FFI use), read once into the plan every call of the bound function follows.
//
// System V AMD64 psABI, section 3.2.3 (parameter passing): each argument is classed INTEGER
// (integers of any width, pointers) or SSE (float, double) and takes the next free register of its
// class (rdi, rsi, rdx, rcx, r8, r9; xmm0 .. xmm7), whatever the order of the parameters. So the
// plan keeps, per parameter, the check its argument gets and its slot: the register's index within
// its class. Departures from Deno and Bun: nothing passes on the stack (more than six integer-class
// or eight float parameters are refused), and no structs, callbacks, 'bool', 'usize' or 'isize'.

import { invalid, show } from './errors.js';
import { readInput } from './link/definitions.js';
import type { NativeParameterType, NativeResultType } from './types.js';

/** Integer-class parameters in registers (rdi, rsi, rdx, rcx, r8, r9). */
export const MAX_INTEGER_PARAMETERS = 6;
/** Float parameters in registers (xmm0 .. xmm7). */
export const MAX_FLOAT_PARAMETERS = 8;

/**
 * The result kinds the addon converts rax or xmm0 by, as numbers: the same table is drawn in
 * native/codeheap.c (enum result_kind), above callTyped.
 */
export const RESULT_KINDS: Readonly<Record<NativeResultType, number>> = {
  void: 0, i8: 1, u8: 2, i16: 3, u16: 4, i32: 5, u32: 6, i64: 7, u64: 8, pointer: 9, f32: 10, f64: 11,
};

// What a parameter's argument is checked as, and how it is passed:
/** An integer of 32 bits or fewer: a number, an integer in [min, max]; rdi .. r9. */
export const NARROW = 0;
/** i64: a bigint in [-2^63, 2^63), or a safe-integer number; rdi .. r9. */
export const SIGNED64 = 1;
/** u64 and pointer: a bigint in [0, 2^64), or a non-negative safe-integer number; rdi .. r9. */
export const UNSIGNED64 = 2;
/** buffer: a Uint8Array (the address of its bytes) or null (0); rdi .. r9. */
export const BUFFER = 3;
/** f32: a number, rounded to the nearest float; the low half of xmm0 .. xmm7. */
export const SINGLE = 4;
/** f64: a number; xmm0 .. xmm7. */
export const DOUBLE = 5;

/** Per parameter type: its check, and for NARROW the range of values. */
const PARAMETERS: Readonly<Record<NativeParameterType, readonly [check: number, min: number, max: number]>> = {
  i8: [NARROW, -0x80, 0x7f],
  u8: [NARROW, 0, 0xff],
  i16: [NARROW, -0x8000, 0x7fff],
  u16: [NARROW, 0, 0xffff],
  i32: [NARROW, -0x8000_0000, 0x7fff_ffff],
  u32: [NARROW, 0, 0xffff_ffff],
  i64: [SIGNED64, 0, 0],
  u64: [UNSIGNED64, 0, 0],
  pointer: [UNSIGNED64, 0, 0],
  buffer: [BUFFER, 0, 0],
  f32: [SINGLE, 0, 0],
  f64: [DOUBLE, 0, 0],
};

const PARAMETER_TYPES = Object.keys(PARAMETERS).join(', ');
const RESULT_TYPES = Object.keys(RESULT_KINDS).join(', ');

/** A signature as read and checked: what each call of the bound function does. */
export interface SignaturePlan {
  /** The parameter types as read (a copy: the caller's array is not read again). */
  readonly types: readonly NativeParameterType[];
  readonly result: NativeResultType;
  /** The check of each parameter's argument (NARROW .. DOUBLE). */
  readonly checks: Uint8Array;
  /** Each parameter's register index within its class. */
  readonly slots: Uint8Array;
  /** NARROW parameters: the inclusive range of their values (0 for the others). */
  readonly min: Float64Array;
  readonly max: Float64Array;
  /** RESULT_KINDS[result]. */
  readonly resultKind: number;
  /** The indexes of the 'buffer' parameters. */
  readonly buffers: readonly number[];
  /** Integer-class parameters (rdi .. r9 used), and float parameters (xmm0 .. xmm7 used). */
  readonly integers: number;
  readonly floats: number;
}

/**
 * Reads `{ parameters, result }` once (each property once, the array's length and each element
 * once) and checks it: INVALID_ARGUMENT naming the function and the parameter for an unknown
 * type, a 'buffer' result, or more parameters of a class than its registers.
 */
export function readSignature(name: string, signature: unknown): SignaturePlan {
  const what = `bind(${name})`;
  const { types, result } = readInput(what, () => {
    if (typeof signature !== 'object' || signature === null) {
      invalid(`${what} takes { parameters, result }, got ${show(signature)}`);
    }
    const parameters: unknown = (signature as Record<string, unknown>)['parameters'];
    const result: unknown = (signature as Record<string, unknown>)['result'];
    if (!Array.isArray(parameters)) invalid(`${what}: parameters must be an array of types, got ${show(parameters)}`);
    const length = (parameters as unknown[]).length;
    if (length > MAX_INTEGER_PARAMETERS + MAX_FLOAT_PARAMETERS) {
      invalid(`${what}: ${length} parameters; at most ${MAX_INTEGER_PARAMETERS} integer-class and ${MAX_FLOAT_PARAMETERS} float parameters pass in registers, and stack arguments are not supported`);
    }
    const types = new Array<unknown>(length);
    for (let i = 0; i < length; i++) types[i] = (parameters as unknown[])[i];
    return { types, result };
  });
  return plan(what, types, result);
}

function plan(what: string, types: unknown[], result: unknown): SignaturePlan {
  const count = types.length;
  const checks = new Uint8Array(count);
  const slots = new Uint8Array(count);
  const min = new Float64Array(count);
  const max = new Float64Array(count);
  const buffers: number[] = [];
  let integers = 0;
  let floats = 0;
  for (let i = 0; i < count; i++) {
    const type = types[i];
    if (typeof type !== 'string' || !Object.hasOwn(PARAMETERS, type)) {
      invalid(`${what}: parameter ${i} has type ${show(type)}; the parameter types are ${PARAMETER_TYPES}`);
    }
    const [check, low, high] = PARAMETERS[type as NativeParameterType];
    checks[i] = check;
    min[i] = low;
    max[i] = high;
    if (check === BUFFER) buffers.push(i);
    slots[i] = check === SINGLE || check === DOUBLE ? floats++ : integers++;
  }
  if (integers > MAX_INTEGER_PARAMETERS) {
    invalid(`${what}: ${integers} integer-class parameters (integers, pointer, buffer); at most ${MAX_INTEGER_PARAMETERS} pass in registers (rdi, rsi, rdx, rcx, r8, r9), and stack arguments are not supported`);
  }
  if (floats > MAX_FLOAT_PARAMETERS) {
    invalid(`${what}: ${floats} float parameters (f32, f64); at most ${MAX_FLOAT_PARAMETERS} pass in registers (xmm0 .. xmm7), and stack arguments are not supported`);
  }
  if (typeof result !== 'string' || !Object.hasOwn(RESULT_KINDS, result)) {
    invalid(`${what}: the result has type ${show(result)}; the result types are ${RESULT_TYPES}`);
  }
  const resultType = result as NativeResultType;
  return {
    types: types as NativeParameterType[], result: resultType, checks, slots, min, max, resultKind: RESULT_KINDS[resultType], buffers,
    integers, floats,
  };
}

/** What an argument of `type` must be, for messages. */
export function expectation(type: NativeParameterType): string {
  const [check, low, high] = PARAMETERS[type];
  switch (check) {
    case NARROW: return `an integer (a number) from ${low} to ${high}`;
    case SIGNED64: return 'a bigint from -2^63 to 2^63 - 1, or a safe-integer number';
    case UNSIGNED64: return 'a bigint from 0 to 2^64 - 1, or a non-negative safe-integer number';
    case BUFFER: return 'a Uint8Array or null';
    default: return 'a number';
  }
}
