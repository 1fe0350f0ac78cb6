// The heap here, its code in an executor process (README, Running the code in an executor):
// calls, a lazy function compiled here from inside a call there, a recompile the running code
// sees at once, a crash that is an error here, and a new executor for the same heap.
//
// Run: npx tsx examples/executor.ts

import { CodeHeap, CodeHeapError, type FunctionBody } from '../src/index.js';
import { spawnExecutor } from '../src/executor/index.js';

const bytes = (...code: number[]): FunctionBody => ({ code: Uint8Array.from(code) });
/** lea rax, [rdi + imm8]; ret */
const addImmediate = (imm: number): FunctionBody => bytes(0x48, 0x8d, 0x47, imm, 0xc3);

const executor = spawnExecutor({ timeoutMs: 5_000, libraries: ['libm.so.6'] });
const heap = new CodeHeap({
  arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16, memory: executor,
  // Called here, while the executor waits inside the call that reached the lazy function.
  compile: (name) => {
    console.log(`  compiling ${name} (the executor waits in its first call)`);
    return addImmediate(1);
  },
});
console.log(`host pid ${process.pid}, executor pid ${executor.pid}`);

heap.declare('add_one');
heap.define({
  functions: [
    // lea rax, [rdi + rsi]; ret
    { name: 'add', ...bytes(0x48, 0x8d, 0x04, 0x37, 0xc3) },
    // jmp add_one: the first call goes through add_one's trampoline, back to this process.
    { name: 'next', code: Uint8Array.from([0xe9, 0, 0, 0, 0]), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'add_one', addend: -4 }] },
    // jmp cos: a symbol of the executor's process (libm, loaded there).
    { name: 'cosine', code: Uint8Array.from([0xe9, 0, 0, 0, 0]), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'cos', addend: -4 }] },
    // mov rax, [0]: a null pointer.
    { name: 'crash', ...bytes(0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0xc3) },
  ],
});
console.log(`add(40, 2) = ${heap.call(heap.lookup('add'), 40, 2)}`);
console.log(`next(41) = ${heap.call(heap.lookup('next'), 41)}`);
heap.redefine(heap.lookup('add_one'), addImmediate(100));
console.log(`next(41) = ${heap.call(heap.lookup('next'), 41)} after add_one was recompiled (backpatched in the shared memfd)`);
console.log(`cos(0) = ${heap.bind(heap.lookup('cosine'), { parameters: ['f64'], result: 'f64' })(0)}`);

try {
  heap.call(heap.lookup('crash'));
} catch (error) {
  if (!(error instanceof CodeHeapError) || error.code !== 'EXECUTOR_LOST') throw error;
  console.log(`crash(): ${error.code}: ${error.message.split('. Registers')[0]}`);
}
heap.verify();
executor.respawn();
console.log(`respawned: executor pid ${executor.pid}; next(41) = ${heap.call(heap.lookup('next'), 41)}`);
heap.verify();
heap.close();
console.log('heap.close(): the executor ended with its heap');
