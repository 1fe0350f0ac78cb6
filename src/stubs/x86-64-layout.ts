// x86-64 machine code of indirection stubs and reentry trampolines, as LLVM ORC lays them out.
//
// Stub: the canonical address of a function. Retargeting it is one aligned 8-byte store into its
// pointer slot (a data write); the stub's own code never changes after it is written.
//
//   stub (code arena, 8 bytes, 8-aligned)           pointer slot (data arena, 8 bytes, 8-aligned)
//   +0  FF 25 d0 d1 d2 d3   jmp qword [rip+disp32]  +0  target address, u64 little-endian
//   +6  CC CC               int3 int3 (padding)          (an R_X86_64_64 site: stub -> f's body)
//   disp32 = slot - (stub + 6)
//
// Reentry trampoline: where every reference to a lazy function points. It calls the resolver
// through the heap's one resolver slot; the return address it pushes (trampoline + 6) tells the
// resolver which function was entered.
//
//   trampoline (code arena, 8 bytes, 8-aligned)     resolver slot (data arena, 8 bytes)
//   +0  FF 15 d0 d1 d2 d3   call qword [rip+disp32] +0  resolver entry address (0 until
//   +6  CC CC               int3 int3                    native memory installs one)
//   disp32 = resolverSlot - (trampoline + 6)

export const STUB_SIZE = 8;
export const STUB_ALIGN = 8;
export const SLOT_SIZE = 8;
export const SLOT_ALIGN = 8;
export const TRAMPOLINE_SIZE = 8;
export const TRAMPOLINE_ALIGN = 8;

/** Bytes from a trampoline's start to the return address its call pushes. */
export const TRAMPOLINE_RETURN_OFFSET = 6;

const JMP_RIP_INDIRECT = [0xff, 0x25] as const;
const CALL_RIP_INDIRECT = [0xff, 0x15] as const;
const INT3 = 0xcc;
const INSTRUCTION_LENGTH = 6;

function writeIndirect(
  view: DataView, loc: number, address: number, slotAddress: number, opcode: readonly [number, number],
): void {
  view.setUint8(loc, opcode[0]);
  view.setUint8(loc + 1, opcode[1]);
  view.setInt32(loc + 2, slotAddress - (address + INSTRUCTION_LENGTH), true);
  view.setUint8(loc + 6, INT3);
  view.setUint8(loc + 7, INT3);
}

/** Writes `jmp [rip+disp32]` to the slot. Pre: the slot is within rel32 reach (arenas guarantee it). */
export function writeStub(view: DataView, loc: number, address: number, slotAddress: number): void {
  writeIndirect(view, loc, address, slotAddress, JMP_RIP_INDIRECT);
}

export function writeTrampoline(view: DataView, loc: number, address: number, resolverSlot: number): void {
  writeIndirect(view, loc, address, resolverSlot, CALL_RIP_INDIRECT);
}

/** The slot address a stub's bytes jump through, or undefined when the bytes are not a stub. */
export function decodeStub(view: DataView, loc: number, address: number): number | undefined {
  return decodeIndirect(view, loc, address, JMP_RIP_INDIRECT);
}

export function decodeTrampoline(view: DataView, loc: number, address: number): number | undefined {
  return decodeIndirect(view, loc, address, CALL_RIP_INDIRECT);
}

function decodeIndirect(
  view: DataView, loc: number, address: number, opcode: readonly [number, number],
): number | undefined {
  if (view.getUint8(loc) !== opcode[0] || view.getUint8(loc + 1) !== opcode[1]) return undefined;
  if (view.getUint8(loc + 6) !== INT3 || view.getUint8(loc + 7) !== INT3) return undefined;
  return address + INSTRUCTION_LENGTH + view.getInt32(loc + 2, true);
}
