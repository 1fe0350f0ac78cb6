// The SQLite test input, checked before a loader test relies on it: the amalgamation is the one
// better-sqlite3 runs (so better-sqlite3 is a fair oracle), it compiles into an object that
// defines every function the drivers bind, the shim needs nothing but SQLite and libc, and the
// workload is deterministic, JSON-comparable and fails exactly where it says it does.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { corpusPath } from './corpus/index.js';
import { summarize } from './helpers/readelf.js';
import { skipUnavailable } from './helpers/skip.js';
import { runWithBetterSqlite3, workload } from './helpers/sql-workload.js';
import { SHIM_API, SHIM_FLAGS, SQLITE_API, SQLITE_FLAGS, shimObject, sqliteAvailability, sqliteObject, sqliteSource } from './helpers/sqlite.js';
import { compileObjectFile } from './helpers/toolchain.js';

const skip = skipUnavailable('SQLite input for the ELF loader', sqliteAvailability());
const require = createRequire(import.meta.url);

describe.skipIf(skip)('SQLite as the loader\'s test input', () => {
  test('better-sqlite3 is the version package.json pins, and runs the amalgamation we compile', () => {
    const ours = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
    const theirs = require('better-sqlite3/package.json') as { version: string };
    expect(theirs.version).toBe(ours.devDependencies['better-sqlite3']);
    const version = /^#define SQLITE_VERSION\s+"([^"]+)"/m.exec(readFileSync(sqliteSource(), 'utf8'))?.[1];
    const first = runWithBetterSqlite3([{ sql: 'SELECT sqlite_version()', params: [] }])[0];
    expect(first).toEqual({ rows: [[version]] });
  });

  test('sqlite3.c compiles with the fixed flags into an object defining every function the drivers bind', () => {
    expect(sqliteObject().subarray(0, 4)).toEqual(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
    const sqlite = summarize(compileObjectFile({ path: sqliteSource() }, SQLITE_FLAGS));
    for (const name of Object.keys(SQLITE_API)) expect(sqlite.defined.has(name), name).toBe(true);
    // What the shim leaves undefined is SQLite's or the C library's.
    expect(shimObject().subarray(0, 4)).toEqual(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
    const shim = summarize(compileObjectFile({ path: corpusPath('sqlite-shim.c') }, SHIM_FLAGS));
    for (const name of Object.keys(SHIM_API)) expect(shim.defined.has(name), name).toBe(true);
    const outside = [...shim.undefined].filter((name) => !sqlite.defined.has(name));
    expect(outside.sort()).toEqual(['memcpy', 'strlen']);
  });

  test('the workload runs the same twice, is plain JSON, and fails exactly at the steps marked to', () => {
    const steps = workload();
    const results = runWithBetterSqlite3(steps);
    expect(results).toHaveLength(steps.length);
    expect(runWithBetterSqlite3(steps)).toEqual(results);
    expect(JSON.parse(JSON.stringify(results))).toEqual(results);
    steps.forEach((step, i) => expect('error' in (results[i] ?? {}), step.sql).toBe(step.fails === true));
    // The bulk insert put in every row it lists.
    const insert = steps.find((step) => 'each' in step && step.sql.startsWith('INSERT INTO items'));
    const count = runWithBetterSqlite3([...steps.slice(0, steps.indexOf(insert!) + 2), { sql: 'SELECT count(*) FROM items', params: [] }]).at(-1);
    expect(count).toEqual({ rows: [[insert !== undefined && 'each' in insert ? insert.each.length : -1]] });
  });
});
