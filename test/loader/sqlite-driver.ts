// SQLite driven out of a CodeHeap: the amalgamation from better-sqlite3's package, compiled by gcc
// at test time, loaded with codeheap/elf, its C API bound with heap.bind, and a shim object of our
// own (loaded after it, calling into it) that copies text out. The same SQL workload runs through
// better-sqlite3, and every result is compared.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CodeHeap } from '../../src/index.js';
import { loadObject, type LoadedObject } from '../../src/elf/index.js';
import { compileObject, corpusPath } from './gcc.js';

export const SQLITE_FLAGS = ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections', '-DSQLITE_THREADSAFE=0', '-DSQLITE_OMIT_LOAD_EXTENSION'];

const require = createRequire(import.meta.url);

export function sqliteSource(): string {
  return join(dirname(require.resolve('better-sqlite3/package.json')), 'deps', 'sqlite3', 'sqlite3.c');
}

export function sqliteObject(): Uint8Array {
  return compileObject(sqliteSource(), SQLITE_FLAGS);
}

export function shimObject(): Uint8Array {
  return compileObject(corpusPath('sqlite-shim.c'), ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections']);
}

const SQLITE_ROW = 100;
const SQLITE_DONE = 101;
const SQLITE_TRANSIENT = (1n << 64n) - 1n;

export type Value = number | string | null;
export type Outcome = { rows: Value[][] } | { error: string };

const cString = (text: string): Uint8Array => new TextEncoder().encode(`${text}\0`);

/** The C API of a loaded SQLite, bound once. */
export class HeapSqlite {
  readonly sqlite: LoadedObject;
  readonly shim: LoadedObject;
  readonly #api;
  readonly #text = new Uint8Array(1 << 16);
  readonly #out = new Uint8Array(8);

  constructor(readonly heap: CodeHeap, sqlite: Uint8Array, shim: Uint8Array, lazy = false) {
    this.sqlite = loadObject(heap, sqlite, { name: 'sqlite3', lazy });
    this.shim = loadObject(heap, shim, { name: 'shim' });
    const f = (name: string, lib: LoadedObject = this.sqlite) => lib.get(name);
    this.#api = {
      open: heap.bind(f('sqlite3_open'), { parameters: ['buffer', 'buffer'], result: 'i32' }),
      close: heap.bind(f('sqlite3_close'), { parameters: ['pointer'], result: 'i32' }),
      prepare: heap.bind(f('sqlite3_prepare_v2'), { parameters: ['pointer', 'buffer', 'i32', 'buffer', 'pointer'], result: 'i32' }),
      step: heap.bind(f('sqlite3_step'), { parameters: ['pointer'], result: 'i32' }),
      reset: heap.bind(f('sqlite3_reset'), { parameters: ['pointer'], result: 'i32' }),
      finalize: heap.bind(f('sqlite3_finalize'), { parameters: ['pointer'], result: 'i32' }),
      columns: heap.bind(f('sqlite3_column_count'), { parameters: ['pointer'], result: 'i32' }),
      type: heap.bind(f('sqlite3_column_type'), { parameters: ['pointer', 'i32'], result: 'i32' }),
      int64: heap.bind(f('sqlite3_column_int64'), { parameters: ['pointer', 'i32'], result: 'i64' }),
      double: heap.bind(f('sqlite3_column_double'), { parameters: ['pointer', 'i32'], result: 'f64' }),
      bindInt: heap.bind(f('sqlite3_bind_int64'), { parameters: ['pointer', 'i32', 'i64'], result: 'i32' }),
      bindDouble: heap.bind(f('sqlite3_bind_double'), { parameters: ['pointer', 'i32', 'f64'], result: 'i32' }),
      bindText: heap.bind(f('sqlite3_bind_text'), { parameters: ['pointer', 'i32', 'buffer', 'i32', 'pointer'], result: 'i32' }),
      text: heap.bind(f('shim_column_text', this.shim), { parameters: ['pointer', 'i32', 'buffer', 'i32'], result: 'i32' }),
      errmsg: heap.bind(f('shim_errmsg', this.shim), { parameters: ['pointer', 'buffer', 'i32'], result: 'i32' }),
    };
  }

  #pointerOut(): bigint {
    return new DataView(this.#out.buffer).getBigUint64(0, true);
  }

  open(): bigint {
    const status = this.#api.open(cString(':memory:'), this.#out);
    if (status !== 0) throw new Error(`sqlite3_open: ${status}`);
    return this.#pointerOut();
  }

  close(db: bigint): void {
    const status = this.#api.close(db);
    if (status !== 0) throw new Error(`sqlite3_close: ${status}`);
  }

  #message(db: bigint): string {
    this.#api.errmsg(db, this.#text, this.#text.length);
    return new TextDecoder().decode(this.#text.subarray(0, this.#text.indexOf(0)));
  }

  /** Runs one statement with its parameters, once per parameter row; the rows of the last run. */
  run(db: bigint, sql: string, parameterRows: readonly (readonly Value[])[] = [[]]): Outcome {
    const api = this.#api;
    if (api.prepare(db, cString(sql), -1, this.#out, 0n) !== 0) return { error: this.#message(db) };
    const stmt = this.#pointerOut();
    let rows: Value[][] = [];
    try {
      for (const parameters of parameterRows) {
        api.reset(stmt);
        parameters.forEach((value, i) => {
          if (typeof value === 'number' && Number.isInteger(value)) api.bindInt(stmt, i + 1, BigInt(value));
          else if (typeof value === 'number') api.bindDouble(stmt, i + 1, value);
          else if (typeof value === 'string') api.bindText(stmt, i + 1, cString(value), -1, SQLITE_TRANSIENT);
        });
        rows = [];
        for (;;) {
          const status = api.step(stmt);
          if (status === SQLITE_DONE) break;
          if (status !== SQLITE_ROW) return { error: this.#message(db) };
          rows.push(this.#row(stmt));
        }
      }
    } finally {
      api.finalize(stmt);
    }
    return { rows };
  }

  #row(stmt: bigint): Value[] {
    const api = this.#api;
    const row: Value[] = [];
    for (let c = 0; c < api.columns(stmt); c++) {
      const type = api.type(stmt, c);
      if (type === 1) row.push(Number(api.int64(stmt, c)));
      else if (type === 2) row.push(api.double(stmt, c));
      else if (type === 5) row.push(null);
      else {
        const length = api.text(stmt, c, this.#text, this.#text.length);
        row.push(new TextDecoder().decode(this.#text.subarray(0, length)));
      }
    }
    return row;
  }

  free(): void {
    this.shim.free();
    this.sqlite.free();
  }
}

/** The workload: statements with their parameter rows (deterministic pseudo-random values). */
export function workload(rows = 10_000): { sql: string; parameters?: Value[][] }[] {
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const inserts: Value[][] = [];
  for (let i = 1; i <= rows; i++) inserts.push([i, next() % 100, (next() % 100000) / 7, `name-${next() % 500}`]);
  return [
    { sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, x REAL, s TEXT)' },
    { sql: 'CREATE TABLE u (k INTEGER PRIMARY KEY, label TEXT)' },
    { sql: 'BEGIN' },
    { sql: 'INSERT INTO t VALUES (?, ?, ?, ?)', parameters: inserts },
    { sql: 'INSERT INTO u VALUES (?, ?)', parameters: Array.from({ length: 50 }, (_, k) => [k * 2, `label ${k * 2}`]) },
    { sql: 'COMMIT' },
    { sql: 'SELECT count(*), sum(k), avg(x), min(x), max(s), total(x) FROM t' },
    { sql: 'SELECT k, count(*), round(avg(x), 6), group_concat(id % 7, \'\') FROM t WHERE id % 3 = 0 GROUP BY k ORDER BY k' },
    { sql: 'SELECT u.label, count(t.id), sum(t.x) FROM t JOIN u ON u.k = t.k GROUP BY u.k ORDER BY 2 DESC, 1 LIMIT 10' },
    { sql: 'SELECT id, s, x FROM t ORDER BY x DESC, id LIMIT 25' },
    { sql: 'SELECT upper(s), length(s), substr(s, 3, 4), printf(\'%08.3f\', x) FROM t WHERE id BETWEEN 100 AND 120' },
    { sql: 'SELEC oops FROM t' },
    { sql: 'INSERT INTO t VALUES (1, 2, 3.0, \'duplicate\')' },
    { sql: 'INSERT INTO t (id) VALUES (99999)' },
  ];
}

/** The workload through better-sqlite3: the peer every heap result is compared with. */
export function runWithBetterSqlite3(statements: ReturnType<typeof workload>): Outcome[] {
  const Database = require('better-sqlite3') as new (path: string) => {
    prepare(sql: string): { reader: boolean; raw(): { all(...p: Value[]): Value[][] }; run(...p: Value[]): unknown };
    close(): void;
  };
  const db = new Database(':memory:');
  const out: Outcome[] = [];
  for (const { sql, parameters } of statements) {
    try {
      const stmt = db.prepare(sql);
      let rows: Value[][] = [];
      for (const p of parameters ?? [[]]) {
        if (stmt.reader) rows = stmt.raw().all(...p);
        else {
          stmt.run(...p);
          rows = [];
        }
      }
      out.push({ rows });
    } catch (error) {
      out.push({ error: (error as Error).message });
    }
  }
  db.close();
  return out;
}
