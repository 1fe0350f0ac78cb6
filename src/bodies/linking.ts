// Linking a set of definitions into the heap, with the one retry a full heap gets.
//
// The stages are link/'s: plan -> place -> check -> commit, each taking the previous stage's
// result. Every failure is a thrown CodeHeapError. Running out of room (OUT_OF_MEMORY from place,
// or from any reservation) is the one failure worth a second attempt: the heap collects once and
// tries again, and a second OUT_OF_MEMORY says so ("even after a collection").

import { CodeHeapError } from '../errors.js';
import { check } from '../link/check.js';
import { commit, type Committed } from '../link/commit.js';
import type { Definition } from '../link/definitions.js';
import type { LinkContext } from '../link/link-context.js';
import { place } from '../link/place.js';
import { namedNodes, plan, type Resolver } from '../link/plan.js';
import type { NameTable } from '../name-table.js';
import type { CollectionCount } from './calls.js';
import type { AllocEvent, FreeEvent } from '../types.js';

/** Where the lifecycle reports what it did, for the observer (the facade's EventQueue). */
export interface LifecycleEvents {
  alloc(name: string, kind: AllocEvent['kind'], address: number, size: number): void;
  free(name: string, kind: FreeEvent['kind'], address: number, size: number, by: FreeEvent['by']): void;
  patch(symbol: string, sites: number, from: number, to: number): void;
  /** Alloc events for the nodes and stubs a link created (or gave a new body). */
  allocated(committed: Committed): void;
  /** A stub was made (its alloc event). */
  stub(stub: number): void;
  /** A replaced body goes on at its address as retired (the region hears of it: Region.codePlaced). */
  retired(name: string, address: number, size: number): void;
}

/** What the body lifecycle works with: the link context, events, and the heap's collection. */
export interface HeapCore extends LinkContext {
  readonly events: LifecycleEvents;
  readonly resolver: Resolver;
  /** Runs one collection now, as the facade runs every collection (phases, counters, events). */
  collect(): void;
  /** What counts the collections run so far (a data property, read on every native call). */
  readonly count: CollectionCount;
}

function isNoRoom(error: unknown): error is CodeHeapError {
  return error instanceof CodeHeapError && error.code === 'OUT_OF_MEMORY';
}

/** OUT_OF_MEMORY from a second attempt: the message says a collection did not help. */
function afterCollection(error: CodeHeapError): CodeHeapError {
  return new CodeHeapError('OUT_OF_MEMORY', `${error.message}, even after a collection`);
}

/** Runs `attempt`; if it runs out of room, collects once and runs it again. */
export function withRoom<T>(core: HeapCore, attempt: () => T): T {
  try {
    return attempt();
  } catch (error) {
    if (!isNoRoom(error)) throw error;
  }
  core.collect();
  try {
    return attempt();
  } catch (error) {
    throw isNoRoom(error) ? afterCollection(error) : error;
  }
}

/**
 * Plans, places (collecting once when full), checks and commits. Naming a symbol is a reference:
 * the functions and globals the definitions name are held through that collection (and until the
 * new sites count them), so that memory pressure cannot turn a link that resolves into
 * UNDEFINED_SYMBOL by freeing the garbage cycle a named symbol sits on.
 */
export function link(core: HeapCore, definitions: readonly Definition[], operation: string, names?: NameTable): Committed {
  // Described only when something does not fit.
  const what = (): string => `${operation} of ${unitLabel(definitions)} (${definitions.reduce((sum, d) => sum + d.size, 0)} bytes)`;
  const planned = plan(definitions, core.resolver, names);
  let placed;
  try {
    placed = place(planned, core, what);
  } catch (error) {
    if (!isNoRoom(error)) throw error;
    return relinkAfterCollection(core, definitions, namedNodes(planned, core.graph), what, names);
  }
  return commit(check(placed, core), core);
}

function relinkAfterCollection(
  core: HeapCore, definitions: readonly Definition[], held: number[], what: () => string, names: NameTable | undefined,
): Committed {
  const { graph } = core;
  for (const id of held) graph.retainRoot(id);
  try {
    core.collect();
    const planned = plan(definitions, core.resolver, names);
    let placed;
    try {
      placed = place(planned, core, what);
    } catch (error) {
      throw isNoRoom(error) ? afterCollection(error) : error;
    }
    return commit(check(placed, core), core);
  } finally {
    for (const id of held) graph.releaseRoot(id);
  }
}

/** Names of the definitions for a message: all of a small unit, the first few and a count of a large one. */
const NAMED = 8;
function unitLabel(definitions: readonly Definition[]): string {
  const names = definitions.slice(0, NAMED).map((d) => d.name).join(', ');
  return definitions.length <= NAMED ? names : `${names} and ${definitions.length - NAMED} more`;
}
