// The heap's side of unwind tables (FunctionBody.unwind): the region is told of each body placed
// with a table (Region.unwindPlaced, with the table made absolute for its address: link/unwind.ts)
// and of each such body's block freed (Region.unwindFreed), before anything else is placed there.
//
// Only bodies that came with a table are tracked, by their 8-byte slot in the code arena, so a
// heap whose functions have none pays nothing; the reclaim log (which tells of frees by counting
// and by the collector) is turned on with the first table.

import { IntTable } from './int-table.js';
import { absoluteTable, type UnwindTarget } from './link/unwind.js';
import type { Definition } from './link/definitions.js';
import type { HeapGraph } from './rc/heap-graph.js';

export class UnwindNotices {
  private readonly slots = new IntTable();

  constructor(private readonly graph: HeapGraph, private readonly rethrow: (error: unknown) => void) {}

  /** The definitions a link placed at `addresses`: those with a table are told of. */
  placed(definitions: readonly Definition[], addresses: ArrayLike<number>): void {
    const { region } = this.graph.arenas;
    if (region.unwindPlaced === undefined) return;
    for (let i = 0; i < definitions.length; i++) {
      const unwind = definitions[i]!.unwind;
      if (unwind === undefined) continue;
      const address = addresses[i]!;
      // A personality's slot or an LSDA the heap no longer has: the body goes without a table.
      const table = absoluteTable(unwind, address, (t) => this.addressOf(t));
      if (table === undefined) continue;
      this.graph.log ??= [];
      this.slots.set(this.slot(address), 1);
      try {
        region.unwindPlaced(address, table);
      } catch (error) {
        this.rethrow(error);
      }
    }
  }

  /** A block of code at `address` was freed. */
  freed(address: number): void {
    if (this.slots.size === 0) return;
    const slot = this.slot(address);
    if (slot < 0 || !this.slots.delete(slot)) return;
    try {
      this.graph.arenas.region.unwindFreed?.(address);
    } catch (error) {
      this.rethrow(error);
    }
  }

  /** Where a symbol and offset a table names is (a personality's slot, an LSDA). */
  private addressOf(t: UnwindTarget): number | undefined {
    const id = this.graph.nodes.symbols.get(t.symbol);
    return id === undefined ? undefined : this.graph.addressOf(id) + t.addend;
  }

  private slot(address: number): number {
    const offset = address - this.graph.arenas.code.address;
    return offset >= 0 && offset < 2 ** 34 ? offset / 8 : -1;
  }
}
