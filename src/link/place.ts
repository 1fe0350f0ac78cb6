// The second stage of a link: reserve everything the plan needs (placed), reversibly.
//
// Like JITLinkMemoryManager's InFlightAlloc, a Placed link holds blocks nobody can see yet:
// unplace() gives them all back. place() reserves a block for every node of the unit, decides how
// each call to an external goes (direct when rel32 reaches it from where the call now lies,
// through the external's stub otherwise), reserves the stubs, and makes room in the node and site
// tables for what commit will add, so that commit cannot fail. When anything does not fit it gives
// back what it took and throws OUT_OF_MEMORY: the caller may collect and plan again.

import * as base from '../base.js';
import { hex } from '../errors.js';
import { LargeMap } from '../large-map.js';
import * as apply from '../reloc/apply.js';
import * as x86 from '../reloc/x86-64.js';
import type { StubReservation } from '../stubs/stub-manager.js';
import type { LinkContext } from './link-context.js';
import { stubAddend, type Plan, type PlannedStub } from './plan.js';
import * as planning from './plan.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE, MAX_ALIGN: PAGE } = base;
const { APPLIED, CHECK, applyRelocation } = apply;
const { STUB_SLOT } = planning;
const { R_X86_64_64 } = x86;

export interface Placed {
  readonly stage: 'placed';
  readonly plan: Plan;
  /** Per unit node: its block (in the arena of its kind) and that block's target address. */
  readonly blocks: readonly number[];
  readonly addresses: readonly number[];
  /** Every stub the link creates: the plan's, then the external stubs routing added. */
  readonly stubs: readonly PlannedStub[];
  readonly reservations: readonly StubReservation[];
  /** Fixed slots: the plan's, then existing external stubs routing chose. */
  readonly fixedNodes: readonly number[];
  /** Per site, its slot: [0, n) unit nodes, [n, n + fixed) fixed slots, then the stubs. */
  readonly siteSlot: Int32Array;
  /** Per slot, the target address S. */
  readonly slotAddress: readonly number[];
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

/** A read-only global's block: whole pages, none shared with another block. */
function pages(size: number): number {
  return Math.max(PAGE, size + (-size & (PAGE - 1)));
}

/** Reserves every block and table entry the plan needs; OUT_OF_MEMORY (holding nothing) if not. */
export function place(plan: Plan, ctx: LinkContext, what: () => string): Placed {
  const { graph, stubs: stubManager } = ctx;
  const { arenas } = graph;
  const { definitions } = plan;
  const n = definitions.length;
  // Plain arrays: most links are of one node (a redefine), where a typed array costs more to make.
  // `blocks` grows as blocks are taken (a failure gives back exactly those); `addresses` is
  // sized once (a unit of a million nodes would otherwise regrow it some thirty times).
  const blocks: number[] = [];
  const addresses = new Array<number>(n);
  const reservations: StubReservation[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const d = definitions[i]!;
      const arena = arenas.of(d.kind);
      const block = arena.allocate(d.readOnly ? pages(d.size) : tiledSize(d.size, d.align), d.align);
      if (block === NONE) throw arenas.noRoom(what());
      blocks.push(block);
      addresses[i] = arena.addressOf(block);
    }
    const routed = route(plan, ctx, addresses);
    for (let i = 0; i < routed.stubs.length; i++) reservations.push(stubManager.reserveStub(() => `${what()}: a stub`));
    // Commit adds the unit's nodes, its stubs, and a retired body per replacement at most; every
    // stub has one site (its slot), beside the unit's own sites.
    let replacements = 0;
    for (let i = 0; i < n; i++) if (definitions[i]!.replaces !== NONE) replacements++;
    graph.nodes.reserve(n + routed.stubs.length + replacements);
    graph.sites.reserve(plan.sites.count + routed.stubs.length);
    const fixedCount = routed.fixedNodes.length;
    const slotAddress = addresses.slice();
    for (let i = 0; i < fixedCount; i++) {
      const id = routed.fixedNodes[i]!;
      slotAddress.push(id === NONE ? plan.fixedAddresses[i]! : graph.addressOf(id));
    }
    for (const reservation of reservations) slotAddress.push(stubManager.stubAddress(reservation));
    // A planned stub's slot comes after the fixed ones (the plan's own slots stay as they are).
    let { siteSlot } = routed;
    if (routed.stubs.length > 0) {
      if (siteSlot === plan.sites.slot) siteSlot = siteSlot.slice();
      for (let s = 0; s < siteSlot.length; s++) if (siteSlot[s]! <= STUB_SLOT) siteSlot[s] = n + fixedCount + (STUB_SLOT - siteSlot[s]!);
    }
    return { stage: 'placed', plan, blocks, addresses, stubs: routed.stubs, reservations, fixedNodes: routed.fixedNodes, siteSlot, slotAddress };
  } catch (error) {
    for (let i = 0; i < blocks.length; i++) arenas.of(definitions[i]!.kind).free(blocks[i]!);
    for (const r of reservations) stubManager.unreserveStub(r);
    throw error;
  }
}

/** Gives back every block place() took: the link is abandoned. */
export function unplace(placed: Placed, ctx: LinkContext): void {
  const { arenas } = ctx.graph;
  const { definitions } = placed.plan;
  for (let i = 0; i < definitions.length; i++) arenas.of(definitions[i]!.kind).free(placed.blocks[i]!);
  for (const r of placed.reservations) ctx.stubs.unreserveStub(r);
}

/**
 * Routes each call to an external: direct when rel32 reaches it from the call's final place,
 * else through the external's stub (the heap's one, or one this link creates). A call that
 * carries an offset into the external cannot go through a stub (a stub reference carries none):
 * it stays direct, and the check stage reports it out of range.
 */
function route(plan: Plan, ctx: LinkContext, addresses: readonly number[]): {
  stubs: PlannedStub[]; fixedNodes: number[]; siteSlot: Int32Array;
} {
  const { sites, definitions, firstSite } = plan;
  const n = definitions.length;
  // Copied on the first reroute: most links call no external out of reach, and share the plan's.
  let siteSlot = sites.slot;
  let stubs = plan.stubs as PlannedStub[];
  let fixedNodes = plan.fixedNodes as number[];
  let externalStubs: LargeMap<string, number> | null = null;
  const { arch, graph } = ctx;
  for (let i = 0; i < n; i++) {
    const d = definitions[i]!;
    const address = addresses[i]!;
    for (let s = firstSite[i]!; s < firstSite[i]! + d.relocationCount; s++) {
      if (sites.externalCall[s] === 0) continue;
      const kind = arch.kinds[sites.kind[s]!]!;
      const S = plan.fixedAddresses[siteSlot[s]! - n]!;
      const P = address + sites.offset[s]!;
      if (applyRelocation(arch, graph.arenas.view, CHECK, kind, 0, S, sites.addend[s]!, P) === APPLIED) continue;
      if (sites.addend[s] !== stubAddend(kind, d.kind)) continue;
      if (externalStubs === null) {
        siteSlot = siteSlot.slice();
        stubs = [...stubs];
        fixedNodes = [...fixedNodes];
        externalStubs = new LargeMap<string, number>();
      }
      const symbol = externalStubName(ctx, sites.symbol[s]!, S, stubs, externalStubs);
      const existing = graph.nodes.externalStubs.get(symbol);
      if (existing !== undefined) {
        siteSlot[s] = n + fixedNodes.push(existing) - 1;
        continue;
      }
      let index = externalStubs.get(symbol);
      if (index === undefined) {
        index = stubs.push({ of: 'external', name: symbol, address: S }) - 1;
        externalStubs.set(symbol, index);
      }
      siteSlot[s] = STUB_SLOT - index;
    }
  }
  return { stubs, fixedNodes, siteSlot };
}

/**
 * The name of the stub that calls `symbol` at address S: the symbol's own, unless the heap's stub
 * or this link's of that name calls another address (two objects that resolve one name their own
 * ways, each with a resolver of its own): then one named after the address too.
 */
function externalStubName(
  ctx: LinkContext, symbol: string, S: number, stubs: readonly PlannedStub[], planned: LargeMap<string, number>,
): string {
  const { graph, arch } = ctx;
  const existing = graph.nodes.externalStubs.get(symbol);
  const index = planned.get(symbol);
  let calls: number | undefined;
  if (existing !== undefined) calls = arch.read(graph.arenas.view, graph.arenas.data.loc(graph.nodes.slotOf(existing)), arch.kinds[R_X86_64_64]!);
  else if (index !== undefined) calls = (stubs[index] as { address: number }).address;
  return calls === undefined || calls === S ? symbol : `${symbol}@${hex(S)}`;
}
