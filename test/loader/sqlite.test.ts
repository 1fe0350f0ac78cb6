// The real client: SQLite, compiled by gcc, loaded, run and unloaded through the public API, its
// every result compared with the same SQL through better-sqlite3 (the same amalgamation, built by
// node-gyp), and every byte given back on unload, twenty times over.

import { describe, expect, test } from 'vitest';
import { CodeHeap } from '../../src/index.js';
import { isNativeAvailable, nativeMemory } from '../../src/native/index.js';
import { footprint } from './heaps.js';
import { gccSkip } from './gcc.js';
import { HeapSqlite, runWithBetterSqlite3, shimObject, sqliteObject, workload, type Outcome } from './sqlite-driver.js';

const skip = gccSkip() || !isNativeAvailable().available;

function heap(): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize: 8 << 20, dataSize: 4 << 20, memory: nativeMemory() });
}

function runWorkload(db: HeapSqlite, statements: ReturnType<typeof workload>): Outcome[] {
  const handle = db.open();
  const out = statements.map(({ sql, parameters }) => db.run(handle, sql, parameters));
  db.close(handle);
  return out;
}

describe.skipIf(skip)('SQLite out of the heap', () => {
  test('the workload gives what better-sqlite3 gives; unload gives back every node, byte and site', { timeout: 180_000 }, () => {
    const sqlite = sqliteObject();
    const shim = shimObject();
    const h = heap();
    const before = footprint(h.stats());
    const db = new HeapSqlite(h, sqlite, shim);
    h.verify();
    const statements = workload();
    const expected = runWithBetterSqlite3(statements);
    expect(expected.some((o) => 'error' in o)).toBe(true);
    const actual = runWorkload(db, statements);
    for (let i = 0; i < statements.length; i++) expect(actual[i], statements[i]!.sql).toEqual(expected[i]);
    h.verify();
    db.free();
    h.verify();
    expect(footprint(h.stats())).toEqual(before);
  });

  test('lazily loaded, it compiles only the functions the workload runs, with the same results', { timeout: 180_000 }, () => {
    const h = heap();
    const db = new HeapSqlite(h, sqliteObject(), shimObject(), true);
    const statements = workload(500);
    expect(runWorkload(db, statements)).toEqual(runWithBetterSqlite3(statements));
    expect(db.sqlite.materialized).toBeGreaterThan(50);
    expect(db.sqlite.materialized).toBeLessThan(db.sqlite.functions / 2);
    console.log(`lazy SQLite: the workload compiled ${db.sqlite.materialized} of its ${db.sqlite.functions} functions`);
    h.verify();
    db.free();
    expect(h.stats().nodes.total).toBe(0);
  });

  test('load, run and unload twenty times: no growth', { timeout: 300_000 }, () => {
    const sqlite = sqliteObject();
    const shim = shimObject();
    const h = heap();
    const before = footprint(h.stats());
    const statements = workload(200);
    const expected = runWithBetterSqlite3(statements);
    for (let i = 0; i < 20; i++) {
      const db = new HeapSqlite(h, sqlite, shim);
      expect(runWorkload(db, statements)).toEqual(expected);
      db.free();
      expect(footprint(h.stats()), `after load ${i + 1}`).toEqual(before);
    }
    h.verify();
  });
});
