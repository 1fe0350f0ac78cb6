// Model-based suite for the block allocator (src/heap/tlsf.ts).
//
// The model is deliberately naive: the live blocks as a plain array of [offset, size] intervals,
// and the free space as the gaps between them, recomputed from scratch after every step by
// sorting. It knows nothing of size classes, bitmaps or block ids, so it cannot share a bug with
// the allocator. Because free blocks are always coalesced, every maximal gap of the model must be
// exactly one free block of the allocator; that is what lets the model check freeBlocks and
// largestFree, and not only the byte counts.

import { test, fc } from '@fast-check/vitest';
import { expect } from 'vitest';
import { BlockAllocator } from '../../src/heap/tlsf.js';

interface Interval {
  readonly id: number;
  readonly offset: number;
  readonly size: number;
}

type Step =
  | { readonly kind: 'allocate'; readonly size: number; readonly align: number }
  | { readonly kind: 'free'; readonly pick: number }
  | { readonly kind: 'shrink'; readonly pick: number; readonly keep: number | 'whole' }
  | { readonly kind: 'freeBatch'; readonly picks: readonly number[]; readonly inPlacementOrder: boolean };

/** The free gaps between live intervals, in address order. */
function gapsOf(capacity: number, live: readonly Interval[]): [number, number][] {
  const sorted = [...live].sort((a, b) => a.offset - b.offset);
  const gaps: [number, number][] = [];
  let cursor = 0;
  for (const block of sorted) {
    if (block.offset > cursor) gaps.push([cursor, block.offset]);
    cursor = block.offset + block.size;
  }
  if (capacity > cursor) gaps.push([cursor, capacity]);
  return gaps;
}

/** Whether some gap holds `size` bytes (at least one) starting at a multiple of `align`. */
function someGapHolds(gaps: readonly [number, number][], size: number, align: number): boolean {
  return gaps.some(([start, end]) => Math.ceil(start / align) * align + Math.max(size, 1) <= end);
}

/** The size the allocator promises to reserve: at least one granule, rounded up to 8 bytes. */
function reservedSize(size: number): number {
  return Math.max(8, Math.ceil(size / 8) * 8);
}

/** The figures of the allocator agree with the model, and verify() finds nothing. */
function expectAgreement(allocator: BlockAllocator, live: readonly Interval[]): void {
  expect(allocator.verify()).toEqual([]);
  const gaps = gapsOf(allocator.capacity, live);
  const usedBytes = live.reduce((sum, block) => sum + block.size, 0);
  expect(allocator.usedBytes).toBe(usedBytes);
  expect(allocator.freeBytes).toBe(allocator.capacity - usedBytes);
  expect(allocator.usedBlocks).toBe(live.length);
  expect(allocator.freeBlocks).toBe(gaps.length);
  expect(allocator.largestFree()).toBe(Math.max(0, ...gaps.map(([start, end]) => end - start)));
  expect(allocator.metadataBytes()).toBe(
    (live.length + gaps.length) * allocator.metadataBytesPerBlock(),
  );
  // Every id that names a block is below idLimit, the used ones and the free gaps' alike.
  expect(allocator.idLimit).toBeGreaterThanOrEqual(live.length + gaps.length);
  for (const block of live) {
    expect(block.id).toBeLessThan(allocator.idLimit);
    expect(allocator.isUsed(block.id)).toBe(true);
    expect(allocator.offsetOf(block.id)).toBe(block.offset);
    expect(allocator.sizeOf(block.id)).toBe(block.size);
  }
}

const capacityArb = fc.oneof(
  fc.constantFrom(0, 8, 4096, 65536, 2 ** 31),
  fc.integer({ min: 1, max: 4096 }).map((granules) => granules * 8),
);
// Sizes near a power of two land in the same size class as slightly smaller free blocks: the case
// where good-fit must round the request up to the next class (and the exact-failure scan must not).
const nearPowerOfTwoArb = fc
  .integer({ min: 7, max: 12 })
  .chain((log2) => fc.integer({ min: 2 ** log2 - 80, max: 2 ** log2 + 80 }));
const sizeArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5000 }) },
  { weight: 6, arbitrary: nearPowerOfTwoArb },
  { weight: 1, arbitrary: fc.integer({ min: 5001, max: 2 ** 31 + 64 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 8, 4096, 65536) },
);
const alignArb = fc.integer({ min: 0, max: 12 }).map((log2) => 2 ** log2);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('allocate'), size: sizeArb, align: alignArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('free'), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('shrink'), pick: fc.nat(), keep: fc.oneof(fc.nat(), fc.constant('whole' as const)) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('freeBatch'), picks: fc.array(fc.nat(), { maxLength: 12 }), inPlacementOrder: fc.boolean() }),
  },
);

/** Runs the steps against allocator and model, checking every law after each one. */
function runSteps(allocator: BlockAllocator, live: Interval[], steps: readonly Step[]): void {
  const capacity = allocator.capacity;
  expectAgreement(allocator, live);
  for (const step of steps) {
    if (step.kind === 'free') {
      if (live.length === 0) continue;
      const [gone] = live.splice(step.pick % live.length, 1);
      allocator.free(gone!.id);
      expect(allocator.isUsed(gone!.id)).toBe(false);
    } else if (step.kind === 'shrink') {
      // The block keeps its id and offset and the rounded size asked for; the tail joins the gap
      // after it (the model's gaps are maximal, so a merge with a free neighbour is checked too).
      if (live.length === 0) continue;
      const index = step.pick % live.length;
      const block = live[index]!;
      const size = step.keep === 'whole' ? block.size : step.keep % (block.size + 1);
      allocator.shrink(block.id, size);
      live[index] = { ...block, size: reservedSize(size) };
    } else if (step.kind === 'freeBatch') {
      // A batch in any order, neighbours or not: the same result as freeing them one by one. In
      // placement order (as a module's code is freed) neighbours and the gaps between them form runs.
      const batch: Interval[] = [];
      for (const pick of step.picks) {
        if (live.length === 0) break;
        batch.push(...live.splice(pick % live.length, 1));
      }
      if (step.inPlacementOrder) batch.sort((x, y) => x.offset - y.offset);
      for (const block of batch) allocator.freeInBatch(block.id);
      const freed = allocator.finishBatch();
      expect(freed).toBe(batch.reduce((sum, block) => sum + block.size, 0));
      for (const block of batch) expect(allocator.isUsed(block.id)).toBe(false);
    } else {
      const holds = someGapHolds(gapsOf(capacity, live), step.size, step.align);
      const id = allocator.allocate(step.size, step.align);
      // Exact failure: -1 exactly when no gap can hold the request at its alignment.
      expect(id === -1).toBe(!holds);
      if (id !== -1) {
        const block = { id, offset: allocator.offsetOf(id), size: allocator.sizeOf(id) };
        expect(live.some((other) => other.id === id)).toBe(false);
        expect(block.offset % step.align).toBe(0);
        expect(block.size).toBeGreaterThanOrEqual(step.size);
        expect(block.size).toBe(reservedSize(step.size));
        expect(block.offset + block.size).toBeLessThanOrEqual(capacity);
        for (const other of live) {
          const apart = block.offset + block.size <= other.offset
            || other.offset + other.size <= block.offset;
          expect(apart).toBe(true);
        }
        live.push(block);
      }
    }
    expectAgreement(allocator, live);
  }
}

/** Frees everything, from both ends of the model's list: the whole capacity is one block again. */
function expectFreeingAllLeavesOneBlock(allocator: BlockAllocator, live: Interval[]): void {
  while (live.length > 0) {
    const gone = live.length % 2 === 0 ? live.shift() : live.pop();
    allocator.free(gone!.id);
    expectAgreement(allocator, live);
  }
  expect(allocator.freeBlocks).toBe(allocator.capacity === 0 ? 0 : 1);
  expect(allocator.largestFree()).toBe(allocator.capacity);
  expect(allocator.usedBytes).toBe(0);
}

test.prop([capacityArb, fc.array(stepArb, { maxLength: 150 })], { numRuns: 300 })(
  'allocate/free/shrink agree with a naive interval model: no overlap, aligned, exact failure, coalesced',
  (capacity, steps) => {
    const allocator = new BlockAllocator(capacity);
    const live: Interval[] = [];
    runSteps(allocator, live, steps);
    expectFreeingAllLeavesOneBlock(allocator, live);
  },
);

// Starting from an arena filled exactly, so that after a few frees every free byte is a hole
// between used blocks: requests then meet free blocks of their own size class that are slightly
// too small, the case where good-fit must round up and the exact-failure scan must look further.
test.prop(
  [fc.array(nearPowerOfTwoArb, { minLength: 1, maxLength: 40 }), fc.array(stepArb, { maxLength: 100 })],
  { numRuns: 300 },
)('holes left between used blocks are found again exactly when a request fits one', (fill, steps) => {
  const capacity = fill.reduce((sum, size) => sum + reservedSize(size), 0);
  const allocator = new BlockAllocator(capacity);
  const live: Interval[] = [];
  runSteps(allocator, live, fill.map((size) => ({ kind: 'allocate', size, align: 1 })));
  expect(allocator.freeBytes).toBe(0);
  runSteps(allocator, live, steps);
  expectFreeingAllLeavesOneBlock(allocator, live);
});
