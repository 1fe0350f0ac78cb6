// The counts held by native calls running now (heap.call, and the calls a compile callback makes).
//
// A call holds a count on its function, and on every function it compiles on the way (a
// trampoline entered: compile, backpatch, continue), so none is reclaimed while it may be
// running. The counts live on one stack of ids, innermost call last: no object per call, this is
// the hot path of running JIT code. A body replaced while any call runs is kept (retired) until
// the outermost call returns, with a count on it and one on its function (`keep`): the machine
// stack is not walked, so every replaced body is treated as possibly running.
//
// When a call returns, its counts go without making their nodes cycle candidates, unless a
// collection ran during the call (see HeapGraph.releaseRootUnbuffered): a call, even one whose
// compile callback threw, leaves the candidate buffer as it found it.

import { grown } from '../base.js';
import type { HeapGraph } from '../rc/heap-graph.js';

/** The mark in the held-ids stack where a call's entries begin (no node has this id). */
const FRAME = -1;

/** What counts the heap's collections (the facade's phases). */
export interface CollectionCount {
  /** Collections and slices of one run so far. */
  readonly collectorRuns: number;
}

export class CallFrames {
  /**
   * Counts held by running calls, as node ids, innermost call last; each call's entries follow a
   * FRAME mark, so a call that returns lets go of its own and no more.
   */
  private held = new Int32Array(64);
  private top = 0;
  /** The heap's collection count when the outermost running call began. */
  private collectionsAtStart = 0;
  /** Replaced bodies (retired) and their functions, each held once until the outermost call returns. */
  private readonly kept: number[] = [];
  private depth = 0;

  constructor(private readonly graph: HeapGraph, private readonly count: CollectionCount) {}

  /** True while any native call of this heap runs. */
  get running(): boolean {
    return this.depth > 0;
  }

  /** A call of fn begins: it holds fn until it returns (endCall). */
  beginCall(fn: number): void {
    if (this.depth++ === 0) this.collectionsAtStart = this.count.collectorRuns;
    if (this.top + 2 > this.held.length) this.grow();
    this.held[this.top++] = FRAME;
    this.held[this.top++] = fn;
    this.graph.retainRoot(fn);
  }

  /** The innermost call holds fn too, until it returns (a function it compiled on the way). */
  hold(fn: number): void {
    if (this.top === this.held.length) this.grow();
    this.held[this.top++] = fn;
    this.graph.retainRoot(fn);
  }

  private grow(): void {
    this.held = grown(this.held, this.held.length * 2);
  }

  /** A replaced body retired while a call runs: it and its function are held until the outermost returns. */
  keep(retired: number, fn: number): void {
    this.graph.retainRoot(fn);
    this.kept.push(retired, fn);
  }

  /**
   * The innermost call returned (or threw): its counts go, and at the outermost, the kept bodies'.
   * Returns whether the call may have changed the heap beyond its own counts, and so needs the
   * end of a mutating call (Phases.settle). It did not when it held nothing but its function: then
   * it entered no trampoline, so no code of the caller's ran (no compile, no free, no collection)
   * and its one count went back exactly, leaving counts, candidates and events as they were.
   */
  endCall(): boolean {
    this.depth--;
    // Balanced unless a collection ran since the outermost call began (inner calls are inside it).
    const balanced = this.count.collectorRuns === this.collectionsAtStart;
    const { held } = this;
    const entries = this.top;
    for (let id = held[--this.top]!; id !== FRAME; id = held[--this.top]!) this.release(id, balanced);
    if (this.depth === 0 && this.kept.length > 0) this.releaseKept(balanced);
    return !balanced || entries - this.top > 2;
  }

  private releaseKept(balanced: boolean): void {
    const { kept } = this;
    while (kept.length > 0) this.release(kept.pop()!, balanced);
  }

  private release(id: number, balanced: boolean): void {
    if (balanced) this.graph.releaseRootUnbuffered(id);
    else this.graph.releaseRoot(id);
  }
}
