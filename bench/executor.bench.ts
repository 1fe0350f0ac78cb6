// What running the code in an executor process costs (README, Running the code in an executor):
// a heap.call's round trip (host to executor and back) beside the same call on native memory in
// this process, and a redefine with a backpatched caller on each memory, with the call right
// after it checked to run the new body in the executor: the backpatch is in the shared memfd
// before redefine returns, and nothing is sent for it. Then over TCP on 127.0.0.1: the round trip,
// and the bytes sent per define and per redefine.
//
// The two heaps run side by side, sample by sample (a round: one call on each, or one redefine
// and its checking call on each), on the compiled library in dist/. Skipped, with the reason,
// where native memory is not available.
//
// Run: npm run build && npx tsx bench/executor.bench.ts [--quick]

import { spawn } from 'node:child_process';
import type { CodeHeap as Heap, FunctionBody, Memory } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import type { ExecutorResult } from './executor-figures.js';
import { nowNs } from './harness.js';

export type { ExecutorResult };

// Paths in variables, so that typechecking a fresh clone does not need dist/ to exist.
const DIST_ENTRY: string = '../dist/index.js';
const DIST_NATIVE: string = '../dist/native/index.js';
const DIST_EXECUTOR: string = '../dist/executor/index.js';
const DIST_ADDON: string = '../dist/native/addon.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
const { isNativeAvailable, nativeMemory } = (await import(DIST_NATIVE)) as typeof import('../src/native/index.js');
const { connectExecutor, spawnExecutor } = (await import(DIST_EXECUTOR)) as typeof import('../src/executor/index.js');
const { EXECUTOR_PATH } = (await import(DIST_ADDON)) as typeof import('../src/native/addon.js');

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

/** The same call and define over TCP: a listener started here, its executor reached on 127.0.0.1. */
async function overTcp(budgetNs: number): Promise<NonNullable<ExecutorResult['tcp']>> {
  const listener = spawn(EXECUTOR_PATH, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) => listener.stdout.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))));
    const executor = connectExecutor({ host: '127.0.0.1', port });
    const heap = heapOn(executor);
    const add = heap.lookup('add');
    const calls: number[] = [];
    for (let i = 0; i < 2_000; i++) heap.call(add, i, 1);
    for (const started = nowNs(); nowNs() - started < budgetNs / 2;) {
      const t0 = nowNs();
      heap.call(add, 40, 2);
      calls.push(nowNs() - t0);
    }
    const FUNCTIONS = 8;
    const defines: number[] = [];
    const redefines: number[] = [];
    for (let round = 0; round < 200; round++) {
      const before = executor.bytesSent;
      const unit = heap.define({ functions: Array.from({ length: FUNCTIONS }, (_, i) => ({ name: `u${round}_${i}`, code: new Uint8Array(16).fill(0x90).fill(0xc3, 15) })) });
      heap.call(add, 1, 2);
      defines.push(executor.bytesSent - before);
      unit.free();
      const between = executor.bytesSent;
      heap.redefine(heap.lookup('value'), constant(round));
      heap.call(heap.lookup('caller'));
      redefines.push(executor.bytesSent - between);
    }
    heap.verify();
    heap.close();
    return { callNs: quantile(calls, 0.5), callP99Ns: quantile(calls, 0.99), functions: FUNCTIONS, bytesPerDefine: quantile(defines, 0.5), bytesPerRedefine: quantile(redefines, 0.5) };
  } finally {
    listener.kill();
  }
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
    // How soon the executor sees a backpatch: a thread there spins on the caller's site.
    const caller = heaps[0].node('caller')!.address;
    const seen: number[] = [];
    const took: number[] = [];
    let beforeReturn = 0;
    for (let round = 0; round < 300; round++) {
      next = (next + 1) & 0x7fff_ffff;
      const body = constant(next);
      const wait = executor.watch(caller);
      const t0 = process.hrtime.bigint();
      heaps[0].redefine(values[0]!, body);
      const t1 = process.hrtime.bigint();
      const at = wait();
      seen.push(Number(at - t0));
      took.push(Number(t1 - t0));
      if (at <= t1) beforeReturn++;
    }
    const visibility = { seenNs: quantile(seen, 0.5), redefineNs: quantile(took, 0.5), beforeReturn, samples: seen.length };
    for (const heap of heaps) heap.verify();
    const tcp = await overTcp(budgetNs);
    const result: ExecutorResult = {
      available, reason, tcp, visibility,
      call: { executorNs: quantile(calls[0]!, 0.5), executorP99Ns: quantile(calls[0]!, 0.99), nativeNs: quantile(calls[1]!, 0.5), nativeP99Ns: quantile(calls[1]!, 0.99) },
      redefine: { executorNs: quantile(redefines[0]!, 0.5), nativeNs: quantile(redefines[1]!, 0.5), samples: redefines[0]!.length, seenEveryTime },
    };
    console.log(`  heap.call round trip: ${(result.call.executorNs / 1e3).toFixed(2)} µs in an executor (p99 ${(result.call.executorP99Ns / 1e3).toFixed(2)} µs), `
      + `${(result.call.nativeNs / 1e3).toFixed(2)} µs in this process (${calls[0]!.length} samples each)`);
    console.log(`  redefine with a backpatched caller: ${(result.redefine.executorNs / 1e3).toFixed(2)} µs on executor memory, `
      + `${(result.redefine.nativeNs / 1e3).toFixed(2)} µs on native memory; the next call ran the new body every time: ${seenEveryTime}`);
    console.log(`  a backpatch seen in the executor ${(visibility.seenNs / 1e3).toFixed(2)} µs into a redefine of ${(visibility.redefineNs / 1e3).toFixed(2)} µs `
      + `(before it returned in ${visibility.beforeReturn} of ${visibility.samples})`);
    console.log(`  over TCP on 127.0.0.1: round trip ${(tcp.callNs / 1e3).toFixed(2)} µs (p99 ${(tcp.callP99Ns / 1e3).toFixed(2)} µs); `
      + `${tcp.bytesPerDefine} bytes sent a define of ${tcp.functions} functions of 16 bytes, ${tcp.bytesPerRedefine} a redefine`);
    return result;
  } finally {
    for (const heap of heaps) heap.close();
  }
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick }));
}
