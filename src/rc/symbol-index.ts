// Functions and globals by name: the index that lookup, define and relocations resolve against.
//
// Deletion is lazy. Reclaiming a node leaves its entry behind, stale, and every read checks the
// entry against the node table (the id is a live function or global that still has that name).
// On a heap of a million symbols a Map delete costs a cache miss and, as the map empties, its
// rehashing: it was most of the cost of a collection that frees a million nodes. A stale entry
// costs nothing until `compact` drops them all, once they outnumber the valid ones, so each
// reclaimed name pays at most a constant amortized share of one pass over the map and of copying
// the valid entries into a new one.
//
// Invariant: every live function and global has a valid entry under its name; an entry is valid
// iff `isBound`; `stale` counts the entries that are not.

import { LargeMap } from '../large-map.js';
import type { NodeTable } from './node-table.js';

export class SymbolIndex {
  private byName = new LargeMap<string, number>();
  /** Entries left behind by reclaimed nodes (or names since reused: see `bind`). */
  private stale = 0;

  constructor(private readonly nodes: NodeTable) {}

  /**
   * The live function or global named `name`, or undefined. Garbage a sliced collection is
   * freeing (cycles/sliced.ts) is found no more: it is as good as freed, and must not be reached.
   */
  get(name: string): number | undefined {
    const id = this.byName.get(name);
    return id !== undefined && this.isBound(name, id) && !this.nodes.isDoomed(id) ? id : undefined;
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
    return id !== undefined && this.isBound(name, id) ? id : undefined;
  }

  /** Pre: `id` is a live function or global named `name`, and no live node has that name. */
  bind(name: string, id: number): void {
    // One hash operation: a set that does not grow the map replaced a stale entry.
    const before = this.byName.size;
    this.byName.set(name, id);
    if (this.byName.size === before) this.stale--;
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
   * valid entries are copied into a new map rather than the stale ones deleted from the old: there
   * are fewer of them whenever this runs, and a delete costs more than an insert (a Map that
   * empties also rehashes as it shrinks).
   */
  compact(): void {
    const valid = this.byName.size - this.stale;
    if (this.stale <= valid || this.stale < 64) return;
    const kept = new LargeMap<string, number>();
    if (valid > 0) for (const [name, id] of this.byName) if (this.isBound(name, id)) kept.set(name, id);
    this.byName = kept;
    this.stale = 0;
  }

  /** For verify(): the stale entries counted are the entries that are not bound. */
  check(): string[] {
    let unbound = 0;
    for (const [name, id] of this.byName) if (!this.isBound(name, id)) unbound++;
    return unbound === this.stale ? [] : [`the symbol index counts ${this.stale} stale entries but holds ${unbound}`];
  }

  private isBound(name: string, id: number): boolean {
    return this.nodes.isSymbol(id) && this.nodes.names[id] === name;
  }
}
