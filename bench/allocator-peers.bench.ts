// The block allocator beside a peer and a limit: @thi.ng/malloc's MemPool, a first-fit free-list
// allocator for ArrayBuffers, and a bump allocator, which never frees and so bounds from below
// what any allocator can do.
//
// The workload is allocator.bench.ts's: mixed sizes (16..256 bytes, align 16, the same fixed
// xorshift sequence) through a ring of 64 blocks, each step freeing the oldest block and
// allocating a new one, with `live` blocks already in use, each followed by a hole (allocate
// 2 * live, free every other) so the free lists hold `live` fragments, not one big tail. One
// iteration turns the ring once; figures are per step (one free + one allocate; bump: one allocate).
//
// MemPool runs in its default configuration (compact and split on). Its free() finds the block by
// walking the list of used blocks, and compaction walks the whole free list, so both the set-up
// (quadratic) and each step (linear) grow with the live count. At 65,536 live blocks the set-up
// alone took over eight minutes on the reference machine, so the peer stops at 16,384.
//
// Run: npx tsx bench/allocator-peers.bench.ts [--quick]

import { pathToFileURL } from 'node:url';
import { MemPool } from '@thi.ng/malloc';
import { do_not_optimize } from 'mitata';
import { BlockAllocator } from '../src/heap/tlsf.js';
import { time, type Timing } from './harness.js';

const RING = 64;
const SEQUENCE_LENGTH = 4096;
const ALIGN = 16;
const MAX_SIZE = 256;
/** MemPool keeps an 8-byte header in front of every block. */
const POOL_HEADER = 8;

export const LIVE_COUNTS = [16, 256, 4096, 16384, 65536] as const;
export const QUICK_LIVE_COUNTS = [16, 4096] as const;
/** MemPool is not run past this many live blocks (see the header). */
export const POOL_LIVE_LIMIT = 16384;

/** 16..256 bytes from a fixed xorshift sequence: the same sizes as allocator.bench.ts. */
function sizeSequence(): Int32Array {
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

export interface PeerFigure extends Timing {
  readonly contender: 'tlsf' | 'malloc' | 'bump';
  /** Live blocks during the run; 0 for the bump allocator. */
  readonly live: number;
}

interface Contender {
  readonly contender: PeerFigure['contender'];
  readonly live: number;
  /** One turn of the ring: RING steps. */
  readonly turn: () => void;
  /** Problems found in the contender's state after the run ([] when sound). */
  readonly verify: () => string[];
}

/** `live` used blocks, each followed by a hole, then a full ring. */
function prepare(allocate: (size: number) => number, free: (block: number) => void, live: number, sizes: Int32Array): Int32Array {
  const setUp: number[] = [];
  for (let i = 0; i < 2 * live; i++) setUp.push(allocate(sizes[i % SEQUENCE_LENGTH]!));
  // Highest address first: MemPool keeps its free list sorted by address, so each hole goes to the head.
  for (let i = 2 * live - 1; i >= 1; i -= 2) free(setUp[i]!);
  const ring = new Int32Array(RING);
  for (let i = 0; i < RING; i++) ring[i] = allocate(sizes[i]!);
  if (setUp.includes(-1) || ring.includes(-1)) throw new Error('the set-up ran out of memory');
  return ring;
}

function tlsf(live: number, sizes: Int32Array): Contender {
  const needed = (2 * live + 2 * RING) * (MAX_SIZE + ALIGN);
  const allocator = new BlockAllocator(2 ** Math.ceil(Math.log2(needed)));
  const ring = prepare((size) => allocator.allocate(size, ALIGN), (block) => allocator.free(block), live, sizes);
  let step = 0;
  return {
    contender: 'tlsf',
    live,
    turn: () => {
      for (let slot = 0; slot < RING; slot++) {
        allocator.free(ring[slot]!);
        ring[slot] = allocator.allocate(sizes[step++ & (SEQUENCE_LENGTH - 1)]!, ALIGN);
      }
      do_not_optimize(ring);
    },
    verify: () => {
      const problems = allocator.verify();
      return ring.includes(-1) ? [...problems, 'an allocation failed in the steady state'] : problems;
    },
  };
}

function memPool(live: number, sizes: Int32Array): Contender {
  const pool = new MemPool({ size: (2 * live + 2 * RING) * (MAX_SIZE + POOL_HEADER + ALIGN) + 4096, align: ALIGN });
  let lost = 0;
  const ring = prepare(
    (size) => pool.malloc(size) || -1,
    (address) => {
      if (!pool.free(address)) lost++;
    },
    live, sizes,
  );
  let step = 0;
  return {
    contender: 'malloc',
    live,
    turn: () => {
      for (let slot = 0; slot < RING; slot++) {
        if (!pool.free(ring[slot]!)) lost++;
        ring[slot] = pool.malloc(sizes[step++ & (SEQUENCE_LENGTH - 1)]!);
      }
      do_not_optimize(ring);
    },
    verify: () => [
      ...(lost > 0 ? [`MemPool.free did not find ${lost} block(s)`] : []),
      ...(ring.includes(0) ? ['MemPool.malloc failed in the steady state'] : []),
    ],
  };
}

function bump(sizes: Int32Array): Contender {
  const capacity = 1 << 24;
  let top = 0;
  let step = 0;
  return {
    contender: 'bump',
    live: 0,
    turn: () => {
      let offset = 0;
      for (let i = 0; i < RING; i++) {
        offset = (top + ALIGN - 1) & -ALIGN;
        top = offset + sizes[step++ & (SEQUENCE_LENGTH - 1)]!;
        if (top > capacity) top = 0;
      }
      do_not_optimize(offset);
    },
    verify: () => [],
  };
}

export async function main(opts: { quick?: boolean } = {}): Promise<PeerFigure[]> {
  const quick = opts.quick === true;
  const sizes = sizeSequence();
  console.log('allocate + free, 16..256 bytes, align 16: TLSF vs @thi.ng/malloc MemPool vs bump (per step)');
  const figures: PeerFigure[] = [];
  const contenders: (() => Contender)[] = [];
  for (const live of quick ? QUICK_LIVE_COUNTS : LIVE_COUNTS) {
    contenders.push(() => tlsf(live, sizes));
    if (live <= POOL_LIVE_LIMIT) contenders.push(() => memPool(live, sizes));
  }
  contenders.push(() => bump(sizes));
  // One contender at a time: set up, time, check, and let it go before the next one's set-up.
  for (const make of contenders) {
    const c = make();
    const name = c.contender === 'bump' ? 'bump (never frees; the limit)' : `${c.contender === 'tlsf' ? 'tlsf (codeheap)' : '@thi.ng/malloc'}, ${c.live} live`;
    const timing = await time(name, c.turn, { quick, operations: RING });
    const problems = c.verify();
    if (problems.length > 0) throw new Error(`${name} went wrong during the benchmark: ${problems.join('; ')}`);
    figures.push({ ...timing, contender: c.contender, live: c.live });
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main({ quick: process.argv.includes('--quick') });
}
