// The object loader on real gcc output: every corpus file in every flag variant it lists, loaded
// eagerly and lazily into native memory, each entry's result (and each typed call's result and
// buffers) compared with the same objects linked into a normal program, verify() after every
// step, and unload giving back every node, site and byte. Files the loader must refuse are
// refused with UNSUPPORTED, the heap unchanged.

import { describe, expect, test } from 'vitest';
import { loadObject, type LoadedObject } from '../../src/elf/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { CORPUS, VARIANTS, corpusPath } from './corpus/index.js';
import { footprint, nativeHeap } from './helpers/heaps.js';
import { skipUnavailable, skipWithoutGcc } from './helpers/skip.js';
import { compileObject, freshArguments, nativeCalls, nativeResults } from './helpers/toolchain.js';

const native = isNativeAvailable();
const skip = skipWithoutGcc('the ELF corpus') || skipUnavailable('the ELF corpus', native.available ? { available: true } : { available: false, reason: native.reason });

describe.skipIf(skip)('gcc output runs from the heap as the same objects linked natively', () => {
  for (const file of CORPUS) {
    for (const variant of file.variants) {
      for (const lazy of [false, true]) {
        test(`${file.file} ${variant}${lazy ? ', lazy' : ''}`, () => {
          const flags = VARIANTS[variant];
          const heap = nativeHeap();
          const empty = footprint(heap.stats());
          const libs: LoadedObject[] = [];
          for (const need of file.needs ?? []) libs.push(loadObject(heap, compileObject({ path: corpusPath(need) }, flags), { name: need, lazy }));
          const bytes = compileObject({ path: file.path }, flags);
          if (file.refused !== undefined) {
            const before = footprint(heap.stats());
            expect(() => loadObject(heap, bytes, { name: file.file, lazy })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
            expect(footprint(heap.stats())).toEqual(before);
            heap.verify();
            return;
          }
          const lib = loadObject(heap, bytes, { name: file.file, lazy });
          heap.verify();
          const sources = [...(file.needs ?? []).map((n) => ({ path: corpusPath(n) })), { path: file.path }];
          const expected = nativeResults(sources, flags, file.entries);
          for (const entry of file.entries) {
            expect(heap.call(lib.get(entry)), entry).toBe(expected.get(entry));
            heap.verify();
          }
          const typed = file.typed ?? [];
          const outcomes = typed.length === 0 ? [] : nativeCalls(sources, flags, typed);
          typed.forEach((call, i) => {
            const f = heap.bind(lib.get(call.name), { parameters: call.parameters, result: call.result }) as (...a: unknown[]) => unknown;
            const args = freshArguments(call);
            expect(f(...args), call.name).toStrictEqual(outcomes[i]!.result);
            expect(args.filter((a) => a instanceof Uint8Array)).toEqual(outcomes[i]!.buffers);
            heap.verify();
          });
          if (lazy && file.entries.length > 0) expect(lib.materialized).toBeGreaterThan(0);
          lib.free();
          for (const need of libs) need.free();
          heap.verify();
          expect(footprint(heap.stats())).toEqual(empty);
        });
      }
    }
  }
});
