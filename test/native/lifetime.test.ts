// Native memory's lifetime: close() releases a region's mappings at once, the addon keeps to its
// budget of mappings, and nothing is left mapped when a region is refused.
//
// Regressions: a dropped heap was unmapped only after a V8 collection and a turn of the event
// loop, so a loop that made and dropped native heaps used up vm.max_map_count, and V8 aborted the
// process on its next allocation; a heap refused after its range was reserved (memfd_create out
// of descriptors, say) left the range reserved for good; dlsym("labs\0anything") bound to labs.
// Runs on Linux x86-64 with the addon built, and must run there on CI (see native.test.ts).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CodeHeap, type Region } from '../../src/index.js';
import { loadAddon } from '../../src/native/addon.js';
import { isNativeAvailable, nativeMemory } from '../../src/native/index.js';
import { expectCode } from '../helpers/errors.js';
import { codeheapMappings, mappingAt, PAGE, processMappings, reserveRegion, runWorker } from '../helpers/native.js';
import { asm } from '../helpers/x86.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';
const skip = !native.available && !mustRun;
if (skip) console.warn(`native lifetime tests skipped: ${native.reason}`);

const KiB = 1024;
const MiB = 1024 * KiB;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXHAUST = fileURLToPath(new URL('./exhaust.ts', import.meta.url));

/** A full V8 collection, then turns of the event loop until `done` (finalizers run on a later turn). */
async function collectUntil(done: () => boolean): Promise<boolean> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let turn = 0; turn < 50 && !done(); turn++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return done();
}

/** Runs test/native/exhaust.ts in a process of its own (`shell` wraps the command); its JSON line. */
function exhaust(mode: 'mappings' | 'descriptors', shell = '"$@"'): Record<string, unknown> {
  const run = spawnSync('sh', ['-c', shell, 'sh', process.execPath, '--import', 'tsx', EXHAUST, mode], {
    cwd: ROOT, encoding: 'utf8', timeout: 100_000,
  });
  expect(run.status, `${run.stderr}\n${run.stdout}`).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe.skipIf(skip)('native memory: close() releases a region at once', () => {
  it('unmaps the code, the data and the heap view, and detaches bytes; closing again does nothing', () => {
    const before = codeheapMappings().length;
    const region = reserveRegion(nativeMemory(), 16 * KiB, 8 * KiB);
    const code = region.bytes.byteOffset; // 0: the code arena comes first in the view
    region.bytes.fill(0xcc, code, code + 16);
    const mapped = codeheapMappings();
    expect(mapped.length).toBe(before + 3);
    const [codeAddress, dataAddress] = region.description.match(/0x[0-9a-f]+/g)!.map(Number) as [number, number];
    expect(mappingAt(codeAddress, mapped)?.perms).toBe('r-xs');
    expect(mappingAt(dataAddress, mapped)?.perms).toBe('rw-s');
    region.close!();
    const after = processMappings();
    expect(mappingAt(codeAddress, after)).toBeUndefined(); // the reserved range went with them
    expect(mappingAt(dataAddress, after)).toBeUndefined();
    expect(codeheapMappings().length).toBe(before);
    expect(region.bytes.byteLength).toBe(0);
    expect(region.bytes.buffer.byteLength).toBe(0);
    region.bytes[0] = 1; // a detached view ignores writes: JavaScript reaches no memory
    expect(region.bytes[0]).toBeUndefined();
    expect(region.executable).toBe(false);
    expect(region.description).toContain('closed');
    region.close!();
    expect(codeheapMappings().length).toBe(before);
  });

  it('a hundred thousand reserve() and close() leave the process with the mappings it had', async () => {
    const memory = nativeMemory();
    const before = processMappings().length;
    const codeheap = codeheapMappings().length;
    for (let i = 0; i < 100_000; i++) reserveRegion(memory).close!();
    expect(codeheapMappings().length).toBe(codeheap);
    // V8 maps and unmaps pages of its own as it goes: a few, where a leak would add 300,000.
    expect(processMappings().length - before).toBeLessThan(100);
    // The finalizers of the closed views run now, and must find nothing left to unmap.
    const survivor = reserveRegion(memory);
    survivor.bytes[0] = 42;
    expect(await collectUntil(() => false)).toBe(false);
    expect(survivor.bytes[0]).toBe(42);
    expect(codeheapMappings().length).toBe(codeheap + 3);
    survivor.close!();
  });

  it('a region dropped without close() is still unmapped once V8 has collected its view', async () => {
    const before = codeheapMappings().length;
    const memory = nativeMemory();
    for (let i = 0; i < 1000; i++) reserveRegion(memory).bytes[0] = 1;
    expect(codeheapMappings().length).toBe(before + 3000);
    expect(await collectUntil(() => codeheapMappings().length === before)).toBe(true);
  });

  it('is REENTRANT_CALL while a call of the region runs; the call completes, and close() after it works', () => {
    const other = reserveRegion(nativeMemory());
    let heap: CodeHeap | undefined;
    let refused: unknown;
    heap = new CodeHeap({
      arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, memory: nativeMemory(),
      compile: () => {
        other.close!(); // no call runs in that one
        try {
          heap!.region.close!();
        } catch (error) {
          refused = error;
        }
        return asm().leaRaxRdiPlus(1).ret().build();
      },
    });
    const add1 = heap.declare('add1');
    expect(heap.call(add1, 41)).toBe(42n);
    expect(refused).toMatchObject({ code: 'REENTRANT_CALL' });
    expect(other.bytes.byteLength).toBe(0);
    expect(heap.region.bytes.byteLength).toBe(80 * KiB);
    heap.region.close!();
    expect(heap.region.executable).toBe(false);
    expectCode(() => heap.call(add1, 1), 'NOT_EXECUTABLE');
  });

  it('worker threads reserve and close regions at the same time, and their exit releases what they left open', async () => {
    const before = codeheapMappings().length;
    const script = new URL('./worker-regions.ts', import.meta.url);
    const left = await Promise.all([1, 2, 3].map(() => runWorker<number>(script, { rounds: 3000 })));
    expect(left).toEqual([300, 300, 300]);
    expect(await collectUntil(() => codeheapMappings().length === before)).toBe(true);
  });
});

describe.skipIf(skip)('heap.close() on native memory', () => {
  it('releases the mappings at once: more heaps than the budget lets stay mapped, each made and closed in a loop', () => {
    const before = codeheapMappings().length;
    // The budget holds about 10,900 small heaps open (half of vm.max_map_count, 3 mappings each).
    for (let i = 0; i < 12_000; i++) {
      const heap = new CodeHeap({ arch: 'x86_64', codeSize: 4096, dataSize: 4096, memory: nativeMemory() });
      if (i % 1000 === 0) {
        const add1 = heap.define({ functions: [{ name: 'add1', ...asm().leaRaxRdiPlus(1).ret().build() }] }).get('add1');
        expect(heap.call(add1, i)).toBe(BigInt(i + 1));
      }
      heap.close();
    }
    expect(codeheapMappings().length).toBe(before);
  });

  it('is REENTRANT_CALL while a call of the heap runs (from a compile callback); after the call it closes', () => {
    let refused: unknown;
    const heap: CodeHeap = new CodeHeap({
      arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, memory: nativeMemory(),
      compile: () => {
        try {
          heap.close();
        } catch (error) {
          refused = error;
        }
        return asm().leaRaxRdiPlus(1).ret().build();
      },
    });
    const add1 = heap.declare('add1');
    expect(heap.call(add1, 41)).toBe(42n);
    expect(refused).toMatchObject({ code: 'REENTRANT_CALL' });
    const before = codeheapMappings().length;
    heap.close();
    expect(codeheapMappings().length).toBe(before - 3);
    expectCode(() => heap.call(add1, 1), 'USE_AFTER_FREE');
    add1.free(); // freeing after close does nothing
  });
});

describe.skipIf(skip)('native memory: the budget of mappings, and refusals that leave nothing mapped', () => {
  const maxMapCount = skip ? 0 : Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8'));
  // Three mappings a region: beyond a few hundred thousand regions, the child would take minutes.
  const tooMany = maxMapCount > 4_000_000;
  if (tooMany && !skip) console.warn(`the budget test is skipped: vm.max_map_count is ${maxMapCount}`);

  it.skipIf(tooMany)('past its budget a heap is refused with OUT_OF_MEMORY, and the process lives on (a child process)', () => {
    const seen = exhaust('mappings');
    const limit = Math.floor(maxMapCount / 2);
    expect(seen['regions']).toBe(Math.floor(limit / 3));
    const first = seen['first'] as { code: string; message: string };
    expect(first.code).toBe('OUT_OF_MEMORY');
    expect(first.message).toContain(`${seen['regions']} native heaps are mapped`);
    expect(first.message).toContain('heap.close() releases');
    expect(new Set(seen['refusals'] as string[])).toEqual(new Set(['OUT_OF_MEMORY']));
    // A refused map() releases the range reserved for it: 100 MiB stay reserved otherwise (V8 reserves
    // and releases a little of its own meanwhile).
    expect(seen['reservedGrowth'] as number).toBeLessThan(20 * MiB);
    expect(seen['processAtLimit'] as number).toBeLessThan(maxMapCount - 1000);
    expect(seen['fromWorker']).toBe(42);
    expect(seen['afterClose']).toBe('none');
    expect(seen['absAfterClose']).toBe('5');
  });

  it('a heap whose map() fails after its range was reserved releases the range (a child process out of descriptors)', () => {
    const seen = exhaust('descriptors', 'ulimit -n 256 && exec "$@"');
    expect(new Set(seen['refusals'] as string[])).toEqual(new Set(['OUT_OF_MEMORY']));
    expect(seen['message']).toContain('memfd_create');
    expect(seen['reservedGrowth'] as number).toBeLessThan(20 * MiB); // 100 MiB stayed reserved before the fix
    expect(seen['afterwards']).toBe('none');
  });

  it('a layout map() refuses releases the range chooseAddress reserved for it', () => {
    const memory = nativeMemory();
    for (const [dataOffset, dataSize] of [[PAGE, 100], [PAGE / 2, PAGE]] as const) { // off the page; overlapping
      const codeAddress = memory.chooseAddress!(2 * PAGE)!;
      expect(mappingAt(codeAddress)?.perms).toBe('---p');
      expectCode(() => memory.reserve({ codeAddress, codeSize: PAGE, dataAddress: codeAddress + dataOffset, dataSize }), 'INVALID_ARGUMENT');
      expect(mappingAt(codeAddress)).toBeUndefined();
    }
  });
});

describe.skipIf(skip)('native memory: process symbols are looked up as C spells them', () => {
  it('a name with a NUL inside, a lone surrogate, or longer than the addon reads resolves to nothing; labs still does', () => {
    const region: Region = reserveRegion(nativeMemory());
    expect(region.resolveSymbol!('labs')).toBeTypeOf('number');
    for (const name of ['labs\0anything', 'labs\0', '\0labs', 'labs\uD800', 'l'.repeat(5000)]) {
      expect(region.resolveSymbol!(name), JSON.stringify(name)).toBeUndefined();
    }
    region.close!();
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, memory: nativeMemory() });
    expectCode(() => heap.define({ functions: [{ name: 'abs', ...asm().jmp('labs\0anything').build() }] }), 'UNDEFINED_SYMBOL');
    const abs = heap.define({ functions: [{ name: 'abs', ...asm().jmp('labs').build() }] }).get('abs');
    expect(heap.call(abs, -7)).toBe(7n);
  });

  it('the addon itself refuses a name with a NUL inside or over its length, whoever calls it', () => {
    const { addon } = loadAddon();
    expect(addon!.dlsym('labs')).toBeTypeOf('number');
    expect(addon!.dlsym('labs\0anything')).toBeUndefined();
    expect(addon!.dlsym('l'.repeat(addon!.symbolBytes + 1))).toBeUndefined();
  });
});
