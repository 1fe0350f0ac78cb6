// Running the heap's code: the protocol every native call follows, heap.call's and heap.bind's.
//
// A call checks its entry (an open, idle heap; a live handle on a function; memory the CPU can
// execute), then holds a count on its function for as long as it runs (bodies/calls.ts, which
// also keeps every body replaced meanwhile), and at its end lets go of the counts and, when code
// of the caller's ran during it, ends as a mutating call does (an automatic collection if due,
// then the events). While it runs, a lazy function's trampoline enters the resolver (native
// memory's machine code), which asks `resolveLazy` here to compile the function and where to go.
//
// heap.call and the functions heap.bind makes differ only in how they pass arguments and read the
// result (call-arguments.ts, native-signature.ts); what keeps the heap safe while code runs is here,
// once.

import * as base from './base.js';
import type { CallFrames } from './bodies/calls.js';
import { CodeHeapError, hex } from './errors.js';
import type { Handle } from './handle.js';
import type { Region } from './heap/region.js';
import type { Phases } from './phases.js';
import type { HeapGraph } from './rc/heap-graph.js';
import { callError } from './native-fault.js';
import type { Roots } from './roots.js';
import type { StubManager } from './stubs/stub-manager.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, NONE } = base;

/** Compiles the lazy function fn for a running call (the facade's materialize). */
export type MaterializeForCall = (fn: number, name: string) => void;

export class NativeCalls {
  constructor(
    private readonly phases: Phases,
    private readonly roots: Roots,
    private readonly graph: HeapGraph,
    private readonly calls: CallFrames,
    private readonly stubs: StubManager,
    private readonly materialize: MaterializeForCall,
  ) {}

  /** The region the code runs in. */
  get region(): Region {
    return this.graph.arenas.region;
  }

  /**
   * The entry checks of a native call, refusals out of line (heap.call runs them every time):
   * USE_AFTER_FREE on a closed heap or a freed handle, REENTRANT_CALL outside 'idle',
   * INVALID_ARGUMENT for what is not a function handle of this heap, NOT_EXECUTABLE when the
   * memory cannot run code (`typed`: cannot run heap.bind's typed calls). Returns fn's id.
   */
  enter(handle: Handle, operation: string, typed: boolean): number {
    this.phases.enter(operation);
    return this.check(handle, operation, typed);
  }

  /** enter's checks of the handle and the memory alone (heap.bind, which runs nothing yet). */
  check(handle: Handle, operation: string, typed: boolean): number {
    const id = this.roots.idOf(handle, operation, FUNCTION);
    const region = this.graph.arenas.region;
    if (!region.executable || (typed ? region.callTyped === undefined : region.call === undefined)) {
      refuseNotExecutable(operation, handle, region, typed);
    }
    return id;
  }

  /** What the caller of a call that threw gets: a fault of the code becomes MACHINE_FAULT (native-fault.ts). */
  failed(error: unknown, operation: string, name: string): unknown {
    return callError(this.graph, error, operation, name);
  }

  /** The call of fn begins: it holds fn until end(). Returns the address to run. */
  begin(fn: number): number {
    this.calls.beginCall(fn);
    return this.graph.addressOf(fn);
  }

  /** The innermost call returned or threw: its counts go; a call that ran the caller's code settles. */
  end(): void {
    // Letting go of the call's counts runs no code of the caller's (events wait for settle).
    if (this.calls.endCall()) this.phases.settle();
  }

  /**
   * What a reentry trampoline's resolver asks while a call runs: hold the lazy function the
   * trampoline belongs to for the rest of the innermost call, compile it (materialize: compile
   * callback, backpatch) and return the address where the call continues.
   */
  readonly resolveLazy = (returnAddress: number): number => {
    const fn = this.stubs.functionEnteredAt(returnAddress);
    if (!this.calls.running || fn === NONE) {
      throw new CodeHeapError('CORRUPT', `call: code entered the resolver from ${hex(returnAddress)}, which is no lazy function's trampoline`);
    }
    this.phases.mutate('call', () => this.calls.hold(fn));
    this.materialize(fn, this.graph.nodes.names[fn]!);
    return this.graph.addressOf(fn);
  };
}

function refuseNotExecutable(operation: string, handle: Handle, region: Region, typed: boolean): never {
  const what = region.executable && typed ? 'cannot run typed calls (heap.bind)' : 'cannot execute code';
  throw new CodeHeapError('NOT_EXECUTABLE', `${operation}(${handle.name}): the heap's memory (${region.description}) ${what}`);
}
