// Each function's unwind table, cut out of the object's .eh_frame (FunctionBody.unwind), so that
// backtrace() and the unwinder step through loaded code once it is registered (native memory).
//
// gcc and clang emit, for -fasynchronous-unwind-tables (the x86-64 default), one CIE and an FDE
// per function section, each FDE's pc_begin a pc-relative field that .rela.eh_frame points at the
// function's section (R_X86_64_PC32 to the section, plus an offset). A node's table is the CIE and
// the FDEs of the sections laid out in it, each pc_begin rewritten as the offset in the node where
// its range starts (a cold part's FDE lands after the code). What the heap does not take yet (a
// CIE with a personality routine or an LSDA: C++ handlers; records that do not parse) leaves the
// function without a table rather than the object unloaded: it runs, and unwinding stops there.

import { LargeMap } from '../large-map.js';
import type { ElfFile, Rela } from './elf-file.js';
import type { Layout, NodeLayout } from './layout.js';

const R_X86_64_PC32 = 2;

/** The unwind table of each function node that has one. */
export function unwindTables(file: ElfFile, layout: Layout, relocations: readonly (readonly Rela[])[]): LargeMap<NodeLayout, Uint8Array> {
  const tables = new LargeMap<NodeLayout, Uint8Array>();
  const eh = file.sections.find((s) => s.name === '.eh_frame' && s.size > 0);
  if (eh === undefined) return tables;
  const bytes = file.bytes.subarray(eh.offset, eh.offset + eh.size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const relaAt = new LargeMap<number, Rela>();
  for (const r of relocations[eh.index] ?? []) relaAt.set(r.offset, r);
  // Each node's FDEs: [start in node, the FDE's bytes], with the CIE they use.
  const byNode = new LargeMap<NodeLayout, { cie: number; fdes: [number, Uint8Array][] }>();
  const ciesTaken = new LargeMap<number, boolean>();
  for (let at = 0; at + 8 <= bytes.length;) {
    const length = view.getUint32(at, true);
    if (length === 0 || length === 0xffffffff || at + 4 + length > bytes.length) break;
    const id = view.getUint32(at + 4, true);
    if (id !== 0 && length >= 16) {
      const cie = at + 4 - id;
      const rela = relaAt.get(at + 8);
      if (rela !== undefined && rela.type === R_X86_64_PC32 && takes(bytes, view, cie, ciesTaken)) {
        const sym = file.symbols[rela.symbol];
        const place = sym === undefined || sym.shndx <= 0 ? undefined : layout.placeOf[sym.shndx];
        if (place !== undefined && place.node.kind === 'function') {
          const entry = byNode.get(place.node) ?? { cie, fdes: [] };
          byNode.set(place.node, entry);
          // A node whose FDEs use two CIEs is left without a table (gcc gives one per object).
          if (entry.cie !== cie) entry.cie = -1;
          entry.fdes.push([place.at + sym!.value + rela.addend, bytes.slice(at, at + 4 + length)]);
        }
      }
    }
    at += 4 + length;
  }
  for (const [node, { cie, fdes }] of byNode) {
    if (cie < 0) continue;
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
    tables.set(node, table);
  }
  return tables;
}

/** Whether the CIE at `at` is one the heap takes: "zR" with pcrel sdata4 pointers (link/unwind.ts checks the rest). */
function takes(bytes: Uint8Array, view: DataView, at: number, known: LargeMap<number, boolean>): boolean {
  const cached = known.get(at);
  if (cached !== undefined) return cached;
  let ok = at >= 0 && at + 12 <= bytes.length && view.getUint32(at + 4, true) === 0;
  // version, then "zR\0"
  ok = ok && bytes[at + 9] === 0x7a && bytes[at + 10] === 0x52 && bytes[at + 11] === 0;
  known.set(at, ok);
  return ok;
}
