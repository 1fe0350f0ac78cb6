// The real client: SQLite, compiled by gcc, loaded, run and unloaded through the public API, its
// every result compared with the same SQL through better-sqlite3 (the same amalgamation, built by
// node-gyp), and every byte given back on unload, twenty times over.

import { describe, expect, test } from 'vitest';
import { CodeHeap } from '../../src/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { runningMemory } from '../helpers/memory.js';
import { footprint } from './helpers/heaps.js';
import { skipUnavailable } from './helpers/skip.js';
import { runWithBetterSqlite3, workload } from './helpers/sql-workload.js';
import { shimObject, sqliteAvailability, sqliteObject } from './helpers/sqlite.js';
import { HeapSqlite } from './helpers/sqlite-driver.js';

const native = isNativeAvailable();
const skip = skipUnavailable('SQLite out of the heap', sqliteAvailability())
  || skipUnavailable('SQLite out of the heap', native.available ? { available: true } : { available: false, reason: native.reason });

function heap(): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize: 8 << 20, dataSize: 4 << 20, memory: runningMemory() });
}

describe.skipIf(skip)('SQLite out of the heap', () => {
  const steps = workload();

  test('the workload gives what better-sqlite3 gives; unload gives back every node, byte and site', () => {
    const h = heap();
    const before = footprint(h.stats());
    const db = new HeapSqlite(h, sqliteObject(), shimObject());
    h.verify();
    const expected = runWithBetterSqlite3(steps);
    expect(expected.filter((r) => 'error' in r)).toHaveLength(steps.filter((s) => s.fails === true).length);
    const actual = db.runAll(steps);
    steps.forEach((step, i) => expect(actual[i], step.sql).toEqual(expected[i]));
    // The same through the shim's packed rows and parameters: one bound call per row.
    const packed = db.runAll(steps, true);
    steps.forEach((step, i) => expect(packed[i], `packed: ${step.sql}`).toEqual(expected[i]));
    h.verify();
    db.free();
    h.verify();
    expect(footprint(h.stats())).toEqual(before);
  });

  test('lazily loaded, it compiles only the functions the workload runs, with the same results', () => {
    const h = heap();
    const db = new HeapSqlite(h, sqliteObject(), shimObject(), true);
    expect(db.runAll(steps)).toEqual(runWithBetterSqlite3(steps));
    expect(db.sqlite.materialized).toBeGreaterThan(50);
    expect(db.sqlite.materialized).toBeLessThan(db.sqlite.functions / 2);
    console.log(`lazy SQLite: the workload compiled ${db.sqlite.materialized} of its ${db.sqlite.functions} functions`);
    h.verify();
    db.free();
    expect(h.stats().nodes.total).toBe(0);
  });

  test('load, run and unload twenty times: no growth', () => {
    const sqlite = sqliteObject();
    const shim = shimObject();
    const h = heap();
    const before = footprint(h.stats());
    const expected = runWithBetterSqlite3(steps);
    for (let i = 0; i < 20; i++) {
      const db = new HeapSqlite(h, sqlite, shim);
      expect(db.runAll(steps)).toEqual(expected);
      db.free();
      expect(footprint(h.stats()), `after load ${i + 1}`).toEqual(before);
    }
    h.verify();
  });
});
