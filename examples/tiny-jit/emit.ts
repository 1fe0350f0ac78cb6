// The tiny language compiled to x86-64 (System V): a stack machine over rax, one function at a
// time, with the relocations codeheap links. Two tiers:
//  - tier 0 counts its calls (add qword [rip + calls], 1: a relocation to a global of the
//    program's) and compiles the tree as it is;
//  - tier 1 counts nothing and folds constants first (2 * 3 + x is 6 + x).
//
// Frame: push rbp; mov rbp, rsp; the parameters stored at rbp-8, -16, -24 (rsp kept 16-aligned);
// every intermediate value pushed. A call pops its arguments into rdi, rsi, rdx; the emitter
// knows how many values are pushed at each call and pads the stack to keep it 16-aligned there.
// A call to a function is a rel32 (R_X86_64_PLT32), to its current body; a table call reads a
// pointer from the table (a global whose entries point at the functions' canonical stubs, so a
// recompile never changes them) and calls it, after a bounds check that ends in ud2 (a fault the
// heap turns into an error).

import type { FunctionBody, Relocation } from '../../src/index.js';
import type { Expr, FunctionDecl } from './language.js';

export type Tier = 0 | 1;

const ARGUMENT_REGISTERS = [
  [0x5f], // pop rdi
  [0x5e], // pop rsi
  [0x5a], // pop rdx
];

/** The name of the global that counts a function's calls at tier 0. */
export const counterOf = (fn: string): string => `${fn}.calls`;

/**
 * `file`: the program's source file name, for the body's line table (FunctionBody.lines: a
 * debugger shows each frame at its call's line, a condition at its `if`'s, the prologue and
 * what follows a call at its `fn`'s).
 */
export function compile(fn: FunctionDecl, tier: Tier, tableSizes: ReadonlyMap<string, number>, file?: string): FunctionBody {
  const code: number[] = [];
  const rows: number[] = [];
  /** From here on the code is `line`'s (a row at the same offset replaces the one before). */
  const lineFrom = (line: number | undefined): void => {
    if (file === undefined || line === undefined) return;
    if (rows.length > 0 && rows[rows.length - 3] === code.length) rows.length -= 3;
    rows.push(code.length, 0, line);
  };
  const relocations: Relocation[] = [];
  let depth = 0; // values pushed now
  const bytes = (...b: number[]): void => void code.push(...b);
  const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const rel32 = (symbol: string, type: Relocation['type'], addend: number): void => {
    relocations.push({ offset: code.length, type, symbol, addend });
    bytes(0, 0, 0, 0);
  };
  const push = (): void => {
    bytes(0x50); // push rax
    depth++;
  };
  const pop = (reg: number[]): void => {
    bytes(...reg);
    depth--;
  };
  /** A forward jump's rel32, to patch once its target is known. */
  const jumpFrom = (...opcode: number[]): number => {
    bytes(...opcode, 0, 0, 0, 0);
    return code.length;
  };
  const land = (from: number): void => {
    code.splice(from - 4, 4, ...u32(code.length - from));
  };

  const emit = (e: Expr): void => {
    switch (e.op) {
      case 'int':
        if (e.value >= -(2n ** 31n) && e.value < 2n ** 31n) bytes(0x48, 0xc7, 0xc0, ...u32(Number(e.value) >>> 0)); // mov rax, imm32
        else bytes(0x48, 0xb8, ...[...Array(8)].map((_, i) => Number((BigInt.asUintN(64, e.value) >> BigInt(8 * i)) & 0xffn))); // mov rax, imm64
        return;
      case 'param':
        bytes(0x48, 0x8b, 0x45, (-8 * (e.index + 1)) & 0xff); // mov rax, [rbp - 8(i+1)]
        return;
      case 'neg':
        emit(e.operand);
        bytes(0x48, 0xf7, 0xd8); // neg rax
        return;
      case 'if': {
        lineFrom(e.line);
        emit(e.cond);
        bytes(0x48, 0x85, 0xc0); // test rax, rax
        const toElse = jumpFrom(0x0f, 0x84); // je else
        emit(e.then);
        const toEnd = jumpFrom(0xe9); // jmp end
        land(toElse);
        emit(e.else);
        land(toEnd);
        return;
      }
      case 'call':
      case 'callTable':
        emitCall(e);
        return;
      default: {
        emit(e.left);
        push();
        emit(e.right);
        bytes(0x48, 0x89, 0xc1); // mov rcx, rax
        pop([0x58]); // pop rax
        if (e.op === '+') bytes(0x48, 0x01, 0xc8); // add rax, rcx
        else if (e.op === '-') bytes(0x48, 0x29, 0xc8); // sub rax, rcx
        else if (e.op === '*') bytes(0x48, 0x0f, 0xaf, 0xc1); // imul rax, rcx
        else bytes(0x48, 0x39, 0xc8, 0x0f, e.op === '<' ? 0x9c : 0x94, 0xc0, 0x48, 0x0f, 0xb6, 0xc0); // cmp; setl/sete al; movzx rax, al
      }
    }
  };

  const emitCall = (e: Extract<Expr, { op: 'call' | 'callTable' }>): void => {
    // Padded so that rsp is 16-aligned at the call, after the arguments are popped.
    const pad = depth % 2 === 1;
    if (pad) {
      bytes(0x48, 0x83, 0xec, 0x08); // sub rsp, 8
      depth++;
    }
    for (const arg of e.args) {
      emit(arg);
      push();
    }
    if (e.op === 'callTable') {
      emit(e.index);
      const size = tableSizes.get(e.table);
      if (size === undefined) throw new Error(`${fn.name}: no table ${e.table}`);
      bytes(0x48, 0x3d, ...u32(size)); // cmp rax, size
      const inside = jumpFrom(0x0f, 0x82); // jb inside
      bytes(0x0f, 0x0b); // ud2: an index outside the table
      land(inside);
      bytes(0x4c, 0x8d, 0x1d); // lea r11, [rip + table]
      rel32(e.table, 'R_X86_64_PC32', -4);
      bytes(0x4d, 0x8b, 0x1c, 0xc3); // mov r11, [r11 + rax*8]
    }
    for (let i = e.args.length - 1; i >= 0; i--) pop(ARGUMENT_REGISTERS[i]!);
    lineFrom(e.line);
    if (e.op === 'call') {
      bytes(0xe8); // call f
      rel32(e.name, 'R_X86_64_PLT32', -4);
    } else {
      bytes(0x41, 0xff, 0xd3); // call r11
    }
    lineFrom(fn.line);
    if (pad) {
      bytes(0x48, 0x83, 0xc4, 0x08); // add rsp, 8
      depth--;
    }
  };

  lineFrom(fn.line);
  bytes(0x55, 0x48, 0x89, 0xe5); // push rbp; mov rbp, rsp
  if (fn.params.length > 0) bytes(0x48, 0x83, 0xec, fn.params.length > 2 ? 0x20 : 0x10); // sub rsp, 16 or 32
  fn.params.forEach((_, i) => bytes(0x48, 0x89, [0x7d, 0x75, 0x55][i]!, (-8 * (i + 1)) & 0xff)); // mov [rbp - 8(i+1)], rdi/rsi/rdx
  if (tier === 0) {
    bytes(0x48, 0x83, 0x05); // add qword [rip + calls], 1
    rel32(counterOf(fn.name), 'R_X86_64_PC32', -5);
    bytes(0x01);
  }
  emit(tier === 1 ? fold(fn.body) : fn.body);
  bytes(0x48, 0x89, 0xec, 0x5d, 0xc3); // mov rsp, rbp; pop rbp; ret
  // The last row may sit at the end (after a call that ends the code): a row must start inside it.
  if (rows.length > 0 && rows[rows.length - 3] === code.length) rows.length -= 3;
  const body: FunctionBody = { code: Uint8Array.from(code), relocations };
  if (rows.length > 0) body.lines = { files: [file!], rows };
  return body;
}

/** Constant folding, bottom up: what tier 1 does before emitting. */
export function fold(e: Expr): Expr {
  switch (e.op) {
    case 'int':
    case 'param':
      return e;
    case 'neg': {
      const operand = fold(e.operand);
      return operand.op === 'int' ? { op: 'int', value: BigInt.asIntN(64, -operand.value) } : { op: 'neg', operand };
    }
    case 'if': {
      const cond = fold(e.cond);
      if (cond.op === 'int') return fold(cond.value !== 0n ? e.then : e.else);
      return { ...e, cond, then: fold(e.then), else: fold(e.else) };
    }
    case 'call':
      return { ...e, args: e.args.map(fold) };
    case 'callTable':
      return { ...e, index: fold(e.index), args: e.args.map(fold) };
    default: {
      const left = fold(e.left);
      const right = fold(e.right);
      if (left.op !== 'int' || right.op !== 'int') return { op: e.op, left, right };
      const [a, b] = [left.value, right.value];
      const value = e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : e.op === '<' ? BigInt(a < b) : BigInt(a === b);
      return { op: 'int', value: BigInt.asIntN(64, value) };
    }
  }
}
