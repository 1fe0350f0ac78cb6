// Model-based suite for the name table (src/name-table.ts), the symbol index's hash table.
//
// The model is a Map. Sweeps remove entries a stretch of slots at a time by shifting clusters
// back; the model cannot know where an entry sits, so it checks what must hold wherever it sits:
// an entry the predicate keeps is always still found with its value, one it refuses is either
// gone or (outside the swept stretch) still found, a sweep of every slot leaves none it refuses,
// and the count returned and `size` agree with what the model sees. Names come from a small
// pool chosen so that the table's clusters are long and wrap round its end.

import { test, fc } from '@fast-check/vitest';
import { expect } from 'vitest';
import { ABSENT, NameTable, hashOf } from '../../src/name-table.js';

type Step =
  | { readonly kind: 'set'; readonly name: string; readonly value: number }
  | { readonly kind: 'sweep'; readonly from: number; readonly length: number; readonly modulus: number }
  | { readonly kind: 'shrink' }
  | { readonly kind: 'retain'; readonly modulus: number };

// At most 32 names, so the table stays at 16–64 slots; 20 of them have their home slot in the last
// quarter of a 16-slot table (and so at the end of each half of a larger one), so clusters are
// long and wrap round the table's end.
const candidates = Array.from({ length: 2000 }, (_, i) => `n${i}`);
const pool = [
  ...candidates.filter((n) => (hashOf(n) & 15) >= 12).slice(0, 20),
  ...candidates.filter((n) => (hashOf(n) & 15) < 12).slice(0, 12),
];
const name = fc.constantFrom(...pool);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), name, value: fc.nat(1000) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sweep' as const),
      from: fc.oneof(fc.constant(0), fc.nat(63)),
      length: fc.oneof(fc.nat(40), fc.constant(64)),
      modulus: fc.integer({ min: 2, max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'shrink' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retain' as const), modulus: fc.integer({ min: 2, max: 4 }) }) },
);

test.prop([fc.array(step, { maxLength: 300 })], { numRuns: 300 })('sweeps and shrinks keep every entry they do not remove', (steps) => {
  const table = new NameTable();
  const model = new Map<string, number>();
  for (const s of steps) {
    if (s.kind === 'set') {
      expect(table.set(s.name, s.value)).toBe(!model.has(s.name));
      model.set(s.name, s.value);
    } else if (s.kind === 'retain') {
      const keep = (_: string, value: number): boolean => value % s.modulus !== 0;
      const kept = [...model].filter(([k, v]) => keep(k, v)).length;
      expect(table.retain(keep, kept)).toBe(model.size - kept);
      for (const [k, v] of [...model]) if (!keep(k, v)) model.delete(k);
    } else if (s.kind === 'shrink') {
      table.shrink();
      expect(table.size * 8 >= table.capacity || table.capacity === 16).toBe(true);
    } else {
      // An entry goes when its value is a multiple of the modulus: the same answer each time.
      const keep = (_: string, value: number): boolean => value % s.modulus !== 0;
      const from = s.from % table.capacity;
      const to = Math.min(from + s.length, table.capacity);
      const whole = from === 0 && to === table.capacity;
      const removed = table.sweep(from, to, keep);
      let gone = 0;
      for (const [key, value] of model) {
        const found = table.get(key);
        if (found === ABSENT) {
          expect(keep(key, value)).toBe(false);
          model.delete(key);
          gone++;
        } else {
          expect(found).toBe(value);
          if (whole) expect(keep(key, value)).toBe(true);
        }
      }
      expect(removed).toBe(gone);
    }
    expect(table.size).toBe(model.size);
    for (const [key, value] of model) expect(table.get(key)).toBe(value);
  }
  const listed = new Map<string, number>();
  table.forEach((key, value) => listed.set(key, value));
  expect(listed).toEqual(model);
});
