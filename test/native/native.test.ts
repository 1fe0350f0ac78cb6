// Native executable memory: real x86-64 code placed by the heap, run by the CPU.
//
// Every law of the heap (backpatching, stable pointers through stubs, lazy compilation, eviction,
// reclamation by counting and by the collector) is observed here by the machine code itself.
// Runs on Linux x86-64 with the addon built; elsewhere the suite is skipped with the reason
// printed. On CI on Linux x86-64, a missing addon fails instead: the native tests must run there.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CodeHeap, CodeHeapError, type CodeHeapOptions, type FunctionBody, type Handle } from '../../src/index.js';
import { isNativeAvailable, nativeMemory } from '../../src/native/index.js';
import { expectCode } from '../helpers/errors.js';
import { runWorker } from '../helpers/native.js';
import { ON_EXECUTOR, runningMemory } from '../helpers/memory.js';
import { asm, image, quads, readU64, sameBytes, stubOf } from '../helpers/x86.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';
if (!native.available) console.warn(`native memory tests skipped: ${native.reason}`);

const KiB = 1024;

function nativeHeap(options: Partial<CodeHeapOptions> = {}): CodeHeap {
  return new CodeHeap({
    arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, cycleThreshold: Infinity, memory: runningMemory(), ...options,
  });
}

/** x + imm: `lea rax, [rdi+imm]; ret`. */
const addN = (imm: number): FunctionBody => asm().leaRaxRdiPlus(imm).ret().build();

/** fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2), calling itself twice (two sites). */
const fib = (): FunctionBody => asm()
  .movRaxRdi().cmpRdi(2).jl('done')
  .push('rbx').push('rbp').subRsp8()
  .movRbxRdi().leaRdiRbxPlus(-1).call('fib').movRbpRax()
  .leaRdiRbxPlus(-2).call('fib').addRaxRbp()
  .addRsp8().pop('rbp').pop('rbx')
  .label('done').ret().build();

/** twice(x) = add1(add1(x)): two call sites of add1. */
const twice = (): FunctionBody => asm().subRsp8().call('add1').movRdiRax().call('add1').addRsp8().ret().build();

/** The same three functions as one unit: add1, twice, and viaTable, a tail jump through vtable[0] = &add1. */
function vtableUnit(heap: CodeHeap): { add1: Handle; twice: Handle; viaTable: Handle; vtable: Handle } {
  const unit = heap.define({
    functions: [
      { name: 'add1', ...addN(1) },
      { name: 'twice', ...twice() },
      { name: 'viaTable', ...asm().jmpThrough('vtable').build() },
    ],
    globals: [{ name: 'vtable', ...quads(8, [{ offset: 0, symbol: 'add1' }]) }],
  });
  return { add1: unit.get('add1'), twice: unit.get('twice'), viaTable: unit.get('viaTable'), vtable: unit.get('vtable') };
}

describe.skipIf(ON_EXECUTOR)('native memory is available where it must be', () => {
  it.runIf(mustRun)('on CI on Linux x86-64 the addon is built and loads', () => {
    expect(native.reason).toBe('');
    expect(native.available).toBe(true);
  });
  it.runIf(!native.available)('says why it is not available, and nativeMemory() refuses with NOT_EXECUTABLE', () => {
    expect(native.reason).not.toBe('');
    expectCode(() => nativeMemory(), 'NOT_EXECUTABLE');
  });
});

describe.skipIf(!native.available)('native memory: the machine code runs', () => {
  it('fib(20) = 6765, recursing through its own two call sites', () => {
    const heap = nativeHeap();
    const f = heap.define({ functions: [{ name: 'fib', ...fib() }] }).get('fib');
    expect(heap.call(f, 20)).toBe(6765n);
    expect(heap.call(f, 1)).toBe(1n);
    heap.verify();
  });

  it('passes six integer arguments as numbers or BigInts and returns rax signed', () => {
    const heap = nativeHeap();
    const sum = heap.define({ functions: [{ name: 'sum6', ...asm().movRaxRdi().addArgumentsToRax().ret().build() }] }).get('sum6');
    expect(heap.call(sum, 1, 2, 3, 4, 5, 6)).toBe(21n);
    expect(heap.call(sum, -10, 3n)).toBe(-7n);
    expect(heap.call(sum, 1n << 62n, 1n << 62n)).toBe(-(1n << 63n)); // wraps like the register
    expect(heap.call(sum, (1n << 64n) - 1n, 1)).toBe(0n); // 2^64 - 1 is -1 in the register
    expectCode(() => heap.call(sum, 1, 2, 3, 4, 5, 6, 7), 'INVALID_ARGUMENT');
    expectCode(() => heap.call(sum, 1.5), 'INVALID_ARGUMENT');
    expectCode(() => heap.call(sum, 1n << 64n), 'INVALID_ARGUMENT');
    expectCode(() => heap.call(sum, '1' as unknown as number), 'INVALID_ARGUMENT');
    heap.verify();
  });

  it('redefine(add1): both call sites of twice and the vtable reach the new body; the pointer never changes', () => {
    const heap = nativeHeap();
    const { add1, twice: tw, viaTable, vtable } = vtableUnit(heap);
    const pointer = readU64(heap, vtable.address);
    expect(pointer).toBe(stubOf(heap, 'add1'));
    expect(heap.call(tw, 5)).toBe(7n);
    expect(heap.call(viaTable, 5)).toBe(6n);
    heap.redefine(add1, addN(10));
    heap.verify();
    expect(heap.call(tw, 5)).toBe(25n);
    expect(heap.call(viaTable, 5)).toBe(15n);
    expect(heap.call(add1, 5)).toBe(15n);
    expect(readU64(heap, vtable.address)).toBe(pointer);
    heap.verify();
  });

  it('evict(add1): the next call of twice compiles add1 exactly once, through the trampoline, and returns the new result', () => {
    let compiles = 0;
    const heap = nativeHeap({ compile: () => { compiles++; return addN(100); } });
    const { add1, twice: tw, viaTable, vtable } = vtableUnit(heap);
    const pointer = readU64(heap, vtable.address);
    heap.evict(add1);
    heap.verify();
    expect(heap.node('add1')!.state).toBe('lazy');
    expect(heap.call(tw, 5)).toBe(205n); // the first call resolves; the second call site is patched by then
    expect(compiles).toBe(1);
    expect(heap.node('add1')!.state).toBe('live');
    expect(heap.call(tw, 5)).toBe(205n);
    expect(heap.call(viaTable, 1)).toBe(101n);
    expect(compiles).toBe(1);
    // Evicted again and entered through the vtable's stub this time.
    heap.evict(add1);
    expect(heap.call(viaTable, 1)).toBe(101n);
    expect(compiles).toBe(2);
    expect(readU64(heap, vtable.address)).toBe(pointer);
    heap.verify();
  });

  it('calls a lazy function directly, and the resolver hands all six argument registers to the new body', () => {
    const heap = nativeHeap();
    const lazy = heap.declare('sum6', () => asm().movRaxRdi().addArgumentsToRax().ret().build());
    expect(heap.call(lazy, 1, 20, 300, 4000, 50000, 600000)).toBe(654321n);
    expect(heap.node('sum6')!.state).toBe('live');
    heap.verify();
  });

  it('a call that entered a trampoline ends as a mutating call: what it let go of is reclaimed and reported before it returns', () => {
    // heap.call skips the end of a mutating call when it held nothing but its function (no code of
    // the caller's ran). Here the compile callback frees the last handle on the lazy function the
    // call entered: the call's own counts were the last, so the body goes when it returns.
    const events: string[] = [];
    const heap = nativeHeap({ observer: { free: (e) => events.push(`free ${e.name} ${e.kind} ${e.by}`), alloc: (e) => events.push(`alloc ${e.name} ${e.kind}`) } });
    const lazy: Handle = heap.declare('add7', () => {
      lazy.free();
      return addN(7);
    });
    events.length = 0;
    expect(heap.call(lazy, 1)).toBe(8n);
    expect(events).toEqual(['alloc add7 function', 'free add7 trampoline materialize', 'free add7 function rc']);
    expect(heap.node('add7')).toBeUndefined();
    expect(heap.stats().nodes.total).toBe(0);
    heap.verify();
  });

  it('a call that entered no trampoline leaves stats() as it was and reports nothing', () => {
    const events: string[] = [];
    const heap = nativeHeap({ cycleThreshold: 1, observer: { free: (e) => events.push(e.name), alloc: (e) => events.push(e.name) } });
    const add1 = heap.define({ functions: [{ name: 'add1', ...addN(1) }] }).get('add1');
    const before = heap.stats();
    events.length = 0;
    for (let i = 0; i < 100; i++) expect(heap.call(add1, i)).toBe(BigInt(i + 1));
    expect(heap.stats()).toEqual(before);
    expect(events).toEqual([]);
    heap.verify();
  });

  it('a compile callback that throws makes heap.call throw that error, with the heap unchanged', () => {
    const heap = nativeHeap();
    const failure = new Error('the JIT gave up on add1');
    let fail = true;
    const lazy = heap.declare('add1', () => {
      if (fail) throw failure;
      return addN(3);
    });
    const unit = heap.define({ functions: [{ name: 'twice', ...twice() }] });
    lazy.free();
    const tw = unit.get('twice');
    const before = image(heap);
    expect(() => heap.call(tw, 1)).toThrow(failure);
    const after = image(heap);
    // The call's pin on twice is a real count: its release makes twice a cycle candidate, as any
    // release to a non-zero count does. Nothing else may differ.
    expect({ ...after.stats, candidates: 0 }).toEqual({ ...before.stats, candidates: 0 });
    expect(sameBytes(after.code, before.code) && sameBytes(after.data, before.data)).toBe(true);
    expect(heap.node('add1')!.state).toBe('lazy');
    heap.verify();
    fail = false;
    expect(heap.call(tw, 1)).toBe(7n);
    heap.verify();
  });

  it('a lazy function with no compile callback: NO_COMPILE_CALLBACK out of heap.call', () => {
    const heap = nativeHeap();
    const lazy = heap.declare('add1');
    const unit = heap.define({ functions: [{ name: 'twice', ...twice() }] });
    lazy.free();
    expectCode(() => heap.call(unit.get('twice'), 1), 'NO_COMPILE_CALLBACK');
    heap.verify();
  });

  it('the called function stays pinned: a compile callback that redefines it cannot reclaim the running body', () => {
    const heap = nativeHeap();
    // outer(x) = inner(x) + 1; inner is lazy, and compiling it recompiles outer as outer(x) = 0.
    let retiredDuringCompile = -1;
    const inner = heap.declare('inner', () => {
      heap.redefine(outer, asm().movRaxImm(0).ret().build());
      retiredDuringCompile = heap.stats().nodes.retired;
      return addN(10);
    });
    const unit = heap.define({ functions: [{ name: 'outer', ...asm().subRsp8().call('inner').addRax(1).addRsp8().ret().build() }] });
    const outer = unit.get('outer');
    inner.free();
    // The old body of outer is still running: it must come back from inner and add 1.
    expect(heap.call(outer, 5)).toBe(16n);
    expect(retiredDuringCompile).toBe(1);
    expect(heap.stats().nodes.retired).toBe(0); // the pin went with the call, and the old body with it
    expect(heap.call(outer, 5)).toBe(0n);
    heap.verify();
  });

  it('a compile callback that recompiles a caller further up the machine stack: the old body stays until the call returns', () => {
    // Regression: top -> mid -> leaf (lazy); leaf's compile callback recompiles mid (a tier-up) and
    // defines more code. mid's old body must not be reused while leaf returns into it.
    const heap = nativeHeap();
    const mid = (k: number): FunctionBody => asm().subRsp8().call('leaf').addRax(k).addRsp8().ret().build();
    let unit: ReturnType<CodeHeap['define']> | undefined;
    const leaf = heap.declare('leaf', () => {
      heap.redefine(unit!.get('mid'), mid(50));
      heap.define({ functions: [{ name: 'filler', ...asm().nop(64).movRaxImm(-1).ret().build() }] }).get('filler').free();
      return addN(1);
    });
    unit = heap.define({
      functions: [
        { name: 'top', ...asm().subRsp8().call('mid').addRsp8().ret().build() },
        { name: 'mid', ...mid(10) },
      ],
    });
    leaf.free();
    expect(heap.call(unit.get('top'), 100)).toBe(111n); // the old mid (+10) finished the call
    expect(heap.stats().nodes.retired).toBe(0);
    expect(heap.call(unit.get('top'), 100)).toBe(151n);
    heap.verify();
  });

  it('an observer that throws while heap.call lets go of its pins leaks nothing, and the call returns its result', () => {
    // Regression: the pins of a call were released one by one with events delivered between, so a
    // throwing observer left the rest held. An observer's error never changes the call's outcome:
    // it reaches the observer's error method.
    let armed = false;
    const errors: unknown[] = [];
    const heap = nativeHeap({
      observer: { free: () => { if (armed) throw new Error('observer failed'); }, error: (error) => errors.push(error) },
    });
    let unit: ReturnType<CodeHeap['define']> | undefined;
    const lazy = heap.declare('add1', () => {
      unit!.free(); // twice lives on through the call's pin; it goes when the call lets go
      armed = true;
      return addN(1);
    });
    unit = heap.define({ functions: [{ name: 'twice', ...twice() }] });
    const tw = unit.get('twice');
    lazy.free();
    expect(heap.call(tw, 1)).toBe(3n);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e instanceof Error && e.message === 'observer failed')).toBe(true);
    armed = false;
    heap.collectCycles();
    expect(heap.stats().nodes.total).toBe(0);
    heap.verify();
  });

  it('nested calls: a compile callback may run code of the heap, and its error reaches the outer call', () => {
    const heap = nativeHeap();
    const lazyAdd = heap.declare('add1', () => addN(Number(heap.call(three))));
    const unit = heap.define({ functions: [{ name: 'twice', ...twice() }, { name: 'three', ...asm().movRaxImm(3).ret().build() }] });
    const three = unit.get('three');
    lazyAdd.free();
    expect(heap.call(unit.get('twice'), 1)).toBe(7n);
    // A callback whose nested call enters a lazy function whose callback throws.
    const boom = heap.declare('boom', () => { throw new RangeError('boom'); });
    const callsBoom = heap.declare('callsBoom', () => {
      heap.call(boom);
      return addN(0);
    });
    const caller = heap.define({ functions: [{ name: 'caller', ...asm().jmp('callsBoom').build() }] }).get('caller');
    expect(() => heap.call(caller)).toThrow(RangeError);
    expect(heap.node('callsBoom')!.state).toBe('lazy');
    expect(heap.node('boom')!.state).toBe('lazy');
    heap.verify();
    callsBoom.free();
  });

  it('a heap.call whose compile callback throws leaves stats() as it was, the candidate buffer included', () => {
    // Regression: the call and its lazy resolution held counts through temporary handles, whose
    // release made the caller a cycle candidate, although the README says the heap is unchanged.
    const heap = nativeHeap();
    const lazy = heap.declare('add1', () => { throw new RangeError('no compiler today'); });
    const tw = heap.define({ functions: [{ name: 'twice', ...twice() }] }).get('twice');
    lazy.free();
    const before = heap.stats();
    expect(() => heap.call(tw, 1)).toThrow(RangeError);
    heap.verify();
    expect(heap.stats()).toEqual(before);
    expect(heap.stats().candidates).toBe(0);
  });

  it('a tail call to labs from the C library (dlsym): direct when in rel32 reach, else through an external stub', () => {
    const near = nativeHeap(); // placed by the kernel, usually near the C library
    const low = nativeHeap({ codeAddress: 0x4000_0000 }); // 1 GiB: far from it
    for (const heap of [near, low]) {
      const abs = heap.define({ functions: [{ name: 'abs', ...asm().jmp('labs').build() }] }).get('abs');
      expect(heap.call(abs, -42)).toBe(42n);
      expect(heap.call(abs, -(2 ** 40))).toBe(2n ** 40n);
      heap.verify();
    }
    expect(low.stats().nodes.stubs).toBe(1);
  });

  it('processSymbols: false leaves C symbols unresolved; a resolveExternal option is asked first, the process after it', () => {
    const off = new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, memory: runningMemory({ processSymbols: false }) });
    expectCode(() => off.define({ functions: [{ name: 'abs', ...asm().jmp('labs').build() }] }), 'UNDEFINED_SYMBOL');
    const asked: string[] = [];
    const own = nativeHeap({ resolveExternal: (name) => { asked.push(name); return undefined; } });
    own.define({ functions: [{ name: 'abs', ...asm().jmp('labs').build() }] });
    expect(asked).toEqual(['labs']);
    expect(own.call(own.lookup('abs'), -7)).toBe(7n);
    const allowList = new CodeHeap({
      arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB, memory: runningMemory({ processSymbols: false }), resolveExternal: () => undefined,
    });
    expectCode(() => allowList.define({ functions: [{ name: 'abs', ...asm().jmp('labs').build() }] }), 'UNDEFINED_SYMBOL');
  });

  it('code writes a global in the data arena, and the heap reads the same bytes', () => {
    const heap = nativeHeap();
    const unit = heap.define({
      functions: [{ name: 'bump', ...asm().incGlobal('counter').loadRax('counter').ret().build() }],
      globals: [{ name: 'counter', size: 8 }],
    });
    for (let i = 1; i <= 3; i++) expect(heap.call(unit.get('bump'))).toBe(BigInt(i));
    expect(readU64(heap, unit.get('counter').address)).toBe(3);
    heap.verify();
  });

  it('thousands of define/call/free rounds reuse freed code memory and always run the newest code', () => {
    const heap = nativeHeap({ codeSize: 4 * KiB }); // room for a few hundred at most at once
    const addresses = new Set<number>();
    for (let round = 0; round < 5000; round++) {
      const f = heap.define({ functions: [{ name: 'f', ...asm().movRaxImm(round).ret().build() }] }).get('f');
      addresses.add(f.address);
      expect(heap.call(f)).toBe(BigInt(round));
      f.free();
      if (round % 1000 === 0) heap.verify();
    }
    expect(addresses.size).toBeLessThan(64);
    expect(heap.stats().nodes.total).toBe(0);
    heap.verify();
  });

  it('a recursive function freed by its handle is reclaimed by collectCycles() and its memory reused', () => {
    const heap = nativeHeap();
    const baseline = heap.stats().usedBytes;
    // A handle of its own (lookup's), so that its free is not the unit's last and is left to the collector.
    const unit = heap.define({ functions: [{ name: 'fib', ...fib() }] });
    const f = heap.lookup('fib');
    unit.free();
    const address = f.address;
    expect(heap.call(f, 10)).toBe(55n);
    f.free();
    expect(heap.node('fib')!.rc).toBe(2); // its own two call sites
    const result = heap.collectCycles();
    expect(result.freed).toBe(1);
    expect(heap.stats().usedBytes).toBe(baseline);
    heap.verify();
    const g = heap.define({ functions: [{ name: 'g', ...asm().movRaxImm(7).ret().build() }] }).get('g');
    expect(g.address).toBe(address);
    expect(heap.call(g)).toBe(7n);
    heap.verify();
  });
});

describe.skipIf(!native.available || ON_EXECUTOR)('native memory: threads', () => {
  it('worker threads run lazy calls at the same time, each resolved in its own thread', async () => {
    // Regression: the running call was one process-wide variable, so one thread's trampoline
    // entered the other thread's JavaScript and V8 aborted the process.
    const run = (k: number): Promise<string[]> => runWorker(new URL('./worker-calls.ts', import.meta.url), { k, rounds: 5 });
    const [a, b] = await Promise.all([run(1), run(7)]);
    expect(a).toEqual([0, 1, 2, 3, 4].map((x) => String(x + 2)));
    expect(b).toEqual([0, 1, 2, 3, 4].map((x) => String(x + 14)));
  });
});

describe.skipIf(!native.available || ON_EXECUTOR)('native memory: write xor execute', () => {
  it('no page is ever writable and executable: code r-x at its address, data rw-, the heap view rw- elsewhere', () => {
    const heap = nativeHeap();
    const unit = heap.define({ functions: [{ name: 'f', ...addN(1) }], globals: [{ name: 'g', size: 8 }] });
    const { code, data } = heap.stats();
    const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes('memfd:codeheap'));
    const spans = maps.map((line) => {
      const [range, perms] = line.split(' ') as [string, string];
      const [low, high] = range.split('-').map((h) => Number.parseInt(h, 16)) as [number, number];
      return { low, high, perms };
    });
    for (const span of spans) expect(span.perms.includes('w') && span.perms.includes('x'), JSON.stringify(span)).toBe(false);
    const at = (address: number) => spans.find((s) => s.low <= address && address < s.high);
    expect(at(code.address)?.perms).toBe('r-xs');
    expect(at(unit.get('f').address)?.perms).toBe('r-xs');
    expect(at(data.address)?.perms).toBe('rw-s');
    expect(spans.filter((s) => s.perms === 'rw-s' && s.high - s.low === code.size + data.size).length).toBeGreaterThan(0);
    expect(heap.region.executable).toBe(true);
  });

  it('a range the process already uses is refused with a clear error, and nothing is mapped', () => {
    const first = nativeHeap();
    const { address } = first.stats().code;
    try {
      nativeHeap({ codeAddress: address });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CodeHeapError);
      expect((error as CodeHeapError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toContain(`0x${address.toString(16)}`);
    }
  });

  it('arenas outside user space are refused with INVALID_ARGUMENT: page 0 is never mapped', () => {
    expectCode(() => nativeHeap({ codeAddress: 0 }), 'INVALID_ARGUMENT');
    expectCode(() => nativeHeap({ codeAddress: 0x7fff_ffff_0000 }), 'INVALID_ARGUMENT');
  });

  it('a heap refused for another option reserves no address space', () => {
    const reserved = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => / ---p 00000000 00:00 0 *$/.test(l)).length;
    const before = reserved();
    // A leak adds one reservation per refused heap; V8 and finished worker threads come and go
    // with a few of their own, so the bound is far below the 200 a leak would add.
    for (let i = 0; i < 200; i++) expectCode(() => nativeHeap({ cycleThreshold: -1 }), 'INVALID_ARGUMENT');
    expect(reserved() - before).toBeLessThan(50);
  });

  it('heap.call on simulated memory is NOT_EXECUTABLE', () => {
    const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 16 * KiB });
    const f = heap.define({ functions: [{ name: 'f', ...addN(1) }] }).get('f');
    expectCode(() => heap.call(f, 1), 'NOT_EXECUTABLE');
  });
});
