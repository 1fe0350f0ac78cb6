// Promptness of what a JavaScript user would write instead of codeheap: arena blocks owned by JS
// objects, handed back by a FinalizationRegistry callback (part 1 of bench/promptness.bench.ts).
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

import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { do_not_optimize } from 'mitata';
import { BlockAllocator } from '../src/heap/tlsf.js';
import { ALIGN, MAX_SIZE, SEQUENCE_LENGTH } from './allocator-workload.js';
import { ms, percentiles, type Percentiles } from './promptness-percentiles.js';

const KiB = 1024;
export const OWNERS_PER_BATCH = 1_000;
export const BATCH_INTERVAL_MS = 10;
/** Objects in one tick's IR: about one small function's worth of compiler nodes. */
const MUTATOR_NODES = 200;
/** IRs the 'medium-lived' mutator keeps alive. */
const RETAINED_TICKS = 256;

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

export async function finalizationRun(mutator: MutatorProfile, windowMs: number, sizes: Int32Array): Promise<FinalizationFigure> {
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
