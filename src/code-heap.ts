// CodeHeap: the facade and the only public entry point.
//
// Every public call validates first and mutates after, so a call that throws leaves bytes,
// counts and figures exactly as they were, but for what a collection it ran reclaimed: a call
// collects once before DUPLICATE_SYMBOL and before OUT_OF_MEMORY, and that frees only garbage. Re-entrancy is a named phase: 'idle' between calls,
// 'linking' while a call mutates the heap, 'notifying' while observers hear about it,
// 'collecting' while the cycle collector runs. A mutating call outside 'idle' is REENTRANT_CALL.
// A compile callback runs in 'idle' (the heap is consistent then and the callback may use it),
// but the function it compiles is marked, so materializing that same function again is refused.

import { CodeHeapError, hex, invalid } from './errors.js';
import { Arenas } from './heap/arenas.js';
import type { Region } from './heap/region.js';
import { Handle, Pin, type HandleOwner } from './handle.js';
import { Unit } from './unit.js';
import { functionBody, unitDefinitions } from './link/definitions.js';
import { check, commit, place, unplace, type LinkContext, type OldBody } from './link/linker.js';
import { namedNodes, plan, type Definition, type Plan } from './link/plan.js';
import { backpatch, checkBackpatch, dyingBody } from './link/backpatch.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { Bodies } from './pins.js';
import { HeapGraph } from './rc/heap-graph.js';
import { KIND_NAMES } from './rc/node-table.js';
import * as base from './base.js';
import { x86_64 } from './reloc/x86-64.js';
import { StubManager } from './stubs/stub-manager.js';
import { EventQueue } from './events.js';
import { CycleCollector } from './cycles/collect.js';
import { CollectionPolicy } from './cycles/policy.js';
import { heapStats, nodeInfo, toDot } from './inspect.js';
import { verifyHeap } from './verify.js';
import type {
  CodeHeapOptions, CollectionResult, CompileCallback, FunctionBody, HeapStats, NodeInfo, UnitDefinition,
} from './types.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, NONE } = base;

export type Phase = 'idle' | 'linking' | 'notifying' | 'collecting';

/** Integer arguments heap.call passes in registers (System V: rdi, rsi, rdx, rcx, r8, r9). */
const MAX_CALL_ARGUMENTS = 6;
const INT64_MIN = -(1n << 63n);
const UINT64_LIMIT = 1n << 64n;

/** A call argument must fit a 64-bit register: a safe integer, or a BigInt in [-2^63, 2^64). */
function checkArgument(name: string, index: number, value: unknown): void {
  const fits = typeof value === 'number' ? Number.isSafeInteger(value)
    : typeof value === 'bigint' && value >= INT64_MIN && value < UINT64_LIMIT;
  if (!fits) {
    invalid(`call(${name}): argument ${index} is ${typeof value === 'bigint' ? `${value}n` : String(value)}; ` +
      'arguments are safe integers or BigInts that fit 64 bits');
  }
}

export class CodeHeap implements HandleOwner {
  readonly arch = x86_64;
  readonly #options: ResolvedOptions;
  readonly #graph: HeapGraph;
  readonly #stubs: StubManager;
  readonly #bodies: Bodies;
  readonly #ctx: LinkContext;
  readonly #events: EventQueue;
  readonly #collector: CycleCollector;
  readonly #policy: CollectionPolicy;
  readonly #compiling = new Set<number>();
  /**
   * Counts held by the heap.call frames running now (a compile callback may call again), as node
   * ids, innermost call last.
   */
  readonly #callHeld: number[] = [];
  /** heap.call frames running now. */
  #callDepth = 0;
  /** Replaced bodies (retired) and their functions, each held once until the outermost call returns. */
  readonly #callKept: number[] = [];
  /** The resolveExternal option, else the region's own (native memory: the process's symbols). */
  readonly #resolveExternal: ((name: string) => number | undefined) | undefined;
  #phase: Phase = 'idle';
  #patches = 0;
  #collections = 0;

  constructor(options: CodeHeapOptions) {
    this.#options = resolveOptions(options);
    const arenas = new Arenas(this.#options.layout, this.#options.memory);
    this.#graph = new HeapGraph(arenas);
    const { region } = arenas;
    this.#resolveExternal = this.#options.resolveExternal
      ?? (region.resolveSymbol === undefined ? undefined : (name) => region.resolveSymbol!(name));
    this.#stubs = new StubManager(this.#graph, this.arch);
    this.#bodies = new Bodies(this.#graph);
    const bodies = this.#bodies;
    this.#ctx = {
      graph: this.#graph, arch: this.arch, stubs: this.#stubs, compileFns: [],
      // A body replaced while a native call runs is kept (see #disposeBody): its sites stay counted.
      bodyHeld: (fn) => bodies.pinsOnCurrent(fn) > 0 || (this.#callDepth > 0 && !this.#graph.nodes.isLazy(fn)),
    };
    this.#events = new EventQueue(this.#options.observer, this.#graph);
    this.#collector = new CycleCollector(this.#graph);
    const { cycleThreshold, adaptive } = this.#options;
    this.#policy = new CollectionPolicy(cycleThreshold, cycleThreshold, adaptive);
  }

  /** The local bytes behind the arenas, and whether the CPU can run them. */
  get region(): Region {
    return this.#graph.arenas.region;
  }

  /** Links a unit: all its symbols together (mutual recursion works), all or nothing. */
  define(unit: UnitDefinition): Unit {
    return this.#mutate('define', () => {
      const definitions = unitDefinitions(unit);
      this.#checkFresh(definitions.map((d) => d.name));
      const linked = this.#link(definitions, 'define');
      const handles = linked.nodes.map((n) => this.#newHandle(n.id));
      this.#events.allocated(linked);
      return new Unit(handles);
    });
  }

  /** A lazy function: references to it reach its trampoline until it is compiled. */
  declare(name: string, compile?: CompileCallback): Handle {
    return this.#mutate('declare', () => {
      if (typeof name !== 'string' || name === '') invalid(`declare needs a non-empty string name, got ${String(name)}`);
      if (compile !== undefined && typeof compile !== 'function') invalid(`declare(${name}): compile must be a function`);
      this.#checkFresh([name]);
      const block = this.#allocateOrCollect(() => this.#stubs.reserveTrampoline(), `declare(${name}): the trampoline`);
      const { nodes } = this.#graph;
      const fn = nodes.allocate(FUNCTION, name, block);
      nodes.setLazy(fn, true);
      nodes.symbols.bind(name, fn);
      this.#ctx.compileFns[fn] = compile;
      this.#stubs.installTrampoline(fn, block);
      this.#events.alloc(name, 'trampoline', this.#graph.addressOf(fn), this.#graph.bytesOf(fn));
      return this.#newHandle(fn);
    });
  }

  /** A new handle (one more count) on an existing function or global. */
  lookup(name: string): Handle {
    return this.#mutate('lookup', () => {
      const id = typeof name === 'string' ? this.#graph.nodes.symbols.get(name) : undefined;
      if (id === undefined) throw new CodeHeapError('UNDEFINED_SYMBOL', `lookup: no function or global named ${String(name)}`);
      return this.#newHandle(id);
    });
  }

  /** A handle on stub(f), made on first need: its address is f's function-pointer value. */
  pointer(handle: Handle): Handle {
    return this.#mutate('pointer', () => {
      const fn = this.#idOf(handle, 'pointer', FUNCTION);
      const { nodes } = this.#graph;
      if (nodes.stubOf(fn) === NONE) {
        const reservation = this.#allocateOrCollect(() => this.#stubs.reserveStub() ?? -1, `pointer(${handle.name}): the stub`);
        const stub = this.#stubs.createFunctionStub(fn, reservation as Exclude<typeof reservation, number>);
        this.#events.alloc(nodes.nameOf(stub), 'stub', this.#graph.addressOf(stub), this.#graph.bytesOf(stub));
      }
      return this.#newHandle(nodes.stubOf(fn));
    });
  }

  /** Recompile: link the new body, backpatch every call site and the stub, release the old body. */
  redefine(handle: Handle, body: FunctionBody): void {
    this.#mutate('redefine', () => {
      const fn = this.#idOf(handle, 'redefine', FUNCTION);
      this.#replaceBody(fn, functionBody(handle.name, body, fn, this.#ctx.compileFns[fn]), 'redefine');
    });
  }

  /** Reclaim f's body now; f stays as a lazy node, its references backpatched to its trampoline. */
  evict(handle: Handle): void {
    this.#mutate('evict', () => {
      const fn = this.#idOf(handle, 'evict', FUNCTION);
      const graph = this.#graph;
      const { nodes } = graph;
      if (nodes.isLazy(fn)) return;
      const block = this.#allocateOrCollect(() => this.#stubs.reserveTrampoline(), `evict(${handle.name}): the trampoline`);
      const from = graph.addressOf(fn);
      const to = graph.arenas.code.addressOf(block);
      const dying = dyingBody(graph, fn, this.#ctx.bodyHeld(fn));
      try {
        checkBackpatch(graph, this.arch, fn, to - from, to, dying);
      } catch (error) {
        graph.arenas.code.free(block);
        throw error;
      }
      this.#stubs.installTrampoline(fn, block);
      const patched = backpatch(graph, this.arch, fn, to - from, dying);
      const old: OldBody = { block: nodes.block[fn]!, firstOut: nodes.firstOut[fn]!, wasLazy: false };
      const size = graph.arenas.code.sizeOf(old.block);
      nodes.block[fn] = block;
      nodes.setFirstOut(fn, NONE);
      nodes.setLazy(fn, true);
      this.#patches += patched;
      this.#events.patch(handle.name, patched, from, to);
      this.#events.alloc(handle.name, 'trampoline', to, graph.arenas.code.sizeOf(block));
      if (this.#disposeBody(fn, old) === NONE) this.#events.free(handle.name, 'function', from, size, 'evict');
    });
  }

  /** What a call through a lazy function's trampoline does: compile it and backpatch. */
  materialize(handle: Handle): void {
    this.#enter('materialize');
    const fn = this.#idOf(handle, 'materialize', FUNCTION);
    const { nodes } = this.#graph;
    if (!nodes.isLazy(fn)) return;
    if (this.#compiling.has(fn)) {
      throw new CodeHeapError('REENTRANT_CALL', `materialize(${handle.name}) was called from ${handle.name}'s own compile callback`);
    }
    const compile = this.#ctx.compileFns[fn] ?? this.#options.compile;
    if (compile === undefined) {
      throw new CodeHeapError('NO_COMPILE_CALLBACK', `materialize(${handle.name}): neither ${handle.name} nor the heap has a compile callback`);
    }
    this.#compiling.add(fn);
    let body: FunctionBody;
    try {
      body = compile(handle.name, this);
    } finally {
      this.#compiling.delete(fn);
    }
    handle.assertLive('materialize');
    if (!nodes.isLazy(fn)) return;
    this.#mutate('materialize', () => {
      if (typeof body !== 'object' || body === null || !(body.code instanceof Uint8Array)) {
        invalid(`the compile callback of ${handle.name} returned ${String(body)}, not a function body { code, relocations? }`);
      }
      this.#replaceBody(fn, functionBody(handle.name, body, fn, this.#ctx.compileFns[fn]), 'materialize');
    });
  }

  /** A count on the node that also keeps its current body from being reclaimed. */
  pin(handle: Handle): Pin {
    return this.#mutate('pin', () => {
      const id = this.#idOf(handle, 'pin');
      const hold = this.#graph.nodes.kindOf(id) === FUNCTION ? this.#bodies.holdCurrent(id) : undefined;
      this.#retainRoot(id);
      return new Pin(this, id, handle.name, hold);
    });
  }

  /** Drops the handle's count, once. Never frees what is still referenced. */
  free(handle: Handle): void {
    this.freeHandle(handle);
  }

  /** Frees garbage cycles reachable from the candidates. */
  collectCycles(): CollectionResult {
    this.#enter('collectCycles');
    return this.#collect();
  }

  stats(): HeapStats {
    return heapStats(this.#graph, {
      patches: this.#patches,
      collections: this.#collections,
      cycleThreshold: this.#policy.threshold,
    });
  }

  node(nameOrHandle: string | Handle): NodeInfo | undefined {
    const { nodes } = this.#graph;
    let id: number | undefined;
    if (typeof nameOrHandle === 'string') id = nodes.symbols.get(nameOrHandle);
    else id = this.#idOf(nameOrHandle, 'node');
    return id === undefined ? undefined : nodeInfo(this.#graph, id);
  }

  /** A copy of the bytes at [address, address + length), which must lie in one arena. */
  read(address: number, length: number): Uint8Array {
    if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length) || length < 0) {
      invalid(`read(${String(address)}, ${String(length)}): address and length must be non-negative integers`);
    }
    const loc = this.#graph.arenas.locOfRange(address, length);
    if (loc < 0) invalid(`read: [${hex(address)}, +${length}) is not inside the code or the data arena`);
    return this.#graph.arenas.bytes.slice(loc, loc + length);
  }

  /** Checks every invariant; throws CodeHeapError('CORRUPT') listing each one broken. */
  verify(): void {
    const problems = verifyHeap(this.#graph, this.#stubs, this.#bodies, this.arch);
    if (problems.length > 0) {
      throw new CodeHeapError('CORRUPT', `${problems.length} invariant(s) broken:\n  ${problems.slice(0, 50).join('\n  ')}`);
    }
  }

  toDot(): string {
    return toDot(this.#graph, this.arch);
  }

  /**
   * Runs a live or lazy function on native memory with up to six integer arguments (System V)
   * and returns rax as a signed BigInt. The call holds a count on its function, and on every
   * function it compiles on the way (a trampoline entered: compile, backpatch, continue), so none
   * is reclaimed while it may be running; a body replaced during the call retires until the
   * outermost call returns (#disposeBody), so a compile callback that evicts or recompiles any
   * function on the machine stack cannot reclaim code that is executing.
   */
  call(handle: Handle, ...args: (number | bigint)[]): bigint {
    const id = this.#idOf(handle, 'call', FUNCTION);
    const region = this.#graph.arenas.region;
    if (!region.executable || region.call === undefined) {
      throw new CodeHeapError('NOT_EXECUTABLE', `call(${handle.name}): the heap's memory (${region.description}) cannot execute code`);
    }
    if (args.length > MAX_CALL_ARGUMENTS) invalid(`call(${handle.name}): at most ${MAX_CALL_ARGUMENTS} integer arguments, got ${args.length}`);
    for (let i = 0; i < args.length; i++) checkArgument(handle.name, i, args[i]);
    this.#enter('call');
    // The counts of running calls live on one stack of ids, innermost call last: this call's
    // function, then each function compiled while it runs. No object per call: this is the hot
    // path of running JIT code. Bodies need no hold here: #disposeBody keeps every one replaced
    // while a call runs.
    const base = this.#callHeld.length;
    this.#holdForCall(id);
    this.#callDepth++;
    try {
      return region.call(this.#graph.addressOf(id), this.#resolveLazy, args);
    } finally {
      this.#callDepth--;
      this.#phase = 'linking';
      try {
        while (this.#callHeld.length > base) this.#releaseRoot(this.#callHeld.pop()!);
        if (this.#callDepth === 0) this.#releaseKept();
      } finally {
        this.#phase = 'idle';
      }
      this.#settle();
    }
  }

  // ---- HandleOwner: what handles and pins call back into ----

  /** @internal */
  handleAddress(handle: Handle): number {
    return this.#graph.addressOf(this.#idOf(handle, 'address'));
  }

  /** @internal */
  freeHandle(handle: Handle): void {
    if (!(handle instanceof Handle) || handle.owner !== this) invalid(`free: ${String(handle)} is not a handle of this heap`);
    if (handle.freed) return;
    this.#mutate('free', () => {
      handle.markFreed();
      this.#releaseRoot(handle.id);
    });
  }

  /** @internal */
  releasePin(pin: Pin): void {
    if (pin.released) return;
    this.#mutate('release', () => {
      pin.markReleased();
      if (pin.hold !== undefined) this.#bodies.releaseHold(pin.id, pin.hold);
      this.#releaseRoot(pin.id);
    });
  }

  // ---- internals ----

  /**
   * What a reentry trampoline's resolver asks while heap.call runs: compile the lazy function the
   * trampoline belongs to (materialize: compile callback, backpatch) and hold it for the rest of
   * the innermost call. Returns the address where the call continues.
   */
  readonly #resolveLazy = (returnAddress: number): number => {
    const fn = this.#stubs.functionEnteredAt(returnAddress);
    if (this.#callDepth === 0 || fn === NONE) {
      throw new CodeHeapError('CORRUPT', `call: code entered the resolver from ${hex(returnAddress)}, which is no lazy function's trampoline`);
    }
    const handle = this.#mutate('call', () => this.#newHandle(fn));
    try {
      this.materialize(handle);
      this.#mutate('call', () => this.#holdForCall(fn));
    } finally {
      handle.free();
    }
    return this.#graph.addressOf(fn);
  };

  /**
   * Disposes of a replaced body. While a native call runs, the body may be executing anywhere on
   * the machine stack (a compile callback recompiling a caller of the function it compiles), and
   * the stack is not walked: the body retires, held with its function until the outermost call
   * returns, as a pinned body is.
   */
  #disposeBody(fn: number, old: OldBody): number {
    const kept = this.#callDepth > 0 && !old.wasLazy;
    const retired = this.#bodies.dispose(fn, old, kept);
    if (kept) {
      this.#callKept.push(retired, fn);
      this.#retainRoot(fn);
    }
    return retired;
  }

  #holdForCall(id: number): void {
    this.#retainRoot(id);
    this.#callHeld.push(id);
  }

  /** The outermost native call returned: bodies replaced while it ran are no longer on any stack. */
  #releaseKept(): void {
    const kept = this.#callKept;
    while (kept.length > 0) this.#releaseRoot(kept.pop()!);
  }

  /** A count held from outside the graph (handle, pin, a running call), so verify() can recount it. */
  #retainRoot(id: number): void {
    this.#graph.nodes.roots[id]!++;
    this.#graph.retain(id);
  }

  #releaseRoot(id: number): void {
    this.#graph.nodes.roots[id]!--;
    this.#graph.release(id);
  }

  #enter(operation: string): void {
    if (this.#phase !== 'idle') {
      throw new CodeHeapError('REENTRANT_CALL', `${operation} was called while the heap is ${this.#phase}; observers and collections may only read the heap`);
    }
  }

  /** Runs one mutating call in the 'linking' phase, then delivers its events. */
  #mutate<T>(operation: string, body: () => T): T {
    this.#enter(operation);
    this.#phase = 'linking';
    let result: T;
    try {
      result = body();
    } catch (error) {
      // A failed call changed nothing of its own, but a collection it ran (before giving up on a
      // duplicate name or an allocation) did free memory: that is reported now, by this call.
      this.#phase = 'idle';
      this.#deliver();
      throw error;
    }
    this.#phase = 'idle';
    this.#settle();
    return result;
  }

  /** The end of a public call that changed counts: an automatic collection if due, then events. */
  #settle(): void {
    if (this.#policy.due(this.#graph.candidates.length)) this.#collect(true);
    this.#deliver();
  }

  #deliver(): void {
    if (!this.#events.pending()) return;
    this.#phase = 'notifying';
    try {
      this.#events.deliver();
    } finally {
      this.#phase = 'idle';
    }
  }

  /**
   * Runs the collector. Only an automatic run (one the threshold started, so it began with a full
   * buffer) tells the policy how productive such runs are; explicit and before-giving-up runs
   * start with whatever the buffer holds and would skew it.
   */
  #collect(automatic = false): CollectionResult {
    const previous = this.#phase;
    this.#phase = 'collecting';
    let result: CollectionResult;
    try {
      result = this.#collector.collectCycles();
    } finally {
      this.#phase = previous;
    }
    this.#collections++;
    if (automatic) this.#policy.record(result);
    this.#events.collected(result);
    if (previous === 'idle') this.#deliver();
    return result;
  }

  #idOf(handle: Handle, operation: string, kind?: number): number {
    if (!(handle instanceof Handle)) invalid(`${operation}: expected a Handle, got ${String(handle)}`);
    if (handle.owner !== this) invalid(`${operation}: the handle on ${handle.name} belongs to another heap`);
    handle.assertLive(operation);
    if (kind !== undefined && this.#graph.nodes.kindOf(handle.id) !== kind) {
      invalid(`${operation}: ${handle.name} is a ${handle.kind}, not a ${KIND_NAMES[kind]}`);
    }
    return handle.id;
  }

  #newHandle(id: number): Handle {
    const { nodes } = this.#graph;
    this.#retainRoot(id);
    return new Handle(this, id, nodes.nameOf(id), KIND_NAMES[nodes.kindOf(id)] as Handle['kind']);
  }

  /** DUPLICATE_SYMBOL for a live name, but only after one collection had the chance to free it. */
  #checkFresh(names: string[]): void {
    const { symbols } = this.#graph.nodes;
    if (!names.some((n) => symbols.has(n))) return;
    this.#collect();
    const taken = names.find((n) => symbols.has(n));
    if (taken !== undefined) throw new CodeHeapError('DUPLICATE_SYMBOL', `${taken} is already defined and still referenced`);
  }

  /** Runs allocate; on failure collects once and retries; then OUT_OF_MEMORY. */
  #allocateOrCollect<T>(allocate: () => T | -1, what: string): T {
    let result = allocate();
    if (result === -1) {
      this.#collect();
      result = allocate();
    }
    if (result === -1) this.#outOfMemory(`${what} does not fit`);
    return result as T;
  }

  #outOfMemory(what: string): never {
    const { code, data } = this.#graph.arenas;
    const code_ = `code arena ${code.allocator.freeBytes} bytes free (largest block ${code.allocator.largestFree()})`;
    const data_ = `data arena ${data.allocator.freeBytes} bytes free (largest block ${data.allocator.largestFree()})`;
    throw new CodeHeapError('OUT_OF_MEMORY', `${what}: ${code_}, ${data_}, even after a collection`);
  }

  /** Plans, places (collecting once when full) and checks; commits; returns the plan. */
  #link(definitions: Definition[], operation: string): Plan & { oldBodies: (OldBody | undefined)[]; patched: number } {
    const resolver = { graph: this.#graph, arch: this.arch, resolveExternal: this.#resolveExternal };
    let linked = plan(definitions, resolver);
    if (place(linked, this.#ctx)) return this.#checkAndCommit(linked);
    // Full: collect once and plan again. Naming a symbol is a reference, so the functions and
    // globals the unit names are held through the collection (and until the new sites count
    // them): memory pressure must not turn a define that links into UNDEFINED_SYMBOL by freeing
    // the garbage cycle a named symbol sits on.
    const held = namedNodes(linked, this.#graph);
    for (const id of held) this.#graph.retain(id);
    try {
      this.#collect();
      linked = plan(definitions, resolver);
      if (!place(linked, this.#ctx)) {
        const bytes = definitions.reduce((sum, d) => sum + d.size, 0);
        this.#outOfMemory(`${operation} of ${definitions.map((d) => d.name).join(', ')} (${bytes} bytes) does not fit`);
      }
      return this.#checkAndCommit(linked);
    } finally {
      for (const id of held) this.#graph.release(id);
    }
  }

  #checkAndCommit(linked: Plan): Plan & { oldBodies: (OldBody | undefined)[]; patched: number } {
    try {
      check(linked, this.#ctx);
    } catch (error) {
      unplace(linked, this.#ctx);
      throw error;
    }
    const { oldBodies, patched } = commit(linked, this.#ctx);
    this.#patches += patched;
    return Object.assign(linked, { oldBodies, patched });
  }

  #replaceBody(fn: number, definition: Definition, operation: 'redefine' | 'materialize'): void {
    const graph = this.#graph;
    const from = graph.addressOf(fn);
    const linked = this.#link([definition], operation);
    const old = linked.oldBodies[0]!;
    const node = linked.nodes[0]!;
    const oldSize = graph.arenas.code.sizeOf(old.block);
    this.#events.patch(definition.name, linked.patched, from, node.address);
    this.#events.allocated(linked);
    if (this.#disposeBody(fn, old) === NONE) {
      this.#events.free(definition.name, old.wasLazy ? 'trampoline' : 'function', from, oldSize, operation);
    }
  }
}
