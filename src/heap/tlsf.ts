// The block allocator of the code heap: O(1) allocate, free and shrink over the offsets
// [0, capacity).
//
// Paper: M. Masmano, I. Ripoll, A. Crespo, J. Real, "TLSF: a New Dynamic Memory Allocator for
// Real-Time Systems", ECRTS 2004, section 3: segregated free lists indexed by (first level =
// floor(log2 size), second level = the next SL_BITS bits), a bitmap per level so that a non-empty
// list is found with one count-leading-zeros, good-fit search by rounding the request up to the
// next list, split on allocate, immediate coalescing with both physical neighbours on free.
//
// Departures from the paper:
// - Block records outside the managed bytes, linked by id, with no stored size: see
//   tlsf-records.ts. Exact failure (a scan after good-fit misses): see tlsf-lists.ts.
// - Alignment up to 4096: the good-fit search asks for size + align - 8 bytes, which any block of
//   that class can hold at an aligned offset; the padding in front becomes a free block of its own.
// - Frees in a batch merge a run of neighbours once, not block by block: see tlsf-batch.ts.
// - shrink gives back the tail of a used block in place, as TLSF implementations' realloc does
//   when it shrinks; the paper has no realloc.
//
// The parts: the records and ids (tlsf-records.ts), the lists, their searches and coalescing
// (tlsf-lists.ts), the batch of frees (tlsf-batch.ts), the drawn layouts and size classes
// (tlsf-layout.ts), and verify() (tlsf-verify.ts). This file is the allocator's interface: the
// checks on what a caller passes in, allocate and its split (place), free, shrink, the batch entry
// points, and the counts.

import * as base from '../base.js';
import { FreeBatch } from './tlsf-batch.js';
import { assert, reservedSize } from './tlsf-layout.js';
import * as layout from './tlsf-layout.js';
import { FreeLists } from './tlsf-lists.js';
import { BlockRecords } from './tlsf-records.js';
import { verifyAllocator } from './tlsf-verify.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { DEBUG, FREE, GRANULE, MAX_CAPACITY, RECORD_BYTES, USED } = layout;
const { MAX_ALIGN, NONE } = base;

export { GRANULE } from './tlsf-layout.js';

export class BlockAllocator {
  readonly capacity: number;
  readonly #records: BlockRecords;
  readonly #lists: FreeLists;
  readonly #batch: FreeBatch;
  // The counts, exact after every call but within a batch (verify() recounts them); the free
  // blocks are the lists' count.
  #usedBytes = 0;
  #freeBytes = 0;
  #usedBlocks = 0;

  /** Manages [0, capacity), which starts as one free block (none when capacity is 0). */
  constructor(capacity: number) {
    if (DEBUG) {
      assert(Number.isInteger(capacity) && capacity >= 0 && capacity <= MAX_CAPACITY,
        `capacity ${capacity} must be an integer in [0, 2^31]`);
      assert(capacity % GRANULE === 0, `capacity ${capacity} must be a multiple of ${GRANULE}`);
    }
    this.capacity = capacity;
    this.#records = new BlockRecords(capacity);
    this.#lists = new FreeLists(this.#records);
    this.#batch = new FreeBatch(this.#records, this.#lists);
    if (capacity === 0) return;
    // The block at offset 0 is always id 0: splits give the upper part a new id, merges keep the
    // lower id, and shrink moves only the start of a block above another, so nothing ever
    // replaces it. verify() starts its physical walk there.
    const records = this.#records;
    const first = records.newId(0, FREE);
    records.prevPhys[first] = NONE;
    records.nextPhys[first] = NONE;
    this.#lists.link(first, capacity);
    this.#freeBytes = capacity;
  }

  get usedBytes(): number { return this.#usedBytes; }
  get freeBytes(): number { return this.#freeBytes; }
  get usedBlocks(): number { return this.#usedBlocks; }
  get freeBlocks(): number { return this.#lists.blocks; }
  /**
   * Every block id handed out so far is below this, so a checker can keep one mark per id in a
   * Uint8Array of this length. It only grows: ids are reused before new ones are issued.
   */
  get idLimit(): number { return this.#records.highWater; }

  /**
   * Reserves max(8, size rounded up to 8) bytes at an offset that is a multiple of align (a power
   * of two up to 4096; below 8 means 8). Returns the block id, or -1 exactly when no free block can
   * hold the request at that alignment. O(1) when good-fit succeeds; O(free blocks) otherwise.
   */
  allocate(size: number, align: number): number {
    if (DEBUG) {
      assert(Number.isInteger(size) && size >= 0, `size ${size} must be a non-negative integer`);
      assert(align > 0 && align <= MAX_ALIGN && (align & (align - 1)) === 0,
        `align ${align} must be a power of two up to ${MAX_ALIGN}`);
    }
    if (size > this.capacity) return NONE;
    const need = reservedSize(size);
    const alignment = align < GRANULE ? GRANULE : align;
    // Any block of need + alignment - 8 bytes has an aligned start within its first
    // alignment - 8 bytes, because every block offset is a multiple of 8.
    const wanted = need + alignment - GRANULE;
    const lists = this.#lists;
    let block = NONE;
    if (alignment > GRANULE) {
      // Most free blocks already start aligned (code is allocated at 16 throughout): a good fit
      // for the bare size that happens to be aligned needs no padding split, and its free will
      // need no merge with one.
      const bare = lists.goodFit(need);
      if (bare !== NONE && (this.#records.offsetOf(bare) & (alignment - 1)) === 0) block = bare;
    }
    if (block === NONE && wanted <= this.capacity) block = lists.goodFit(wanted);
    if (block === NONE) block = lists.anyFit(need, alignment);
    if (block === NONE) return NONE;
    return this.#place(block, need, alignment);
  }

  /** Returns a used block; it merges at once with free physical neighbours. O(1). */
  free(block: number): void {
    // Always on: it costs one load, and freeing a free or recycled id would corrupt the lists
    // silently. The message is built only on failure; a template per call costs more than a free.
    if (!this.#records.isUsed(block)) assert(false, `block ${block} must be a used block to be freed`);
    const size = this.#records.sizeOf(block);
    this.#usedBytes -= size;
    this.#freeBytes += size;
    this.#usedBlocks -= 1;
    this.#lists.linkMerged(block, size);
  }

  /**
   * Gives back the tail of a used block: the block keeps its id, its offset and its first
   * max(8, size rounded up to 8) bytes, and the rest becomes a free block that merges at once with
   * a free right neighbour. Nothing changes when that is the whole block. O(1).
   * Pre: `block` is used, and the kept size is at most sizeOf(block) (both checked, as in free);
   * no batch of frees is open.
   */
  shrink(block: number, size: number): void {
    if (DEBUG) assert(Number.isInteger(size) && size >= 0, `size ${size} must be a non-negative integer`);
    const records = this.#records;
    const keep = reservedSize(size);
    // Negated, so that a NaN size is refused too: a tail that is not inside the block would
    // corrupt the lists silently.
    if (!records.isUsed(block) || !(keep <= records.sizeOf(block))) {
      assert(false, `block ${block} must be a used block of at least ${keep} bytes to shrink to ${size}`);
    }
    const start = records.offsetOf(block) + keep;
    const tail = records.sizeOf(block) - keep;
    if (tail === 0) return;
    const lists = this.#lists;
    const right = records.nextPhys[block]!;
    if (right !== NONE && records.stateOf(right) === FREE) {
      // The free neighbour keeps its id and grows down over the tail; its class may change.
      const rightSize = records.sizeOf(right);
      lists.unlink(right, rightSize);
      records.moveStart(right, start);
      lists.link(right, tail + rightSize);
    } else {
      lists.link(records.splitAt(block, start, FREE), tail);
    }
    this.#usedBytes -= tail;
    this.#freeBytes += tail;
  }

  /**
   * Frees a used block as one of a batch (the collector frees a module's code so), in O(1). Blocks
   * freed in the order they were placed merge as runs, with one list insertion a run
   * (tlsf-batch.ts); blocks in any other order free as free() does. The byte counts are brought up
   * to date when the batch is finished. Pre: nothing else allocates, frees or shrinks in this
   * allocator until finishBatch.
   * A block that is not used, or is listed twice, is refused before it changes; the open run is
   * closed first, so the blocks before it stay freed and the allocator stays sound.
   */
  freeInBatch(block: number): void {
    const records = this.#records;
    // The run's head is PENDING and the blocks it absorbed RECYCLED, so a block listed twice fails.
    if (!records.isUsed(block)) {
      this.#settleBatch();
      assert(false, `block ${block} must be a used block, listed once, to be freed`);
    }
    this.#usedBlocks -= 1;
    this.#batch.add(block);
  }

  /** Closes the batch's last run. Returns the bytes the batch freed; the next batch starts at zero. */
  finishBatch(): number {
    this.#settleBatch();
    return this.#batch.finish();
  }

  /** Closes the open run and counts the bytes the batch has freed since it last did. */
  #settleBatch(): void {
    const freed = this.#batch.settle();
    this.#usedBytes -= freed;
    this.#freeBytes += freed;
  }

  /** Pre: block is free and can hold need bytes at alignment. Post: returns the used block. */
  #place(block: number, need: number, alignment: number): number {
    const records = this.#records;
    const lists = this.#lists;
    const offset = records.offsetOf(block);
    const size = records.sizeOf(block);
    const end = offset + size;
    lists.unlink(block, size);
    const start = offset + (-offset & (alignment - 1));
    if (DEBUG) assert(start + need <= end, `block ${block} must hold ${need} bytes at ${alignment}`);
    let used = block;
    if (start !== offset) {
      // The padding keeps the id and stays free. Its left neighbour is used (free blocks are never
      // adjacent), so there is nothing to merge it with.
      used = records.splitAt(block, start, USED);
      lists.link(block, start - offset);
    } else {
      records.setOffsetState(block, offset, USED);
    }
    if (start + need !== end) {
      // The tail's right neighbour is used for the same reason, so it too is final as it is.
      lists.link(records.splitAt(used, start + need, FREE), end - start - need);
    }
    this.#usedBlocks += 1;
    this.#usedBytes += need;
    this.#freeBytes -= need;
    return used;
  }

  offsetOf(block: number): number {
    if (DEBUG) assert(this.#records.isLive(block), `block ${block} must be used or free`);
    return this.#records.offsetOf(block);
  }

  /** The rounded size actually reserved: the distance to the next block, or to capacity. */
  sizeOf(block: number): number {
    if (DEBUG) assert(this.#records.isLive(block), `block ${block} must be used or free`);
    return this.#records.sizeOf(block);
  }

  /** True for an allocated id; false for a free, recycled or never-issued id. */
  isUsed(block: number): boolean {
    return this.#records.isUsed(block);
  }

  /**
   * The used blocks in address order, walking the physical chain from offset 0: what an index
   * by position is built from without sorting. O(blocks). Pre: no batch of frees is open.
   */
  usedInOrder(): Int32Array {
    const records = this.#records;
    const used = new Int32Array(this.#usedBlocks);
    let count = 0;
    for (let block = this.capacity === 0 ? NONE : 0; block !== NONE; block = records.nextPhys[block]!) {
      if (records.isUsed(block)) used[count++] = block;
    }
    return used;
  }

  /** Size of the largest free block. */
  largestFree(): number {
    return this.#lists.largest();
  }

  metadataBytesPerBlock(): number {
    return RECORD_BYTES;
  }

  /** Record bytes for the ids that name a block now; capacity reserved for growth is not counted. */
  metadataBytes(): number {
    return (this.#usedBlocks + this.#lists.blocks) * RECORD_BYTES;
  }

  /** Every broken invariant, as sentences; [] when the allocator is sound. Iterative. */
  verify(): string[] {
    const records = this.#records;
    const lists = this.#lists;
    return verifyAllocator({
      capacity: this.capacity, highWater: records.highWater, recycled: records.recycled,
      offsetState: records.offsetState, prevPhys: records.prevPhys, nextPhys: records.nextPhys,
      nextFree: records.nextFree, prevFree: records.prevFree, flBitmap: lists.flBitmap,
      slBitmap: lists.slBitmap, heads: lists.heads, largestOf: lists.largestOf, stale: lists.stale, usedBytes: this.#usedBytes,
      freeBytes: this.#freeBytes, usedBlocks: this.#usedBlocks, freeBlocks: lists.blocks,
    });
  }
}
