// LargeMap: a Map with no hidden size limit.
//
// A V8 Map holds at most 2^24 entries; one more throws RangeError ("Map maximum size exceeded").
// The heap accepts up to 2^27 nodes, so every index that grows with the heap (symbols, trampolines,
// external stubs, unusual addends) would hit that wall in the middle of a mutation. A LargeMap
// keeps its entries in a first Map and spills into further ones as each fills, so it holds as many
// entries as memory allows. While it holds fewer than SHARD_LIMIT entries (every heap that fits a
// Map today) it is one Map and every operation is one Map operation plus a null test.
//
// Invariant: a key is in at most one shard; every shard but the last holds SHARD_LIMIT entries or
// fewer (deletes may leave room), the last fewer than SHARD_LIMIT unless it was just filled.

/** Entries per shard: half of V8's limit, so a shard never comes near it. */
export const SHARD_LIMIT = 1 << 23;

export class LargeMap<K, V> {
  private first = new Map<K, V>();
  /** The shards after the first, or null while there are none (the common case). */
  private rest: Map<K, V>[] | null = null;

  /** `shardLimit`: entries per shard (tests use small ones to see shards fill). */
  constructor(private readonly shardLimit = SHARD_LIMIT) {}

  get(key: K): V | undefined {
    const value = this.first.get(key);
    if (value !== undefined || this.rest === null) return value;
    for (const shard of this.rest) {
      const found = shard.get(key);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** Pre: value is not undefined (get answers undefined for a missing key). */
  set(key: K, value: V): void {
    if (this.rest === null && this.first.size < this.shardLimit) {
      this.first.set(key, value);
      return;
    }
    (this.shardOf(key) ?? this.last()).set(key, value);
  }

  /** True when the key was there. */
  delete(key: K): boolean {
    if (this.first.delete(key)) return true;
    if (this.rest === null) return false;
    for (const shard of this.rest) if (shard.delete(key)) return true;
    return false;
  }

  get size(): number {
    let size = this.first.size;
    if (this.rest !== null) for (const shard of this.rest) size += shard.size;
    return size;
  }

  clear(): void {
    this.first = new Map();
    this.rest = null;
  }

  *entries(): IterableIterator<[K, V]> {
    yield* this.first;
    if (this.rest !== null) for (const shard of this.rest) yield* shard;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** The shard that holds key, or undefined. */
  private shardOf(key: K): Map<K, V> | undefined {
    if (this.first.has(key)) return this.first;
    if (this.rest === null) return undefined;
    for (const shard of this.rest) if (shard.has(key)) return shard;
    return undefined;
  }

  /** The shard new keys go to, opening a new one when the last is full. */
  private last(): Map<K, V> {
    if (this.rest === null) {
      if (this.first.size < this.shardLimit) return this.first;
      this.rest = [];
    }
    let shard = this.rest[this.rest.length - 1];
    if (shard === undefined || shard.size >= this.shardLimit) {
      shard = new Map();
      this.rest.push(shard);
    }
    return shard;
  }
}
