// Each function's unwind table, cut out of the object's .eh_frame (FunctionBody.unwind), so that
// backtrace() and the unwinder step through loaded code once it is registered (native memory).
//
// gcc and clang emit, for -fasynchronous-unwind-tables (the x86-64 default), one CIE and an FDE
// per function section, each FDE's pc_begin a pc-relative field that .rela.eh_frame points at the
// function's section (R_X86_64_PC32 to the section, plus an offset). A node's table is the CIE and
// the FDEs of the sections laid out in it, each pc_begin rewritten as the offset in the node where
// its range starts (a cold part's FDE lands after the code). C++ adds a personality routine to the
// CIE (a pointer to the DW.ref.__gxx_personality_v0 slot) and an LSDA to each FDE (a pointer into
// .gcc_except_table): their relocations say which node and offset, named beside the table
// (UnwindDefinition). What the heap does not take (other augmentations, records that do not
// parse, a target not loaded) leaves the function without a table rather than the object
// unloaded: it runs, and unwinding stops there.

import { LargeMap } from '../large-map.js';
import type { UnwindDefinition } from '../types.js';
import type { ElfFile, Rela } from './elf-file.js';
import type { Layout, NodeLayout } from './layout.js';

const R_X86_64_PC32 = 2;

/** The unwind table of each function node that has one. */
export function unwindTables(file: ElfFile, layout: Layout, relocations: readonly (readonly Rela[])[]): LargeMap<NodeLayout, Uint8Array | UnwindDefinition> {
  const tables = new LargeMap<NodeLayout, Uint8Array | UnwindDefinition>();
  const eh = file.sections.find((s) => s.name === '.eh_frame' && s.size > 0);
  if (eh === undefined) return tables;
  const bytes = file.bytes.subarray(eh.offset, eh.offset + eh.size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const relaAt = new LargeMap<number, Rela>();
  for (const r of relocations[eh.index] ?? []) relaAt.set(r.offset, r);
  /** Where a relocated field at `at` in .eh_frame points: a loaded node's name and an offset in it. */
  const targetAt = (at: number): { symbol: string; addend: number } | undefined => {
    const rela = relaAt.get(at);
    if (rela === undefined || rela.type !== R_X86_64_PC32) return undefined;
    const sym = file.symbols[rela.symbol];
    const place = sym === undefined || sym.shndx <= 0 ? undefined : layout.placeOf[sym.shndx];
    return place === undefined ? undefined : { symbol: place.node.name, addend: place.at + sym!.value + rela.addend };
  };
  // Each node's FDEs: [start in node, the FDE's bytes, its LSDA], with the CIE they use.
  const byNode = new LargeMap<NodeLayout, { cie: number; fdes: [number, Uint8Array, { symbol: string; addend: number } | undefined][] }>();
  const ciesTaken = new LargeMap<number, CieShape | null>();
  for (let at = 0; at + 8 <= bytes.length;) {
    const length = view.getUint32(at, true);
    if (length === 0 || length === 0xffffffff || at + 4 + length > bytes.length) break;
    const id = view.getUint32(at + 4, true);
    if (id !== 0 && length >= 16) {
      const cie = at + 4 - id;
      const rela = relaAt.get(at + 8);
      const shape = shapeOf(bytes, view, cie, ciesTaken);
      if (rela !== undefined && rela.type === R_X86_64_PC32 && shape !== null) {
        const sym = file.symbols[rela.symbol];
        const place = sym === undefined || sym.shndx <= 0 ? undefined : layout.placeOf[sym.shndx];
        // The LSDA pointer is the FDE's augmentation data, after pc_begin, pc_range and its length.
        const lsda = shape.lsda ? targetAt(at + 17) : undefined;
        if (place !== undefined && place.node.kind === 'function' && (!shape.lsda || lsda !== undefined || view.getInt32(at + 17, true) === 0)) {
          const entry = byNode.get(place.node) ?? { cie, fdes: [] };
          byNode.set(place.node, entry);
          // A node whose FDEs use two CIEs is left without a table (gcc gives one per object).
          if (entry.cie !== cie) entry.cie = -1;
          entry.fdes.push([place.at + sym!.value + rela.addend, bytes.slice(at, at + 4 + length), lsda]);
        }
      }
    }
    at += 4 + length;
  }
  for (const [node, { cie, fdes }] of byNode) {
    if (cie < 0) continue;
    const shape = ciesTaken.get(cie)!;
    const personality = shape.personalityAt < 0 ? undefined : targetAt(cie + shape.personalityAt);
    if (shape.personalityAt >= 0 && personality === undefined) continue;
    const cieBytes = bytes.subarray(cie, cie + 4 + view.getUint32(cie, true));
    let size = cieBytes.length;
    for (const [, fde] of fdes) size += fde.length;
    const table = new Uint8Array(size);
    const out = new DataView(table.buffer);
    table.set(cieBytes);
    let at = cieBytes.length;
    for (const [start, fde] of fdes) {
      table.set(fde, at);
      out.setUint32(at + 4, at + 4, true); // the CIE at 0
      out.setInt32(at + 8, start, true); // pc_begin: the offset in the node
      at += fde.length;
    }
    const lsdas = fdes.map(([, , lsda]) => lsda ?? null);
    tables.set(node, personality === undefined && !shape.lsda ? table : {
      table, ...(personality === undefined ? {} : { personality }), ...(shape.lsda ? { lsda: lsdas } : {}),
    });
  }
  return tables;
}

/** What the heap needs of a CIE it takes: where its personality pointer is (-1: none), and whether its FDEs have LSDAs. */
interface CieShape {
  readonly personalityAt: number;
  readonly lsda: boolean;
}

/** The shape of the CIE at `at` when the heap takes it ("zR", "zPR", "zLR", "zPLR"; link/unwind.ts checks the rest), else null. */
function shapeOf(bytes: Uint8Array, view: DataView, at: number, known: LargeMap<number, CieShape | null>): CieShape | null {
  const cached = known.get(at);
  if (cached !== undefined) return cached;
  let shape: CieShape | null = null;
  if (at >= 0 && at + 12 <= bytes.length && view.getUint32(at + 4, true) === 0) {
    let p = at + 9;
    let letters = '';
    while (p < bytes.length && bytes[p] !== 0) letters += String.fromCharCode(bytes[p++]!);
    p++;
    if (['zR', 'zPR', 'zLR', 'zPLR'].includes(letters)) {
      const leb = (): void => {
        while (p < bytes.length && (bytes[p]! & 0x80) !== 0) p++;
        p++;
      };
      leb(); // code alignment
      leb(); // data alignment
      if (bytes[at + 8] === 1) p++;
      else leb(); // return address register
      leb(); // augmentation data length
      // 'P' first when present: its encoding byte, then the pointer.
      shape = { personalityAt: letters.includes('P') ? p + 1 - at : -1, lsda: letters.includes('L') };
    }
  }
  known.set(at, shape);
  return shape;
}
