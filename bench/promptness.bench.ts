// Promptness: how long memory stays unusable after the program drops its last reference, in
// codeheap and in what a JavaScript user would write instead (arena blocks owned by JS objects,
// handed back by a FinalizationRegistry callback). A JIT that frees code late must keep more code
// memory reserved, or evict live code to make room.
//
// 1. FinalizationRegistry (bench/promptness-registry.ts): arena blocks owned by JS objects, freed
//    when V8 reports their owner collected, with no gc() called.
// 2. codeheap, acyclic, and 3. codeheap, cycles (bench/promptness-codeheap.ts): units freed
//    through the public API, their blocks free when free() returns, or at the next collection.
// Each file's header tells how its part is measured.
//
// Run: npm run build && npx tsx bench/promptness.bench.ts [--quick]
// (quick: 0.5 s windows instead of 2 s, fewer batches). The codeheap parts measure dist/, as users
// run it. Run it in a process without V8 flags (--expose-gc and the like change when V8 collects),
// so the first part sees what a user's program sees.

import { sizeSequence } from './allocator-workload.js';
import { childArgs, isEntry, writeResult } from './child.js';
import {
  acyclic, autoCycles, cycles, UNITS_PER_BATCH, type AcyclicFigure, type AutoCyclesFigure, type CyclesFigure,
} from './promptness-codeheap.js';
import type { Percentiles } from './promptness-percentiles.js';
import {
  BATCH_INTERVAL_MS, finalizationRun, OWNERS_PER_BATCH, type FinalizationFigure, type MutatorProfile,
} from './promptness-registry.js';

export type { AcyclicFigure, AutoCyclesFigure, CyclesFigure, FinalizationFigure, MutatorProfile, Percentiles };

/** What main() returns: every figure of the three parts, as printed. */
export interface PromptnessResult {
  readonly quick: boolean;
  readonly finalizationRegistry: readonly FinalizationFigure[];
  readonly acyclic: AcyclicFigure;
  readonly cycles: CyclesFigure;
  readonly autoCycles: AutoCyclesFigure;
  /** Wall time of main(), in seconds. */
  readonly totalSeconds: number;
}

export async function main(opts: { quick?: boolean } = {}): Promise<PromptnessResult> {
  const quick = opts.quick === true;
  const began = performance.now();
  const windowMs = quick ? 500 : 2_000;
  const sizes = sizeSequence();
  console.log(`promptness: FinalizationRegistry-owned arena blocks (${OWNERS_PER_BATCH} owners dropped every ${BATCH_INTERVAL_MS} ms, no gc())`);
  const finalizationRegistry: FinalizationFigure[] = [];
  for (const mutator of ['short-lived', 'medium-lived'] as const) finalizationRegistry.push(await finalizationRun(mutator, windowMs, sizes));
  console.log(`promptness: codeheap (dist/), batches of ${UNITS_PER_BATCH} units`);
  const acyclicFigure = acyclic(quick);
  const cyclesFigure = cycles(quick);
  const autoFigure = autoCycles(quick);
  return {
    quick, finalizationRegistry, acyclic: acyclicFigure, cycles: cyclesFigure, autoCycles: autoFigure,
    totalSeconds: (performance.now() - began) / 1e3,
  };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  const result = await main({ quick });
  console.log(`total ${result.totalSeconds.toFixed(1)} s`);
  writeResult(json, result);
}
