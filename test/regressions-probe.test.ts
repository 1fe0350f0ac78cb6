// Regressions of what an adversarial probe found, one describe per finding (the class of input,
// not only the probe's example). Each failed on the code before its fix.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CodeHeap, type Memory } from '../src/index.js';
import { FUNCTION } from '../src/base.js';
import { Arenas } from '../src/heap/arenas.js';
import { arrayBufferMemory } from '../src/heap/region.js';
import { toDot } from '../src/inspect.js';
import { LargeMap, SHARD_LIMIT } from '../src/large-map.js';
import { HeapGraph } from '../src/rc/heap-graph.js';
import { x86_64 } from '../src/reloc/x86-64.js';
import { expectCode } from './helpers/errors.js';
import { KiB, leaf, newHeap } from './helpers/heaps.js';
import { asm, nodeOf } from './helpers/x86.js';

describe('every input is read once', () => {
  test('a code view whose buffer grows between the check and the copy cannot write past its block', () => {
    const heap = newHeap();
    const neighbour = heap.define({ functions: [{ name: 'neighbour', ...leaf() }] }).get('neighbour');
    const before = heap.read(neighbour.address, 16);
    type Resizable = ArrayBuffer & { resize(length: number): void };
    const buffer = new (ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable)(8, { maxByteLength: 4096 });
    const view = new Uint8Array(buffer); // length-tracking: it grows with the buffer
    view.fill(0x90);
    const definition = {
      name: 'f',
      get code() {
        return view;
      },
      // Read after code: it grows the buffer, so a second read of code.length would say 4096.
      get relocations() {
        buffer.resize(4096);
        new Uint8Array(buffer).fill(0xcc);
        return [];
      },
    };
    heap.define({ functions: [definition] });
    heap.verify();
    expect(nodeOf(heap, 'f').size).toBe(16); // 8 bytes copied at the first read, tiled to 16
    expect(heap.read(neighbour.address, 16)).toEqual(before);
  });

  test('a getter that answers differently on each read is read once: what was checked is what is used', () => {
    const heap = newHeap();
    let reads = 0;
    const relocation = {
      type: 'R_X86_64_PLT32' as const, symbol: 'f', addend: -4,
      get offset() {
        reads++;
        return reads === 1 ? 1 : 1_000_000; // in bounds first, far out of bounds after
      },
    };
    heap.define({ functions: [{ name: 'f', ...asm().call('f').ret().build(), relocations: [relocation] }] });
    heap.verify();
    expect(reads).toBe(1);
  });

  test('a getter or a revoked proxy that throws is INVALID_ARGUMENT, with the thrown error as its cause', () => {
    const heap = newHeap();
    const thrown = new Error('getter failed');
    const error = expectCode(() => heap.define({ functions: [{ name: 'f', get code(): Uint8Array { throw thrown; } }] }), 'INVALID_ARGUMENT');
    expect(error.cause).toBe(thrown);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expectCode(() => heap.define(proxy as never), 'INVALID_ARGUMENT');
    expectCode(() => heap.define({ functions: proxy as never }), 'INVALID_ARGUMENT');
    heap.verify();
  });
});

describe('values String() cannot print', () => {
  test('a null-prototype object as a name, a symbol, or what resolveExternal returns: INVALID_ARGUMENT naming what it is', () => {
    const bare = Object.create(null) as object;
    const heap = newHeap({ resolveExternal: (name) => (name === 'bare' ? bare : undefined) as number | undefined });
    const error = expectCode(() => heap.define({ functions: [{ name: bare as never, ...leaf() }] }), 'INVALID_ARGUMENT');
    expect(error.message).toContain('an object');
    expectCode(() => heap.declare(Symbol('s') as never), 'INVALID_ARGUMENT');
    expectCode(() => heap.lookup(bare as never), 'INVALID_ARGUMENT');
    expectCode(() => heap.define({ functions: [{ name: 'f', ...asm().call('bare').ret().build() }] }), 'INVALID_ARGUMENT');
    expectCode(() => new CodeHeap({ arch: bare as never, codeSize: 4096, dataSize: 4096 }), 'INVALID_ARGUMENT');
    heap.verify();
  });

  test('lookup of a non-string is INVALID_ARGUMENT, as declare of one is', () => {
    const heap = newHeap();
    expectCode(() => heap.lookup(42 as never), 'INVALID_ARGUMENT');
    expectCode(() => heap.declare(42 as never), 'INVALID_ARGUMENT');
  });
});

describe('a Memory provider is checked like the options are', () => {
  const reserveArrayBuffer: Memory['reserve'] = (layout) => ({
    bytes: new Uint8Array(layout.codeSize + layout.dataSize), executable: false, description: 'test',
  });
  for (const [what, address] of [['NaN', Number.NaN], ['misaligned', 0x1001], ['negative', -4096], ['past user space', 2 ** 47]] as const) {
    test(`chooseAddress returning a ${what} address is INVALID_ARGUMENT`, () => {
      const memory: Memory = { reserve: reserveArrayBuffer, chooseAddress: () => address };
      expectCode(() => new CodeHeap({ arch: 'x86_64', codeSize: 4096, dataSize: 4096, memory }), 'INVALID_ARGUMENT');
    });
  }

  test('a Region whose bytes are missing or too short, or whose methods are not functions, is INVALID_ARGUMENT', () => {
    for (const region of [{}, { bytes: new Uint8Array(16) }, { bytes: new Uint8Array(8192), call: 42 }, null]) {
      const memory = { reserve: () => region } as unknown as Memory;
      expectCode(() => new CodeHeap({ arch: 'x86_64', codeSize: 4096, dataSize: 4096, memory }), 'INVALID_ARGUMENT');
    }
  });

  test('codeAddress past user space is INVALID_ARGUMENT', () => {
    expectCode(() => new CodeHeap({ arch: 'x86_64', codeSize: 4096, dataSize: 4096, codeAddress: 2 ** 47 - 4096 }), 'INVALID_ARGUMENT');
  });
});

describe('acyclic garbage is reclaimed by counting, ids and buffer entries included', () => {
  for (const threshold of [Infinity, 'auto'] as const) {
    test(`cycleThreshold ${threshold}: 20,000 rounds of define a -> b -> kept leaf, free both, keep the metadata flat`, () => {
      const heap = newHeap({ cycleThreshold: threshold });
      heap.define({ functions: [{ name: 'leaf', ...leaf() }] });
      const round = (): void => {
        const unit = heap.define({ functions: [{ name: 'a', ...asm().call('b').ret().build() }, { name: 'b', ...asm().call('leaf').ret().build() }] });
        unit.get('a').free(); // b: 2 -> 1, buffered
        unit.get('b').free(); // b: 1 -> 0 while buffered
      };
      for (let i = 0; i < 100; i++) round();
      const settled = heap.stats();
      for (let i = 0; i < 20_000; i++) round();
      heap.verify();
      const after = heap.stats();
      expect(after.candidates).toBe(0);
      expect(after.collections).toBe(0);
      expect(after.metadata.bytes).toBe(settled.metadata.bytes);
      expect(after.cycleThreshold).toBe(settled.cycleThreshold);
    });
  }

  test('DEAD entries that are not the last are compacted away once they outnumber the live ones', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'leaf', ...leaf() }] });
    const calls = (name: string, target: string) => ({ name, ...asm().call(target).ret().build() });
    const ROUNDS = 1000;
    for (let i = 0; i < ROUNDS; i++) {
      const unit = heap.define({ functions: [calls(`a${i}`, `b${i}`), calls(`b${i}`, 'leaf'), calls(`x${i}`, `y${i}`), calls(`y${i}`, 'leaf'), calls(`c${i}`, 'leaf')] });
      unit.get(`a${i}`).free(); // b buffered
      unit.get(`x${i}`).free(); // y buffered
      heap.lookup(`c${i}`).free(); // c buffered, and stays alive: its unit's handle holds it
      unit.get(`b${i}`).free(); // b and y die while buffered, with c after them
      unit.get(`y${i}`).free();
    }
    heap.verify();
    // 1,000 live candidates (the c's); without compaction 2,000 DEAD entries would wait with them.
    expect(heap.stats().candidates).toBeLessThanOrEqual(2 * ROUNDS + 64);
    expect(heap.stats().candidates).toBeGreaterThanOrEqual(ROUNDS);
  });
});

describe('no structure has a hidden size limit', () => {
  test('a LargeMap spills into further shards as each fills, and every operation works across them', () => {
    // V8 refuses a Map's 2^24 + 1st entry; a shard is kept well below that.
    expect(SHARD_LIMIT).toBeLessThan(2 ** 24);
    const map = new LargeMap<number, number>(4);
    const count = 4 * 5 + 2; // six shards
    for (let i = 0; i < count; i++) map.set(i, i);
    expect(map.size).toBe(count);
    for (let i = 0; i < count; i++) expect(map.get(i)).toBe(i);
    expect(map.has(count)).toBe(false);
    map.set(0, -1); // an update stays in its shard
    expect(map.get(0)).toBe(-1);
    expect(map.size).toBe(count);
    expect(map.delete(9)).toBe(true);
    expect(map.delete(9)).toBe(false);
    expect(map.get(9)).toBeUndefined();
    map.set(100, 100);
    expect([...map].length).toBe(count);
    expect(new Set([...map].map(([key]) => key)).size).toBe(count);
    map.clear();
    expect(map.size).toBe(0);
  });

  test('the library makes no Map or Set of its own but LargeMap (each would stop at 2^24 entries)', () => {
    const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
    const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });
    const offences: string[] = [];
    for (const file of files(src)) {
      const name = relative(src, file);
      if (name === 'large-map.ts') continue;
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/new (Map|Set|WeakMap)\b/g)) {
        // The relocation kinds of an architecture: a table of a few fixed entries.
        if (name === 'reloc/x86-64.ts' && match[1] === 'Map') continue;
        // The object loader's registry: one entry per heap, which goes with the heap.
        if (name === 'elf/registry.ts' && match[1] === 'WeakMap') continue;
        offences.push(`${name}: new ${match[1]}`);
      }
    }
    expect(offences).toEqual([]);
  });
});

describe('toDot on a graph too large for one string', () => {
  test('writeDot streams the same text as toDot, a long name in bounded pieces', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'f', ...asm().call('g').ret().build() }, { name: 'g', ...leaf() }] });
    const name = `${'a"\\b'.repeat(600_000)}!`; // 3 million characters, quotes and backslashes among them
    heap.define({ functions: [{ name, ...leaf() }] });
    let streamed = '';
    let longest = 0;
    heap.writeDot((chunk) => {
      streamed += chunk;
      longest = Math.max(longest, chunk.length);
    });
    expect(streamed).toBe(heap.toDot());
    expect(streamed).toContain('a\\"\\\\b');
    expect(longest).toBeLessThanOrEqual(2 ** 21);
  });

  test('past the longest string there is, toDot is OUT_OF_MEMORY and says how long the text would be', () => {
    // The limit as a test sets it, on a graph of the heap's own tables (V8's limit is 2^29 - 24
    // characters: about ten million nodes).
    const layout = { codeAddress: 0x4000_0000, codeSize: 64 * KiB, dataAddress: 0x4001_0000, dataSize: 16 * KiB };
    const graph = new HeapGraph(new Arenas(layout, arrayBufferMemory().reserve(layout)));
    for (const name of ['f', 'g']) graph.createSymbol(FUNCTION, name, graph.arenas.code.allocate(16, 16), false, undefined);
    const length = toDot(graph, x86_64).length;
    expect(toDot(graph, x86_64, length)).toHaveLength(length);
    const error = expectCode(() => toDot(graph, x86_64, length - 1), 'OUT_OF_MEMORY');
    expect(error.message).toContain(`the graph is ${length} characters of DOT`);
    expect(error.message).toContain('writeDot');
  });

  test('a writer that mutates the heap is REENTRANT_CALL', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'f', ...leaf() }] });
    expectCode(() => heap.writeDot(() => heap.define({ functions: [{ name: 'g', ...leaf() }] })), 'REENTRANT_CALL');
    heap.verify();
  });
});

describe('the compile callback chain', () => {
  test("F's callback materializes G, and G's materializes F: the error names G's callback and the chain", () => {
    let heap!: CodeHeap;
    heap = newHeap();
    const g = heap.declare('G', () => {
      heap.materialize(f);
      return leaf();
    });
    const f = heap.declare('F', () => {
      heap.materialize(g);
      return leaf();
    });
    const error = expectCode(() => heap.materialize(f), 'REENTRANT_CALL');
    expect(error.message).toContain("from G's compile callback while F is being compiled (F -> G -> F)");
    heap.verify();
    expect(nodeOf(heap, 'F').state).toBe('lazy');
    expect(nodeOf(heap, 'G').state).toBe('lazy');
  });
});

describe('a relocation list that claims more entries than its node has bytes', () => {
  test('is INVALID_ARGUMENT before one entry is read (a proxy claiming a billion entries costs nothing)', () => {
    const heap = newHeap();
    let reads = 0;
    const huge = new Proxy([], {
      get: (target, key) => {
        if (key === 'length') return 1e9;
        reads++;
        return Reflect.get(target, key);
      },
    });
    const error = expectCode(() => heap.define({ functions: [{ name: 'f', code: new Uint8Array(16), relocations: huge }] }), 'INVALID_ARGUMENT');
    expect(error.message).toContain('1000000000 entries in 16 bytes');
    expect(reads).toBe(0);
    heap.verify();
  });
});
