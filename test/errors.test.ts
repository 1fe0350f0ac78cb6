// One test per error code of DESIGN.md "Errors" (several for INVALID_ARGUMENT). Each checks that
// the error is a CodeHeapError with that code, that its message names the symbol, offset and
// values involved, and that the failed call left the heap exactly as it was: stats() deep-equal
// and every byte of both arenas equal (read with heap.read), then heap.verify().
//
// A failed define/declare that had to look for a free name or a free block first runs one
// collection (DESIGN: "only after one collection has had the chance", "before giving up on an
// allocation"); those tests expect `collections` to move by one and nothing else.

import { describe, expect, test } from 'vitest';
import {
  CodeHeap, CodeHeapError, type ArenaLayout, type CodeHeapOptions, type ErrorCode, type Handle, type Relocation,
} from '../src/index.js';
import { asm, image, nodeOf, quads, sameBytes } from './helpers/x86.js';
import { expectCode } from './helpers/errors.js';
import { KiB, leaf, newHeap } from './helpers/heaps.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * Runs `call`, expects a CodeHeapError with `code` whose message contains every string in
 * `mentions`, and (given a heap) that the heap is unchanged apart from `collections` more runs.
 */
function expectError(
  heap: CodeHeap | undefined, call: () => unknown, code: ErrorCode, mentions: readonly string[], collections = 0,
): CodeHeapError {
  const before = heap === undefined ? undefined : image(heap);
  const error = expectCode(call, code);
  for (const m of mentions) expect(error.message).toContain(m);
  if (heap !== undefined && before !== undefined) {
    heap.verify();
    const after = image(heap);
    expect(after.stats).toEqual({ ...before.stats, collections: before.stats.collections + collections });
    expect(sameBytes(after.code, before.code)).toBe(true);
    expect(sameBytes(after.data, before.data)).toBe(true);
  }
  return error;
}

/** A heap with a little of everything in it, so "unchanged" has something to compare. */
function populated(options: Partial<CodeHeapOptions> = {}): { heap: CodeHeap; f: Handle; v: Handle } {
  const heap = newHeap(options);
  const unit = heap.define({
    functions: [
      { name: 'f', ...asm().call('g').leaRax('v').ret().build() },
      { name: 'g', ...leaf() },
    ],
    globals: [{ name: 'v', ...quads(8, [{ offset: 0, symbol: 'g' }]) }],
  });
  heap.declare('lazy');
  heap.verify();
  return { heap, f: unit.get('f'), v: unit.get('v') };
}

describe('error codes', () => {
  test('DUPLICATE_SYMBOL: define or declare of a live name, after one collection had the chance', () => {
    const { heap } = populated();
    expectError(heap, () => heap.define({ functions: [{ name: 'g', ...leaf() }] }), 'DUPLICATE_SYMBOL', ['g'], 1);
    expectError(heap, () => heap.define({ globals: [{ name: 'f', size: 8 }] }), 'DUPLICATE_SYMBOL', ['f'], 1);
    expectError(heap, () => heap.declare('lazy'), 'DUPLICATE_SYMBOL', ['lazy'], 1);
    // A unit that names a symbol twice is refused before anything is looked at.
    expectError(heap, () => heap.define({ functions: [{ name: 'x', ...leaf() }], globals: [{ name: 'x', size: 8 }] }),
      'DUPLICATE_SYMBOL', ['x']);
  });

  test('UNDEFINED_SYMBOL: a relocation or lookup naming nothing in the heap or outside it', () => {
    const { heap, f } = populated({ resolveExternal: (name) => (name === 'known' ? 0x1000 : undefined) });
    const code = asm().nop(2).call('nowhere').ret().build();
    expectError(heap, () => heap.define({ functions: [{ name: 'h', ...code }] }), 'UNDEFINED_SYMBOL',
      ['nowhere', 'h+0x3', 'R_X86_64_PLT32']);
    expectError(heap, () => heap.lookup('nowhere'), 'UNDEFINED_SYMBOL', ['nowhere']);
    // redefine is all-or-nothing: f keeps its body and its references.
    const address = f.address;
    expectError(heap, () => heap.redefine(f, asm().leaRax('missing').ret().build()), 'UNDEFINED_SYMBOL', ['missing', 'f+0x3']);
    expect(f.address).toBe(address);
    expect(nodeOf(heap, 'f').references).toEqual(['g', 'v']);
    const unit = heap.define({ functions: [{ name: 'k', ...asm().call('known').ret().build() }] });
    expectError(heap, () => unit.get('nope'), 'UNDEFINED_SYMBOL', ['nope']);
  });

  test('RELOCATION_OUT_OF_RANGE: a 32-bit value that does not fit its field', () => {
    const far = 0x7fff_0000_0000;
    const { heap, f } = populated({ resolveExternal: (name) => (name === 'far' ? far : name === 'high' ? 0x9000_0000 : undefined) });
    // A PC32 data reference to a far external: only calls get a stub.
    const code = asm().leaRax('far').ret().build();
    const error = expectError(heap, () => heap.define({ functions: [{ name: 'h', ...code }] }), 'RELOCATION_OUT_OF_RANGE',
      ['R_X86_64_PC32', 'h+0x3', 'far', hex(far)]);
    expect(error.message).toMatch(/S \+ A - P = 0x7fff00000000 \+ -4 - 0x[0-9a-f]+ = 0x[0-9a-f]+/);
    // A unit that had reserved a new stub (a pointer to f) gives its blocks back too.
    expectError(heap, () => heap.define({ functions: [{ name: 'h', ...asm().movRax('f').leaRax('far').ret().build() }] }),
      'RELOCATION_OUT_OF_RANGE', ['h+0xd', 'far']);
    expect(nodeOf(heap, 'f').stub).toBeUndefined();
    // R_X86_64_32S of an address >= 2^31 (sign extension would change it).
    expectError(heap, () => heap.define({ functions: [{ name: 'h', ...asm().movRaxS('high').ret().build() }] }),
      'RELOCATION_OUT_OF_RANGE', ['R_X86_64_32S', 'h+0x3', 'high', '0x90000000']);
    // redefine is all-or-nothing too.
    const address = f.address;
    expectError(heap, () => heap.redefine(f, code), 'RELOCATION_OUT_OF_RANGE', ['f+0x3', 'far']);
    expect(f.address).toBe(address);

    // A heap placed above 4 GiB: R_X86_64_32 cannot hold any of its addresses.
    const high = newHeap({ codeAddress: 0x1_0000_0000 });
    high.define({ globals: [{ name: 'v', size: 8 }] });
    expectError(high, () => high.define({ functions: [{ name: 'h', ...asm().movEax('v').ret().build() }] }),
      'RELOCATION_OUT_OF_RANGE', ['R_X86_64_32', 'h+0x1', 'v']);
  });

  test('RELOCATION_OUT_OF_RANGE: redefine or evict that would move a body out of reach of a caller leaves everything in place', () => {
    // Code straddling 2^31: a caller holds g's body address sign-extended (R_X86_64_32S), which
    // only reaches g while g stays below 0x80000000.
    const heap = newHeap({ codeAddress: 0x7fff_0000, codeSize: 128 * KiB });
    const unit = heap.define({
      functions: [
        { name: 'g', ...leaf() },
        { name: 'caller', ...asm().movRaxS('g', { via: 'body' }).ret().build() },
      ],
    });
    const g = unit.get('g');
    expect(g.address).toBe(0x7fff_0000);
    const free = 0x8000_0000 - (unit.get('caller').address + 16);
    // Blocks of 16-byte-aligned code tile the arena (sizes round up to 16), so one filler takes
    // every byte left below 2^31.
    heap.define({ functions: [{ name: 'filler', code: new Uint8Array(free).fill(0x90) }] });
    heap.verify();
    expect(heap.stats().code).toMatchObject({ freeBlocks: 1, largestFreeBlock: 0x8001_0000 - 0x8000_0000 });
    const site = hex(unit.get('caller').address + 3);
    expectError(heap, () => heap.redefine(g, leaf()), 'RELOCATION_OUT_OF_RANGE',
      ['g', 'R_X86_64_32S', site, 'caller+0x3', '0x80000000']);
    expectError(heap, () => heap.evict(g), 'RELOCATION_OUT_OF_RANGE', ['g', 'R_X86_64_32S', site, 'caller+0x3', '0x80000000']);
    expect(nodeOf(heap, 'g')).toMatchObject({ state: 'live', address: 0x7fff_0000 });
  });

  test('RELOCATION_OUT_OF_BOUNDS: a relocation field not wholly inside its node', () => {
    const { heap, f } = populated();
    const code = { code: new Uint8Array(5), relocations: [{ offset: 3, type: 'R_X86_64_PC32', symbol: 'g' } as Relocation] };
    expectError(heap, () => heap.define({ functions: [{ name: 'h', ...code }] }), 'RELOCATION_OUT_OF_BOUNDS',
      ['h+0x3', 'R_X86_64_PC32', '4 bytes', 'ends at 7', '5 bytes']);
    expectError(heap, () => heap.define({ globals: [{ name: 'w', size: 4, relocations: [{ offset: 0, type: 'R_X86_64_64', symbol: 'g' }] }] }),
      'RELOCATION_OUT_OF_BOUNDS', ['w+0x0', 'R_X86_64_64', 'ends at 8', '4 bytes']);
    expectError(heap, () => heap.redefine(f, code), 'RELOCATION_OUT_OF_BOUNDS', ['f+0x3']);
  });

  test('OUT_OF_MEMORY for a large unit names its first few definitions and counts the rest, not every name', () => {
    const heap = newHeap({ codeSize: 4096, dataSize: 4096 });
    const functions = Array.from({ length: 10_000 }, (_, i) => ({ name: `function_number_${i}`, ...leaf() }));
    const error = expectCode(() => heap.define({ functions }), 'OUT_OF_MEMORY');
    expect(error.message).toContain('define of function_number_0, function_number_1');
    expect(error.message).toContain('and 9992 more');
    expect(error.message.length).toBeLessThan(600);
    heap.verify();
  });

  test('OUT_OF_MEMORY: no free block can hold the request, even after a collection', () => {
    const heap = newHeap({ codeSize: 4096, dataSize: 4096 });
    const big = asm().nop(4999).ret().build();
    expectError(heap, () => heap.define({ functions: [{ name: 'big', ...big }] }), 'OUT_OF_MEMORY',
      ['big', '5000 bytes', 'code arena 4096 bytes free'], 1);
    const fill = heap.define({ functions: [{ name: 'fill', code: asm().nop(4095).ret().build().code }] });
    heap.verify();
    expectError(heap, () => heap.define({ functions: [{ name: 'one', ...leaf() }] }), 'OUT_OF_MEMORY', ['one', 'code arena 0 bytes free'], 1);
    expectError(heap, () => heap.declare('lazy'), 'OUT_OF_MEMORY', ['declare(lazy)', 'trampoline'], 1);
    expectError(heap, () => heap.pointer(fill.get('fill')), 'OUT_OF_MEMORY', ['pointer(fill)', 'stub'], 1);
    // evict is how a JIT gets memory back, so it never fails for room: on a full arena, after one
    // collection, the trampoline takes the first bytes of the body itself.
    const address = fill.get('fill').address;
    const collections = heap.stats().collections;
    heap.evict(fill.get('fill'));
    heap.verify();
    expect(nodeOf(heap, 'fill')).toMatchObject({ state: 'lazy', address });
    expect(heap.stats()).toMatchObject({ collections: collections + 1, code: { usedBytes: 8 } });
    expectError(heap, () => heap.define({ globals: [{ name: 'huge', size: 8192 }] }), 'OUT_OF_MEMORY', ['huge', '8192 bytes'], 1);
  });

  test('USE_AFTER_FREE: a handle used after it was freed', () => {
    const { heap, f } = populated();
    const other = heap.lookup('g');
    other.free();
    expectError(heap, () => other.address, 'USE_AFTER_FREE', ['g']);
    expectError(heap, () => heap.redefine(other, leaf()), 'USE_AFTER_FREE', ['redefine', 'g']);
    expectError(heap, () => heap.evict(other), 'USE_AFTER_FREE', ['evict', 'g']);
    expectError(heap, () => heap.pin(other), 'USE_AFTER_FREE', ['pin', 'g']);
    expectError(heap, () => heap.pointer(other), 'USE_AFTER_FREE', ['pointer', 'g']);
    expectError(heap, () => heap.materialize(other), 'USE_AFTER_FREE', ['materialize', 'g']);
    expectError(heap, () => heap.node(other), 'USE_AFTER_FREE', ['g']);
    // ...while freeing it again, like releasing a pin twice, is a harmless no-op.
    other.free();
    const pin = heap.pin(f);
    pin.release();
    const before = image(heap);
    pin.release();
    expect(image(heap).stats).toEqual(before.stats);
    heap.verify();
  });

  describe('INVALID_ARGUMENT', () => {
    test('INVALID_ARGUMENT: alignment that is not a power of two up to 4096', () => {
      const { heap, f } = populated();
      for (const align of [0, 3, 8192, 1.5, -16]) {
        expectError(heap, () => heap.define({ functions: [{ name: 'h', ...leaf(), align }] }), 'INVALID_ARGUMENT',
          ['h', 'alignment', String(align)]);
        expectError(heap, () => heap.define({ globals: [{ name: 'w', size: 8, align }] }), 'INVALID_ARGUMENT', ['w', String(align)]);
      }
      expectError(heap, () => heap.redefine(f, { ...leaf(), align: 12 }), 'INVALID_ARGUMENT', ['f', '12']);
    });

    test('INVALID_ARGUMENT: overlapping relocations of one node', () => {
      const { heap } = populated();
      const relocations: Relocation[] = [
        { offset: 1, type: 'R_X86_64_64', symbol: 'g' },
        { offset: 6, type: 'R_X86_64_PC32', symbol: 'v' },
      ];
      expectError(heap, () => heap.define({ functions: [{ name: 'h', code: new Uint8Array(16), relocations }] }),
        'INVALID_ARGUMENT', ['h', '+0x1', '+0x6', 'overlaps', 'g', 'v']);
    });

    test('INVALID_ARGUMENT: a non-integer or negative offset', () => {
      const { heap } = populated();
      for (const offset of [1.5, -1, Number.NaN]) {
        const relocations = [{ offset, type: 'R_X86_64_PC32', symbol: 'g' } as Relocation];
        expectError(heap, () => heap.define({ functions: [{ name: 'h', code: new Uint8Array(16), relocations }] }),
          'INVALID_ARGUMENT', ['relocation at h+', 'offset must be a non-negative integer']);
      }
    });

    test('INVALID_ARGUMENT: an addend that is not a safe integer', () => {
      const { heap } = populated();
      for (const addend of [2 ** 53, 0.5, Number.NaN]) {
        const relocations: Relocation[] = [{ offset: 0, type: 'R_X86_64_64', symbol: 'g', addend }];
        expectError(heap, () => heap.define({ functions: [{ name: 'h', code: new Uint8Array(16), relocations }] }),
          'INVALID_ARGUMENT', ['h+0x0', 'addend', String(addend)]);
      }
    });

    test('INVALID_ARGUMENT: unknown relocation type, bad via, empty code, bad names', () => {
      const { heap } = populated();
      const bad = (r: object): Relocation => r as Relocation;
      expectError(heap, () => heap.define({ functions: [{ name: 'h', code: new Uint8Array(8), relocations: [bad({ offset: 0, type: 'R_X86_64_GOTPCREL', symbol: 'g' })] }] }),
        'INVALID_ARGUMENT', ['h+0x0', 'R_X86_64_GOTPCREL']);
      expectError(heap, () => heap.define({ functions: [{ name: 'h', code: new Uint8Array(8), relocations: [bad({ offset: 0, type: 'R_X86_64_64', symbol: 'g', via: 'plt' })] }] }),
        'INVALID_ARGUMENT', ['h+0x0', 'via', 'plt']);
      expectError(heap, () => heap.define({ functions: [{ name: 'h', code: new Uint8Array(0) }] }), 'INVALID_ARGUMENT', ['h', 'code']);
      expectError(heap, () => heap.define({ functions: [{ name: '', ...leaf() }] }), 'INVALID_ARGUMENT', ['name']);
      expectError(heap, () => heap.declare(''), 'INVALID_ARGUMENT', ['name']);
    });

    test('INVALID_ARGUMENT: a handle of another heap', () => {
      const { heap } = populated();
      const other = newHeap();
      const foreign = other.define({ functions: [{ name: 'f', ...leaf() }] }).get('f');
      const mentions = ['f', 'another heap'];
      expectError(heap, () => heap.evict(foreign), 'INVALID_ARGUMENT', mentions);
      expectError(heap, () => heap.redefine(foreign, leaf()), 'INVALID_ARGUMENT', mentions);
      expectError(heap, () => heap.pin(foreign), 'INVALID_ARGUMENT', mentions);
      expectError(heap, () => heap.pointer(foreign), 'INVALID_ARGUMENT', mentions);
      expectError(heap, () => heap.node(foreign), 'INVALID_ARGUMENT', mentions);
      expectError(heap, () => heap.free(foreign), 'INVALID_ARGUMENT', ['f']);
      other.verify();
      expect(nodeOf(other, 'f').rc).toBe(1); // the foreign heap did not lose its count either
    });

    test('INVALID_ARGUMENT: a handle of the wrong kind (evict a global)', () => {
      const { heap, f, v } = populated();
      const stub = heap.pointer(f);
      expectError(heap, () => heap.evict(v), 'INVALID_ARGUMENT', ['evict', 'v is a global, not a function']);
      expectError(heap, () => heap.materialize(v), 'INVALID_ARGUMENT', ['materialize', 'v', 'global']);
      expectError(heap, () => heap.redefine(v, leaf()), 'INVALID_ARGUMENT', ['redefine', 'v', 'global']);
      expectError(heap, () => heap.pointer(v), 'INVALID_ARGUMENT', ['pointer', 'v', 'global']);
      expectError(heap, () => heap.evict(stub), 'INVALID_ARGUMENT', ['evict', 'stub(f)', 'stub']);
      expectError(heap, () => heap.pointer(stub), 'INVALID_ARGUMENT', ['pointer', 'stub(f)']);
    });

    test('INVALID_ARGUMENT: bad options', () => {
      const base = { arch: 'x86_64', codeSize: 4096, dataSize: 4096 } as const;
      const make = (options: object) => () => new CodeHeap({ ...base, ...options } as CodeHeapOptions);
      expectError(undefined, make({ arch: 'arm64' }), 'INVALID_ARGUMENT', ['arch', 'arm64']);
      expectError(undefined, make({ codeSize: 1000 }), 'INVALID_ARGUMENT', ['codeSize', '4096', '1000']);
      expectError(undefined, make({ dataSize: 0 }), 'INVALID_ARGUMENT', ['dataSize', '0']);
      expectError(undefined, make({ codeAddress: 0x1001 }), 'INVALID_ARGUMENT', ['codeAddress', '4097']);
      expectError(undefined, make({ codeAddress: 0x10000, dataAddress: 0x10000 }), 'INVALID_ARGUMENT', ['overlaps']);
      expectError(undefined, make({ codeAddress: 0, dataAddress: 0x1_0000_0000 }), 'INVALID_ARGUMENT', ['2 GiB']);
      expectError(undefined, make({ cycleThreshold: 0 }), 'INVALID_ARGUMENT', ['cycleThreshold', '0']);
      expectError(undefined, make({ memory: new ArrayBuffer(4096) }), 'INVALID_ARGUMENT', ['4096', '8192']);
      expectError(undefined, make({ compile: 'yes' }), 'INVALID_ARGUMENT', ['compile']);
    });

    test('INVALID_ARGUMENT: read outside both arenas', () => {
      const { heap } = populated();
      const { code, data } = heap.stats();
      expectError(heap, () => heap.read(code.address - 1, 2), 'INVALID_ARGUMENT', [hex(code.address - 1)]);
      expectError(heap, () => heap.read(data.address + data.size - 4, 8), 'INVALID_ARGUMENT', ['read']);
      expectError(heap, () => heap.read(code.address, -1), 'INVALID_ARGUMENT', ['read']);
    });
  });

  test('NO_COMPILE_CALLBACK: a lazy function with no callback of its own and none on the heap', () => {
    const { heap } = populated();
    const lazy = heap.lookup('lazy');
    expectError(heap, () => heap.materialize(lazy), 'NO_COMPILE_CALLBACK', ['materialize(lazy)', 'lazy']);
    expect(nodeOf(heap, 'lazy').state).toBe('lazy');
  });

  test('REENTRANT_CALL: a mutating call from an observer', () => {
    const errors: unknown[] = [];
    const same: boolean[] = [];
    let armed = false;
    const heap: CodeHeap = newHeap({
      observer: {
        alloc() {
          if (!armed) return;
          armed = false;
          const before = image(heap);
          try {
            heap.define({ functions: [{ name: 'inner', ...leaf() }] });
          } catch (error) {
            errors.push(error);
          }
          const after = image(heap);
          same.push(JSON.stringify(after.stats) === JSON.stringify(before.stats) && sameBytes(after.code, before.code));
        },
      },
    });
    armed = true;
    heap.define({ functions: [{ name: 'outer', ...leaf() }] });
    heap.verify();
    expect(errors).toHaveLength(1);
    const error = errors[0] as CodeHeapError;
    expect(error).toBeInstanceOf(CodeHeapError);
    expect(error.code).toBe('REENTRANT_CALL');
    expect(error.message).toContain('define');
    expect(same).toEqual([true]);
    expect(heap.node('inner')).toBeUndefined();
  });

  test("REENTRANT_CALL: materialize of f from f's own compile callback", () => {
    let inner: unknown;
    let rethrow = false;
    const heap: CodeHeap = newHeap({
      compile: () => {
        try {
          heap.materialize(f);
        } catch (error) {
          inner = error;
          if (rethrow) throw error;
        }
        return leaf();
      },
    });
    const f = heap.declare('f');
    heap.verify();
    rethrow = true;
    expectError(heap, () => heap.materialize(f), 'REENTRANT_CALL', ['materialize(f)', "f's own compile callback"]);
    expect(inner).toBeInstanceOf(CodeHeapError);
    expect(nodeOf(heap, 'f').state).toBe('lazy');
    // The inner call is refused, the outer one still compiles f.
    rethrow = false;
    inner = undefined;
    heap.materialize(f);
    heap.verify();
    expect((inner as CodeHeapError).code).toBe('REENTRANT_CALL');
    expect(nodeOf(heap, 'f').state).toBe('live');
  });

  test('NOT_EXECUTABLE: heap.call on the default ArrayBuffer memory', () => {
    const { heap, f } = populated();
    expectError(heap, () => heap.call(f, 1), 'NOT_EXECUTABLE', ['call(f)', 'ArrayBuffer']);
  });

  test('CORRUPT: verify() names a relocation site whose bytes were scribbled over', () => {
    let bytes = new Uint8Array(0);
    const memory = {
      reserve(layout: ArenaLayout) {
        bytes = new Uint8Array(layout.codeSize + layout.dataSize);
        return { bytes, executable: false, description: 'test' };
      },
    };
    const heap = newHeap({ memory });
    const unit = heap.define({
      functions: [{ name: 'g', ...leaf() }, { name: 'f', ...asm().nop(4).call('g').ret().build() }],
    });
    heap.verify();
    const { code } = heap.stats();
    const site = unit.get('f').address + 5; // the rel32 of `call g`
    const local = site - code.address;
    expect(heap.read(site, 4)).toEqual(bytes.slice(local, local + 4)); // the test sees the heap's bytes
    bytes[local] = bytes[local]! ^ 0x40;

    const before = image(heap);
    const error = expectError(undefined, () => heap.verify(), 'CORRUPT', ['f', 'R_X86_64_PLT32', hex(site), 'g']);
    expect(error.message).toContain('1 invariant(s) broken');
    const after = image(heap); // verify only reads
    expect(after.stats).toEqual(before.stats);
    expect(sameBytes(after.code, before.code) && sameBytes(after.data, before.data)).toBe(true);

    bytes[local] = bytes[local]! ^ 0x40; // repaired: sound again
    heap.verify();
  });
});
