// A child process for the observer regression: an observer with no error method throws, and the
// error must come back as an uncaught exception after the call returned its result.

import { CodeHeap } from '../../src/index.js';

const uncaught: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(error.message));
const heap = new CodeHeap({
  arch: 'x86_64', codeSize: 65536, dataSize: 16384,
  observer: {
    alloc() {
      throw new Error('observer bug');
    },
  },
});
const unit = heap.define({ functions: [{ name: 'f', code: Uint8Array.from([0xc3]) }] });
heap.verify();
const result = { unit: unit.get('f').name === 'f', rc: heap.node('f')?.rc, verified: true };
setTimeout(() => process.stdout.write(JSON.stringify({ ...result, uncaught })), 10);
