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
function recording(placements: Placement[], freed: number[] = []): Memory {
  const memory = arrayBufferMemory();
  return {
    reserve(layout) {
      const region = memory.reserve(layout);
      return Object.assign(region, {
        codePlaced(name: string, address: number, size: number) {
          // The code as placed: the region's own bytes, the code arena first.
          const at = address - layout.codeAddress;
          placements.push({ name, address, size, bytes: [...region.bytes.subarray(at, at + size)] });
        },
        codeFreed(address: number) {
          freed.push(address);
        },
      });
    },
  };
}

/** The addresses told placed and not freed since, by name: what a debugger holds. */
function told(placements: readonly Placement[], freed: readonly number[], order: readonly ('p' | 'f')[]): Map<number, string> {
  const held = new Map<number, string>();
  let p = 0;
  let f = 0;
  for (const step of order) {
    if (step === 'p') {
      const { address, name } = placements[p++]!;
      held.set(address, name);
    } else {
      held.delete(freed[f++]!);
    }
  }
  return held;
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
  const child = fileURLToPath(new URL('./helpers/throwing-hook-child.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', child, 'codePlaced'], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual({ unit: true, rc: 1, kind: 'function', verified: true, uncaught: ['the profiler is full'] });
});

test('what is told placed and not freed is exactly the code the heap holds, through evict, redefine, unloads and a collection', () => {
  const placements: Placement[] = [];
  const freed: number[] = [];
  const order: ('p' | 'f')[] = [];
  const memory = recording(placements, freed);
  const tracked: Memory = {
    reserve(layout) {
      const region = memory.reserve(layout) as ReturnType<Memory['reserve']> & Required<Pick<ReturnType<Memory['reserve']>, 'codePlaced' | 'codeFreed'>>;
      const { codePlaced, codeFreed } = region;
      return Object.assign(region, {
        codePlaced: (...args: Parameters<typeof codePlaced>) => { order.push('p'); codePlaced(...args); },
        codeFreed: (address: number) => { order.push('f'); codeFreed(address); },
      });
    },
  };
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: tracked, compile: () => leaf(3) });
  /** The heap's code, by address: every live function's body or trampoline, and every stub. */
  const live = (): Map<number, string> => {
    const held = new Map<number, string>();
    for (const name of names) {
      const info = heap.node(name);
      if (info === undefined) continue;
      held.set(info.address, info.state === 'lazy' ? `${name} [lazy]` : name);
    }
    for (const stub of stubs) if (!stub.freed) held.set(heap.node(stub)!.address, `${heap.node(stub)!.references[0]} [stub]`);
    return held;
  };
  const names = ['a', 'b', 'c', 'd'];
  const stubs: ReturnType<CodeHeap['pointer']>[] = [];
  const check = (): void => {
    expect(told(placements, freed, order)).toEqual(live());
    heap.verify();
  };
  const one = heap.define({ functions: [{ name: 'a', ...asm().call('b').ret().build() }, { name: 'b', ...asm().call('a').ret().build() }] });
  check();
  stubs.push(heap.pointer(one.get('a')));
  check();
  heap.evict(one.get('b'));
  check();
  heap.materialize(one.get('b'));
  heap.redefine(one.get('a'), leaf(9));
  check();
  const two = heap.define({ functions: [{ name: 'c', ...leaf(1) }, { name: 'd', ...asm().call('c').ret().build() }] });
  check();
  stubs[0]!.free();
  one.free();
  check();
  // A cycle left to the collector: held by lookups, the unit freed, then the lookups dropped.
  const three = heap.define({ functions: [{ name: 'a', ...asm().call('b').ret().build() }, { name: 'b', ...asm().call('a').ret().build() }] });
  const lookups = ['a', 'b'].map((n) => heap.lookup(n));
  three.free();
  for (const h of lookups) h.free();
  check();
  heap.collectCycles();
  check();
  two.free();
  check();
  expect(live().size).toBe(0);
});
