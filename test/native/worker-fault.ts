// A worker thread for test/native/faults.test.ts: a fault in JIT code run on this thread is an
// error of this thread's call, and the heap goes on.

import { parentPort } from 'node:worker_threads';
import { CodeHeap, CodeHeapError } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';
import { addOne, FAULTS } from './fault-bodies.js';

const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: nativeMemory() });
const unit = heap.define({ functions: [{ name: 'worker_segv', ...FAULTS.SIGSEGV.body }, { name: 'worker_ok', ...addOne() }] });
let code = '';
try {
  heap.call(unit.get('worker_segv'));
} catch (error) {
  code = error instanceof CodeHeapError ? `${error.code}: ${error.message.split(';')[0]}` : String(error);
}
const after = heap.call(unit.get('worker_ok'), 1).toString();
heap.verify();
heap.close();
parentPort!.postMessage({ code, after });
