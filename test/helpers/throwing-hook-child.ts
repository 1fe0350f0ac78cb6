// A child process for the tests of hooks that throw (test/regressions-user.test.ts: an observer
// with no error method; test/code-placed.test.ts: a region's codePlaced): the error must come back
// as an uncaught exception after the call returned its result. argv[2] names the hook.

import { arrayBufferMemory, CodeHeap, type CodeHeapOptions } from '../../src/index.js';

const uncaught: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(error.message));
const memory = arrayBufferMemory();
const hooks: Record<string, Partial<CodeHeapOptions>> = {
  observer: {
    observer: {
      alloc() {
        throw new Error('observer bug');
      },
    },
  },
  codePlaced: {
    memory: {
      reserve: (layout) => Object.assign(memory.reserve(layout), {
        codePlaced() {
          throw new Error('the profiler is full');
        },
      }),
    },
  },
};
const heap = new CodeHeap({ arch: 'x86_64', codeSize: 65536, dataSize: 16384, ...hooks[process.argv[2]!] });
const unit = heap.define({ functions: [{ name: 'f', code: Uint8Array.from([0xc3]) }] });
heap.verify();
const result = { unit: unit.get('f').name === 'f', rc: heap.node('f')?.rc, kind: heap.node('f')?.kind, verified: true };
setTimeout(() => process.stdout.write(JSON.stringify({ ...result, uncaught })), 10);
