// Child of readonly.test.ts: loads fixtures/rodata.c and calls one entry, printing its result
// (a write to read-only data ends this process with SIGSEGV, which the test expects).

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../../src/elf/index.js';
import { nativeHeap } from './heaps.js';
import { compileObject } from './toolchain.js';

const here = dirname(fileURLToPath(import.meta.url));
const heap = nativeHeap();
const lib = loadObject(heap, compileObject({ path: join(here, '..', 'fixtures', 'rodata.c') }, ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections']), { name: 'ro' });
console.log(String(heap.call(lib.get(process.argv[2]!))));
