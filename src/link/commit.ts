// The last stage of a link: make a checked link real (committed). It cannot fail.
//
// Like JITLinkMemoryManager's FinalizedAlloc, a Committed link is what the heap now holds:
// commit() writes every node's bytes into its block, creates the new nodes (with rc 0: the caller
// adds handles), swaps replaced bodies (the one swapBody routine: backpatch, then detach), creates
// the stubs, and then encodes and counts every site with the one relocation applier. Place made
// room in every table, so nothing here allocates past what was reserved.

import * as base from '../base.js';
import type { OldBody } from '../rc/heap-graph.js';
import * as apply from '../reloc/apply.js';
import { swapBody } from './backpatch.js';
import type { Checked } from './check.js';
import type { LinkContext } from './link-context.js';
import type { Placed } from './place.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { GLOBAL, NONE } = base;
const { WRITE, applyRelocation } = apply;

/** Filler for the slack after a function's code: int3, so a stray jump traps. */
const CODE_FILL = 0xcc;

export interface Committed {
  readonly stage: 'committed';
  readonly placed: Placed;
  /** Per unit node: its node id (a replacement's is the function's own). */
  readonly ids: readonly number[];
  /** Per unit node: the body a replacement took out (still allocated), else undefined (or no entry). */
  readonly oldBodies: readonly (OldBody | undefined)[];
  /** Per stub the link created: its node id. */
  readonly stubIds: readonly number[];
  /** Sites re-pointed by the body swaps. */
  readonly patched: number;
}

/**
 * Pre: checked. Post: every new node exists with rc 0, every site is encoded and counted, every
 * replaced body is backpatched away from and returned for the caller to retire or release.
 */
export function commit(checked: Checked, ctx: LinkContext): Committed {
  const { placed } = checked;
  const { graph, stubs } = ctx;
  const { arenas } = graph;
  const { definitions } = placed.plan;
  const n = definitions.length;
  // Sized once: a unit of a million nodes would otherwise regrow it some thirty times.
  const ids = new Array<number>(n);
  // Only a replacement has an old body; a define leaves this empty.
  const oldBodies: (OldBody | undefined)[] = [];
  let patched = 0;
  for (let i = 0; i < n; i++) {
    const d = definitions[i]!;
    const arena = arenas.of(d.kind);
    const block = placed.blocks[i]!;
    const loc = arena.loc(block);
    const end = loc + arena.sizeOf(block);
    d.bytes.copyTo(arenas.bytes, loc, d.bytesAt, d.byteLength);
    // Only the slack after the bytes is filled: a function's tail, a global's zeroes past its data.
    if (loc + d.byteLength < end) arenas.bytes.fill(d.kind === GLOBAL ? 0 : CODE_FILL, loc + d.byteLength, end);
    if (d.replaces === NONE) {
      ids[i] = graph.createSymbol(d.kind, d.name, block, false, d.compile);
    } else {
      const swapped = swapBody(ctx, d.replaces, block, false, d.keepsOld);
      ids[i] = d.replaces;
      oldBodies[i] = swapped.old;
      patched += swapped.patched;
    }
  }
  const stubIds: number[] = [];
  for (let i = 0; i < placed.stubs.length; i++) {
    const stub = placed.stubs[i]!;
    const reservation = placed.reservations[i]!;
    stubIds.push(stub.of === 'external'
      ? stubs.createExternalStub(stub.name, stub.address, reservation)
      : stubs.createFunctionStub(stub.of === 'unit' ? ids[stub.index]! : stub.id, reservation));
  }
  writeSites(placed, ctx, ids, stubIds);
  // Each block whole, its sites written (a region that copies the bytes reads them as told).
  for (let i = 0; i < n; i++) {
    const arena = arenas.of(definitions[i]!.kind);
    const block = placed.blocks[i]!;
    arenas.touched(arena.loc(block), arena.sizeOf(block));
  }
  // Read-only globals are complete now: from here on only the heap's own view writes them.
  for (let i = 0; i < n; i++) if (definitions[i]!.readOnly) ctx.graph.arenas.data.protect(placed.blocks[i]!);
  return { stage: 'committed', placed, ids, oldBodies, stubIds, patched };
}

/**
 * Encodes and counts every site. A slot's node, by its range: the unit's nodes, then the fixed
 * slots (NONE: an external address, no edge), then the stubs the link created.
 */
function writeSites(placed: Placed, ctx: LinkContext, ids: readonly number[], stubIds: readonly number[]): void {
  const { graph, arch } = ctx;
  const { arenas } = graph;
  const { view } = arenas;
  const { definitions, firstSite, sites } = placed.plan;
  const { fixedNodes } = placed;
  const n = definitions.length;
  const stubBase = n + fixedNodes.length;
  for (let i = 0; i < n; i++) {
    const d = definitions[i]!;
    const source = ids[i]!;
    const base = arenas.of(d.kind).loc(placed.blocks[i]!);
    const address = placed.addresses[i]!;
    const from = firstSite[i]!;
    for (let s = from; s < from + d.relocationCount; s++) {
      const kind = arch.kinds[sites.kind[s]!]!;
      const slot = placed.siteSlot[s]!;
      const offset = sites.offset[s]!;
      const addend = sites.addend[s]!;
      applyRelocation(arch, view, WRITE, kind, base + offset, placed.slotAddress[slot]!, addend, address + offset);
      const target = slot < n ? ids[slot]! : slot < stubBase ? fixedNodes[slot - n]! : stubIds[slot - stubBase]!;
      if (target !== NONE) graph.addSite(source, target, kind.id, base + offset, addend, kind.usualAddend);
    }
  }
}
