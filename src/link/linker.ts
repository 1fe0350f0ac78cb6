// Linking a plan into the heap: place, check, commit.
//
// Like JITLinkMemoryManager's InFlightAlloc -> FinalizedAlloc, a link has a reversible phase and
// a final one:
//   place()  reserves every block the plan needs (nodes, then new stubs); on failure it gives
//            them back and reports false, so the caller can collect and retry.
//   check()  computes every relocation value at its final address and throws on the first that
//            does not fit, including sites that a body replacement would backpatch.
//   commit() cannot fail: it creates nodes, writes bytes, backpatches replaced bodies, creates
//            stubs, then encodes and counts every site.
// Until commit() nothing observable has changed: blocks reserved by place() are unreachable.

import { CodeHeapError, hex } from '../errors.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import * as base from '../base.js';
import { fits, relocationValue, type Architecture } from '../reloc/architecture.js';
import type { StubManager } from '../stubs/stub-manager.js';
import type { CompileCallback } from '../types.js';
import { backpatch, checkBackpatch, dyingBody } from './backpatch.js';
import { planStub, TargetType, type Plan, type PlannedNode, type PlannedSite } from './plan.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { GLOBAL, NONE } = base;

/** Filler for the slack after a function's code: int3, so a stray jump traps. */
const CODE_FILL = 0xcc;

export interface LinkContext {
  readonly graph: HeapGraph;
  readonly arch: Architecture;
  readonly stubs: StubManager;
  /** Per-function compile callbacks, by node id. */
  readonly compileFns: (CompileCallback | undefined)[];
  /** Whether a pin holds fn's current body (replacing it then retires the body). */
  readonly bodyHeld: (fn: number) => boolean;
}

/** What a body replacement took out of the function, for the caller to retire or release. */
export interface OldBody {
  readonly block: number;
  readonly firstOut: number;
  readonly wasLazy: boolean;
}

/** Alignment up to which a block's size is rounded: see tiledSize. */
const TILE = 16;

/**
 * A node's block size: its size rounded up to its alignment, up to 16 bytes. Blocks of one
 * alignment then tile an arena with no gap between them: a 24-byte function aligned at 16 takes
 * 32 bytes (the tail is int3 fill, as compilers pad functions) instead of 24 and an 8-byte free
 * gap that would cost a block record and turn every free into a merge.
 */
function tiledSize(size: number, align: number): number {
  const unit = Math.min(align, TILE);
  return size + (-size & (unit - 1));
}

export function place(plan: Plan, ctx: LinkContext): boolean {
  const { graph, stubs } = ctx;
  for (const node of plan.nodes) {
    const arena = node.kind === GLOBAL ? graph.arenas.data : graph.arenas.code;
    const block = arena.allocate(tiledSize(node.size, node.align), node.align);
    if (block < 0) return unplace(plan, ctx);
    node.block = block;
    node.address = arena.addressOf(block);
  }
  for (const node of plan.nodes) {
    for (const site of node.sites) if (site.externalCall) routeExternalCall(plan, ctx, node, site);
  }
  for (const stub of plan.stubs) {
    const reservation = stubs.reserveStub();
    if (reservation === undefined) return unplace(plan, ctx);
    stub.reservation = { ...reservation, address: stubs.stubAddress(reservation) };
  }
  return true;
}

/** Gives back every block place() took. Returns false, for place()'s failure path. */
export function unplace(plan: Plan, ctx: LinkContext): false {
  const { arenas } = ctx.graph;
  for (const node of plan.nodes) {
    if (node.block === NONE) continue;
    (node.kind === GLOBAL ? arenas.data : arenas.code).free(node.block);
    node.block = NONE;
  }
  for (const stub of plan.stubs) {
    if (stub.reservation === undefined) continue;
    ctx.stubs.unreserveStub(stub.reservation);
    delete stub.reservation;
  }
  return false;
}

/** A call to an external symbol goes direct when rel32 reaches it, through its stub otherwise. */
function routeExternalCall(plan: Plan, ctx: LinkContext, node: PlannedNode, site: PlannedSite): void {
  const address = site.target;
  if (site.targetType !== TargetType.External) return;
  const value = relocationValue(site.kind, address, site.addend, node.address + site.offset);
  if (fits(site.kind, value)) return;
  const existing = ctx.graph.nodes.externalStubs.get(site.symbol);
  if (existing !== undefined) {
    site.targetType = TargetType.Node;
    site.target = existing;
  } else {
    site.targetType = TargetType.NewStub;
    site.target = planStub(plan, `e:${site.symbol}`, { of: 'external', name: site.symbol, address });
  }
}

function targetAddress(plan: Plan, ctx: LinkContext, site: PlannedSite): number {
  switch (site.targetType) {
    case TargetType.Unit: return plan.nodes[site.target]!.address;
    case TargetType.Node: return ctx.graph.addressOf(site.target);
    case TargetType.NewStub: return plan.stubs[site.target]!.reservation!.address;
    default: return site.target;
  }
}

/** Throws RELOCATION_OUT_OF_RANGE for the first value that does not fit. Pre: placed. */
export function check(plan: Plan, ctx: LinkContext): void {
  for (const node of plan.nodes) {
    for (const site of node.sites) {
      const S = targetAddress(plan, ctx, site);
      const P = node.address + site.offset;
      const value = relocationValue(site.kind, S, site.addend, P);
      site.value = value;
      if (!fits(site.kind, value)) {
        const formula = site.kind.pcRelative
          ? `S + A - P = ${hex(S)} + ${site.addend} - ${hex(P)} = ${hex(value)}`
          : `S + A = ${hex(S)} + ${site.addend} = ${hex(value)}`;
        throw new CodeHeapError('RELOCATION_OUT_OF_RANGE',
          `${site.kind.name} at ${node.name}+${hex(site.offset)} to ${site.symbol}: ${formula} does not fit in [${hex(site.kind.min)}, ${hex(site.kind.max)}]`);
      }
    }
    if (node.existing !== NONE) {
      const fn = node.existing;
      const from = ctx.graph.addressOf(fn);
      checkBackpatch(ctx.graph, ctx.arch, fn, node.address - from, node.address, dyingBody(ctx.graph, fn, ctx.bodyHeld(fn)));
    }
  }
}

/**
 * Makes the plan real. Pre: placed and checked (check() computed every site's value). Post: every new node exists with rc 0 (the
 * caller adds handles), every site is encoded and counted, replaced bodies are backpatched and
 * returned (still allocated) for the caller to retire or release. Returns the old bodies in plan
 * order (undefined for new nodes) and the number of sites backpatched.
 */
export function commit(plan: Plan, ctx: LinkContext): { oldBodies: (OldBody | undefined)[]; patched: number } {
  const { graph, arch, stubs, compileFns } = ctx;
  const { nodes, arenas } = graph;
  const oldBodies: (OldBody | undefined)[] = [];
  let patched = 0;
  for (const node of plan.nodes) {
    const arena = node.kind === GLOBAL ? arenas.data : arenas.code;
    const loc = arena.loc(node.block);
    arenas.bytes.fill(node.kind === GLOBAL ? 0 : CODE_FILL, loc, loc + arena.sizeOf(node.block));
    arenas.bytes.set(node.bytes, loc);
    if (node.existing === NONE) {
      node.id = nodes.allocate(node.kind, node.name, node.block);
      nodes.symbols.bind(node.name, node.id);
      compileFns[node.id] = node.compile;
      oldBodies.push(undefined);
      continue;
    }
    const fn = node.existing;
    patched += backpatch(graph, arch, fn, node.address - graph.addressOf(fn), dyingBody(graph, fn, ctx.bodyHeld(fn)));
    oldBodies.push({ block: nodes.block[fn]!, firstOut: nodes.firstOut[fn]!, wasLazy: nodes.isLazy(fn) });
    nodes.block[fn] = node.block;
    nodes.setFirstOut(fn, NONE);
    nodes.setLazy(fn, false);
  }
  for (const stub of plan.stubs) {
    const reservation = stub.reservation!;
    if (stub.of === 'external') {
      stub.stubId = stubs.createExternalStub(stub.name, stub.address, reservation);
    } else {
      const fn = stub.of === 'unit' ? plan.nodes[stub.index]!.id : stub.id;
      stub.stubId = stubs.createFunctionStub(fn, reservation);
    }
  }
  for (const node of plan.nodes) {
    const arena = node.kind === GLOBAL ? arenas.data : arenas.code;
    const base = arena.loc(node.block);
    for (const site of node.sites) {
      arch.write(arenas.view, base + site.offset, site.kind, site.value);
      const target = siteTarget(plan, site);
      if (target !== NONE) {
        graph.addSite(node.id, target, site.kind.id, base + site.offset, site.addend, site.kind.usualAddend);
      }
    }
  }
  return { oldBodies, patched };
}

function siteTarget(plan: Plan, site: PlannedSite): number {
  switch (site.targetType) {
    case TargetType.Unit: return plan.nodes[site.target]!.id;
    case TargetType.Node: return site.target;
    case TargetType.NewStub: return plan.stubs[site.target]!.stubId!;
    default: return NONE;
  }
}
