// heap.write: bytes into one function body or global at a target address, never onto the heap's
// own bytes (relocation fields, stubs, pointer slots, trampolines, free memory), on any memory.

import { describe, expect, it } from 'vitest';
import { CodeHeap, type CodeHeapOptions } from '../src/index.js';
import { expectCode } from './helpers/errors.js';
import { KiB, leaf, newHeap } from './helpers/heaps.js';
import { asm, image, quads, sameBytes, stubSlot } from './helpers/x86.js';

/** Expects INVALID_ARGUMENT with every part in its message, and the heap's bytes and stats as they were. */
function refused(heap: CodeHeap, address: number, bytes: unknown, ...parts: string[]): void {
  const before = image(heap);
  const error = expectCode(() => heap.write(address, bytes as Uint8Array), 'INVALID_ARGUMENT');
  for (const part of parts) expect(error.message).toContain(part);
  const after = image(heap);
  expect(after.stats).toEqual(before.stats);
  expect(sameBytes(after.code, before.code) && sameBytes(after.data, before.data)).toBe(true);
  heap.verify();
}

const hex = (n: number): string => `0x${n.toString(16)}`;

describe('heap.write', () => {
  it('writes into a global and a function body, and heap.read sees the bytes', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [{ name: 'f', ...asm().movRaxImm(7).ret().build() }],
      globals: [{ name: 'counter', size: 16 }],
    });
    const counter = unit.get('counter').address;
    heap.write(counter, Uint8Array.of(1, 2, 3, 4));
    heap.write(counter + 12, Uint8Array.of(9, 9, 9, 9)); // up to the last byte of the block
    expect([...heap.read(counter, 16)]).toEqual([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9]);
    const f = unit.get('f').address;
    heap.write(f + 3, Uint8Array.of(42, 0, 0, 0)); // the immediate of mov rax, 7
    expect([...heap.read(f, 8)]).toEqual([0x48, 0xc7, 0xc0, 42, 0, 0, 0, 0xc3]);
    heap.write(f, new Uint8Array(0)); // nothing to write: only the bounds are checked
    heap.verify();
  });

  it('takes the bytes of a view at an offset into its buffer, and a view over the heap\'s own bytes', () => {
    const heap = newHeap();
    const g = heap.define({ globals: [{ name: 'g', size: 32 }] }).get('g').address;
    const backing = Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    heap.write(g, backing.subarray(6, 9));
    expect([...heap.read(g, 4)]).toEqual([6, 7, 8, 0]);
    heap.write(g + 1, heap.read(g, 8)); // overlapping source and target
    expect([...heap.read(g, 5)]).toEqual([6, 6, 7, 8, 0]);
    heap.verify();
  });

  it('writes through to the ArrayBuffer given as memory, at the arena\'s local position', () => {
    const buffer = new ArrayBuffer(80 * KiB);
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, memory: buffer });
    const g = heap.define({ globals: [{ name: 'g', size: 8 }] }).get('g').address;
    heap.write(g, Uint8Array.of(0xde, 0xad));
    const { data } = heap.stats();
    const local = 64 * KiB + (g - data.address); // the data arena follows the code in the buffer
    expect([...new Uint8Array(buffer, local, 2)]).toEqual([0xde, 0xad]);
    heap.verify();
  });

  it('refuses a write onto a relocation field, naming the node and the offset; the bytes beside it are writable', () => {
    const heap = newHeap();
    const unit = heap.define({
      functions: [{ name: 'add1', ...leaf(1) }, { name: 'caller', ...asm().nop(4).call('add1').ret().build() }],
      globals: [{ name: 'table', ...quads(24, [{ offset: 8, symbol: 'add1' }]) }],
    });
    const table = unit.get('table').address;
    refused(heap, table + 8, new Uint8Array(8), 'write(', 'relocation site of table at offset 8', 'R_X86_64_64 -> stub(add1)');
    refused(heap, table + 4, new Uint8Array(5), 'table at offset 8');
    refused(heap, table + 15, new Uint8Array(2), 'table at offset 8');
    heap.write(table, new Uint8Array(8).fill(1));
    heap.write(table + 16, new Uint8Array(8).fill(2));
    const caller = unit.get('caller').address;
    refused(heap, caller + 5, Uint8Array.of(0), 'relocation site of caller at offset 5', 'R_X86_64_PLT32 -> add1');
    heap.write(caller, Uint8Array.of(0x90, 0x90, 0x90, 0x90, 0xe8)); // up to the field, not onto it
    heap.write(caller + 9, Uint8Array.of(0xc3));
    heap.verify();
  });

  it('refuses a stub, its pointer slot, a trampoline, a retired body, free memory, and a write across two globals', () => {
    const heap = newHeap();
    const unit = heap.define({ functions: [{ name: 'f', ...leaf(1) }], globals: [{ name: 'a', size: 8 }, { name: 'b', size: 8 }] });
    const stub = heap.pointer(unit.get('f')).address;
    refused(heap, stub, Uint8Array.of(0xc3), 'overlaps stub(f)', 'one function body or global');
    refused(heap, stubSlot(heap, stub), new Uint8Array(8), 'the pointer slot of stub(f)');
    const lazy = heap.declare('later');
    refused(heap, lazy.address, Uint8Array.of(0xc3), 'the trampoline of later');
    const pin = heap.pin(unit.get('f'));
    const old = unit.get('f').address;
    heap.redefine(unit.get('f'), leaf(2));
    refused(heap, old, Uint8Array.of(0xc3), 'f (retired)');
    pin.release();
    const a = unit.get('a').address;
    const b = unit.get('b').address;
    const [low, high] = a < b ? [a, b] : [b, a];
    if (high === low + 8) refused(heap, low + 4, new Uint8Array(8), 'one function body or global');
    refused(heap, low, new Uint8Array(9), 'overlaps global');
    const freed = heap.define({ globals: [{ name: 'gone', size: 64 }] }).get('gone');
    const address = freed.address;
    freed.free();
    refused(heap, address, new Uint8Array(8), 'free memory');
  });

  it('refuses what is not inside one arena, and what is not an address and a Uint8Array', () => {
    const heap = newHeap();
    const { code, data } = heap.stats();
    const ranges = [`code arena [${hex(code.address)}, +${code.size})`, `data arena [${hex(data.address)}, +${data.size})`];
    refused(heap, code.address - 1, new Uint8Array(1), 'not inside', ...ranges);
    refused(heap, data.address + data.size - 4, new Uint8Array(8), `write(${hex(data.address + data.size - 4)}, 8 bytes)`);
    refused(heap, -8, new Uint8Array(1), 'not inside');
    refused(heap, code.address + 0.5, new Uint8Array(1), 'a target address (a safe integer)');
    refused(heap, code.address, [1, 2], 'and a Uint8Array');
    refused(heap, code.address, new Int8Array(2), 'and a Uint8Array');
    refused(heap, code.address, undefined, 'and a Uint8Array');
  });

  it('is USE_AFTER_FREE on a closed heap and REENTRANT_CALL from an observer', () => {
    const errors: unknown[] = [];
    let target = -1;
    const options: Partial<CodeHeapOptions> = {
      observer: { alloc: () => { if (target >= 0) heap.write(target, Uint8Array.of(1)); }, error: (error) => errors.push(error) },
    };
    const heap = newHeap(options);
    target = heap.define({ globals: [{ name: 'g', size: 8 }] }).get('g').address;
    expect(errors).toEqual([]);
    heap.define({ globals: [{ name: 'h', size: 8 }] }); // its alloc event tries to write g
    expect(errors).toHaveLength(1);
    expect((errors[0] as { code?: unknown } | undefined)?.code).toBe('REENTRANT_CALL');
    expect([...heap.read(target, 1)]).toEqual([0]);
    heap.close();
    expectCode(() => heap.write(target, Uint8Array.of(1)), 'USE_AFTER_FREE');
  });

  it('follows the heap through defines and frees: a write succeeds exactly where a live global is', () => {
    // A deterministic walk: globals come and go (reusing one another's blocks), and each step
    // writes at a random place near them. The oracle is node(): a write must lie inside one
    // global's [address, address + size) and off its relocation fields (the first 8 bytes of
    // each global here point at another).
    const heap = newHeap();
    let seed = 12345;
    const random = (n: number): number => { // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const outcomes = { written: 0, refused: 0 };
    const live: string[] = [];
    const handles = new Map<string, { free(): void }>();
    const { data } = heap.stats();
    for (let step = 0; step < 400; step++) {
      if (live.length < 3 || random(3) === 0) {
        const name = `g${step}`;
        const anchor = live[0];
        const fields = anchor === undefined ? [] : [{ offset: 0, symbol: anchor }];
        handles.set(name, heap.define({ globals: [{ name, ...quads(8 * (2 + random(6)), fields) }] }).get(name));
        live.push(name);
      } else if (random(2) === 0) {
        const name = live.splice(random(live.length), 1)[0]!;
        handles.get(name)!.free();
      }
      // Several writes between changes (all scans at first, then the index of owners, see write.ts).
      for (let write = 0; write < 8; write++) {
        const address = data.address + random(1024);
        const length = 1 + random(24);
        // Every global ever defined: one freed may live on, referenced by another.
        const owner = [...handles.keys()].map((n) => heap.node(n))
          .find((n) => n !== undefined && n.address <= address && address + length <= n.address + n.size);
        const onField = owner !== undefined && owner.references.length > 0 && address < owner.address + 8;
        const bytes = new Uint8Array(length).fill(step & 0xff);
        if (owner !== undefined && !onField) {
          heap.write(address, bytes);
          expect(sameBytes(heap.read(address, length), bytes)).toBe(true);
          outcomes.written++;
        } else {
          expectCode(() => heap.write(address, bytes), 'INVALID_ARGUMENT');
          outcomes.refused++;
        }
      }
      if (step % 50 === 0) heap.verify();
    }
    expect(outcomes.written).toBeGreaterThan(200);
    expect(outcomes.refused).toBeGreaterThan(200);
    heap.verify();
  });
});
