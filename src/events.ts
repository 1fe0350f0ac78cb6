// Observer events: queued while a call mutates the heap, delivered once it is consistent again.
//
// Delivering after the mutation means an observer always sees a heap that verify() accepts, and
// an observer that throws cannot leave a call half done. With no observer nothing is queued.

import type { Plan } from './link/plan.js';
import type { HeapGraph } from './rc/heap-graph.js';
import * as base from './base.js';
import type { CollectionResult, Observer } from './types.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { GLOBAL } = base;

type FreeEvent = Parameters<NonNullable<Observer['free']>>[0];
type AllocEvent = Parameters<NonNullable<Observer['alloc']>>[0];

type Event =
  | { type: 'alloc'; event: AllocEvent }
  | { type: 'free'; event: FreeEvent }
  | { type: 'patch'; event: Parameters<NonNullable<Observer['patch']>>[0] }
  | { type: 'collect'; event: CollectionResult };

export class EventQueue {
  private queue: Event[] = [];

  constructor(private readonly observer: Observer | undefined, private readonly graph: HeapGraph) {
    if (observer?.free !== undefined) graph.log = [];
  }

  alloc(name: string, kind: AllocEvent['kind'], address: number, size: number): void {
    if (this.observer?.alloc !== undefined) this.queue.push({ type: 'alloc', event: { name, kind, address, size } });
  }

  free(name: string, kind: FreeEvent['kind'], address: number, size: number, by: FreeEvent['by']): void {
    this.takeReclaimed();
    if (this.observer?.free !== undefined) this.queue.push({ type: 'free', event: { name, kind, address, size, by } });
  }

  patch(symbol: string, sites: number, from: number, to: number): void {
    if (this.observer?.patch !== undefined) this.queue.push({ type: 'patch', event: { symbol, sites, from, to } });
  }

  /** Alloc events for the nodes and stubs a link created. */
  allocated(plan: Plan): void {
    if (this.observer?.alloc === undefined) return;
    const { graph } = this;
    // Sizes are the blocks' reserved sizes, as free events and stats() report them.
    for (const node of plan.nodes) {
      const arena = node.kind === GLOBAL ? graph.arenas.data : graph.arenas.code;
      this.alloc(node.name, node.kind === GLOBAL ? 'global' : 'function', node.address, arena.sizeOf(node.block));
    }
    for (const stub of plan.stubs) {
      if (stub.stubId !== undefined) this.alloc(graph.nodes.nameOf(stub.stubId), 'stub', graph.addressOf(stub.stubId), graph.bytesOf(stub.stubId));
    }
  }

  collected(result: CollectionResult): void {
    this.takeReclaimed();
    if (this.observer?.collect !== undefined) this.queue.push({ type: 'collect', event: result });
  }

  /** True when events wait; moves nodes reclaimed by counting into the queue first. */
  pending(): boolean {
    this.takeReclaimed();
    return this.queue.length > 0;
  }

  deliver(): void {
    const observer = this.observer!;
    const events = this.queue;
    this.queue = [];
    for (const e of events) {
      switch (e.type) {
        case 'alloc': observer.alloc?.(e.event); break;
        case 'free': observer.free?.(e.event); break;
        case 'patch': observer.patch?.(e.event); break;
        case 'collect': observer.collect?.(e.event); break;
      }
    }
  }

  private takeReclaimed(): void {
    const log = this.graph.log;
    if (log === null || log.length === 0) return;
    for (const r of log) this.queue.push({ type: 'free', event: { ...r, kind: r.kind } });
    log.length = 0;
  }
}
