// Promptness of codeheap: how soon the blocks of freed units are free again, with no cycle and in
// cycles (parts 2 and 3 of bench/promptness.bench.ts).
//
// 2. codeheap, acyclic: units of a leaf function and a caller of it (the README's square and
//    pow4), cycleThreshold Infinity. Each unit.free() is timed and stats() read after it: its
//    blocks must be free when free() returns, so the delay is at most the duration of that call.
// 3. codeheap, cycles: units of a 2-cycle (f calls g, g calls f), dropped unannounced (handles of
//    their own, freed after the unit: bench/unannounced.ts; unit.free() alone reclaims a cycle at
//    once, DESIGN semantics 10). Such drops leave the memory in use until a collection: with cycleThreshold Infinity, one collectCycles() per batch is
//    timed and must hand back every byte; with 'auto', the figure is how many further public
//    calls (define or handle free) ran before the automatic run returned a unit's blocks, which
//    must happen at the end of the call that brought the candidates to the threshold.

import type { FunctionDefinition, Handle, Observer, UnitDefinition } from '../src/index.js';
import { formatNs } from './harness.js';
import { ms, percentiles, type Percentiles } from './promptness-percentiles.js';
import { dropUnannounced } from './unannounced.js';

/**
 * The compiled library (`npm run build` writes it), as users run it; its types are the sources'.
 * A path in a variable, so that typechecking a fresh clone does not need dist/ to exist.
 */
const DIST_ENTRY: string = '../dist/index.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
type CodeHeap = InstanceType<typeof CodeHeap>;

const KiB = 1024;
const MiB = 1024 * KiB;
/** codeheap units per batch: as many as the owners in a batch of part 1 (OWNERS_PER_BATCH). */
export const UNITS_PER_BATCH = 1_000;

/** Part 2: acyclic units freed through the public API; their blocks are free when free() returns. */
export interface AcyclicFigure {
  readonly units: number;
  readonly functionsPerUnit: number;
  /** Block bytes of one unit (two 16-byte blocks), from stats(); free() must return exactly these. */
  readonly bytesPerUnit: number;
  /** Duration of one unit.free(), in ns: an upper bound of the delay. */
  readonly freeNs: Percentiles;
  /** Units whose bytes were not all free when free() returned (0 is the claim). */
  readonly unreturned: number;
}

/** Part 3, explicit: batches of freed 2-cycles, returned by one collectCycles() each. */
export interface CyclesFigure {
  readonly batches: number;
  readonly unitsPerBatch: number;
  readonly bytesPerBatch: number;
  /** Duration of one collectCycles() over a batch of freed 2-cycles, in ms. */
  readonly collectMs: Percentiles;
  /** Bytes still in use after every handle of a batch was freed, before the collection (all of them). */
  readonly bytesInUseBeforeCollect: number;
  /** Bytes still in use after the collection, summed over batches (0 is the claim). */
  readonly bytesInUseAfterCollect: number;
}

/** Part 3, automatic: freed 2-cycles returned by the runs cycleThreshold 'auto' starts. */
export interface AutoCyclesFigure {
  /** stats().cycleThreshold at the start ('auto': the initial threshold). */
  readonly threshold: number;
  readonly units: number;
  readonly collections: number;
  /** Further public calls after a unit's last handle free until the run that returned it (0: that call). */
  readonly delayCalls: Percentiles;
  /** ms from a unit's last handle free to the end of the run that returned it. */
  readonly delayMs: Percentiles;
  /** Duration of each automatic run, in ms (the collector's own figure). */
  readonly collectMs: Percentiles;
  /** Every automatic run started at the end of the call that brought the candidates to the threshold. */
  readonly triggeredAtThreshold: boolean;
  /** Most bytes held at once by freed units waiting for a run. */
  readonly peakGarbageBytes: number;
}

const PLT32 = 'R_X86_64_PLT32';

/** square(x) = x * x, and pow4 calling it twice (the README's walkthrough): no cycle. */
function acyclicUnit(serial: number): UnitDefinition {
  const square = `square${serial}`;
  return {
    functions: [
      { name: square, code: Uint8Array.from([0x89, 0xf8, 0x0f, 0xaf, 0xc7, 0xc3]) },
      {
        name: `pow4_${serial}`,
        code: Uint8Array.from([0xe8, 0, 0, 0, 0, 0x89, 0xc7, 0xe9, 0, 0, 0, 0]),
        relocations: [{ offset: 1, type: PLT32, symbol: square, addend: -4 }, { offset: 8, type: PLT32, symbol: square, addend: -4 }],
      },
    ],
  };
}

/** f: call g; ret. g: jmp f. A 2-cycle: neither count reaches zero when the handles go. */
function cycleUnit(serial: number): UnitDefinition & { functions: [FunctionDefinition, FunctionDefinition] } {
  const f = `f${serial}`;
  const g = `g${serial}`;
  return {
    functions: [
      { name: f, code: Uint8Array.from([0xe8, 0, 0, 0, 0, 0xc3]), relocations: [{ offset: 1, type: PLT32, symbol: g, addend: -4 }] },
      { name: g, code: Uint8Array.from([0xe9, 0, 0, 0, 0]), relocations: [{ offset: 1, type: PLT32, symbol: f, addend: -4 }] },
    ],
  };
}

function newHeap(cycleThreshold: 'auto' | number, observer?: Observer): CodeHeap {
  return new CodeHeap({
    arch: 'x86_64', codeSize: 4 * MiB, dataSize: 64 * KiB, cycleThreshold, ...(observer === undefined ? {} : { observer }),
  });
}

/** Bytes in use in a heap with no nodes: the data arena's resolver slot. */
function baseline(heap: CodeHeap): number {
  return heap.stats().usedBytes;
}

export function acyclic(quick: boolean): AcyclicFigure {
  const heap = newHeap(Number.POSITIVE_INFINITY);
  const empty = baseline(heap);
  const warmUp = 3;
  const batches = quick ? 5 : 20;
  const ns: number[] = [];
  let unreturned = 0;
  let bytesPerUnit = 0;
  let serial = 0;
  // The first batches only let V8 optimize define and free; they are not kept.
  for (let b = -warmUp; b < batches; b++) {
    const units = [];
    for (let u = 0; u < UNITS_PER_BATCH; u++) units.push(heap.define(acyclicUnit(serial++)));
    bytesPerUnit = (heap.stats().usedBytes - empty) / UNITS_PER_BATCH;
    for (const unit of units) {
      const before = heap.stats().freeBytes;
      const start = performance.now();
      unit.free();
      const end = performance.now();
      // Read after free() returned and before anything else ran: the bytes must already be back.
      if (heap.stats().freeBytes - before !== bytesPerUnit) unreturned++;
      if (b >= 0) ns.push((end - start) * 1e6);
    }
    const stats = heap.stats();
    if (stats.usedBytes !== empty || stats.candidates !== 0 || stats.collections !== 0) {
      throw new Error(`acyclic units left ${stats.usedBytes - empty} bytes and ${stats.candidates} candidates `
        + `after ${stats.collections} collections`);
    }
  }
  heap.verify();
  const figure: AcyclicFigure = { units: ns.length, functionsPerUnit: 2, bytesPerUnit, freeNs: percentiles(ns), unreturned };
  const f = figure.freeNs;
  console.log(`  acyclic      free() p50 ${formatNs(f.p50)}, p99 ${formatNs(f.p99)}, max ${formatNs(f.max)}; `
    + `${unreturned} of ${figure.units} units not returned when free() returned (${bytesPerUnit} B each)`);
  return figure;
}

export function cycles(quick: boolean): CyclesFigure {
  const heap = newHeap(Number.POSITIVE_INFINITY);
  const empty = baseline(heap);
  const warmUp = 5;
  const batches = quick ? 10 : 40;
  const collectMs: number[] = [];
  let bytesPerBatch = 0;
  let bytesInUseBeforeCollect = 0;
  let bytesInUseAfterCollect = 0;
  let serial = 0;
  for (let b = -warmUp; b < batches; b++) {
    const units = [];
    for (let u = 0; u < UNITS_PER_BATCH; u++) units.push(heap.define(cycleUnit(serial++)));
    bytesPerBatch = heap.stats().usedBytes - empty;
    for (const unit of units) dropUnannounced(heap, unit);
    const waiting = heap.stats();
    if (waiting.candidates !== 2 * UNITS_PER_BATCH) throw new Error(`${waiting.candidates} candidates after freeing ${UNITS_PER_BATCH} 2-cycles`);
    const start = performance.now();
    const result = heap.collectCycles();
    const end = performance.now();
    const after = heap.stats().usedBytes - empty;
    if (result.freed !== 2 * UNITS_PER_BATCH || result.bytes !== bytesPerBatch) {
      throw new Error(`collectCycles freed ${result.freed} nodes, ${result.bytes} bytes of ${bytesPerBatch}`);
    }
    if (b >= 0) {
      collectMs.push(end - start);
      bytesInUseBeforeCollect += waiting.usedBytes - empty;
      bytesInUseAfterCollect += after;
    }
  }
  heap.verify();
  const figure: CyclesFigure = {
    batches, unitsPerBatch: UNITS_PER_BATCH, bytesPerBatch, collectMs: percentiles(collectMs),
    bytesInUseBeforeCollect: bytesInUseBeforeCollect / batches, bytesInUseAfterCollect,
  };
  const c = figure.collectMs;
  console.log(`  2-cycles     collectCycles() of ${UNITS_PER_BATCH} units p50 ${ms(c.p50)}, p99 ${ms(c.p99)}, max ${ms(c.max)}; `
    + `in use before it ${figure.bytesInUseBeforeCollect} B of ${bytesPerBatch} B, after it ${bytesInUseAfterCollect} B`);
  return figure;
}

export function autoCycles(quick: boolean): AutoCyclesFigure {
  const runs = quick ? 2 : 6;
  const dropCall: number[] = [];
  const droppedAt: number[] = [];
  const delayCalls: number[] = [];
  const delayMs: number[] = [];
  const collectMs: number[] = [];
  let calls = 0;
  let firstWaiting = 0;
  let collections = 0;
  let garbageBytes = 0;
  let peakGarbageBytes = 0;
  let triggeredAtThreshold = true;
  let bytesPerUnit = 0;
  let threshold = 0;
  const heap: CodeHeap = newHeap('auto', {
    collect(event) {
      const at = performance.now();
      // Every unit whose last handle is already freed is garbage: the run must return all of them.
      let returned = 0;
      while (firstWaiting < dropCall.length && dropCall[firstWaiting]! <= calls) {
        delayCalls.push(calls - dropCall[firstWaiting]!);
        delayMs.push(at - droppedAt[firstWaiting]!);
        firstWaiting++;
        returned++;
      }
      if (event.freed !== 2 * returned || event.bytes !== returned * bytesPerUnit) {
        throw new Error(`an automatic run freed ${event.freed} nodes, ${event.bytes} bytes; ${returned} units were garbage`);
      }
      // A handle free adds at most one candidate: a run due before this call would have run then.
      if (event.candidates !== threshold) triggeredAtThreshold = false;
      garbageBytes -= event.bytes;
      collectMs.push(event.ms);
      collections++;
      threshold = heap.stats().cycleThreshold;
    },
  });
  threshold = heap.stats().cycleThreshold;
  const startThreshold = threshold;
  const empty = baseline(heap);
  for (let serial = 0; collections < runs; serial++) {
    const definition = cycleUnit(serial);
    calls++;
    const unit = heap.define(definition);
    // Every unit is the same two blocks; the first one says how many bytes that is.
    if (serial === 0) bytesPerUnit = heap.stats().usedBytes - empty;
    // Dropped unannounced (bench/unannounced.ts): handles of their own hold f and g while the
    // unit goes, then go one by one; the unit's own last handle would reclaim the cycle at once.
    const [f, g] = definition.functions.map((d) => {
      calls++;
      return heap.lookup(d.name);
    }) as [Handle, Handle];
    calls++;
    unit.free();
    calls++;
    f.free();
    dropCall.push(++calls);
    droppedAt.push(performance.now());
    garbageBytes += bytesPerUnit;
    peakGarbageBytes = Math.max(peakGarbageBytes, garbageBytes);
    g.free();
  }
  // The loop stops right after a run, which returned every unit freed before it.
  const stats = heap.stats();
  if (firstWaiting !== dropCall.length || stats.usedBytes !== empty || stats.candidates !== 0) {
    throw new Error(`${dropCall.length - firstWaiting} units, ${stats.usedBytes - empty} bytes still waiting after the last automatic run`);
  }
  heap.verify();
  const figure: AutoCyclesFigure = {
    threshold: startThreshold, units: dropCall.length, collections, delayCalls: percentiles(delayCalls),
    delayMs: percentiles(delayMs), collectMs: percentiles(collectMs), triggeredAtThreshold, peakGarbageBytes,
  };
  const d = figure.delayCalls;
  const t = figure.delayMs;
  console.log(`  2-cycles auto (threshold ${startThreshold}): further calls p50 ${d.p50}, p99 ${d.p99}, max ${d.max}; `
    + `delay p50 ${ms(t.p50)}, p99 ${ms(t.p99)}, max ${ms(t.max)}; ${collections} runs of p50 ${ms(figure.collectMs.p50)}, `
    + `each at the threshold: ${triggeredAtThreshold ? 'yes' : 'NO'}; garbage peak ${(peakGarbageBytes / KiB).toFixed(0)} KiB`);
  return figure;
}
