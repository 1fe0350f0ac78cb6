// Region.codePlaced: the heap tells its memory of every piece of code it places, by the name a
// profiler or debugger shows, before any of it can run (the native profile outputs are built on
// it: test/native/profile.test.ts). Here on simulated memory, against what heap.read() sees.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { arrayBufferMemory, CodeHeap, type Memory } from '../src/index.js';
import { asm, quads } from './helpers/x86.js';
import { leaf } from './helpers/heaps.js';

interface Placement {
  name: string;
  address: number;
  size: number;
  bytes: number[];
}

/** Simulated memory whose region records each placement, with a copy of its bytes. */
function recording(placements: Placement[]): Memory {
  const memory = arrayBufferMemory();
  return {
    reserve(layout) {
      const region = memory.reserve(layout);
      return Object.assign(region, {
        codePlaced(name: string, address: number, size: number, bytes: Uint8Array) {
          placements.push({ name, address, size, bytes: [...bytes] });
        },
      });
    },
  };
}

test('every body, stub, trampoline and retired body is named as it is placed, with its bytes; globals are not code', () => {
  const placements: Placement[] = [];
  const heap = new CodeHeap({
    arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: recording(placements),
    compile: () => leaf(3),
  });
  const unit = heap.define({
    functions: [{ name: 'f', ...asm().call('g').ret().build() }, { name: 'g', ...leaf(1) }],
    globals: [{ name: 'table', ...quads(8, [{ offset: 0, symbol: 'f', via: 'stub' }]) }],
  });
  const [f, g] = [unit.get('f'), unit.get('g')];
  const names = () => placements.map((p) => p.name);
  expect(names()).toEqual(['f', 'g', 'f [stub]']);
  const stub = heap.pointer(f);
  expect(placements.map((p) => p.address)).toEqual([heap.node(f)!.address, heap.node(g)!.address, heap.node(stub)!.address]);
  stub.free();
  for (const p of placements) expect(p.bytes).toEqual([...heap.read(p.address, p.size)]);
  placements.length = 0;
  heap.evict(g);
  heap.materialize(g);
  // A body replaced while a pin holds it: the new body, then the old one goes on at its address, retired.
  const pin = heap.pin(f);
  const before = heap.node(f)!.address;
  heap.redefine(f, leaf(7));
  expect(names()).toEqual(['g [lazy]', 'g', 'f', 'f [retired]']);
  expect(placements[2]!.address).toBe(heap.node(f)!.address);
  expect(placements[3]!.address).toBe(before);
  for (const p of placements.slice(2)) expect(p.bytes).toEqual([...heap.read(p.address, p.size)]);
  pin.release();
  heap.verify();
});

test('a codePlaced that throws does not undo the call: its error is thrown again from a microtask', () => {
  const child = fileURLToPath(new URL('./helpers/code-placed-child.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual({ unit: true, kind: 'function', verified: true, uncaught: ['the profiler is full'] });
});
