// The lifecycle of function bodies: the one owner of what a function runs.
//
// A function is born with a body (define) or lazy, with only a reentry trampoline (declare). Its
// body is replaced by redefine (a new body), materialize (the first body of a lazy function, from
// its compile callback) and evict (the trampoline again). Every replacement goes through the one
// swap (link/backpatch.ts: swapBody), called by the link's commit for a new body and by evict for a
// trampoline, and then through dispose(), which decides what happens to the old body:
//  - freed at once (its block back to the arena, its sites dropped);
//  - or retired (a RETIRED node that keeps the block and its sites, which stay counted and
//    backpatched) while code may still be running in it: a pin holds it (the "is it still
//    executing?" rule of DESIGN semantics 8), or a native call is running (calls.ts), since the
//    machine stack is not walked and any replaced body may be on it.
// A trampoline is never retired: nothing returns into one.
//
// The heap calls in here from inside a mutating public call; this module never calls back into
// the facade but for HeapCore.collect (a collection before giving up on room).

import * as base from '../base.js';
import { CodeHeapError } from '../errors.js';
import { replacementBody, type Definition } from '../link/definitions.js';
import type { Committed } from '../link/commit.js';
import { checkBackpatch, currentBody, swapBody } from '../link/backpatch.js';
import type { OldBody } from '../rc/heap-graph.js';
import type { BodyHold } from '../rc/body-holds.js';
import * as layout from '../stubs/x86-64-layout.js';
import type { CodeHeapApi, CompileCallback } from '../types.js';
import type { NameTable } from '../name-table.js';
import { CallFrames } from './calls.js';
import { link, withRoom, type HeapCore } from './linking.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, NONE } = base;
const { TRAMPOLINE_SIZE } = layout;

export class FunctionBodies {
  /** Sites rewritten by backpatching, for stats(). */
  patches = 0;
  /** Native calls running now, and the counts they hold. */
  readonly calls: CallFrames;
  /** Functions whose compile callback is running, outermost first. */
  private readonly compiling: number[] = [];

  constructor(private readonly core: HeapCore, private readonly defaultCompile: CompileCallback | undefined) {
    this.calls = new CallFrames(core.graph, core.count);
  }

  /** Links a unit's definitions: new nodes with rc 0 (the caller takes their handles). */
  define(definitions: readonly Definition[], names: NameTable): Committed {
    const committed = link(this.core, definitions, 'define', names);
    this.core.events.allocated(committed);
    return committed;
  }

  /** A lazy function named `name`: a trampoline and nothing else. Returns its id. */
  declare(name: string, compile: CompileCallback | undefined): number {
    const { graph, stubs, events } = this.core;
    const block = withRoom(this.core, () => {
      graph.nodes.reserve(1);
      return stubs.reserveTrampoline(() => `declare(${name}): the trampoline`);
    });
    stubs.writeTrampoline(block);
    const fn = graph.createSymbol(FUNCTION, name, block, true, compile);
    events.alloc(name, 'trampoline', graph.addressOf(fn), graph.bytesOf(fn));
    return fn;
  }

  /** fn's canonical stub, made on first need. */
  pointer(fn: number, name: string): number {
    const { graph, stubs, events } = this.core;
    if (graph.nodes.stubOf(fn) === NONE) {
      const reservation = withRoom(this.core, () => {
        graph.nodes.reserve(1);
        graph.sites.reserve(1);
        return stubs.reserveStub(() => `pointer(${name}): the stub`);
      });
      const stub = stubs.createFunctionStub(fn, reservation);
      events.stub(stub);
    }
    return graph.nodes.stubOf(fn);
  }

  /** A new body for fn (redefine): linked fully, then swapped in; the old one disposed of. */
  redefine(fn: number, name: string, body: unknown): void {
    this.replace(fn, name, body, 'redefine');
  }

  /**
   * Runs the compile callback of the lazy function fn (its own, else the heap's) and returns what
   * it gave, unchecked: the caller installs it with `install` once the heap is its own again (the
   * callback runs while the heap is idle and may use it, but not to compile fn again).
   */
  compile(fn: number, name: string, api: CodeHeapApi): unknown {
    const { nodes } = this.core.graph;
    if (this.compiling.includes(fn)) throw this.reentrantCompile(fn, name);
    const compile = nodes.compileOf(fn) ?? this.defaultCompile;
    if (compile === undefined) {
      throw new CodeHeapError('NO_COMPILE_CALLBACK', `materialize(${name}): neither ${name} nor the heap has a compile callback`);
    }
    this.compiling.push(fn);
    try {
      return compile(name, api);
    } finally {
      this.compiling.pop();
    }
  }

  /** Installs what fn's compile callback returned as its first body (materialize). */
  install(fn: number, name: string, body: unknown): void {
    this.replace(fn, name, body, 'materialize');
  }

  /**
   * Reclaims fn's body now: its references reach its trampoline from here on. When the arena has
   * no room for a trampoline even after a collection, the trampoline takes the first bytes of the
   * body itself (which then needs no backpatch at all), so evicting always succeeds when the body
   * is not kept: that is how a JIT gets memory back when it is short.
   */
  evict(fn: number, name: string): void {
    const { graph, stubs, events } = this.core;
    const { code } = graph.arenas;
    if (graph.nodes.isLazy(fn)) return;
    const keepsOld = this.keepsOld(fn);
    const from = graph.addressOf(fn);
    const body = graph.nodes.block[fn]!;
    const size = code.sizeOf(body);
    let block: number;
    try {
      block = withRoom(this.core, () => stubs.reserveTrampoline(() => `evict(${name}): the trampoline`));
    } catch (error) {
      if (keepsOld || size < TRAMPOLINE_SIZE || !(error instanceof CodeHeapError) || error.code !== 'OUT_OF_MEMORY') throw error;
      block = body;
    }
    const inPlace = block === body;
    const to = code.addressOf(block);
    try {
      // In place, the sites keep their values: this checks only that no interior reference is left behind.
      checkBackpatch(this.core, fn, to, currentBody(graph, fn, keepsOld));
    } catch (error) {
      if (!inPlace) code.free(block);
      throw error;
    }
    if (inPlace) code.shrink(block, TRAMPOLINE_SIZE);
    stubs.writeTrampoline(block);
    const { old, patched } = swapBody(this.core, fn, block, true, keepsOld);
    this.patches += patched;
    events.patch(name, patched, from, to);
    events.alloc(name, 'trampoline', to, code.sizeOf(block));
    if (inPlace) graph.dropSites(old.firstOut);
    if (inPlace || this.dispose(fn, old, keepsOld) === NONE) events.free(name, 'function', from, size, 'evict');
  }

  /** A pin's hold on fn's current body, or undefined when fn has none (lazy, or not a function). */
  pin(id: number): BodyHold | undefined {
    const { graph } = this.core;
    const hold = graph.nodes.kindOf(id) === FUNCTION && !graph.nodes.isLazy(id) ? graph.holds.hold(id) : undefined;
    graph.retainRoot(id);
    return hold;
  }

  /** A pin goes: a retired body it held loses its count (and goes at zero), then fn does. */
  unpin(id: number, hold: BodyHold | undefined): void {
    const { graph } = this.core;
    if (hold !== undefined) {
      const retired = graph.holds.release(id, hold);
      if (retired !== NONE) graph.releaseRoot(retired);
    }
    graph.releaseRoot(id);
  }

  /** Whether replacing fn's body now keeps the old one (code may be running in it). */
  private keepsOld(fn: number): boolean {
    const { graph } = this.core;
    return !graph.nodes.isLazy(fn) && (graph.holds.pinsOnCurrent(fn) > 0 || this.calls.running);
  }

  private replace(fn: number, name: string, body: unknown, operation: 'redefine' | 'materialize'): void {
    const { graph, events } = this.core;
    const keepsOld = this.keepsOld(fn);
    const definition = replacementBody(name, body, fn, graph.nodes.compileOf(fn), keepsOld);
    const from = graph.addressOf(fn);
    const wasLazy = graph.nodes.isLazy(fn);
    const size = graph.arenas.code.sizeOf(graph.nodes.block[fn]!);
    const committed = link(this.core, [definition], operation);
    this.patches += committed.patched;
    events.patch(name, committed.patched, from, committed.placed.addresses[0]!);
    events.allocated(committed);
    if (this.dispose(fn, committed.oldBodies[0]!, keepsOld) === NONE) {
      events.free(name, wasLazy ? 'trampoline' : 'function', from, size, operation);
    }
  }

  /**
   * Disposes of a body the swap detached from fn: a trampoline or an unkept body is freed now;
   * a kept one retires, with a count per pin holding it and one more while a native call runs
   * (fn is held as long, so the retired body always belongs to a live function). Returns the
   * retired node, or NONE when the body was freed.
   */
  private dispose(fn: number, old: OldBody, keepsOld: boolean): number {
    const { graph } = this.core;
    if (old.wasLazy) {
      graph.arenas.code.free(old.block);
      return NONE;
    }
    if (!keepsOld) {
      graph.releaseBody(old);
      return NONE;
    }
    const running = this.calls.running;
    const retired = graph.createRetired(fn, old, graph.holds.pinsOnCurrent(fn) + (running ? 1 : 0));
    if (running) this.calls.keep(retired, fn);
    this.core.events.retired(graph.nodes.names[fn]!, graph.addressOf(retired), graph.arenas.code.sizeOf(old.block));
    return retired;
  }

  private reentrantCompile(fn: number, name: string): CodeHeapError {
    const { nodes } = this.core.graph;
    const innermost = this.compiling[this.compiling.length - 1]!;
    if (innermost === fn) return new CodeHeapError('REENTRANT_CALL', `materialize(${name}) was called from ${name}'s own compile callback`);
    const chain = [...this.compiling.slice(this.compiling.indexOf(fn)), fn].map((id) => nodes.names[id]).join(' -> ');
    return new CodeHeapError('REENTRANT_CALL',
      `materialize(${name}) was called from ${nodes.names[innermost]}'s compile callback while ${name} is being compiled (${chain})`);
  }
}
