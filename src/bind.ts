// heap.bind: a native function of the heap as a JavaScript function with typed parameters and a
// typed result, in the shape of Deno's and Bun's FFI (Deno.dlopen's symbols, bun:ffi's dlopen).
//
// bind reads the signature once (native-signature.ts) and makes one closure; each call checks
// its arguments against the plan, writes them into the closure's argument arrays (integer-class
// values in the order of rdi .. r9, floats as raw bits in the order of xmm0 .. xmm7) and runs the
// function through native-calls.ts, the same protocol heap.call follows: the same entry checks
// (USE_AFTER_FREE once the handle is freed or the heap closed, REENTRANT_CALL from an observer),
// the same count on the function while it runs, the same resolver for lazy functions entered on
// the way. A refused argument leaves the heap as it was: nothing is held before every argument
// has passed.
//
// The argument arrays are reused by every call of the closure, nested ones too: the addon copies
// them before the code runs, and JavaScript runs again only inside the resolver, after that.
//
// A 'buffer' argument passes the address of a Uint8Array's bytes, which the code may read and
// write until it returns. JavaScript that runs during the call (a compile callback, an observer)
// could detach or shrink that buffer and leave the code a dangling address: so a bound function
// with buffer parameters resolves lazy functions through a guard that checks, before the code
// continues, that each of its buffers still has the length it had, and abandons the call
// (INVALID_ARGUMENT) when one has not.
//
// Departure from Deno and Bun: a call refuses an argument outside its type's range instead of
// wrapping it (C's conversion), since a JIT's caller passing 2^32 to an i32 has a bug to see.

import { uint8Length } from './base.js';
import { invalid, show } from './errors.js';
import type { Handle } from './handle.js';
import type { RegisterValue, ResolveLazy } from './heap/region.js';
import type { NativeCalls } from './native-calls.js';
import * as signatures from './native-signature.js';
import { expectation, readSignature, type SignaturePlan } from './native-signature.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { BUFFER, MAX_FLOAT_PARAMETERS, NARROW, SIGNED64, SINGLE, UNSIGNED64 } = signatures;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * The JavaScript function for the function `handle` stands for, with the signature read and
 * checked now (on executable memory only: NOT_EXECUTABLE otherwise). Pre: the heap is open.
 */
export function bindFunction(native: NativeCalls, handle: Handle, signature: unknown): (...args: unknown[]) => unknown {
  native.check(handle, 'bind', true);
  const plan = readSignature(handle.name, signature);
  const operation = `${handle.name} (bound)`;
  const { checks, slots, min, max, resultKind } = plan;
  const count = checks.length;
  // One entry per integer-class parameter; the floats of all eight registers, or none at all.
  const ints = new Array<RegisterValue>(plan.integers).fill(0);
  const raw = new ArrayBuffer(MAX_FLOAT_PARAMETERS * 8);
  const floatArray = new Float64Array(raw);
  const floats = plan.floats === 0 ? undefined : floatArray;
  // An f32 goes in the low half of its register's double (little-endian: element 2 * slot).
  const singles = new Float32Array(raw);
  const guard = plan.buffers.length === 0 ? undefined : new BufferGuard(operation, plan, native.resolveLazy);
  const resolve = guard === undefined ? native.resolveLazy : guard.resolve;
  const region = native.region;
  const bound = (...args: unknown[]): unknown => {
    const id = native.enter(handle, operation, true);
    if (args.length !== count) refuseCount(operation, plan, args.length);
    for (let i = 0; i < count; i++) {
      const value = args[i];
      const slot = slots[i]!;
      switch (checks[i]) {
        case NARROW:
          if (typeof value !== 'number' || !Number.isInteger(value) || value < min[i]! || value > max[i]!) refuseArgument(operation, plan, i, value);
          ints[slot] = value;
          break;
        case SIGNED64:
          if (typeof value === 'bigint' ? value < INT64_MIN || value > INT64_MAX : !Number.isSafeInteger(value)) refuseArgument(operation, plan, i, value);
          ints[slot] = value as number | bigint;
          break;
        case UNSIGNED64:
          if (typeof value === 'bigint' ? value < 0n || value > UINT64_MAX : !Number.isSafeInteger(value) || (value as number) < 0) refuseArgument(operation, plan, i, value);
          ints[slot] = value as number | bigint;
          break;
        case BUFFER:
          if (value !== null && uint8Length(value) < 0) refuseArgument(operation, plan, i, value);
          ints[slot] = value as Uint8Array | null;
          break;
        case SINGLE:
          if (typeof value !== 'number') refuseArgument(operation, plan, i, value);
          singles[slot << 1] = value as number;
          break;
        default:
          if (typeof value !== 'number') refuseArgument(operation, plan, i, value);
          floatArray[slot] = value as number;
      }
    }
    const address = native.begin(id);
    try {
      guard?.enter(args);
      return region.callTyped!(address, resolve, resultKind, floats, ints);
    } catch (error) {
      throw native.failed(error, operation, handle.name);
    } finally {
      if (guard !== undefined) guard.leave(ints, slots);
      native.end();
    }
  };
  // Named after the function it runs, for stack traces.
  Object.defineProperty(bound, 'name', { value: handle.name });
  return bound;
}

/**
 * The lengths of a bound function's buffer arguments for each of its calls running now (calls
 * nest: a compile callback may call the same function), innermost last, and the resolver that
 * checks the innermost call's before its code continues. The resolver runs for the innermost
 * native call only, which is this function's innermost call whenever it is this resolver that runs.
 */
class BufferGuard {
  private readonly views: (Uint8Array | null)[] = [];
  private readonly lengths: number[] = [];

  constructor(private readonly operation: string, private readonly plan: SignaturePlan, private readonly resolveLazy: ResolveLazy) {}

  enter(args: unknown[]): void {
    for (const index of this.plan.buffers) {
      const view = args[index] as Uint8Array | null;
      this.views.push(view);
      this.lengths.push(view === null ? 0 : uint8Length(view));
    }
  }

  /** The call returned or threw: its records go, and the closure's arrays let go of its buffers. */
  leave(ints: RegisterValue[], slots: Uint8Array): void {
    const { buffers } = this.plan;
    this.views.length -= buffers.length;
    this.lengths.length -= buffers.length;
    for (const index of buffers) ints[slots[index]!] = null;
  }

  readonly resolve = (returnAddress: number): number => {
    const target = this.resolveLazy(returnAddress);
    const { buffers } = this.plan;
    const first = this.views.length - buffers.length;
    for (let k = 0; k < buffers.length; k++) {
      const view = this.views[first + k]!;
      if (view !== null && uint8Length(view) !== this.lengths[first + k]) {
        invalid(`${this.operation}: the Uint8Array of argument ${buffers[k]} was detached or resized while the call ran `
          + `(${this.lengths[first + k]} bytes, now ${uint8Length(view)}); the call is abandoned, since its code holds the address of those bytes`);
      }
    }
    return target;
  };
}

function refuseCount(operation: string, plan: SignaturePlan, got: number): never {
  return invalid(`${operation}: takes ${plan.types.length} argument${plan.types.length === 1 ? '' : 's'} `
    + `(${plan.types.join(', ')}), got ${got}`);
}

function refuseArgument(operation: string, plan: SignaturePlan, index: number, value: unknown): never {
  const type = plan.types[index]!;
  return invalid(`${operation}: argument ${index} (${type}) is ${show(value)}; expected ${expectation(type)}`);
}
