// Benchmark of the block allocator (src/heap/tlsf.ts): one allocate + one free of mixed sizes
// (16..256 bytes, align 16 like a function body) with 16 .. 65536 blocks already live, beside a
// bump allocator on the same size sequence, which is the limit no free-list allocator can beat.
//
// TLSF's claim is O(1) allocate and free whatever the number of live blocks, so the figures
// should stay flat across the live counts. The live blocks are set up with a hole after each one
// (allocate 2n, free every other), so the free lists hold n fragments and not one big tail.
//
// Run: npx tsx bench/allocator.bench.ts [--quick]
// The full run uses mitata's run(), which first calibrates for about four seconds on its own;
// quick mode calls mitata's measure() on each contender instead, with a shorter time budget.

import { pathToFileURL } from 'node:url';
import { bench, group, measure, run, summary } from 'mitata';
import { ALIGN, RING, bumpTurn, sizeSequence, tlsfWorkload } from './allocator-workload.js';

const QUICK_CPU_TIME_NS = 250e6;

export interface AllocatorFigure {
  readonly name: string;
  /** Mean time of one allocate + free (bump: one allocate), in nanoseconds. */
  readonly nsPerOperation: number;
}

interface Contender {
  readonly name: string;
  /** Performs RING operations. */
  readonly turn: () => void;
  /** Problems found in the contender's state after the run ([] when sound). */
  readonly verify: () => string[];
}

/** A TLSF allocator with `live` used blocks, each followed by a hole, and a full ring. */
function tlsfContender(live: number, sizes: Int32Array): Contender {
  const { allocator, turn } = tlsfWorkload(live, sizes);
  return { name: `tlsf, ${live} live blocks`, turn, verify: () => allocator.verify() };
}

function bumpContender(sizes: Int32Array): Contender {
  return { name: 'bump allocator (never frees; the limit)', turn: bumpTurn(sizes), verify: () => [] };
}

export async function main(opts: { quick?: boolean } = {}): Promise<AllocatorFigure[]> {
  const quick = opts.quick === true;
  const sizes = sizeSequence();
  const liveCounts = quick ? [16, 65536] : [16, 256, 4096, 65536];
  const contenders = [...liveCounts.map((live) => tlsfContender(live, sizes)), bumpContender(sizes)];

  const figures: AllocatorFigure[] = [];
  if (quick) {
    for (const contender of contenders) {
      const stats = await measure(contender.turn, { min_cpu_time: QUICK_CPU_TIME_NS, gc: false });
      figures.push({ name: contender.name, nsPerOperation: stats.avg / RING });
    }
  } else {
    group(`allocate + free, 16..256 bytes, align ${ALIGN}; one iteration = ${RING} of each`, () => {
      summary(() => {
        for (const contender of contenders) {
          const b = bench(contender.name, contender.turn);
          if (contender === contenders[contenders.length - 1]) b.baseline(true);
        }
      });
    });
    const results = await run();
    for (const trial of results.benchmarks) {
      for (const r of trial.runs) {
        if (r.stats !== undefined) figures.push({ name: r.name, nsPerOperation: r.stats.avg / RING });
      }
    }
  }

  // A benchmark of a corrupted allocator means nothing: check every one after the run.
  for (const contender of contenders) {
    const problems = contender.verify();
    if (problems.length > 0) {
      throw new Error(`${contender.name} was corrupted by the benchmark: ${problems.join('; ')}`);
    }
  }
  return figures;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const figures = await main({ quick: process.argv.includes('--quick') });
  console.log(`\nns per operation (allocate + free; bump: allocate only)`);
  for (const { name, nsPerOperation } of figures) {
    console.log(`${nsPerOperation.toFixed(1).padStart(8)} ns  ${name}`);
  }
}
