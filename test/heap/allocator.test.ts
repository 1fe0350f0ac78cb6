// Example tests for the block allocator (src/heap/tlsf.ts), each named after the law it checks.
// The model-based suite in test/property/allocator.property.test.ts checks the same laws on random
// sequences; these pin down the small cases a reader can follow by hand.

import { describe, expect, test } from 'vitest';
import { BlockAllocator, GRANULE } from '../../src/heap/tlsf.js';

/** An allocator of `count` blocks of `size` bytes that fill it exactly, and their ids. */
function filled(count: number, size: number): [BlockAllocator, number[]] {
  const allocator = new BlockAllocator(count * size);
  const ids = Array.from({ length: count }, () => allocator.allocate(size, GRANULE));
  expect(allocator.freeBytes).toBe(0);
  return [allocator, ids];
}

function expectSound(allocator: BlockAllocator): void {
  expect(allocator.verify()).toEqual([]);
}

describe('sizes', () => {
  test('size 0 reserves one granule', () => {
    const allocator = new BlockAllocator(64);
    const block = allocator.allocate(0, 1);
    expect(allocator.sizeOf(block)).toBe(GRANULE);
    expect(allocator.usedBytes).toBe(GRANULE);
    expectSound(allocator);
  });

  test('sizes round up to a multiple of the granule', () => {
    const allocator = new BlockAllocator(1024);
    expect(allocator.sizeOf(allocator.allocate(1, 1))).toBe(8);
    expect(allocator.sizeOf(allocator.allocate(9, 1))).toBe(16);
    expect(allocator.sizeOf(allocator.allocate(100, 8))).toBe(104);
    expectSound(allocator);
  });

  test('a fresh allocator is one free block of the whole capacity', () => {
    const allocator = new BlockAllocator(4096);
    expect([allocator.freeBlocks, allocator.largestFree(), allocator.usedBlocks]).toEqual([1, 4096, 0]);
    expectSound(allocator);
  });

  test('capacity 0 holds nothing, not even a zero-size request', () => {
    const allocator = new BlockAllocator(0);
    expect(allocator.allocate(0, 1)).toBe(-1);
    expect([allocator.freeBlocks, allocator.largestFree()]).toEqual([0, 0]);
    expectSound(allocator);
  });
});

describe('coalescing on free', () => {
  test('a freed block merges with a free left neighbour', () => {
    const [allocator, [a, b]] = filled(4, 16);
    allocator.free(a!);
    allocator.free(b!);
    expect([allocator.freeBlocks, allocator.largestFree()]).toEqual([1, 32]);
    expectSound(allocator);
  });

  test('a freed block merges with a free right neighbour', () => {
    const [allocator, [, b, c]] = filled(4, 16);
    allocator.free(c!);
    allocator.free(b!);
    expect([allocator.freeBlocks, allocator.largestFree()]).toEqual([1, 32]);
    expectSound(allocator);
  });

  test('a freed block merges with free neighbours on both sides into one block', () => {
    const [allocator, [a, b, c]] = filled(4, 16);
    allocator.free(a!);
    allocator.free(c!);
    expect(allocator.freeBlocks).toBe(2);
    allocator.free(b!);
    expect([allocator.freeBlocks, allocator.largestFree()]).toEqual([1, 48]);
    expectSound(allocator);
  });

  test('a freed block between used neighbours stays a block of its own', () => {
    const [allocator, [, b]] = filled(4, 16);
    allocator.free(b!);
    expect([allocator.freeBlocks, allocator.largestFree()]).toEqual([1, 16]);
    expectSound(allocator);
  });
});

/** Frees the blocks as one batch, in the order given; returns the bytes the batch freed. */
function freeBatch(allocator: BlockAllocator, blocks: readonly number[]): number {
  for (const block of blocks) allocator.freeInBatch(block);
  return allocator.finishBatch();
}

describe('freeing a batch (freeInBatch, finishBatch)', () => {
  test('neighbours freed in placement order merge into one run, with the free blocks around it', () => {
    const [allocator, [a, b, c, d, e, f]] = filled(7, 16);
    allocator.free(a!);
    expect(freeBatch(allocator, [b!, c!, d!])).toBe(48);
    expect([allocator.freeBlocks, allocator.largestFree(), allocator.usedBlocks]).toEqual([1, 64, 3]);
    expect(freeBatch(allocator, [f!])).toBe(16);
    expect([allocator.freeBlocks, allocator.usedBlocks]).toEqual([2, 2]);
    expect(allocator.isUsed(e!)).toBe(true);
    expectSound(allocator);
  });

  test('a free gap just past the run joins it; a gap past the last block merges when the run closes', () => {
    const [allocator, [a, b, c, d, e]] = filled(6, 16);
    allocator.free(b!);
    allocator.free(d!);
    expect(freeBatch(allocator, [a!, c!, e!])).toBe(48);
    expect([allocator.freeBlocks, allocator.largestFree(), allocator.usedBlocks]).toEqual([1, 80, 1]);
    expect([allocator.usedBytes, allocator.freeBytes]).toEqual([16, 80]);
    expectSound(allocator);
  });

  test('blocks out of order close runs, and each closed run still merges with its freed neighbours', () => {
    const [allocator, [a, b, c, d, e, f]] = filled(7, 16);
    // Runs: [c], [a b], [f], [e]; a b then merges with c, and e with f, as each run closes.
    expect(freeBatch(allocator, [c!, a!, b!, f!, e!])).toBe(80);
    expect([allocator.freeBlocks, allocator.usedBlocks, allocator.isUsed(d!)]).toEqual([2, 2, true]);
    expect([allocator.usedBytes, allocator.freeBytes]).toEqual([32, 80]);
    expectSound(allocator);
  });

  test('ids absorbed by a run are recycled, and the next batch counts its bytes from zero', () => {
    const [allocator, ids] = filled(8, 16);
    expect(freeBatch(allocator, ids)).toBe(128);
    expect([allocator.freeBlocks, allocator.usedBlocks, allocator.metadataBytes()]).toEqual([1, 0, allocator.metadataBytesPerBlock()]);
    const again = Array.from({ length: 8 }, () => allocator.allocate(16, GRANULE));
    expect(new Set(again).size).toBe(8);
    expect(Math.max(...again)).toBeLessThan(8);
    expect(freeBatch(allocator, again.slice(0, 2))).toBe(32);
    expectSound(allocator);
  });

  test('a block that is not used, or listed twice, is refused before it changes, and the batch stays sound', () => {
    const [allocator, [a, b, c, d]] = filled(4, 16);
    allocator.free(b!);
    expect(() => allocator.freeInBatch(b!)).toThrow(/block .* must be a used block/);
    allocator.freeInBatch(a!);
    expect(() => allocator.freeInBatch(a!)).toThrow(/listed once/); // the open run's head
    expectSound(allocator); // the refusal closed the run: a is freed, nothing is left half done
    allocator.freeInBatch(c!);
    allocator.freeInBatch(d!);
    expect(() => allocator.freeInBatch(d!)).toThrow(/listed once/); // absorbed by the run
    expectSound(allocator);
    expect(allocator.finishBatch()).toBe(48);
    expect(allocator.usedBlocks).toBe(0);
    expectSound(allocator);
  });
});

describe('shrinking a used block (shrink)', () => {
  test('the tail merges at once with a free right neighbour, which keeps its id', () => {
    const [allocator, [a, b, c, d]] = filled(4, 32);
    allocator.free(c!);
    allocator.shrink(b!, 8);
    expect([allocator.isUsed(b!), allocator.offsetOf(b!), allocator.sizeOf(b!)]).toEqual([true, 32, 8]);
    expect([allocator.freeBlocks, allocator.largestFree(), allocator.usedBlocks]).toEqual([1, 56, 3]);
    expect([allocator.usedBytes, allocator.freeBytes]).toEqual([72, 56]);
    expect(allocator.metadataBytes()).toBe(4 * allocator.metadataBytesPerBlock());
    expect([allocator.isUsed(a!), allocator.isUsed(d!)]).toEqual([true, true]);
    expectSound(allocator);
  });

  test('the tail before a used right neighbour becomes a free block of its own, and is usable', () => {
    const [allocator, [, b]] = filled(4, 32);
    allocator.shrink(b!, 10);
    expect([allocator.offsetOf(b!), allocator.sizeOf(b!)]).toEqual([32, 16]);
    expect([allocator.freeBlocks, allocator.largestFree(), allocator.usedBlocks]).toEqual([1, 16, 4]);
    expect([allocator.usedBytes, allocator.freeBytes]).toEqual([112, 16]);
    expectSound(allocator);
    expect(allocator.offsetOf(allocator.allocate(16, 16))).toBe(48);
    expect(allocator.freeBytes).toBe(0);
    expectSound(allocator);
  });

  test('the tail of the last block runs to the capacity', () => {
    const [allocator, [, b]] = filled(2, 64);
    allocator.shrink(b!, 0);
    expect([allocator.sizeOf(b!), allocator.freeBlocks, allocator.largestFree()]).toEqual([8, 1, 56]);
    expectSound(allocator);
  });

  test('a size that is, or rounds up to, the whole block changes nothing', () => {
    const allocator = new BlockAllocator(64);
    const block = allocator.allocate(24, 8);
    const before = [allocator.usedBytes, allocator.freeBlocks, allocator.largestFree(), allocator.idLimit];
    allocator.shrink(block, 24);
    allocator.shrink(block, 17);
    expect([allocator.usedBytes, allocator.freeBlocks, allocator.largestFree(), allocator.idLimit]).toEqual(before);
    expect(allocator.sizeOf(block)).toBe(24);
    expectSound(allocator);
  });

  test('shrink and then free returns every byte: the capacity is one free block again', () => {
    const allocator = new BlockAllocator(1024);
    const a = allocator.allocate(200, 16);
    const b = allocator.allocate(100, 16);
    allocator.shrink(a, 8);
    allocator.shrink(b, 50);
    expect([allocator.usedBytes, allocator.freeBlocks]).toEqual([64, 2]);
    expectSound(allocator);
    allocator.free(a);
    allocator.free(b);
    expect([allocator.usedBytes, allocator.freeBytes, allocator.usedBlocks]).toEqual([0, 1024, 0]);
    expect([allocator.freeBlocks, allocator.largestFree()]).toEqual([1, 1024]);
    expectSound(allocator);
  });

  test('a block that is not used, or a size beyond the block, is refused before anything changes', () => {
    const [allocator, [a, b]] = filled(2, 32);
    allocator.free(b!);
    expect(() => allocator.shrink(b!, 8)).toThrow(/must be a used block/);
    expect(() => allocator.shrink(a!, 33)).toThrow(/at least 40 bytes/);
    expect(() => allocator.shrink(a!, Number.NaN)).toThrow(/internal error in the block allocator/);
    expect(() => allocator.shrink(99, 8)).toThrow(/must be a used block/);
    expect([allocator.sizeOf(a!), allocator.freeBlocks, allocator.largestFree()]).toEqual([32, 1, 32]);
    expectSound(allocator);
  });
});

describe('splitting', () => {
  test('the tail beyond a request becomes a free block', () => {
    const allocator = new BlockAllocator(1024);
    allocator.allocate(100, 8);
    expect([allocator.freeBlocks, allocator.largestFree()]).toEqual([1, 920]);
    expect(allocator.offsetOf(allocator.allocate(920, 8))).toBe(104);
    expect(allocator.freeBlocks).toBe(0);
    expectSound(allocator);
  });

  test('alignment padding in front of an aligned block becomes a free block', () => {
    const allocator = new BlockAllocator(8192);
    allocator.allocate(8, 8);
    const aligned = allocator.allocate(16, 4096);
    expect(allocator.offsetOf(aligned)).toBe(4096);
    // Padding [8, 4096) and tail [4112, 8192) are both free, and the padding is usable.
    expect(allocator.freeBlocks).toBe(2);
    expect(allocator.offsetOf(allocator.allocate(4088, 8))).toBe(8);
    expectSound(allocator);
  });

  test('alignments below the granule mean the granule', () => {
    const allocator = new BlockAllocator(64);
    const offsets = [1, 2, 4, 8].map((align) => allocator.offsetOf(allocator.allocate(1, align)));
    expect(offsets).toEqual([0, 8, 16, 24]);
    expectSound(allocator);
  });
});

describe('exact failure', () => {
  test('a block that fits only at its aligned offset is found although good-fit misses it', () => {
    // One free block [8, 8192) of 8184 bytes: good-fit asks for 4096 + 4088 bytes of slack and
    // finds nothing, but [4096, 8192) holds the request.
    const allocator = new BlockAllocator(8192);
    allocator.allocate(8, 8);
    expect(allocator.offsetOf(allocator.allocate(4096, 4096))).toBe(4096);
    // Now only [8, 4096) is free: no 4096-aligned offset in it can hold even one byte.
    expect(allocator.allocate(1, 4096)).toBe(-1);
    expect(allocator.allocate(4088, 8)).not.toBe(-1);
    expectSound(allocator);
  });

  test('a block in the request’s own size class that fits is found although good-fit rounds past it', () => {
    // The free block [8, 1008) is 1000 bytes; its class also holds sizes up to 1023, so good-fit
    // looks one class higher for a 995-byte request and finds nothing there.
    const allocator = new BlockAllocator(1008);
    allocator.allocate(8, 8);
    const block = allocator.allocate(995, 8);
    expect([allocator.offsetOf(block), allocator.sizeOf(block)]).toEqual([8, 1000]);
    expect(allocator.freeBytes).toBe(0);
    expectSound(allocator);
  });

  test('allocate returns -1 when the free bytes suffice but no single block does', () => {
    const [allocator, ids] = filled(8, 64);
    ids.filter((_, i) => i % 2 === 0).forEach((id) => allocator.free(id));
    expect(allocator.freeBytes).toBe(256);
    expect(allocator.allocate(65, 8)).toBe(-1);
    expect(allocator.allocate(64, 64)).not.toBe(-1);
    expectSound(allocator);
  });

  test('a request larger than the capacity fails', () => {
    const allocator = new BlockAllocator(4096);
    expect(allocator.allocate(4097, 8)).toBe(-1);
    expect(allocator.allocate(2 ** 40, 8)).toBe(-1);
    expectSound(allocator);
  });
});

describe('ids', () => {
  test('ids are recycled: churn never issues more ids than blocks live at once', () => {
    const allocator = new BlockAllocator(1 << 16);
    const seen = new Set<number>();
    const live: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (live.length === 8) allocator.free(live.shift()!);
      const id = allocator.allocate(16 + (i % 7) * 24, 16);
      seen.add(id);
      live.push(id);
    }
    // 8 used blocks, and at most 9 free blocks between and around them.
    expect(seen.size).toBeLessThanOrEqual(8 + 9);
    expectSound(allocator);
  });

  test('idLimit bounds every id issued, so one mark per id fits an array of that length', () => {
    const allocator = new BlockAllocator(1024);
    expect(allocator.idLimit).toBe(1); // the one free block
    const ids = Array.from({ length: 5 }, () => allocator.allocate(16, 8));
    expect(allocator.idLimit).toBe(6);
    const marks = new Uint8Array(allocator.idLimit);
    for (const id of ids) marks[id] = 1;
    expect(marks.reduce((sum, mark) => sum + mark, 0)).toBe(5);
    // Freed ids are reused before new ones are issued, so churn does not raise it.
    allocator.free(ids[1]!);
    allocator.free(ids[3]!);
    allocator.allocate(16, 8);
    allocator.allocate(16, 8);
    expect(allocator.idLimit).toBe(6);
    expect(new BlockAllocator(0).idLimit).toBe(0);
  });

  test('isUsed is true only for allocated ids', () => {
    const allocator = new BlockAllocator(64);
    const a = allocator.allocate(8, 8);
    expect(allocator.isUsed(a)).toBe(true);
    allocator.free(a);
    expect([allocator.isUsed(a), allocator.isUsed(-1), allocator.isUsed(1000)]).toEqual([false, false, false]);
  });

  test('freeing a block that is not used is refused before it can corrupt the lists', () => {
    const allocator = new BlockAllocator(64);
    const a = allocator.allocate(8, 8);
    allocator.free(a);
    expect(() => allocator.free(a)).toThrow(/must be a used block/);
    expectSound(allocator);
  });

  test('metadata costs 20 bytes per block id naming a block', () => {
    const allocator = new BlockAllocator(4096);
    expect(allocator.metadataBytesPerBlock()).toBe(20);
    allocator.allocate(16, 8);
    allocator.allocate(16, 8);
    expect(allocator.metadataBytes()).toBe(3 * 20);
  });
});

describe('large capacity', () => {
  test('a 2 GiB arena is managed without touching its bytes', () => {
    const allocator = new BlockAllocator(2 ** 31);
    const whole = allocator.allocate(2 ** 31, 4096);
    expect([allocator.offsetOf(whole), allocator.sizeOf(whole), allocator.freeBytes]).toEqual([0, 2 ** 31, 0]);
    allocator.free(whole);
    const low = allocator.allocate(2 ** 30, 4096);
    const high = allocator.allocate(2 ** 30 - 8, 8);
    expect(allocator.offsetOf(high)).toBe(2 ** 30);
    expect(allocator.allocate(16, 8)).toBe(-1);
    expect(allocator.offsetOf(allocator.allocate(8, 8))).toBe(2 ** 31 - 8);
    allocator.free(low);
    expect(allocator.largestFree()).toBe(2 ** 30);
    expectSound(allocator);
  });
});
