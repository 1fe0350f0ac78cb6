// The first stage of a link: resolve and check every relocation, touching nothing (planned).
//
// Validate first, then mutate: a Plan is pure data about what a define, redefine or materialize
// will do. If a relocation is malformed, lies outside its node's bytes, overlaps another, names a
// symbol nobody has, or is a stub reference that carries an offset, planning throws and the heap
// is exactly as it was.
//
// Resolution order for a relocation's symbol: the unit's own names (so one unit links together
// and mutual recursion works), then the heap's functions and globals, then resolveExternal.
//
// Every site points at a slot, and a slot is the one thing a site's target is: its address (S)
// once placed, its node (the edge's target) once committed, or no node for an address outside the
// heap. Slots [0, n) are the unit's own nodes; then come fixed slots (an existing node or an
// external address); stubs the link creates are numbered among themselves (place.ts gives them
// slots after the fixed ones).

import * as base from '../base.js';
import { CodeHeapError, hex, invalid, show } from '../errors.js';
import { LargeMap } from '../large-map.js';
import { NameTable } from '../name-table.js';
import * as nameTable from '../name-table.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import { entryAddend, type Architecture, type RelocationKind } from '../reloc/architecture.js';
import type { Definition } from './definitions.js';
import type { RelocationColumns } from './snapshot.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, GLOBAL, NONE, STUB } = base;
const { ABSENT } = nameTable;

/** A stub the link creates: for a node of the unit, an existing function, or an external. */
export type PlannedStub =
  | { readonly of: 'unit'; readonly index: number }
  | { readonly of: 'node'; readonly id: number }
  | { readonly of: 'external'; readonly name: string; readonly address: number };

/** Where each site of the unit's nodes is, what it encodes, and which slot it targets. */
export interface PlannedSites {
  readonly count: number;
  /** Byte offset of the field inside its node. */
  readonly offset: Int32Array;
  /** The relocation kind (its id in the architecture's table). */
  readonly kind: Uint8Array;
  readonly addend: Float64Array;
  /** The slot targeted: >= 0 a unit node or fixed slot, or STUB_SLOT - i for planned stub i. */
  readonly slot: Int32Array;
  /** 1 for a body (call) reference to an external: it may need a stub once its P is known. */
  readonly externalCall: Uint8Array;
  readonly symbol: string[];
}

export interface Plan {
  readonly stage: 'planned';
  /** The unit's nodes: node i's sites are [firstSite[i], firstSite[i] + its relocationCount). */
  readonly definitions: readonly Definition[];
  readonly firstSite: readonly number[];
  readonly sites: PlannedSites;
  /** Fixed slot i (slot n + i): an existing node, or NONE with an external address. */
  readonly fixedNodes: readonly number[];
  readonly fixedAddresses: readonly number[];
  readonly stubs: readonly PlannedStub[];
}

/** A site's slot for planned stub i is STUB_SLOT - i (below every real slot, and below NONE). */
export const STUB_SLOT = -2;

export interface Resolver {
  readonly graph: HeapGraph;
  readonly arch: Architecture;
  readonly resolveExternal: ((name: string) => unknown) | undefined;
}

/**
 * The addend of a stub reference, which must address the stub itself (DESIGN: a stub reference
 * never carries an offset): the entry addend of a field in a node of `sourceKind` (globals' bytes
 * are data, every other node's are code).
 */
export function stubAddend(kind: RelocationKind, sourceKind: number): number {
  return entryAddend(kind, sourceKind !== GLOBAL);
}

/** `names`: the unit's names to their index, when the caller has them already (define). */
export function plan(definitions: readonly Definition[], resolver: Resolver, names?: NameTable): Plan {
  const n = definitions.length;
  let count = 0;
  for (let i = 0; i < n; i++) count += definitions[i]!.relocationCount;
  const sites: PlannedSites = count === 0 ? NO_SITES : {
    count, offset: new Int32Array(count), kind: new Uint8Array(count), addend: new Float64Array(count),
    slot: new Int32Array(count), externalCall: new Uint8Array(count), symbol: new Array<string>(count),
  };
  const planner = new Planner(definitions, resolver, sites, names ?? null);
  const firstSite = new Array<number>(n);
  let next = 0;
  for (let i = 0; i < n; i++) {
    const d = definitions[i]!;
    firstSite[i] = next;
    const first = d.firstRelocation;
    for (let r = first; r < first + d.relocationCount; r++) planner.site(d, r, next++);
    checkOverlap(d, sites, firstSite[i]!, next, resolver.arch);
  }
  return { stage: 'planned', definitions, firstSite, sites, fixedNodes: planner.fixedNodes, fixedAddresses: planner.fixedAddresses, stubs: planner.stubs };
}

/** The sites of a plan with none (a body without relocations: most replacements). */
const NO_SITES: PlannedSites = {
  count: 0, offset: new Int32Array(0), kind: new Uint8Array(0), addend: new Float64Array(0),
  slot: new Int32Array(0), externalCall: new Uint8Array(0), symbol: [],
};

class Planner {
  readonly fixedNodes: number[] = [];
  readonly fixedAddresses: number[] = [];
  readonly stubs: PlannedStub[] = [];

  /** Planned stubs by unit index and by existing function id, made on first need. */
  private unitStubs: Int32Array | null = null;
  private nodeStubs: LargeMap<number, number> | null = null;

  constructor(
    private readonly definitions: readonly Definition[],
    private readonly resolver: Resolver,
    private readonly sites: PlannedSites,
    /** The unit's names, given or made on first need (a unit of one definition compares its one name). */
    private unitNames: NameTable | null,
  ) {}

  /** Checks relocation r (of the columns) of definition d and resolves its symbol into site s. */
  site(d: Definition, r: number, s: number): void {
    const { sites, resolver } = this;
    const columns = d.relocations;
    // The location (whereOf) is built only on the error paths: this runs once per site.
    if (!columns.isObject(r)) invalid(`${d.name}: a relocation must be an object, got ${show(columns.element[r])}`);
    const type = columns.type[r];
    const kind = typeof type === 'string' ? resolver.arch.kind(type) : undefined;
    if (kind === undefined) invalid(`${whereOf(d, r)}: unknown relocation type ${show(type)}`);
    const offset = columns.offset[r] as number;
    if (!Number.isSafeInteger(offset) || offset < 0) invalid(`${whereOf(d, r)}: offset must be a non-negative integer`);
    if (offset + kind.width > d.size) {
      throw new CodeHeapError('RELOCATION_OUT_OF_BOUNDS',
        `${whereOf(d, r)} (${kind.name}, ${kind.width} bytes) ends at ${offset + kind.width}, past the ${d.size} bytes of ${d.name}`);
    }
    const given = columns.addend[r];
    const addend = given ?? 0;
    if (typeof addend !== 'number' || !Number.isSafeInteger(addend)) invalid(`${whereOf(d, r)}: addend must be a safe integer, got ${show(given)}`);
    const via = columns.via[r];
    if (via !== undefined && via !== 'body' && via !== 'stub') invalid(`${whereOf(d, r)}: via must be 'body' or 'stub', got ${show(via)}`);
    const symbol = columns.symbol[r];
    if (typeof symbol !== 'string' || symbol === '') invalid(`${whereOf(d, r)}: symbol must be a non-empty string, got ${show(symbol)}`);
    const body = via === undefined ? kind.bodyByDefault : via === 'body';
    sites.offset[s] = offset;
    sites.kind[s] = kind.id;
    sites.addend[s] = addend;
    sites.symbol[s] = symbol;
    const address = columns.address[r];
    const slot = address === undefined ? this.resolve(symbol, body, d, r, kind) : this.external(symbol, address);
    sites.slot[s] = slot;
    if (body && this.isExternal(slot)) sites.externalCall[s] = 1;
    const expected = stubAddend(kind, d.kind);
    if (body && addend !== expected) this.checkInterior(slot, addend - expected, d, r, kind);
    if (this.isStubSlot(slot) && addend !== expected) {
      invalid(`${whereOf(d, r)} (${kind.name}) is a pointer reference to ${symbol}, through its stub, with addend ${addend}: `
        + `a stub reference carries no offset, so its addend must be ${expected} (a reference into a body takes via: 'body')`);
    }
  }

  /** The slot a reference to `symbol` targets: a body or global, a stub, or an external address. */
  private resolve(symbol: string, body: boolean, d: Definition, r: number, kind: RelocationKind): number {
    const { nodes } = this.resolver.graph;
    const local = this.local(symbol);
    if (local !== undefined) {
      const target = this.definitions[local]!;
      if (target.kind === GLOBAL || body) return local;
      if (target.replaces !== NONE) return this.stubOfNode(target.replaces);
      return this.stubOfUnit(local);
    }
    const id = this.resolver.graph.nodes.symbols.get(symbol);
    if (id !== undefined) return nodes.kindOf(id) === GLOBAL || body ? this.fixed(id, 0) : this.stubOfNode(id);
    const address = this.resolver.resolveExternal?.(symbol);
    if (address === undefined) {
      throw new CodeHeapError('UNDEFINED_SYMBOL', `${whereOf(d, r)} (${kind.name}) refers to ${symbol}, which is neither in the heap nor resolved externally`);
    }
    return this.external(`resolveExternal(${symbol}) returned`, address);
  }

  /** The slot of an address outside the heap: resolveExternal's, or a relocation's own `address`. */
  private external(what: string, address: unknown): number {
    if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0) {
      invalid(`${what} ${show(address)}; an address must be a non-negative safe integer`);
    }
    return this.fixed(NONE, address);
  }

  /**
   * An interior reference (DESIGN semantics 9) must land inside its target's body: a function of
   * the unit (its new code) or a live function of the heap. A lazy function has no body to point
   * into. A global takes any offset (its bytes do not move), and so does an address outside.
   */
  private checkInterior(slot: number, offset: number, d: Definition, r: number, kind: RelocationKind): void {
    const { definitions } = this;
    const { nodes, arenas } = this.resolver.graph;
    let size: number;
    if (slot < definitions.length) {
      const target = definitions[slot]!;
      if (target.kind === GLOBAL) return;
      size = target.size;
    } else {
      const id = this.fixedNodes[slot - definitions.length];
      if (id === undefined || id === NONE || nodes.kindOf(id) !== FUNCTION) return;
      if (nodes.isLazy(id)) {
        invalid(`${whereOf(d, r)} (${kind.name}) refers into the body of ${symbolOf(d.relocations, r)} at +${hex(offset)}, but ${symbolOf(d.relocations, r)} is lazy: it has no body to point into`);
      }
      size = arenas.code.sizeOf(nodes.block[id]!);
    }
    if (offset < 0 || offset >= size) {
      invalid(`${whereOf(d, r)} (${kind.name}) refers to ${symbolOf(d.relocations, r)}+${hex(offset)}, outside the ${size} bytes of its body: an interior reference must lie inside the body`);
    }
  }

  private isExternal(slot: number): boolean {
    const fixed = slot - this.definitions.length;
    return fixed >= 0 && this.fixedNodes[fixed] === NONE;
  }

  /** The index of the unit's definition named `symbol`, or undefined. */
  private local(symbol: string): number | undefined {
    const { definitions } = this;
    if (definitions.length === 1) return definitions[0]!.name === symbol ? 0 : undefined;
    if (this.unitNames === null) {
      const names = new NameTable(definitions.length);
      definitions.forEach((d, index) => names.set(d.name, index));
      this.unitNames = names;
    }
    const index = this.unitNames.get(symbol);
    return index === ABSENT ? undefined : index;
  }

  private fixed(id: number, address: number): number {
    this.fixedNodes.push(id);
    this.fixedAddresses.push(address);
    return this.definitions.length + this.fixedNodes.length - 1;
  }

  /** The slot of an existing function's stub: the stub itself, or one planned now. */
  private stubOfNode(fn: number): number {
    const stub = this.resolver.graph.nodes.stubOf(fn);
    if (stub !== NONE) return this.fixed(stub, 0);
    this.nodeStubs ??= new LargeMap<number, number>();
    let index = this.nodeStubs.get(fn);
    if (index === undefined) {
      index = this.stubs.push({ of: 'node', id: fn }) - 1;
      this.nodeStubs.set(fn, index);
    }
    return STUB_SLOT - index;
  }

  private stubOfUnit(local: number): number {
    this.unitStubs ??= new Int32Array(this.definitions.length).fill(NONE);
    let index = this.unitStubs[local]!;
    if (index === NONE) {
      index = this.stubs.push({ of: 'unit', index: local }) - 1;
      this.unitStubs[local] = index;
    }
    return STUB_SLOT - index;
  }

  private isStubSlot(slot: number): boolean {
    if (slot <= STUB_SLOT) return true;
    const fixed = slot - this.definitions.length;
    return fixed >= 0 && this.fixedNodes[fixed] !== NONE && this.resolver.graph.nodes.kindOf(this.fixedNodes[fixed]!) === STUB;
  }
}

/** Where relocation r of d is, for messages: `relocation at f+0x3`. */
function whereOf(d: Definition, r: number): string {
  const offset = d.relocations.offset[r];
  return `relocation at ${d.name}+${Number.isSafeInteger(offset) ? hex(offset as number) : show(offset)}`;
}

/** Relocation r's symbol, for messages once it is known to be a string. */
function symbolOf(columns: RelocationColumns, r: number): string {
  return columns.symbol[r] as string;
}

/**
 * The existing functions and globals a plan's relocations name (a function reached through its
 * stub counts as named), once each, the replaced function excluded: a caller holds these through
 * a collection so that re-planning after it resolves the same symbols.
 */
export function namedNodes(result: Plan, graph: HeapGraph): number[] {
  const named = new LargeMap<number, true>();
  for (const id of result.fixedNodes) {
    if (id !== NONE) named.set(graph.nodes.kindOf(id) === STUB ? graph.functionOfStub(id) : id, true);
  }
  for (const stub of result.stubs) if (stub.of === 'node') named.set(stub.id, true);
  for (const d of result.definitions) named.delete(d.replaces);
  named.delete(NONE);
  return [...named].map(([id]) => id);
}

function checkOverlap(d: Definition, sites: PlannedSites, from: number, to: number, arch: Architecture): void {
  // Compilers emit relocations in offset order; sort the indexes only when they are not.
  let inOrder = true;
  for (let i = from + 1; i < to && inOrder; i++) inOrder = sites.offset[i - 1]! <= sites.offset[i]!;
  let order: number[] | undefined;
  if (!inOrder) {
    order = [];
    for (let i = from; i < to; i++) order.push(i);
    order.sort((a, b) => sites.offset[a]! - sites.offset[b]!);
  }
  for (let i = 1; i < to - from; i++) {
    const prev = order === undefined ? from + i - 1 : order[i - 1]!;
    const next = order === undefined ? from + i : order[i]!;
    const width = arch.kinds[sites.kind[prev]!]!.width;
    if (sites.offset[prev]! + width > sites.offset[next]!) {
      invalid(`${d.name}: the relocation at +${hex(sites.offset[prev]!)} (${arch.kinds[sites.kind[prev]!]!.name}, ${width} bytes, to ${sites.symbol[prev]}) overlaps the one at +${hex(sites.offset[next]!)} (to ${sites.symbol[next]})`);
    }
  }
}
