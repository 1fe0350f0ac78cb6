// What running the code in an executor process costs (README, Running the code in an executor):
// a heap.call's round trip (host to executor and back) beside the same call on native memory in
// this process, and a redefine with a backpatched caller on each memory, with the call right
// after it checked to run the new body in the executor: the backpatch is in the shared memfd
// before redefine returns, and nothing is sent for it.
//
// The two heaps run side by side, sample by sample (a round: one call on each, or one redefine
// and its checking call on each), on the compiled library in dist/. Skipped, with the reason,
// where native memory is not available.
//
// Run: npm run build && npx tsx bench/executor.bench.ts [--quick]

import type { CodeHeap as Heap, FunctionBody, Memory } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import type { ExecutorResult } from './executor-figures.js';
import { nowNs } from './harness.js';

export type { ExecutorResult };

// Paths in variables, so that typechecking a fresh clone does not need dist/ to exist.
const DIST_ENTRY: string = '../dist/index.js';
const DIST_NATIVE: string = '../dist/native/index.js';
const DIST_EXECUTOR: string = '../dist/executor/index.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
const { isNativeAvailable, nativeMemory } = (await import(DIST_NATIVE)) as typeof import('../src/native/index.js');
const { spawnExecutor } = (await import(DIST_EXECUTOR)) as typeof import('../src/executor/index.js');

/** mov eax, imm32; ret */
function constant(value: number): FunctionBody {
  return { code: Uint8Array.from([0xb8, value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff, 0xc3]) };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function heapOn(memory: Memory): Heap {
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16, cycleThreshold: Infinity, memory });
  heap.define({
    functions: [
      // lea rax, [rdi + rsi]; ret
      { name: 'add', code: Uint8Array.from([0x48, 0x8d, 0x04, 0x37, 0xc3]) },
      { name: 'value', ...constant(0) },
      // jmp value: the site a redefine of value backpatches.
      { name: 'caller', code: Uint8Array.from([0xe9, 0, 0, 0, 0]), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'value', addend: -4 }] },
    ],
  });
  return heap;
}

export async function main(opts: { quick?: boolean } = {}): Promise<ExecutorResult> {
  const { available, reason } = isNativeAvailable();
  const none = { executorNs: 0, executorP99Ns: 0, nativeNs: 0, nativeP99Ns: 0 };
  if (!available) {
    console.log(`  skipped: native memory is not available (${reason})`);
    return { available, reason, call: none, redefine: { executorNs: 0, nativeNs: 0, samples: 0, seenEveryTime: false } };
  }
  const budgetNs = (opts.quick === true ? 200 : 2_000) * 1e6;
  const executor = spawnExecutor();
  const heaps = [heapOn(executor), heapOn(nativeMemory())] as const;
  try {
    const adds = heaps.map((h) => h.lookup('add'));
    const calls: number[][] = [[], []];
    for (let i = 0; i < 2_000; i++) for (const [h, heap] of heaps.entries()) heap.call(adds[h]!, i, 1);
    for (const started = nowNs(); nowNs() - started < budgetNs;) {
      for (const [h, heap] of heaps.entries()) {
        const t0 = nowNs();
        heap.call(adds[h]!, 40, 2);
        calls[h]!.push(nowNs() - t0);
      }
    }
    const redefines: number[][] = [[], []];
    const values = heaps.map((h) => h.lookup('value'));
    const callers = heaps.map((h) => h.lookup('caller'));
    let seenEveryTime = true;
    let next = 0;
    for (const started = nowNs(); nowNs() - started < budgetNs;) {
      next = (next + 1) & 0x7fff_ffff;
      for (const [h, heap] of heaps.entries()) {
        const body = constant(next);
        const t0 = nowNs();
        heap.redefine(values[h]!, body);
        redefines[h]!.push(nowNs() - t0);
        if (heap.call(callers[h]!) !== BigInt(next)) seenEveryTime = false;
      }
    }
    for (const heap of heaps) heap.verify();
    const result: ExecutorResult = {
      available, reason,
      call: { executorNs: quantile(calls[0]!, 0.5), executorP99Ns: quantile(calls[0]!, 0.99), nativeNs: quantile(calls[1]!, 0.5), nativeP99Ns: quantile(calls[1]!, 0.99) },
      redefine: { executorNs: quantile(redefines[0]!, 0.5), nativeNs: quantile(redefines[1]!, 0.5), samples: redefines[0]!.length, seenEveryTime },
    };
    console.log(`  heap.call round trip: ${(result.call.executorNs / 1e3).toFixed(2)} µs in an executor (p99 ${(result.call.executorP99Ns / 1e3).toFixed(2)} µs), `
      + `${(result.call.nativeNs / 1e3).toFixed(2)} µs in this process (${calls[0]!.length} samples each)`);
    console.log(`  redefine with a backpatched caller: ${(result.redefine.executorNs / 1e3).toFixed(2)} µs on executor memory, `
      + `${(result.redefine.nativeNs / 1e3).toFixed(2)} µs on native memory; the next call ran the new body every time: ${seenEveryTime}`);
    return result;
  } finally {
    for (const heap of heaps) heap.close();
  }
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick }));
}
