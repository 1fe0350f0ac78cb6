// The checker of the block allocator: every invariant that the allocator (tlsf.ts, and the
// records, lists and batch it is built of) relies on, read back from the records and reported as
// sentences.
//
// Paper: TLSF (Masmano et al., ECRTS 2004) gives no checker; these are the invariants its
// operations assume (section 3: blocks tile the pool, free neighbours are merged, each free block
// sits in the list its size maps to, and the bitmaps mirror the lists).
//
// Departure from the usual boundary-tag checker: a block's size is the distance to its physical
// successor, so a gap between neighbours cannot be written down. Tiling therefore reduces to: the
// walk from id 0 starts at offset 0, offsets strictly increase, and the last block starts below
// capacity. Every walk is a loop bounded by the number of issued ids, so a corrupt link that
// forms a cycle is reported, not followed forever.

import { hex } from '../errors.js';
import { listOf } from './tlsf-layout.js';
import * as base from '../base.js';
import * as layout from './tlsf-layout.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { FL_COUNT, FREE, RECYCLED, SL_BITS, SL_COUNT, SL_MASK, STATE_MASK, USED } = layout;

/** A read-only view of the allocator's records and counters (see tlsf-layout.ts). */
export interface AllocatorState {
  readonly capacity: number;
  readonly highWater: number;
  readonly recycled: number;
  readonly offsetState: Int32Array;
  readonly prevPhys: Int32Array;
  readonly nextPhys: Int32Array;
  readonly nextFree: Int32Array;
  readonly prevFree: Int32Array;
  readonly flBitmap: number;
  readonly slBitmap: Int32Array;
  readonly heads: Int32Array;
  /** Each list's largest block size, where stale is 0 (FreeLists.largest's cache). */
  readonly largestOf: Float64Array;
  readonly stale: Uint8Array;
  readonly usedBytes: number;
  readonly freeBytes: number;
  readonly usedBlocks: number;
  readonly freeBlocks: number;
}

// Where the checker has met each id: the physical list, the recycled stack, or nowhere yet.
const UNSEEN = 0;
const ON_PHYSICAL_LIST = 1;
const ON_RECYCLED_STACK = 2;

export function verifyAllocator(s: AllocatorState): string[] {
  const problems: string[] = [];
  const seen = new Uint8Array(s.highWater);
  checkPhysicalList(s, seen, problems);
  checkRecycledIds(s, seen, problems);
  checkFreeLists(s, seen, problems);
  return problems;
}

const stateOf = (s: AllocatorState, id: number): number => s.offsetState[id]! & STATE_MASK;
const offsetOf = (s: AllocatorState, id: number): number => s.offsetState[id]! & ~STATE_MASK;
const issued = (s: AllocatorState, id: number): boolean => id >= 0 && id < s.highWater;
const listName = (list: number): string => `(${list >>> SL_BITS}, ${list & SL_MASK})`;

/** Tiling, physical links, coalescing, and the four counters. */
function checkPhysicalList(s: AllocatorState, seen: Uint8Array, problems: string[]): void {
  let usedBytes = 0;
  let freeBytes = 0;
  let usedBlocks = 0;
  let freeBlocks = 0;
  let prev = NONE;
  let block = s.capacity === 0 ? NONE : 0;
  // Invariant: every block before `block` tiles [0, offset of block) and was counted.
  while (block !== NONE) {
    if (!issued(s, block)) {
      problems.push(`block ${prev} links to next physical block ${block}, which was never issued`);
      return;
    }
    if (seen[block] !== UNSEEN) {
      problems.push(`the physical list loops: block ${prev} links back to block ${block}`);
      return;
    }
    seen[block] = ON_PHYSICAL_LIST;
    const offset = offsetOf(s, block);
    const state = stateOf(s, block);
    if (prev === NONE && offset !== 0) {
      problems.push(
        `the first block ${block} starts at ${hex(offset)}, leaving [0, ${hex(offset)}) to no block`,
      );
    }
    if (prev !== NONE && offset <= offsetOf(s, prev)) {
      problems.push(`block ${block} at ${hex(offset)} does not start after block ${prev} at `
        + `${hex(offsetOf(s, prev))}: they overlap`);
    }
    if (s.prevPhys[block] !== prev) {
      problems.push(`block ${block} names ${s.prevPhys[block]} as its previous physical block, `
        + `but it follows block ${prev}`);
    }
    if (state !== USED && state !== FREE) {
      problems.push(`block ${block} at ${hex(offset)} is on the physical list but is neither used `
        + `nor free (state ${state})`);
    }
    if (state === FREE && prev !== NONE && stateOf(s, prev) === FREE) {
      problems.push(`free blocks ${prev} and ${block} are adjacent: they were not coalesced`);
    }
    const next = s.nextPhys[block]!;
    const end = next === NONE ? s.capacity : issued(s, next) ? offsetOf(s, next) : offset;
    if (next === NONE && offset >= s.capacity) {
      problems.push(
        `the last block ${block} starts at ${hex(offset)}, not below capacity ${hex(s.capacity)}`,
      );
    }
    if (state === USED) {
      usedBytes += end - offset;
      usedBlocks += 1;
    } else if (state === FREE) {
      freeBytes += end - offset;
      freeBlocks += 1;
    }
    prev = block;
    block = next;
  }
  const counters: [string, number, number][] = [
    ['usedBytes', s.usedBytes, usedBytes], ['freeBytes', s.freeBytes, freeBytes],
    ['usedBlocks', s.usedBlocks, usedBlocks], ['freeBlocks', s.freeBlocks, freeBlocks],
  ];
  for (const [name, kept, counted] of counters) {
    if (kept !== counted) problems.push(`${name} is ${kept} but the blocks add up to ${counted}`);
  }
  if (s.usedBytes + s.freeBytes !== s.capacity) {
    problems.push(
      `usedBytes ${s.usedBytes} + freeBytes ${s.freeBytes} is not the capacity ${s.capacity}`,
    );
  }
}

/** Every issued id is either a block on the physical list or on the recycled stack, once. */
function checkRecycledIds(s: AllocatorState, seen: Uint8Array, problems: string[]): void {
  let prev = NONE;
  for (let id = s.recycled; id !== NONE; id = s.nextPhys[id]!) {
    if (!issued(s, id)) {
      problems.push(`the recycled stack holds ${id} (after ${prev}), which was never issued`);
      break;
    }
    if (seen[id] !== UNSEEN) {
      problems.push(seen[id] === ON_PHYSICAL_LIST
        ? `recycled id ${id} is also a block on the physical list`
        : `the recycled stack loops back to id ${id}`);
      break;
    }
    seen[id] = ON_RECYCLED_STACK;
    if (stateOf(s, id) !== RECYCLED) {
      problems.push(`recycled id ${id} still has state ${stateOf(s, id)}`);
    }
    prev = id;
  }
  for (let id = 0; id < s.highWater; id++) {
    if (seen[id] === UNSEEN) {
      problems.push(`id ${id} is neither a block on the physical list nor recycled: it leaked`);
    }
  }
}

/** Each free block is in exactly the list its size maps to; the bitmaps mirror the lists. */
function checkFreeLists(s: AllocatorState, seen: Uint8Array, problems: string[]): void {
  const listed = new Uint8Array(s.highWater);
  for (let list = 0; list < FL_COUNT * SL_COUNT; list++) {
    const head = s.heads[list]!;
    const fl = list >>> SL_BITS;
    const bit = (s.slBitmap[fl]! >>> (list & SL_MASK)) & 1;
    if ((head !== NONE) !== (bit === 1)) {
      const contents = head === NONE ? 'empty' : 'non-empty';
      problems.push(`free list ${listName(list)} is ${contents} but its bitmap bit is ${bit}`);
    }
    let prev = NONE;
    let largest = 0;
    for (let block = head; block !== NONE; block = s.nextFree[block]!) {
      if (!issued(s, block) || seen[block] !== ON_PHYSICAL_LIST) {
        problems.push(
          `free list ${listName(list)} holds ${block}, which is not a block on the physical list`,
        );
        break;
      }
      if (listed[block] === 1) {
        problems.push(
          `block ${block} is in more than one free list, or twice in list ${listName(list)}`,
        );
        break;
      }
      listed[block] = 1;
      if (stateOf(s, block) !== FREE) {
        problems.push(`block ${block} is in free list ${listName(list)} but is not free`);
      }
      if (s.prevFree[block] !== prev) {
        problems.push(`block ${block} in free list ${listName(list)} names ${s.prevFree[block]} `
          + `as previous, but follows ${prev}`);
      }
      const next = s.nextPhys[block]!;
      const size = (next === NONE ? s.capacity : offsetOf(s, next)) - offsetOf(s, block);
      if (listOf(size) !== list) {
        problems.push(`block ${block} of ${size} bytes is in free list ${listName(list)} but `
          + `belongs in ${listName(listOf(size))}`);
      }
      largest = Math.max(largest, size);
      prev = block;
    }
    if (head !== NONE && s.stale[list] === 0 && s.largestOf[list] !== largest) {
      problems.push(`free list ${listName(list)} keeps ${s.largestOf[list]} as its largest block, but its largest is ${largest}`);
    }
  }
  for (let fl = 0; fl < FL_COUNT; fl++) {
    const bit = (s.flBitmap >>> fl) & 1;
    if ((s.slBitmap[fl] !== 0) !== (bit === 1)) {
      problems.push(`first level ${fl} has second-level bitmap ${hex(s.slBitmap[fl]!)} but its `
        + `first-level bit is ${bit}`);
    }
    if (s.slBitmap[fl]! >>> SL_COUNT !== 0) {
      problems.push(`second-level bitmap ${fl} has bits beyond its ${SL_COUNT} lists`);
    }
  }
  if (s.flBitmap >>> FL_COUNT !== 0) {
    problems.push(
      `the first-level bitmap ${hex(s.flBitmap >>> 0)} has bits beyond its ${FL_COUNT} levels`,
    );
  }
  for (let id = 0; id < s.highWater; id++) {
    if (seen[id] === ON_PHYSICAL_LIST && stateOf(s, id) === FREE && listed[id] === 0) {
      problems.push(`free block ${id} at ${hex(offsetOf(s, id))} is in no free list`);
    }
  }
}
