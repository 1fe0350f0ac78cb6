// Where each symbol of an object lies: in a node of this object, in the heap (another object's
// export, or a node defined by the JIT), at an address outside it, or nowhere (a weak undefined
// symbol, which is 0).
//
// Resolution order for an undefined symbol, per object (not one resolver for the whole heap):
// the exports of objects loaded before it, the heap's functions and globals, the object's own
// `resolve` option, then the heap's resolveExternal and the process (left to the heap when it
// links, so its UNDEFINED_SYMBOL names the relocation; a weak symbol asks the process here, and
// is 0 when nothing defines it).

import { CodeHeapError } from '../errors.js';
import { LargeMap } from '../large-map.js';
import { type ElfFile, type ElfSymbol } from './elf-file.js';
import * as elf from './elf-file.js';
import type { Layout, NodeLayout } from './layout.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ABS_SECTION, COMMON_SECTION, SHN_UNDEF, STB_GLOBAL, STB_GNU_UNIQUE, STB_LOCAL, STB_WEAK, STT_FILE, STT_GNU_IFUNC, STT_SECTION, STT_TLS } = elf;

export type Target =
  | { readonly t: 'node'; readonly node: NodeLayout; readonly at: number }
  | { readonly t: 'heap'; readonly name: string; readonly offset: number; readonly kind: 'function' | 'global'; readonly shared: boolean }
  | { readonly t: 'address'; readonly name: string; readonly address: number }
  | { readonly t: 'zero'; readonly name: string }
  | { readonly t: 'external'; readonly name: string };

/** A symbol another object may bind to: a heap node's name and the symbol's offset in it. */
export interface Export {
  readonly node: string;
  readonly offset: number;
  readonly kind: 'function' | 'global';
  readonly weak: boolean;
  /** The node holds several functions: pointers into it are body addresses (NodeLayout.shared). */
  readonly shared: boolean;
}

export interface Resolution {
  /** What each symbol-table entry resolves to (undefined for entries nothing may refer to). */
  readonly targets: (Target | undefined)[];
  /** This object's exports, by symbol name. */
  readonly exports: LargeMap<string, Export>;
}

/** What resolution asks of the world outside the object. */
export interface Surroundings {
  /** Another loaded object's export of this name. */
  exportOf(name: string): Export | undefined;
  /** The kind of the heap's function or global of this name. */
  heapKind(name: string): 'function' | 'global' | undefined;
  /** The object's own resolve option. */
  resolve(name: string): number | undefined;
  /** The process's symbol (weak symbols only). */
  processSymbol(name: string): number | undefined;
}

export function isExported(sym: ElfSymbol): boolean {
  return (sym.bind === STB_GLOBAL || sym.bind === STB_WEAK || sym.bind === STB_GNU_UNIQUE) && sym.shndx !== SHN_UNDEF && sym.visibility !== 2 && sym.visibility !== 1;
}

function unsupported(object: string, message: string): never {
  throw new CodeHeapError('UNSUPPORTED', `${object}: ${message}`);
}

/**
 * Resolves every symbol. `commonNode` makes the node of a COMMON symbol nothing else defines;
 * exported names must already be on their nodes (Layout after naming).
 */
export function resolveSymbols(
  file: ElfFile, object: string, layout: Layout, around: Surroundings,
  commonNode: (sym: ElfSymbol) => NodeLayout, isYielded: (sym: ElfSymbol) => boolean,
): Resolution {
  const targets: (Target | undefined)[] = [];
  const exports = new LargeMap<string, Export>();
  const outside = (name: string, weak: boolean): Target => {
    const other = around.exportOf(name);
    if (other !== undefined) return { t: 'heap', name: other.node, offset: other.offset, kind: other.kind, shared: other.shared };
    const kind = around.heapKind(name);
    if (kind !== undefined) return { t: 'heap', name, offset: 0, kind, shared: false };
    const address = around.resolve(name);
    if (address !== undefined) return { t: 'address', name, address };
    if (!weak) return { t: 'external', name };
    const processAddress = around.processSymbol(name);
    return processAddress === undefined ? { t: 'zero', name } : { t: 'address', name, address: processAddress };
  };
  for (const sym of file.symbols) {
    if (sym.index === 0 || sym.type === STT_FILE) {
      targets.push(undefined);
      continue;
    }
    if (sym.type === STT_TLS) {
      targets.push(undefined); // refused where a relocation uses it, naming the relocation
      continue;
    }
    if (sym.type === STT_GNU_IFUNC) unsupported(object, `symbol ${sym.name} is an indirect function (STT_GNU_IFUNC), which needs a resolver run at load`);
    if (sym.shndx === SHN_UNDEF) {
      targets.push(sym.name === '' ? undefined : outside(sym.name, sym.bind === STB_WEAK));
      continue;
    }
    if (sym.shndx === ABS_SECTION) {
      targets.push({ t: 'address', name: sym.name, address: sym.value });
      continue;
    }
    if (sym.shndx === COMMON_SECTION) {
      const existing = outside(sym.name, true);
      const target: Target = existing.t === 'heap' ? existing : { t: 'node', node: commonNode(sym), at: 0 };
      targets.push(target);
      if (target.t === 'node') exports.set(sym.name, { node: target.node.name, offset: 0, kind: 'global', weak: false, shared: false });
      continue;
    }
    const place = layout.placeOf[sym.shndx];
    if (place === undefined) {
      // A symbol of a section that is not loaded (debug information, an empty section): only an
      // error if a relocation of a loaded section names it.
      targets.push(undefined);
      continue;
    }
    const at = place.at + (sym.type === STT_SECTION ? 0 : sym.value);
    if (sym.bind !== STB_LOCAL && sym.type !== STT_SECTION && isYielded(sym)) {
      // A weak definition yields to one the heap has already: this object binds to that one too.
      targets.push(outside(sym.name, true));
      continue;
    }
    targets.push({ t: 'node', node: place.node, at });
    if (isExported(sym)) exports.set(sym.name, { node: place.node.name, offset: at, kind: place.node.kind, weak: sym.bind === STB_WEAK, shared: place.node.shared });
  }
  return { targets, exports };
}
