// A child process for test/native/debugger.test.ts, run under gdb: the tiny JIT
// (examples/tiny-jit) on native memory that tells gdb of its code (profile 'gdb'). fib is lazy:
// gdb first learns of its trampoline, then of its body when its first call compiles it, with
// the line table the tiny JIT gives each body (its calls' lines, and its `fn`'s). Once the
// program is unloaded, another is loaded and run, where the test asks gdb about fib again.

import { CodeHeap } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';
import { TinyJit } from '../../examples/tiny-jit/jit.js';

const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: nativeMemory({ profile: 'gdb' }) });
const jit = new TinyJit(heap);
const program = jit.load(`
  fn fib(n) =
    if n < 2 then n
    else fib(n - 1) + fib(n - 2);
  fn start() = fib(6);
`, 'fib.tiny');
process.stdout.write(`result ${jit.run(program, 'start')}\n`);
jit.unload(program);
const after = jit.load('fn after_unload() = 0;');
jit.run(after, 'after_unload');
heap.close();
