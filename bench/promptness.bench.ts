// Promptness: how long memory stays unusable after the program drops its last reference, in
// codeheap and in what a JavaScript user would write instead (arena blocks owned by JS objects,
// handed back by a FinalizationRegistry callback). A JIT that frees code late must keep more code
// memory reserved, or evict live code to make room.
//
// 1. FinalizationRegistry: codeheap's own block allocator (src/heap/tlsf.ts) is the arena. An
//    Owner object holds one block (16..256 bytes, the allocator benches' sizes); a registry frees
//    the block when V8 reports the owner collected, and notes the time. A batch of OWNERS_PER_BATCH
//    owners is made every BATCH_INTERVAL_MS and the previous batch dropped, while a mutator loop
//    runs between batches: each tick allocates a compiler-like IR (MUTATOR_NODES small objects)
//    and yields with `await new Promise(setImmediate)`, so the registry's cleanup task can run.
//    Two mutators: 'short-lived' drops each tick's IR at once; 'medium-lived' keeps the last
//    RETAINED_TICKS IRs (a compile queue's working set), so IR survives scavenges into old space.
//    Reported at the close of a fixed window: the delay from drop to free (p50, p99, max of the
//    blocks returned), how many dropped blocks were never returned in the window (owners dropped
//    just before the close count too: the age of the oldest one left says how long it waited),
//    the most bytes held by dropped owners at once, and V8's collections in the window. gc() is
//    never called: this is what V8 gives a program without flags. In the runs here the blocks
//    came back in bursts after V8's mark-compact collections, none after the scavenges between
//    them; how often V8 runs those depends on the whole program's allocation, so these figures
//    move between runs by multiples, and a run with no mark-compact returns nothing.
// 2. codeheap, acyclic: units of a leaf function and a caller of it (the README's square and
//    pow4), cycleThreshold Infinity. Each unit.free() is timed and stats() read after it: its
//    blocks must be free when free() returns, so the delay is at most the duration of that call.
// 3. codeheap, cycles: units of a 2-cycle (f calls g, g calls f). Freed handles leave the memory
//    in use until a collection: with cycleThreshold Infinity, one collectCycles() per batch is
//    timed and must hand back every byte; with 'auto', the figure is how many further public
//    calls (define or handle free) ran before the automatic run returned a unit's blocks, which
//    must happen at the end of the call that brought the candidates to the threshold.
//
// Run: npm run build && npx tsx bench/promptness.bench.ts [--quick]
// (quick: 0.5 s windows instead of 2 s, fewer batches). The codeheap parts measure dist/, as users
// run it. Run it in a process without V8 flags (--expose-gc and the like change when V8 collects),
// so the first part sees what a user's program sees.

import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { do_not_optimize } from 'mitata';
import { BlockAllocator } from '../src/heap/tlsf.js';
import type { FunctionDefinition, Handle, Observer, UnitDefinition } from '../src/index.js';
import { ALIGN, MAX_SIZE, SEQUENCE_LENGTH, sizeSequence } from './allocator-workload.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { formatNs } from './harness.js';

/**
 * The compiled library (`npm run build` writes it), as users run it; its types are the sources'.
 * A path in a variable, so that typechecking a fresh clone does not need dist/ to exist.
 */
const DIST_ENTRY: string = '../dist/index.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
type CodeHeap = InstanceType<typeof CodeHeap>;

const KiB = 1024;
const MiB = 1024 * KiB;
const OWNERS_PER_BATCH = 1_000;
const BATCH_INTERVAL_MS = 10;
/** Objects in one tick's IR: about one small function's worth of compiler nodes. */
const MUTATOR_NODES = 200;
/** IRs the 'medium-lived' mutator keeps alive. */
const RETAINED_TICKS = 256;
/** codeheap units per batch: as many as the owners in a batch above. */
const UNITS_PER_BATCH = 1_000;

/** Nearest-rank percentiles of a set of delays; the field that holds them names the unit. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export type MutatorProfile = 'short-lived' | 'medium-lived';

/** Part 1: blocks owned by JS objects, freed by a FinalizationRegistry callback, for one mutator. */
export interface FinalizationFigure {
  readonly mutator: MutatorProfile;
  /** Length of the run window in ms: owners are dropped in it, returns count until it closes. */
  readonly windowMs: number;
  readonly ownersPerBatch: number;
  /** Batches dropped in the window (the batch alive at its close is not counted). */
  readonly batches: number;
  readonly dropped: number;
  readonly returned: number;
  /** Dropped owners whose block was still in use when the window closed. */
  readonly neverReturned: number;
  /** neverReturned / dropped. */
  readonly neverReturnedFraction: number;
  /** Delay from drop to the callback's free, in ms, over the returned blocks; null if none. */
  readonly delayMs: Percentiles | null;
  /** ms between the drop of the oldest never-returned owner and the close; null if none. */
  readonly oldestUnreturnedAgeMs: number | null;
  /** Most bytes held at once by dropped owners' blocks, sampled once per mutator tick. */
  readonly peakGarbageBytes: number;
  readonly garbageBytesAtClose: number;
  readonly mutatorTicks: number;
  /** V8 collections that started in the window, by perf_hooks kind. */
  readonly v8Collections: { readonly minor: number; readonly major: number; readonly incremental: number; readonly weakCallbacks: number };
}

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

function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) throw new Error('percentiles of no values');
  const sorted = Float64Array.from(values).sort();
  const rank = (q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1]! };
}

function ms(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 0)} ms`;
}

// ---- 1. FinalizationRegistry ----

/** What a JS program would hold: an object that owns an arena block until it is collected. */
class Owner {
  constructor(readonly id: number, readonly block: number, readonly size: number) {}
}

interface IrNode { op: number; left: IrNode | null; right: IrNode | null; value: number }

/** One compiler-like tick: builds a small expression IR, folds it, and returns it. */
function buildIr(seed: number): IrNode[] {
  const nodes: IrNode[] = [];
  for (let i = 0; i < MUTATOR_NODES; i++) {
    const left = i > 0 ? nodes[(seed + i * 7) % i]! : null;
    nodes.push({ op: (seed + i) & 7, left, right: i > 1 ? nodes[i - 1]! : null, value: 0 });
  }
  for (const node of nodes) node.value = (node.left?.value ?? 1) + (node.right?.value ?? 0) + node.op;
  return nodes;
}

/** Counts V8's collections by kind, from perf_hooks 'gc' entries. */
class V8GcCounter {
  readonly #entries: PerformanceEntry[] = [];
  readonly #observer = new PerformanceObserver((list) => { this.#entries.push(...list.getEntries()); });

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** Entries arrive a turn of the event loop late, so this waits for one first. */
  async counts(from: number, to: number): Promise<FinalizationFigure['v8Collections']> {
    await new Promise(setImmediate);
    this.#observer.disconnect();
    const counts = { minor: 0, major: 0, incremental: 0, weakCallbacks: 0 };
    for (const entry of this.#entries) {
      if (entry.startTime < from || entry.startTime >= to) continue;
      // Node 20 puts the kind in detail; its type declarations do not list that field yet.
      const kind = ((entry as { detail?: { kind?: number } }).detail)?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL) counts.incremental++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_WEAKCB) counts.weakCallbacks++;
    }
    return counts;
  }
}

async function finalizationRun(mutator: MutatorProfile, windowMs: number, sizes: Int32Array): Promise<FinalizationFigure> {
  const maxOwners = (Math.ceil(windowMs / BATCH_INTERVAL_MS) + 2) * OWNERS_PER_BATCH;
  // Room for every owner's block at once: a block never returned must not make a later one fail.
  const allocator = new BlockAllocator(2 ** Math.ceil(Math.log2(maxOwners * (MAX_SIZE + ALIGN))));
  const blockOf = new Int32Array(maxOwners);
  const sizeOf = new Int32Array(maxOwners);
  const droppedAt = new Float64Array(maxOwners).fill(Number.NaN);
  const returnedAt = new Float64Array(maxOwners).fill(Number.NaN);
  let garbageBytes = 0;
  const problems: string[] = [];
  // The held value is the owner's id, never the owner: a registry that held it would keep it alive.
  const registry = new FinalizationRegistry<number>((id) => {
    // A second call for one id would free a block that may already belong to someone else.
    if (!Number.isNaN(returnedAt[id]!)) { problems.push(`owner ${id} was finalized twice`); return; }
    if (Number.isNaN(droppedAt[id]!)) problems.push(`owner ${id} was finalized before it was dropped`);
    allocator.free(blockOf[id]!);
    returnedAt[id] = performance.now();
    garbageBytes -= sizeOf[id]!;
  });
  let owners = 0;
  const makeBatch = (): Owner[] => {
    const batch: Owner[] = [];
    for (let i = 0; i < OWNERS_PER_BATCH; i++) {
      const id = owners++;
      const size = sizes[id & (SEQUENCE_LENGTH - 1)]!;
      const block = allocator.allocate(size, ALIGN);
      if (block < 0) throw new Error(`the arena of ${allocator.capacity} bytes ran out at owner ${id}`);
      blockOf[id] = block;
      sizeOf[id] = allocator.sizeOf(block);
      const owner = new Owner(id, block, sizeOf[id]!);
      registry.register(owner, id);
      batch.push(owner);
    }
    return batch;
  };

  const gcCounter = new V8GcCounter();
  const retained: (IrNode[] | undefined)[] = new Array<IrNode[] | undefined>(RETAINED_TICKS);
  let checksum = 0;
  let ticks = 0;
  let batches = 0;
  let peakGarbageBytes = 0;
  const start = performance.now();
  const closeAt = start + windowMs;
  let live = makeBatch();
  let nextDrop = start + BATCH_INTERVAL_MS;
  for (let now = start; now < closeAt; now = performance.now()) {
    const ir = buildIr(ticks);
    checksum += ir[ir.length - 1]!.value;
    if (mutator === 'medium-lived') retained[ticks % RETAINED_TICKS] = ir;
    ticks++;
    if (now >= nextDrop) {
      const next = makeBatch();
      // The old batch becomes garbage at the assignment below; nothing runs in between.
      const droppedNow = performance.now();
      for (const owner of live) {
        droppedAt[owner.id] = droppedNow;
        garbageBytes += owner.size;
      }
      live = next;
      batches++;
      nextDrop = now + BATCH_INTERVAL_MS;
    }
    peakGarbageBytes = Math.max(peakGarbageBytes, garbageBytes);
    await new Promise(setImmediate);
  }
  const closedAt = performance.now();

  // Figures as of the close: a callback that runs later does not count.
  const delays: number[] = [];
  let dropped = 0;
  let oldestUnreturned = Number.POSITIVE_INFINITY;
  for (let id = 0; id < owners; id++) {
    if (Number.isNaN(droppedAt[id]!)) continue;
    dropped++;
    if (Number.isNaN(returnedAt[id]!)) oldestUnreturned = Math.min(oldestUnreturned, droppedAt[id]!);
    else delays.push(returnedAt[id]! - droppedAt[id]!);
  }
  const neverReturned = dropped - delays.length;
  problems.push(...allocator.verify());
  if (allocator.usedBlocks !== live.length + neverReturned) {
    problems.push(`${allocator.usedBlocks} blocks in use, expected ${live.length} live + ${neverReturned} never returned`);
  }
  if (problems.length > 0) throw new Error(`the FinalizationRegistry arena went wrong: ${problems.join('; ')}`);
  const figure: FinalizationFigure = {
    mutator, windowMs: closedAt - start, ownersPerBatch: OWNERS_PER_BATCH, batches, dropped,
    returned: delays.length, neverReturned, neverReturnedFraction: dropped === 0 ? 0 : neverReturned / dropped,
    delayMs: delays.length === 0 ? null : percentiles(delays),
    oldestUnreturnedAgeMs: neverReturned === 0 ? null : closedAt - oldestUnreturned,
    peakGarbageBytes, garbageBytesAtClose: garbageBytes, mutatorTicks: ticks,
    v8Collections: await gcCounter.counts(start, closedAt),
  };
  do_not_optimize(checksum);
  printFinalization(figure);
  return figure;
}

function printFinalization(f: FinalizationFigure): void {
  const d = f.delayMs;
  const returned = d === null ? 'none returned' : `delay p50 ${ms(d.p50)}, p99 ${ms(d.p99)}, max ${ms(d.max)}`;
  const oldest = f.oldestUnreturnedAgeMs === null ? '' : `, oldest dropped ${ms(f.oldestUnreturnedAgeMs)} before the close`;
  const v8 = f.v8Collections;
  console.log(`  ${f.mutator.padEnd(12)} ${returned}; never returned ${f.neverReturned} of ${f.dropped} `
    + `(${(100 * f.neverReturnedFraction).toFixed(1)}%${oldest})`);
  console.log(`  ${''.padEnd(12)} window ${ms(f.windowMs)}, ${f.mutatorTicks} ticks, V8: ${v8.minor} minor, ${v8.major} major, `
    + `${v8.incremental} incremental; garbage blocks peak ${(f.peakGarbageBytes / KiB).toFixed(0)} KiB, `
    + `at close ${(f.garbageBytesAtClose / KiB).toFixed(0)} KiB`);
}

// ---- 2 and 3. codeheap ----

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

function acyclic(quick: boolean): AcyclicFigure {
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

function cycles(quick: boolean): CyclesFigure {
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
    for (const unit of units) unit.free();
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

function autoCycles(quick: boolean): AutoCyclesFigure {
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
    const [f, g] = definition.functions.map((d) => unit.get(d.name)) as [Handle, Handle];
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
