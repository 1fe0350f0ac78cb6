// The JIT-like workload's simulation: a tiered JIT's steps as calls on one code heap, with what
// the timed iterations record for bench/macro.bench.ts (counts, pauses, used bytes, fragmentation).
//
// The workload (WORKLOAD in bench/macro-config.ts; deterministic: two xorshift32 streams, one for
// the modules' shapes, one for the simulation's decisions, so neither shifts the other) holds the
// runtime for the whole run and loads the modules of bench/macro-modules.ts:
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

import type { ArenaStats, CollectionResult, FunctionBody, Handle, HeapStats, Unit } from '../src/index.js';
import type { MacroConfig } from './macro-config.js';
import {
  bodyAt, counters, generateModule, RUNTIME_COUNTERS, runtimeModule, unit01, type Module,
} from './macro-modules.js';
import { XorShift32 } from './shapes.js';

/**
 * The compiled library (`npm run build` writes it), as users run it; its types are the sources'.
 * A path in a variable, so that typechecking a fresh clone does not need dist/ to exist.
 */
const DIST_ENTRY: string = '../dist/index.js';
/** Heap calls longer than this are checked for V8's own collections inside (ms). */
const LONG_CALL_MS = 0.5;
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
type CodeHeap = InstanceType<typeof CodeHeap>;

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

export function fragmentation(arena: ArenaStats): number {
  return arena.freeBytes === 0 ? 0 : 1 - arena.largestFreeBlock / arena.freeBytes;
}

function emptyCounts(): OperationCounts {
  return { steps: 0, loads: 0, unloads: 0, calls: 0, redefines: 0, evicts: 0, materializes: 0, pointers: 0, pointerFrees: 0 };
}

export class Workload {
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
  /** ms of every heap call while recording: the pauses the program feels, slices included. */
  callMs: number[] = [];
  /** [start, end, index in callMs) of each heap call over LONG_CALL_MS, to find V8's collections inside. */
  longCalls: (readonly [number, number, number])[] = [];
  /** With cyclePause: each collection's slices and its longest slice, in ms. */
  slices: number[] = [];
  longestSliceMs: number[] = [];
  /** [start, end) of each collection's longest slice, to find V8's collections inside. */
  longestSliceWindows: (readonly [number, number])[] = [];
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
      ...(config.cyclePause === undefined ? {} : { cyclePause: config.cyclePause }),
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
    this.callMs = [];
    this.longCalls = [];
    this.slices = [];
    this.longestSliceMs = [];
    this.longestSliceWindows = [];
    this.pauseWindows = [];
    this.freedPerCollection = [];
    this.peak = { codeBytes: 0, dataBytes: 0, usedBytes: 0 };
    this.low = { codeBytes: Infinity, dataBytes: Infinity, usedBytes: Infinity };
    this.maxFragmentation = { code: 0, data: 0 };
    this.last = this.heap.stats();
    this.first = this.last;
  }

  /** One step; returns the ms spent inside heap calls (see bench/macro.bench.ts's header: what is timed). */
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
    this.#spent(start);
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
    this.#spent(start);
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
        this.#spent(start);
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
        this.#spent(start);
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
        this.#spent(start);
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
      this.#spent(start);
      if (oldest !== undefined) this.counts.pointerFrees++;
      this.#pointers[this.#pointerNext] = pointer;
      this.#pointerNext = (this.#pointerNext + 1) % this.#pointers.length;
      this.counts.pointers++;
    }
  }

  /** A heap call that began at `start` has returned. */
  #spent(start: number): void {
    const ms = performance.now() - start;
    this.#heapMs += ms;
    if (!this.recording) return;
    if (ms > LONG_CALL_MS) this.longCalls.push([start, start + ms, this.callMs.length]);
    this.callMs.push(ms);
  }

  #collected(result: CollectionResult): void {
    if (!this.recording) return;
    // Only `collect` is observed, so the event is delivered as soon as the collection ends.
    const end = performance.now();
    this.pauses.push(result.ms);
    this.pauseWindows.push([end - result.ms, end]);
    this.freedPerCollection.push(result.freed);
    if (result.slices !== undefined) this.slices.push(result.slices);
    if (result.longestSliceMs !== undefined) {
      this.longestSliceMs.push(result.longestSliceMs);
      const at = result.longestSliceAt ?? end;
      this.longestSliceWindows.push([at, at + result.longestSliceMs]);
    }
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
