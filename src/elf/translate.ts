// An object's relocations as the heap's: one counted edge per reference that can change, and
// bytes written once for what cannot.
//
// Per relocation, one switch over its type (as a static linker's):
//  - within one node, a PC-relative reference is a constant (both ends move together): written
//    now, no site. That covers a function's calls to itself and its laid-in jump tables;
//  - to a function: a body reference for a branch (PLT32, or a PC32 behind call/jmp/jcc) and for
//    an address inside the body (interior); a pointer reference (through the canonical stub, so
//    function pointers compare equal) for the entry's address;
//  - GOT loads: relaxed to lea or a direct call/jump when the target is in the heap, as ld does;
//    otherwise an 8-byte GOT entry, one per target, shared by every object (named `target@GOT`);
//  - SIZE32/64 are the symbol's size, written now; GOTPC32 reaches the object's GOT base; the
//    large code model's GOT offsets take a GOT base at address 0 (#largeModel).
// What the heap cannot hold (TLS, an object with both kinds of GOT base) is UNSUPPORTED, naming
// the symbol, the section and the offset.

import { CodeHeapError, hex } from '../errors.js';
import { LargeMap } from '../large-map.js';
import { entryAddend } from '../reloc/architecture.js';
import { x86_64 } from '../reloc/x86-64.js';
import type { GlobalDefinition, Relocation, RelocationType } from '../types.js';
import type { ElfFile, Rela, Section } from './elf-file.js';
import * as elf from './elf-file.js';
import { at, type NodeLayout } from './layout.js';
import type { Target } from './targets.js';
import * as x86 from './x86-64-sites.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { SHF_EXECINSTR, STT_SECTION, STT_TLS } = elf;

const { heapType, isBranch, isGotLoad, isLargeModel, isTls, relax, relaxationOf, typeName } = x86;

export interface NodeContents {
  readonly bytes: Uint8Array;
  readonly relocations: Relocation[];
}

/** What translation asks of the heap: whether a GOT entry of this name exists already. */
export interface GotLookup {
  exists(name: string): boolean;
}

export class Translator {
  /** GOT entries this object defines, in order. */
  readonly gots: GlobalDefinition[] = [];
  readonly #gotNames = new LargeMap<string, true>();
  #gotBase: string | null = null;
  #section: Section | null = null;
  #model: 'near' | 'zero' | null = null;
  #rela: Rela | null = null;

  constructor(
    private readonly file: ElfFile,
    private readonly object: string,
    private readonly targets: readonly (Target | undefined)[],
    private readonly heapGots: GotLookup,
  ) {}

  /** The bytes and relocations of a node, from its sections and their RELA entries. */
  contents(node: NodeLayout, relocationsOf: readonly (readonly Rela[])[]): NodeContents {
    const bytes = new Uint8Array(node.zeroFill ? 0 : node.size);
    const relocations: Relocation[] = [];
    for (const part of node.parts) {
      if (!node.zeroFill) bytes.set(this.file.bytes.subarray(part.section.offset, part.section.offset + part.section.size), part.at);
      for (const r of relocationsOf[part.section.index] ?? []) this.#translate(node, part.section, part.at, r, bytes, relocations);
    }
    relocations.sort((a, b) => a.offset - b.offset);
    return { bytes, relocations };
  }

  #translate(node: NodeLayout, section: Section, base: number, r: Rela, bytes: Uint8Array, out: Relocation[]): void {
    const { type } = r;
    if (type === x86.R_X86_64_NONE) return;
    const sym = this.file.symbols[r.symbol]!;
    // For messages, built only when one is thrown (this runs once per relocation).
    this.#section = section;
    this.#rela = r;
    if (isTls(type) || sym.type === STT_TLS) throw new CodeHeapError('UNSUPPORTED', `${this.#where()} uses thread-local storage, which the heap does not give objects`);
    const width = type === x86.R_X86_64_64 || type === x86.R_X86_64_PC64 || type === x86.R_X86_64_SIZE64 || isLargeModel(type) ? 8 : 4;
    if (r.offset + width > section.size) {
      throw new CodeHeapError('INVALID_OBJECT', `${this.#where()}: its ${width}-byte field runs past the ${section.size} bytes of ${section.name}`);
    }
    const offset = base + r.offset;
    if (type === x86.R_X86_64_SIZE32 || type === x86.R_X86_64_SIZE64) {
      const size = sym.type === STT_SECTION ? this.file.sections[sym.shndx]?.size ?? 0 : sym.size;
      this.#constant(bytes, offset, width, size + r.addend);
      return;
    }
    const target = this.targets[r.symbol];
    if (target === undefined) {
      throw new CodeHeapError('INVALID_OBJECT', `${this.#where()} refers to symbol ${r.symbol}, which lies in no loaded section (a discarded or empty section)`);
    }
    const code = (section.flags & SHF_EXECINSTR) !== 0;
    if (type === x86.R_X86_64_GOTPC32) {
      this.#gotModel('near');
      out.push({ offset, type: 'R_X86_64_PC32', symbol: this.#gotBaseName(), addend: r.addend });
      return;
    }
    if (isLargeModel(type)) {
      this.#largeModel(node, offset, type, target, r.addend, code, bytes, out);
      return;
    }
    if (isGotLoad(type)) {
      const how = code ? relaxationOf(bytes, offset, type, r.addend) : 'none';
      const inHeap = target.t === 'node' || target.t === 'heap';
      if (how === 'lea' && inHeap) {
        relax(bytes, offset, how);
        this.#reference(node, offset, 'R_X86_64_PC32', target, r.addend, false, true, bytes, out);
        return;
      }
      if ((how === 'call' || how === 'jmp') && target.t !== 'zero') {
        const field = relax(bytes, offset, how);
        this.#reference(node, field, 'R_X86_64_PLT32', target, r.addend, true, true, bytes, out);
        return;
      }
      out.push({ offset, type: 'R_X86_64_PC32', symbol: this.#got(target), addend: r.addend });
      return;
    }
    const heap = heapType(type);
    if (heap === undefined) {
      throw new CodeHeapError('UNSUPPORTED', `${this.#where()}: the loader does not implement ${typeName(type)}`);
    }
    const branch = type === x86.R_X86_64_PLT32 || (type === x86.R_X86_64_PC32 && code && isBranch(bytes, offset));
    this.#reference(node, offset, heap, target, r.addend, branch, code, bytes, out);
  }

  /** One reference to a target, as a constant when it cannot change, else as a heap relocation. */
  #reference(
    node: NodeLayout, offset: number, type: RelocationType, target: Target, addend: number, branch: boolean, code: boolean,
    bytes: Uint8Array, out: Relocation[],
  ): void {
    const { pcRelative } = x86_64.kind(type)!;
    switch (target.t) {
      case 'node': {
        const relocation = this.#toNode(offset, type, target.node.name, target.node.kind, target.at + addend, branch || target.node.shared, code);
        // Within one node a PC-relative reference is a constant, but for a pointer to a function's
        // entry: that is its stub, so that it equals the same pointer taken anywhere else.
        if (target.node === node && pcRelative && relocation.via !== 'stub') {
          this.#constant(bytes, offset, type === 'R_X86_64_PC64' ? 8 : 4, target.at + addend - offset);
          return;
        }
        out.push(relocation);
        return;
      }
      case 'heap':
        out.push(this.#toNode(offset, type, target.name, target.kind, target.offset + addend, branch || target.shared, code));
        return;
      case 'address':
        out.push({ offset, type, symbol: target.name, addend, address: target.address, ...(branch ? { via: 'body' as const } : {}) });
        return;
      case 'zero':
        out.push({ offset, type, symbol: target.name, addend, address: 0 });
        return;
      case 'external':
        out.push({ offset, type, symbol: target.name, addend, ...(branch ? { via: 'body' as const } : {}) });
        return;
    }
  }

  /**
   * A reference to a node: a function's entry is a pointer (its stub) unless `body` (a branch, or a
   * node of several functions); any other point in it is interior.
   */
  #toNode(offset: number, type: RelocationType, symbol: string, kind: 'function' | 'global', addend: number, body: boolean, code: boolean): Relocation {
    if (kind === 'global') return { offset, type, symbol, addend };
    const entry = entryAddend(x86_64.kind(type)!, code);
    const via = body || addend !== entry ? 'body' : 'stub';
    return { offset, type, symbol, addend, via };
  }

  /**
   * The large code model's GOT-relative types, with the object's GOT base at address 0: every one
   * then is a kind the heap has (an offset from the GOT is an address, a GOT slot's offset is the
   * slot's address), so each stays a counted, backpatched edge.
   *   GOTOFF64   S + A - GOT  -> R_X86_64_64 to S        GOT64       G + A        -> R_X86_64_64 to S's GOT entry
   *   PLTOFF64   L + A - GOT  -> R_X86_64_64 to S's body GOTPCREL64  G + GOT + A - P -> R_X86_64_PC64 to the entry
   *   GOTPC64    GOT + A - P  -> R_X86_64_PC64 to address 0
   */
  #largeModel(node: NodeLayout, offset: number, type: number, target: Target, addend: number, code: boolean, bytes: Uint8Array, out: Relocation[]): void {
    this.#gotModel('zero');
    switch (type) {
      case x86.R_X86_64_GOTOFF64:
        this.#reference(node, offset, 'R_X86_64_64', target, addend, false, code, bytes, out);
        return;
      case x86.R_X86_64_PLTOFF64:
        this.#reference(node, offset, 'R_X86_64_64', target, addend, true, code, bytes, out);
        return;
      case x86.R_X86_64_GOT64:
        out.push({ offset, type: 'R_X86_64_64', symbol: this.#got(target), addend });
        return;
      case x86.R_X86_64_GOTPCREL64:
        out.push({ offset, type: 'R_X86_64_PC64', symbol: this.#got(target), addend });
        return;
      default:
        out.push({ offset, type: 'R_X86_64_PC64', symbol: '_GLOBAL_OFFSET_TABLE_', addend, address: 0 });
    }
  }

  /**
   * Where the object's GOT base is: a global of its own (`near`, for GOTPC32, which needs it within
   * rel32 reach) or address 0 (`zero`, the large model's 64-bit offsets). One object cannot use both.
   */
  #gotModel(model: 'near' | 'zero'): void {
    if (this.#model !== null && this.#model !== model) {
      throw new CodeHeapError('UNSUPPORTED', `${this.#where()}: the object mixes R_X86_64_GOTPC32 with the large code model's GOT offsets; the loader gives one object one GOT base`);
    }
    this.#model = model;
  }

  /** The name of the GOT entry holding target's address, defined by this object unless the heap has it. */
  #got(target: Target): string {
    let name: string;
    let relocation: Relocation | undefined;
    switch (target.t) {
      case 'node':
        name = `${target.node.name}${target.at === 0 ? '' : `+${hex(target.at)}`}@GOT`;
        relocation = this.#toNode(0, 'R_X86_64_64', target.node.name, target.node.kind, target.at, target.node.shared, false);
        break;
      case 'heap':
        name = `${target.name}${target.offset === 0 ? '' : `+${hex(target.offset)}`}@GOT`;
        relocation = this.#toNode(0, 'R_X86_64_64', target.name, target.kind, target.offset, target.shared, false);
        break;
      case 'address':
        name = `${target.name}@${hex(target.address)}@GOT`;
        relocation = { offset: 0, type: 'R_X86_64_64', symbol: target.name, address: target.address };
        break;
      case 'zero':
        name = `${this.object}:${target.name}@GOT`;
        relocation = undefined;
        break;
      case 'external':
        name = `${target.name}@GOT`;
        relocation = { offset: 0, type: 'R_X86_64_64', symbol: target.name };
        break;
    }
    if (!this.#gotNames.has(name) && !this.heapGots.exists(name)) {
      this.#gotNames.set(name, true);
      this.gots.push({ name, data: new Uint8Array(8), align: 8, relocations: relocation === undefined ? [] : [relocation] });
    }
    return name;
  }

  /** The relocation being translated, for messages: `object: the TYPE relocation at section+off to symbol`. */
  #where(): string {
    const r = this.#rela!;
    const sym = this.file.symbols[r.symbol]!;
    return `${this.object}: the ${typeName(r.type)} relocation at ${at(this.#section!, r.offset)}${sym.name === '' ? '' : ` to ${sym.name}`}`;
  }

  #constant(bytes: Uint8Array, offset: number, width: 4 | 8, value: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (width === 8) {
      view.setUint32(offset, value >>> 0, true);
      view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000) >>> 0, true);
      return;
    }
    if (value < -0x8000_0000 || value > 0xffff_ffff) {
      throw new CodeHeapError('RELOCATION_OUT_OF_RANGE', `${this.#where()}: the value ${hex(value)} does not fit its 32-bit field`);
    }
    view.setUint32(offset, value >>> 0, true);
  }

  /** The object's GOT base (_GLOBAL_OFFSET_TABLE_), for GOTPC32: an 8-byte global of its own. */
  #gotBaseName(): string {
    if (this.#gotBase === null) {
      this.#gotBase = `${this.object}:_GLOBAL_OFFSET_TABLE_`;
      this.gots.push({ name: this.#gotBase, size: 8, align: 8 });
    }
    return this.#gotBase;
  }
}
