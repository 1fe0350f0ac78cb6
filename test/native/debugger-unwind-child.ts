// A child process for test/native/debugger.test.ts, run under gdb: C compiled by gcc without
// frame pointers, loaded on native memory that tells gdb of its code (profile 'gdb'), so that only
// the unwind tables handed to gdb with each function let it step through their frames.

import { readFileSync } from 'node:fs';
import { CodeHeap } from '../../src/index.js';
import { loadObject } from '../../src/elf/index.js';
import { nativeMemory } from '../../src/native/index.js';

const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16, memory: nativeMemory({ profile: 'gdb' }) });
const lib = loadObject(heap, readFileSync(process.argv[2]!), { name: 'bt' });
process.stdout.write(`frames ${heap.call(lib.get('outer'), 0)}\n`);
lib.free();
heap.close();
