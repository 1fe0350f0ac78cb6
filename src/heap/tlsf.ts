// The block allocator of the code heap: O(1) allocate and free over the offsets [0, capacity).
//
// Paper: M. Masmano, I. Ripoll, A. Crespo, J. Real, "TLSF: a New Dynamic Memory Allocator for
// Real-Time Systems", ECRTS 2004, section 3: segregated free lists indexed by (first level =
// floor(log2 size), second level = the next SL_BITS bits), a bitmap per level so that a non-empty
// list is found with one count-leading-zeros, good-fit search by rounding the request up to the
// next list, split on allocate, immediate coalescing with both physical neighbours on free.
//
// Departures from the paper:
// - No headers or boundary tags in the managed bytes: the arenas hold only code and data. Block
//   records live in typed arrays indexed by a block id, and physical neighbours are linked by id,
//   because the left neighbour of a block cannot be found from its bytes.
// - A block's size is not stored: it is the distance to the next block (or to capacity), which
//   keeps the record at 20 bytes and makes a gap between neighbours unrepresentable.
// - Alignment up to 4096: the good-fit search asks for size + align - 8 bytes, which any block of
//   that class can hold at an aligned offset; the padding in front becomes a free block of its own.
// - Exact failure: when good-fit finds nothing, a scan of every list that could still hold the
//   request (first fit, at its alignment) runs before giving up. That path is O(free blocks);
//   the paper's allocator would report failure while a fitting block exists, and a JIT that is
//   told OUT_OF_MEMORY then evicts code for nothing.
//
// The record layout and size classes are drawn in tlsf-layout.ts; verify() is in tlsf-verify.ts.

import { grown } from '../base.js';
import * as base from '../base.js';
import { assert, listAtLeast, listOf, lowestBit } from './tlsf-layout.js';
import * as layout from './tlsf-layout.js';
import { verifyAllocator } from './tlsf-verify.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const {
  DEBUG, FL_COUNT, FREE, GRANULE, GRANULE_MASK, INITIAL_IDS, MAX_CAPACITY, PENDING,
  RECORD_BYTES, RECYCLED, SL_BITS, SL_COUNT, SL_MASK, STATE_MASK, USED,
} = layout;
const { MAX_ALIGN, NONE } = base;

export { GRANULE } from './tlsf-layout.js';

export class BlockAllocator {
  readonly capacity: number;
  #offsetState = new Int32Array(INITIAL_IDS);
  #prevPhys = new Int32Array(INITIAL_IDS);
  #nextPhys = new Int32Array(INITIAL_IDS);
  #nextFree = new Int32Array(INITIAL_IDS);
  #prevFree = new Int32Array(INITIAL_IDS);
  /** Ids below this have been handed out at least once; ids above it were never used. */
  #highWater = 0;
  /** Top of the recycled-id stack, linked through nextPhys. */
  #recycled = NONE;
  /** Bit fl is set exactly when some list of first level fl is non-empty. */
  #flBitmap = 0;
  /** Bit sl of slBitmap[fl] is set exactly when list (fl, sl) is non-empty. */
  readonly #slBitmap = new Int32Array(FL_COUNT);
  readonly #heads = new Int32Array(FL_COUNT * SL_COUNT).fill(NONE);
  #usedBytes = 0;
  #freeBytes = 0;
  #usedBlocks = 0;
  #freeBlocks = 0;
  /** The open run of a batch of frees (see freeInBatch): first and last block, or NONE. */
  #runHead = NONE;
  #runTail = NONE;
  /** Blocks the open run holds, and bytes of the free gaps it absorbed (counted free already). */
  #runBlocks = 0;
  #runGapBytes = 0;
  /** Bytes the runs of this batch freed so far. */
  #batchBytes = 0;

  /** Manages [0, capacity), which starts as one free block (none when capacity is 0). */
  constructor(capacity: number) {
    if (DEBUG) {
      assert(Number.isInteger(capacity) && capacity >= 0 && capacity <= MAX_CAPACITY,
        `capacity ${capacity} must be an integer in [0, 2^31]`);
      assert(capacity % GRANULE === 0, `capacity ${capacity} must be a multiple of ${GRANULE}`);
    }
    this.capacity = capacity;
    if (capacity === 0) return;
    // The block at offset 0 is always id 0: splits give the upper part a new id, merges keep the
    // lower id, so nothing ever replaces it. verify() starts its physical walk there.
    const first = this.#newId(0, FREE);
    this.#prevPhys[first] = NONE;
    this.#nextPhys[first] = NONE;
    this.#linkFree(first);
    this.#freeBytes = capacity;
    this.#freeBlocks = 1;
  }

  get usedBytes(): number { return this.#usedBytes; }
  get freeBytes(): number { return this.#freeBytes; }
  get usedBlocks(): number { return this.#usedBlocks; }
  get freeBlocks(): number { return this.#freeBlocks; }

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
    // size <= 2^31, so -size is still an int32 and the rounding below is exact.
    const need = size === 0 ? GRANULE : size + (-size & GRANULE_MASK);
    const alignment = align < GRANULE ? GRANULE : align;
    // Any block of need + alignment - 8 bytes has an aligned start within its first
    // alignment - 8 bytes, because every block offset is a multiple of 8.
    const wanted = need + alignment - GRANULE;
    let block = NONE;
    if (alignment > GRANULE) {
      // Most free blocks already start aligned (code is allocated at 16 throughout): a good fit
      // for the bare size that happens to be aligned needs no padding split, and its free will
      // need no merge with one.
      const bare = this.#findGoodFit(need);
      if (bare !== NONE && (this.offsetOf(bare) & (alignment - 1)) === 0) block = bare;
    }
    if (block === NONE && wanted <= this.capacity) block = this.#findGoodFit(wanted);
    if (block === NONE) block = this.#findAnyFit(need, alignment);
    if (block === NONE) return NONE;
    return this.#place(block, need, alignment);
  }

  /** Keeps the first max(8, size rounded up to 8) bytes of a used block and frees the rest. O(1). */
  shrink(block: number, size: number): void {
    if (!this.isUsed(block)) assert(false, `block ${block} must be a used block to be shrunk`);
    const need = size === 0 ? GRANULE : size + (-size & GRANULE_MASK);
    if (need >= this.sizeOf(block)) return;
    const tail = this.#splitAt(block, this.offsetOf(block) + need, USED);
    this.#usedBlocks += 1;
    this.free(tail);
  }

  /** Block ids ever handed out: every valid id is below it. */
  get idLimit(): number {
    return this.#highWater;
  }

  /** Returns a used block; it merges at once with free physical neighbours. O(1). */
  free(block: number): void {
    // Always on: it costs one load, and freeing a free or recycled id would corrupt the lists
    // silently. The message is built only on failure; a template per call costs more than a free.
    if (!this.isUsed(block)) assert(false, `block ${block} must be a used block to be freed`);
    const size = this.sizeOf(block);
    this.#usedBytes -= size;
    this.#freeBytes += size;
    this.#usedBlocks -= 1;
    this.#coalesce(block);
  }

  /**
   * Frees a used block as one of a batch (the collector frees a module's code so), in O(1). The
   * block joins the run of blocks the batch freed just before it when it is their right physical
   * neighbour, or lies just past a free gap there (the padding alignment leaves between code
   * blocks). Otherwise that run is closed (merged into one block with its free neighbours, and
   * listed) and a new run starts at this block. A module freed in the order it was placed is one
   * run: one list insertion for all its blocks, where freeing them one by one costs two merges per
   * block, and each block's record is touched once. Blocks in any other order free as free() does.
   * Pre: nothing else allocates or frees in this allocator until finishBatch. A block that is not
   * used, or is listed twice, is refused before it changes; the open run is closed first, so the
   * blocks before it stay freed and the allocator stays sound (finishBatch still counts them).
   */
  freeInBatch(block: number): void {
    // The run's head is PENDING and the blocks it absorbed RECYCLED, so a block listed twice fails.
    if (!this.isUsed(block)) {
      this.#closeRun();
      assert(false, `block ${block} must be a used block, listed once, to be freed`);
    }
    const tail = this.#runTail;
    if (tail !== NONE) {
      let left = this.#prevPhys[block]!;
      if (left !== tail && left !== NONE && this.#stateOf(left) === FREE && this.#prevPhys[left] === tail) {
        // A free gap between the run and the block: the run absorbs it (its bytes were free already).
        this.#unlinkFree(left);
        this.#runGapBytes += this.sizeOf(left);
        this.#freeBlocks -= 1;
        this.#offsetState[left] = RECYCLED;
        left = tail;
      }
      if (left === tail) {
        // Absorbed as it is passed: its id joins the recycled stack with the run's when it closes.
        this.#offsetState[block] = RECYCLED;
        this.#runTail = block;
        this.#runBlocks++;
        return;
      }
      this.#closeRun();
    }
    this.#setState(block, PENDING);
    this.#runHead = block;
    this.#runTail = block;
    this.#runBlocks = 1;
    this.#runGapBytes = 0;
  }

  /** Closes the batch's last run. Returns the bytes the batch freed; the next batch starts at zero. */
  finishBatch(): number {
    this.#closeRun();
    const freed = this.#batchBytes;
    this.#batchBytes = 0;
    return freed;
  }

  /**
   * Merges the open run into its head, lists it with its free neighbours, and counts it. The ids
   * from the head's next to the tail are physical neighbours, chained through nextPhys already:
   * they join the recycled stack as they are.
   */
  #closeRun(): void {
    const head = this.#runHead;
    if (head === NONE) return;
    const tail = this.#runTail;
    if (tail !== head) {
      const nextPhys = this.#nextPhys;
      const first = nextPhys[head]!;
      const next = nextPhys[tail]!;
      nextPhys[head] = next;
      if (next !== NONE) this.#prevPhys[next] = head;
      nextPhys[tail] = this.#recycled;
      this.#recycled = first;
    }
    const freed = this.sizeOf(head) - this.#runGapBytes;
    this.#usedBytes -= freed;
    this.#freeBytes += freed;
    this.#usedBlocks -= this.#runBlocks;
    this.#batchBytes += freed;
    this.#coalesce(head);
    this.#runHead = NONE;
    this.#runTail = NONE;
  }

  /** Merges a block that is leaving use with its free neighbours and lists the result. */
  #coalesce(block: number): void {
    let merged = block;
    const left = this.#prevPhys[merged]!;
    if (left !== NONE && this.#stateOf(left) === FREE) {
      this.#unlinkFree(left);
      this.#absorbNext(left);
      merged = left;
      this.#freeBlocks -= 1;
    }
    const right = this.#nextPhys[merged]!;
    if (right !== NONE && this.#stateOf(right) === FREE) {
      this.#unlinkFree(right);
      this.#absorbNext(merged);
      this.#freeBlocks -= 1;
    }
    this.#setState(merged, FREE);
    this.#linkFree(merged);
    this.#freeBlocks += 1;
  }

  offsetOf(block: number): number {
    if (DEBUG) assert(this.#isLive(block), `block ${block} must be used or free`);
    return this.#offsetState[block]! & ~STATE_MASK;
  }

  /** The rounded size actually reserved: the distance to the next block, or to capacity. */
  sizeOf(block: number): number {
    if (DEBUG) assert(this.#isLive(block), `block ${block} must be used or free`);
    const next = this.#nextPhys[block]!;
    return (next === NONE ? this.capacity : this.offsetOf(next)) - this.offsetOf(block);
  }

  /** True for an allocated id; false for a free, recycled or never-issued id. */
  isUsed(block: number): boolean {
    return block >= 0 && block < this.#highWater && this.#stateOf(block) === USED;
  }

  /** Size of the largest free block: it is in the highest non-empty list, which this scans. */
  largestFree(): number {
    if (this.#flBitmap === 0) return 0;
    const fl = 31 - Math.clz32(this.#flBitmap);
    const sl = 31 - Math.clz32(this.#slBitmap[fl]!);
    let largest = 0;
    for (let b = this.#heads[(fl << SL_BITS) | sl]!; b !== NONE; b = this.#nextFree[b]!) {
      largest = Math.max(largest, this.sizeOf(b));
    }
    return largest;
  }

  metadataBytesPerBlock(): number {
    return RECORD_BYTES;
  }

  /** Record bytes for the ids that name a block now; capacity reserved for growth is not counted. */
  metadataBytes(): number {
    return (this.#usedBlocks + this.#freeBlocks) * RECORD_BYTES;
  }

  /** Every broken invariant, as sentences; [] when the allocator is sound. Iterative. */
  verify(): string[] {
    return verifyAllocator({
      capacity: this.capacity, highWater: this.#highWater, recycled: this.#recycled,
      offsetState: this.#offsetState, prevPhys: this.#prevPhys, nextPhys: this.#nextPhys,
      nextFree: this.#nextFree, prevFree: this.#prevFree, flBitmap: this.#flBitmap,
      slBitmap: this.#slBitmap, heads: this.#heads, usedBytes: this.#usedBytes,
      freeBytes: this.#freeBytes, usedBlocks: this.#usedBlocks, freeBlocks: this.#freeBlocks,
    });
  }

  // ---- search (find_suitable_block) ----

  /** Head of the first non-empty list at or above listAtLeast(wanted): every block there fits. */
  #findGoodFit(wanted: number): number {
    const list = listAtLeast(wanted);
    let fl = list >>> SL_BITS;
    let slMap = this.#slBitmap[fl]! & (~0 << (list & SL_MASK));
    if (slMap === 0) {
      const flMap = this.#flBitmap & (~0 << (fl + 1));
      if (flMap === 0) return NONE;
      fl = lowestBit(flMap);
      slMap = this.#slBitmap[fl]!;
    }
    return this.#heads[(fl << SL_BITS) | lowestBit(slMap)]!;
  }

  /**
   * First fit over every list that may hold a block of at least `need` bytes, checking each block
   * at its alignment. Runs only after good-fit failed, so in practice it sees the request's own
   * list and the few lists between need and need + alignment - 8.
   */
  #findAnyFit(need: number, alignment: number): number {
    const list = listOf(need);
    let fl = list >>> SL_BITS;
    let slMap = this.#slBitmap[fl]! & (~0 << (list & SL_MASK));
    for (;;) {
      // Invariant: every list below (fl, lowest bit of slMap) holds no block that fits.
      while (slMap !== 0) {
        const sl = lowestBit(slMap);
        slMap &= slMap - 1;
        for (let b = this.#heads[(fl << SL_BITS) | sl]!; b !== NONE; b = this.#nextFree[b]!) {
          const offset = this.offsetOf(b);
          if (offset + (-offset & (alignment - 1)) + need <= offset + this.sizeOf(b)) return b;
        }
      }
      const flMap = fl + 1 < FL_COUNT ? this.#flBitmap & (~0 << (fl + 1)) : 0;
      if (flMap === 0) return NONE;
      fl = lowestBit(flMap);
      slMap = this.#slBitmap[fl]!;
    }
  }

  // ---- split and merge ----

  /** Pre: block is free and can hold need bytes at alignment. Post: returns the used block. */
  #place(block: number, need: number, alignment: number): number {
    this.#unlinkFree(block);
    const offset = this.offsetOf(block);
    const end = offset + this.sizeOf(block);
    const start = offset + (-offset & (alignment - 1));
    if (DEBUG) assert(start + need <= end, `block ${block} must hold ${need} bytes at ${alignment}`);
    let used = block;
    if (start !== offset) {
      // The padding keeps the id and stays free. Its left neighbour is used (free blocks are never
      // adjacent), so there is nothing to merge it with.
      used = this.#splitAt(block, start, USED);
      this.#linkFree(block);
      this.#freeBlocks += 1;
    } else {
      this.#offsetState[block] = offset | USED;
    }
    if (start + need !== end) {
      // The tail's right neighbour is used for the same reason, so it too is final as it is.
      this.#linkFree(this.#splitAt(used, start + need, FREE));
      this.#freeBlocks += 1;
    }
    this.#freeBlocks -= 1;
    this.#usedBlocks += 1;
    this.#usedBytes += need;
    this.#freeBytes -= need;
    return used;
  }

  /** Cuts `block` at `at`; the upper part gets a new id with `state` and is returned. */
  #splitAt(block: number, at: number, state: number): number {
    const upper = this.#newId(at, state);
    const next = this.#nextPhys[block]!;
    this.#prevPhys[upper] = block;
    this.#nextPhys[upper] = next;
    if (next !== NONE) this.#prevPhys[next] = upper;
    this.#nextPhys[block] = upper;
    return upper;
  }

  /** Merges the next physical block into `block` and recycles its id. Pre: neither is listed. */
  #absorbNext(block: number): void {
    const gone = this.#nextPhys[block]!;
    const after = this.#nextPhys[gone]!;
    this.#nextPhys[block] = after;
    if (after !== NONE) this.#prevPhys[after] = block;
    this.#offsetState[gone] = RECYCLED;
    this.#nextPhys[gone] = this.#recycled;
    this.#recycled = gone;
  }

  // ---- free lists ----

  /** Pushes a free block on the list of its size and marks the list non-empty. */
  #linkFree(block: number): void {
    const list = listOf(this.sizeOf(block));
    const head = this.#heads[list]!;
    this.#nextFree[block] = head;
    this.#prevFree[block] = NONE;
    if (head !== NONE) this.#prevFree[head] = block;
    this.#heads[list] = block;
    const fl = list >>> SL_BITS;
    this.#slBitmap[fl]! |= 1 << (list & SL_MASK);
    this.#flBitmap |= 1 << fl;
  }

  /** Takes a free block off its list (its size must not have changed since it was linked). */
  #unlinkFree(block: number): void {
    if (DEBUG) assert(this.#stateOf(block) === FREE, `block ${block} must be free to be unlinked`);
    const prev = this.#prevFree[block]!;
    const next = this.#nextFree[block]!;
    if (next !== NONE) this.#prevFree[next] = prev;
    if (prev !== NONE) {
      this.#nextFree[prev] = next;
      return;
    }
    const list = listOf(this.sizeOf(block));
    if (DEBUG) assert(this.#heads[list] === block, `block ${block} without prev must head its list`);
    this.#heads[list] = next;
    if (next !== NONE) return;
    const fl = list >>> SL_BITS;
    const slMap = this.#slBitmap[fl]! & ~(1 << (list & SL_MASK));
    this.#slBitmap[fl] = slMap;
    if (slMap === 0) this.#flBitmap &= ~(1 << fl);
  }

  // ---- ids ----

  #newId(offset: number, state: number): number {
    let id = this.#recycled;
    if (id !== NONE) {
      this.#recycled = this.#nextPhys[id]!;
    } else {
      if (this.#highWater === this.#offsetState.length) this.#grow();
      id = this.#highWater++;
    }
    this.#offsetState[id] = offset | state;
    return id;
  }

  /** Doubles every record array; amortised O(1) per id. */
  #grow(): void {
    this.#offsetState = grown(this.#offsetState, this.#offsetState.length * 2);
    this.#prevPhys = grown(this.#prevPhys, this.#prevPhys.length * 2);
    this.#nextPhys = grown(this.#nextPhys, this.#nextPhys.length * 2);
    this.#nextFree = grown(this.#nextFree, this.#nextFree.length * 2);
    this.#prevFree = grown(this.#prevFree, this.#prevFree.length * 2);
  }

  #stateOf(block: number): number {
    return this.#offsetState[block]! & STATE_MASK;
  }

  #setState(block: number, state: number): void {
    this.#offsetState[block] = (this.#offsetState[block]! & ~STATE_MASK) | state;
  }

  #isLive(block: number): boolean {
    return block >= 0 && block < this.#highWater && this.#stateOf(block) !== RECYCLED;
  }
}
