// FunctionBody.lines on any memory: the table is checked at define (INVALID_ARGUMENT naming the
// function, the row and the values, nothing defined), copied so that the caller's later changes
// do not reach it, and told to the region (Region.linesPlaced) before the body's codePlaced, for
// each placement that came with one: a define, a redefine, a lazy function's compile. gdb's
// view of it on native memory is test/native/debugger.test.ts.

import { describe, expect, test } from 'vitest';
import { arrayBufferMemory, CodeHeap, type Memory } from '../src/index.js';
import type { CheckedLines } from '../src/heap/region.js';
import { expectCode } from './helpers/errors.js';
import { asm } from './helpers/x86.js';

type Told = ['lines', number, CheckedLines] | ['code', string, number];

function recording(told: Told[]): Memory {
  const memory = arrayBufferMemory();
  return {
    reserve: (layout) => Object.assign(memory.reserve(layout), {
      linesPlaced: (address: number, lines: CheckedLines) => void told.push(['lines', address, lines]),
      codePlaced: (name: string, address: number) => void told.push(['code', name, address]),
    }),
  };
}

const code = () => asm().nop(8).ret().build();

describe('FunctionBody.lines', () => {
  test('a define, a redefine and a lazy function\'s compile tell each body\'s table before its code, as a copy', () => {
    const told: Told[] = [];
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: recording(told) });
    const files = ['/src/a.tiny'];
    const rows = [0, 0, 3, 4, 0, 4];
    const unit = heap.define({ functions: [{ name: 'f', ...code(), lines: { files, rows } }, { name: 'plain', ...code() }] });
    files[0] = '/elsewhere';
    rows[2] = 99;
    const f = heap.node(unit.get('f'))!.address;
    expect(told.filter((t) => t[0] === 'lines')).toEqual([['lines', f, { files: ['/src/a.tiny'], rows: Uint32Array.from([0, 0, 3, 4, 0, 4]) }]]);
    expect(told.findIndex((t) => t[0] === 'lines')).toBeLessThan(told.findIndex((t) => t[0] === 'code' && t[1] === 'f'));

    told.length = 0;
    heap.redefine(unit.get('f'), { ...code(), lines: { files: ['/src/b.tiny', '/src/c.tiny'], rows: Uint32Array.from([0, 1, 7]) } });
    const moved = heap.node(unit.get('f'))!.address;
    expect(told[0]).toEqual(['lines', moved, { files: ['/src/b.tiny', '/src/c.tiny'], rows: Uint32Array.from([0, 1, 7]) }]);
    expect(told[1]).toEqual(['code', 'f', moved]);

    told.length = 0;
    const lazy = heap.declare('later', () => ({ ...asm().nop(2).ret().build(), lines: { files: ['/src/later.tiny'], rows: [0, 0, 1] } }));
    expect(told.filter((t) => t[0] === 'lines')).toEqual([]);
    heap.materialize(lazy);
    expect(told.filter((t) => t[0] === 'lines')).toEqual([['lines', heap.node(lazy)!.address, { files: ['/src/later.tiny'], rows: Uint32Array.from([0, 0, 1]) }]]);
    heap.verify();
  });

  test('a table that is not one the heap takes is INVALID_ARGUMENT naming the function, the row and the values, and nothing is defined', () => {
    const told: Told[] = [];
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: recording(told) });
    const cases: [unknown, RegExp][] = [
      ['a.c:1', /^f: lines must be \{ files, rows \}, got "a.c:1"/],
      [{ files: 'a.c', rows: [] }, /^f: lines.files must be an array of file names/],
      [{ files: [''], rows: [] }, /^f: lines.files\[0\] must be a non-empty file name/],
      [{ files: ['a\0b'], rows: [] }, /^f: lines.files\[0\] must be a non-empty file name .* with no NUL/],
      [{ files: ['a.c'], rows: new Float64Array(3) }, /^f: lines.rows must be a Uint32Array or an array of numbers/],
      [{ files: ['a.c'], rows: [0, 0] }, /^f: lines.rows holds \(offset, file, line\) triples; its length 2 is not a multiple of 3/],
      [{ files: ['a.c'], rows: [0, 0, 1, 0, 0, 2] }, /^f: lines.rows row 1: offset 0 must be above the previous row's 0/],
      [{ files: ['a.c'], rows: [9, 0, 1] }, /^f: lines.rows row 0: offset 9 is past the 9 bytes of code/],
      [{ files: ['a.c'], rows: [0, 1, 1] }, /^f: lines.rows row 0: file 1 is not an index of lines.files \(1 files\)/],
      [{ files: ['a.c'], rows: [0, 0, -1] }, /^f: lines.rows row 0: line must be an integer from 0 to 2\^32 - 1, got -1/],
      [{ files: ['a.c'], rows: [0.5, 0, 1] }, /^f: lines.rows row 0: offset must be an integer/],
    ];
    for (const [lines, message] of cases) {
      expect(expectCode(() => heap.define({ functions: [{ name: 'f', ...code(), lines: lines as never }] }), 'INVALID_ARGUMENT').message).toMatch(message);
      expect(heap.node('f')).toBeUndefined();
    }
    expect(told).toEqual([]);
    heap.verify();
  });

  test('the table is read once: a getter that answers differently the second time changes nothing', () => {
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: recording([]) });
    let reads = 0;
    const lines = { files: ['/a.c'], get rows() { reads++; return reads === 1 ? [0, 0, 1] : [50, 7, 1]; } };
    heap.define({ functions: [{ name: 'f', ...code(), lines }] });
    expect(reads).toBe(1);
    heap.verify();
  });
});
