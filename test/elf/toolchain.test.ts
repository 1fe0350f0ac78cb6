// The ELF suites' own tools, checked before anything is tested with them: compileObject makes
// real x86-64 relocatable objects and caches them safely; the native oracle returns exactly what
// the code returns; and every corpus file compiles and runs natively in every variant it lists,
// with gcc emitting the relocations and sections the file says it is there for.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runWorker } from '../helpers/native.js';
import { CORPUS, corpusPath, VARIANTS } from './corpus/index.js';
import { summarize } from './helpers/readelf.js';
import { skipWithoutGcc } from './helpers/skip.js';
import { compileObject, compileObjectFile, nativeCalls, nativeResults, type NativeCall } from './helpers/toolchain.js';

const skip = skipWithoutGcc('ELF toolchain helpers');
const O1 = VARIANTS['O1'];

const u16 = (bytes: Uint8Array, at: number): number => new DataView(bytes.buffer, bytes.byteOffset).getUint16(at, true);
const u32 = (bytes: Uint8Array, at: number): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);

function expectRelocatableX86_64(bytes: Uint8Array): void {
  expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
  expect(bytes[4], 'EI_CLASS: ELFCLASS64').toBe(2);
  expect(bytes[5], 'EI_DATA: little-endian').toBe(1);
  expect(bytes[6], 'EI_VERSION').toBe(1);
  expect(u16(bytes, 16), 'e_type: ET_REL').toBe(1);
  expect(u16(bytes, 18), 'e_machine: EM_X86_64').toBe(62);
  expect(u32(bytes, 20), 'e_version').toBe(1);
  expect(u16(bytes, 52), 'e_ehsize').toBe(64);
}

/** A C text of its own for this run, so that the cache has not seen it. */
const unique = (body: string): string => `/* ${process.pid} ${Date.now()} ${Math.random()} */\n${body}`;

// Under CI=true, skipWithoutGcc above has already added the failing test for a missing gcc.
describe('toolchain()', () => {
  test('without gcc on PATH, toolchain() says so and why', () => {
    const module = new URL('./helpers/toolchain.ts', import.meta.url).href;
    const script = `const { toolchain } = await import(${JSON.stringify(module)}); console.log(JSON.stringify(toolchain()));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' },
    });
    expect(run.status, run.stderr).toBe(0);
    const found = JSON.parse(run.stdout) as { available: boolean; reason?: string };
    expect(found.available).toBe(false);
    expect(found.reason).toMatch(/gcc could not be run/);
  });
});

describe.skipIf(skip)('compileObject', () => {
  test('makes an ELF64 little-endian x86-64 relocatable object, from a file or from C text', () => {
    expectRelocatableX86_64(compileObject({ path: corpusPath('calls.c') }, O1));
    expectRelocatableX86_64(compileObject('long f(void) { return 1; }', O1));
  });

  test('the cache gives back the bytes gcc makes, under a key of gcc, flags and source', () => {
    const source = unique('long g(long x) { return x * 3; }');
    const first = compileObject(source, O1);
    const path = compileObjectFile(source, O1);
    expect(path).toMatch(/node_modules\/\.cache\/codeheap-elf\/[0-9a-f]{64}\.o$/);
    expect(compileObject(source, O1)).toEqual(first);
    const dir = mkdtempSync(join(tmpdir(), 'codeheap-elf-'));
    try {
      const fresh = spawnSync('gcc', ['-c', ...O1, '-x', 'c', '-', '-o', join(dir, 'g.o')], { input: source });
      expect(fresh.status).toBe(0);
      expect(new Uint8Array(readFileSync(join(dir, 'g.o')))).toEqual(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(compileObjectFile(source, VARIANTS['O2'])).not.toBe(path);
    expect(compileObjectFile(`${source}\n`, O1)).not.toBe(path);
  });

  test('a compile error throws with the command and gcc\'s diagnostics', () => {
    expect(() => compileObject('long broken(void) { return undeclared_name; }', O1)).toThrow(/gcc -c .*failed[^]*undeclared_name/);
    expect(() => compileObject('long f(void) { return 0; }', ['-c'])).toThrow(/adds -c and -o itself/);
  });

  test('workers compiling one new source at once get the same whole object, compiled once, and leave nothing behind', async () => {
    // Big enough that gcc takes a while, so the workers really overlap.
    const body = Array.from({ length: 1500 }, (_, i) => `long f${i}(long x) { return x * ${i} + (x >> ${i % 63}); }`).join('\n');
    const source = unique(body);
    const flags = [...VARIANTS['O2']];
    const digests = await Promise.all([1, 2, 3, 4].map(() => runWorker<string>(new URL('./helpers/compile-worker.ts', import.meta.url), { source, flags })));
    const here = createHash('sha256').update(compileObject(source, flags)).digest('hex');
    expect(digests).toEqual([here, here, here, here]);
    const path = compileObjectFile(source, flags);
    const key = path.slice(path.lastIndexOf('/') + 1);
    const leftovers = readdirSync(join(path, '..')).filter((name) => name.startsWith(key) && name !== key);
    expect(leftovers).toEqual([]);
  });
});

describe.skipIf(skip)('the native oracle', () => {
  test('returns exactly what the code returns: integers at their limits, doubles bit for bit, buffers byte for byte', () => {
    const longs = [0n, -1n, 1n, (1n << 63n) - 1n, -(1n << 63n), 1234567890123n];
    const entries = longs.map((_, i) => `value${i}`);
    const text = longs.map((v, i) => `long value${i}(void) { return (long)${BigInt.asUintN(64, v)}UL; }`).join('\n');
    expect([...nativeResults(text, O1, entries).values()]).toEqual(longs);

    const doubles = [0, -0, 1 / 3, -1e-310, Number.MAX_VALUE, -Infinity, Number.NaN];
    const source = [
      'double same(double x) { return x; }',
      'int narrow(int x) { return x; }',
      'long wide(long x) { return x; }',
      'void put(unsigned char* p, int n) { for (int i = 0; i < n; i++) p[i] = (unsigned char)(i * 37 + 1); }',
    ].join('\n');
    const calls: NativeCall[] = [
      ...doubles.map((x): NativeCall => ({ name: 'same', parameters: ['f64'], result: 'f64', args: [x] })),
      { name: 'narrow', parameters: ['i32'], result: 'i32', args: [-(2 ** 31)] },
      { name: 'wide', parameters: ['i64'], result: 'i64', args: [-(1n << 63n)] },
      { name: 'put', parameters: ['buffer', 'i32'], result: 'void', args: [{ buffer: 10 }, 7] },
    ];
    const outcomes = nativeCalls(source, O1, calls);
    doubles.forEach((x, i) => expect(Object.is(outcomes[i]?.result, x), `same(${x})`).toBe(true));
    expect(outcomes.slice(doubles.length).map((o) => o.result)).toEqual([-(2 ** 31), -(1n << 63n), undefined]);
    const written = Array.from({ length: 7 }, (_, i) => (i * 37 + 1) & 0xff);
    expect([...(outcomes.at(-1)?.buffers[0] ?? [])]).toEqual([...written, 0xa5, 0xa5, 0xa5]);
  });

  test('refuses a call list that does not match its signature, before compiling anything', () => {
    expect(() => nativeCalls('int f(int x) { return x; }', O1, [{ name: 'f', parameters: ['i32'], result: 'i32', args: [] }])).toThrow(/0 arguments for 1/);
    expect(() => nativeCalls('int f(int x) { return x; }', O1, [{ name: 'f', parameters: ['i32'], result: 'i32', args: [1.5] }])).toThrow(/not an i32/);
    expect(() => nativeCalls('long f(long x) { return x; }', O1, [{ name: 'f', parameters: ['i64'], result: 'i64', args: [1] }])).toThrow(/is a bigint/);
  });
});

describe.skipIf(skip)('the corpus compiles, runs natively and shows what it is for, in every variant it lists', () => {
  for (const file of CORPUS) {
    test(`${file.file}: ${file.exercises}`, () => {
      // The manifest lists every entry point the file defines, in the file's order.
      const declared = [...readFileSync(file.path, 'utf8').matchAll(/^long (test_\w+)\(void\)/gm)].map((m) => m[1]);
      expect(file.entries).toEqual(declared);
      const sources = [...(file.needs ?? []).map((name) => ({ path: corpusPath(name) })), { path: file.path }];
      for (const variant of file.variants) {
        const flags = VARIANTS[variant];
        expectRelocatableX86_64(compileObject({ path: file.path }, flags));
        const results = nativeResults(sources, flags, file.entries);
        expect([...results.keys()], variant).toEqual(file.entries);
        for (const value of results.values()) expect(typeof value, variant).toBe('bigint');
        expect(nativeResults(sources, flags, file.entries), `${variant}, run again`).toEqual(results);
        if (file.typed !== undefined) {
          const outcomes = nativeCalls(sources, flags, file.typed);
          file.typed.forEach((call, i) => {
            const outcome = outcomes[i];
            expect(typeof outcome?.result, `${variant} ${call.name}`).toBe({ i32: 'number', f64: 'number', i64: 'bigint', void: 'undefined' }[call.result]);
            const sizes = call.args.flatMap((arg) => (typeof arg === 'object' ? [arg.buffer] : []));
            expect(outcome?.buffers.map((b) => b.length)).toEqual(sizes);
          });
        }
      }
      for (const group of file.facts ?? []) {
        for (const variant of group.variants) {
          const { facts } = summarize(compileObjectFile({ path: file.path }, VARIANTS[variant]));
          for (const fact of group.facts) expect(facts.has(fact), `${variant}: ${fact}`).toBe(true);
        }
      }
    });
  }
});
