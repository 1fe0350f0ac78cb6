// A JIT-like macro benchmark: the whole public API driven the way a tiered JIT drives its code
// heap, timed with tinybench, reporting throughput, peak bytes, fragmentation and collector pauses.
//
// The workload is bench/macro-workload.ts: the simulated JIT, stepping through the modules of
// bench/macro-modules.ts with the parameters of bench/macro-config.ts (their headers tell how).
//
// Figures:
//  - throughput: tinybench times iterations of `stepsPerIteration` steps, all on one heap: it is
//    filled to 32 modules first, then warmed by untimed iterations (2,000 steps or more, so the
//    collector has run about 6 times before the first timed step and V8 has optimized it: the
//    first runs in a process took several times as long). steps/s and modules/s (loads per
//    second) are from the median iteration. A sample is the time spent inside heap calls only:
//    each call is bracketed by performance.now() (about 0.1 µs a reading here, under 1% of a
//    step), and generating module bytes (the JIT's compile, not the heap's work), the
//    simulation's bookkeeping and sampling stats() after each step are left out (tinybench's
//    overriddenDuration). Automatic collections run inside heap calls, so their pauses count.
//  - peak bytes: the largest stats().code.usedBytes, data.usedBytes and usedBytes after any timed
//    step. Used bytes include garbage that waits for the next collection; the smallest figures
//    (right after a collection: about the live size) are reported beside them. Sampled between
//    steps, so the true peak is higher by at most what one step allocates (tens of KiB).
//  - fragmentation of each arena: 1 - largestFreeBlock / freeBytes from stats() (0: all free
//    space in one block; near 1: shattered), after the last step and its maximum over the timed
//    steps. The untouched tail of an arena is a free block too, so the arenas are sized at about
//    twice their peak use: in a far larger arena the tail would hide every hole.
//  - collector pauses: each collection's `ms` during the timed iterations: count, median, p99
//    (nearest rank: the maximum when there are fewer than 100), maximum, and the part of them that
//    V8's own collections took (perf_hooks 'gc' entries that started inside a pause); nodes freed
//    by counting and by the collector (stats() deltas over the same span).
//  Then heap.verify() (untimed) must accept the heap the workload left, and a teardown (unload
//  everything, drop every pointer and the runtime, one collectCycles()) must leave no node.
//
// Run: npm run build && npx tsx bench/macro.bench.ts [--quick]
// It measures the compiled library in dist/, as a user runs it. Quick mode runs the same
// workload for fewer steps (about 14 collections instead of about 110).

import { Bench, type FnReturnedObject } from 'tinybench';
import type { HeapStats } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { median, percentile } from './harness.js';
import { FULL, QUICK, SLICED_PAUSE_MS, type MacroConfig } from './macro-config.js';
import { fragmentation, Workload, type OperationCounts } from './macro-workload.js';
import { V8GcWatch } from './v8-gc-watch.js';
import { cpuTicks, stealShare, type CpuTicks } from './cpu-steal.js';

export type { MacroConfig, OperationCounts };

export interface UsedBytes {
  readonly codeBytes: number;
  readonly dataBytes: number;
  /** Both arenas. */
  readonly usedBytes: number;
}

export interface ArenaFragmentation {
  /** 1 - largestFreeBlock / freeBytes after the last step (0 when nothing is free). */
  readonly end: number;
  /** The largest value after any timed step. */
  readonly max: number;
}

export interface MacroResult {
  readonly quick: boolean;
  readonly config: MacroConfig;
  /** Untimed steps before the timed iterations: filling the window, then tinybench's warm-up. */
  readonly warmupSteps: number;
  /** Timed iterations (tinybench samples), each config.stepsPerIteration steps. */
  readonly samples: number;
  /** Median ms of one iteration (heap calls and bookkeeping only; see the header). */
  readonly iterationMedianMs: number;
  /** Relative margin of error of the mean iteration, percent (tinybench's rme). */
  readonly iterationRme: number;
  /** Steps per second of the median iteration. */
  readonly stepsPerSecond: number;
  /** Modules loaded per second of the median iteration (steps/s / loadEvery). */
  readonly modulesPerSecond: number;
  readonly operations: OperationCounts;
  /** Largest used bytes after any timed step: the code arena, the data arena, both. */
  readonly peak: UsedBytes;
  /** Smallest used bytes after any timed step (just after a collection): about the live size. */
  readonly low: UsedBytes;
  readonly fragmentation: { readonly code: ArenaFragmentation; readonly data: ArenaFragmentation };
  readonly collector: {
    /** Collections during the timed iterations (all automatic). */
    readonly collections: number;
    readonly pauseMedianMs: number;
    /** Nearest-rank 99th percentile: the maximum when there are fewer than 100 collections. */
    readonly pauseP99Ms: number;
    readonly pauseMaxMs: number;
    /** Sum of the pauses, and its share of the timed time. */
    readonly pauseTotalMs: number;
    readonly pauseShare: number;
    /** ms of V8's own collections that started inside a pause (part of pauseTotalMs). */
    readonly v8GcInPausesMs: number;
    /** Median nodes one collection freed. */
    readonly freedMedian: number;
    /**
     * Median over the collections that freed anything of pause / nodes freed, in ns: the cost per
     * freed node in a fragmented heap, set beside the all-garbage collections' in the report.
     * Absent in results written before it was kept.
     */
    readonly nsPerFreedNode?: number;
    /** Nodes and bytes freed during the timed iterations, by counting and by the collector. */
    readonly freedByRc: { readonly nodes: number; readonly bytes: number };
    readonly freedByCycles: { readonly nodes: number; readonly bytes: number };
  };
  /**
   * Every heap call during the timed iterations, in ms: what a pause is to the program (a whole
   * collection runs inside the call that made it due; with cyclePause, a slice at most).
   */
  readonly calls?: {
    readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly p999Ms: number; readonly maxMs: number;
    /** Absent in results written before it was kept. */
    readonly p90Ms?: number;
    /** The calls V8 collected its own heap in left out: the time codeheap's own code took. */
    readonly withoutV8Gc?: { readonly p99Ms: number; readonly p999Ms: number; readonly maxMs: number };
    /** Calls over 1 ms, and how many of them had a V8 collection in them. */
    readonly overOneMs?: number;
    readonly overOneMsWithV8Gc?: number;
  };
  /** With cyclePause: slices per collection (median) and the longest slice of each collection (p99, max), ms. */
  readonly slices?: {
    readonly perCollection: number; readonly longestP99Ms: number; readonly longestMaxMs: number;
    /** The longest slice of the median collection, and of the 90th percentile one. */
    readonly longestP50Ms?: number; readonly longestP90Ms?: number;
    /**
     * Each collection's longest slice less the V8 collections that started inside it (perf_hooks
     * 'gc' entries): codeheap's own part; `withV8Gc` counts the collections whose longest slice
     * had one. Absent in results written before it was kept.
     */
    readonly withoutV8Gc?: { readonly longestP99Ms: number; readonly longestMaxMs: number; readonly withV8Gc: number };
  };
  /** The heap after the last step: nodes by kind and state, sites, candidates, threshold. */
  readonly end: {
    readonly nodes: HeapStats['nodes'];
    readonly sites: number;
    readonly candidates: number;
    readonly cycleThreshold: number;
  };
  /** The share of the machine's CPU time the host took while the iterations were timed (Linux). */
  readonly stealShare?: number;
  readonly totalSeconds: number;
}

// ---- figures ----

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function percent(ratio: number): string {
  return `${(100 * ratio).toFixed(1)}%`;
}

function group(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function printResult(r: MacroResult): void {
  const c = r.collector;
  const o = r.operations;
  const per = (n: number): string => (n / o.steps).toFixed(2);
  console.log(`throughput (median of ${r.samples} iterations of ${r.config.stepsPerIteration} steps after ${group(r.warmupSteps)} untimed, ` +
    `±${r.iterationRme.toFixed(1)}% rme):`);
  console.log(`  ${group(r.stepsPerSecond)} steps/s, ${group(r.modulesPerSecond)} modules/s (${r.iterationMedianMs.toFixed(1)} ms per iteration)`);
  if (r.calls !== undefined) {
    console.log(`  heap calls: ${group(r.calls.count)}, p50 ${r.calls.p50Ms.toFixed(3)} ms, p99 ${r.calls.p99Ms.toFixed(3)} ms, ` +
      `p99.9 ${r.calls.p999Ms.toFixed(3)} ms, max ${r.calls.maxMs.toFixed(2)} ms`);
    const own = r.calls.withoutV8Gc;
    if (own !== undefined) {
      console.log(`  heap calls without a V8 collection in them: p99 ${own.p99Ms.toFixed(3)} ms, p99.9 ${own.p999Ms.toFixed(3)} ms, ` +
        `max ${own.maxMs.toFixed(2)} ms (${r.calls.overOneMsWithV8Gc} of the ${r.calls.overOneMs} calls over 1 ms had one)`);
    }
    if (r.stealShare !== undefined) console.log(`  CPU time the host took from this machine while timed (steal): ${(r.stealShare * 100).toFixed(1)}%`);
  }
  if (r.slices !== undefined) {
    console.log(`  collections in slices of ${r.config.cyclePause} ms: ${r.slices.perCollection} slices each (median), ` +
      `longest slice p50 ${r.slices.longestP50Ms?.toFixed(3)} ms, p90 ${r.slices.longestP90Ms?.toFixed(3)} ms, ` +
      `p99 ${r.slices.longestP99Ms.toFixed(3)} ms, max ${r.slices.longestMaxMs.toFixed(3)} ms` +
      (r.slices.withoutV8Gc === undefined ? '' : `; less V8's collections in them: p99 ${r.slices.withoutV8Gc.longestP99Ms.toFixed(3)} ms, ` +
        `max ${r.slices.withoutV8Gc.longestMaxMs.toFixed(3)} ms (${r.slices.withoutV8Gc.withV8Gc} had one)`));
  }
  console.log(`  per step: ${per(o.loads)} loads, ${per(o.unloads)} unloads, ${per(o.calls)} calls, ${per(o.redefines)} redefines, ` +
    `${per(o.evicts)} evicts, ${per(o.materializes)} materializes, ${per(o.pointers)} pointers, ${per(o.pointerFrees)} pointer frees`);
  console.log(`peak used: code ${kib(r.peak.codeBytes)} of ${kib(r.config.codeSize)}, data ${kib(r.peak.dataBytes)} of ${kib(r.config.dataSize)}, ` +
    `both ${kib(r.peak.usedBytes)}; low (just after a collection): code ${kib(r.low.codeBytes)}, data ${kib(r.low.dataBytes)}`);
  console.log(`fragmentation (1 - largest free / free): code ${percent(r.fragmentation.code.end)} at the end, max ${percent(r.fragmentation.code.max)}; ` +
    `data ${percent(r.fragmentation.data.end)} at the end, max ${percent(r.fragmentation.data.max)}`);
  console.log(`collector: ${c.collections} collections, pause median ${c.pauseMedianMs.toFixed(2)} ms, p99 ${c.pauseP99Ms.toFixed(2)} ms, ` +
    `max ${c.pauseMaxMs.toFixed(2)} ms; ${c.pauseTotalMs.toFixed(0)} ms in all (${c.v8GcInPausesMs.toFixed(0)} ms of it V8's own gc), ` +
    `${percent(c.pauseShare)} of the timed time; ` +
    `median ${group(c.freedMedian)} nodes freed per collection, ${(c.nsPerFreedNode ?? 0).toFixed(0)} ns per freed node`);
  console.log(`freed: ${group(c.freedByRc.nodes)} nodes by counting (${kib(c.freedByRc.bytes)}), ` +
    `${group(c.freedByCycles.nodes)} by the collector (${kib(c.freedByCycles.bytes)})`);
  const n = r.end.nodes;
  console.log(`end: ${group(n.total)} nodes (${group(n.functions)} functions, ${group(n.globals)} globals, ${group(n.stubs)} stubs; ` +
    `${group(n.lazy)} lazy), ${group(r.end.sites)} sites, ${group(r.end.candidates)} candidates, threshold ${group(r.end.cycleThreshold)}; ` +
    `verify() passed; total ${r.totalSeconds.toFixed(1)} s`);
}

export async function main(opts: { quick?: boolean; sliced?: boolean } = {}): Promise<MacroResult> {
  const quick = opts.quick === true;
  const base = quick ? QUICK : FULL;
  const config: MacroConfig = opts.sliced === true ? { ...base, cyclePause: SLICED_PAUSE_MS } : base;
  const started = performance.now();
  console.log(`JIT-like workload: modules of ${config.functionsPerModule} functions, ${config.vtablesPerModule} vtables of ${config.vtableSlots} slots; ` +
    `a window of ${config.window} modules, one loaded every ${config.loadEvery} steps; ${config.callsPerStep} calls per step; ` +
    `arenas: code ${kib(config.codeSize)}, data ${kib(config.dataSize)}` +
    (config.cyclePause === undefined ? '' : `; collections in slices of ${config.cyclePause} ms (cyclePause)`));

  const workload = new Workload(config);
  // Fill the window first, so that every iteration, warm-up included, runs in the steady state.
  let warmupSteps = 0;
  for (; warmupSteps < config.window * config.loadEvery; warmupSteps++) workload.step();

  let ticksAtStart: CpuTicks | undefined;
  const bench = new Bench({
    name: 'macro',
    time: 0,
    iterations: config.iterations,
    warmupTime: 0,
    warmupIterations: config.warmupIterations,
    throws: true,
    retainSamples: true,
    setup: (_task, mode) => {
      if (mode === 'run') {
        workload.startRecording();
        ticksAtStart = cpuTicks();
      }
    },
  });
  let iteration = 0;
  bench.add(`${config.stepsPerIteration} steps`, (): FnReturnedObject => {
    const wallStart = performance.now();
    const pausesBefore = workload.pauses.length;
    let ms = 0;
    for (let s = 0; s < config.stepsPerIteration; s++) ms += workload.step();
    if (workload.recording) {
      const pauses = workload.pauses.slice(pausesBefore);
      const longest = pauses.length === 0 ? '' : `, longest ${Math.max(...pauses).toFixed(2)} ms`;
      console.log(`  iteration ${++iteration}/${config.iterations}: ${ms.toFixed(1)} ms in heap calls, ` +
        `${group((config.stepsPerIteration * 1000) / ms)} steps/s, ${pauses.length} collections${longest}, ` +
        `code ${kib(workload.last.code.usedBytes)} used`);
    } else {
      warmupSteps += config.stepsPerIteration;
    }
    // The sample is the time inside heap calls; the budget is the whole iteration.
    return { overriddenDuration: ms, overriddenIterationCost: performance.now() - wallStart };
  }, { async: false });
  const v8 = new V8GcWatch();
  console.log(`  filled the window in ${warmupSteps} steps; ${config.warmupIterations} warm-up iterations, then ${config.iterations} timed`);
  await bench.run();
  const steal = stealShare(ticksAtStart, cpuTicks());
  const { pauseWindows, longCalls, longestSliceWindows } = workload;
  const gcMs = await v8.within([...pauseWindows, ...longCalls.map(([start, end]) => [start, end] as const), ...longestSliceWindows]);
  const v8GcInPausesMs = gcMs.slice(0, pauseWindows.length).reduce((sum, ms) => sum + ms, 0);
  // The heap calls V8 collected its own heap in: what is left is what codeheap's code took.
  const callsAt = pauseWindows.length;
  const gcInCall = new Set(longCalls.filter((_, k) => gcMs[callsAt + k]! > 0).map(([, , index]) => index));
  // Each collection's longest slice less the V8 collections that started in it: codeheap's own part.
  const slicesAt = callsAt + longCalls.length;
  const gcInLongestSlice = longestSliceWindows.map((_, k) => gcMs[slicesAt + k]!);
  const longestOwnMs = workload.longestSliceMs.map((ms, k) => Math.max(0, ms - gcInLongestSlice[k]!));
  const callMsWithoutV8Gc = workload.callMs.filter((_, index) => !gcInCall.has(index));
  const overOneMs = longCalls.filter(([start, end]) => end - start > 1);
  v8.stop();

  const task = bench.tasks[0]!;
  const result = task.result;
  if (result.state !== 'completed') {
    throw new Error(`macro bench: tinybench ended in state ${result.state}${result.state === 'errored' ? `: ${result.error.message}` : ''}`);
  }
  const { first, last: end, pauses } = workload;
  const operations = { ...workload.counts };
  workload.heap.verify();
  const left = workload.teardown();
  workload.heap.verify();
  if (left !== 0) throw new Error(`macro bench: ${left} node(s) left after unloading everything and one collectCycles()`);

  const pauseTotalMs = pauses.reduce((a, b) => a + b, 0);
  const iterationMedianMs = result.latency.p50;
  const stepsPerSecond = (config.stepsPerIteration * 1000) / iterationMedianMs;
  const macro: MacroResult = {
    quick,
    config,
    warmupSteps,
    samples: result.latency.samplesCount,
    iterationMedianMs,
    iterationRme: result.latency.rme,
    stepsPerSecond,
    modulesPerSecond: stepsPerSecond / config.loadEvery,
    operations,
    peak: { ...workload.peak },
    low: { ...workload.low },
    fragmentation: {
      code: { end: fragmentation(end.code), max: workload.maxFragmentation.code },
      data: { end: fragmentation(end.data), max: workload.maxFragmentation.data },
    },
    collector: {
      collections: pauses.length,
      pauseMedianMs: median(pauses),
      pauseP99Ms: percentile(pauses, 0.99),
      pauseMaxMs: percentile(pauses, 1),
      pauseTotalMs,
      pauseShare: pauseTotalMs / result.totalTime,
      v8GcInPausesMs,
      freedMedian: median(workload.freedPerCollection),
      nsPerFreedNode: median(pauses.flatMap((ms, k) => {
        const freed = workload.freedPerCollection[k]!;
        return freed === 0 ? [] : [(ms * 1e6) / freed];
      })),
      freedByRc: { nodes: end.freedByRc.nodes - first.freedByRc.nodes, bytes: end.freedByRc.bytes - first.freedByRc.bytes },
      freedByCycles: {
        nodes: end.freedByCycles.nodes - first.freedByCycles.nodes,
        bytes: end.freedByCycles.bytes - first.freedByCycles.bytes,
      },
    },
    calls: {
      count: workload.callMs.length,
      p50Ms: median(workload.callMs),
      p90Ms: percentile(workload.callMs, 0.9),
      p99Ms: percentile(workload.callMs, 0.99),
      p999Ms: percentile(workload.callMs, 0.999),
      maxMs: percentile(workload.callMs, 1),
      withoutV8Gc: {
        p99Ms: percentile(callMsWithoutV8Gc, 0.99),
        p999Ms: percentile(callMsWithoutV8Gc, 0.999),
        maxMs: percentile(callMsWithoutV8Gc, 1),
      },
      overOneMs: overOneMs.length,
      overOneMsWithV8Gc: overOneMs.filter(([, , index]) => gcInCall.has(index)).length,
    },
    ...(workload.slices.length === 0 ? {} : {
      slices: {
        perCollection: median(workload.slices),
        longestP50Ms: median(workload.longestSliceMs),
        longestP90Ms: percentile(workload.longestSliceMs, 0.9),
        longestP99Ms: percentile(workload.longestSliceMs, 0.99),
        longestMaxMs: percentile(workload.longestSliceMs, 1),
        withoutV8Gc: {
          longestP99Ms: percentile(longestOwnMs, 0.99),
          longestMaxMs: percentile(longestOwnMs, 1),
          withV8Gc: gcInLongestSlice.filter((ms) => ms > 0).length,
        },
      },
    }),
    end: { nodes: end.nodes, sites: end.sites, candidates: end.candidates, cycleThreshold: end.cycleThreshold },
    ...(steal === undefined ? {} : { stealShare: steal }),
    totalSeconds: (performance.now() - started) / 1000,
  };
  printResult(macro);
  return macro;
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick, sliced: process.argv.includes('--sliced') }));
}
