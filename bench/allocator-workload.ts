// The allocator workload that bench/allocator.bench.ts and bench/allocator-peers.bench.ts both
// run, so that their figures are of the same work: mixed sizes (16..256 bytes from a fixed
// xorshift sequence, align 16 like a function body) through a ring of RING blocks, each step
// freeing the oldest block and allocating a new one, with `live` blocks already in use, each
// followed by a hole, so the free lists hold `live` fragments and not one big tail.
//
// One benchmark iteration turns the ring once (RING steps), so that mitata times microseconds, not
// the nanoseconds where its own per-sample overhead would dominate; figures are divided by RING.

import { do_not_optimize } from 'mitata';
import { BlockAllocator } from '../src/heap/tlsf.js';

export const RING = 64;
export const SEQUENCE_LENGTH = 4096;
export const ALIGN = 16;
export const MAX_SIZE = 256;

/** 16..256 bytes from a fixed xorshift sequence: the same sizes for every contender. */
export function sizeSequence(): Int32Array {
  const sizes = new Int32Array(SEQUENCE_LENGTH);
  let state = 0x2545f491;
  for (let i = 0; i < sizes.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    sizes[i] = 16 + ((state >>> 0) % 241);
  }
  return sizes;
}

/** `live` used blocks, each followed by a hole, then a full ring; returns the ring. */
export function prepareRing(allocate: (size: number) => number, free: (block: number) => void, live: number, sizes: Int32Array): Int32Array {
  const setUp: number[] = [];
  for (let i = 0; i < 2 * live; i++) setUp.push(allocate(sizes[i % SEQUENCE_LENGTH]!));
  // Highest address first: MemPool keeps its free list sorted by address, so each hole goes to the head.
  for (let i = 2 * live - 1; i >= 1; i -= 2) free(setUp[i]!);
  const ring = new Int32Array(RING);
  for (let i = 0; i < RING; i++) ring[i] = allocate(sizes[i]!);
  if (setUp.includes(-1) || ring.includes(-1)) throw new Error('the set-up ran out of memory');
  return ring;
}

/** codeheap's block allocator with `live` blocks set up, and one turn of its ring. */
export function tlsfWorkload(live: number, sizes: Int32Array): { allocator: BlockAllocator; ring: Int32Array; turn: () => void } {
  // Room for the 2 * live set-up blocks and the ring, with every block at its largest.
  const needed = (2 * live + 2 * RING) * (MAX_SIZE + ALIGN);
  const allocator = new BlockAllocator(2 ** Math.ceil(Math.log2(needed)));
  const ring = prepareRing((size) => allocator.allocate(size, ALIGN), (block) => allocator.free(block), live, sizes);
  let step = 0;
  const turn = (): void => {
    for (let slot = 0; slot < RING; slot++) {
      allocator.free(ring[slot]!);
      ring[slot] = allocator.allocate(sizes[step++ & (SEQUENCE_LENGTH - 1)]!, ALIGN);
    }
    do_not_optimize(ring);
  };
  return { allocator, ring, turn };
}

/** One turn of aligned bump allocation over the same sizes, wrapping around instead of freeing. */
export function bumpTurn(sizes: Int32Array): () => void {
  const capacity = 1 << 24;
  let top = 0;
  let step = 0;
  return () => {
    let offset = 0;
    for (let i = 0; i < RING; i++) {
      offset = (top + ALIGN - 1) & -ALIGN;
      top = offset + sizes[step++ & (SEQUENCE_LENGTH - 1)]!;
      if (top > capacity) top = 0;
    }
    do_not_optimize(offset);
  };
}
