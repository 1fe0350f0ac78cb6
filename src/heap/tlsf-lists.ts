// The segregated free lists of the allocator: one doubly linked list of free blocks per size
// class, the two levels of bitmaps that say which lists are non-empty, the searches over them, and
// the immediate coalescing that keeps every free block between two used ones.
//
// Paper: M. Masmano et al., "TLSF: a New Dynamic Memory Allocator for Real-Time Systems",
// ECRTS 2004, section 3: a list per (first level, second level) class, a first-level bitmap and a
// second-level bitmap per first level, so that the first non-empty list at or above a class is
// found with two find-first-set operations (find_suitable_block), and insertion and removal at a
// known class are O(1); a freed block is merged with its free physical neighbours before it is
// inserted.
//
// Departure from the paper: exact failure. When good-fit finds nothing, anyFit scans every list
// that could still hold the request (first fit, at its alignment) before giving up. That path is
// O(free blocks); the paper's allocator would report failure while a fitting block exists, and a
// JIT that is told OUT_OF_MEMORY then evicts code for nothing.
//
// The size classes and the list number are drawn in tlsf-layout.ts. The caller passes a block's
// size to link and unlink (it has it at hand, and the records would have to work it out), so a
// block must be unlinked before its size changes and linked again after.

import * as base from '../base.js';
import { assert, listAtLeast, listOf, lowestBit } from './tlsf-layout.js';
import * as layout from './tlsf-layout.js';
import type { BlockRecords } from './tlsf-records.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { DEBUG, FL_COUNT, FREE, SL_BITS, SL_COUNT, SL_MASK } = layout;
const { NONE } = base;

// Invariants (verify() checks each): every FREE block is in exactly one list, the one its size
// maps to (listOf), and no other block is in any; no two FREE blocks are physical neighbours.
export class FreeLists {
  /** The records whose nextFree and prevFree fields link the lists, and whose sizes class them. */
  readonly #records: BlockRecords;
  /** Bit fl is set exactly when some list of first level fl is non-empty. */
  #flBitmap = 0;
  /** Bit sl of slBitmap[fl] is set exactly when list (fl, sl) is non-empty. */
  readonly #slBitmap = new Int32Array(FL_COUNT);
  /** heads[list]: the first block of the list, or NONE when it is empty. */
  readonly #heads = new Int32Array(FL_COUNT * SL_COUNT).fill(NONE);
  /** Blocks in all the lists together: every free block is in exactly one. */
  #blocks = 0;
  /**
   * largestOf[list]: the size of the list's largest block, unless stale[list] is 1 (its largest
   * block was taken off, and nobody has asked since). largest() reads it for the highest list and
   * scans that list only when it is stale: stats() is O(1) between changes to the top list, where a
   * scan of a list of 500,000 holes cost milliseconds on every call.
   */
  readonly #largestOf = new Float64Array(FL_COUNT * SL_COUNT);
  readonly #stale = new Uint8Array(FL_COUNT * SL_COUNT);

  constructor(records: BlockRecords) {
    this.#records = records;
  }

  // Read-only views for the checker (tlsf-verify.ts).
  get flBitmap(): number { return this.#flBitmap; }
  get slBitmap(): Int32Array { return this.#slBitmap; }
  get heads(): Int32Array { return this.#heads; }
  get blocks(): number { return this.#blocks; }
  get largestOf(): Float64Array { return this.#largestOf; }
  get stale(): Uint8Array { return this.#stale; }

  /** Pushes a free block of `size` bytes on the list of that size and marks the list non-empty. */
  link(block: number, size: number): void {
    const records = this.#records;
    const list = listOf(size);
    const head = this.#heads[list]!;
    records.nextFree[block] = head;
    records.prevFree[block] = NONE;
    if (head !== NONE) {
      records.prevFree[head] = block;
      if (size > this.#largestOf[list]!) this.#largestOf[list] = size;
    } else {
      this.#largestOf[list] = size;
      this.#stale[list] = 0;
    }
    this.#heads[list] = block;
    const fl = list >>> SL_BITS;
    this.#slBitmap[fl]! |= 1 << (list & SL_MASK);
    this.#flBitmap |= 1 << fl;
    this.#blocks++;
  }

  /** Takes a free block off its list: `size` is the size it was linked with, and still has. */
  unlink(block: number, size: number): void {
    const records = this.#records;
    if (DEBUG) checkListed(this, records, block, size);
    this.#blocks--;
    const list = listOf(size);
    // Its list's largest may be gone: found again when asked (a larger one cannot be known).
    if (size >= this.#largestOf[list]!) this.#stale[list] = 1;
    const prev = records.prevFree[block]!;
    const next = records.nextFree[block]!;
    if (next !== NONE) records.prevFree[next] = prev;
    if (prev !== NONE) {
      records.nextFree[prev] = next;
      return;
    }
    this.#heads[list] = next;
    if (next !== NONE) return;
    const fl = list >>> SL_BITS;
    const slMap = this.#slBitmap[fl]! & ~(1 << (list & SL_MASK));
    this.#slBitmap[fl] = slMap;
    if (slMap === 0) this.#flBitmap &= ~(1 << fl);
  }

  /**
   * Lists a block of `size` bytes that is leaving use (used, or the head of a run in a batch of
   * frees), merged first with its free physical neighbours: the merged block keeps the lowest id,
   * and the ids of the neighbours it absorbed are recycled. Post: no two free blocks are adjacent.
   */
  linkMerged(block: number, size: number): void {
    const records = this.#records;
    let merged = block;
    let mergedSize = size;
    const left = records.prevPhys[block]!;
    if (left !== NONE && records.stateOf(left) === FREE) {
      const leftSize = records.offsetOf(block) - records.offsetOf(left);
      this.unlink(left, leftSize);
      records.absorbNext(left);
      merged = left;
      mergedSize += leftSize;
    }
    const right = records.nextPhys[merged]!;
    if (right !== NONE && records.stateOf(right) === FREE) {
      const rightSize = records.sizeOf(right);
      this.unlink(right, rightSize);
      records.absorbNext(merged);
      mergedSize += rightSize;
    }
    records.setState(merged, FREE);
    this.link(merged, mergedSize);
  }

  /** Head of the first non-empty list at or above listAtLeast(wanted): every block there fits. */
  goodFit(wanted: number): number {
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
  anyFit(need: number, alignment: number): number {
    const records = this.#records;
    const list = listOf(need);
    let fl = list >>> SL_BITS;
    let slMap = this.#slBitmap[fl]! & (~0 << (list & SL_MASK));
    for (;;) {
      // Invariant: every list below (fl, lowest bit of slMap) holds no block that fits.
      while (slMap !== 0) {
        const sl = lowestBit(slMap);
        slMap &= slMap - 1;
        for (let b = this.#heads[(fl << SL_BITS) | sl]!; b !== NONE; b = records.nextFree[b]!) {
          const offset = records.offsetOf(b);
          if (offset + (-offset & (alignment - 1)) + need <= offset + records.sizeOf(b)) return b;
        }
      }
      const flMap = fl + 1 < FL_COUNT ? this.#flBitmap & (~0 << (fl + 1)) : 0;
      if (flMap === 0) return NONE;
      fl = lowestBit(flMap);
      slMap = this.#slBitmap[fl]!;
    }
  }

  /** Size of the largest free block: it is in the highest non-empty list (scanned only when stale). */
  largest(): number {
    if (this.#flBitmap === 0) return 0;
    const fl = 31 - Math.clz32(this.#flBitmap);
    const list = (fl << SL_BITS) | (31 - Math.clz32(this.#slBitmap[fl]!));
    if (this.#stale[list] === 1) {
      const records = this.#records;
      let largest = 0;
      for (let b = this.#heads[list]!; b !== NONE; b = records.nextFree[b]!) largest = Math.max(largest, records.sizeOf(b));
      this.#largestOf[list] = largest;
      this.#stale[list] = 0;
    }
    return this.#largestOf[list]!;
  }
}

// The debug-only check (DEBUG) of unlink, kept out of line: V8 counts a function's bytecode
// against its inlining budget even where DEBUG is false, and unlink is inlined into every
// operation. link has none: a block listed by a size not its own is in the wrong list, which
// verify() reports (the property tests run it after every step).

/** A block to unlink is free, is `size` bytes, and heads its list when nothing precedes it there. */
function checkListed(lists: FreeLists, records: BlockRecords, block: number, size: number): void {
  assert(records.stateOf(block) === FREE, `block ${block} must be free to be unlinked`);
  assert(records.sizeOf(block) === size,
    `block ${block} is ${records.sizeOf(block)} bytes, not the ${size} it is unlinked by`);
  assert(records.prevFree[block] !== NONE || lists.heads[listOf(size)] === block,
    `block ${block} without a previous free block must head its list`);
}
