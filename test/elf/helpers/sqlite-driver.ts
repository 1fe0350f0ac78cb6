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

  /**
   * One step with one FFI call per row: parameters bound from a packed buffer (shim_bind_packed,
   * shim_run_packed), rows read into one (shim_step_row); the same results as run().
   */
  runPacked(db: bigint, step: Step): StepResult {
    const c = this.#c;
    if (c.sqlite3_prepare_v2(db, cString(step.sql), -1, this.#out, 0n) !== SQLITE.OK) return { error: this.#message(db) };
    const stmt = this.#pointerOut();
    try {
      if ('each' in step) {
        for (const params of step.each) {
          const status = this.#shim.shim_run_packed(stmt, this.#pack(params));
          if (status !== SQLITE.DONE) return { error: this.#message(db) };
        }
        return { rows: [] };
      }
      if (this.#shim.shim_bind_packed(stmt, this.#pack(step.params)) !== SQLITE.OK) return { error: this.#message(db) };
      const rows: SqlValue[][] = [];
      for (;;) {
        const status = this.#shim.shim_step_row(stmt, this.#text, this.#text.length);
        if (status === SQLITE.DONE) return { rows };
        if (status !== SQLITE.ROW) return status === -2 ? this.run(db, step) : { error: this.#message(db) };
        rows.push(this.#unpack());
      }
    } finally {
      c.sqlite3_finalize(stmt);
    }
  }

  #packed = new Uint8Array(1024);
  #packedView = new DataView(this.#packed.buffer);
  readonly #textView = new DataView(this.#text.buffer);

  /** Parameters as shim_bind_packed reads them (sqlite-shim.c draws the layout). */
  #pack(params: readonly Param[]): Uint8Array {
    let need = 4;
    for (const p of params) need += typeof p === 'string' ? 5 + 3 * p.length : 9;
    if (need > this.#packed.length) {
      this.#packed = new Uint8Array(need * 2);
      this.#packedView = new DataView(this.#packed.buffer);
    }
    const bytes = this.#packed;
    const view = this.#packedView;
    view.setUint32(0, params.length, true);
    let at = 4;
    for (const p of params) {
      if (typeof p === 'bigint') {
        bytes[at] = SQLITE.INTEGER;
        view.setBigInt64(at + 1, p, true);
        at += 9;
      } else if (typeof p === 'number') {
        bytes[at] = SQLITE.FLOAT;
        view.setFloat64(at + 1, p, true);
        at += 9;
      } else if (p === null) {
        bytes[at++] = SQLITE.NULL;
      } else {
        bytes[at] = SQLITE.TEXT;
        view.setUint32(at + 1, this.#utf8(p, at + 5), true);
        at += 5 + view.getUint32(at + 1, true);
      }
    }
    return bytes;
  }

  /** Writes text as UTF-8 at `at` of the packed buffer; its byte length. ASCII, the common case, without an encoder call. */
  #utf8(text: string, at: number): number {
    const bytes = this.#packed;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) return encoder.encodeInto(text, bytes.subarray(at)).written;
      bytes[at + i] = code;
    }
    return text.length;
  }

  /** A row as shim_step_row wrote it. */
  #unpack(): SqlValue[] {
    const bytes = this.#text;
    const view = this.#textView;
    const columns = view.getUint32(0, true);
    const row: SqlValue[] = [];
    let at = 4;
    for (let i = 0; i < columns; i++) {
      const type = bytes[at++];
      if (type === SQLITE.INTEGER) {
        row.push(Number(view.getBigInt64(at, true)));
        at += 8;
      } else if (type === SQLITE.FLOAT) {
        row.push(view.getFloat64(at, true));
        at += 8;
      } else if (type === SQLITE.TEXT) {
        const length = view.getUint32(at, true);
        row.push(decoder.decode(bytes.subarray(at + 4, at + 4 + length)));
        at += 4 + length;
      } else {
        row.push(null);
      }
    }
    return row;
  }

  /** The whole workload on one connection, by run() (a call per C function) or runPacked() (a call per row). */
  runAll(steps: readonly Step[], packed = false): StepResult[] {
    const db = this.open();
    const results = steps.map((step) => (packed ? this.runPacked(db, step) : this.run(db, step)));
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
