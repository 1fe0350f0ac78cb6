// Machine code that faults, one body per signal, for test/native/faults.test.ts and its worker.

import type { FunctionBody } from '../../src/index.js';

const bytes = (...code: number[]): FunctionBody => ({ code: Uint8Array.from(code) });

export const FAULTS = {
  // mov rax, [0]: a load through a null pointer.
  SIGSEGV: { body: bytes(0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0xc3), at: 0 },
  // pushfq; or dword [rsp], AC; popfq; mov eax, [rsp+1]: a misaligned load with alignment checking on.
  SIGBUS: { body: bytes(0x9c, 0x81, 0x0c, 0x24, 0x00, 0x00, 0x04, 0x00, 0x9d, 0x8b, 0x44, 0x24, 0x01, 0x9d, 0xc3), at: 9 },
  // ud2
  SIGILL: { body: bytes(0x0f, 0x0b), at: 0 },
  // int3; ret: the pc is past the breakpoint instruction.
  SIGTRAP: { body: bytes(0xcc, 0xc3), at: 1 },
  // xor ecx, ecx; mov rax, rdi; cqo; idiv rcx: division by zero.
  SIGFPE: { body: bytes(0x31, 0xc9, 0x48, 0x89, 0xf8, 0x48, 0x99, 0x48, 0xf7, 0xf9, 0xc3), at: 7 },
} as const;

export type FaultSignal = keyof typeof FAULTS;

/** x + 1: `lea rax, [rdi+1]; ret`. */
export const addOne = (): FunctionBody => bytes(0x48, 0x8d, 0x47, 0x01, 0xc3);
