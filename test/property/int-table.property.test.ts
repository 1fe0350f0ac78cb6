// Model-based suite for the int table (src/int-table.ts), the site table's map of unusual addends.
//
// The model is a Map. Keys come from a pool of 36, 24 of them with their home in the last slots
// of the table (the hash's top bits are high, whatever the table's size), so the table's clusters
// are long and wrap round its end, and removal has to shift entries back across it; after every
// step every key of the pool the model holds is found with its value, and every other is absent.

import { test, fc } from '@fast-check/vitest';
import { expect } from 'vitest';
import { IntTable } from '../../src/int-table.js';

type Step =
  | { readonly kind: 'set'; readonly key: number; readonly value: number }
  | { readonly kind: 'delete'; readonly key: number };

const high = (k: number): boolean => Math.imul(k, 0x9e3779b1) >>> 28 >= 13;
const ids = [...Array(5000).keys(), ...Array.from({ length: 5000 }, (_, i) => 2 ** 30 + i)];
const pool = [...ids.filter(high).slice(0, 12), ...ids.filter((k) => k >= 2 ** 30 && high(k)).slice(0, 12), ...ids.filter((k) => !high(k)).slice(0, 12)];
const key = fc.constantFrom(...pool);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), key, value: fc.double({ noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
);

test.prop([fc.array(step, { maxLength: 400 })], { numRuns: 300 })('finds what was set and not deleted, and nothing else', (steps) => {
  const table = new IntTable();
  const model = new Map<number, number>();
  for (const s of steps) {
    if (s.kind === 'set') {
      table.set(s.key, s.value);
      model.set(s.key, s.value);
    } else {
      expect(table.delete(s.key)).toBe(model.delete(s.key));
    }
    expect(table.size).toBe(model.size);
    for (const k of pool) expect(table.get(k, Number.NaN)).toBe(model.get(k) ?? Number.NaN);
  }
});
