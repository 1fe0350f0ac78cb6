// The shared layout of the block allocator: the block record, its states and the size classes.
//
// Paper: M. Masmano et al., "TLSF: a New Dynamic Memory Allocator for Real-Time Systems",
// ECRTS 2004, section 3.1 (mapping_insert, mapping_search). Kept apart so that the records
// (tlsf-records.ts), the free lists (tlsf-lists.ts), the allocator (tlsf.ts) and its checker
// (tlsf-verify.ts) read one definition of every field and class.
//
// Departure from the paper: a block record holds no size and lives in typed arrays outside the
// managed bytes (see tlsf-records.ts for why).

/** Sizes and offsets are multiples of this many bytes; the smallest block is one granule. */
export const GRANULE = 8;
export const GRANULE_MASK = GRANULE - 1;

// One block record: 5 x 4 = 20 bytes, one Int32Array per field (struct of arrays).
//
//   offsetState[id]   31                                        3 2     0
//                    +-------------------------------------------+-------+
//                    |  offset in the arena (a multiple of 8)    | state |
//                    +-------------------------------------------+-------+
//   prevPhys[id]      block just below, or NONE for the block at offset 0
//   nextPhys[id]      block just above, or NONE for the last; size = its offset - ours;
//                     recycled: next recycled id (a run of blocks merged at once is already
//                     chained this way, so it joins the recycled stack whole)
//   nextFree[id]      free: next block in the same size-class list
//   prevFree[id]      free: previous block in the same list, or NONE at the head
//
// Offsets are below capacity <= 2^31, so offset | state fits the 31 value bits of an int32.
export const RECORD_BYTES = 5 * Int32Array.BYTES_PER_ELEMENT;
export const STATE_MASK = GRANULE_MASK;
/** The id is on the recycled stack; its record means nothing. Zero, so fresh ids read as it. */
export const RECYCLED = 0;
/** Allocated: owned by the caller until free(). */
export const USED = 1;
/** Free: in exactly one size-class list, never next to another free block. */
export const FREE = 2;
/** Inside a batch of frees only: the head of the open run, about to absorb the blocks after it. */
export const PENDING = 3;

// Size classes, for a size of at least SMALL_SIZE bytes (f = floor(log2 size)):
//
//    31           f+1   f    f-1 .. f-SL_BITS    f-SL_BITS-1 .. 0
//   +--------------+---+----------------------+-----------------+
//   |   zeros      | 1 |   sl (SL_BITS bits)  |   ignored       |     fl = f - SMALL_BITS + 1
//   +--------------+---+----------------------+-----------------+
//
// Sizes below SMALL_SIZE are first level 0, one exact list per granule: sl = size / 8.
// With SL_BITS = 4 that is 16 lists per power of two; a list spans at most 1/16 of its sizes.
// The largest size, 2^31, is list (25, 0). One number names a list:
//
//   list   9        4 3      0
//         +----------+--------+
//         |    fl    |   sl   |      heads[list]: first block of the list, or NONE
//         +----------+--------+
export const SL_BITS = 4;
export const SL_COUNT = 1 << SL_BITS;
export const SL_MASK = SL_COUNT - 1;
export const SMALL_BITS = SL_BITS + 3; // 3 = log2(GRANULE)
export const SMALL_SIZE = 1 << SMALL_BITS;
export const MAX_CAPACITY = 2 ** 31;
/** First levels 1..25 cover 2^7 .. 2^31; level 0 holds the small sizes. */
export const FL_COUNT = 31 - SMALL_BITS + 2;
/** Records allocated up front; the arrays double when ids run out. */
export const INITIAL_IDS = 64;

/** Internal checks that a caller cannot trigger through the layer above; off in production. */
export const DEBUG: boolean = false;

export function assert(condition: boolean, reason: string): asserts condition {
  if (!condition) throw new Error(`codeheap internal error in the block allocator: ${reason}`);
}

/**
 * The bytes a request of `size` reserves: max(8, size rounded up to 8). Exact for an integer size
 * up to 2^31, where -size is still an int32.
 */
export function reservedSize(size: number): number {
  return size === 0 ? GRANULE : size + (-size & GRANULE_MASK);
}

/** Index of the lowest set bit of a non-zero 32-bit mask (the paper's ffs). */
export function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/** The list (fl * SL_COUNT + sl) a free block of `size` bytes belongs in (mapping_insert). */
export function listOf(size: number): number {
  if (size < SMALL_SIZE) return size >>> 3;
  const f = 31 - Math.clz32(size);
  return ((f - SMALL_BITS + 1) << SL_BITS) | ((size >>> (f - SL_BITS)) & SL_MASK);
}

/** The first list whose every block holds `size` bytes (mapping_search: round up one list). */
export function listAtLeast(size: number): number {
  if (size < SMALL_SIZE) return size >>> 3;
  // size <= 2^31, so the rounded size stays below 2^32 and clz32 still reads it whole.
  return listOf(size + (1 << (31 - Math.clz32(size) - SL_BITS)) - 1);
}
