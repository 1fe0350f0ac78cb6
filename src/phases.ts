// The heap's phase: what is running now, and so what may be called.
//
// Re-entrancy is a named state, checked at every public entry: 'idle' between calls, 'linking'
// while a call mutates the heap, 'notifying' while observers hear about it (or a caller's writer
// is handed the heap's text), 'collecting' while the cycle collector runs. A mutating call outside
// 'idle' is REENTRANT_CALL. A closed heap refuses everything with USE_AFTER_FREE.
//
// This is also where a mutating call ends: settle() runs an automatic collection if one is due
// (a safe point: never inside another call) and then delivers the call's events.

import type { CycleCollector } from './cycles/collect.js';
import type { CollectionPolicy } from './cycles/policy.js';
import type { SliceBudget } from './cycles/sliced-phases.js';
import type { SlicedCollector } from './cycles/sliced.js';
import { CodeHeapError } from './errors.js';
import type { EventQueue } from './events.js';
import type { CandidateBuffer } from './rc/candidates.js';
import type { CollectionResult } from './types.js';

export type Phase = 'idle' | 'linking' | 'notifying' | 'collecting';

export class Phases {
  phase: Phase = 'idle';
  /** Collections run so far (whole, or the last slice of a sliced one), for stats(). */
  collections = 0;
  /** Collections and slices run so far: a running call learns from it whether any ran (calls.ts). */
  collectorRuns = 0;
  closed = false;
  /** Milliseconds the slices of a sliced collection have taken so far, how many, the longest and when it began. */
  private slicedMs = 0;
  private slices = 0;
  private longestSlice = 0;
  private longestSliceAt = 0;

  constructor(
    private readonly events: EventQueue,
    private readonly collector: CycleCollector,
    private readonly policy: CollectionPolicy,
    private readonly candidates: CandidateBuffer,
    private readonly sliced: SlicedCollector,
    /** Milliseconds per automatic slice; undefined: automatic collections run whole. */
    private readonly pause: number | undefined,
  ) {}

  /** USE_AFTER_FREE once the heap is closed. */
  open(operation: string): void {
    if (this.closed) refuseClosed(operation);
  }

  /** The entry check of a call that may mutate: open, and idle (refusals out of line: heap.call runs it). */
  enter(operation: string): void {
    if (this.closed) refuseClosed(operation);
    if (this.phase !== 'idle') refuseReentry(operation, this.phase);
  }

  /** Runs one mutating call in the 'linking' phase, then settles. */
  mutate<T>(operation: string, body: () => T): T {
    this.enter(operation);
    this.phase = 'linking';
    let result: T;
    try {
      result = body();
    } catch (error) {
      // A failed call changed nothing of its own, but a collection it ran (before giving up on a
      // duplicate name or an allocation) did free memory: that is reported now, by this call.
      this.phase = 'idle';
      this.deliver();
      throw error;
    }
    this.phase = 'idle';
    this.settle();
    return result;
  }

  /** Runs a reading call that hands control to the caller (a writer): mutating from it is refused. */
  reading(operation: string, body: () => void): void {
    this.enter(operation);
    this.phase = 'notifying';
    try {
      body();
    } finally {
      this.phase = 'idle';
    }
  }

  /** The end of a public call that changed counts: an automatic collection if due, then events. */
  settle(): void {
    if (this.sliced.running) {
      // A sliced collection goes on by itself only in the automatic mode; else its caller drives it.
      if (this.pause !== undefined) this.slice({ ms: this.pause, work: Infinity }, true);
    } else if (this.policy.due(this.candidates.live)) {
      if (this.pause !== undefined) this.slice({ ms: this.pause, work: Infinity }, true);
      else this.collect(true);
    }
    this.deliver();
  }

  /** Delivers the events waiting, in the 'notifying' phase. */
  deliver(): void {
    if (!this.events.pending()) return;
    this.phase = 'notifying';
    try {
      this.events.deliver();
    } finally {
      this.phase = 'idle';
    }
  }

  /**
   * Runs the collector. Only an automatic run (one the threshold started, so it began with a full
   * buffer) tells the policy how productive such runs are; explicit and before-giving-up runs
   * start with whatever the buffer holds and would skew it.
   */
  collect(automatic = false): CollectionResult {
    // A sliced collection still running is finished first: it holds the candidates it took.
    if (this.sliced.running) this.slice({ ms: Infinity, work: Infinity }, false);
    const previous = this.phase;
    this.phase = 'collecting';
    let result: CollectionResult;
    try {
      result = this.collector.collectCycles();
    } finally {
      this.phase = previous;
    }
    this.collections++;
    this.collectorRuns++;
    if (automatic) this.policy.record(result);
    this.events.collected(result);
    if (previous === 'idle') this.deliver();
    return result;
  }

  /**
   * Runs one slice of a sliced collection (cycles/sliced.ts), starting one if none runs. Returns
   * this slice's figures (`done` false while the collection goes on); the collect event, the
   * policy and stats().collections hear of the collection once, when it is done, with its totals.
   */
  slice(budget: SliceBudget, automatic: boolean): CollectionResult {
    const started = performance.now();
    const { sliced } = this;
    const previous = this.phase;
    this.phase = 'collecting';
    let done: boolean;
    let freed: { nodes: number; bytes: number };
    try {
      if (!sliced.running) {
        this.slicedMs = 0;
        this.slices = 0;
        this.longestSlice = 0;
        sliced.start();
      }
      const { nodes, bytes } = sliced.total;
      done = sliced.slice(budget, started);
      freed = { nodes: sliced.total.nodes - nodes, bytes: sliced.total.bytes - bytes };
    } finally {
      this.phase = previous;
    }
    this.collectorRuns++;
    const ms = performance.now() - started;
    this.slicedMs += ms;
    this.slices++;
    if (ms > this.longestSlice) {
      this.longestSlice = ms;
      this.longestSliceAt = started;
    }
    const result: CollectionResult = { freed: freed.nodes, bytes: freed.bytes, visited: sliced.visited, candidates: sliced.candidates, ms, done };
    if (done) {
      this.collections++;
      const total = sliced.total;
      const whole: CollectionResult = {
        ...result, freed: total.nodes, bytes: total.bytes, ms: this.slicedMs, slices: this.slices,
        longestSliceMs: this.longestSlice, longestSliceAt: this.longestSliceAt,
      };
      if (automatic) this.policy.record(whole);
      this.events.collected(whole);
      if (previous === 'idle') this.deliver();
    }
    return result;
  }
}

function refuseClosed(operation: string): never {
  throw new CodeHeapError('USE_AFTER_FREE', `${operation}: the heap was closed`);
}

function refuseReentry(operation: string, phase: Phase): never {
  throw new CodeHeapError('REENTRANT_CALL', `${operation} was called while the heap is ${phase}; observers and collections may only read the heap`);
}
