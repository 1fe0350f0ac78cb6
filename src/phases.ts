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
import { CodeHeapError } from './errors.js';
import type { EventQueue } from './events.js';
import type { CandidateBuffer } from './rc/candidates.js';
import type { CollectionResult } from './types.js';

export type Phase = 'idle' | 'linking' | 'notifying' | 'collecting';

export class Phases {
  phase: Phase = 'idle';
  /** Collections run so far, for stats(). */
  collections = 0;
  closed = false;

  constructor(
    private readonly events: EventQueue,
    private readonly collector: CycleCollector,
    private readonly policy: CollectionPolicy,
    private readonly candidates: CandidateBuffer,
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
    if (this.policy.due(this.candidates.live)) this.collect(true);
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
    const previous = this.phase;
    this.phase = 'collecting';
    let result: CollectionResult;
    try {
      result = this.collector.collectCycles();
    } finally {
      this.phase = previous;
    }
    this.collections++;
    if (automatic) this.policy.record(result);
    this.events.collected(result);
    if (previous === 'idle') this.deliver();
    return result;
  }
}

function refuseClosed(operation: string): never {
  throw new CodeHeapError('USE_AFTER_FREE', `${operation}: the heap was closed`);
}

function refuseReentry(operation: string, phase: Phase): never {
  throw new CodeHeapError('REENTRANT_CALL', `${operation} was called while the heap is ${phase}; observers and collections may only read the heap`);
}
