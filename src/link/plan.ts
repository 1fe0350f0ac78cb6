// Planning a link: validate definitions and resolve every relocation, touching nothing.
//
// Validate first, then mutate: a plan is pure data about what define/redefine will do. If any
// definition is malformed, any relocation out of its node's bytes, overlapping another, or naming
// a symbol nobody has, the plan throws and the heap is exactly as it was.
//
// Resolution order for a relocation's symbol: the unit's own names (so one unit links together
// and mutual recursion works), then the heap's functions and globals, then resolveExternal.

import { CodeHeapError, hex, invalid } from '../errors.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import * as base from '../base.js';
import type { Architecture, RelocationKind } from '../reloc/architecture.js';
import type { CompileCallback, Relocation } from '../types.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, GLOBAL, NONE, STUB } = base;

/** Where a planned site points. */
export const TargetType = {
  /** The new body or block of plan.nodes[index]. */
  Unit: 0,
  /** An existing node (function body or trampoline, global, or stub). */
  Node: 1,
  /** A stub this plan creates: plan.stubs[index]. */
  NewStub: 2,
  /** An address outside the heap: no node, no edge. */
  External: 3,
} as const;
export type TargetType = (typeof TargetType)[keyof typeof TargetType];

export interface PlannedSite {
  readonly offset: number;
  readonly kind: RelocationKind;
  readonly addend: number;
  readonly symbol: string;
  targetType: TargetType;
  /** Unit index, node id, stub index, or external address, as targetType says. */
  target: number;
  /** True for a body (call) reference to an external: it may need a stub once P is known. */
  externalCall: boolean;
  /** The value to encode, computed by check() at the final addresses. */
  value: number;
}

export interface PlannedNode {
  readonly kind: typeof FUNCTION | typeof GLOBAL;
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly size: number;
  readonly align: number;
  readonly compile: CompileCallback | undefined;
  readonly sites: PlannedSite[];
  /** The function whose body this replaces (redefine, materialize), or NONE for a new node. */
  readonly existing: number;
  block: number;
  address: number;
  id: number;
}

/** A stub the link creates; reservation is set by place(), id by commit(). */
export type PlannedStub = (
  | { of: 'unit'; index: number }
  | { of: 'node'; id: number }
  | { of: 'external'; name: string; address: number }
) & { reservation?: StubAddress; stubId?: number };

export interface StubAddress {
  readonly code: number;
  readonly slot: number;
  readonly address: number;
}

export interface Plan {
  readonly nodes: PlannedNode[];
  readonly stubs: PlannedStub[];
  /** Dedupes new stubs: 'u3' (unit function 3), 'n17' (node 17), 'e:labs' (external). */
  readonly stubIndex: Map<string, number>;
}

export interface Definition {
  kind: typeof FUNCTION | typeof GLOBAL;
  name: string;
  bytes: Uint8Array;
  size: number;
  align: number;
  relocations: readonly Relocation[];
  compile: CompileCallback | undefined;
  existing: number;
}

export interface Resolver {
  graph: HeapGraph;
  arch: Architecture;
  resolveExternal: ((name: string) => number | undefined) | undefined;
}

export function plan(definitions: readonly Definition[], resolver: Resolver): Plan {
  const unitNames = new Map<string, number>();
  definitions.forEach((d, index) => unitNames.set(d.name, index));
  const result: Plan = { nodes: [], stubs: [], stubIndex: new Map() };
  for (const d of definitions) {
    const sites = d.relocations.map((r) => planSite(d, r, unitNames, definitions, resolver, result));
    checkOverlap(d, sites);
    result.nodes.push({
      kind: d.kind, name: d.name, bytes: d.bytes, size: d.size, align: d.align, compile: d.compile,
      sites, existing: d.existing, block: NONE, address: 0, id: d.existing,
    });
  }
  return result;
}

function planSite(
  d: Definition, r: Relocation, unitNames: Map<string, number>, definitions: readonly Definition[],
  resolver: Resolver, result: Plan,
): PlannedSite {
  // The location string is built only on the error paths: this function runs once per site.
  const where = (): string => `relocation at ${d.name}+${Number.isSafeInteger(r?.offset) ? hex(r.offset) : String(r?.offset)}`;
  if (typeof r !== 'object' || r === null) invalid(`${d.name}: a relocation must be an object, got ${String(r)}`);
  const kind = typeof r.type === 'string' ? resolver.arch.kind(r.type) : undefined;
  if (kind === undefined) invalid(`${where()}: unknown relocation type ${String(r.type)}`);
  if (!Number.isSafeInteger(r.offset) || r.offset < 0) invalid(`${where()}: offset must be a non-negative integer`);
  if (r.offset + kind.width > d.size) {
    throw new CodeHeapError('RELOCATION_OUT_OF_BOUNDS',
      `${where()} (${kind.name}, ${kind.width} bytes) ends at ${r.offset + kind.width}, past the ${d.size} bytes of ${d.name}`);
  }
  const addend = r.addend ?? 0;
  if (!Number.isSafeInteger(addend)) invalid(`${where()}: addend must be a safe integer, got ${String(r.addend)}`);
  if (r.via !== undefined && r.via !== 'body' && r.via !== 'stub') invalid(`${where()}: via must be 'body' or 'stub', got ${String(r.via)}`);
  if (typeof r.symbol !== 'string' || r.symbol === '') invalid(`${where()}: symbol must be a non-empty string`);
  const body = r.via === undefined ? kind.bodyByDefault : r.via === 'body';
  const site: PlannedSite = {
    offset: r.offset, kind, addend, symbol: r.symbol, targetType: TargetType.External, target: 0, externalCall: false,
    value: 0,
  };
  const { nodes } = resolver.graph;
  const local = unitNames.get(r.symbol);
  if (local !== undefined) {
    const target = definitions[local]!;
    if (target.kind === GLOBAL || body) {
      site.targetType = TargetType.Unit;
      site.target = local;
    } else if (target.existing !== NONE && nodes.stubOf(target.existing) !== NONE) {
      site.targetType = TargetType.Node;
      site.target = nodes.stubOf(target.existing);
    } else {
      site.targetType = TargetType.NewStub;
      site.target = target.existing !== NONE
        ? planStub(result, `n${target.existing}`, { of: 'node', id: target.existing })
        : planStub(result, `u${local}`, { of: 'unit', index: local });
    }
    return site;
  }
  const id = nodes.symbols.get(r.symbol);
  if (id !== undefined) {
    if (nodes.kindOf(id) === GLOBAL || body) {
      site.targetType = TargetType.Node;
      site.target = id;
    } else if (nodes.stubOf(id) !== NONE) {
      site.targetType = TargetType.Node;
      site.target = nodes.stubOf(id);
    } else {
      site.targetType = TargetType.NewStub;
      site.target = planStub(result, `n${id}`, { of: 'node', id });
    }
    return site;
  }
  const address = resolver.resolveExternal?.(r.symbol);
  if (address === undefined) {
    throw new CodeHeapError('UNDEFINED_SYMBOL', `${where()} (${kind.name}) refers to ${r.symbol}, which is neither in the heap nor resolved externally`);
  }
  if (!Number.isSafeInteger(address) || address < 0) {
    invalid(`resolveExternal(${r.symbol}) returned ${String(address)}; an address must be a non-negative safe integer`);
  }
  site.target = address;
  site.externalCall = body;
  return site;
}

/**
 * The existing functions and globals a plan's relocations name (a function reached through its
 * stub counts as named), once each, the replaced function excluded: a caller holds these through
 * a collection so that re-planning after it resolves the same symbols.
 */
export function namedNodes(result: Plan, graph: HeapGraph): number[] {
  const named = new Set<number>();
  for (const node of result.nodes) {
    for (const site of node.sites) {
      if (site.targetType === TargetType.Node) {
        const id = site.target;
        named.add(graph.nodes.kindOf(id) === STUB ? graph.functionOfStub(id) : id);
      }
    }
  }
  for (const stub of result.stubs) if (stub.of === 'node') named.add(stub.id);
  for (const node of result.nodes) named.delete(node.existing);
  named.delete(NONE);
  return [...named];
}

/** Index of the planned stub under key, planning it on first need. */
export function planStub(result: Plan, key: string, stub: PlannedStub): number {
  let index = result.stubIndex.get(key);
  if (index === undefined) {
    index = result.stubs.length;
    result.stubs.push(stub);
    result.stubIndex.set(key, index);
  }
  return index;
}

function checkOverlap(d: Definition, sites: PlannedSite[]): void {
  // Compilers emit relocations in offset order; sort a copy only when they are not.
  let inOrder = true;
  for (let i = 1; i < sites.length && inOrder; i++) inOrder = sites[i - 1]!.offset <= sites[i]!.offset;
  const sorted = inOrder ? sites : [...sites].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const next = sorted[i]!;
    if (prev.offset + prev.kind.width > next.offset) {
      invalid(`${d.name}: the relocation at +${hex(prev.offset)} (${prev.kind.name}, ${prev.kind.width} bytes, to ${prev.symbol}) overlaps the one at +${hex(next.offset)} (to ${next.symbol})`);
    }
  }
}
