// A child process for test/native/profile.test.ts, run under `perf record`: hot JIT code in three
// phases of equal length, with its names told to perf (a perf map and a jitdump in argv[2]).
//   1. spin_first at address A;
//   2. spin_first recompiled (redefine) to a longer body at another address B;
//   3. the unit unloaded, and spin_second defined in A's block again.
// Prints the addresses it used, as JSON, for the test to check against perf's report.

import { CodeHeap, type FunctionBody } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';

const [directory, phaseMs] = [process.argv[2]!, Number(process.argv[3] ?? 300)];

/** spin(n): `mov rcx, rdi; l: dec rcx; jnz l; mov rax, rdi; ret`, after `pad` NOPs. */
function spin(pad: number): FunctionBody {
  return { code: Uint8Array.from([...new Array<number>(pad).fill(0x90), 0x48, 0x89, 0xf9, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0x48, 0x89, 0xf8, 0xc3]) };
}

const heap = new CodeHeap({
  arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16,
  memory: nativeMemory({ profile: ['perf-map', 'jitdump'], jitdumpDirectory: directory }),
});

/** Runs fn for phaseMs of wall time. */
function run(name: string): number {
  const handle = heap.lookup(name);
  const until = performance.now() + phaseMs;
  while (performance.now() < until) heap.call(handle, 2_000_000);
  const address = heap.node(handle)!.address;
  handle.free();
  return address;
}

const unit = heap.define({ functions: [{ name: 'spin_first', ...spin(0) }] });
const first = run('spin_first');
heap.redefine(unit.get('spin_first'), spin(64));
const moved = run('spin_first');
unit.free();
heap.define({ functions: [{ name: 'spin_second', ...spin(0) }] });
const second = run('spin_second');
process.stdout.write(JSON.stringify({ pid: process.pid, first, moved, second }));
heap.close();
