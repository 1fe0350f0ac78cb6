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

import type { HeapGraph } from '../rc/heap-graph.js';

/** What endCall needs of the frame beginCall opened. */
export interface CallFrame {
  /** The height of the held-ids stack below this call's entries. */
  readonly base: number;
  /** The heap's collection count when the call began. */
  readonly collections: number;
}

export class CallFrames {
  /** Counts held by running calls, as node ids, innermost call last. */
  private readonly held: number[] = [];
  /** Replaced bodies (retired) and their functions, each held once until the outermost call returns. */
  private readonly kept: number[] = [];
  private depth = 0;

  constructor(private readonly graph: HeapGraph, private readonly collections: () => number) {}

  /** True while any native call of this heap runs. */
  get running(): boolean {
    return this.depth > 0;
  }

  /** A call of fn begins: it holds fn until it returns. */
  beginCall(fn: number): CallFrame {
    const frame = { base: this.held.length, collections: this.collections() };
    this.hold(fn);
    this.depth++;
    return frame;
  }

  /** The innermost call holds fn too, until it returns (a function it compiled on the way). */
  hold(fn: number): void {
    this.graph.retainRoot(fn);
    this.held.push(fn);
  }

  /** A replaced body retired while a call runs: it and its function are held until the outermost returns. */
  keep(retired: number, fn: number): void {
    this.graph.retainRoot(fn);
    this.kept.push(retired, fn);
  }

  /** The call that opened `frame` returned (or threw): its counts go, and at the outermost, the kept bodies'. */
  endCall(frame: CallFrame): void {
    this.depth--;
    const balanced = this.collections() === frame.collections;
    while (this.held.length > frame.base) this.release(this.held.pop()!, balanced);
    if (this.depth === 0) {
      while (this.kept.length > 0) this.release(this.kept.pop()!, balanced);
    }
  }

  private release(id: number, balanced: boolean): void {
    if (balanced) this.graph.releaseRootUnbuffered(id);
    else this.graph.releaseRoot(id);
  }
}
