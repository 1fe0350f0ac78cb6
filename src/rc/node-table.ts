// The node table: every function, global, stub and retired body of the heap, as a struct of
// typed arrays indexed by node id.
//
// One record per node, 27 bytes plus a name reference. Ids are recycled through a free stack,
// linked through `firstOut` so that it needs no array of its own: the collector's batch free
// reads a node's firstOut anyway, so pushing the id writes a line already loaded. An id whose
// node was reclaimed while it sat in the cycle collector's candidate buffer stays DEAD (reserved)
// until the buffer lets it go, so the buffer never names a recycled id.
//
// The packed flags of a node are drawn and defined in node-flags.ts.
//
// Per node:
//  rc        relocation sites targeting it + roots + 1 for a function whose stub exists
//  roots     handles and pins on it (kept so verify() can recount rc exactly)
//  block     allocator block: body, trampoline or stub code (code arena); a global's data
//  link      FUNCTION: its stub, or -1 (stubOf)
//            STUB: its 8-byte pointer slot, a data-arena block (slotOf); the function a stub
//              jumps to is the target of that slot's site, so it is not stored twice
//            RETIRED: the function it was a body of (retiredFrom)
//            GLOBAL: -1
//  firstOut  head of its outgoing relocation sites; a free id: the next free id on the stack
//  firstIn   head of the sites targeting it
//  generation  how many nodes the id has held, modulo 256: a unit remembers its nodes by id and
//            generation, so that the last of its handles to go (DESIGN semantics 10) does not
//            take a recycled id for one of them. After 256 reuses an id may pass for its old node,
//            which costs that unload one more node to look at and frees nothing wrongly (trial
//            deletion over any set of nodes frees only garbage: cycles/unload.ts).
//
// Side state, beside the records: a function's or global's name, a function's own compile
// callback, and the indexes from names and addresses back to ids. Only rc/ writes any of it,
// through the named writers below and in heap-graph.ts (the collector's phases write colors and
// trial counts in their loops, which are its own).

import * as base from '../base.js';
import { grown } from '../base.js';
import { CodeHeapError } from '../errors.js';
import { LargeMap } from '../large-map.js';
import type { CompileCallback } from '../types.js';
import * as nodeFlags from './node-flags.js';
import { SymbolIndex } from './symbol-index.js';

// The flags are part of the table's contract: every module that reads node state reads them here.
export * from './node-flags.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, GLOBAL, NONE, RETIRED, STUB } = base;
const { ALIVE, CLASS_MASK, DOOMED_MASK, EXTERN, GREEN, KIND_MASK, LAZY, SEEN } = nodeFlags;

/** Kind names as users see them, indexed by kind. */
export const KIND_NAMES = ['function', 'global', 'stub', 'retired'] as const;

/** Bytes of typed-array record per node id (flags 2 + six Int32 fields + generation 1). */
export const NODE_RECORD_BYTES = 2 + 6 * 4 + 1;

/** Node ids fit in the 27 bits a relocation site keeps for its target. */
export const MAX_NODES = 1 << 27;

export class NodeTable {
  flags = new Uint16Array(0);
  rc = new Int32Array(0);
  roots = new Int32Array(0);
  block = new Int32Array(0);
  link = new Int32Array(0);
  firstOut = new Int32Array(0);
  firstIn = new Int32Array(0);
  generation = new Uint8Array(0);
  /** Function and global names; a stub's and a retired body's are derived (see nameOf). */
  names: string[] = [];
  /** A function's own compile callback (else the heap's), by id; undefined for other kinds. */
  private readonly compileFns: (CompileCallback | undefined)[] = [];
  /** Live ids with a callback in compileFns: while none has, freeing an id need not look there. */
  private ownCompiles = 0;

  /** Functions and globals by name: the symbols lookup and relocations resolve against. */
  readonly symbols = new SymbolIndex(this);
  /** Stubs of external symbols, by the external's name (one canonical stub each). */
  readonly externalStubs = new LargeMap<string, number>();
  /** Lazy functions by trampoline address: how the resolver learns which function was entered. */
  readonly byTrampoline = new LargeMap<number, number>();

  /** Top of the stack of free ids, linked through `firstOut` (a free id has no sites). */
  private freeTop = NONE;
  /** Ids ever handed out; ids below it are in use, DEAD, or on the free stack. */
  private highWater = 0;
  /** Ids on the free stack. */
  private freeIds = 0;
  /**
   * ALIVE nodes by class, the flags' kind and LAZY bits (0 .. 7), so that stats() counts nodes
   * without walking the table. Changed only by allocate, setLazy and dropLive.
   */
  readonly liveByClass = new Int32Array(CLASS_MASK + 1);

  /** Nodes holding memory (ALIVE): the sum of the counts by class. */
  get liveCount(): number {
    let count = 0;
    for (let c = 0; c < this.liveByClass.length; c++) count += this.liveByClass[c]!;
    return count;
  }

  get capacity(): number {
    return this.flags.length;
  }

  /** Pre: kind is one of the four kinds. Post: a fresh ALIVE record with rc 0 and no sites. */
  allocate(kind: number, name: string, block: number): number {
    let id: number;
    if (this.freeTop !== NONE) {
      id = this.freeTop;
      this.freeTop = this.firstOut[id]!;
      this.freeIds--;
    } else {
      if (this.highWater === this.capacity) this.reserve(1);
      id = this.highWater++;
    }
    this.flags[id] = kind | ALIVE | GREEN;
    this.generation[id]!++;
    this.rc[id] = 0;
    this.roots[id] = 0;
    this.block[id] = block;
    this.link[id] = NONE;
    this.firstOut[id] = NONE;
    this.firstIn[id] = NONE;
    this.names[id] = name;
    this.compileFns[id] = undefined;
    this.liveByClass[kind]!++;
    return id;
  }

  /**
   * Makes sure `extra` more ids can be handed out without growing, so that a commit never fails
   * half done: OUT_OF_MEMORY (nothing changed) when the table would pass MAX_NODES or its arrays
   * cannot be allocated.
   */
  reserve(extra: number): void {
    const free = this.capacity - this.highWater + this.freeIds;
    if (extra <= free) return;
    const needed = this.highWater + (extra - free);
    if (needed > MAX_NODES) {
      throw new CodeHeapError('OUT_OF_MEMORY', `the node table holds at most ${MAX_NODES} nodes; ${this.liveCount} are live and ${extra} more were asked for`);
    }
    let size = Math.max(64, this.capacity * 2);
    while (size < needed) size *= 2;
    this.grow(Math.min(size, MAX_NODES));
  }

  /** Returns an id to the free stack. Pre: not ALIVE and not BUFFERED. */
  releaseId(id: number): void {
    this.releaseUncounted(id);
    this.freeIds++;
  }

  /**
   * releaseId for a batch (the collector's free): the caller counts the ids it released with
   * countReleased once, rather than a shared counter per node that the loop would wait on.
   */
  releaseUncounted(id: number): void {
    this.flags[id] = 0;
    this.names[id] = '';
    // Most heaps give no function a compile callback of its own: then nothing is looked at.
    if (this.ownCompiles > 0 && this.compileFns[id] !== undefined) {
      this.compileFns[id] = undefined;
      this.ownCompiles--;
    }
    this.firstOut[id] = this.freeTop;
    this.freeTop = id;
  }

  /** `count` ids released by releaseUncounted join the free count. */
  countReleased(count: number): void {
    this.freeIds += count;
  }

  /** True while a sliced collection frees the garbage it found (cycles/sliced.ts). */
  dooming = false;

  /** Garbage a sliced collection found and is freeing: still allocated, no longer reachable. */
  isDoomed(id: number): boolean {
    return this.dooming && (this.flags[id]! & DOOMED_MASK) === SEEN;
  }

  kindOf(id: number): number {
    return this.flags[id]! & KIND_MASK;
  }
  isAlive(id: number): boolean {
    return (this.flags[id]! & ALIVE) !== 0;
  }
  /** A live function or global: a node that owns its name in the symbol index. */
  isSymbol(id: number): boolean {
    return (this.flags[id]! & (ALIVE | KIND_MASK)) === (ALIVE | FUNCTION)
      || (this.flags[id]! & (ALIVE | KIND_MASK)) === (ALIVE | GLOBAL);
  }
  /** A node with no outgoing sites (see GREEN). */
  isGreen(id: number): boolean {
    return (this.flags[id]! & GREEN) !== 0;
  }
  isLazy(id: number): boolean {
    return (this.flags[id]! & LAZY) !== 0;
  }
  setLazy(id: number, lazy: boolean): void {
    const before = this.flags[id]!;
    const after = lazy ? before | LAZY : before & ~LAZY;
    this.flags[id] = after;
    if ((before & ALIVE) !== 0) {
      this.liveByClass[before & CLASS_MASK]!--;
      this.liveByClass[after & CLASS_MASK]!++;
    }
  }

  /**
   * Makes `site` the head of a live node's outgoing sites (NONE: it has none), and keeps GREEN
   * saying whether it has any.
   */
  setFirstOut(id: number, site: number): void {
    this.firstOut[id] = site;
    const flags = this.flags[id]!;
    this.flags[id] = site === NONE ? flags | GREEN : flags & ~GREEN;
  }

  /** A node stops holding memory: it leaves the live counts. Pre: ALIVE (the caller clears it). */
  dropLive(id: number): void {
    this.dropLiveOfClass(this.flags[id]! & CLASS_MASK, 1);
  }

  /** `count` nodes of one class (flags & CLASS_MASK) stop holding memory, as dropLive. */
  dropLiveOfClass(nodeClass: number, count: number): void {
    this.liveByClass[nodeClass]! -= count;
  }

  /** A function's own compile callback, or undefined (the heap's then applies). */
  compileOf(fn: number): CompileCallback | undefined {
    return this.compileFns[fn];
  }
  setCompile(fn: number, compile: CompileCallback | undefined): void {
    this.ownCompiles += (compile !== undefined ? 1 : 0) - (this.compileFns[fn] !== undefined ? 1 : 0);
    this.compileFns[fn] = compile;
  }
  setBlock(id: number, block: number): void {
    this.block[id] = block;
  }
  /** fn's stub is `stub` now (NONE: it has none). */
  setStubOf(fn: number, stub: number): void {
    this.link[fn] = stub;
  }
  /** A new stub's pointer slot, and whether it is an external's stub. */
  setSlot(stub: number, slot: number, external: boolean): void {
    this.link[stub] = slot;
    if (external) this.flags[stub] = this.flags[stub]! | EXTERN;
  }
  setRetiredFrom(retired: number, fn: number): void {
    this.link[retired] = fn;
  }

  /** A function's stub, or -1. */
  stubOf(fn: number): number {
    return this.link[fn]!;
  }
  /** A stub's pointer slot (a data-arena block). */
  slotOf(stub: number): number {
    return this.link[stub]!;
  }
  /** The function a retired body belonged to. */
  retiredFrom(retired: number): number {
    return this.link[retired]!;
  }
  isExternStub(id: number): boolean {
    return (this.flags[id]! & EXTERN) !== 0;
  }

  /** The name a user sees: a function's or global's own; stub(f) for a stub; f (retired) for a body. */
  nameOf(id: number): string {
    const kind = this.kindOf(id);
    if (kind === STUB) return this.isExternStub(id) ? `stub(extern ${this.names[id]})` : `stub(${this.names[id]})`;
    if (kind === RETIRED) return `${this.names[id]} (retired)`;
    return this.names[id]!;
  }

  /**
   * For verify(): the ids on the free stack, or -1 when the stack is not a chain of distinct
   * reclaimed ids (a cycle or a live id on it). Iterative, O(ids).
   */
  countFreeIds(): number {
    let count = 0;
    for (let id = this.freeTop; id !== NONE; id = this.firstOut[id]!) {
      if (id < 0 || id >= this.highWater || this.flags[id] !== 0 || ++count > this.highWater) return -1;
    }
    return count;
  }

  /** Ids ever handed out: iterate 0 .. highWater and test isAlive. */
  get idLimit(): number {
    return this.highWater;
  }

  /** Bytes of node records for ids handed out (in use, DEAD, or waiting on the free stack). */
  metadataBytes(): number {
    return this.highWater * NODE_RECORD_BYTES;
  }

  /** Grows every record array to `size` ids, all or none. */
  private grow(size: number): void {
    let arrays;
    try {
      arrays = [grown(this.flags, size), grown(this.rc, size), grown(this.roots, size), grown(this.block, size),
        grown(this.link, size), grown(this.firstOut, size), grown(this.firstIn, size), grown(this.generation, size)] as const;
    } catch (error) {
      throw new CodeHeapError('OUT_OF_MEMORY', `the node table cannot grow to ${size} nodes (${size * NODE_RECORD_BYTES} bytes)`, { cause: error });
    }
    [this.flags, this.rc, this.roots, this.block, this.link, this.firstOut, this.firstIn, this.generation] = arrays;
  }
}
