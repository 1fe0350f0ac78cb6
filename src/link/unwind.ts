// A function's unwind table (FunctionBody.unwind): the .eh_frame records of its body, so that
// the process's unwinder (backtrace(), C++ exceptions, a profiler's stack walk) can step through
// its frames.
//
// As a JIT or a compiler writes it: one CIE, then the FDEs that use it, each FDE's pc_begin
// holding the offset in the body where its range starts (the body's address is not known yet),
// its pc_range the length. The CIE's augmentation is "zR", "zPR", "zLR" or "zPLR", the FDE pointer
// encoding pcrel sdata4 (0x1b) or udata4 (0x03), what gcc and LLVM emit. A personality routine
// ('P': C++'s, through an indirect pointer, gcc's DW.ref slot) and each FDE's LSDA ('L': its
// handler table) are named by symbol and offset beside the table (UnwindDefinition), and looked
// up when the body is placed; their pointer fields in the table are ignored. Checked once, at
// define: every record inside the table, every range inside the body.
//
// At placement the heap makes the table the unwinder registers (absoluteTable): the same
// records with 8-byte absolute pointers (DW_EH_PE_absptr; the personality's indirect). A
// pc-relative field could not reach the body from wherever the unwinder's copy is kept (native
// memory keeps it with malloc, gigabytes from the code arena).

import { invalid, show } from '../errors.js';

const PCREL_SDATA4 = 0x1b;
const UDATA4 = 0x03;
const INDIRECT_PCREL_SDATA4 = 0x9b;
const ABSPTR = 0x00;
const INDIRECT_ABSPTR = 0x80;

/** A place in the heap, by a symbol's name and an offset from it. */
export interface UnwindTarget {
  readonly symbol: string;
  readonly addend: number;
}

export interface UnwindTemplate {
  /** The table as given (a copy). */
  readonly bytes: Uint8Array;
  /** Bytes of the CIE, length field included; the FDEs follow it. */
  readonly cieLength: number;
  /** The CIE up to its augmentation data length, and its instructions after the data. */
  readonly cieHead: number;
  readonly cieInstructions: number;
  /** The augmentation letters after 'z', in order ('P', 'L', 'R'). */
  readonly augmentation: string;
  readonly personality: UnwindTarget | undefined;
  /** Each FDE: where it starts, its range in the body, its LSDA, and where its instructions are. */
  readonly fdes: readonly {
    readonly start: number; readonly length: number; readonly lsda: UnwindTarget | undefined;
    readonly instructions: number; readonly end: number;
  }[];
}

/**
 * The caller's `unwind` read once, field by field, into plain data (a table copied; a proxy or a
 * getter cannot answer twice): what readUnwind judges later.
 */
export function snapshotUnwind(unwind: unknown): unknown {
  const copy = (bytes: unknown): unknown => (bytes instanceof Uint8Array ? Uint8Array.from(bytes) : bytes);
  if (typeof unwind !== 'object' || unwind === null || unwind instanceof Uint8Array) return copy(unwind);
  const { table, personality, lsda } = unwind as { table?: unknown; personality?: unknown; lsda?: unknown };
  const target = (t: unknown): unknown => {
    if (typeof t !== 'object' || t === null) return t;
    const { symbol, addend } = t as { symbol?: unknown; addend?: unknown };
    return { symbol, addend };
  };
  return {
    table: copy(table),
    personality: personality === undefined ? undefined : target(personality),
    lsda: Array.isArray(lsda) ? Array.from(lsda as unknown[], target) : lsda,
  };
}

/** Checks a snapshot of `unwind` (a table, or { table, personality?, lsda? }) of the function `name` whose code is `codeLength` bytes. */
export function readUnwind(name: string, unwind: unknown, codeLength: number): UnwindTemplate {
  const given = unwind instanceof Uint8Array ? { table: unwind } : unwind;
  if (typeof given !== 'object' || given === null) invalid(`${name}: unwind must be a Uint8Array of .eh_frame records or { table, personality?, lsda? }, got ${show(unwind)}`);
  const { table, personality, lsda } = given as { table?: unknown; personality?: unknown; lsda?: unknown };
  if (!(table instanceof Uint8Array)) invalid(`${name}: unwind.table must be a Uint8Array of .eh_frame records, got ${show(table)}`);
  const bytes = table as Uint8Array;
  const view = new DataView(bytes.buffer);
  const bad = (at: number, what: string): never => invalid(`${name}: unwind table at +0x${at.toString(16)}: ${what}`);
  const u32 = (at: number): number => (at + 4 <= bytes.length ? view.getUint32(at, true) : bad(at, 'cut short'));
  let at = 0;
  const uleb = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 28) bad(at, 'a LEB128 number is cut short or too long');
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  // The CIE.
  const cieLength = u32(0) + 4;
  if (cieLength === 4 + 0xffffffff) bad(0, '64-bit DWARF records are not taken');
  if (cieLength > bytes.length || cieLength < 12) bad(0, `the CIE's length ${cieLength - 4} does not fit the ${bytes.length} bytes`);
  if (u32(4) !== 0) bad(4, 'the table must begin with a CIE (CIE id 0)');
  const version = bytes[8]!;
  if (version !== 1 && version !== 3) bad(8, `CIE version ${version}; 1 and 3 are taken`);
  at = 9;
  let letters = '';
  while (at < cieLength && bytes[at] !== 0) letters += String.fromCharCode(bytes[at++]!);
  at++;
  if (!['zR', 'zPR', 'zLR', 'zPLR'].includes(letters)) bad(9, `augmentation "${letters}"; "zR", "zPR", "zLR" and "zPLR" are taken`);
  const augmentation = letters.slice(1);
  uleb(); // code alignment factor
  uleb(); // data alignment factor (signed: only skipped)
  if (version === 1) at++;
  else uleb(); // return address register
  const cieHead = at;
  const dataLength = uleb();
  const dataEnd = at + dataLength;
  for (const letter of augmentation) {
    const encoding = bytes[at++];
    if (letter === 'P') {
      if (encoding !== INDIRECT_PCREL_SDATA4) bad(at - 1, `personality encoding 0x${(encoding ?? 0).toString(16)}; indirect pcrel sdata4 (0x9b) is taken`);
      at += 4;
    } else if (letter === 'L') {
      if (encoding !== PCREL_SDATA4) bad(at - 1, `LSDA encoding 0x${(encoding ?? 0).toString(16)}; pcrel sdata4 (0x1b) is taken`);
    } else if (encoding !== PCREL_SDATA4 && encoding !== UDATA4) {
      bad(at - 1, `FDE pointer encoding 0x${(encoding ?? 0).toString(16)}; pcrel sdata4 (0x1b) or udata4 (0x03) is taken`);
    }
  }
  if (at !== dataEnd || at > cieLength) bad(cieHead, 'the CIE\'s augmentation data does not match its letters');
  const hasPersonality = augmentation.includes('P');
  const hasLsda = augmentation.includes('L');
  const target = (value: unknown, what: string): UnwindTarget => {
    if (typeof value !== 'object' || value === null) invalid(`${name}: unwind.${what} must be { symbol, addend? }, got ${show(value)}`);
    const { symbol, addend } = value as { symbol?: unknown; addend?: unknown };
    if (typeof symbol !== 'string' || symbol === '') invalid(`${name}: unwind.${what}.symbol must be a name, got ${show(symbol)}`);
    if (addend !== undefined && !Number.isSafeInteger(addend)) invalid(`${name}: unwind.${what}.addend must be an integer, got ${show(addend)}`);
    return { symbol: symbol as string, addend: (addend as number | undefined) ?? 0 };
  };
  if (hasPersonality !== (personality !== undefined)) invalid(`${name}: unwind.personality must be given exactly when the CIE has a personality ('P'): "${letters}"`);
  const personalityTarget = personality === undefined ? undefined : target(personality, 'personality');
  const lsdas = lsda === undefined ? [] : Array.isArray(lsda) ? [...lsda as unknown[]] : invalid(`${name}: unwind.lsda must be an array, got ${show(lsda)}`);
  // The FDEs.
  const fdes: UnwindTemplate['fdes'][number][] = [];
  for (at = cieLength; at < bytes.length;) {
    const start = at;
    const length = u32(at) + 4;
    if (length === 4) bad(at, 'a terminator inside the table (the heap adds its own)');
    if (length < 17 || at + length > bytes.length) bad(at, `an FDE's length ${length - 4} does not fit`);
    if (u32(at + 4) !== at + 4) bad(at + 4, 'every FDE must use the CIE at the start of the table');
    const pcBegin = view.getInt32(at + 8, true);
    const range = view.getUint32(at + 12, true);
    if (pcBegin < 0 || pcBegin + range > codeLength) bad(at + 8, `the FDE covers [+0x${pcBegin.toString(16)}, +0x${(pcBegin + range).toString(16)}), outside the ${codeLength} bytes of code`);
    at += 16;
    const fdeData = uleb();
    if (fdeData !== (hasLsda ? 4 : 0)) bad(at - 1, `${fdeData} bytes of FDE augmentation data; ${hasLsda ? 4 : 0} are taken`);
    const index = fdes.length;
    const given = hasLsda ? lsdas[index] : undefined;
    fdes.push({
      start: pcBegin, length: range, instructions: at + fdeData, end: start + length,
      lsda: given === undefined || given === null ? undefined : target(given, `lsda[${index}]`),
    });
    at = start + length;
  }
  if (fdes.length === 0) bad(cieLength, 'no FDE follows the CIE');
  if (lsdas.length > fdes.length) invalid(`${name}: unwind.lsda names ${lsdas.length} LSDAs for ${fdes.length} FDEs`);
  return { bytes, cieLength, cieHead, cieInstructions: dataEnd, augmentation, personality: personalityTarget, fdes };
}

/**
 * The table the unwinder registers for the body at `address`: 8-byte absolute pointers. `where`
 * gives a target's address (the personality's slot, an LSDA), or undefined when it is gone.
 */
export function absoluteTable(t: UnwindTemplate, address: number, where: (target: UnwindTarget) => number | undefined): Uint8Array | undefined {
  const out: number[] = [];
  const put32 = (at: number, v: number): void => {
    for (let i = 0; i < 4; i++) out[at + i] = (v >>> (8 * i)) & 0xff;
  };
  const u32 = (v: number): void => put32(out.length, v);
  const u64 = (v: number): void => {
    u32(v >>> 0);
    u32(Math.floor(v / 2 ** 32));
  };
  /** Pads the record begun at `from` to 8 bytes (DW_CFA_nop) and writes its length. */
  const close = (from: number): void => {
    while ((out.length - from) % 8 !== 0) out.push(0);
    put32(from, out.length - from - 4);
  };
  // The CIE: its head, new augmentation data (each encoding absptr; the personality's slot, indirect), its instructions.
  u32(0);
  out.push(...t.bytes.subarray(4, t.cieHead), t.augmentation.length + (t.personality === undefined ? 0 : 8));
  for (const letter of t.augmentation) {
    if (letter !== 'P') {
      out.push(ABSPTR);
      continue;
    }
    const slot = where(t.personality!);
    if (slot === undefined) return undefined;
    out.push(INDIRECT_ABSPTR);
    u64(slot);
  }
  out.push(...t.bytes.subarray(t.cieInstructions, t.cieLength));
  close(0);
  for (const f of t.fdes) {
    const start = out.length;
    u32(0);
    u32(start + 4); // back to the CIE at 0
    u64(address + f.start);
    u64(f.length);
    if (t.augmentation.includes('L')) {
      const lsda = f.lsda === undefined ? 0 : where(f.lsda);
      if (lsda === undefined) return undefined;
      out.push(8);
      u64(lsda);
    } else {
      out.push(0);
    }
    out.push(...t.bytes.subarray(f.instructions, f.end));
    close(start);
  }
  return Uint8Array.from(out);
}
