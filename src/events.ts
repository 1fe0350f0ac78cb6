// Observer events: queued while a call mutates the heap, delivered once it is consistent again.
//
// Delivering after the mutation means an observer always sees a heap that verify() accepts. An
// observer is isolated from the call that caused its events: when one of its methods throws, the
// call has already completed and its result stands (a define's Unit is returned, its handles held
// by the caller). The error goes to the observer's own `error` method, with the event, and the
// remaining events are still delivered; with no `error` method (or one that throws too) it is
// thrown again from a microtask, as an uncaught exception, the way Node reports a throwing
// EventTarget listener: never silently dropped, never undoing the call. With no observer nothing
// is queued.

import type { Committed } from './link/commit.js';
import { rethrowLater } from './errors.js';
import type { Region } from './heap/region.js';
import { UnwindNotices } from './unwind-notices.js';
import type { HeapGraph } from './rc/heap-graph.js';
import * as base from './base.js';
import type { CollectionResult, Observer, ObserverEvent } from './types.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { GLOBAL } = base;

type FreeEvent = Parameters<NonNullable<Observer['free']>>[0];
type AllocEvent = Parameters<NonNullable<Observer['alloc']>>[0];

export class EventQueue {
  private queue: ObserverEvent[] = [];
  /** The region's codePlaced and codeFreed, when it has them (the tools of the process the code runs in). */
  private readonly placed: Region['codePlaced'];
  private readonly freed: Region['codeFreed'];
  private readonly linesPlaced: Region['linesPlaced'];

  constructor(private readonly observer: Observer | undefined, private readonly graph: HeapGraph) {
    const { region } = graph.arenas;
    this.placed = region.codePlaced;
    this.freed = region.codeFreed;
    this.linesPlaced = region.linesPlaced;
    if (observer?.free !== undefined || this.freed !== undefined) graph.log = [];
    this.unwind = new UnwindNotices(graph, rethrowLater);
  }

  /** Bodies with unwind tables, told of to the region (unwind-notices.ts). */
  private readonly unwind: UnwindNotices;

  alloc(name: string, kind: AllocEvent['kind'], address: number, size: number): void {
    if (this.observer?.alloc !== undefined) this.queue.push({ type: 'alloc', name, kind, address, size });
    if (this.placed !== undefined && kind !== 'global') this.tell(kind === 'trampoline' ? `${name} [lazy]` : name, address, size);
  }

  /** A stub was made: its alloc event, and the region hears of it by its function's name. */
  stub(stub: number): void {
    const { graph } = this;
    const { nodes } = graph;
    const address = graph.addressOf(stub);
    const size = graph.bytesOf(stub);
    if (this.observer?.alloc !== undefined) this.queue.push({ type: 'alloc', name: nodes.nameOf(stub), kind: 'stub', address, size });
    if (this.placed !== undefined) {
      const code = graph.arenas.code.sizeOf(nodes.block[stub]!);
      this.tell(`${nodes.names[stub]} ${nodes.isExternStub(stub) ? '[extern stub]' : '[stub]'}`, address, code);
    }
  }

  /** A replaced body goes on at its address as retired (a call runs in it, or a pin holds it). */
  retired(name: string, address: number, size: number): void {
    if (this.placed !== undefined) this.tell(`${name} [retired]`, address, size);
  }

  /**
   * The region hears of code placed, after every free before it (so a block freed and placed
   * again is told in that order); what it throws goes to a microtask, past the heap's call.
   */
  private tell(name: string, address: number, size: number): void {
    this.takeReclaimed();
    try {
      this.placed!(name, address, size);
    } catch (error) {
      rethrowLater(error);
    }
  }

  /** The bodies a link placed that came with line tables: the region hears of each before its codePlaced. */
  private tellLines(definitions: Committed['placed']['plan']['definitions'], addresses: ArrayLike<number>): void {
    for (let i = 0; i < definitions.length; i++) {
      const { lines } = definitions[i]!;
      if (lines === undefined) continue;
      try {
        this.linesPlaced!(addresses[i]!, lines);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }

  /** The region hears that the code at `address` is gone. */
  private forget(kind: FreeEvent['kind'], address: number): void {
    if (kind === 'global') return;
    this.unwind.freed(address);
    if (this.freed === undefined) return;
    try {
      this.freed(address);
    } catch (error) {
      rethrowLater(error);
    }
  }

  free(name: string, kind: FreeEvent['kind'], address: number, size: number, by: FreeEvent['by']): void {
    this.takeReclaimed();
    this.forget(kind, address);
    if (this.observer?.free !== undefined) this.queue.push({ type: 'free', name, kind, address, size, by });
  }

  patch(symbol: string, sites: number, from: number, to: number): void {
    if (this.observer?.patch !== undefined) this.queue.push({ type: 'patch', symbol, sites, from, to });
  }

  /** Alloc events for the nodes and stubs a link created (or gave a new body). */
  allocated(committed: Committed): void {
    const { placed } = committed;
    // Frees before the placement are told first: a block freed and placed again, in that order.
    this.takeReclaimed();
    this.unwind.placed(placed.plan.definitions, placed.addresses);
    if (this.linesPlaced !== undefined) this.tellLines(placed.plan.definitions, placed.addresses);
    if (this.observer?.alloc === undefined && this.placed === undefined) return;
    const { graph } = this;
    // Sizes are the blocks' reserved sizes, as free events and stats() report them.
    placed.plan.definitions.forEach((d, i) => {
      const size = graph.arenas.of(d.kind).sizeOf(placed.blocks[i]!);
      this.alloc(d.name, d.kind === GLOBAL ? 'global' : 'function', placed.addresses[i]!, size);
    });
    for (const stub of committed.stubIds) this.stub(stub);
  }

  collected(result: CollectionResult): void {
    this.takeReclaimed();
    if (this.observer?.collect !== undefined) this.queue.push({ type: 'collect', ...result });
  }

  /** True when events wait; moves nodes reclaimed by counting into the queue first. */
  pending(): boolean {
    this.takeReclaimed();
    return this.queue.length > 0;
  }

  /** Delivers every queued event, each in isolation (see the header). */
  deliver(): void {
    const observer = this.observer!;
    const events = this.queue;
    this.queue = [];
    for (const event of events) {
      try {
        deliverOne(observer, event);
      } catch (error) {
        report(observer, error, event);
      }
    }
  }

  private takeReclaimed(): void {
    const log = this.graph.log;
    if (log === null || log.length === 0) return;
    const observed = this.observer?.free !== undefined;
    for (const r of log) {
      this.forget(r.kind, r.address);
      if (observed) this.queue.push({ type: 'free', ...r });
    }
    log.length = 0;
  }
}

function deliverOne(observer: Observer, event: ObserverEvent): void {
  const { type, ...fields } = event;
  switch (type) {
    case 'alloc': observer.alloc?.(fields as AllocEvent); break;
    case 'free': observer.free?.(fields as FreeEvent); break;
    case 'patch': observer.patch?.(fields as Parameters<NonNullable<Observer['patch']>>[0]); break;
    case 'collect': observer.collect?.(fields as CollectionResult); break;
  }
}

/** An observer method threw: its own `error` method hears of it, else a microtask rethrows it. */
function report(observer: Observer, error: unknown, event: ObserverEvent): void {
  if (observer.error !== undefined) {
    try {
      observer.error(error, event);
      return;
    } catch (second) {
      rethrowLater(second);
    }
  }
  rethrowLater(error);
}
