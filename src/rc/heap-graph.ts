// The heap's graph as the layers above see it: counting (counted-graph.ts) and the named writers
// through which they change nodes.
//
// rc is the only writer of node state (the collector's colors and trial counts aside): stubs/,
// link/ and bodies/ create and change nodes through these writers only, each of which keeps every
// index (symbols, trampolines, external stubs, live counts, body holds) in step with the records.

import * as base from '../base.js';
import type { CompileCallback } from '../types.js';
import { CountedGraph } from './counted-graph.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE, RETIRED, STUB } = base;

/** A body swapBody took out of its function: still allocated, its sites still counted. */
export interface OldBody {
  readonly block: number;
  readonly firstOut: number;
  readonly wasLazy: boolean;
}

export type { ReclaimReason, ReclaimedNode } from './counted-graph.js';

export class HeapGraph extends CountedGraph {
  /** A new function or global, in the symbol index under its name. Pre: the name is free. */
  createSymbol(kind: number, name: string, block: number, lazy: boolean, compile: CompileCallback | undefined): number {
    const { nodes } = this;
    const id = nodes.allocate(kind, name, block);
    nodes.symbols.bind(name, id);
    nodes.setCompile(id, compile);
    if (lazy) {
      nodes.setLazy(id, true);
      nodes.byTrampoline.set(this.addressOf(id), id);
    }
    return id;
  }

  /** A new stub: its code block and pointer slot; an external's is indexed by the external's name. */
  createStub(name: string, code: number, slot: number, external: boolean): number {
    const { nodes } = this;
    const stub = nodes.allocate(STUB, name, code);
    nodes.setSlot(stub, slot, external);
    if (external) nodes.externalStubs.set(name, stub);
    return stub;
  }

  /** The function a stub jumps to (the target of its slot's site), or -1 for an external's stub. */
  functionOfStub(stub: number): number {
    const slotSite = this.nodes.firstOut[stub]!;
    return slotSite === NONE ? NONE : this.sites.targetOf(slotSite);
  }

  /** stub is fn's canonical stub from now on. */
  setStub(fn: number, stub: number): void {
    this.nodes.setStubOf(fn, stub);
  }

  /**
   * Gives fn a new block (a body, or a trampoline when `lazy`) with no sites yet, and returns the
   * old one detached: still allocated, its outgoing list still counted, for the caller to retire
   * or release. The trampoline index follows: a function is found by its trampoline exactly while
   * it is lazy.
   */
  swapBody(fn: number, block: number, lazy: boolean): OldBody {
    const { nodes } = this;
    const old: OldBody = { block: nodes.block[fn]!, firstOut: nodes.firstOut[fn]!, wasLazy: nodes.isLazy(fn) };
    if (old.wasLazy) nodes.byTrampoline.delete(this.addressOf(fn));
    nodes.setBlock(fn, block);
    nodes.setFirstOut(fn, NONE);
    nodes.setLazy(fn, lazy);
    if (lazy) nodes.byTrampoline.set(this.addressOf(fn), fn);
    return old;
  }

  /**
   * Makes an old body of fn a RETIRED node that owns its block and sites, with `counts` root
   * counts (its pins, and a running call's hold); the pins' hold moves to it. Pre: `old` came from
   * swapBody and was not a trampoline.
   */
  createRetired(fn: number, old: OldBody, counts: number): number {
    const { nodes } = this;
    const retired = nodes.allocate(RETIRED, nodes.names[fn]!, old.block);
    nodes.setFirstOut(retired, old.firstOut);
    const { sites } = this;
    for (let s = old.firstOut; s !== NONE; s = sites.nextOf(s)) sites.sources[s] = retired;
    nodes.setRetiredFrom(retired, fn);
    nodes.rc[retired] = counts;
    nodes.roots[retired] = counts;
    this.holds.retire(fn, retired);
    return retired;
  }

  /** Frees an old body now: its block goes back and its sites are dropped (which may cascade). */
  releaseBody(old: OldBody): void {
    this.arenas.code.free(old.block);
    this.dropSites(old.firstOut);
  }

}
