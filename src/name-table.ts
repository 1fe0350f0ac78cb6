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
// Entries are never removed (their users keep stale entries and rebuild the table instead:
// rc/symbol-index.ts), so a probe ends at the first empty slot.

/** The value get() answers for a name the table does not hold. */
export const ABSENT = -1;

/** FNV-1a over the UTF-16 code units: names are short, and no hostile input reaches this. */
function hashOf(name: string): number {
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
    let capacity = MIN_CAPACITY;
    while (capacity < expected * 2) capacity *= 2;
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

  /** Calls `each` with every name and its value, in no particular order. */
  forEach(each: (name: string, value: number) => void): void {
    const { values, keys } = this;
    for (let j = 0; j < values.length; j++) if (values[j] !== ABSENT) each(keys[j]!, values[j]!);
  }

  /** Doubles the capacity; the stored hashes place every entry again without reading a name. */
  private grow(): void {
    const { hashes, values, keys } = this;
    const capacity = values.length * 2;
    const mask = capacity - 1;
    const toHashes = new Int32Array(capacity);
    const toValues = new Int32Array(capacity).fill(ABSENT);
    const toKeys = new Array<string>(capacity).fill('');
    for (let i = 0; i < values.length; i++) {
      if (values[i] === ABSENT) continue;
      let j = hashes[i]! & mask;
      while (toValues[j] !== ABSENT) j = (j + 1) & mask;
      toHashes[j] = hashes[i]!;
      toValues[j] = values[i]!;
      toKeys[j] = keys[i]!;
    }
    this.hashes = toHashes;
    this.values = toValues;
    this.keys = toKeys;
    this.mask = mask;
  }
}
