// NameTable: names to small non-negative integers, in typed arrays.
//
// The symbol index and a unit's names are the heap's two tables keyed by name, and define does
// about four operations on them per function. A V8 Map of a million string keys costs 1.0–1.7 µs
// per set or get on this project's machines (its table lives in large-object space, and every
// entry it gains is an old-to-young pointer the next scavenge must visit), which alone was more
// than a linker's whole per-function budget. This table is open addressing with linear probing:
// a slot is a hash (Int32Array), a value (Int32Array) and a key (one array of strings), so an
// operation is one hash of the name and, mostly, one cache line of each array; 0.3 µs per
// operation at a million names. It holds no object per entry and no 2^24-entry limit.
//
// Slot layout, per index j of the three arrays (capacity a power of two, at most half full):
//
//   values[j]  -1: empty; else the value of keys[j]
//   hashes[j]  hashOf(keys[j]), compared before the key so most probes skip the string compare
//   keys[j]    the name ('' while empty)
//
// A probe ends at the first empty slot. Removal is by `sweep`, which shifts the entries of a
// cluster back over the hole it makes (no tombstones: a table swept again and again keeps its
// probes short), so the table's user can drop the entries it no longer wants a bounded stretch of
// slots at a time (rc/symbol-index.ts); or by `retain`, which keeps the wanted ones in a new table,
// placed by their stored hashes, when most of the table goes at once.

import { keepsPlace } from './probing.js';

/** The value get() answers for a name the table does not hold. */
export const ABSENT = -1;

/** FNV-1a over the UTF-16 code units: names are short, and no hostile input reaches this. */
export function hashOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h;
}

const MIN_CAPACITY = 16;

export class NameTable {
  private hashes: Int32Array;
  private values: Int32Array;
  private keys: string[];
  private mask: number;
  /** Names held. */
  size = 0;

  /** `expected`: names it will hold, so that it need not grow while they are set. */
  constructor(expected = 0) {
    const capacity = capacityFor(expected);
    this.hashes = new Int32Array(capacity);
    this.values = new Int32Array(capacity).fill(ABSENT);
    this.keys = new Array<string>(capacity).fill('');
    this.mask = capacity - 1;
  }

  /** The value of `name`, or ABSENT. */
  get(name: string): number {
    const { hashes, values, keys, mask } = this;
    const h = hashOf(name);
    for (let j = h & mask; ; j = (j + 1) & mask) {
      const value = values[j]!;
      if (value === ABSENT) return ABSENT;
      if (hashes[j] === h && keys[j] === name) return value;
    }
  }

  /** Sets name's value (pre: value >= 0); true when the name is new to the table. */
  set(name: string, value: number): boolean {
    const h = hashOf(name);
    const { hashes, values, keys, mask } = this;
    let j = h & mask;
    for (; values[j] !== ABSENT; j = (j + 1) & mask) {
      if (hashes[j] === h && keys[j] === name) {
        values[j] = value;
        return false;
      }
    }
    hashes[j] = h;
    values[j] = value;
    keys[j] = name;
    if (++this.size * 2 > mask + 1) this.grow();
    return true;
  }

  /** Slots (a power of two); `sweep` walks them by index. */
  get capacity(): number {
    return this.values.length;
  }

  /**
   * Removes the entries of slots [from, to) that `keep` refuses; returns how many. An entry a
   * removal shifts back from beyond `to` is judged too, and one shifted back across the table's end
   * (a cluster wraps round) may be judged twice: `keep` must answer the same for it both times.
   */
  sweep(from: number, to: number, keep: (name: string, value: number) => boolean): number {
    const { values, keys } = this;
    let removed = 0;
    for (let j = from; j < to; j++) {
      // A removal may shift the next entry of the cluster into j: judge j again until it keeps.
      while (values[j] !== ABSENT && !keep(keys[j]!, values[j]!)) {
        this.removeAt(j);
        removed++;
      }
    }
    this.size -= removed;
    return removed;
  }

  /** Calls `each` with every name and its value, in no particular order. */
  forEach(each: (name: string, value: number) => void): void {
    const { values, keys } = this;
    for (let j = 0; j < values.length; j++) if (values[j] !== ABSENT) each(keys[j]!, values[j]!);
  }

  /**
   * Keeps only the entries `keep` accepts, placed by their stored hashes in a table sized for
   * them (no name is hashed again); returns how many went. One pass over the slots: cheaper than
   * `sweep` when most entries go, as after a collection of a million nodes. Pre: `expected` is
   * how many `keep` accepts (the symbol index counts its stale entries).
   */
  retain(keep: (name: string, value: number) => boolean, expected: number): number {
    const before = this.size;
    // Nothing to keep (a collection freed every name): no entry is looked at, each would be a
    // cache miss in the caller's tables, 40-50 ns a name at a million.
    const placed = this.resize(capacityFor(expected), expected === 0 ? NOTHING : keep);
    // More kept than expected (a broken precondition): the table is as it was, and is swept in
    // place instead, so that the new one never fills up.
    if (!placed) return this.sweep(0, this.values.length, keep);
    return before - this.size;
  }

  /** Halves the capacity while the table is under an eighth full; true when it shrank. */
  shrink(): boolean {
    let capacity = this.values.length;
    while (capacity > MIN_CAPACITY && this.size * 8 < capacity) capacity /= 2;
    if (capacity === this.values.length) return false;
    this.resize(capacity);
    return true;
  }

  /**
   * Empties slot i, and moves back into the hole each later entry of its cluster whose home slot
   * the hole does not lie beyond (so that every probe still reaches it). Does not count `size`.
   */
  private removeAt(i: number): void {
    const { hashes, values, keys, mask } = this;
    for (let j = (i + 1) & mask; values[j] !== ABSENT; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      if (keepsPlace(i, j, home)) continue;
      hashes[i] = hashes[j]!;
      values[i] = values[j]!;
      keys[i] = keys[j]!;
      i = j;
    }
    values[i] = ABSENT;
    keys[i] = '';
  }

  private grow(): void {
    this.resize(this.values.length * 2);
  }

  /**
   * Places the entries `keep` accepts (every entry, without it) in a table of `capacity` slots, by
   * their stored hashes: no name is read or hashed. `keep` is not asked about any entry when it is
   * NOTHING. False, and the table as it was, when they would fill more than half of it.
   */
  private resize(capacity: number, keep?: (name: string, value: number) => boolean): boolean {
    const { hashes, values, keys } = this;
    const mask = capacity - 1;
    const toHashes = new Int32Array(capacity);
    const toValues = new Int32Array(capacity).fill(ABSENT);
    const toKeys = new Array<string>(capacity).fill('');
    let placed = 0;
    for (let i = 0; i < values.length && keep !== NOTHING; i++) {
      const value = values[i]!;
      if (value === ABSENT || (keep !== undefined && !keep(keys[i]!, value))) continue;
      if (placed * 2 >= capacity) return false;
      let j = hashes[i]! & mask;
      while (toValues[j] !== ABSENT) j = (j + 1) & mask;
      toHashes[j] = hashes[i]!;
      toValues[j] = value;
      toKeys[j] = keys[i]!;
      placed++;
    }
    this.hashes = toHashes;
    this.values = toValues;
    this.keys = toKeys;
    this.mask = mask;
    this.size = placed;
    return true;
  }
}

/** The smallest capacity that holds `expected` names at most half full. */
function capacityFor(expected: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < expected * 2) capacity *= 2;
  return capacity;
}

/** A `keep` for resize that keeps no entry, without looking at any. */
const NOTHING = (): boolean => false;
