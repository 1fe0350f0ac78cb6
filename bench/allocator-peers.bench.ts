// The block allocator beside a peer and a limit: @thi.ng/malloc's MemPool, a first-fit free-list
// allocator for ArrayBuffers, and a bump allocator, which never frees and so bounds from below
// what any allocator can do.
//
// The workload is bench/allocator-workload.ts's, the same as allocator.bench.ts's: mixed sizes
// (16..256 bytes, align 16, a fixed xorshift sequence) through a ring of 64 blocks, each step
// freeing the oldest block and allocating a new one, with `live` blocks already in use, each
// followed by a hole (allocate 2 * live, free every other) so the free lists hold `live`
// fragments, not one big tail. One iteration turns the ring once; figures are per step (one
// free + one allocate; bump: one allocate).
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
import { ALIGN, MAX_SIZE, RING, SEQUENCE_LENGTH, bumpTurn, prepareRing, sizeSequence, tlsfWorkload } from './allocator-workload.js';
import { time, type Timing } from './harness.js';

/** MemPool keeps an 8-byte header in front of every block. */
const POOL_HEADER = 8;

export const LIVE_COUNTS = [16, 256, 4096, 16384, 65536] as const;
export const QUICK_LIVE_COUNTS = [16, 4096] as const;
/** MemPool is not run past this many live blocks (see the header). */
export const POOL_LIVE_LIMIT = 16384;

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

function tlsf(live: number, sizes: Int32Array): Contender {
  const { allocator, ring, turn } = tlsfWorkload(live, sizes);
  return {
    contender: 'tlsf',
    live,
    turn,
    verify: () => {
      const problems = allocator.verify();
      return ring.includes(-1) ? [...problems, 'an allocation failed in the steady state'] : problems;
    },
  };
}

function memPool(live: number, sizes: Int32Array): Contender {
  const pool = new MemPool({ size: (2 * live + 2 * RING) * (MAX_SIZE + POOL_HEADER + ALIGN) + 4096, align: ALIGN });
  let lost = 0;
  const ring = prepareRing(
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
  return { contender: 'bump', live: 0, turn: bumpTurn(sizes), verify: () => [] };
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
