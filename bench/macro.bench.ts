// A JIT-like macro benchmark: the whole public API driven the way a tiered JIT drives its code
// heap, timed with tinybench, reporting throughput, peak bytes, fragmentation and collector pauses.
//
// The workload (WORKLOAD below; deterministic: two xorshift32 streams, one for the modules'
// shapes, one for the simulation's decisions, so neither shifts the other):
//  - a long-lived runtime module: 16 helpers (half of them call another helper) and a counters
//    global, held for the whole run;
//  - modules of 64 functions of mixed sizes (16..512 bytes at tier 1, most of them small), each
//    incrementing its own counter in the module's counters global (`inc qword [rip+disp32]`,
//    R_X86_64_PC32 with addend 8i - 4) and making 1..6 calls (`call rel32`, R_X86_64_PLT32,
//    addend -4) to runtime helpers, to itself (recursion), to a later function (a back edge:
//    mutual recursion) or to an earlier one. Function 0, the module's initializer, also takes the
//    address of each of the module's two vtables (`lea`, R_X86_64_PC32). A vtable is a global of
//    eight 8-byte slots (R_X86_64_64): function pointers, through stubs, to the module's functions
//    and to one runtime helper. So a module is full of cycles through code and through data, and
//    unloading it leaves most of it to the cycle collector;
//  - a step: every second step loads a module (heap.define) and, once 32 modules are loaded,
//    unloads the oldest (unit.free(): its cycles become garbage). 128 simulated calls, skewed
//    towards recent modules and low function indices, are counted; a call to an evicted function
//    is a lazy call (heap.materialize, through the heap's compile callback), and a function whose
//    count passes 8, then 64, is recompiled with a larger body (heap.redefine, tier 1 -> 2 -> 3;
//    from tier 2 on, half its runtime calls are inlined and it calls a sibling instead, so its
//    edges change too). 8 random functions are probed and evicted (heap.evict) if not called in
//    the last 32 steps. 2 function pointers are taken (heap.pointer) into a ring of 128, each
//    freeing the oldest, so some outlive their module and hold part of it a while longer.
//  The collector runs only by itself (cycleThreshold 'auto', the default); an observer's
//  `collect` event records each run.
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

import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { Bench, type FnReturnedObject } from 'tinybench';
import type {
  ArenaStats, CollectionResult, FunctionBody, GlobalDefinition, FunctionDefinition, HeapStats, Relocation,
} from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { XorShift32 } from './shapes.js';

/**
 * The compiled library (`npm run build` writes it), as users run it; its types are the sources'.
 * A path in a variable, so that typechecking a fresh clone does not need dist/ to exist.
 */
const DIST_ENTRY: string = '../dist/index.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
type CodeHeap = InstanceType<typeof CodeHeap>;
type Handle = ReturnType<CodeHeap['lookup']>;
type Unit = ReturnType<CodeHeap['define']>;

const KiB = 1024;
const MiB = 1024 * KiB;

/** The workload's shape and the run's length; quick mode changes only the run's length. */
export interface MacroConfig {
  readonly seed: number;
  readonly runtimeFunctions: number;
  readonly functionsPerModule: number;
  readonly vtablesPerModule: number;
  readonly vtableSlots: number;
  /** Modules loaded at once; loading one more unloads the oldest. */
  readonly window: number;
  /** A module is loaded every this many steps. */
  readonly loadEvery: number;
  readonly callsPerStep: number;
  /** Calls after which a function is recompiled at tier 2, and at tier 3. */
  readonly tierThresholds: readonly [number, number];
  readonly evictProbesPerStep: number;
  /** A function not called for this many steps is cold: a probe evicts it. */
  readonly coldSteps: number;
  readonly pointersPerStep: number;
  /** Function pointers held at once; taking one more frees the oldest. */
  readonly pointerRing: number;
  readonly codeSize: number;
  readonly dataSize: number;
  readonly stepsPerIteration: number;
  readonly iterations: number;
  readonly warmupIterations: number;
}

const WORKLOAD = {
  seed: 0x2545f491,
  runtimeFunctions: 16,
  functionsPerModule: 64,
  vtablesPerModule: 2,
  vtableSlots: 8,
  window: 32,
  loadEvery: 2,
  callsPerStep: 128,
  tierThresholds: [8, 64],
  evictProbesPerStep: 8,
  coldSteps: 32,
  pointersPerStep: 2,
  pointerRing: 128,
  // About 1.8x (code) and 2.2x (data) the peak use of the arenas: see the header on fragmentation.
  codeSize: 4 * MiB,
  dataSize: 384 * KiB,
} as const;

/**
 * The collector runs about once per 350 steps (when 10,000 candidates have gathered), so the timed
 * iterations see about 110 collections: enough for a p99 that is not simply the maximum.
 */
export const FULL: MacroConfig = { ...WORKLOAD, stepsPerIteration: 1000, iterations: 40, warmupIterations: 4 };
/** About 14 collections: its p99 is the maximum. */
export const QUICK: MacroConfig = { ...WORKLOAD, stepsPerIteration: 500, iterations: 10, warmupIterations: 4 };

/** Heap calls made during the timed iterations. */
export interface OperationCounts {
  steps: number;
  /** heap.define of a module. */
  loads: number;
  /** unit.free() of a module's every handle. */
  unloads: number;
  /** Simulated calls (bookkeeping only, no heap call unless they tier up or hit a lazy function). */
  calls: number;
  /** heap.redefine to a higher tier. */
  redefines: number;
  evicts: number;
  /** heap.materialize of an evicted function that was called. */
  materializes: number;
  /** heap.pointer. */
  pointers: number;
  /** Pointer handles freed (the ring's oldest). */
  pointerFrees: number;
}

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
    /** Nodes and bytes freed during the timed iterations, by counting and by the collector. */
    readonly freedByRc: { readonly nodes: number; readonly bytes: number };
    readonly freedByCycles: { readonly nodes: number; readonly bytes: number };
  };
  /** The heap after the last step: nodes by kind and state, sites, candidates, threshold. */
  readonly end: {
    readonly nodes: HeapStats['nodes'];
    readonly sites: number;
    readonly candidates: number;
    readonly cycleThreshold: number;
  };
  readonly totalSeconds: number;
}

// ---- machine code ----
//
// Every function body is laid out as below; the bytes between the instructions are `nop`s, which
// is all a heap that never scans code needs. Each field is where its relocation says it is.
//
//   +0        48 FF 05 d32   inc qword [rip+counters+8i]  R_X86_64_PC32 counters, A = 8i - 4
//   +7        48 8D 05 d32   lea rax, [rip+vtable]        R_X86_64_PC32 vtable, A = -4  (init only)
//   ...       E8 d32         call target                  R_X86_64_PLT32 target, A = -4
//   ...       90 ...         nop
//   +size-1   C3             ret

const INC_SIZE = 7;
const LEA_SIZE = 7;
const CALL_SIZE = 5;
const RET_SIZE = 1;
const MIN_SIZE = 16;
const MAX_SIZE = 512;
/** Tier t's body is TIER_GROWTH[t - 1] times tier 1's size: an optimizing tier emits more code. */
const TIER_GROWTH = [1, 1.5, 2] as const;

function emit(size: number, counters: string, index: number, leas: readonly string[], calls: readonly string[]): FunctionBody {
  const needed = INC_SIZE + LEA_SIZE * leas.length + CALL_SIZE * calls.length + RET_SIZE;
  if (needed > size) throw new RangeError(`macro bench: ${calls.length} calls and ${leas.length} leas need ${needed} bytes, the body has ${size}`);
  const code = new Uint8Array(size).fill(0x90);
  const relocations: Relocation[] = [];
  code[0] = 0x48;
  code[1] = 0xff;
  code[2] = 0x05;
  relocations.push({ offset: 3, type: 'R_X86_64_PC32', symbol: counters, addend: 8 * index - 4 });
  let at = INC_SIZE;
  for (const symbol of leas) {
    code[at] = 0x48;
    code[at + 1] = 0x8d;
    code[at + 2] = 0x05;
    relocations.push({ offset: at + 3, type: 'R_X86_64_PC32', symbol, addend: -4 });
    at += LEA_SIZE;
  }
  for (const symbol of calls) {
    code[at] = 0xe8;
    relocations.push({ offset: at + 1, type: 'R_X86_64_PLT32', symbol, addend: -4 });
    at += CALL_SIZE;
  }
  code[size - 1] = 0xc3;
  return { code, relocations };
}

/** An 8-byte counter per function, zero-filled. */
function counters(name: string, count: number): GlobalDefinition {
  return { name, size: 8 * count };
}

function runtimeName(i: number): string {
  return `rt.f${i}`;
}

const RUNTIME_COUNTERS = 'rt.counters';

/** The runtime: helpers of 48 bytes; helper i < n/2 calls helper i + n/2, so it has an outgoing site. */
function runtimeModule(n: number): FunctionDefinition[] {
  const functions: FunctionDefinition[] = [];
  for (let i = 0; i < n; i++) {
    const calls = i < n / 2 ? [runtimeName(i + n / 2)] : [];
    functions.push({ name: runtimeName(i), ...emit(48, RUNTIME_COUNTERS, i, [], calls) });
  }
  return functions;
}

// ---- modules ----

/** One loaded (or about to be loaded) module and the simulation's view of its functions. */
interface Module {
  readonly id: number;
  readonly names: readonly string[];
  readonly counterName: string;
  /** Per function: tier 1's size, the vtables it takes the address of, its calls at tier 1 and above. */
  readonly sizes: readonly number[];
  readonly leas: readonly (readonly string[])[];
  readonly tier1Calls: readonly (readonly string[])[];
  readonly optimizedCalls: readonly (readonly string[])[];
  /** bodies[i][t - 1]: function i's body at tier t, made when first needed (most never tier up). */
  readonly bodies: (FunctionBody | undefined)[][];
  readonly functions: FunctionDefinition[];
  readonly globals: GlobalDefinition[];
  unit: Unit | undefined;
  readonly handles: Handle[];
  /** Current tier (1..3), calls so far, last step called, and 1 while evicted, per function. */
  readonly tier: Uint8Array;
  readonly calls: Int32Array;
  readonly lastCalled: Int32Array;
  readonly lazy: Uint8Array;
}

/** A value in [0, 1). */
function unit01(random: XorShift32): number {
  return random.next() / 0x1_0000_0000;
}

/** Builds module `id` (names m<id>.*) from the shape stream: tier 1 bodies now, the others when first needed. */
function generateModule(id: number, config: MacroConfig, random: XorShift32): Module {
  const m = config.functionsPerModule;
  const prefix = `m${id}.`;
  const names = Array.from({ length: m }, (_, i) => `${prefix}f${i}`);
  const counterName = `${prefix}counters`;
  const vtables = Array.from({ length: config.vtablesPerModule }, (_, v) => `${prefix}vt${v}`);
  const runtime = (): string => runtimeName(random.below(config.runtimeFunctions));
  const sizes: number[] = [];
  const leasOf: (readonly string[])[] = [];
  const tier1Calls: string[][] = [];
  const optimizedCalls: string[][] = [];
  for (let i = 0; i < m; i++) {
    const leas = i === 0 ? vtables : [];
    // Sizes skew small (u^2), as most JIT-compiled functions are; the initializer fits its leas.
    let size = MIN_SIZE + Math.floor((MAX_SIZE - MIN_SIZE + 1) * unit01(random) ** 2);
    if (i === 0) size = Math.max(size, 64);
    const room = Math.floor((size - INC_SIZE - LEA_SIZE * leas.length - RET_SIZE) / CALL_SIZE);
    const callCount = Math.max(1, Math.min(room, 1 + Math.floor(size / 96)));
    const tier1: string[] = [];
    for (let c = 0; c < callCount; c++) {
      const r = unit01(random);
      if (r < 0.25) tier1.push(runtime());
      else if (r < 0.35) tier1.push(names[i]!);
      else if (r < 0.5) tier1.push(i + 1 < m ? names[i + 1 + random.below(m - i - 1)]! : names[i]!);
      else tier1.push(i > 0 ? names[random.below(i)]! : runtime());
    }
    // The optimizing tiers inline half the runtime calls and call a sibling (or itself) directly.
    const optimized = tier1.filter((s) => !s.startsWith('rt.') || unit01(random) < 0.5);
    optimized.push(names[random.below(i + 1)]!);
    sizes.push(size);
    leasOf.push(leas);
    tier1Calls.push(tier1);
    optimizedCalls.push(optimized);
  }
  const globals: GlobalDefinition[] = [counters(counterName, m)];
  for (const vt of vtables) {
    const relocations: Relocation[] = [{ offset: 0, type: 'R_X86_64_64', symbol: runtime() }];
    for (let s = 1; s < config.vtableSlots; s++) {
      relocations.push({ offset: 8 * s, type: 'R_X86_64_64', symbol: names[random.below(m)]! });
    }
    globals.push({ name: vt, size: 8 * config.vtableSlots, relocations });
  }
  const module: Module = {
    id, names, counterName, sizes, leas: leasOf, tier1Calls, optimizedCalls,
    bodies: Array.from({ length: m }, () => new Array<FunctionBody | undefined>(TIER_GROWTH.length).fill(undefined)),
    functions: [], globals, unit: undefined, handles: [],
    tier: new Uint8Array(m).fill(1), calls: new Int32Array(m), lastCalled: new Int32Array(m), lazy: new Uint8Array(m),
  };
  for (let i = 0; i < m; i++) module.functions.push({ name: names[i]!, ...bodyAt(module, i, 1) });
  return module;
}

/** Function i's body at tier t (1-based), made once. */
function bodyAt(module: Module, i: number, tier: number): FunctionBody {
  const made = module.bodies[i]![tier - 1];
  if (made !== undefined) return made;
  const size = Math.round(module.sizes[i]! * TIER_GROWTH[tier - 1]!);
  const calls = tier === 1 ? module.tier1Calls[i]! : module.optimizedCalls[i]!;
  const body = emit(size, module.counterName, i, module.leas[i]!, calls);
  module.bodies[i]![tier - 1] = body;
  return body;
}

// ---- the workload ----

function fragmentation(arena: ArenaStats): number {
  return arena.freeBytes === 0 ? 0 : 1 - arena.largestFreeBlock / arena.freeBytes;
}

function emptyCounts(): OperationCounts {
  return { steps: 0, loads: 0, unloads: 0, calls: 0, redefines: 0, evicts: 0, materializes: 0, pointers: 0, pointerFrees: 0 };
}

class Workload {
  readonly heap: CodeHeap;
  readonly #config: MacroConfig;
  /** Module shapes and simulation decisions come from separate streams, so neither shifts the other. */
  readonly #shapes: XorShift32;
  readonly #decisions: XorShift32;
  readonly #runtime: Unit;
  readonly window: Module[] = [];
  readonly #pointers: (Handle | undefined)[];
  #pointerNext = 0;
  /** The body a lazy call compiles, by function name: the function's current tier. */
  readonly #current = new Map<string, FunctionBody>();
  #step = 0;
  #nextModule = 0;
  /** ms spent inside heap calls during the current step. */
  #heapMs = 0;

  // What the timed iterations record (reset by startRecording).
  recording = false;
  counts = emptyCounts();
  pauses: number[] = [];
  /** [start, end) of each pause on performance.now()'s clock, to find V8's collections inside. */
  pauseWindows: (readonly [number, number])[] = [];
  freedPerCollection: number[] = [];
  peak = { codeBytes: 0, dataBytes: 0, usedBytes: 0 };
  low = { codeBytes: Infinity, dataBytes: Infinity, usedBytes: Infinity };
  maxFragmentation = { code: 0, data: 0 };
  /** stats() when recording started, and after the latest step. */
  first: HeapStats;
  last: HeapStats;

  constructor(config: MacroConfig) {
    this.#config = config;
    this.#shapes = new XorShift32(config.seed);
    this.#decisions = new XorShift32(config.seed ^ 0x5bd1e995);
    this.#pointers = new Array<Handle | undefined>(config.pointerRing).fill(undefined);
    this.heap = new CodeHeap({
      arch: 'x86_64',
      codeSize: config.codeSize,
      dataSize: config.dataSize,
      compile: (name) => {
        const body = this.#current.get(name);
        if (body === undefined) throw new Error(`macro bench: a lazy call to ${name}, which no loaded module defines`);
        return body;
      },
      observer: { collect: (result) => this.#collected(result) },
    });
    this.#runtime = this.heap.define({
      functions: runtimeModule(config.runtimeFunctions),
      globals: [counters(RUNTIME_COUNTERS, config.runtimeFunctions)],
    });
    this.last = this.heap.stats();
    this.first = this.last;
  }

  startRecording(): void {
    this.recording = true;
    this.counts = emptyCounts();
    this.pauses = [];
    this.pauseWindows = [];
    this.freedPerCollection = [];
    this.peak = { codeBytes: 0, dataBytes: 0, usedBytes: 0 };
    this.low = { codeBytes: Infinity, dataBytes: Infinity, usedBytes: Infinity };
    this.maxFragmentation = { code: 0, data: 0 };
    this.last = this.heap.stats();
    this.first = this.last;
  }

  /** One step; returns the ms spent inside heap calls (see the header: what is timed). */
  step(): number {
    const step = this.#step++;
    const config = this.#config;
    this.#heapMs = 0;
    if (step % config.loadEvery === 0) {
      this.#load(generateModule(this.#nextModule++, config, this.#shapes), step);
      if (this.window.length > config.window) this.#unload(this.window.shift()!);
    }
    this.#simulateCalls(step);
    this.#evictCold(step);
    this.#takePointers();
    if (this.recording) this.counts.steps++;
    this.#sample();
    return this.#heapMs;
  }

  #load(module: Module, step: number): void {
    const start = performance.now();
    const unit = this.heap.define({ functions: module.functions, globals: module.globals });
    for (const name of module.names) module.handles.push(unit.get(name));
    this.#heapMs += performance.now() - start;
    module.unit = unit;
    for (let i = 0; i < module.names.length; i++) {
      this.#current.set(module.names[i]!, bodyAt(module, i, 1));
      module.lastCalled[i] = step;
    }
    this.window.push(module);
    this.counts.loads++;
  }

  #unload(module: Module): void {
    const start = performance.now();
    module.unit!.free();
    this.#heapMs += performance.now() - start;
    for (const name of module.names) this.#current.delete(name);
    this.counts.unloads++;
  }

  /** Skewed towards recent modules (u^2 from the newest) and low indices (u^3): a few hot spots. */
  #simulateCalls(step: number): void {
    const { heap, window } = this;
    const random = this.#decisions;
    const [tier2, tier3] = this.#config.tierThresholds;
    const m = this.#config.functionsPerModule;
    for (let c = 0; c < this.#config.callsPerStep; c++) {
      const module = window[window.length - 1 - Math.floor(window.length * unit01(random) ** 2)]!;
      const i = Math.floor(m * unit01(random) ** 3);
      const handle = module.handles[i]!;
      if (module.lazy[i] === 1) {
        const start = performance.now();
        heap.materialize(handle);
        this.#heapMs += performance.now() - start;
        module.lazy[i] = 0;
        this.counts.materializes++;
      }
      const calls = ++module.calls[i]!;
      module.lastCalled[i] = step;
      this.counts.calls++;
      const tier = module.tier[i]!;
      if ((tier === 1 && calls >= tier2) || (tier === 2 && calls >= tier3)) {
        const body = bodyAt(module, i, tier + 1);
        const start = performance.now();
        heap.redefine(handle, body);
        this.#heapMs += performance.now() - start;
        module.tier[i] = tier + 1;
        this.#current.set(module.names[i]!, body);
        this.counts.redefines++;
      }
    }
  }

  #evictCold(step: number): void {
    const random = this.#decisions;
    for (let p = 0; p < this.#config.evictProbesPerStep; p++) {
      const module = this.window[random.below(this.window.length)]!;
      const i = random.below(this.#config.functionsPerModule);
      if (module.lazy[i] === 0 && step - module.lastCalled[i]! > this.#config.coldSteps) {
        const start = performance.now();
        this.heap.evict(module.handles[i]!);
        this.#heapMs += performance.now() - start;
        module.lazy[i] = 1;
        this.counts.evicts++;
      }
    }
  }

  #takePointers(): void {
    const random = this.#decisions;
    for (let p = 0; p < this.#config.pointersPerStep; p++) {
      const module = this.window[random.below(this.window.length)]!;
      const handle = module.handles[random.below(this.#config.functionsPerModule)]!;
      const oldest = this.#pointers[this.#pointerNext];
      const start = performance.now();
      const pointer = this.heap.pointer(handle);
      oldest?.free();
      this.#heapMs += performance.now() - start;
      if (oldest !== undefined) this.counts.pointerFrees++;
      this.#pointers[this.#pointerNext] = pointer;
      this.#pointerNext = (this.#pointerNext + 1) % this.#pointers.length;
      this.counts.pointers++;
    }
  }

  #collected(result: CollectionResult): void {
    if (!this.recording) return;
    // Only `collect` is observed, so the event is delivered as soon as the collection ends.
    const end = performance.now();
    this.pauses.push(result.ms);
    this.pauseWindows.push([end - result.ms, end]);
    this.freedPerCollection.push(result.freed);
  }

  #sample(): void {
    const stats = this.heap.stats();
    this.last = stats;
    if (!this.recording) return;
    const { peak, low, maxFragmentation } = this;
    peak.codeBytes = Math.max(peak.codeBytes, stats.code.usedBytes);
    peak.dataBytes = Math.max(peak.dataBytes, stats.data.usedBytes);
    peak.usedBytes = Math.max(peak.usedBytes, stats.usedBytes);
    low.codeBytes = Math.min(low.codeBytes, stats.code.usedBytes);
    low.dataBytes = Math.min(low.dataBytes, stats.data.usedBytes);
    low.usedBytes = Math.min(low.usedBytes, stats.usedBytes);
    maxFragmentation.code = Math.max(maxFragmentation.code, fragmentation(stats.code));
    maxFragmentation.data = Math.max(maxFragmentation.data, fragmentation(stats.data));
  }

  /** Unloads every module, drops every pointer and the runtime, collects: returns the nodes left. */
  teardown(): number {
    this.recording = false;
    for (const module of this.window.splice(0)) this.#unload(module);
    for (let k = 0; k < this.#pointers.length; k++) {
      this.#pointers[k]?.free();
      this.#pointers[k] = undefined;
    }
    this.#runtime.free();
    this.heap.collectCycles();
    return this.heap.stats().nodes.total;
  }
}

// ---- figures ----

/** V8's own collections (perf_hooks 'gc' entries), to tell how much of a pause was V8's, not ours. */
class V8GcWatch {
  readonly #entries: PerformanceEntry[] = [];
  readonly #observer = new PerformanceObserver((list) => {
    this.#entries.push(...list.getEntries());
  });

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** ms of V8 collections that started in any of the windows; stops watching. */
  async within(windows: readonly (readonly [number, number])[]): Promise<number> {
    // Entries arrive a turn of the event loop late: give them that turn, once, after the run.
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.#observer.disconnect();
    let ms = 0;
    for (const entry of this.#entries) {
      if (windows.some(([start, end]) => entry.startTime >= start && entry.startTime < end)) ms += entry.duration;
    }
    return ms;
  }
}

/** Nearest-rank percentile (p in (0, 1]) of values; 0 when there are none. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

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
  console.log(`  per step: ${per(o.loads)} loads, ${per(o.unloads)} unloads, ${per(o.calls)} calls, ${per(o.redefines)} redefines, ` +
    `${per(o.evicts)} evicts, ${per(o.materializes)} materializes, ${per(o.pointers)} pointers, ${per(o.pointerFrees)} pointer frees`);
  console.log(`peak used: code ${kib(r.peak.codeBytes)} of ${kib(r.config.codeSize)}, data ${kib(r.peak.dataBytes)} of ${kib(r.config.dataSize)}, ` +
    `both ${kib(r.peak.usedBytes)}; low (just after a collection): code ${kib(r.low.codeBytes)}, data ${kib(r.low.dataBytes)}`);
  console.log(`fragmentation (1 - largest free / free): code ${percent(r.fragmentation.code.end)} at the end, max ${percent(r.fragmentation.code.max)}; ` +
    `data ${percent(r.fragmentation.data.end)} at the end, max ${percent(r.fragmentation.data.max)}`);
  console.log(`collector: ${c.collections} collections, pause median ${c.pauseMedianMs.toFixed(2)} ms, p99 ${c.pauseP99Ms.toFixed(2)} ms, ` +
    `max ${c.pauseMaxMs.toFixed(2)} ms; ${c.pauseTotalMs.toFixed(0)} ms in all (${c.v8GcInPausesMs.toFixed(0)} ms of it V8's own gc), ` +
    `${percent(c.pauseShare)} of the timed time; ` +
    `median ${group(c.freedMedian)} nodes freed per collection`);
  console.log(`freed: ${group(c.freedByRc.nodes)} nodes by counting (${kib(c.freedByRc.bytes)}), ` +
    `${group(c.freedByCycles.nodes)} by the collector (${kib(c.freedByCycles.bytes)})`);
  const n = r.end.nodes;
  console.log(`end: ${group(n.total)} nodes (${group(n.functions)} functions, ${group(n.globals)} globals, ${group(n.stubs)} stubs; ` +
    `${group(n.lazy)} lazy), ${group(r.end.sites)} sites, ${group(r.end.candidates)} candidates, threshold ${group(r.end.cycleThreshold)}; ` +
    `verify() passed; total ${r.totalSeconds.toFixed(1)} s`);
}

export async function main(opts: { quick?: boolean } = {}): Promise<MacroResult> {
  const quick = opts.quick === true;
  const config = quick ? QUICK : FULL;
  const started = performance.now();
  console.log(`JIT-like workload: modules of ${config.functionsPerModule} functions, ${config.vtablesPerModule} vtables of ${config.vtableSlots} slots; ` +
    `a window of ${config.window} modules, one loaded every ${config.loadEvery} steps; ${config.callsPerStep} calls per step; ` +
    `arenas: code ${kib(config.codeSize)}, data ${kib(config.dataSize)}`);

  const workload = new Workload(config);
  // Fill the window first, so that every iteration, warm-up included, runs in the steady state.
  let warmupSteps = 0;
  for (; warmupSteps < config.window * config.loadEvery; warmupSteps++) workload.step();

  const bench = new Bench({
    name: 'macro',
    time: 0,
    iterations: config.iterations,
    warmupTime: 0,
    warmupIterations: config.warmupIterations,
    throws: true,
    retainSamples: true,
    setup: (_task, mode) => {
      if (mode === 'run') workload.startRecording();
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
  const v8GcInPausesMs = await v8.within(workload.pauseWindows);

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
      freedByRc: { nodes: end.freedByRc.nodes - first.freedByRc.nodes, bytes: end.freedByRc.bytes - first.freedByRc.bytes },
      freedByCycles: {
        nodes: end.freedByCycles.nodes - first.freedByCycles.nodes,
        bytes: end.freedByCycles.bytes - first.freedByCycles.bytes,
      },
    },
    end: { nodes: end.nodes, sites: end.sites, candidates: end.candidates, cycleThreshold: end.cycleThreshold },
    totalSeconds: (performance.now() - started) / 1000,
  };
  printResult(macro);
  return macro;
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick }));
}
