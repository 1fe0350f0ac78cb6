// The SQL workload the heap-loaded SQLite is checked with, as data, and the same workload run
// through better-sqlite3 (the same amalgamation, built by node-gyp) to say what it must give.
//
// Every step is one statement, run with the C API's plain sequence: prepare_v2, bind each
// parameter, step until DONE, finalize. A driver over the loaded object does exactly that and
// must get what runWithBetterSqlite3() gets. Parameters bind as better-sqlite3 binds them: a
// bigint with sqlite3_bind_int64, a number with sqlite3_bind_double, a string with
// sqlite3_bind_text, null with sqlite3_bind_null. Results are JSON-comparable: INTEGER and REAL
// columns as numbers (the workload keeps integers within 2^53), TEXT as strings, NULL as null.
//
// The SQL stays clear of what the two builds configure differently (better-sqlite3 turns on
// foreign keys, turns off double-quoted strings, adds math functions, DELETE ... LIMIT and
// STAT4): no FOREIGN KEY, no "..." strings, no math functions, and every GROUP BY also ordered.

import { createRequire } from 'node:module';

export type Param = bigint | number | string | null;
export type SqlValue = number | string | null;

export type Step =
  /** Run once with these parameters (none: []). */
  | { readonly sql: string; readonly params: readonly Param[]; readonly fails?: true }
  /** Prepared once, then bound, stepped and reset for each parameter row (a bulk insert). */
  | { readonly sql: string; readonly each: readonly (readonly Param[])[]; readonly fails?: true };

/** A step's rows (none for a statement that returns none), or its error: sqlite3_errmsg's text. */
export type StepResult = { readonly rows: SqlValue[][] } | { readonly error: string };

/** Where the workload runs: a fresh in-memory database (the name sqlite3_open takes). */
export const WORKLOAD_DATABASE = ':memory:';

export const ITEM_COUNT = 10_000;
const CATEGORY_COUNT = 12;

/** A 32-bit xorshift: the same values on every run, in every process. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

// Non-ASCII on purpose: text crosses the FFI as UTF-8 bytes, and length() counts characters.
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'über', 'naïve', 'smörgås', '日本', 'ünï', 'omega', 'zeta', 'kappa', 'λόγος'];

function itemRows(): Param[][] {
  const next = random(0x5eed);
  const word = (): string => WORDS[next() % WORDS.length] ?? '';
  return Array.from({ length: ITEM_COUNT }, (_, i) => {
    const qty = BigInt((next() % 1000) - 100);
    // Doubles with a fraction, exactly the same bits on both sides since both bind this number.
    const price = (next() % 1_000_000) / 128 + next() / 2 ** 32;
    const big = BigInt(next()) * BigInt(next() % 2048) - (1n << 40n);
    const note = next() % 7 === 0 ? null : `${word()} ${i % 97}`;
    return [BigInt(i + 1), BigInt(next() % CATEGORY_COUNT), qty, price, `${word()}-${word()}-${i}`, note, big];
  });
}

/** The workload: schema, 10,000 rows in a transaction, queries, and statements that must fail. */
export function workload(): Step[] {
  const none: Param[] = [];
  return [
    { sql: 'SELECT sqlite_version()', params: none },
    { sql: 'CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)', params: none },
    { sql: 'INSERT INTO categories VALUES (?, ?)', each: Array.from({ length: CATEGORY_COUNT }, (_, i) => [BigInt(i), `${WORDS[i % WORDS.length]}-${i}`]) },
    { sql: 'CREATE TABLE items (id INTEGER PRIMARY KEY, category INTEGER NOT NULL, qty INTEGER, price REAL, name TEXT, note TEXT, big INTEGER)', params: none },
    { sql: 'BEGIN', params: none },
    { sql: 'INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)', each: itemRows() },
    { sql: 'COMMIT', params: none },
    { sql: 'CREATE INDEX items_by_category ON items (category)', params: none },
    // Aggregates
    { sql: 'SELECT count(*), sum(qty), avg(price), min(price), max(price), total(big), count(note), min(big), max(big) FROM items', params: none },
    // GROUP BY
    { sql: 'SELECT category, count(*), sum(qty), avg(price), min(name), max(big) FROM items GROUP BY category ORDER BY category', params: none },
    // A join with the second table
    {
      sql: 'SELECT c.name, count(*), sum(i.qty), round(avg(i.price), 3) FROM items i JOIN categories c ON c.id = i.category WHERE i.qty > 0 GROUP BY c.name ORDER BY c.name',
      params: none,
    },
    // ORDER BY ... LIMIT, ties broken by id so the order is the data's, not the planner's
    { sql: 'SELECT id, name, price, note FROM items ORDER BY price DESC, id LIMIT 25', params: none },
    // Parameters of each kind, text with non-ASCII characters
    { sql: 'SELECT count(*), sum(price), max(id) FROM items WHERE qty BETWEEN ? AND ? AND name LIKE ? AND price < ?', params: [10n, 500n, '%über%', 5000.5] },
    { sql: 'SELECT id, upper(name), length(name), substr(name, 2, 3), printf(?, price, qty) FROM items WHERE id % 997 = 0 ORDER BY id', params: ['%08.3f|%d'] },
    { sql: 'SELECT id, note, coalesce(note, ?), typeof(note) FROM items WHERE id <= 15 ORDER BY id', params: [null] },
    { sql: 'UPDATE items SET qty = qty + 1 WHERE category = ?', params: [3n] },
    { sql: 'SELECT sum(qty), count(*) FROM items WHERE category = ?', params: [3n] },
    { sql: 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100) SELECT sum(x), group_concat(x, ?) FROM n', params: [','] },
    // Errors: at prepare (syntax, a missing table) and at step (constraints)
    { sql: 'SELEC count(*) FROM items', params: none, fails: true },
    { sql: 'SELECT * FROM missing_table', params: none, fails: true },
    { sql: 'INSERT INTO items (id, category, qty, price, name) VALUES (?, ?, ?, ?, ?)', params: [1n, 0n, 1n, 1.5, 'duplicate'], fails: true },
    { sql: 'INSERT INTO categories VALUES (?, ?)', params: [100n, null], fails: true },
    { sql: 'INSERT INTO categories VALUES (?, ?)', params: [101n, `${WORDS[0]}-0`], fails: true },
    // The database is still usable after them, and none of them changed it.
    { sql: 'SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM categories), (SELECT sum(qty) FROM items)', params: none },
  ];
}

// The part of better-sqlite3's API used here (the package has no types of its own).
interface Statement {
  readonly reader: boolean;
  raw(raw: boolean): Statement;
  all(...params: Param[]): unknown[];
  run(...params: Param[]): unknown;
}
interface Database {
  prepare(sql: string): Statement;
  close(): void;
}
type DatabaseConstructor = new (filename: string) => Database;

function toValue(value: unknown, sql: string): SqlValue {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'number') return value;
  throw new Error(`better-sqlite3 gave ${typeof value} for ${sql}: the workload has no blobs or big integers`);
}

/** The workload through better-sqlite3: one StepResult per step. */
export function runWithBetterSqlite3(steps: readonly Step[] = workload()): StepResult[] {
  const Sqlite = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
  const db = new Sqlite(WORKLOAD_DATABASE);
  try {
    return steps.map((step) => {
      try {
        const statement = db.prepare(step.sql);
        if ('each' in step) {
          for (const params of step.each) statement.run(...params);
          return { rows: [] };
        }
        if (!statement.reader) {
          statement.run(...step.params);
          return { rows: [] };
        }
        const rows = statement.raw(true).all(...step.params) as unknown[][];
        return { rows: rows.map((row) => row.map((value) => toValue(value, step.sql))) };
      } catch (error) {
        // Only SQLite's own errors are results; anything else (a bad binding) is a broken workload.
        if ((error as { name?: unknown }).name !== 'SqliteError') throw error;
        return { error: (error as Error).message };
      }
    });
  } finally {
    db.close();
  }
}
