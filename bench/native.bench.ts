// Native memory: what running code from the heap costs (issue: native executable memory).
//
//  1. heap.call(add1, x) beside a plain JavaScript function call, and beside the addon's bare call
//     (the region's call, without the heap's checks and the count heap.call holds on the function), so
//     the figure splits into the transition into machine code and the heap's part.
//  2. A lazy first call: twice(x) calls add1, which was just evicted, so the call goes
//     trampoline -> resolver (machine code) -> JavaScript: compile callback, link, backpatch ->
//     back into the new body. Beside the direct call of twice with add1 live, and beside
//     materialize() alone (compile and backpatch without running anything), so the difference
//     is the trampoline and resolver's own cost. The evict before each sample is not timed.
//
// Skipped, with the reason, where native memory is not available. It runs in a process of its own
// (bench/child.ts), on the compiled library in dist/, as a JIT embedding codeheap would call it:
// after the other suites, V8's feedback on the heap's methods is shaped by their many heaps.
//
// Run: npm run build && npx tsx bench/native.bench.ts [--quick]

import { do_not_optimize } from 'mitata';
import type { FunctionBody } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { nowNs, time, timeManual, type Timing } from './harness.js';

// Paths in variables, so that typechecking a fresh clone does not need dist/ to exist.
const DIST_ENTRY: string = '../dist/index.js';
const DIST_NATIVE: string = '../dist/native/index.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
const { isNativeAvailable, nativeMemory } = (await import(DIST_NATIVE)) as typeof import('../src/native/index.js');

const KiB = 1024;
/** Calls per timed call of the cheap operations, so mitata times more than its own loop. */
const REPEAT = 64;

export interface NativeResults {
  readonly available: boolean;
  /** Why not, when not available. */
  readonly reason: string;
  readonly figures: {
    /** A plain JavaScript function call: the limit of calling anything from JavaScript. */
    readonly jsCall: Timing;
    /** The region's bare call: JavaScript -> Node-API -> machine code and back. */
    readonly regionCall: Timing;
    /** heap.call(add1, x): checks, a count held on add1 for the call, and the region's call. */
    readonly heapCall: Timing;
    /** heap.call(twice, x) with add1 live: two direct calls inside the machine code. */
    readonly directCall: Timing;
    /** heap.call(twice, x) right after evict(add1): trampoline, resolver, compile, backpatch, run. */
    readonly lazyFirstCall: Timing;
    /** materialize(add1) right after evict(add1): compile and backpatch, nothing run. */
    readonly materialize: Timing;
  } | null;
}

// add1(x) = x + 1: lea rax, [rdi+1]; ret
const add1Body = (): FunctionBody => ({ code: Uint8Array.from([0x48, 0x8d, 0x47, 0x01, 0xc3]) });
// twice(x) = add1(add1(x)): sub rsp, 8; call add1; mov rdi, rax; call add1; add rsp, 8; ret
const twiceBody = (): FunctionBody => ({
  code: Uint8Array.from([
    0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0, 0x48, 0x89, 0xc7, 0xe8, 0, 0, 0, 0, 0x48, 0x83, 0xc4, 0x08, 0xc3,
  ]),
  relocations: [
    { offset: 5, type: 'R_X86_64_PLT32', symbol: 'add1', addend: -4 },
    { offset: 13, type: 'R_X86_64_PLT32', symbol: 'add1', addend: -4 },
  ],
});

function jsAdd1(x: number): number {
  return x + 1;
}

export async function main(opts: { quick?: boolean } = {}): Promise<NativeResults> {
  const quick = opts.quick === true;
  const { available, reason } = isNativeAvailable();
  if (!available) {
    console.log(`  skipped: native memory is not available (${reason})`);
    return { available, reason, figures: null };
  }
  const body = add1Body();
  const heap = new CodeHeap({
    arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, memory: nativeMemory(), cycleThreshold: Infinity,
    compile: () => body,
  });
  const unit = heap.define({ functions: [{ name: 'add1', ...add1Body() }, { name: 'twice', ...twiceBody() }] });
  const add1 = unit.get('add1');
  const twice = unit.get('twice');
  const region = heap.region;
  const noLazy = (): number => { throw new Error('no lazy function here'); };
  if (heap.call(twice, 1) !== 3n || jsAdd1(1) !== 2) throw new Error('native bench: wrong results');

  console.log(`a call from JavaScript (${REPEAT} calls per timed call, figures per call)`);
  const repeat = { quick, operations: REPEAT };
  const jsCall = await time('plain JavaScript function call', () => {
    let x = 0;
    for (let i = 0; i < REPEAT; i++) x = jsAdd1(x);
    do_not_optimize(x);
  }, repeat);
  const address = add1.address;
  const regionCall = await time('region.call (bare native transition)', () => {
    let x = 0n;
    for (let i = 0; i < REPEAT; i++) x = region.call!(address, noLazy, [i]);
    do_not_optimize(x);
  }, repeat);
  const heapCall = await time('heap.call(add1, x)', () => {
    let x = 0n;
    for (let i = 0; i < REPEAT; i++) x = heap.call(add1, i);
    do_not_optimize(x);
  }, repeat);
  const directCall = await time('heap.call(twice, x), add1 live', () => {
    let x = 0n;
    for (let i = 0; i < REPEAT; i++) x = heap.call(twice, i);
    do_not_optimize(x);
  }, repeat);

  console.log('a lazy first call (the evict before each sample is not timed)');
  const single = { quick };
  const lazyFirstCall = await timeManual('heap.call(twice, x) right after evict(add1)', () => {
    heap.evict(add1);
    const t0 = nowNs();
    const x = heap.call(twice, 1);
    const elapsed = nowNs() - t0;
    do_not_optimize(x);
    return elapsed;
  }, single);
  const materialize = await timeManual('materialize(add1) right after evict(add1)', () => {
    heap.evict(add1);
    const t0 = nowNs();
    heap.materialize(add1);
    return nowNs() - t0;
  }, single);
  if (heap.call(twice, 1) !== 3n) throw new Error('native bench: wrong result after the lazy rounds');
  heap.verify();
  return { available, reason, figures: { jsCall, regionCall, heapCall, directCall, lazyFirstCall, materialize } };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick }));
}
