// A function's unwind table (FunctionBody.unwind): the .eh_frame records of its body, so that
// the process's unwinder (backtrace(), C++ exceptions, a profiler's stack walk) can step through
// its frames.
//
// As a JIT or a compiler writes it: one CIE, then the FDEs that use it, each FDE's pc_begin
// holding the offset in the body where its range starts (the body's address is not known yet),
// its pc_range the length. The CIE's augmentation is "zR" with the FDE pointer encoding pcrel
// sdata4 (0x1b) or udata4 (0x03), what gcc and LLVM emit; personality routines and LSDAs ('P', 'L':
// C++ exception handlers) are not taken yet. Checked once, at define: every record inside the
// table, every range inside the body.
//
// At placement the heap makes the table the unwinder registers (absoluteTable): the same
// records with 8-byte absolute pointers (DW_EH_PE_absptr). A pc-relative field could not reach
// the body from wherever the unwinder's copy is kept (native memory keeps it with malloc,
// gigabytes from the code arena).

import { invalid } from '../errors.js';
import { setU64 } from '../little-endian.js';

const PCREL_SDATA4 = 0x1b;
const UDATA4 = 0x03;

export interface UnwindTemplate {
  /** The table as given (a copy). */
  readonly bytes: Uint8Array;
  /** Bytes of the CIE, length field included; the FDEs follow it. */
  readonly cieLength: number;
  /** Where the CIE's encoding byte ('R') is. */
  readonly encodingAt: number;
  /** Each FDE: where it starts, its range in the body, and where its instructions start. */
  readonly fdes: readonly { readonly at: number; readonly start: number; readonly length: number; readonly rest: number; readonly end: number }[];
}

/** Reads and checks `unwind` of the function `name` whose code is `codeLength` bytes; a copy is kept. */
export function readUnwind(name: string, unwind: Uint8Array, codeLength: number): UnwindTemplate {
  const bytes = Uint8Array.from(unwind);
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
  let augmentation = '';
  while (at < cieLength && bytes[at] !== 0) augmentation += String.fromCharCode(bytes[at++]!);
  at++;
  if (augmentation !== 'zR') bad(9, `augmentation "${augmentation}"; "zR" is taken (no personality routine or LSDA yet)`);
  uleb(); // code alignment factor
  uleb(); // data alignment factor (signed: only skipped)
  if (version === 1) at++;
  else uleb(); // return address register
  uleb(); // augmentation data length
  const encodingAt = at;
  const encoding = bytes[at];
  if (encoding !== PCREL_SDATA4 && encoding !== UDATA4) bad(at, `FDE pointer encoding 0x${(encoding ?? 0).toString(16)}; pcrel sdata4 (0x1b) or udata4 (0x03) is taken`);
  if (at >= cieLength) bad(at, 'the CIE is cut short');
  // The FDEs.
  const fdes: { at: number; start: number; length: number; rest: number; end: number }[] = [];
  for (at = cieLength; at < bytes.length;) {
    const length = u32(at) + 4;
    if (length === 4) bad(at, 'a terminator inside the table (the heap adds its own)');
    if (length < 16 || at + length > bytes.length) bad(at, `an FDE's length ${length - 4} does not fit`);
    if (u32(at + 4) !== at + 4) bad(at + 4, 'every FDE must use the CIE at the start of the table');
    const start = view.getInt32(at + 8, true);
    const range = view.getUint32(at + 12, true);
    if (start < 0 || start + range > codeLength) bad(at + 8, `the FDE covers [+0x${start.toString(16)}, +0x${(start + range).toString(16)}), outside the ${codeLength} bytes of code`);
    fdes.push({ at, start, length: range, rest: at + 16, end: at + length });
    at += length;
  }
  if (fdes.length === 0) bad(cieLength, 'no FDE follows the CIE');
  return { bytes, cieLength, encodingAt, fdes };
}

/** The table the unwinder registers for the body at `address`: 8-byte absolute pointers. */
export function absoluteTable(t: UnwindTemplate, address: number): Uint8Array {
  let size = t.cieLength;
  for (const f of t.fdes) size += f.end - f.at + 8;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(t.bytes.subarray(0, t.cieLength));
  out[t.encodingAt] = 0x00; // DW_EH_PE_absptr
  let at = t.cieLength;
  for (const f of t.fdes) {
    const length = f.end - f.at + 8;
    view.setUint32(at, length - 4, true);
    view.setUint32(at + 4, at + 4, true); // back to the CIE at 0
    setU64(view, at + 8, address + f.start);
    setU64(view, at + 16, f.length);
    out.set(t.bytes.subarray(f.rest, f.end), at + 24);
    at += length;
  }
  return out;
}

