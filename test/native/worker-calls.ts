// A worker thread's part in the native thread test: its own heap, lazy calls whose compile
// callbacks take long enough for the other worker's calls to run at the same time.

import { parentPort, workerData } from 'node:worker_threads';
import { CodeHeap } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';
import { asm } from '../helpers/x86.js';

const { k, rounds } = workerData as { k: number; rounds: number };
const heap = new CodeHeap({
  arch: 'x86_64', codeSize: 64 * 1024, dataSize: 16 * 1024, memory: nativeMemory(),
  compile: () => {
    const until = Date.now() + 5;
    while (Date.now() < until) { /* spin: the other thread's calls overlap this one */ }
    return asm().leaRaxRdiPlus(k).ret().build();
  },
});
const lazy = heap.declare('addk');
// twice(x) = addk(addk(x)), after a few milliseconds spent in machine code first (mov ecx, 2^23;
// dec ecx; jnz back), so that the other thread starts calls while this one runs code.
const spin = asm().byte(0xb9, 0x00, 0x00, 0x80, 0x00).byte(0xff, 0xc9).byte(0x75, 0xfc);
const unit = heap.define({ functions: [{ name: 'twice', ...spin.subRsp8().call('addk').movRdiRax().call('addk').addRsp8().ret().build() }] });
const results: string[] = [];
for (let i = 0; i < rounds; i++) {
  results.push(String(heap.call(unit.get('twice'), i)));
  heap.evict(lazy);
}
heap.verify();
parentPort!.postMessage(results);
