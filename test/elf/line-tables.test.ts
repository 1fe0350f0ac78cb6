// The line tables the loader reads from .debug_line (FunctionBody.lines, elf/line-tables.ts),
// checked against binutils' readelf on the same object: every corpus file, compiled with -g as
// DWARF 4 and as DWARF 5, with a section per function and with one .text for the file. readelf's
// decoded rows, one sequence per code section, reduced as the loader reduces them (statement rows
// only, the last of several at one offset), must be exactly the tables the heap tells its region.
// Where a function has no debug information the loader gives it none; malformed debug information
// never stops a load.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { arrayBufferMemory, CodeHeap, type ArenaLayout, type Memory } from '../../src/index.js';
import type { CheckedLines } from '../../src/heap/region.js';
import { loadObject } from '../../src/elf/index.js';
import { CORPUS } from './corpus/index.js';
import { skipWithoutGcc } from './helpers/skip.js';
import { compileObject, compileObjectFile } from './helpers/toolchain.js';

const skip = skipWithoutGcc('line tables');

/** A heap on simulated memory whose region records each line table it is told of, by the function's name. */
function recordingHeap(): { heap: CodeHeap; tables: Map<number, CheckedLines> } {
  const tables = new Map<number, CheckedLines>();
  const inner = arrayBufferMemory();
  const memory: Memory = {
    reserve(layout: ArenaLayout) {
      const region = inner.reserve(layout);
      return Object.assign(region, { linesPlaced: (address: number, lines: CheckedLines) => void tables.set(address, lines) });
    },
  };
  return { heap: new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 20, memory, resolveExternal: () => 0x1000 }), tables };
}

/** Each table as sorted text rows `offset file line`, the files by base name (readelf prints no more). */
function shape(rows: readonly [number, string, number][]): string {
  return rows.map(([offset, file, line]) => `${offset} ${file} ${line}`).join('\n');
}

/** readelf's decoded line sequences, reduced as the loader reduces them. */
function readelfSequences(objectPath: string): string[] {
  const text = execFileSync('readelf', ['-W', '--debug-dump=decodedline', objectPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const sequences: string[] = [];
  let rows: [number, string, number][] = [];
  for (const line of text.split('\n')) {
    const row = /^(\S+)\s+(\d+|-)\s+(0x[0-9a-f]+|\d+)(?:\s+\d+)?(\s+x)?\s*$/.exec(line);
    if (row === null) continue;
    if (row[2] === '-') {
      if (rows.length > 0) sequences.push(shape(rows));
      rows = [];
      continue;
    }
    if (row[4] === undefined) continue;
    const offset = Number(row[3]);
    if (rows.length > 0 && rows[rows.length - 1]![0] === offset) rows.pop();
    rows.push([offset, row[1]!, Number(row[2])]);
  }
  return sequences.sort();
}

const VARIANTS = {
  'DWARF 5, a section per function': ['-g', '-O2', '-fPIC', '-ffunction-sections', '-fno-reorder-blocks-and-partition'],
  'DWARF 4, a section per function': ['-gdwarf-4', '-O1', '-fPIC', '-ffunction-sections', '-fno-reorder-blocks-and-partition'],
  'DWARF 5, one .text': ['-g', '-O1', '-fPIC', '-fno-reorder-blocks-and-partition'],
  'DWARF 4 at -O0, one .text': ['-gdwarf-4', '-O0', '-fPIC'],
} as const;

describe.skipIf(skip)('the loader reads line tables as readelf decodes them', () => {
  for (const file of CORPUS.filter((f) => f.refused === undefined)) {
    for (const [variant, flags] of Object.entries(VARIANTS)) {
      test(`${file.file}, ${variant}`, () => {
        const { heap, tables } = recordingHeap();
        const path = compileObjectFile({ path: file.path }, flags);
        loadObject(heap, compileObject({ path: file.path }, flags), { name: file.file, constructors: 'defer' });
        heap.verify();
        const ours = [...tables.values()].map((t) => {
          const rows: [number, string, number][] = [];
          for (let i = 0; i < t.rows.length; i += 3) rows.push([t.rows[i]!, basename(t.files[t.rows[i + 1]!]!), t.rows[i + 2]!]);
          // Whole paths: the compilation directory joined to the name gcc was given.
          for (const f of t.files) expect(f.startsWith('/'), f).toBe(true);
          return shape(rows);
        }).sort();
        expect(ours.length).toBeGreaterThan(0);
        expect(ours).toEqual(readelfSequences(path));
      });
    }
  }

  test('a function\'s cold part, laid out after its code, brings its lines along', () => {
    const path = fileURLToPath(new URL('./fixtures/cold.c', import.meta.url));
    const flags = ['-g', '-O2', '-fPIC', '-ffunction-sections'];
    const object = compileObjectFile({ path }, flags);
    const sections = execFileSync('readelf', ['-W', '-S', object], { encoding: 'utf8' });
    const hot = /\.text\.check\s+PROGBITS\s+\S+\s+\S+\s+([0-9a-f]+)/.exec(sections);
    expect(sections, 'gcc split check into a cold part').toMatch(/\.text\.unlikely\.check\s/);
    const { heap, tables } = recordingHeap();
    const lib = loadObject(heap, compileObject({ path }, flags), { name: 'cold.c' });
    const check = tables.get(heap.node(lib.get('check'))!.address)!;
    const coldLines = new Set<number>();
    for (let i = 0; i < check.rows.length; i += 3) if (check.rows[i]! >= parseInt(hot![1]!, 16)) coldLines.add(check.rows[i + 2]!);
    const reportLine = readFileSync(path, 'utf8').split('\n').findIndex((l) => l.includes('report(i);')) + 1;
    expect([...coldLines]).toContain(reportLine);
  });

  test('an object without -g loads with no line tables; a .debug_line cut short loads too, with the units before the cut', () => {
    const source = CORPUS.find((f) => f.file === 'calls.c')!;
    const plain = recordingHeap();
    loadObject(plain.heap, compileObject({ path: source.path }, ['-O1', '-fPIC', '-ffunction-sections']), { name: 'calls.c' });
    expect(plain.tables.size).toBe(0);

    const bytes = compileObject({ path: source.path }, ['-g', '-O1', '-fPIC', '-ffunction-sections']);
    const whole = recordingHeap();
    loadObject(whole.heap, bytes, { name: 'calls.c' });
    // Every byte of the first unit's header and program, in turn, made to claim a length past the section.
    const debugLine = sectionHeader(bytes, '.debug_line');
    for (const at of [debugLine.offset, debugLine.offset + 10, debugLine.offset + 40]) {
      const broken = Uint8Array.from(bytes);
      broken.fill(0xff, at, at + 4);
      const { heap, tables } = recordingHeap();
      loadObject(heap, broken, { name: 'calls.c' });
      heap.verify();
      expect(tables.size).toBeLessThanOrEqual(whole.tables.size);
    }
    // A DWARF 5 header whose directory format has no field, and 2^56 directories: refused at
    // once (each entry would read nothing, and the count alone would keep the reader for years).
    const formatAt = debugLine.offset + 30;
    const empty = Uint8Array.from(bytes);
    empty[formatAt] = 0;
    empty.fill(0xff, formatAt + 1, formatAt + 8);
    empty[formatAt + 8] = 0x7f;
    const { heap, tables } = recordingHeap();
    loadObject(heap, empty, { name: 'calls.c' });
    expect(tables.size).toBe(0);
    heap.verify();
  });
});

describe.skipIf(skip)('debug information never stops a load', () => {
  const source = CORPUS.find((f) => f.file === 'calls.c')!;
  const bytes = skip ? new Uint8Array(0) : compileObject({ path: source.path }, ['-g', '-O2', '-fPIC', '-ffunction-sections']);
  const line = skip ? { offset: 0, size: 0 } : sectionHeader(bytes, '.debug_line');
  const strings = skip ? { offset: 0, size: 0 } : sectionHeader(bytes, '.debug_line_str');

  propTest.prop([
    fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), inStrings: fc.boolean() }), { minLength: 1, maxLength: 12 }),
  ], { numRuns: 300 })('bytes of .debug_line and .debug_line_str changed anywhere: the object loads, every table one the heap takes', (edits) => {
    const broken = Uint8Array.from(bytes);
    for (const { at, value, inStrings } of edits) {
      const section = inStrings ? strings : line;
      broken[section.offset + (at % section.size)] = value;
    }
    const { heap, tables } = recordingHeap();
    // A table the reader made wrongly would be refused by define (INVALID_ARGUMENT): the load must succeed.
    const lib = loadObject(heap, broken, { name: 'calls.c' });
    heap.verify();
    for (const table of tables.values()) expect(table.rows.length % 3).toBe(0);
    lib.free();
    heap.verify();
  });
});

/** A section's header fields, read as readelf reads them (a second, independent reading). */
function sectionHeader(bytes: Uint8Array, name: string): { offset: number; size: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(view.getBigUint64(40, true));
  const count = view.getUint16(60, true);
  const names = shoff + 64 * view.getUint16(62, true);
  const namesAt = Number(view.getBigUint64(names + 24, true));
  for (let i = 0; i < count; i++) {
    const h = shoff + 64 * i;
    const at = namesAt + view.getUint32(h, true);
    const end = bytes.indexOf(0, at);
    if (new TextDecoder().decode(bytes.subarray(at, end)) === name) {
      return { offset: Number(view.getBigUint64(h + 24, true)), size: Number(view.getBigUint64(h + 32, true)) };
    }
  }
  throw new Error(`no section ${name}`);
}
