// A function's line table (FunctionBody.lines): which source line each stretch of its code comes
// from, for a debugger (native memory hands it to gdb with the body: README, Debugging and
// profiling). A JIT gives the positions of its own source language; the object loader gives those
// of a C object compiled with -g (elf/line-tables.ts).
//
// As given: `files`, the source files by index, and `rows`, (offset, file, line) triples in
// ascending order of offset, each row holding from its offset to the next row's (the last to the
// end of the code). Checked once, at define, into a copy the caller can no longer change.

import { invalid, show } from '../errors.js';
import type { CheckedLines } from '../heap/region.js';

/** A file name's most UTF-16 units (a path, as PATH_MAX bounds one). */
const MAX_FILE_NAME = 4096;

/** The caller's `lines` read once, each field once, into plain data (judged later by readLines). */
export function snapshotLines(lines: unknown): unknown {
  if (typeof lines !== 'object' || lines === null) return lines;
  const { files, rows } = lines as { files?: unknown; rows?: unknown };
  return {
    files: Array.isArray(files) ? Array.from(files as unknown[]) : files,
    rows: rows instanceof Uint32Array ? Uint32Array.from(rows) : Array.isArray(rows) ? Array.from(rows as unknown[]) : rows,
  };
}

/** Checks a snapshot of `lines` of the function `name` whose code is `codeLength` bytes. */
export function readLines(name: string, lines: unknown, codeLength: number): CheckedLines {
  if (typeof lines !== 'object' || lines === null) invalid(`${name}: lines must be { files, rows }, got ${show(lines)}`);
  const { files, rows } = lines as { files: unknown; rows: unknown };
  if (!Array.isArray(files)) invalid(`${name}: lines.files must be an array of file names, got ${show(files)}`);
  const names = files as unknown[];
  for (let i = 0; i < names.length; i++) {
    const file = names[i];
    if (typeof file !== 'string' || file === '' || file.length > MAX_FILE_NAME || file.includes('\0')) {
      invalid(`${name}: lines.files[${i}] must be a non-empty file name of at most ${MAX_FILE_NAME} characters with no NUL, got ${show(file)}`);
    }
  }
  if (!(rows instanceof Uint32Array) && !Array.isArray(rows)) invalid(`${name}: lines.rows must be a Uint32Array or an array of numbers, got ${show(rows)}`);
  const given = rows as ArrayLike<unknown>;
  if (given.length % 3 !== 0) invalid(`${name}: lines.rows holds (offset, file, line) triples; its length ${given.length} is not a multiple of 3`);
  const table = new Uint32Array(given.length);
  let previous = -1;
  for (let i = 0; i < given.length; i += 3) {
    const at = rowField(name, given, i, 'offset');
    const file = rowField(name, given, i + 1, 'file');
    const row = `lines.rows row ${i / 3}`;
    if (at <= previous) invalid(`${name}: ${row}: offset ${at} must be above the previous row's ${previous} (rows go in ascending order of offset)`);
    if (at >= codeLength) invalid(`${name}: ${row}: offset ${at} is past the ${codeLength} bytes of code`);
    if (file >= names.length) invalid(`${name}: ${row}: file ${file} is not an index of lines.files (${names.length} files)`);
    table[i] = at;
    table[i + 1] = file;
    table[i + 2] = rowField(name, given, i + 2, 'line');
    previous = at;
  }
  return { files: names as string[], rows: table };
}

function rowField(name: string, rows: ArrayLike<unknown>, at: number, field: string): number {
  const value = rows[at];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    invalid(`${name}: lines.rows row ${Math.floor(at / 3)}: ${field} must be an integer from 0 to 2^32 - 1, got ${show(value)}`);
  }
  return value as number;
}
