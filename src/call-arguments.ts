// The arguments heap.call passes to machine code: integers in the System V argument registers.

import { invalid, show } from './errors.js';

/** Integer arguments heap.call passes in registers (System V: rdi, rsi, rdx, rcx, r8, r9). */
export const MAX_CALL_ARGUMENTS = 6;
const INT64_MIN = -(1n << 63n);
const UINT64_LIMIT = 1n << 64n;

/** Each argument must fit a 64-bit register: a safe integer, or a BigInt in [-2^63, 2^64). */
export function checkCallArguments(name: string, args: readonly unknown[]): void {
  // The refusal is built out of line: this runs on every heap.call, inlined while it is small.
  if (args.length > MAX_CALL_ARGUMENTS) refuse(name, args, -1);
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    const fits = typeof value === 'number' ? Number.isSafeInteger(value)
      : typeof value === 'bigint' && value >= INT64_MIN && value < UINT64_LIMIT;
    if (!fits) refuse(name, args, i);
  }
}

/** The refusal of argument `index`, or (-1) of too many arguments. */
function refuse(name: string, args: readonly unknown[], index: number): never {
  if (index < 0) invalid(`call(${name}): at most ${MAX_CALL_ARGUMENTS} integer arguments, got ${args.length}`);
  return invalid(`call(${name}): argument ${index} is ${show(args[index])}; arguments are safe integers or BigInts that fit 64 bits`);
}
