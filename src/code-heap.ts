// CodeHeap: the facade and the only public entry point.
//
// It checks what the caller hands in (handles, names, arguments), keeps the heap's phase, and
// hands the work to the layer that owns it: function bodies to bodies/, counting to rc/,
// collection to cycles/, reading to inspect.ts and verify.ts, running code to native-calls.ts
// (heap.call, and the functions heap.bind makes in bind.ts), writing bytes to write.ts.
//
// Every public call validates first and mutates after, so a call that throws leaves bytes,
// counts and figures exactly as they were, but for what a collection it ran reclaimed: a call
// collects once before DUPLICATE_SYMBOL and before OUT_OF_MEMORY, and that frees only garbage.
// Re-entrancy is a named phase (phases.ts). A compile callback runs while the heap is idle (it is
// consistent then and the callback may use it), but the function it compiles is marked, so
// materializing that same function again is refused. A closed heap refuses every call but the
// freeing of handles and pins, which does nothing.

import * as base from './base.js';
import { FunctionBodies } from './bodies/function-bodies.js';
import type { HeapCore } from './bodies/linking.js';
import { CycleCollector } from './cycles/collect.js';
import { readBudget } from './cycles/budget.js';
import { CollectionPolicy } from './cycles/policy.js';
import { SlicedCollector } from './cycles/sliced.js';
import { CodeHeapError, hex, invalid, show } from './errors.js';
import { EventQueue } from './events.js';
import { usedAfterFree, type Handle, type Pin } from './handle.js';
import { Arenas } from './heap/arenas.js';
import type { Region } from './heap/region.js';
import { dotLines, heapStats, nodeInfo, toDot } from './inspect.js';
import { unitDefinitions } from './link/definitions.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { HeapGraph } from './rc/heap-graph.js';
import { settledKinds } from './reloc/apply.js';
import { x86_64 } from './reloc/x86-64.js';
import { StubManager } from './stubs/stub-manager.js';
import type {
  BoundFunction, CodeHeapApi, CodeHeapOptions, CollectionResult, CollectOptions, CompileCallback, FunctionBody, HeapStats, NativeParameterType,
  NativeResultType, NativeSignature, NodeInfo, RetainerPath, UnitDefinition,
} from './types.js';
import { createUnit, type Unit } from './unit.js';
import { verifyHeap } from './verify.js';
import { retainedBytes, retainerPath } from './retainers.js';
import { writeHeapSnapshot } from './heap-snapshot.js';
import { Phases } from './phases.js';
import { Roots } from './roots.js';
import * as callArguments from './call-arguments.js';
import { NativeCalls } from './native-calls.js';
import { bindFunction } from './bind.js';
import { HeapWriter } from './write.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION } = base;
const { checkCallArguments } = callArguments;

/** For codeheap/elf, not exported by the package: a symbol's kind in O(1) ('lazy': a function with no body). */
export let symbolKind!: (heap: CodeHeap, name: string) => 'function' | 'lazy' | 'global' | undefined;

export class CodeHeap implements CodeHeapApi {
  readonly #options: ResolvedOptions;
  readonly #graph: HeapGraph;
  readonly #stubs: StubManager;
  readonly #events: EventQueue;
  readonly #phases: Phases;
  readonly #policy: CollectionPolicy;
  readonly #sliced: SlicedCollector;
  readonly #bodies: FunctionBodies;
  readonly #roots: Roots;
  readonly #native: NativeCalls;
  readonly #writer: HeapWriter;

  constructor(options: CodeHeapOptions) {
    this.#options = resolveOptions(options);
    const arenas = new Arenas(this.#options.layout, this.#options.region);
    const graph = new HeapGraph(arenas);
    this.#graph = graph;
    const { region } = arenas;
    // The heap's own resolver first, then the process the code runs in (when its memory knows one).
    const own = this.#options.resolveExternal;
    const processSymbol = region.resolveSymbol === undefined ? undefined : (name: string) => region.resolveSymbol!(name);
    const resolveExternal = own === undefined ? processSymbol
      : processSymbol === undefined ? own : (name: string) => own(name) ?? processSymbol(name);
    this.#stubs = new StubManager(graph, x86_64);
    this.#events = new EventQueue(this.#options.observer, graph);
    const { cycleThreshold, adaptive } = this.#options;
    this.#policy = new CollectionPolicy(cycleThreshold, cycleThreshold, adaptive);
    this.#sliced = new SlicedCollector(graph);
    const collector = new CycleCollector(graph, this.#options.validateCollections);
    const phases = new Phases(this.#events, collector, this.#policy, graph.candidates, this.#sliced, this.#options.cyclePause);
    this.#phases = phases;
    const { layout } = this.#options;
    const low = Math.min(layout.codeAddress, layout.dataAddress);
    const high = Math.max(layout.codeAddress + layout.codeSize, layout.dataAddress + layout.dataSize);
    const core: HeapCore = {
      graph, arch: x86_64, stubs: this.#stubs, events: this.#events, settled: settledKinds(x86_64, low, high),
      resolver: { graph, arch: x86_64, resolveExternal },
      collect: () => void phases.collect(),
      count: phases,
    };
    this.#bodies = new FunctionBodies(core, this.#options.compile);
    this.#roots = new Roots(graph, phases, this.#bodies);
    this.#native = new NativeCalls(phases, this.#roots, graph, this.#bodies.calls, this.#stubs,
      (fn, name) => this.#materialize(fn, name, undefined));
    this.#writer = new HeapWriter(graph, x86_64, this.#stubs);
  }

  /** The architecture the heap lays code out for. */
  get arch(): 'x86_64' {
    return 'x86_64';
  }

  /** The local bytes behind the arenas, and whether the CPU can run them. */
  get region(): Region {
    this.#phases.open('region');
    return this.#graph.arenas.region;
  }

  /** Links a unit: all its symbols together (mutual recursion works), all or nothing. */
  define(unit: UnitDefinition): Unit {
    return this.#phases.mutate('define', () => {
      const { definitions, names } = unitDefinitions(unit);
      this.#checkFresh(definitions.map((d) => d.name));
      const { ids } = this.#bodies.define(definitions, names);
      return createUnit(this.#roots.unitHandles(ids), (list) => this.unload(list));
    });
  }

  /** A lazy function: references to it reach its trampoline until it is compiled. */
  declare(name: string, compile?: CompileCallback): Handle {
    return this.#phases.mutate('declare', () => {
      if (typeof name !== 'string' || name === '') invalid(`declare needs a non-empty string name, got ${show(name)}`);
      if (compile !== undefined && typeof compile !== 'function') invalid(`declare(${name}): compile must be a function, got ${show(compile)}`);
      this.#checkFresh([name]);
      return this.#roots.handle(this.#bodies.declare(name, compile));
    });
  }

  /** A new handle (one more count) on an existing function or global. */
  lookup(name: string): Handle {
    return this.#phases.mutate('lookup', () => {
      if (typeof name !== 'string') invalid(`lookup takes a symbol name, got ${show(name)}`);
      const id = this.#graph.nodes.symbols.get(name);
      if (id === undefined) throw new CodeHeapError('UNDEFINED_SYMBOL', `lookup: no function or global named ${name}`);
      return this.#roots.handle(id);
    });
  }

  /** A handle on stub(f), made on first need: its address is f's function-pointer value. */
  pointer(handle: Handle): Handle {
    return this.#phases.mutate('pointer', () => this.#roots.handle(this.#bodies.pointer(this.#roots.idOf(handle, 'pointer', FUNCTION), handle.name)));
  }

  /** Recompile: link the new body, backpatch every call site and the stub, release the old body. */
  redefine(handle: Handle, body: FunctionBody): void {
    this.#phases.mutate('redefine', () => this.#bodies.redefine(this.#roots.idOf(handle, 'redefine', FUNCTION), handle.name, body));
  }

  /** Reclaim f's body now; f stays as a lazy node, its references backpatched to its trampoline. */
  evict(handle: Handle): void {
    this.#phases.mutate('evict', () => this.#bodies.evict(this.#roots.idOf(handle, 'evict', FUNCTION), handle.name));
  }

  /** What a call through a lazy function's trampoline does: compile it and backpatch. */
  materialize(handle: Handle): void {
    this.#phases.enter('materialize');
    this.#materialize(this.#roots.idOf(handle, 'materialize', FUNCTION), handle.name, handle);
  }

  /** A count on the node that also keeps its current body from being reclaimed. */
  pin(handle: Handle): Pin {
    return this.#phases.mutate('pin', () => {
      return this.#roots.pin(handle);
    });
  }

  /** Drops the handle's count, once. Never frees what is still referenced. */
  free(handle: Handle): void {
    this.#roots.free(handle);
  }

  /**
   * Frees these handles and reclaims now what only their nodes held, cycles included, at a cost
   * proportional to them (DESIGN semantics 10; unit.free() and lib.free() use it). Returns the nodes reclaimed.
   */
  unload(handles: Iterable<Handle>): number {
    return this.#roots.unload(handles);
  }

  /** Frees garbage cycles reachable from the candidates; with a budget, one slice of that work. */
  collectCycles(options?: CollectOptions): CollectionResult {
    this.#phases.enter('collectCycles');
    const budget = readBudget(options);
    return budget === undefined ? this.#phases.collect() : this.#phases.slice(budget, false);
  }

  stats(): HeapStats {
    this.#phases.open('stats');
    return heapStats(this.#graph, {
      patches: this.#bodies.patches,
      collections: this.#phases.collections,
      cycleThreshold: this.#policy.threshold,
    });
  }

  node(nameOrHandle: string | Handle): NodeInfo | undefined {
    this.#phases.open('node');
    const id = typeof nameOrHandle === 'string' ? this.#graph.nodes.symbols.get(nameOrHandle) : this.#roots.idOf(nameOrHandle, 'node');
    return id === undefined ? undefined : nodeInfo(this.#graph, id);
  }

  /**
   * The node graph as a .heapsnapshot that Chrome DevTools' Memory panel opens (heap-snapshot.ts):
   * to a file at `path`, or in pieces to `write`. Reading only: a mutating call from `write` is
   * REENTRANT_CALL.
   */
  writeSnapshot(pathOrWrite: string | ((chunk: string) => void)): void {
    this.#phases.open('writeSnapshot');
    if (typeof pathOrWrite === 'function') {
      this.#phases.reading('writeSnapshot', () => writeHeapSnapshot(this.#graph, x86_64, pathOrWrite));
      return;
    }
    if (typeof pathOrWrite !== 'string' || pathOrWrite === '') {
      invalid(`writeSnapshot takes a path or a function (chunk) => void, got ${show(pathOrWrite)}`);
    }
    // Node's fs, reached at run time: the core imports no Node module (it runs wherever JavaScript does).
    const fs = (process as unknown as { getBuiltinModule(id: 'node:fs'): typeof import('node:fs') }).getBuiltinModule('node:fs');
    let fd: number;
    try {
      fd = fs.openSync(pathOrWrite, 'w');
    } catch (error) {
      throw new CodeHeapError('INVALID_ARGUMENT', `writeSnapshot(${show(pathOrWrite)}): ${(error as Error).message}`, { cause: error });
    }
    try {
      this.#phases.reading('writeSnapshot', () => writeHeapSnapshot(this.#graph, x86_64, (chunk) => void fs.writeSync(fd, chunk)));
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Why a node is alive: the nearest root's chain of references to it (retainers.ts), or null
   * when no root reaches it (garbage the collector has yet to free). UNDEFINED_SYMBOL for a name
   * the heap does not have.
   */
  retainers(nameOrHandle: string | Handle): RetainerPath | null {
    this.#phases.open('retainers');
    return retainerPath(this.#graph, x86_64, this.#nodeOf(nameOrHandle, 'retainers'));
  }

  /** Bytes that would be freed if a node's roots went: it and all that only it keeps (retainers.ts). */
  retainedSize(nameOrHandle: string | Handle): number {
    this.#phases.open('retainedSize');
    return retainedBytes(this.#graph, this.#nodeOf(nameOrHandle, 'retainedSize'));
  }

  #nodeOf(nameOrHandle: string | Handle, operation: string): number {
    if (typeof nameOrHandle !== 'string') return this.#roots.idOf(nameOrHandle, operation);
    const id = this.#graph.nodes.symbols.get(nameOrHandle);
    if (id === undefined) throw new CodeHeapError('UNDEFINED_SYMBOL', `${operation}(${show(nameOrHandle)}): no function or global of that name`);
    return id;
  }

  /** A copy of the bytes at [address, address + length), which must lie in one arena. */
  read(address: number, length: number): Uint8Array {
    this.#phases.open('read');
    if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length) || length < 0) {
      invalid(`read(${show(address)}, ${show(length)}): address and length must be non-negative integers`);
    }
    const loc = this.#graph.arenas.locOfRange(address, length);
    if (loc < 0) invalid(`read: [${hex(address)}, +${length}) is not inside the code or the data arena`);
    // A region whose code runs from a copy (an executor over TCP) brings the range up to date first.
    this.#graph.arenas.region.read?.(loc, length);
    return this.#graph.arenas.bytes.slice(loc, loc + length);
  }

  /** Checks every invariant; throws CodeHeapError('CORRUPT') listing each one broken. */
  verify(): void {
    this.#phases.open('verify');
    const problems = verifyHeap(this.#graph, this.#stubs, x86_64, this.#sliced);
    if (problems.length > 0) {
      throw new CodeHeapError('CORRUPT', `${problems.length} invariant(s) broken:\n  ${problems.slice(0, 50).join('\n  ')}`);
    }
  }

  /**
   * The reference graph in Graphviz DOT, as one string. OUT_OF_MEMORY, saying how long it would
   * be, when that passes JavaScript's string limit: writeDot streams a graph of any size.
   */
  toDot(): string {
    this.#phases.open('toDot');
    return toDot(this.#graph, x86_64);
  }

  /** The reference graph in DOT, line by line, to `write` (each line ends with a newline). */
  writeDot(write: (chunk: string) => void): void {
    this.#phases.open('writeDot');
    if (typeof write !== 'function') invalid(`writeDot takes a function (chunk) => void, got ${show(write)}`);
    this.#phases.reading('writeDot', () => {
      for (const line of dotLines(this.#graph, x86_64)) write(line);
    });
  }

  /**
   * Runs a live or lazy function on native memory with up to six integer arguments (System V),
   * returning rax as a signed BigInt; the call holds its function, and each it compiles on the
   * way, until it returns (native-calls.ts), and bodies replaced meanwhile retire until then.
   */
  call(handle: Handle, ...args: (number | bigint)[]): bigint {
    const native = this.#native;
    const id = native.enter(handle, 'call', false);
    checkCallArguments(handle.name, args);
    const address = native.begin(id);
    try {
      return native.region.call!(address, native.resolveLazy, args);
    } catch (error) {
      throw native.failed(error, 'call', handle.name);
    } finally {
      native.end();
    }
  }

  /** A JavaScript function with C parameter and result types that runs fn as heap.call does (bind.ts). */
  bind<const P extends readonly NativeParameterType[], const R extends NativeResultType>(
    handle: Handle, signature: NativeSignature<P, R>,
  ): BoundFunction<P, R> {
    this.#phases.open('bind');
    return bindFunction(this.#native, handle, signature) as BoundFunction<P, R>;
  }

  /** Copies bytes into one function body or global at a target address, off its relocation fields (write.ts). */
  write(address: number, bytes: Uint8Array): void {
    this.#phases.enter('write');
    this.#writer.write(address, bytes);
  }

  /**
   * Releases the heap's memory now (native memory: both mappings), and with it every node. Any
   * later call is USE_AFTER_FREE, but for freeing a handle or releasing a pin, which does nothing.
   * Refused (REENTRANT_CALL) from an observer, a collection or while a native call of this heap runs.
   */
  close(): void {
    if (this.#phases.closed) return;
    this.#phases.enter('close');
    if (this.#bodies.calls.running) {
      throw new CodeHeapError('REENTRANT_CALL', 'close() was called while a native call of this heap is running (from a compile callback)');
    }
    this.#phases.closed = true;
    this.#graph.arenas.region.close?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- internals ----

  /** Compiles the lazy function fn (held by `handle`, or by a running call) and installs its body. */
  #materialize(fn: number, name: string, handle: Handle | undefined): void {
    const { nodes } = this.#graph;
    if (!nodes.isLazy(fn)) return;
    const body = this.#bodies.compile(fn, name, this);
    if (handle?.freed === true) usedAfterFree('materialize', handle);
    // The callback may have materialized fn itself (through a call that entered its trampoline).
    if (!nodes.isLazy(fn)) return;
    this.#phases.mutate('materialize', () => this.#bodies.install(fn, name, body));
  }

  /** DUPLICATE_SYMBOL for a live name, but only after one collection had the chance to free it. */
  #checkFresh(names: string[]): void {
    const { symbols } = this.#graph.nodes;
    // taken, not has: a name held by garbage a sliced collection is freeing is freed by this one.
    if (!names.some((n) => symbols.taken(n))) return;
    this.#phases.collect();
    const taken = names.find((n) => symbols.has(n));
    if (taken !== undefined) throw new CodeHeapError('DUPLICATE_SYMBOL', `${taken} is already defined and still referenced`);
  }

  static {
    symbolKind = (heap, name) => {
      const { nodes } = heap.#graph;
      const id = nodes.symbols.get(name);
      if (id === undefined) return undefined;
      return nodes.kindOf(id) !== FUNCTION ? 'global' : nodes.isLazy(id) ? 'lazy' : 'function';
    };
  }
}
