// The third stage of a link: every value computed at its final address (checked).
//
// check() runs the one relocation applier over every planned site in CHECK mode, now that every
// address is known, and checks that the sites a body replacement will re-point still fit. The
// first value that does not fit is RELOCATION_OUT_OF_RANGE, naming the site and the computation;
// the placed blocks are given back first, so a failed check leaves the heap as it was. Only a
// Checked link can be committed.

import { CodeHeapError, hex } from '../errors.js';
import * as base from '../base.js';
import * as apply from '../reloc/apply.js';
import { checkBackpatch, currentBody } from './backpatch.js';
import type { LinkContext } from './link-context.js';
import { unplace, type Placed } from './place.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { CHECK, OUT_OF_RANGE, applyRelocation, describeValue } = apply;

export interface Checked {
  readonly stage: 'checked';
  readonly placed: Placed;
}

/** Throws RELOCATION_OUT_OF_RANGE (after unplacing) for the first value that does not fit. */
export function check(placed: Placed, ctx: LinkContext): Checked {
  try {
    checkSites(placed, ctx);
  } catch (error) {
    unplace(placed, ctx);
    throw error;
  }
  return { stage: 'checked', placed };
}

function checkSites(placed: Placed, ctx: LinkContext): void {
  const { arch, graph, settled } = ctx;
  const { view } = graph.arenas;
  const { definitions, firstSite, sites } = placed.plan;
  // Slots below this are the unit's nodes and fixed slots; a fixed slot of no node is an external.
  const n = definitions.length;
  for (let i = 0; i < n; i++) {
    const d = definitions[i]!;
    const address = placed.addresses[i]!;
    const from = firstSite[i]!;
    for (let s = from; s < from + d.relocationCount; s++) {
      const kindId = sites.kind[s]!;
      const kind = arch.kinds[kindId]!;
      const A = sites.addend[s]!;
      const slot = placed.siteSlot[s]!;
      // A site into the heap with its type's usual addend fits wherever the heap put both ends.
      if (settled[kindId] === 1 && A === kind.usualAddend && !isExternal(placed, slot)) continue;
      const S = placed.slotAddress[slot]!;
      const P = address + sites.offset[s]!;
      if (applyRelocation(arch, view, CHECK, kind, 0, S, A, P) === OUT_OF_RANGE) {
        throw new CodeHeapError('RELOCATION_OUT_OF_RANGE',
          `${kind.name} at ${d.name}+${hex(sites.offset[s]!)} to ${sites.symbol[s]}: ${describeValue(kind, S, A, P)} does not fit in [${hex(kind.min)}, ${hex(kind.max)}]`);
      }
    }
    if (d.replaces !== NONE) checkBackpatch(ctx, d.replaces, address, currentBody(graph, d.replaces, d.keepsOld));
  }
}

/** Whether a slot is an address outside the heap (a fixed slot of no node). */
function isExternal(placed: Placed, slot: number): boolean {
  const fixed = slot - placed.plan.definitions.length;
  return fixed >= 0 && fixed < placed.fixedNodes.length && placed.fixedNodes[fixed] === NONE;
}
