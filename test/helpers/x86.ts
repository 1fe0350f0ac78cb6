// A tiny x86-64 byte emitter and decoder for tests, so that test code reads like a JIT.
//
// Emitting: `asm().call('g').ret().build()` gives { code, relocations } ready for define(). Every
// symbolic operand is a 4- or 8-byte field plus the relocation a compiler would record for it:
//
//   instruction                 bytes                  field          relocation
//   call rel32                  E8 d0 d1 d2 d3         +1, 4 bytes    R_X86_64_PLT32, addend -4
//   jmp rel32                   E9 d0 d1 d2 d3         +1, 4 bytes    R_X86_64_PLT32, addend -4
//   lea rax, [rip+disp32]       48 8D 05 d0 d1 d2 d3   +3, 4 bytes    R_X86_64_PC32,  addend -4
//   mov rax, imm64              48 B8 i0 .. i7         +2, 8 bytes    R_X86_64_64 (when symbolic)
//   mov eax, imm32              B8 i0 i1 i2 i3         +1, 4 bytes    R_X86_64_32
//   mov rax, simm32             48 C7 C0 i0 .. i3      +3, 4 bytes    R_X86_64_32S
//   .quad sym                   q0 .. q7 (data)        +0, 8 bytes    R_X86_64_64
//
// Decoding: the inverse, reading bytes back from the heap with heap.read, so tests check what
// the bytes encode rather than what the heap says about them. Stub and trampoline layouts are the
// ones DESIGN.md gives (as LLVM ORC): `jmp [rip+disp32]` through an 8-byte slot, and
// `call [rip+disp32]` through the resolver slot, each padded with int3 to 8 bytes.

import type { CodeHeap, HeapStats, NodeInfo, Relocation, RelocationType } from '../../src/index.js';

export interface Emitted {
  code: Uint8Array;
  relocations: Relocation[];
}

type Via = Relocation['via'];

/** What a symbolic operand may carry besides its symbol. */
export interface Operand {
  addend?: number;
  via?: Via;
}

export class Asm {
  private readonly bytes: number[] = [];
  private readonly relocations: Relocation[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; label: string }[] = [];

  /** Offset of the next byte. */
  get here(): number {
    return this.bytes.length;
  }

  byte(...values: number[]): this {
    for (const v of values) this.bytes.push(v & 0xff);
    return this;
  }

  /** `call sym` (E8 rel32), a body reference by default. */
  call(symbol: string, operand: Operand = {}): this {
    this.byte(0xe8);
    return this.field(symbol, 'R_X86_64_PLT32', 4, { addend: -4, ...operand });
  }

  /** `jmp sym` (E9 rel32): a tail call. */
  jmp(symbol: string, operand: Operand = {}): this {
    this.byte(0xe9);
    return this.field(symbol, 'R_X86_64_PLT32', 4, { addend: -4, ...operand });
  }

  /** `lea rax, [rip+sym]` (48 8D 05 disp32): the address of a global, or a function pointer. */
  leaRax(symbol: string, operand: Operand = {}): this {
    this.byte(0x48, 0x8d, 0x05);
    return this.field(symbol, 'R_X86_64_PC32', 4, { addend: -4, ...operand });
  }

  /** `mov rax, imm64` (48 B8): a number, or a symbol's absolute address (R_X86_64_64). */
  movRax(value: number | bigint | string, operand: Operand = {}): this {
    this.byte(0x48, 0xb8);
    if (typeof value === 'string') return this.field(value, 'R_X86_64_64', 8, operand);
    return this.u64(BigInt(value));
  }

  /** `mov eax, imm32` (B8): a symbol's address zero-extended (R_X86_64_32). */
  movEax(symbol: string, operand: Operand = {}): this {
    this.byte(0xb8);
    return this.field(symbol, 'R_X86_64_32', 4, operand);
  }

  /** `mov rax, simm32` (48 C7 C0): a symbol's address sign-extended (R_X86_64_32S). */
  movRaxS(symbol: string, operand: Operand = {}): this {
    this.byte(0x48, 0xc7, 0xc0);
    return this.field(symbol, 'R_X86_64_32S', 4, operand);
  }

  /** `lea rax, [rdi+imm8]`: x + imm. */
  leaRaxRdiPlus(imm: number): this {
    return this.byte(0x48, 0x8d, 0x47, imm);
  }

  /** `mov rdi, rax`. */
  movRdiRax(): this {
    return this.byte(0x48, 0x89, 0xc7);
  }

  /** `mov rax, rdi`. */
  movRaxRdi(): this {
    return this.byte(0x48, 0x89, 0xf8);
  }

  /** `cmp rdi, imm8`. */
  cmpRdi(imm: number): this {
    return this.byte(0x48, 0x83, 0xff, imm);
  }

  /** `jl label` (7C rel8), resolved by build(). */
  jl(label: string): this {
    this.byte(0x7c, 0);
    this.fixups.push({ at: this.here - 1, label });
    return this;
  }

  label(name: string): this {
    this.labels.set(name, this.here);
    return this;
  }

  push(register: 'rbx' | 'rbp'): this {
    return this.byte(register === 'rbx' ? 0x53 : 0x55);
  }

  pop(register: 'rbx' | 'rbp'): this {
    return this.byte(register === 'rbx' ? 0x5b : 0x5d);
  }

  /** `lea rdi, [rbx+imm8]`. */
  leaRdiRbxPlus(imm: number): this {
    return this.byte(0x48, 0x8d, 0x7b, imm);
  }

  /** `mov rbx, rdi`. */
  movRbxRdi(): this {
    return this.byte(0x48, 0x89, 0xfb);
  }

  /** `mov rbp, rax`. */
  movRbpRax(): this {
    return this.byte(0x48, 0x89, 0xc5);
  }

  /** `add rax, rbp`. */
  addRaxRbp(): this {
    return this.byte(0x48, 0x01, 0xe8);
  }

  /** `sub rsp, 8` / `add rsp, 8`: keep rsp 16-byte aligned at calls (System V). */
  subRsp8(): this {
    return this.byte(0x48, 0x83, 0xec, 0x08);
  }

  addRsp8(): this {
    return this.byte(0x48, 0x83, 0xc4, 0x08);
  }

  /** `jmp qword [rip+sym]` (FF 25 disp32): a tail call through a pointer held in data (a vtable). */
  jmpThrough(symbol: string, operand: Operand = {}): this {
    this.byte(0xff, 0x25);
    return this.field(symbol, 'R_X86_64_PC32', 4, { addend: -4, ...operand });
  }

  /** `inc qword [rip+sym]` (48 FF 05 disp32): a write by the code to a global. */
  incGlobal(symbol: string, operand: Operand = {}): this {
    this.byte(0x48, 0xff, 0x05);
    return this.field(symbol, 'R_X86_64_PC32', 4, { addend: -4, ...operand });
  }

  /** `mov rax, [rip+sym]` (48 8B 05 disp32): a read of a global. */
  loadRax(symbol: string, operand: Operand = {}): this {
    this.byte(0x48, 0x8b, 0x05);
    return this.field(symbol, 'R_X86_64_PC32', 4, { addend: -4, ...operand });
  }

  /** `mov rax, simm32` (48 C7 C0): a constant. */
  movRaxImm(value: number): this {
    this.byte(0x48, 0xc7, 0xc0);
    for (let i = 0; i < 4; i++) this.byte((value >> (8 * i)) & 0xff);
    return this;
  }

  /** `add rax, <reg>` for each System V argument register in turn: rax += rsi, rdx, rcx, r8, r9. */
  addArgumentsToRax(): this {
    return this.byte(0x48, 0x01, 0xf0) // add rax, rsi
      .byte(0x48, 0x01, 0xd0) //         add rax, rdx
      .byte(0x48, 0x01, 0xc8) //         add rax, rcx
      .byte(0x4c, 0x01, 0xc0) //         add rax, r8
      .byte(0x4c, 0x01, 0xc8); //        add rax, r9
  }

  /** `add rax, imm8` (sign-extended). */
  addRax(imm: number): this {
    return this.byte(0x48, 0x83, 0xc0, imm);
  }

  ret(): this {
    return this.byte(0xc3);
  }

  nop(count = 1): this {
    for (let i = 0; i < count; i++) this.byte(0x90);
    return this;
  }

  /** An 8-byte little-endian value. */
  u64(value: bigint): this {
    for (let i = 0n; i < 8n; i++) this.byte(Number((BigInt.asUintN(64, value) >> (8n * i)) & 0xffn));
    return this;
  }

  /** `.quad sym`: an 8-byte absolute address in data (R_X86_64_64). */
  quad(symbol: string, operand: Operand = {}): this {
    return this.field(symbol, 'R_X86_64_64', 8, operand);
  }

  /** A zero field of `width` bytes at the current offset, with its relocation recorded. */
  field(symbol: string, type: RelocationType, width: 4 | 8, operand: Operand = {}): this {
    const relocation: Relocation = { offset: this.here, type, symbol };
    if (operand.addend !== undefined && operand.addend !== 0) relocation.addend = operand.addend;
    if (operand.via !== undefined) relocation.via = operand.via;
    this.relocations.push(relocation);
    for (let i = 0; i < width; i++) this.byte(0);
    return this;
  }

  build(): Emitted {
    const code = Uint8Array.from(this.bytes);
    for (const { at, label } of this.fixups) {
      const target = this.labels.get(label);
      if (target === undefined) throw new Error(`asm: no label ${label}`);
      code[at] = (target - (at + 1)) & 0xff;
    }
    return { code, relocations: [...this.relocations] };
  }
}

export function asm(): Asm {
  return new Asm();
}

/** A global's initial bytes and relocations, ready for define({ globals }). */
export interface EmittedData {
  data: Uint8Array;
  relocations: Relocation[];
}

/** Data of `size` zero bytes with `.quad sym` fields at the given offsets (a vtable, say). */
export function quads(size: number, fields: { offset: number; symbol: string; addend?: number; via?: Via }[]): EmittedData {
  const relocations: Relocation[] = fields.map(({ offset, symbol, addend, via }) => {
    const r: Relocation = { offset, type: 'R_X86_64_64', symbol };
    if (addend !== undefined) r.addend = addend;
    if (via !== undefined) r.via = via;
    return r;
  });
  return { data: new Uint8Array(size), relocations };
}

// ---- decoding ----

const TWO_POW_32 = 0x1_0000_0000;

export function readI32(heap: CodeHeap, address: number): number {
  const b = heap.read(address, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
}

export function readU32(heap: CodeHeap, address: number): number {
  const b = heap.read(address, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

/** An 8-byte field as a number (two's complement; every value the heap writes is a safe integer). */
export function readU64(heap: CodeHeap, address: number): number {
  const b = heap.read(address, 8);
  const view = new DataView(b.buffer, b.byteOffset, 8);
  return view.getInt32(4, true) * TWO_POW_32 + view.getUint32(0, true);
}

/** The field value a relocation's bytes hold, read as its type is extended by the CPU. */
export function fieldValue(heap: CodeHeap, address: number, type: RelocationType): number {
  switch (type) {
    case 'R_X86_64_64': return readU64(heap, address);
    case 'R_X86_64_32': return readU32(heap, address);
    default: return readI32(heap, address);
  }
}

/** S, the target address a relocation's bytes encode: value - A (+ P for PC-relative types). */
export function decodedTarget(heap: CodeHeap, source: number, relocation: Relocation): number {
  const P = source + relocation.offset;
  const A = relocation.addend ?? 0;
  const value = fieldValue(heap, P, relocation.type);
  const pcRelative = relocation.type === 'R_X86_64_PC32' || relocation.type === 'R_X86_64_PLT32';
  return pcRelative ? value - A + P : value - A;
}

/** Where `call rel32` / `jmp rel32` at `instruction` goes. */
export function branchTarget(heap: CodeHeap, instruction: number): number {
  return instruction + 5 + readI32(heap, instruction + 1);
}

/** The slot a stub jumps through (`FF 25 disp32 CC CC`); throws when the bytes are not a stub. */
export function stubSlot(heap: CodeHeap, stub: number): number {
  const b = heap.read(stub, 8);
  if (b[0] !== 0xff || b[1] !== 0x25 || b[6] !== 0xcc || b[7] !== 0xcc) {
    throw new Error(`no stub at 0x${stub.toString(16)}: ${hexBytes(b)}`);
  }
  return stub + 6 + readI32(heap, stub + 2);
}

/** Where a stub sends a call: the address held in its slot. */
export function stubTarget(heap: CodeHeap, stub: number): number {
  return readU64(heap, stubSlot(heap, stub));
}

/** True when the 8 bytes at `address` are a reentry trampoline (`FF 15 disp32 CC CC`). */
export function isTrampoline(heap: CodeHeap, address: number): boolean {
  const b = heap.read(address, 8);
  return b[0] === 0xff && b[1] === 0x15 && b[6] === 0xcc && b[7] === 0xcc;
}

/** The slot a trampoline calls through (the heap's resolver slot). */
export function trampolineSlot(heap: CodeHeap, trampoline: number): number {
  if (!isTrampoline(heap, trampoline)) throw new Error(`no trampoline at 0x${trampoline.toString(16)}`);
  return trampoline + 6 + readI32(heap, trampoline + 2);
}

export function hexBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

// ---- whole-heap snapshots, for "the heap is unchanged" ----

export interface Image {
  stats: HeapStats;
  code: Uint8Array;
  data: Uint8Array;
}

/** Statistics and every byte of both arenas. */
export function image(heap: CodeHeap): Image {
  const stats = heap.stats();
  return {
    stats,
    code: heap.read(stats.code.address, stats.code.size),
    data: heap.read(stats.data.address, stats.data.size),
  };
}

/** The NodeInfo of a live node; throws (failing the test) when there is none. */
export function nodeOf(heap: CodeHeap, name: string): NodeInfo {
  const info = heap.node(name);
  if (info === undefined) throw new Error(`expected a live node named ${name}`);
  return info;
}

/** A function's canonical stub address (its function-pointer value); throws when it has none. */
export function stubOf(heap: CodeHeap, name: string): number {
  const stub = nodeOf(heap, name).stub;
  if (stub === undefined) throw new Error(`expected ${name} to have a stub`);
  return stub.address;
}

/** True when two byte arrays are equal (fast, for whole arenas). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
