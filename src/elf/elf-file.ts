// Reading an ELF64 little-endian x86-64 relocatable object (ET_REL): headers, sections, symbols
// and RELA relocations, every index and offset checked against the file before it is used.
//
// One pass over the section table, then one over the symbol table; relocations are decoded per
// section when the loader asks (it skips those of sections it does not load, such as debug
// information). Everything read is copied into plain records, so the caller's buffer may change
// after load without effect. What is malformed is INVALID_OBJECT, with the section or symbol
// index and the offending values in the message.
//
//   ELF header (64 bytes)        section header (64 bytes)     symbol (24)      RELA entry (24)
//   0  e_ident  \x7fELF 2 1 1    0  sh_name   u32              0  st_name u32   0  r_offset u64
//   16 e_type   u16 (1: REL)     4  sh_type   u32              4  st_info u8    8  r_info   u64
//   18 e_machine u16 (62)        8  sh_flags  u64              5  st_other u8      sym = info >> 32
//   40 e_shoff  u64              24 sh_offset u64              6  st_shndx u16     type = info & 0xffffffff
//   58 e_shentsize u16 (64)      32 sh_size   u64              8  st_value u64  16 r_addend s64
//   60 e_shnum  u16              40 sh_link   u32              16 st_size u64
//   62 e_shstrndx u16            44 sh_info   u32
//                                48 sh_addralign u64, 56 sh_entsize u64

import { CodeHeapError } from '../errors.js';

export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_RELA = 4;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const SHT_PREINIT_ARRAY = 16;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_X86_64_UNWIND = 0x7000_0001;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_TLS = 0x400;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;
/**
 * ElfSymbol.shndx of an absolute and of a COMMON symbol. Not SHN_ABS and SHN_COMMON themselves:
 * an object of more than 65,280 sections (-ffunction-sections on a large file) names its sections
 * past SHN_LORESERVE through SHN_XINDEX, and real section 0xfff1 must not read as absolute.
 */
export const ABS_SECTION = -1;
export const COMMON_SECTION = -2;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STB_GNU_UNIQUE = 10;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;

export interface Section {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly align: number;
  readonly entsize: number;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly bind: number;
  readonly type: number;
  readonly visibility: number;
  /** Section index after SHN_XINDEX is resolved; SHN_UNDEF, ABS_SECTION or COMMON_SECTION otherwise. */
  readonly shndx: number;
  readonly value: number;
  readonly size: number;
}

export interface Rela {
  readonly offset: number;
  readonly type: number;
  readonly symbol: number;
  readonly addend: number;
}

export interface ElfFile {
  readonly bytes: Uint8Array;
  readonly sections: readonly Section[];
  /** Index 0 is the null symbol. */
  readonly symbols: readonly ElfSymbol[];
  /** The RELA sections, by the index of the section they apply to. */
  /** By section index (a dense array: objects have thousands of sections, and these are read in every stage). */
  readonly relocationsOf: readonly (Section | undefined)[];
}

// Names are bytes: latin1 keeps each one a character, whatever encoding the compiler used.
const latin1 = new TextDecoder('latin1');

function bad(name: string, message: string): never {
  throw new CodeHeapError('INVALID_OBJECT', `${name}: ${message}`);
}

/**
 * A u64 that must be a safe integer (offsets and sizes past 2^53 are not a real object's). The
 * field is named by parts (`section 12 size`), joined only when refused: this runs for every
 * field of every section, symbol and relocation.
 */
function u64(view: DataView, at: number, name: string, owner: string, index: number, field: string): number {
  const low = view.getUint32(at, true);
  const high = view.getUint32(at + 4, true);
  if (high >= 0x20_0000) bad(name, `${owner} ${index} ${field} ${view.getBigUint64(at, true)} is not a plausible offset or size`);
  return high * 0x1_0000_0000 + low;
}

/** An s64 addend: within ±2^53 (the heap's addends are safe integers), read as two words (a BigInt each would cost more than the rest). */
function s64(view: DataView, at: number, name: string, owner: string, index: number, field: string): number {
  const high = view.getInt32(at + 4, true);
  if (high >= 0x20_0000 || high < -0x20_0000) bad(name, `${owner} ${index} ${field} ${view.getBigInt64(at, true)} is not a safe integer`);
  return high * 0x1_0000_0000 + view.getUint32(at, true);
}

/**
 * A string table, decoded once: names are then slices of one string, where decoding each name
 * on its own (thousands of them in a large object) would cost more than all the rest of reading.
 */
class StringTable {
  readonly #text: string;

  constructor(bytes: Uint8Array, readonly section: Section) {
    this.#text = latin1.decode(bytes.subarray(section.offset, section.offset + section.size));
  }

  /** The NUL-terminated string at `at`; `name`, `owner` and `index` say whose, in messages. */
  at(at: number, name: string, owner: string, index: number): string {
    const { section } = this;
    if (at >= section.size) bad(name, `${owner} ${index}: name offset ${at} is past the ${section.size}-byte string table (section ${section.index})`);
    const end = this.#text.indexOf('\0', at);
    if (end < 0) bad(name, `${owner} ${index}: the name at offset ${at} of section ${section.index} is not NUL-terminated`);
    return this.#text.slice(at, end);
  }
}

/** Parses and checks the object; `name` names it in messages. */
export function readElf(input: Uint8Array, name: string): ElfFile {
  const bytes = input;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64) bad(name, `${bytes.length} bytes is shorter than an ELF header (64)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) bad(name, 'not an ELF file (no \\x7fELF magic)');
  if (bytes[4] !== 2) bad(name, `ELF class ${bytes[4]} is not ELFCLASS64 (2): only 64-bit objects load`);
  if (bytes[5] !== 1) bad(name, `data encoding ${bytes[5]} is not little-endian (1)`);
  const type = view.getUint16(16, true);
  if (type !== 1) bad(name, `e_type ${type} is not ET_REL (1): only relocatable objects (gcc -c) load`);
  const machine = view.getUint16(18, true);
  if (machine !== 62) bad(name, `e_machine ${machine} is not EM_X86_64 (62)`);
  const shoff = u64(view, 40, name, 'the header', 0, 'e_shoff');
  if (view.getUint16(58, true) !== 64) bad(name, `e_shentsize ${view.getUint16(58, true)} is not 64`);
  if (shoff + 64 > bytes.length || shoff === 0) bad(name, `the section table at ${shoff} is past the end of the ${bytes.length}-byte file`);
  let count = view.getUint16(60, true);
  let shstrndx = view.getUint16(62, true);
  // Extended numbering: more than 0xff00 sections keep their count and string table index in section 0.
  if (count === 0) count = u64(view, shoff + 32, name, 'section', 0, 'size (the extended section count)');
  if (shstrndx === SHN_XINDEX) shstrndx = view.getUint32(shoff + 40, true);
  if (shoff + count * 64 > bytes.length) bad(name, `${count} section headers at ${shoff} run past the end of the ${bytes.length}-byte file`);
  // Each section is made once, in its final shape, and named once the name table is known: a copy
  // of each ({ ...header, name }) was a third of reading a 100,000-function object.
  const sections: { -readonly [K in keyof Section]: Section[K] }[] = [];
  const names = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const at = shoff + i * 64;
    const header = {
      index: i, name: '', type: view.getUint32(at + 4, true), flags: u64(view, at + 8, name, 'section', i, 'flags'),
      offset: u64(view, at + 24, name, 'section', i, 'offset'), size: u64(view, at + 32, name, 'section', i, 'size'),
      link: view.getUint32(at + 40, true), info: view.getUint32(at + 44, true),
      align: u64(view, at + 48, name, 'section', i, 'alignment'), entsize: u64(view, at + 56, name, 'section', i, 'entsize'),
    };
    if (header.type !== SHT_NOBITS && i > 0 && header.offset + header.size > bytes.length) {
      bad(name, `section ${i} (offset ${header.offset}, ${header.size} bytes) runs past the end of the ${bytes.length}-byte file`);
    }
    if (header.align > 1 && (header.align & (header.align - 1)) !== 0) bad(name, `section ${i} alignment ${header.align} is not a power of two`);
    sections.push(header);
    names[i] = view.getUint32(at, true);
  }
  if (shstrndx >= count) bad(name, `the section name table index ${shstrndx} is not one of the ${count} sections`);
  const sectionNames = new StringTable(bytes, sections[shstrndx]!);
  for (let i = 1; i < count; i++) sections[i]!.name = sectionNames.at(names[i]!, name, 'section', i);
  const symbols = readSymbols(bytes, view, sections, name);
  const relocationsOf: (Section | undefined)[] = new Array<Section | undefined>(count).fill(undefined);
  for (const s of sections) {
    if (s.type === SHT_REL) bad(name, `section ${s.index} (${s.name}) holds REL relocations: x86-64 objects use RELA`);
    if (s.type !== SHT_RELA) continue;
    if (s.entsize !== 24 || s.size % 24 !== 0) bad(name, `relocation section ${s.index} (${s.name}) has entries of ${s.entsize} bytes and ${s.size} bytes in all, not a multiple of 24`);
    if (s.info === 0 || s.info >= count) bad(name, `relocation section ${s.index} (${s.name}) applies to section ${s.info}, which does not exist`);
    relocationsOf[s.info] = s;
  }
  return { bytes, sections, symbols, relocationsOf };
}

function readSymbols(bytes: Uint8Array, view: DataView, sections: readonly Section[], name: string): ElfSymbol[] {
  const tables: Section[] = [];
  for (const s of sections) if (s.type === SHT_SYMTAB) tables.push(s);
  if (tables.length === 0) return [];
  if (tables.length > 1) bad(name, `${tables.length} symbol tables; an object has one`);
  const table = tables[0]!;
  if (table.entsize !== 24 || table.size % 24 !== 0) bad(name, `the symbol table (section ${table.index}) has entries of ${table.entsize} bytes, not 24`);
  const strings = sections[table.link];
  if (strings === undefined || table.link === 0) bad(name, `the symbol table's string table index ${table.link} is not a section`);
  const symbolNames = new StringTable(bytes, strings);
  const extended = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === table.index);
  const symbols: ElfSymbol[] = [];
  for (let i = 0; i < table.size / 24; i++) {
    const at = table.offset + i * 24;
    const info = bytes[at + 4]!;
    let shndx = view.getUint16(at + 6, true);
    if (shndx === SHN_XINDEX) {
      if (extended === undefined || extended.offset + i * 4 + 4 > extended.offset + extended.size) bad(name, `symbol ${i} has SHN_XINDEX and no extended index`);
      shndx = view.getUint32(extended.offset + i * 4, true);
    } else if (shndx === SHN_ABS) {
      shndx = ABS_SECTION;
    } else if (shndx === SHN_COMMON) {
      shndx = COMMON_SECTION;
    } else if (shndx >= SHN_LORESERVE) {
      bad(name, `symbol ${i} has the reserved section index ${shndx.toString(16)}`);
    }
    if (shndx >= sections.length) {
      bad(name, `symbol ${i} is defined in section ${shndx}, and the object has ${sections.length}`);
    }
    symbols.push({
      index: i, name: symbolNames.at(view.getUint32(at, true), name, 'symbol', i),
      bind: info >> 4, type: info & 0xf, visibility: bytes[at + 5]! & 3, shndx,
      value: u64(view, at + 8, name, 'symbol', i, 'value'), size: u64(view, at + 16, name, 'symbol', i, 'size'),
    });
  }
  return symbols;
}

/** The RELA entries of a relocation section, checked against the symbol table and the target section. */
export function readRelocations(file: ElfFile, rela: Section, target: Section, name: string): Rela[] {
  const { bytes, symbols } = file;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Rela[] = [];
  const relocationOwner = `${rela.name}: relocation`;
  for (let i = 0; i < rela.size / 24; i++) {
    const at = rela.offset + i * 24;
    const offset = u64(view, at, name, relocationOwner, i, 'offset');
    const type = view.getUint32(at + 8, true);
    const symbol = view.getUint32(at + 12, true);
    const addend = s64(view, at + 16, name, relocationOwner, i, 'addend');
    if (symbol >= symbols.length) bad(name, `relocation ${i} of ${rela.name} names symbol ${symbol}, and the symbol table has ${symbols.length}`);
    if (offset >= target.size) bad(name, `relocation ${i} of ${rela.name} at offset ${offset} is past the ${target.size} bytes of ${target.name}`);
    out.push({ offset, type, symbol, addend });
  }
  return out;
}
