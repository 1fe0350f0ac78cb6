// SQLite as a test input for the object loader: the amalgamation that better-sqlite3's package
// ships (deps/sqlite3/sqlite3.c, never copied into this repository), compiled by the real gcc
// with fixed flags, and sqlite-shim.c, an object of ours that calls into it. The C API's
// signatures are written here once in heap.bind's words, so a loader test binds them by name.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { NativeSignature } from '../../../src/index.js';
import { corpusPath } from '../corpus/index.js';
import { compileObject, toolchain, type Availability } from './toolchain.js';

/** Exactly these: -O1 keeps the compile near 25 s; no threads and no extension loading (dlopen). */
export const SQLITE_FLAGS = ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections', '-DSQLITE_THREADSAFE=0', '-DSQLITE_OMIT_LOAD_EXTENSION'] as const;
export const SHIM_FLAGS = ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections'] as const;

const require = createRequire(import.meta.url);

/** The amalgamation's path inside the installed better-sqlite3 (throws when it is not installed). */
export function sqliteSource(): string {
  return join(dirname(require.resolve('better-sqlite3/package.json')), 'deps', 'sqlite3', 'sqlite3.c');
}

/** gcc, and better-sqlite3 installed with its amalgamation; for skipUnavailable. */
export function sqliteAvailability(): Availability {
  const gcc = toolchain();
  if (!gcc.available) return gcc;
  let source: string;
  try {
    source = sqliteSource();
  } catch (error) {
    return { available: false, reason: `better-sqlite3 is not installed (${(error as Error).message.split('\n')[0]})` };
  }
  return existsSync(source) ? { available: true } : { available: false, reason: `better-sqlite3 has no amalgamation at ${source}` };
}

/** sqlite3.c as an ELF relocatable object: about 25 s the first time, then from the cache. */
export function sqliteObject(): Uint8Array {
  return compileObject({ path: sqliteSource() }, SQLITE_FLAGS);
}

/** sqlite-shim.c as an object: load it after sqliteObject(), whose functions it calls. */
export function shimObject(): Uint8Array {
  return compileObject({ path: corpusPath('sqlite-shim.c') }, SHIM_FLAGS);
}

/** Result codes and column types of the C API (sqlite3.h). */
export const SQLITE = {
  OK: 0, ERROR: 1, CONSTRAINT: 19, ROW: 100, DONE: 101,
  INTEGER: 1, FLOAT: 2, TEXT: 3, BLOB: 4, NULL: 5,
} as const;

/**
 * The functions a driver binds, as C declares them. sqlite3* and sqlite3_stmt* are 'pointer'; an
 * out-parameter (sqlite3**, sqlite3_stmt**) is an 8-byte 'buffer' the callee writes the pointer
 * into; SQL and file names are NUL-terminated UTF-8 in a 'buffer'.
 */
export const SQLITE_API = {
  sqlite3_libversion_number: { parameters: [], result: 'i32' },
  sqlite3_open: { parameters: ['buffer', 'buffer'], result: 'i32' },
  sqlite3_close: { parameters: ['pointer'], result: 'i32' },
  // db, sql, its byte length (-1: up to the NUL), out stmt, out tail (pass 0n for none)
  sqlite3_prepare_v2: { parameters: ['pointer', 'buffer', 'i32', 'buffer', 'pointer'], result: 'i32' },
  sqlite3_step: { parameters: ['pointer'], result: 'i32' },
  sqlite3_reset: { parameters: ['pointer'], result: 'i32' },
  sqlite3_clear_bindings: { parameters: ['pointer'], result: 'i32' },
  sqlite3_finalize: { parameters: ['pointer'], result: 'i32' },
  sqlite3_column_count: { parameters: ['pointer'], result: 'i32' },
  sqlite3_column_type: { parameters: ['pointer', 'i32'], result: 'i32' },
  sqlite3_column_int64: { parameters: ['pointer', 'i32'], result: 'i64' },
  sqlite3_column_double: { parameters: ['pointer', 'i32'], result: 'f64' },
  sqlite3_bind_int64: { parameters: ['pointer', 'i32', 'i64'], result: 'i32' },
  sqlite3_bind_double: { parameters: ['pointer', 'i32', 'f64'], result: 'i32' },
  sqlite3_bind_null: { parameters: ['pointer', 'i32'], result: 'i32' },
  // stmt, index, text, its byte length, destructor (-1n as u64 is SQLITE_TRANSIENT; or use shim_bind_text)
  sqlite3_bind_text: { parameters: ['pointer', 'i32', 'buffer', 'i32', 'pointer'], result: 'i32' },
  // db, sql, callback (0n), its argument (0n), out error message (0n: use sqlite3_errmsg instead)
  sqlite3_exec: { parameters: ['pointer', 'buffer', 'pointer', 'pointer', 'pointer'], result: 'i32' },
  sqlite3_changes: { parameters: ['pointer'], result: 'i32' },
  sqlite3_errmsg: { parameters: ['pointer'], result: 'pointer' },
} as const satisfies Record<string, NativeSignature>;

/** The shim's functions (sqlite-shim.c says what each does). */
export const SHIM_API = {
  // stmt, column, out, capacity: the text's full byte length (>= capacity: cut), -1 for NULL
  shim_column_text: { parameters: ['pointer', 'i32', 'buffer', 'i32'], result: 'i32' },
  // db, out, capacity: the message's full byte length
  shim_errmsg: { parameters: ['pointer', 'buffer', 'i32'], result: 'i32' },
  // stmt, index, UTF-8 bytes (no NUL needed), their length: bound as SQLITE_TRANSIENT
  shim_bind_text: { parameters: ['pointer', 'i32', 'buffer', 'i32'], result: 'i32' },
  // stmt, out, capacity: steps once, a row packed into out (SQLITE_ROW), or -2 when it does not fit
  shim_step_row: { parameters: ['pointer', 'buffer', 'i32'], result: 'i32' },
  // stmt, packed parameters: reset, clear and bind them (SQLITE_OK or the first error)
  shim_bind_packed: { parameters: ['pointer', 'buffer'], result: 'i32' },
  // stmt, packed parameters: bind them and step to the end (what the last step returned)
  shim_run_packed: { parameters: ['pointer', 'buffer'], result: 'i32' },
} as const satisfies Record<string, NativeSignature>;
