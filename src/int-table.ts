// IntTable: non-negative 32-bit integers to numbers, in typed arrays.
//
// The site table keeps the addends that differ from their relocation type's usual one here, by
// site id; in a JIT's code that is one site in three or four (a counter or a field at an offset),
// and each is set at define and deleted when its site goes. A V8 Map did that: its entries live
// on the JavaScript heap, so every define grew and rehashed stores that the next scavenge copied
// (about a tenth of what survived a scavenge in bench/macro.bench.ts), and each delete of a
// freed site was a sixth of a collection's free. Here a slot is a key (Int32Array) and a value
// (Float64Array), off the JavaScript heap: no object per entry, no 2^24-entry limit.
//
// Open addressing with linear probing, at most half full; a key's home slot is a Fibonacci hash
// (site ids are dense, so the multiply spreads runs of them). Removal shifts the later entries of
// the cluster back over the hole (no tombstones), so a table under churn keeps short probes. It
// does not shrink: a shrink is a pass over every slot in one call, a pause no free should pay.

import { keepsPlace } from './probing.js';

/** keys[j] of an empty slot. */
const EMPTY = -1;
const MIN_BITS = 4;
const MAX_BITS = 31;

export class IntTable {
  private keys = new Int32Array(0);
  private values = new Float64Array(0);
  /** 32 - log2(capacity): a key's home is its hash's top bits. */
  private shift = 32;
  private mask = 0;
  /** Keys held. */
  size = 0;

  constructor() {
    this.resize(MIN_BITS);
  }

  /** The value of `key`, or `absent` when the table does not hold it. */
  get(key: number, absent: number): number {
    const { keys, mask } = this;
    for (let j = this.home(key); ; j = (j + 1) & mask) {
      const k = keys[j]!;
      if (k === key) return this.values[j]!;
      if (k === EMPTY) return absent;
    }
  }

  /** Sets key's value. Pre: 0 <= key < 2^31. */
  set(key: number, value: number): void {
    const { keys, mask } = this;
    let j = this.home(key);
    for (; keys[j] !== EMPTY; j = (j + 1) & mask) {
      if (keys[j] === key) {
        this.values[j] = value;
        return;
      }
    }
    keys[j] = key;
    this.values[j] = value;
    if (++this.size * 2 > mask + 1) this.resize(32 - this.shift + 1);
  }

  /** Removes key; true when it was there. */
  delete(key: number): boolean {
    const { keys, values, mask } = this;
    let i = this.home(key);
    for (; keys[i] !== key; i = (i + 1) & mask) if (keys[i] === EMPTY) return false;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(keys[j]!);
      if (keepsPlace(i, j, home)) continue;
      keys[i] = keys[j]!;
      values[i] = values[j]!;
      i = j;
    }
    keys[i] = EMPTY;
    this.size--;
    return true;
  }

  /** Calls fn with each value held, in no set order. fn must not change the table. */
  forEach(fn: (value: number) => void): void {
    const { keys, values } = this;
    for (let j = 0; j < keys.length; j++) if (keys[j] !== EMPTY) fn(values[j]!);
  }

  /** Bytes of its arrays. */
  get byteLength(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  private home(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  private resize(bits: number): void {
    // Unreachable from the site table, which holds at most 2^30 sites (MAX_SITES).
    if (bits > MAX_BITS) throw new RangeError(`IntTable: more than 2^${MAX_BITS - 1} keys`);
    const { keys, values } = this;
    const capacity = 2 ** bits;
    this.keys = new Int32Array(capacity).fill(EMPTY);
    this.values = new Float64Array(capacity);
    this.shift = 32 - bits;
    this.mask = capacity - 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === EMPTY) continue;
      let j = this.home(key);
      while (this.keys[j] !== EMPTY) j = (j + 1) & this.mask;
      this.keys[j] = key;
      this.values[j] = values[i]!;
    }
  }
}
