// The block records of the allocator: one record per block id in typed arrays, the links between
// physical neighbours, split and merge on those links, and the stack of ids to reuse.
//
// Paper: M. Masmano et al., "TLSF: a New Dynamic Memory Allocator for Real-Time Systems",
// ECRTS 2004, section 3: each block starts with a header holding its size and a pointer to the
// block physically before it (a boundary tag), which is what splitting and immediate coalescing
// read and rewrite.
//
// Departures from the paper:
// - No headers or boundary tags in the managed bytes: the arenas hold only code and data. Block
//   records live in typed arrays indexed by a block id, and physical neighbours are linked by id,
//   because the left neighbour of a block cannot be found from its bytes.
// - A block's size is not stored: it is the distance to the next block (or to capacity), which
//   keeps the record at 20 bytes and makes a gap between neighbours unrepresentable.
// - Ids are reused through a stack linked by nextPhys, so churn never grows the arrays beyond the
//   most blocks alive at once.
//
// The record is drawn in tlsf-layout.ts; the free-list fields are used by tlsf-lists.ts.

import { grown } from '../base.js';
import * as base from '../base.js';
import { assert } from './tlsf-layout.js';
import * as layout from './tlsf-layout.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { DEBUG, INITIAL_IDS, RECYCLED, STATE_MASK, USED } = layout;
const { NONE } = base;

// Invariants (verify() checks each): the blocks reached from id 0 through nextPhys start at
// offset 0, in increasing offsets below capacity, so they tile [0, capacity); prevPhys is the
// reverse of nextPhys; every other issued id is on the recycled stack, once, as RECYCLED.
export class BlockRecords {
  /** The end of the managed offsets: the last block ends there. */
  readonly capacity: number;
  // The fields of the records, one element per id. Growth replaces the arrays: read them from
  // here after any newId, never from a copy kept across it.
  offsetState = new Int32Array(INITIAL_IDS);
  prevPhys = new Int32Array(INITIAL_IDS);
  nextPhys = new Int32Array(INITIAL_IDS);
  nextFree = new Int32Array(INITIAL_IDS);
  prevFree = new Int32Array(INITIAL_IDS);
  /** Ids below this have been handed out at least once; ids at or above it never were. */
  highWater = 0;
  /** Top of the recycled-id stack, linked through nextPhys; NONE when it is empty. */
  recycled = NONE;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  // The accessors take a live id and do not check it: they are the innermost code of every
  // operation, and small enough for V8 to inline wherever they are called. The allocator checks the
  // ids a caller passes in (DEBUG); everything else reads ids from the records themselves.

  offsetOf(block: number): number {
    return this.offsetState[block]! & ~STATE_MASK;
  }

  /** The distance to the next block, or to capacity. */
  sizeOf(block: number): number {
    const next = this.nextPhys[block]!;
    return (next === NONE ? this.capacity : this.offsetOf(next)) - this.offsetOf(block);
  }

  stateOf(block: number): number {
    return this.offsetState[block]! & STATE_MASK;
  }

  setState(block: number, state: number): void {
    this.offsetState[block] = (this.offsetState[block]! & ~STATE_MASK) | state;
  }

  /** Writes the whole packed word, when the caller has the offset at hand. */
  setOffsetState(block: number, offset: number, state: number): void {
    this.offsetState[block] = offset | state;
  }

  /**
   * The id no longer names a block: its bytes belong to the block before it, and it joins the
   * recycled stack when the two are merged (absorbNext, absorbThrough).
   */
  markAbsorbed(block: number): void {
    this.offsetState[block] = RECYCLED;
  }

  /** True for an issued id that names a block (any state but RECYCLED). */
  isLive(block: number): boolean {
    return block >= 0 && block < this.highWater && this.stateOf(block) !== RECYCLED;
  }

  /** True for an allocated id; false for a free, recycled or never-issued id. */
  isUsed(block: number): boolean {
    return block >= 0 && block < this.highWater && this.stateOf(block) === USED;
  }

  /** A recycled id if there is one, else a fresh one; its record is set to offset and state. */
  newId(offset: number, state: number): number {
    let id = this.recycled;
    if (id !== NONE) {
      this.recycled = this.nextPhys[id]!;
    } else {
      if (this.highWater === this.offsetState.length) this.#grow();
      id = this.highWater++;
    }
    this.offsetState[id] = offset | state;
    return id;
  }

  /** Cuts `block` at `at`; the upper part gets a new id with `state` and is returned. */
  splitAt(block: number, at: number, state: number): number {
    const upper = this.newId(at, state);
    const next = this.nextPhys[block]!;
    this.prevPhys[upper] = block;
    this.nextPhys[upper] = next;
    if (next !== NONE) this.prevPhys[next] = upper;
    this.nextPhys[block] = upper;
    return upper;
  }

  /**
   * Moves the start of `block` to `at`, which lies inside its left neighbour or its own first
   * bytes: the neighbour grows or shrinks by the difference, and no gap can open between them.
   */
  moveStart(block: number, at: number): void {
    if (DEBUG) {
      const left = this.prevPhys[block]!;
      assert(left !== NONE && this.offsetOf(left) < at && at < this.offsetOf(block) + this.sizeOf(block),
        `block ${block} cannot start at ${at}: it must stay above its left neighbour and non-empty`);
    }
    this.setOffsetState(block, at, this.stateOf(block));
  }

  /** Merges the next physical block into `block` and recycles its id. Pre: neither is listed. */
  absorbNext(block: number): void {
    const nextPhys = this.nextPhys;
    const gone = nextPhys[block]!;
    const after = nextPhys[gone]!;
    nextPhys[block] = after;
    if (after !== NONE) this.prevPhys[after] = block;
    this.markAbsorbed(gone);
    nextPhys[gone] = this.recycled;
    this.recycled = gone;
  }

  /**
   * Merges the blocks after `block` up to `last` into `block`, and pushes their ids on the
   * recycled stack as they are: they are chained through nextPhys already, so this is O(1).
   * Pre: `last` follows `block` physically; every id after `block` up to it is RECYCLED.
   */
  absorbThrough(block: number, last: number): void {
    const nextPhys = this.nextPhys;
    const first = nextPhys[block]!;
    const after = nextPhys[last]!;
    nextPhys[block] = after;
    if (after !== NONE) this.prevPhys[after] = block;
    nextPhys[last] = this.recycled;
    this.recycled = first;
  }

  /** Doubles every record array; amortised O(1) per id. */
  #grow(): void {
    const length = this.offsetState.length * 2;
    this.offsetState = grown(this.offsetState, length);
    this.prevPhys = grown(this.prevPhys, length);
    this.nextPhys = grown(this.nextPhys, length);
    this.nextFree = grown(this.nextFree, length);
    this.prevFree = grown(this.prevFree, length);
  }
}
