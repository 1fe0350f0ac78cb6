// A child process for test/code-placed.test.ts: a region whose codePlaced throws; the error must
// come back as an uncaught exception after the call returned its result.

import { arrayBufferMemory, CodeHeap } from '../../src/index.js';

const uncaught: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(error.message));
const memory = arrayBufferMemory();
const heap = new CodeHeap({
  arch: 'x86_64', codeSize: 65536, dataSize: 16384,
  memory: {
    reserve: (layout) => Object.assign(memory.reserve(layout), {
      codePlaced() {
        throw new Error('the profiler is full');
      },
    }),
  },
});
const unit = heap.define({ functions: [{ name: 'f', code: Uint8Array.from([0xc3]) }] });
heap.verify();
const result = { unit: unit.get('f').name === 'f', kind: heap.node('f')?.kind, verified: true };
setTimeout(() => process.stdout.write(JSON.stringify({ ...result, uncaught })), 10);
