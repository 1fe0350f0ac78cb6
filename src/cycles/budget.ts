// collectCycles' options as the caller gives them, read once into a slice budget.

import { invalid, show } from '../errors.js';
import { readInput } from '../link/definitions.js';
import type { SliceBudget } from './sliced-phases.js';

/** The budget of collectCycles(options), or undefined for a whole collection; INVALID_ARGUMENT for anything else. */
export function readBudget(options: unknown): SliceBudget | undefined {
  if (options === undefined) return undefined;
  const budget = readInput('collectCycles', () => {
    if (typeof options !== 'object' || options === null) invalid(`collectCycles takes { budget }, got ${show(options)}`);
    const { budget: given } = options as { budget?: unknown };
    if (given === undefined || typeof given === 'number') return given;
    if (typeof given !== 'object' || given === null) invalid(`collectCycles: budget must be milliseconds or { ms, work }, got ${show(given)}`);
    const { ms, work } = given as { ms?: unknown; work?: unknown };
    return { ms, work };
  });
  if (budget === undefined) return undefined;
  const { ms, work } = typeof budget === 'number' ? { ms: budget, work: undefined } : budget;
  if (ms !== undefined && !(typeof ms === 'number' && ms > 0)) invalid(`collectCycles: budget ms must be a number > 0, got ${show(ms)}`);
  if (work !== undefined && !(typeof work === 'number' && Number.isInteger(work) && work > 0) && work !== Infinity) {
    invalid(`collectCycles: budget work must be a whole number of units > 0, got ${show(work)}`);
  }
  if (ms === undefined && work === undefined) invalid('collectCycles: a budget needs ms or work');
  return { ms: (ms as number | undefined) ?? Infinity, work: (work as number | undefined) ?? Infinity };
}
