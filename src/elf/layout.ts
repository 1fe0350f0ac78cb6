// Which node of the heap each section of an object becomes.
//
// Every allocatable section with bytes becomes a node: a function per executable section, a
// global per data section (`.bss` by size). A section that only one function uses and that
// reaches into that function's body (a switch's jump table in `.rodata.f`, the cold part
// `.text.unlikely.f` that jumps back into `.text.f`) is laid out inside the function's node
// instead, after its code: DESIGN semantics 9's "one unit of redefinition". Its interior
// references then lie in the one body they point into, so they are resolved once, at load, as a
// static linker resolves them, and evicting or recompiling the function takes its table with it.
//
// Sections the heap has no use for are not loaded: unwind tables (.eh_frame: the heap registers
// no unwinder), notes, groups, and the constructor and destructor arrays (their entries are read,
// then run by the loader, not kept).

import * as base from '../base.js';
import { CodeHeapError, hex } from '../errors.js';
import { LargeMap } from '../large-map.js';
import type { ElfFile, Rela, Section } from './elf-file.js';
import * as elf from './elf-file.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { MAX_ALIGN } = base;
const { SHF_ALLOC, SHF_EXECINSTR, SHF_TLS, SHF_WRITE, SHT_FINI_ARRAY, SHT_GROUP, SHT_INIT_ARRAY, SHT_NOBITS, SHT_NOTE, SHT_PREINIT_ARRAY, SHT_X86_64_UNWIND, STB_LOCAL, STT_FILE, STT_FUNC, STT_SECTION } = elf;

/** One node to be: a host section and the sections laid out inside it. */
export interface NodeLayout {
  /** The heap name, given by naming(). */
  name: string;
  readonly kind: 'function' | 'global';
  readonly host: Section;
  /** Sections in the node, the host first at 0, each at its offset. */
  readonly parts: { readonly section: Section; readonly at: number }[];
  size: number;
  align: number;
  /** Only a global of .bss-like sections: zero-filled, no bytes. */
  readonly zeroFill: boolean;
  /**
   * More than one function lies in it (no -ffunction-sections): the assembler resolved the
   * references among them, `lea f(%rip)` included, to plain offsets, so every pointer to one of
   * its functions must be its body address too (a stub would make two pointers to f differ).
   */
  readonly shared: boolean;
  /** Read-only once relocated (.rodata, .data.rel.ro): the CPU's view of it is made read-only. */
  readonly readOnly: boolean;
  /** The name it goes by when no symbol names it (the object's one node of read-only data). */
  readonly label: string;
}

export interface Layout {
  readonly nodes: NodeLayout[];
  /** By section index: the node holding it and its offset there. */
  /** By section index: the node holding it and its offset there (undefined for a section not loaded). */
  readonly placeOf: readonly ({ readonly node: NodeLayout; readonly at: number } | undefined)[];
  /** Constructor and destructor arrays, in the order the ELF gABI runs them. */
  readonly initArrays: Section[];
  readonly finiArrays: Section[];
}

function unsupported(object: string, message: string): never {
  throw new CodeHeapError('UNSUPPORTED', `${object}: ${message}`);
}

/** Whether the loader gives this section a node. */
function loads(s: Section): boolean {
  if ((s.flags & SHF_ALLOC) === 0 || s.size === 0) return false;
  if (s.type === SHT_X86_64_UNWIND || s.name === '.eh_frame' || s.type === SHT_GROUP || s.type === SHT_NOTE) return false;
  return s.type !== SHT_INIT_ARRAY && s.type !== SHT_FINI_ARRAY && s.type !== SHT_PREINIT_ARRAY;
}

/** The arrays' priority (`.init_array.00100`): lower runs first; the plain array after all of them. */
function priority(s: Section): number {
  const match = /\.(\d+)$/.exec(s.name);
  return match === null ? 65536 : Number(match[1]);
}

/**
 * Lays the object's sections out as nodes. `relocations` are the RELA entries of each loaded
 * section (by section index); `symbolSection` gives the section a relocation's symbol lies in.
 */
export function layOut(
  file: ElfFile, object: string, relocations: readonly (readonly Rela[])[], symbolSection: (symbol: number) => number,
): Layout {
  const initArrays: Section[] = [];
  const finiArrays: Section[] = [];
  const loaded: Section[] = [];
  for (const s of file.sections) {
    if ((s.flags & SHF_TLS) !== 0 && (s.flags & SHF_ALLOC) !== 0 && s.size > 0) {
      unsupported(object, `section ${s.name} holds thread-local storage, which the heap does not give objects (compile without __thread, or keep TLS in the host program)`);
    }
    if (s.type === SHT_PREINIT_ARRAY && s.size > 0) unsupported(object, `section ${s.name}: .preinit_array is for executables only`);
    if (s.type === SHT_INIT_ARRAY && s.size > 0) initArrays.push(s);
    if (s.type === SHT_FINI_ARRAY && s.size > 0) finiArrays.push(s);
    if (!loads(s)) continue;
    if (s.align > MAX_ALIGN) unsupported(object, `section ${s.name} asks for alignment ${s.align}; the heap aligns to at most ${MAX_ALIGN}`);
    loaded.push(s);
  }
  initArrays.sort((a, b) => priority(a) - priority(b));
  finiArrays.sort((a, b) => priority(a) - priority(b));
  const exported = exportedSections(file);
  const hostOf = absorptions(file, loaded, relocations, symbolSection, exported);
  // The object's read-only data that no exported symbol names goes into one node (`object:.rodata`):
  // read-only pages are whole pages, and a page per string table or constant would waste most of it.
  let rodata = -1;
  for (const s of loaded) {
    if (hostOf.has(s.index) || !isReadOnlyData(s) || exported[s.index] === 1) continue;
    if (rodata < 0) rodata = s.index;
    else hostOf.set(s.index, rodata);
  }
  const functionsIn = new Int32Array(file.sections.length);
  for (const sym of file.symbols) if (sym.type === STT_FUNC && sym.shndx > 0 && sym.shndx < functionsIn.length) functionsIn[sym.shndx]!++;
  const nodes: NodeLayout[] = [];
  const placeOf = new Array<{ node: NodeLayout; at: number } | undefined>(file.sections.length).fill(undefined);
  for (const s of loaded) {
    if (hostOf.has(s.index)) continue;
    const executable = (s.flags & SHF_EXECINSTR) !== 0;
    const node: NodeLayout = {
      name: '', kind: executable ? 'function' : 'global', host: s, parts: [{ section: s, at: 0 }],
      size: s.size, align: Math.max(1, s.align), zeroFill: s.type === SHT_NOBITS, shared: executable && functionsIn[s.index]! > 1,
      readOnly: isReadOnlyData(s), label: s.index === rodata ? '.rodata' : s.name,
    };
    nodes.push(node);
    placeOf[s.index] = { node, at: 0 };
  }
  for (const s of loaded) {
    const host = hostOf.get(s.index);
    if (host === undefined) continue;
    const node = placeOf[host]!.node;
    const align = Math.max(1, s.align);
    const at = Math.ceil(node.size / align) * align;
    node.parts.push({ section: s, at });
    node.size = at + s.size;
    node.align = Math.max(node.align, align);
    placeOf[s.index] = { node, at };
  }
  return { nodes, placeOf, initArrays, finiArrays };
}

/**
 * The sections laid out inside a function, by section index to the host function's section:
 * read-only or executable sections that no exported symbol names, whose every referrer is one
 * function section, and that refer to it back.
 */
function absorptions(
  file: ElfFile, loaded: readonly Section[], relocations: readonly (readonly Rela[])[], symbolSection: (symbol: number) => number,
  exported: Uint8Array,
): LargeMap<number, number> {
  const count = file.sections.length;
  const isLoaded = new Uint8Array(count);
  for (const s of loaded) isLoaded[s.index] = 1;
  // Per section: its one referrer, NO_REFERRER before any, SEVERAL once there are two.
  const NO_REFERRER = -1;
  const SEVERAL = -2;
  const referrer = new Int32Array(count).fill(NO_REFERRER);
  for (const s of loaded) {
    for (const r of relocations[s.index]!) {
      const target = symbolSection(r.symbol);
      if (target < 0 || target === s.index || target >= count) continue;
      const seen = referrer[target]!;
      referrer[target] = seen === NO_REFERRER || seen === s.index ? s.index : SEVERAL;
    }
  }
  const hostOf = new LargeMap<number, number>();
  for (const s of loaded) {
    if (exported[s.index] === 1 || (s.flags & SHF_WRITE) !== 0) continue;
    const host = referrer[s.index]!;
    if (host < 0 || isLoaded[host] === 0 || (file.sections[host]!.flags & SHF_EXECINSTR) === 0) continue;
    // It must point back into its one referrer: a jump table or a cold part, not any constant.
    if (!relocations[s.index]!.some((r) => symbolSection(r.symbol) === host)) continue;
    hostOf.set(s.index, host);
  }
  // One level: a host is never laid out inside another section.
  for (const [section, host] of [...hostOf]) if (hostOf.has(host)) hostOf.delete(section);
  return hostOf;
}

/** 1 for each section an exported symbol is defined in. */
function exportedSections(file: ElfFile): Uint8Array {
  const count = file.sections.length;
  const exported = new Uint8Array(count);
  for (const sym of file.symbols) {
    if (sym.bind !== STB_LOCAL && sym.type !== STT_SECTION && sym.type !== STT_FILE && sym.shndx > 0 && sym.shndx < count) exported[sym.shndx] = 1;
  }
  return exported;
}

/** Data no code may write once the loader has relocated it. */
function isReadOnlyData(s: Section): boolean {
  if ((s.flags & SHF_EXECINSTR) !== 0 || s.type === SHT_NOBITS) return false;
  return (s.flags & SHF_WRITE) === 0 || s.name === '.data.rel.ro' || s.name.startsWith('.data.rel.ro.');
}

/** `a:b` names a private symbol or section of object `a`; `#n` tells apart sections of one name. */
export function privateName(object: string, name: string): string {
  return `${object}:${name}`;
}

export function sectionLabel(s: Section): string {
  return `${s.name || `section ${s.index}`} (section ${s.index})`;
}

export function at(s: Section, offset: number): string {
  return `${s.name}+${hex(offset)}`;
}
