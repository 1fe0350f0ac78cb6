// The heap's roots as the facade hands them out: handles and pins, made, checked and let go.
//
// A handle or a pin is an object the caller holds; the count it owns is in rc. This module is
// the one place that turns between the two: it makes them (one root count each), checks that a
// value the caller passes is a live handle of this heap (INVALID_ARGUMENT for anything else,
// USE_AFTER_FREE for a freed one) and lets go of their counts, once.

import * as base from './base.js';
import type { FunctionBodies } from './bodies/function-bodies.js';
import { collectSet } from './cycles/unload.js';
import { invalid, show } from './errors.js';
import { readInput } from './link/definitions.js';
import { usedAfterFree, type Handle, type HandleOwner, type Pin, type UnitMembers } from './handle.js';
import * as handles from './handle.js';
import type { Phases } from './phases.js';
import type { HeapGraph } from './rc/heap-graph.js';
import { KIND_NAMES } from './rc/node-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { NOT_A_HANDLE, OTHER_OWNER } = handles;
// The heap's access to handles and pins, bound once: they are read on every call that takes one.
const { handleState, pinState } = handles;

export class Roots {
  /** What this heap's handles and pins call back into; reachable from no public type. */
  readonly owner: HandleOwner;

  constructor(private readonly graph: HeapGraph, private readonly phases: Phases, private readonly bodies: FunctionBodies) {
    this.owner = {
      address: (handle) => {
        phases.open('address');
        return graph.addressOf(this.idOf(handle, 'address'));
      },
      free: (handle) => this.free(handle),
      release: (pin) => this.release(pin),
    };
  }

  /** The node a handle of this heap stands for; `kind`: it must be of that kind. */
  idOf(handle: Handle, operation: string, kind = NONE): number {
    // The refusals are built out of line: this runs on every heap.call, which V8 inlines whole
    // only while its callees are small.
    const id = handleState.check(handle, this.owner);
    if (id < 0) refuseHandle(handle, operation, id);
    if (kind !== NONE && this.graph.nodes.kindOf(id) !== kind) refuseKind(handle, operation, kind);
    return id;
  }

  /** A new handle: one more root count on the node; `unit`: it is one of a define's handles. */
  handle(id: number, unit: UnitMembers | null = null): Handle {
    const { nodes } = this.graph;
    this.graph.retainRoot(id);
    return handleState.create(this.owner, id, nodes.nameOf(id), KIND_NAMES[nodes.kindOf(id)] as Handle['kind'], unit);
  }

  /** A define's handles, one per node, sharing the unit whose last handle unloads it. */
  unitHandles(ids: readonly number[]): Handle[] {
    const unit: UnitMembers = { ids: Int32Array.from(ids), generations: new Uint8Array(ids.length), open: ids.length };
    const { generation } = this.graph.nodes;
    for (let i = 0; i < ids.length; i++) unit.generations[i] = generation[ids[i]!]!;
    const handles: Handle[] = [];
    for (const id of ids) handles.push(this.handle(id, unit));
    return handles;
  }

  /** A new pin on the node a handle stands for: a root count, and a hold on its current body. */
  pin(handle: Handle): Pin {
    const id = this.idOf(handle, 'pin');
    return pinState.create(this.owner, id, handle.name, this.bodies.pin(id));
  }

  /** Drops a handle's count, once; nothing at all on a closed heap. */
  free(handle: Handle): void {
    if (!handleState.is(handle) || handleState.owner(handle) !== this.owner) invalid(`free: ${show(handle)} is not a handle of this heap`);
    if (handle.freed || this.phases.closed) return;
    this.phases.mutate('free', () => {
      handleState.markFreed(handle);
      this.graph.releaseRoot(handleState.id(handle));
      const unit = handleState.unit(handle);
      // The last handle of a unit: what only the unit held goes now (DESIGN semantics 10).
      if (unit !== null && --unit.open === 0) collectSet(this.graph, unit.ids, unit.generations);
    });
  }

  /**
   * Frees every handle given (each once; freed ones are skipped), then reclaims what only their
   * nodes held, cycles among them included (cycles/unload.ts), and what only a unit held whose
   * last handle this was; returns the nodes that went. All are checked before any is freed.
   * Nothing at all on a closed heap.
   */
  unload(handles: unknown): number {
    // The iterable read once, into a snapshot; a getter or proxy that throws is INVALID_ARGUMENT.
    const list = readInput('unload', () => {
      if (handles === null || typeof handles !== 'object' || typeof (handles as Iterable<unknown>)[Symbol.iterator] !== 'function') {
        invalid(`unload takes an iterable of handles, got ${show(handles)}`);
      }
      return [...(handles as Iterable<unknown>)];
    });
    for (const value of list) {
      if (!handleState.is(value) || handleState.owner(value) !== this.owner) invalid(`unload: ${show(value)} is not a handle of this heap`);
    }
    if (this.phases.closed) return 0;
    return this.phases.mutate('unload', () => {
      const { graph } = this;
      const ids: number[] = [];
      const before = graph.freed.rc.nodes + graph.freed.cycles.nodes;
      // One set: the handles' nodes and those of every unit whose last handle is among them, each
      // remembered with its generation, since a node these frees reclaim may lend its id out.
      const generations: number[] = [];
      const closed: UnitMembers[] = [];
      for (const value of list as Handle[]) {
        if (value.freed) continue;
        const id = handleState.id(value);
        handleState.markFreed(value);
        ids.push(id);
        generations.push(graph.nodes.generation[id]!);
        graph.releaseRootOfUnload(id);
        const unit = handleState.unit(value);
        if (unit !== null && --unit.open === 0) closed.push(unit);
      }
      for (const unit of closed) {
        for (let i = 0; i < unit.ids.length; i++) {
          ids.push(unit.ids[i]!);
          generations.push(unit.generations[i]!);
        }
      }
      collectSet(graph, ids, generations);
      return graph.freed.rc.nodes + graph.freed.cycles.nodes - before;
    });
  }

  /** Drops a pin's count and its hold, once; nothing at all on a closed heap. */
  release(pin: Pin): void {
    if (!pinState.is(pin) || pinState.owner(pin) !== this.owner) invalid(`release: ${show(pin)} is not a pin of this heap`);
    if (pin.released || this.phases.closed) return;
    this.phases.mutate('release', () => {
      pinState.markReleased(pin);
      this.bodies.unpin(pinState.id(pin), pinState.hold(pin));
    });
  }
}

function refuseHandle(handle: Handle, operation: string, answer: number): never {
  if (answer === NOT_A_HANDLE) invalid(`${operation}: expected a Handle, got ${show(handle)}`);
  if (answer === OTHER_OWNER) invalid(`${operation}: the handle on ${handle.name} belongs to another heap`);
  return usedAfterFree(operation, handle);
}

function refuseKind(handle: Handle, operation: string, kind: number): never {
  return invalid(`${operation}: ${handle.name} is a ${handle.kind}, not a ${KIND_NAMES[kind]}`);
}
