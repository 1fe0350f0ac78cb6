// SQLite driven out of a CodeHeap: the object loaded with codeheap/elf, its C API bound with
// heap.bind (SQLITE_API), and our shim object (loaded after it, calling into it) copying text in
// and out. Runs the workload's steps as better-sqlite3 runs them, so results compare one to one.

import type { CodeHeap } from '../../../src/index.js';
import { loadObject, type LoadedObject } from '../../../src/elf/index.js';
import type { Param, SqlValue, Step, StepResult } from './sql-workload.js';
import { WORKLOAD_DATABASE } from './sql-workload.js';
import { SHIM_API, SQLITE, SQLITE_API } from './sqlite.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cString = (text: string): Uint8Array => encoder.encode(`${text}\0`);

function bindAll<T extends Record<string, { parameters: readonly string[]; result: string }>>(heap: CodeHeap, lib: LoadedObject, api: T) {
  const bound: Record<string, (...args: unknown[]) => unknown> = {};
  for (const [name, signature] of Object.entries(api)) {
    bound[name] = heap.bind(lib.get(name), signature as Parameters<CodeHeap['bind']>[1]) as (...args: unknown[]) => unknown;
  }
  return bound as { [K in keyof T]: (...args: unknown[]) => unknown };
}

export class HeapSqlite {
  readonly sqlite: LoadedObject;
  readonly shim: LoadedObject;
  readonly #c;
  readonly #shim;
  readonly #text = new Uint8Array(1 << 16);
  readonly #out = new Uint8Array(8);

  constructor(readonly heap: CodeHeap, sqlite: Uint8Array, shim: Uint8Array, lazy = false) {
    this.sqlite = loadObject(heap, sqlite, { name: 'sqlite3', lazy });
    this.shim = loadObject(heap, shim, { name: 'shim' });
    this.#c = bindAll(heap, this.sqlite, SQLITE_API);
    this.#shim = bindAll(heap, this.shim, SHIM_API);
  }

  #pointerOut(): bigint {
    return new DataView(this.#out.buffer).getBigUint64(0, true);
  }

  open(): bigint {
    const status = this.#c.sqlite3_open(cString(WORKLOAD_DATABASE), this.#out);
    if (status !== SQLITE.OK) throw new Error(`sqlite3_open: ${String(status)}`);
    return this.#pointerOut();
  }

  close(db: bigint): void {
    const status = this.#c.sqlite3_close(db);
    if (status !== SQLITE.OK) throw new Error(`sqlite3_close: ${String(status)}`);
  }

  #message(db: bigint): string {
    const length = this.#shim.shim_errmsg(db, this.#text, this.#text.length) as number;
    return decoder.decode(this.#text.subarray(0, Math.min(length, this.#text.length - 1)));
  }

  #bind(stmt: bigint, params: readonly Param[]): void {
    const c = this.#c;
    params.forEach((value, i) => {
      if (typeof value === 'bigint') c.sqlite3_bind_int64(stmt, i + 1, value);
      else if (typeof value === 'number') c.sqlite3_bind_double(stmt, i + 1, value);
      else if (value === null) c.sqlite3_bind_null(stmt, i + 1);
      else {
        const bytes = encoder.encode(value);
        this.#shim.shim_bind_text(stmt, i + 1, bytes, bytes.length);
      }
    });
  }

  /** One step of the workload: its rows, or SQLite's error message. */
  run(db: bigint, step: Step): StepResult {
    const c = this.#c;
    if (c.sqlite3_prepare_v2(db, cString(step.sql), -1, this.#out, 0n) !== SQLITE.OK) return { error: this.#message(db) };
    const stmt = this.#pointerOut();
    try {
      let rows: SqlValue[][] = [];
      for (const params of 'each' in step ? step.each : [step.params]) {
        c.sqlite3_reset(stmt);
        c.sqlite3_clear_bindings(stmt);
        this.#bind(stmt, params);
        rows = [];
        for (;;) {
          const status = c.sqlite3_step(stmt);
          if (status === SQLITE.DONE) break;
          if (status !== SQLITE.ROW) return { error: this.#message(db) };
          rows.push(this.#row(stmt));
        }
      }
      return { rows: 'each' in step ? [] : rows };
    } finally {
      c.sqlite3_finalize(stmt);
    }
  }

  runAll(steps: readonly Step[]): StepResult[] {
    const db = this.open();
    const results = steps.map((step) => this.run(db, step));
    this.close(db);
    return results;
  }

  #row(stmt: bigint): SqlValue[] {
    const c = this.#c;
    const row: SqlValue[] = [];
    const columns = c.sqlite3_column_count(stmt) as number;
    for (let i = 0; i < columns; i++) {
      const type = c.sqlite3_column_type(stmt, i);
      if (type === SQLITE.INTEGER) row.push(Number(c.sqlite3_column_int64(stmt, i) as bigint));
      else if (type === SQLITE.FLOAT) row.push(c.sqlite3_column_double(stmt, i) as number);
      else if (type === SQLITE.NULL) row.push(null);
      else {
        const length = this.#shim.shim_column_text(stmt, i, this.#text, this.#text.length) as number;
        row.push(decoder.decode(this.#text.subarray(0, length)));
      }
    }
    return row;
  }

  free(): void {
    this.shim.free();
    this.sqlite.free();
  }
}
