// loadObject: an ELF64 x86-64 relocatable object (what `gcc -c` writes) into a CodeHeap, as
// MCJIT's runtime dynamic linker loads one into memory: each allocatable section a node, each
// relocation a counted edge, symbols resolved per object, constructors run.
//
// The stages, each done before the heap is touched so that a refusal leaves it as it was:
//   read    elf-file.ts   headers, sections, symbols, RELA entries, every index checked
//   lay out layout.ts     sections to nodes (a function's own jump tables laid inside it)
//   name    here          exported symbols keep their names; the rest are private to the object
//   resolve targets.ts    each symbol to a node, the heap, an address or 0
//   translate translate.ts relocations to the heap's, constants written, GOT entries made
//   link    the heap      one define (all or nothing); lazy functions declared first
// then constructors run, and the object's handles go to the LoadedObject it returns.

import { symbolKind, type CodeHeap } from '../code-heap.js';
import * as base from '../base.js';
import { plainUint8, uint8Length } from '../base.js';
import { CodeHeapError, invalid, show } from '../errors.js';
import { readInput } from '../link/definitions.js';
import { entryAddend } from '../reloc/architecture.js';
import { x86_64 } from '../reloc/x86-64.js';
import type { Handle } from '../handle.js';
import { LargeMap } from '../large-map.js';
import type { FunctionDefinition, GlobalDefinition, LineTable, UnwindDefinition } from '../types.js';
import { readElf, readRelocations, type ElfFile, type ElfSymbol, type Rela, type Section } from './elf-file.js';
import * as elf from './elf-file.js';
import { layOut, privateName, type Layout, type NodeLayout } from './layout.js';
import { createLoadedObject, type Constructor, type LoadedObject } from './loaded-object.js';
import { freeName, objectsOf } from './registry.js';
import { isExported, resolveSymbols, type Export } from './targets.js';
import { unwindTables } from './unwind-tables.js';
import { lineTables } from './line-tables.js';
import { Translator, type NodeContents } from './translate.js';
import * as x86 from './x86-64-sites.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { MAX_ALIGN } = base;
const { SHF_ALLOC, SHF_WRITE, SHT_NOBITS, STB_LOCAL, STB_WEAK, STT_FILE, STT_SECTION } = elf;

/** The relocations of a section that has none, or that is not loaded. */
const NO_RELAS: readonly Rela[] = [];

export interface LoadOptions {
  /** The object's name, for messages and its private symbols (`name:symbol`); default 'object'. */
  name?: string;
  /** Declare every function and compile each from its section on its first call; default false. */
  lazy?: boolean;
  /** The address of a symbol outside the heap, asked before the heap's resolveExternal and the process. */
  resolve?: (symbol: string) => number | undefined;
  /** 'run' (default): constructors run on load, destructors on unload; 'defer': `lib.runConstructors()` runs them. */
  constructors?: 'run' | 'defer';
}

interface Options {
  readonly name: string;
  readonly lazy: boolean;
  readonly resolve: ((symbol: string) => unknown) | undefined;
  readonly constructors: 'run' | 'defer';
}

function readOptions(options: unknown): Options {
  if (options === undefined) return { name: 'object', lazy: false, resolve: undefined, constructors: 'run' };
  if (typeof options !== 'object' || options === null) invalid(`loadObject: options must be an object, got ${show(options)}`);
  // Each field read once; a getter or proxy that throws is INVALID_ARGUMENT.
  const { name, lazy, resolve, constructors } = readInput('loadObject options', () => {
    const { name, lazy, resolve, constructors } = options as Record<string, unknown>;
    return { name, lazy, resolve, constructors };
  });
  if (name !== undefined && (typeof name !== 'string' || name === '' || name.includes('\0') || name.length > 256)) {
    invalid(`loadObject: name must be a non-empty string without NUL of at most 256 characters, got ${show(name)}`);
  }
  if (lazy !== undefined && typeof lazy !== 'boolean') invalid(`loadObject: lazy must be a boolean, got ${show(lazy)}`);
  if (resolve !== undefined && typeof resolve !== 'function') invalid(`loadObject: resolve must be a function, got ${show(resolve)}`);
  if (constructors !== undefined && constructors !== 'run' && constructors !== 'defer') invalid(`loadObject: constructors must be 'run' or 'defer', got ${show(constructors)}`);
  return {
    name: (name as string | undefined) ?? 'object', lazy: lazy === true,
    resolve: resolve as Options['resolve'], constructors: (constructors as Options['constructors'] | undefined) ?? 'run',
  };
}

/** Loads an ELF64 x86-64 ET_REL object into the heap; returns the library that owns what it loaded. */
export function loadObject(heap: CodeHeap, bytes: Uint8Array, options?: LoadOptions): LoadedObject {
  // A snapshot, read through the array's internal slots (a proxy or subclass cannot answer
  // differently twice), so the caller's buffer may change after this without effect.
  const length = uint8Length(bytes);
  if (length < 0) invalid(`loadObject: the object must be a Uint8Array, got ${show(bytes)}`);
  const copy = new Uint8Array(length);
  // A detached buffer has no bytes (its length reads 0), and no view can be made over it.
  if (length > 0) copy.set(plainUint8(bytes));
  const opts = readOptions(options);
  const object = freeName(heap, opts.name);
  const file = readElf(copy, object);
  // The RELA entries of each loaded section, by section index (none for the rest: debug information).
  const relocations: (readonly Rela[])[] = [];
  for (const section of file.sections) {
    const rela = file.relocationsOf[section.index];
    relocations.push(rela !== undefined && (section.flags & SHF_ALLOC) !== 0 && section.size > 0 ? readRelocations(file, rela, section, object) : NO_RELAS);
  }
  const symbolSection = (index: number): number => {
    const sym = file.symbols[index]!;
    return sym.shndx > 0 ? sym.shndx : -1;
  };
  const layout = layOut(file, object, relocations, symbolSection);
  const registry = objectsOf(heap);
  const existing = (name: string): boolean => registry.exports.has(name) || symbolKind(heap, name) !== undefined;
  const yielded = (sym: ElfSymbol): boolean => sym.bind === STB_WEAK && existing(sym.name);
  nameNodes(file, object, layout, yielded);
  const commons: NodeLayout[] = [];
  const commonNode = (sym: ElfSymbol): NodeLayout => {
    // A COMMON symbol's value is its alignment: refused past the heap's as a section's is (layout.ts).
    if (sym.value > MAX_ALIGN) throw new CodeHeapError('UNSUPPORTED', `${object}: COMMON symbol ${sym.name} asks for alignment ${sym.value}; the heap aligns to at most ${MAX_ALIGN}`);
    const host: Section = { index: -1, name: 'COMMON', type: SHT_NOBITS, flags: SHF_WRITE | SHF_ALLOC, offset: 0, size: sym.size, link: 0, info: 0, align: sym.value, entsize: 0 };
    const node: NodeLayout = { name: sym.name, kind: 'global', host, parts: [{ section: host, at: 0 }], size: sym.size, align: Math.max(1, sym.value), zeroFill: true, shared: false, readOnly: false, label: sym.name };
    commons.push(node);
    return node;
  };
  const { targets, exports } = resolveSymbols(file, object, layout, {
    exportOf: (name) => registry.exports.get(name),
    heapKind: (name) => {
      const kind = symbolKind(heap, name);
      return kind === 'lazy' ? 'function' : kind;
    },
    resolve: (name) => resolveAddress(opts.resolve, name, object),
    processSymbol: (name) => heap.region.resolveSymbol?.(name),
  }, commonNode, yielded);
  for (const [name, e] of exports) {
    const other = registry.exports.get(name);
    if (other !== undefined && !other.weak && !e.weak) {
      throw new CodeHeapError('DUPLICATE_SYMBOL', `${object} defines ${name}, which a loaded object already exports (${other.node})`);
    }
  }
  const translator = new Translator(file, object, targets, { exists: (name) => symbolKind(heap, name) !== undefined });
  const all = [...layout.nodes, ...commons];
  const contents = all.map((node) => translator.contents(node, relocations));
  const constructors = arrayEntries(file, object, layout.initArrays, targets);
  const destructors = arrayEntries(file, object, layout.finiArrays, targets);
  if (opts.constructors === 'run' && (constructors.length > 0 || destructors.length > 0) && !heap.region.executable) {
    throw new CodeHeapError('NOT_EXECUTABLE', `${object} has ${constructors.length} constructors and ${destructors.length} destructors, and the heap's memory cannot run them; load with constructors: 'defer' to skip them`);
  }
  const eager = interiorTargets(all, contents);
  // A function another object may call in the middle of its node (an export at an offset, or a
  // constructor there) needs a body to point into from the start.
  for (const [, e] of exports) if (e.kind === 'function' && e.offset !== 0) eager.set(e.node, true);
  for (const c of [...constructors, ...destructors]) if (c.offset !== 0) eager.set(c.node, true);
  const debug = { unwind: unwindTables(file, layout, relocations), lines: lineTables(file, layout, object) };
  const handles = link(heap, object, opts.lazy, all, contents, translator.gots, eager, debug);
  const lib = createLoadedObject(heap, object, handles, exports, constructors, destructors, opts.lazy);
  for (const [name, e] of exports) if (!registry.exports.has(name)) registry.exports.set(name, e);
  registry.names.set(object, true);
  if (opts.constructors === 'run') lib.runConstructors();
  return lib;
}

function resolveAddress(resolve: Options['resolve'], name: string, object: string): number | undefined {
  if (resolve === undefined) return undefined;
  const address = readInput(`${object}: resolve(${name})`, () => resolve(name));
  if (address === undefined) return undefined;
  if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0) {
    invalid(`${object}: resolve(${name}) returned ${show(address)}; an address must be a non-negative safe integer`);
  }
  return address;
}

/** Exported symbols at a node's start name it; other nodes get a private name from a symbol or their section. */
function nameNodes(file: ElfFile, object: string, layout: Layout, yielded: (sym: ElfSymbol) => boolean): void {
  const used = new LargeMap<string, true>();
  const claim = (name: string): string => {
    let unique = name;
    for (let n = 2; used.has(unique); n++) unique = `${name}#${n}`;
    used.set(unique, true);
    return unique;
  };
  const byNode = new LargeMap<NodeLayout, { exported?: string; local?: string }>();
  for (const sym of file.symbols) {
    if (sym.index === 0 || sym.type === STT_SECTION || sym.type === STT_FILE || sym.name === '') continue;
    const place = layout.placeOf[sym.shndx];
    if (place === undefined || place.at !== 0 || sym.value !== 0) continue;
    const names = byNode.get(place.node) ?? {};
    if (isExported(sym) && !yielded(sym)) names.exported ??= sym.name;
    else if (sym.bind === STB_LOCAL) names.local ??= sym.name;
    byNode.set(place.node, names);
  }
  for (const node of layout.nodes) {
    const names = byNode.get(node);
    if (names?.exported !== undefined) node.name = claim(names.exported);
  }
  for (const node of layout.nodes) {
    if (node.name !== '') continue;
    const names = byNode.get(node);
    // The object's one node of read-only data is named for what it is, not for its first constant.
    node.name = claim(privateName(object, node.parts.length > 1 && node.readOnly ? node.label : names?.local ?? node.label));
  }
}

/** The functions a constructor or destructor array calls, in the order of its entries. */
function arrayEntries(
  file: ElfFile, object: string, arrays: readonly Section[], targets: ReturnType<typeof resolveSymbols>['targets'],
): Constructor[] {
  const entries: Constructor[] = [];
  for (const array of arrays) {
    const rela = file.relocationsOf[array.index];
    const list = rela === undefined ? [] : readRelocations(file, rela, array, object);
    if (list.length !== array.size / 8) {
      throw new CodeHeapError('UNSUPPORTED', `${object}: ${array.name} has ${array.size / 8} entries and ${list.length} relocations; each entry must name a function`);
    }
    list.sort((a, b) => a.offset - b.offset);
    for (const r of list) {
      const target = targets[r.symbol];
      const offset = target?.t === 'node' ? target.at + r.addend : -1;
      if (r.type !== x86.R_X86_64_64 || target?.t !== 'node' || target.node.kind !== 'function' || offset < 0 || offset >= target.node.size) {
        throw new CodeHeapError('UNSUPPORTED', `${object}: the entry at ${array.name}+${r.offset} must be an R_X86_64_64 to a function of the object`);
      }
      entries.push({ node: target.node.name, offset, section: array.name });
    }
  }
  return entries;
}

/** Functions that another node points into (interior references): they cannot be lazy. */
function interiorTargets(nodes: readonly NodeLayout[], contents: readonly NodeContents[]): LargeMap<string, true> {
  const functions = new LargeMap<string, true>();
  for (const node of nodes) if (node.kind === 'function') functions.set(node.name, true);
  const eager = new LargeMap<string, true>();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const c = contents[i]!;
    const code = node.kind === 'function';
    for (const r of c.relocations) {
      if (r.via !== 'body' || !functions.has(r.symbol) || r.symbol === node.name) continue;
      if ((r.addend ?? 0) !== entryAddend(x86_64.kind(r.type)!, code)) eager.set(r.symbol, true);
    }
  }
  return eager;
}

/** The heap side: lazy functions declared, then one define of everything else; undone on failure. */
function link(
  heap: CodeHeap, object: string, lazy: boolean, nodes: readonly NodeLayout[], contents: readonly NodeContents[],
  gots: readonly GlobalDefinition[], eager: LargeMap<string, true>,
  debug: { unwind: LargeMap<NodeLayout, Uint8Array | UnwindDefinition>; lines: LargeMap<NodeLayout, LineTable> },
): Handle[] {
  const functions: FunctionDefinition[] = [];
  const globals: GlobalDefinition[] = [...gots];
  const declared: Handle[] = [];
  try {
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const { bytes, relocations } = contents[i]!;
      if (node.kind === 'function') {
        const table = debug.unwind.get(node);
        const lines = debug.lines.get(node);
        const body = { code: bytes, relocations, align: node.align, ...(table === undefined ? {} : { unwind: table }), ...(lines === undefined ? {} : { lines }) };
        if (lazy && !eager.has(node.name)) declared.push(heap.declare(node.name, () => body));
        else functions.push({ name: node.name, ...body, compile: () => body });
      } else if (node.zeroFill) {
        globals.push({ name: node.name, size: node.size, align: node.align, relocations });
      } else {
        globals.push({ name: node.name, data: bytes, align: node.align, relocations, readOnly: node.readOnly });
      }
    }
    const unit = heap.define({ functions, globals });
    return [...declared, ...unit.handles()];
  } catch (error) {
    for (const handle of declared) handle.free();
    if (error instanceof CodeHeapError) throw error;
    throw new CodeHeapError('INVALID_OBJECT', `${object}: linking failed: ${String(error)}`, { cause: error });
  }
}

export type { Export };
