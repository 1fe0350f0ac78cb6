// The tiny JIT at work (examples/tiny-jit/README.md): run with `npx tsx examples/tiny-jit/main.ts`.
// Needs native memory (Linux x86-64 with the addon built): the code runs.

import { CodeHeap, CodeHeapError } from '../../src/index.js';
import { isNativeAvailable, nativeMemory } from '../../src/native/index.js';
import { TinyJit } from './jit.js';
import { interpret } from './language.js';

const SOURCE = `
  fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2);
  fn square(x) = x * x;
  fn cube(x) = x * square(x);
  table powers = [square, cube];
  fn power(i, x) = powers[i](x) + 0 * (2 * 3);
`;

const native = isNativeAvailable();
if (!native.available) {
  console.log(`the tiny JIT needs native memory to run its code: ${native.reason}`);
  process.exit(0);
}
const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16, memory: nativeMemory() });
const jit = new TinyJit(heap);
const program = jit.load(SOURCE);
console.log(`loaded: ${program.program.functions.length} functions declared, none compiled (${jit.compiled.tier0} so far)`);
console.log(`fib(20) = ${jit.run(program, 'fib', 20n)} (interpreted: ${interpret(program.program, 'fib', [20n])})`);
console.log(`compiled: ${jit.compiled.tier0} at tier 0 on their first calls, ${jit.compiled.tier1} recompiled hot at tier 1`);
for (const [i, x] of [[0n, 7n], [1n, 7n]] as const) console.log(`power(${i}, ${x}) = ${jit.run(program, 'power', i, x)}`);
try {
  jit.run(program, 'power', 5n, 1n);
} catch (error) {
  console.log(`power(5, 1): ${error instanceof CodeHeapError ? `${error.code}: ${error.message.split('; ')[0]}` : String(error)}`);
}
console.log(`tiers: ${[...program.tiers].map(([name, tier]) => `${name} ${tier}`).join(', ')}`);
heap.verify();
console.log(`unloaded: ${jit.unload(program)} nodes freed; ${heap.stats().nodes.total} left`);
heap.verify();
heap.close();
