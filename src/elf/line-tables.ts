// Each function's line table (FunctionBody.lines), read from the object's .debug_line, so that a
// debugger names `file:line` in loaded code compiled with -g (native memory hands the table to gdb).
//
// .debug_line holds a line program per compile unit (DWARF 2 to 5: gcc 12 writes 5, older
// compilers 4): a header with the file names, then opcodes that a small state machine runs to
// make rows (address, file, line). In a relocatable object each sequence starts with
// DW_LNE_set_address, whose R_X86_64_64 relocation names the section the addresses lie in (a
// section symbol plus an offset); DWARF 5 names its files through R_X86_64_32 relocations into
// .debug_line_str. A row's section and offset give its node and the offset there (layout.ts: a
// function's cold part lands after its code). Only rows that begin a statement (is_stmt) are
// kept, as a debugger places breakpoints by them. What does not parse (a unit cut short, a form
// the reader does not take, an address with no relocation) leaves those functions without lines
// rather than the object unloaded: debug information never stops a load.

import { LargeMap } from '../large-map.js';
import type { LineTable } from '../types.js';
import type { ElfFile, Rela, Section } from './elf-file.js';
import { readRelocations } from './elf-file.js';
import type { Layout, NodeLayout } from './layout.js';

const R_X86_64_64 = 1;
const R_X86_64_32 = 10;

// Line program content types and the forms of DWARF 5 file and directory entries.
const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;
const DW_FORM_block = 0x09;
const DW_FORM_block1 = 0x0a;
const DW_FORM_data1 = 0x0b;
const DW_FORM_data2 = 0x05;
const DW_FORM_data4 = 0x06;
const DW_FORM_data8 = 0x07;
const DW_FORM_data16 = 0x1e;
const DW_FORM_string = 0x08;
const DW_FORM_strp = 0x0e;
const DW_FORM_udata = 0x0f;
const DW_FORM_line_strp = 0x1f;

/** Thrown inside a unit that does not parse: the reader goes on with the next, or stops. */
class Malformed extends Error {}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The line table of each function node whose code .debug_line covers. */
export function lineTables(file: ElfFile, layout: Layout, object: string): LargeMap<NodeLayout, LineTable> {
  const tables = new LargeMap<NodeLayout, LineTable>();
  const section = file.sections.find((s) => s.name === '.debug_line' && s.size > 0);
  if (section === undefined) return tables;
  const rela = file.relocationsOf[section.index];
  let relocations: Rela[];
  try {
    relocations = rela === undefined ? [] : readRelocations(file, rela, section, object);
  } catch {
    return tables;
  }
  const relaAt = new LargeMap<number, Rela>();
  for (const r of relocations) relaAt.set(r.offset, r);
  const rows = new Rows(layout);
  const reader = new Reader(file, section, relaAt);
  while (reader.at < reader.end) {
    const next = reader.unitEnd();
    if (next < 0) break;
    try {
      readUnit(reader, next, rows);
    } catch (error) {
      if (!(error instanceof Malformed)) throw error;
    }
    reader.at = next;
  }
  return rows.tables(tables);
}

/** Bytes of .debug_line, read in order, each read checked against `limit` (the unit's end). */
class Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  at: number;
  readonly end: number;
  limit: number;
  /** 4, or 8 in a 64-bit DWARF unit. */
  offsetSize = 4;
  /** Where .debug_line starts in the file (relocation offsets are from here). */
  readonly base: number;

  constructor(readonly file: ElfFile, section: Section, readonly relaAt: LargeMap<number, Rela>) {
    const { bytes } = file;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = section.offset;
    this.end = section.offset + section.size;
    this.limit = this.end;
    this.base = section.offset;
  }

  private need(n: number): number {
    const at = this.at;
    if (at + n > this.limit) throw new Malformed();
    this.at = at + n;
    return at;
  }

  u8(): number {
    return this.bytes[this.need(1)]!;
  }

  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  /** A u64 that must be below 2^53 (offsets and sizes are). */
  u64(): number {
    const at = this.need(8);
    const high = this.view.getUint32(at + 4, true);
    if (high >= 0x20_0000) throw new Malformed();
    return high * 0x1_0000_0000 + this.view.getUint32(at, true);
  }

  uleb(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
      if (scale > 2 ** 56) throw new Malformed();
    }
  }

  sleb(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return (byte & 0x40) !== 0 ? value - scale : value;
      if (scale > 2 ** 56) throw new Malformed();
    }
  }

  skip(n: number): void {
    this.need(n);
  }

  cString(): string {
    const start = this.at;
    const end = this.bytes.indexOf(0, start);
    if (end < 0 || end >= this.limit) throw new Malformed();
    this.at = end + 1;
    return decode(this.bytes.subarray(start, end));
  }

  /** An offset field (4 or 8 bytes); with the relocation at it, what that makes it, and into which section. */
  offsetField(): { value: number; section: number } {
    const at = this.at;
    const stored = this.offsetSize === 8 ? this.u64() : this.u32();
    const rela = this.relaAt.get(at - this.base);
    if (rela === undefined) return { value: stored, section: -1 };
    const sym = this.file.symbols[rela.symbol];
    if (sym === undefined || (rela.type !== R_X86_64_32 && rela.type !== R_X86_64_64)) throw new Malformed();
    return { value: sym.value + rela.addend, section: sym.shndx };
  }

  /** The unit's end (after its length field, which is read), or -1 when the length is past the section. */
  unitEnd(): number {
    this.limit = this.end;
    try {
      let length = this.u32();
      this.offsetSize = 4;
      if (length === 0xffff_ffff) {
        length = this.u64();
        this.offsetSize = 8;
      }
      const end = this.at + length;
      return end > this.end ? -1 : end;
    } catch {
      return -1;
    }
  }
}

/** A file name as the compiler wrote it: UTF-8 when it is, else byte for byte. */
function decode(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

/** The NUL-terminated string at `offset` of section `index` (.debug_line_str, .debug_str). */
function stringAt(file: ElfFile, index: number, offset: number): string {
  const s = file.sections[index];
  if (s === undefined || offset >= s.size) throw new Malformed();
  const bytes = file.bytes.subarray(s.offset + offset, s.offset + s.size);
  const end = bytes.indexOf(0);
  if (end < 0) throw new Malformed();
  return decode(bytes.subarray(0, end));
}

function joinPath(directory: string | undefined, name: string): string {
  if (name.startsWith('/') || directory === undefined || directory === '') return name;
  return directory.endsWith('/') ? directory + name : `${directory}/${name}`;
}

/** One line program: its header's file names, then its rows, into `rows`. */
function readUnit(r: Reader, end: number, rows: Rows): void {
  r.limit = end;
  const version = r.u16();
  if (version < 2 || version > 5) throw new Malformed();
  if (version >= 5) {
    if (r.u8() !== 8) throw new Malformed();
    r.u8();
  }
  const headerLength = r.offsetSize === 8 ? r.u64() : r.u32();
  const program = r.at + headerLength;
  if (program > end) throw new Malformed();
  const minimumLength = r.u8();
  if (version >= 4) r.u8();
  const defaultIsStmt = r.u8() !== 0;
  const lineBase = (r.u8() << 24) >> 24;
  const lineRange = r.u8();
  const opcodeBase = r.u8();
  if (lineRange === 0 || opcodeBase === 0) throw new Malformed();
  const operands: number[] = [];
  for (let i = 1; i < opcodeBase; i++) operands.push(r.u8());
  const files = version >= 5 ? fileNames5(r) : fileNames4(r);
  r.at = program;
  runProgram(r, { minimumLength, defaultIsStmt, lineBase, lineRange, opcodeBase, operands }, files, rows);
}

/** DWARF 2 to 4: directories (index 0 the compilation's, unnamed here) and files, index 1 first. */
function fileNames4(r: Reader): (string | undefined)[] {
  const directories: (string | undefined)[] = [undefined];
  for (let d = r.cString(); d !== ''; d = r.cString()) directories.push(d);
  const files: (string | undefined)[] = [undefined];
  for (let name = r.cString(); name !== ''; name = r.cString()) {
    const directory = r.uleb();
    r.uleb();
    r.uleb();
    files.push(joinPath(directories[directory], name));
  }
  return files;
}

/** DWARF 5: entry formats, then directories (0 the compilation's) and files (0 the unit's own). */
function fileNames5(r: Reader): (string | undefined)[] {
  const directories = entries(r).map((e) => e.path);
  const compilation = directories[0];
  return entries(r).map((e) => {
    if (e.path === undefined) return undefined;
    const directory = directories[e.directory];
    const full = joinPath(directory, e.path);
    return directory === compilation ? full : joinPath(compilation, full);
  });
}

/** One DWARF 5 entry list: its format, then its entries, each a path and a directory index. */
function entries(r: Reader): { path: string | undefined; directory: number }[] {
  const format: [number, number][] = [];
  for (let n = r.u8(); n > 0; n--) format.push([r.uleb(), r.uleb()]);
  const list: { path: string | undefined; directory: number }[] = [];
  const count = r.uleb();
  // Each entry takes a byte at least, when its format has a field: a count past the bytes left is a lie.
  if (count > 0 && (format.length === 0 || count > r.limit - r.at)) throw new Malformed();
  for (let n = count; n > 0; n--) {
    let path: string | undefined;
    let directory = 0;
    for (const [content, form] of format) {
      const value = formValue(r, form);
      if (content === DW_LNCT_path && typeof value === 'string') path = value;
      if (content === DW_LNCT_directory_index && typeof value === 'number') directory = value;
    }
    list.push({ path, directory });
  }
  return list;
}

/** A field of the form given: a string for the string forms, a number for the constants, nothing for blocks. */
function formValue(r: Reader, form: number): string | number | undefined {
  switch (form) {
    case DW_FORM_string: return r.cString();
    case DW_FORM_line_strp:
    case DW_FORM_strp: {
      const { value, section } = r.offsetField();
      if (section < 0) {
        const name = form === DW_FORM_line_strp ? '.debug_line_str' : '.debug_str';
        const own = r.file.sections.find((s) => s.name === name);
        if (own === undefined) throw new Malformed();
        return stringAt(r.file, own.index, value);
      }
      return stringAt(r.file, section, value);
    }
    case DW_FORM_udata: return r.uleb();
    case DW_FORM_data1: return r.u8();
    case DW_FORM_data2: return r.u16();
    case DW_FORM_data4: return r.u32();
    case DW_FORM_data8: return r.u64();
    case DW_FORM_data16: r.skip(16); return undefined;
    case DW_FORM_block: r.skip(r.uleb()); return undefined;
    case DW_FORM_block1: r.skip(r.u8()); return undefined;
    default: throw new Malformed();
  }
}

interface Header {
  readonly minimumLength: number;
  readonly defaultIsStmt: boolean;
  readonly lineBase: number;
  readonly lineRange: number;
  readonly opcodeBase: number;
  readonly operands: readonly number[];
}

/** Runs the line program's state machine from r.at to the unit's end, giving each statement row to `rows`. */
function runProgram(r: Reader, h: Header, files: readonly (string | undefined)[], rows: Rows): void {
  const { minimumLength, lineBase, lineRange, opcodeBase } = h;
  // The state machine's registers; `section` is -1 until a relocated DW_LNE_set_address names it.
  let section = -1;
  let address = 0;
  let file = 1;
  let line = 1;
  let isStmt = h.defaultIsStmt;
  const reset = (): void => {
    section = -1;
    address = 0;
    file = 1;
    line = 1;
    isStmt = h.defaultIsStmt;
  };
  const emit = (): void => {
    if (section >= 0 && isStmt) rows.add(section, address, files[file], line);
  };
  while (r.at < r.limit) {
    const opcode = r.u8();
    if (opcode >= opcodeBase) {
      const adjusted = opcode - opcodeBase;
      address += Math.floor(adjusted / lineRange) * minimumLength;
      line += lineBase + (adjusted % lineRange);
      emit();
      continue;
    }
    switch (opcode) {
      case 0: {
        const length = r.uleb();
        const after = r.at + length;
        if (length === 0 || after > r.limit) throw new Malformed();
        const sub = r.u8();
        if (sub === 1) {
          reset();
        } else if (sub === 2 && length === 9) {
          const at = r.at - r.base;
          r.u64();
          const rela = r.relaAt.get(at);
          const sym = rela === undefined || rela.type !== R_X86_64_64 ? undefined : r.file.symbols[rela.symbol];
          section = sym === undefined || sym.shndx <= 0 ? -1 : sym.shndx;
          address = sym === undefined ? 0 : sym.value + rela!.addend;
        }
        r.at = after;
        break;
      }
      case 1: emit(); break;
      case 2: address += r.uleb() * minimumLength; break;
      case 3: line += r.sleb(); break;
      case 4: file = r.uleb(); break;
      case 5: r.uleb(); break;
      case 6: isStmt = !isStmt; break;
      case 7: break;
      case 8: address += Math.floor((255 - opcodeBase) / lineRange) * minimumLength; break;
      case 9: address += r.u16(); break;
      default:
        // set_prologue_end, set_epilogue_begin, set_isa and opcodes past DWARF 5: skip their operands.
        for (let n = h.operands[opcode - 1] ?? 0; n > 0; n--) r.uleb();
    }
  }
}

/** The rows gathered, by function node; then each node's table, its rows in order of offset. */
class Rows {
  readonly #byNode = new LargeMap<NodeLayout, { files: string[]; fileIndex: LargeMap<string, number>; rows: number[] }>();

  constructor(private readonly layout: Layout) {}

  add(section: number, offset: number, name: string | undefined, line: number): void {
    const place = this.layout.placeOf[section];
    if (place === undefined || place.node.kind !== 'function' || name === undefined) return;
    const at = place.at + offset;
    if (at < place.at || at >= place.node.size || line < 0 || line > 0xffff_ffff) return;
    let entry = this.#byNode.get(place.node);
    if (entry === undefined) this.#byNode.set(place.node, entry = { files: [], fileIndex: new LargeMap(), rows: [] });
    let index = entry.fileIndex.get(name);
    if (index === undefined) {
      index = entry.files.length;
      entry.files.push(name);
      entry.fileIndex.set(name, index);
    }
    entry.rows.push(at, index, line);
  }

  /** Each node's rows sorted by offset, the last row kept where several share one (the one that holds there). */
  tables(into: LargeMap<NodeLayout, LineTable>): LargeMap<NodeLayout, LineTable> {
    for (const [node, entry] of this.#byNode) {
      const { rows } = entry;
      const order = Array.from({ length: rows.length / 3 }, (_, i) => i);
      // Stable: rows at one offset keep their program order.
      order.sort((a, b) => rows[3 * a]! - rows[3 * b]!);
      const out: number[] = [];
      for (const i of order) {
        const at = rows[3 * i]!;
        if (out.length > 0 && out[out.length - 3] === at) out.length -= 3;
        out.push(at, rows[3 * i + 1]!, rows[3 * i + 2]!);
      }
      into.set(node, { files: entry.files, rows: Uint32Array.from(out) });
    }
    return into;
  }
}
