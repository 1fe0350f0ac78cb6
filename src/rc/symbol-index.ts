// Functions and globals by name: the index that lookup, define and relocations resolve against.
//
// Deletion is lazy. Reclaiming a node leaves its entry behind, stale, and every read checks the
// entry against the node table (the id is a live function or global that still has that name).
// On a heap of a million symbols a delete costs a cache miss: it was most of the cost of a
// collection that frees a million nodes. A stale entry costs nothing until the stale ones
// outnumber the valid ones; then a sweep walks the table's slots and removes them, a stretch of
// SLOTS_PER_FREE slots for each node freed since (`tidy`). So a free pays a constant share of the
// sweep, and no free pays for the whole table: a sliced collection's slice and the program's next
// release after one both stay within their budgets. (Copying the valid names into a new table
// at once, as this index did, cost 1–10 ms in the middle of a JIT's run, and a sixth of a whole
// collection there: it hashed every live name again. bench/macro.bench.ts.) A batch of frees that
// pays for the whole table keeps the valid entries in a new table placed by their stored hashes:
// removing most of a table in place shifts its clusters back entry by entry, which cost 40–60 ns
// a node in a collection of a million.
// The table is a NameTable (name-table.ts), not a Map: define binds every name it creates here,
// and a Map of a million names costs several times more.
//
// Invariant: every live function and global has a valid entry under its name; an entry is valid
// iff `isBound`; `stale` counts the entries that are not.

import { NameTable } from '../name-table.js';
import * as nameTable from '../name-table.js';
import type { NodeTable } from './node-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ABSENT } = nameTable;

/**
 * Slots swept per node freed. A pass starts when the stale entries outnumber the valid ones, so
 * the table is at least a quarter stale, and it ends before the frees since have added as many
 * stale entries as it had slots / SLOTS_PER_FREE: stale entries stay a bounded share of the table.
 */
const SLOTS_PER_FREE = 16;
/** A pass starts once at least this many entries are stale (and outnumber the valid ones). */
const MIN_STALE = 64;

export class SymbolIndex {
  private byName = new NameTable();
  /** Entries left behind by reclaimed nodes (or names since reused: see `bind`). */
  private stale = 0;
  /** The next slot a sweep removes stale entries from; -1 while no sweep runs. */
  private sweepAt = -1;
  /** The table's capacity when the sweep began (a table that grew is placed anew: start again). */
  private sweepCapacity = 0;
  private readonly isBoundEntry = (name: string, id: number): boolean => this.isBound(name, id);

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
   * `freed` nodes were reclaimed since the last call: sweeps SLOTS_PER_FREE slots for each, once
   * the stale entries outnumber the valid ones. Call after every batch of frees.
   */
  tidy(freed: number): void {
    const { byName } = this;
    const budget = freed * SLOTS_PER_FREE;
    if (this.sweepAt < 0) {
      const valid = byName.size - this.stale;
      if (this.stale <= valid || this.stale < MIN_STALE) return;
      // A batch that pays for the whole table (a collection, an unload) keeps the valid entries,
      // fewer than the stale ones, in a table of their size, placed by their stored hashes.
      if (byName.capacity <= budget) {
        this.stale -= byName.retain(this.isBoundEntry, valid);
        return;
      }
      this.sweepAt = 0;
      this.sweepCapacity = byName.capacity;
    } else if (this.sweepCapacity !== byName.capacity) {
      this.sweepAt = 0;
      this.sweepCapacity = byName.capacity;
    }
    const to = Math.min(this.sweepAt + budget, byName.capacity);
    this.stale -= byName.sweep(this.sweepAt, to, this.isBoundEntry);
    this.sweepAt = to;
    if (to < byName.capacity) return;
    this.sweepAt = -1;
    // Placing the entries again walks every slot: only when this call's budget covers it.
    if (byName.capacity <= budget) byName.shrink();
  }

  /** Entries that name no node (for tests and memory figures). */
  get staleEntries(): number {
    return this.stale;
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
