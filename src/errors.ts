// CodeHeapError: the one error type every public call throws, with a machine-readable code.
//
// Each code has one line saying when it is returned. Messages name the symbol, offset and values
// involved, because a JIT author debugging a bad relocation needs exactly those three things.

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
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class CodeHeapError extends Error {
  override readonly name = 'CodeHeapError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** Formats an address or value the way a disassembler listing would: 0x-prefixed hex. */
export function hex(value: number): string {
  return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}
