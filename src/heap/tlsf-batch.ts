// Frees in a batch: the blocks of a module, freed in the order they were placed, are merged into
// one block as runs of physical neighbours, with one list insertion per run instead of two merges
// per block.
//
// Paper: TLSF (Masmano et al., ECRTS 2004) frees one block at a time, merging it at once with its
// free neighbours (section 3). Departure from the paper: a batch defers that merge while each
// block freed is the right physical neighbour of the one before, because the collector frees a
// module's code so, and its blocks were placed side by side. The result is the same as freeing
// them one by one: every run is merged with its free neighbours when it closes.
//
// The bytes freed are counted a run at a time, as the run's size less the free gaps it absorbed,
// so no block's size is read as it is passed; the allocator takes the tally when it settles
// (BlockAllocator.finishBatch, or a refusal).

import * as base from '../base.js';
import * as layout from './tlsf-layout.js';
import type { FreeLists } from './tlsf-lists.js';
import type { BlockRecords } from './tlsf-records.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FREE, PENDING } = layout;
const { NONE } = base;

export class FreeBatch {
  readonly #records: BlockRecords;
  readonly #lists: FreeLists;
  // The open run: its first and its last block, or NONE for both when no run is open.
  // Invariant: the head is PENDING; every id after it up to the tail, through nextPhys, is
  // RECYCLED (a block absorbed as it was passed, or a free gap between two of them); the physical
  // links are those of the blocks before the batch, so the run's extent is [head, end of tail).
  #runHead = NONE;
  #runTail = NONE;
  /** Bytes of the free gaps the open run absorbed: they were counted free already. */
  #runGapBytes = 0;
  /** Bytes that were used, in the runs this batch has closed; the first `settled` are counted. */
  #freed = 0;
  #settled = 0;

  constructor(records: BlockRecords, lists: FreeLists) {
    this.#records = records;
    this.#lists = lists;
  }

  /**
   * Frees a used block, O(1). It joins the open run when it is the run's right physical neighbour,
   * or lies just past a free gap there (the padding alignment leaves between code blocks), which
   * the run absorbs. Otherwise the run is closed and a new one starts at this block.
   * Pre: `block` is used.
   */
  add(block: number): void {
    const records = this.#records;
    const tail = this.#runTail;
    if (tail !== NONE) {
      let left = records.prevPhys[block]!;
      if (left !== tail && left !== NONE && records.stateOf(left) === FREE && records.prevPhys[left] === tail) {
        // A free gap between the run and the block: the run absorbs it.
        const gap = records.sizeOf(left);
        this.#lists.unlink(left, gap);
        this.#runGapBytes += gap;
        records.markAbsorbed(left);
        left = tail;
      }
      if (left === tail) {
        // Absorbed as it is passed: its id joins the recycled stack with the run's when it closes.
        records.markAbsorbed(block);
        this.#runTail = block;
        return;
      }
    }
    this.#startRun(block);
  }

  /** Closes the open run, if any, and opens one at `block`. */
  #startRun(block: number): void {
    this.#closeRun();
    this.#records.setState(block, PENDING);
    this.#runHead = block;
    this.#runTail = block;
    this.#runGapBytes = 0;
  }

  /** Closes the open run, if any. Returns the bytes freed since the last settle, for the counts. */
  settle(): number {
    this.#closeRun();
    const unsettled = this.#freed - this.#settled;
    this.#settled = this.#freed;
    return unsettled;
  }

  /** Ends the batch. Returns the bytes it freed. Pre: settled since its last add. */
  finish(): number {
    const freed = this.#freed;
    this.#freed = 0;
    this.#settled = 0;
    return freed;
  }

  /** Merges the open run into its head and lists it with its free neighbours; no run is open after. */
  #closeRun(): void {
    const head = this.#runHead;
    if (head === NONE) return;
    const records = this.#records;
    const tail = this.#runTail;
    if (tail !== head) records.absorbThrough(head, tail);
    const size = records.sizeOf(head);
    this.#freed += size - this.#runGapBytes;
    this.#lists.linkMerged(head, size);
    this.#runHead = NONE;
    this.#runTail = NONE;
  }
}
