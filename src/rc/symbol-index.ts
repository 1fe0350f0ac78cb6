// Functions and globals by name: the index that lookup, define and relocations resolve against.
//
// Deletion is lazy. Reclaiming a node leaves its entry behind, stale, and every read checks the
// entry against the node table (the id is a live function or global that still has that name).
// On a heap of a million symbols a delete costs a cache miss and, as a Map empties, its
// rehashing: it was most of the cost of a collection that frees a million nodes. A stale entry
// costs nothing until `compact` drops them all, once they outnumber the valid ones, so each
// reclaimed name pays at most a constant amortized share of one pass over the table and of copying
// the valid entries into a new one. The table is a NameTable (name-table.ts), not a Map: define
// binds every name it creates here, and a Map of a million names costs several times more.
//
// Invariant: every live function and global has a valid entry under its name; an entry is valid
// iff `isBound`; `stale` counts the entries that are not.

import { NameTable } from '../name-table.js';
import * as nameTable from '../name-table.js';
import type { NodeTable } from './node-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ABSENT } = nameTable;

export class SymbolIndex {
  private byName = new NameTable();
  /** Entries left behind by reclaimed nodes (or names since reused: see `bind`). */
  private stale = 0;

  constructor(private readonly nodes: NodeTable) {}

  /**
   * The live function or global named `name`, or undefined. Garbage a sliced collection is
   * freeing (cycles/sliced.ts) is found no more: it is as good as freed, and must not be reached.
   */
  get(name: string): number | undefined {
    const id = this.byName.get(name);
    return id !== ABSENT && this.isBound(name, id) && !this.nodes.isDoomed(id) ? id : undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** True while a node holds the name, garbage being freed included: the name is not free yet. */
  taken(name: string): boolean {
    return this.owner(name) !== undefined;
  }

  /** The node that holds the name, garbage being freed included (for verify()). */
  owner(name: string): number | undefined {
    const id = this.byName.get(name);
    return id !== ABSENT && this.isBound(name, id) ? id : undefined;
  }

  /** Pre: `id` is a live function or global named `name`, and no live node has that name. */
  bind(name: string, id: number): void {
    // One hash operation: a set of a name the table held replaced a stale entry.
    if (!this.byName.set(name, id)) this.stale--;
  }

  /** The node is being reclaimed: its entry turns stale (it stops being bound at once). */
  forget(): void {
    this.stale++;
  }

  /** `count` nodes of a batch were reclaimed (forget, once for all of them). */
  forgetMany(count: number): void {
    this.stale += count;
  }

  /**
   * Drops the stale entries once they outnumber the valid ones. Call after a batch of frees. The
   * valid entries are copied into a new table rather than the stale ones deleted from the old:
   * there are fewer of them whenever this runs, and the table has no delete.
   */
  compact(): void {
    const valid = this.byName.size - this.stale;
    if (this.stale <= valid || this.stale < 64) return;
    const kept = new NameTable(valid);
    if (valid > 0) this.byName.forEach((name, id) => { if (this.isBound(name, id)) kept.set(name, id); });
    this.byName = kept;
    this.stale = 0;
  }

  /** For verify(): the stale entries counted are the entries that are not bound. */
  check(): string[] {
    let unbound = 0;
    this.byName.forEach((name, id) => { if (!this.isBound(name, id)) unbound++; });
    return unbound === this.stale ? [] : [`the symbol index counts ${this.stale} stale entries but holds ${unbound}`];
  }

  private isBound(name: string, id: number): boolean {
    return this.nodes.isSymbol(id) && this.nodes.names[id] === name;
  }
}
