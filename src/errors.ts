// CodeHeapError: the one error type every public call throws, with a machine-readable code.
//
// Each code has one line saying when it is returned. Messages name the symbol, offset and values
// involved, because a JIT author debugging a bad relocation needs exactly those three things.

import { typedArrayKind } from './base.js';

/** When each code is returned. */
export const ErrorCodes = {
  /** define/declare of a name whose node is still live after a collection had the chance to free it. */
  DUPLICATE_SYMBOL: 'DUPLICATE_SYMBOL',
  /** A relocation or lookup names a symbol that is neither in the heap nor resolved externally. */
  UNDEFINED_SYMBOL: 'UNDEFINED_SYMBOL',
  /** A 32-bit relocation value (S + A or S + A - P) does not fit its field. */
  RELOCATION_OUT_OF_RANGE: 'RELOCATION_OUT_OF_RANGE',
  /** A relocation's field does not lie wholly inside the bytes of its node. */
  RELOCATION_OUT_OF_BOUNDS: 'RELOCATION_OUT_OF_BOUNDS',
  /** No free block can hold a request, even after a collection. */
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  /** A handle or pin was used after it was freed or released. */
  USE_AFTER_FREE: 'USE_AFTER_FREE',
  /** An argument has the wrong shape, value or kind, or belongs to another heap. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A lazy function must be compiled and neither it nor the heap has a compile callback. */
  NO_COMPILE_CALLBACK: 'NO_COMPILE_CALLBACK',
  /** A call from inside an observer, a collection or a function's own compilation that would corrupt state. */
  REENTRANT_CALL: 'REENTRANT_CALL',
  /** heap.call on memory the CPU cannot execute (the default ArrayBuffer memory). */
  NOT_EXECUTABLE: 'NOT_EXECUTABLE',
  /** verify() found a broken invariant; the message lists every one found. */
  CORRUPT: 'CORRUPT',
  /** codeheap/elf: the bytes are not a well-formed ELF64 x86-64 relocatable object (truncated, bad index, bad offset). */
  INVALID_OBJECT: 'INVALID_OBJECT',
  /** codeheap/elf: a well-formed object uses what the loader does not implement (thread-local storage, a relocation type). */
  UNSUPPORTED: 'UNSUPPORTED',
  /** The code a call ran raised SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGTRAP; the call was abandoned (native memory). */
  MACHINE_FAULT: 'MACHINE_FAULT',
  /** codeheap/executor: the executor process died (a fault in the heap's code, a kill), hung past its timeout or broke the protocol; respawn() gives the heap a new one. */
  EXECUTOR_LOST: 'EXECUTOR_LOST',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class CodeHeapError extends Error {
  override readonly name = 'CodeHeapError';
  readonly code: ErrorCode;

  /** The message names the symbol, offset and values involved; it does not repeat the code. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Throws `error` again from a microtask, as an uncaught exception: how a hook's failure (an
 * observer's, a region's) is reported without undoing the heap's call it happened in.
 */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** Throws INVALID_ARGUMENT: the one way every layer refuses a value it was handed. */
export function invalid(message: string, cause?: unknown): never {
  throw new CodeHeapError('INVALID_ARGUMENT', message, cause === undefined ? undefined : { cause });
}

/**
 * A value as a message shows it, whatever it is: String() throws on a null-prototype object or a
 * Symbol, and a caller's toString may throw or lie, so objects are named by their tag only.
 */
export function show(value: unknown): string {
  switch (typeof value) {
    case 'string': return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    case 'number': case 'boolean': case 'undefined': return String(value);
    case 'bigint': return `${value}n`;
    case 'symbol': return value.description === undefined ? 'a symbol' : `Symbol(${value.description})`;
    case 'function': return 'a function';
    default: return showObject(value as object | null);
  }
}

function showObject(value: object | null): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `a ${typedArrayKind(value) ?? 'DataView'}`;
  try {
    return Array.isArray(value) ? 'an array' : 'an object';
  } catch (error) {
    // Array.isArray throws only on a revoked proxy: that is the description.
    return error instanceof TypeError ? 'a revoked proxy' : 'an object';
  }
}

/** Formats an address or value the way a disassembler listing would: 0x-prefixed hex. */
export function hex(value: number): string {
  return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}
