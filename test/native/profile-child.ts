// A child process for test/native/profile.test.ts, run under `perf record`: the tiny JIT's hot
// code (examples/tiny-jit) in three phases of equal length, with its names told to perf (a perf
// map and a jitdump in argv[2]).
//   1. spin at tier 0, at address A;
//   2. spin recompiled at tier 1 (the JIT's redefine), at another address B;
//   3. the program unloaded, and another one's spun compiled at tier 0 into A's block again.
// Prints the addresses it used, as JSON, for the test to check against perf's report.

import { CodeHeap } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';
import { TinyJit, type Loaded } from '../../examples/tiny-jit/jit.js';

const [directory, phaseMs] = [process.argv[2]!, Number(process.argv[3] ?? 300)];

const heap = new CodeHeap({
  arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16,
  memory: nativeMemory({ profile: ['perf-map', 'jitdump'], jitdumpDirectory: directory }),
});
const jit = new TinyJit(heap);

/** Runs fn(16) for phaseMs of wall time, at the tier it is at (heap.call: no tier-up between calls); returns its address. */
function run(program: Loaded, name: string): number {
  const handle = program.functions.get(name)!;
  const until = performance.now() + phaseMs;
  while (performance.now() < until) heap.call(handle, 16n);
  return heap.node(handle)!.address;
}

const fib = (name: string): string => `fn ${name}(n) = if n < 2 then n else ${name}(n - 1) + ${name}(n - 2);`;
const program = jit.load(fib('spin'));
const first = run(program, 'spin');
jit.tierUp(program);
const moved = run(program, 'spin');
jit.unload(program);
const next = jit.load(fib('spun'));
const second = run(next, 'spun');
process.stdout.write(JSON.stringify({ pid: process.pid, first, moved, second }));
heap.close();
