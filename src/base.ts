// The ground floor: constants and helpers that every layer may use and that depend on nothing.
//
// Everything here is defined once. A layer reads these constants through module constants of its
// own (`import * as base from '../base.js'; const { NONE } = base;`, see README, Architecture), so
// V8 folds them into the code instead of loading a module cell at every use.

/** "No node, no site, no block": the end of every list and the empty value of every id field. */
export const NONE = -1;

/** The largest alignment a function, a global or an allocator block may ask for: one page. */
export const MAX_ALIGN = 4096;

/** Default alignment of a function (what compilers give x86-64 function entries). */
export const FUNCTION_ALIGN = 16;
/** Default alignment of a global (an 8-byte word). */
export const GLOBAL_ALIGN = 8;

// Node kinds. They are defined here, below rc/, because the arena a node's block lives in follows
// from its kind alone, and placement (link/), reclamation (rc/, cycles/) and reporting all make
// that choice: see `inDataArena`.
//
//   FUNCTION  code: a body, or a reentry trampoline while lazy        code arena
//   GLOBAL    data: initial bytes or zero-filled storage              data arena
//   STUB      code: one indirect jump; its pointer slot is data       code arena (+ a data slot)
//   RETIRED   code: an old body kept while pins may be running in it  code arena
export const FUNCTION = 0;
export const GLOBAL = 1;
export const STUB = 2;
export const RETIRED = 3;

/** Whether a node of this kind keeps its block in the data arena (else in the code arena). */
export function inDataArena(kind: number): boolean {
  return kind === GLOBAL;
}

/** True for a power of two from 1 to MAX_ALIGN. */
export function isAlignment(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_ALIGN && (value & (value - 1)) === 0;
}

/** A copy of `array` with room for `size` entries (size >= its length); the new tail is zero. */
export function grown<T extends Int32Array<ArrayBuffer> | Uint16Array<ArrayBuffer> | Uint8Array<ArrayBuffer>>(
  array: T, size: number,
): T {
  const copy = new (array.constructor as new (length: number) => T)(size);
  copy.set(array);
  return copy;
}

/**
 * The element type of a typed array ('Uint8Array', ...) read from its internal slot, or undefined
 * for anything else. No code of the value's own runs: a subclass's getters, a proxy's traps and a
 * forged Symbol.toStringTag are not consulted.
 */
export function typedArrayKind(value: unknown): string | undefined {
  return TYPED_ARRAY_TAG.call(value) as string | undefined;
}

const TYPED_ARRAY_TAG = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object, Symbol.toStringTag,
)!.get!;

/** A Uint8Array's length read from its internal slot (0 when detached), or -1 for anything else. */
export function uint8Length(value: unknown): number {
  return typedArrayKind(value) === 'Uint8Array' ? (TYPED_ARRAY_LENGTH.call(value) as number) : -1;
}

const TYPED_ARRAY_LENGTH = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object, 'length',
)!.get!;

/** A plain Uint8Array over the same bytes as `view` (a Uint8Array), read through internal slots. */
export function plainUint8(view: Uint8Array): Uint8Array {
  const buffer = TYPED_ARRAY_BUFFER.call(view) as ArrayBuffer;
  const offset = TYPED_ARRAY_OFFSET.call(view) as number;
  return new Uint8Array(buffer, offset, uint8Length(view));
}

const TYPED_ARRAY_BUFFER = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object, 'buffer',
)!.get!;
const TYPED_ARRAY_OFFSET = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object, 'byteOffset',
)!.get!;

/** Whether an ArrayBuffer can be resized (read from its internal slot; false where Node has no resizable buffers). Pre: isArrayBuffer. */
export function isResizable(buffer: ArrayBufferLike): boolean {
  return RESIZABLE !== undefined && RESIZABLE.call(buffer) === true;
}

/**
 * Whether a value is an ArrayBuffer by its internal slot (a proxy of one, or an object that only
 * inherits from ArrayBuffer.prototype, is not): the intrinsic byteLength getter accepts only that.
 */
export function isArrayBuffer(value: unknown): value is ArrayBuffer {
  if (typeof value !== 'object' || value === null) return false;
  try {
    BYTE_LENGTH.call(value);
    return true;
  } catch (error) {
    // The getter throws TypeError for every receiver that is not an ArrayBuffer: that is the answer.
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/** An ArrayBuffer's length, from its internal slot (an own byteLength property is not consulted). */
export function arrayBufferLength(buffer: ArrayBuffer): number {
  return BYTE_LENGTH.call(buffer) as number;
}

const BYTE_LENGTH = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;

const RESIZABLE = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable')?.get;
