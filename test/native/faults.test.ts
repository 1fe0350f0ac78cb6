// Faults in the heap's code become errors (native/faults.c, src/native-fault.ts): a SIGSEGV,
// SIGBUS, SIGILL, SIGFPE or SIGTRAP raised by code a call runs is a MACHINE_FAULT CodeHeapError
// naming the signal, the function and offset, the address it touched and the registers; the
// process goes on with the heap as it was. Faults anywhere else go to the handlers that were there
// before (V8's WebAssembly traps; the default, which ends the process). On CI the suite must run.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CodeHeap, CodeHeapError, type Handle } from '../../src/index.js';
import { isNativeAvailable, nativeMemory } from '../../src/native/index.js';
import { runWorker } from '../helpers/native.js';
import { addOne, FAULTS, type FaultSignal } from './fault-bodies.js';
import { TinyJit } from '../../examples/tiny-jit/jit.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';
if (!native.available) console.warn(`fault tests skipped: ${native.reason}`);

/** Node's WebAssembly, typed here: the project's lib (ES2022) leaves it out. */
const wasmApi = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object) => { exports: object };
    RuntimeError: new () => Error;
  };
}).WebAssembly;

function nativeHeap(compile?: (name: string) => ReturnType<typeof addOne>): CodeHeap {
  return new CodeHeap({
    arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, cycleThreshold: Infinity, memory: nativeMemory(),
    ...(compile === undefined ? {} : { compile }),
  });
}

/** The MACHINE_FAULT a call throws; fails the test when it returns or throws anything else. */
function faultOf(run: () => unknown): CodeHeapError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CodeHeapError);
    expect((error as CodeHeapError).code).toBe('MACHINE_FAULT');
    return error as CodeHeapError;
  }
  throw new Error('the call returned');
}

describe.runIf(native.available || mustRun)('a fault in the heap\'s code is an error of the call', () => {
  it('runs here', () => {
    expect(native.reason, 'on CI the fault tests must run').toBe('');
  });

  it.each(Object.keys(FAULTS) as FaultSignal[])('%s names the signal, the function and offset and the registers; the heap is as it was', (signal) => {
    const heap = nativeHeap();
    const unit = heap.define({ functions: [{ name: `raise_${signal}`, ...FAULTS[signal].body }, { name: 'add_one', ...addOne() }] });
    const before = heap.stats();
    const handle = unit.get(`raise_${signal}`);
    const error = faultOf(() => heap.call(handle, 7));
    const pc = heap.node(handle)!.address + FAULTS[signal].at;
    expect(error.message).toContain(`call(raise_${signal}): ${signal} at raise_${signal}+0x${FAULTS[signal].at.toString(16)} (pc 0x${pc.toString(16)})`);
    expect(error.message).toMatch(/Registers: rax=0x[0-9a-f]+ rbx=.* rip=0x[0-9a-f]+ eflags=0x[0-9a-f]+$/);
    const cause = error.cause as { signal: string; pc: number; registers: Record<string, bigint> };
    expect(cause).toMatchObject({ signal, pc });
    expect(cause.registers['rip']).toBe(BigInt(pc));
    expect(cause.registers['rdi']).toBe(7n);
    if (signal === 'SIGSEGV') expect(error.message).toContain('it touched 0x0 (a null pointer, or one near it)');
    if (signal === 'SIGBUS') expect(error.message).toContain('a misaligned access');
    // The process and the heap go on: the same heap runs code, and nothing of it changed.
    expect(heap.call(unit.get('add_one'), 41)).toBe(42n);
    expect(heap.stats()).toEqual(before);
    heap.verify();
    heap.close();
  });

  it('in the tiny JIT: a table index out of range reaches its ud2, a SIGILL named in the function, and the program runs on', () => {
    const heap = nativeHeap();
    const jit = new TinyJit(heap);
    const program = jit.load(`
      fn twice(x) = x * 2;
      fn negate(x) = -x;
      table ops = [twice, negate];
      fn apply(i, x) = ops[i](x);
    `);
    expect(jit.run(program, 'apply', 1n, 5n)).toBe(-5n);
    const before = heap.stats();
    const error = faultOf(() => jit.run(program, 'apply', 2n, 5n));
    // The bounds check: cmp rax, 2; jb inside; ud2. The fault is at the ud2, in apply.
    const apply = heap.node(program.functions.get('apply')!)!;
    const offset = (error.cause as { pc: number }).pc - apply.address;
    expect(heap.read(apply.address + offset, 2)).toEqual(Uint8Array.from([0x0f, 0x0b]));
    expect(error.message).toMatch(new RegExp(`^call\\(apply\\): SIGILL at apply\\+0x${offset.toString(16)} `));
    expect(heap.stats()).toEqual(before);
    expect(jit.run(program, 'apply', 0n, 5n)).toBe(10n);
    heap.verify();
    jit.unload(program);
    heap.close();
  });

  it('in a bound function, and in a lazy function\'s first call, the fault is named where it happened', () => {
    const heap = nativeHeap(() => FAULTS.SIGSEGV.body);
    const lazy = heap.declare('lazy_segv');
    heap.define({ functions: [{ name: 'caller', code: Uint8Array.from([0xe8, 0, 0, 0, 0, 0xc3]), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'lazy_segv', addend: -4 }] }] });
    const caller = heap.lookup('caller');
    const first = faultOf(() => heap.call(caller));
    expect(first.message).toMatch(/^call\(caller\): SIGSEGV at lazy_segv\+0x0 /);
    // The compile ran: the function has its body now, and the heap verifies.
    expect(heap.node(lazy)!.state).toBe('live');
    heap.verify();
    const bound = heap.bind(lazy, { parameters: [], result: 'i64' });
    expect(faultOf(() => bound()).message).toMatch(/^lazy_segv \(bound\)\(lazy_segv\): SIGSEGV at lazy_segv\+0x0 /);
    heap.verify();
    heap.close();
  });

  it('in a call nested in a compile callback, the inner call\'s fault comes out of the outer call', () => {
    let inner: Handle | undefined;
    const heap = nativeHeap(() => {
      heap.call(inner!);
      return addOne();
    });
    heap.declare('needs_compile');
    heap.define({
      functions: [
        { name: 'inner_segv', ...FAULTS.SIGSEGV.body },
        { name: 'outer', code: Uint8Array.from([0xe8, 0, 0, 0, 0, 0xc3]), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'needs_compile', addend: -4 }] },
      ],
    });
    inner = heap.lookup('inner_segv');
    const error = faultOf(() => heap.call(heap.lookup('outer')));
    expect(error.message).toMatch(/^call\(inner_segv\): SIGSEGV at inner_segv\+0x0 /);
    heap.verify();
    heap.close();
  });

  it('on a worker thread, as on the main one', async () => {
    const result = await runWorker<{ code: string; after: string }>(new URL('./worker-fault.ts', import.meta.url), null);
    expect(result).toEqual({ code: 'MACHINE_FAULT: call(worker_segv): SIGSEGV at worker_segv+0x0 (pc 0x' + result.code.split('(pc 0x')[1], after: '2' });
    expect(result.code).toMatch(/^MACHINE_FAULT: call\(worker_segv\): SIGSEGV at worker_segv\+0x0/);
  });

  it('a thousand faults in a row leave nothing behind: the same counts, the same memory, verify() after each', () => {
    const heap = nativeHeap();
    const unit = heap.define({ functions: [{ name: 'often', ...FAULTS.SIGSEGV.body }] });
    const handle = unit.get('often');
    const before = heap.stats();
    for (let i = 0; i < 100; i++) faultOf(() => heap.call(handle));
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) {
      faultOf(() => heap.call(handle));
      heap.verify();
    }
    expect(heap.stats()).toEqual(before);
    // A leak of a signal stack or a frame per fault would be 64 KiB or more each: 64 MB here.
    expect(process.memoryUsage().rss - rss).toBeLessThan(16 << 20);
    heap.close();
  });

  it('faults elsewhere go to the handlers there before: a WebAssembly trap is still V8\'s, a crash is still a crash', () => {
    // An out-of-bounds load in WebAssembly: V8's trap handler turns the SIGSEGV into a RuntimeError.
    const heap = nativeHeap();
    // (module (memory 1) (func (export "load") (result i32) (i32.load (i32.const 100000))))
    const wasm = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
      0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00,
      0x0a, 0x0b, 0x01, 0x09, 0x00, 0x41, 0xa0, 0x8d, 0x06, 0x28, 0x02, 0x00, 0x0b]);
    const { load } = new wasmApi.Instance(new wasmApi.Module(wasm)).exports as { load: () => number };
    expect(() => load()).toThrow(wasmApi.RuntimeError);
    heap.close();
    // Outside any call, a SIGSEGV ends the process as it would without codeheap.
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
      import('${new URL('../../src/native/index.ts', import.meta.url).href}').then(({ nativeMemory }) => {
        nativeMemory();
        process.kill(process.pid, 'SIGSEGV');
      });`], { encoding: 'utf8', timeout: 60_000 });
    expect(child.signal).toBe('SIGSEGV');
  });
});
