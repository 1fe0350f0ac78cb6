// fast-check arbitraries of hostile recipes (hostile.values.ts), one per slot, memoized: slots form
// a finite DAG, so each slot's arbitrary is made once. Every arbitrary puts the slot's valid value
// first and shrinks across alternatives towards it, so a counterexample keeps only what matters.

import { fc } from '@fast-check/vitest';
import {
  LEAF_NAMES, LIST_TRICKS, MISCHIEF, type FieldRecipe, type Recipe, type Slot,
} from './hostile.values.js';

const arbitraries = new Map<Slot, fc.Arbitrary<Recipe>>();
const fieldArbitraries = new Map<Slot, fc.Arbitrary<FieldRecipe>>();
const leafArb: fc.Arbitrary<Recipe> = fc.constantFrom(...LEAF_NAMES).map((leaf) => ({ leaf }));
const mischiefArb = fc.option(fc.constantFrom(...MISCHIEF), { nil: null, freq: 2 });

/** Recipes for a slot: its valid value first (so shrinking ends there), then everything hostile. */
export function recipeArb(slot: Slot): fc.Arbitrary<Recipe> {
  let arb = arbitraries.get(slot);
  if (arb === undefined && slot.tame === true) {
    const alts = Object.keys(slot.alts ?? {});
    arb = alts.length === 0
      ? fc.constant<Recipe>('ok')
      : fc.oneof({ withCrossShrink: true }, fc.constant<Recipe>('ok'), fc.constantFrom(...alts).map((alt) => ({ alt })));
    arbitraries.set(slot, arb);
  }
  if (arb === undefined) {
    arb = fc.oneof(
      { withCrossShrink: true },
      { weight: 8, arbitrary: fc.constant<Recipe>('ok') },
      { weight: 5, arbitrary: fc.oneof(...inner(slot)) },
      { weight: 1, arbitrary: fc.oneof(...inner(slot)).map((r): Recipe => ({ proxy: r })) },
    );
    arbitraries.set(slot, arb);
  }
  return arb;
}

function inner(slot: Slot): fc.Arbitrary<Recipe>[] {
  const result: fc.Arbitrary<Recipe>[] = [leafArb];
  if (slot.alts !== undefined) result.push(fc.constantFrom(...Object.keys(slot.alts)).map((alt) => ({ alt })));
  if (slot.fields !== undefined) {
    const fields = Object.fromEntries(Object.entries(slot.fields).map(([k, s]) => [k, fieldArb(s)]));
    const protos = slot.proto === undefined ? (['plain', 'null'] as const) : (['plain', 'null', 'class'] as const);
    result.push(fc.record({ fields: fc.record(fields), proto: fc.constantFrom(...protos) }));
    // One field hostile, the others valid: so a refusal of one field does not hide another's bug.
    const valid = Object.fromEntries(Object.keys(fields).map((k) => [k, 'ok' as const]));
    result.push(fc.oneof(...Object.entries(fields).map(([key, arb]) =>
      arb.map((field): Recipe => ({ fields: { ...valid, [key]: field }, proto: 'plain' })))));
  }
  if (slot.item !== undefined) {
    result.push(fc.record({ items: fc.array(fieldArb(slot.item(0)), { maxLength: 2 }), trick: fc.constantFrom(...LIST_TRICKS) }));
  }
  if (slot.returns !== undefined) {
    result.push(fc.record({ returns: recipeArb(slot.returns), before: mischiefArb }));
    result.push(fc.constant<Recipe>('throwingCallback'));
  }
  if (slot.construct !== undefined) {
    result.push(fc.tuple(...slot.construct.args.map(recipeArb)).map((construct): Recipe => ({ construct })));
  }
  return result;
}

/** Recipes for a field or list item: a value, nothing, a throwing getter, or a shifting getter. */
export function fieldArb(slot: Slot): fc.Arbitrary<FieldRecipe> {
  let arb = fieldArbitraries.get(slot);
  if (arb === undefined && slot.tame === true) {
    arb = fc.oneof(
      { withCrossShrink: true },
      recipeArb(slot) as fc.Arbitrary<FieldRecipe>,
      fc.constant<FieldRecipe>('throwingGetter'),
      fc.record({ reads: fc.array(recipeArb(slot), { minLength: 1, maxLength: 3 }), before: mischiefArb }),
    );
    fieldArbitraries.set(slot, arb);
  }
  if (arb === undefined) {
    arb = fc.oneof(
      { withCrossShrink: true },
      { weight: 10, arbitrary: recipeArb(slot) as fc.Arbitrary<FieldRecipe> },
      { weight: 1, arbitrary: fc.constant<FieldRecipe>('absent') },
      { weight: 1, arbitrary: fc.constant<FieldRecipe>('throwingGetter') },
      { weight: 3, arbitrary: fc.record({ reads: fc.array(recipeArb(slot), { minLength: 1, maxLength: 3 }), before: mischiefArb }) },
    );
    fieldArbitraries.set(slot, arb);
  }
  return arb;
}

/** Recipes for a callback the harness itself calls through (resolveExternal, the heap's compile). */
export function callbackArb(slot: Slot): fc.Arbitrary<Recipe> {
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 6, arbitrary: fc.constant<Recipe>('ok') },
    { weight: 4, arbitrary: fc.record({ returns: recipeArb(slot.returns!), before: mischiefArb }) },
    { weight: 1, arbitrary: fc.constant<Recipe>('throwingCallback') },
  );
}
