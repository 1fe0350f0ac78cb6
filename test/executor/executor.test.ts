// codeheap/executor: the heap's code run in an executor process (native/executor.c) while the
// heap stays here. Calls and typed calls with buffers; a lazy function compiled here from inside
// a call there, and a call nested in that compile; external symbols resolved in the executor;
// backpatches, an evict and a stub's retargeting seen by the code running there, through the
// shared memfd. Then the executor lost: a segfault in the heap's code, a SIGKILL while a call
// waits on the host, a hang past the timeout; each is EXECUTOR_LOST with how it ended, the heap
// verifies, and respawn() gives it a new executor with every body and global where it was. Then
// the same over TCP on 127.0.0.1 (connectExecutor), the heap's writes copied before code runs.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeHeap, type FunctionBody } from '../../src/index.js';
import { isNativeAvailable } from '../../src/native/index.js';
import { connectExecutor, spawnExecutor, type ExecutorMemory } from '../../src/executor/index.js';
import { listenExecutor } from '../helpers/memory.js';
import { expectCode } from '../helpers/errors.js';
import { addOne, FAULTS } from '../native/fault-bodies.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';
if (!native.available) console.warn(`executor tests skipped: ${native.reason}`);

const bytes = (...code: number[]): FunctionBody => ({ code: Uint8Array.from(code) });
/** mov eax, imm32; ret */
const constant = (value: number): FunctionBody => bytes(0xb8, value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff, 0xc3);
/** jmp f: a tail call through a relocation. */
const tailCall = (symbol: string): FunctionBody => ({ code: Uint8Array.from([0xe9, 0, 0, 0, 0]), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol, addend: -4 }] });
/** call [rip + slot]; ret: a call through a function pointer kept in a global. */
const callThrough = (slot: string): FunctionBody => ({
  code: Uint8Array.from([0x48, 0x83, 0xec, 0x08, 0xff, 0x15, 0, 0, 0, 0, 0x48, 0x83, 0xc4, 0x08, 0xc3]),
  relocations: [{ offset: 6, type: 'R_X86_64_PC32', symbol: slot, addend: -4 }],
});

function executorHeap(executor: ExecutorMemory, compile?: (name: string) => FunctionBody): CodeHeap {
  return new CodeHeap({
    arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 13, cycleThreshold: Infinity, memory: executor,
    ...(compile === undefined ? {} : { compile }),
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(native.available || mustRun)('the heap\'s code runs in an executor', () => {
  it('runs here', () => {
    expect(native.reason, 'on CI the executor tests must run').toBe('');
  });

  it('calls and typed calls run there, buffers go and come back, and its symbols are its own', () => {
    const executor = spawnExecutor();
    expect(executor.pid).not.toBe(process.pid);
    const heap = executorHeap(executor);
    heap.define({
      functions: [
        // lea rax, [rdi + rsi]; ret
        { name: 'add', ...bytes(0x48, 0x8d, 0x04, 0x37, 0xc3) },
        // addsd xmm0, xmm1; ret
        { name: 'fadd', ...bytes(0xf2, 0x0f, 0x58, 0xc1, 0xc3) },
        // fill(buffer, length, byte): rep stosb with rdi the buffer, rcx the length, al the byte; returns the buffer's address.
        { name: 'fill', ...bytes(0x48, 0x89, 0xf8, 0x48, 0x89, 0xf1, 0x49, 0x89, 0xf8, 0x88, 0xd0, 0xf3, 0xaa, 0x4c, 0x89, 0xc0, 0xc3) },
        { name: 'pid', ...tailCall('getpid') },
      ],
    });
    expect(heap.call(heap.lookup('add'), 40, 2)).toBe(42n);
    expect(heap.call(heap.lookup('add'), -1n, -2n)).toBe(-3n);
    expect(heap.bind(heap.lookup('fadd'), { parameters: ['f64', 'f64'], result: 'f64' })(1.5, 2.25)).toBe(3.75);
    const fill = heap.bind(heap.lookup('fill'), { parameters: ['buffer', 'u64', 'u8'], result: 'pointer' });
    const buffer = new Uint8Array(8);
    const where = fill(buffer, 5n, 0x61);
    expect([...buffer]).toEqual([0x61, 0x61, 0x61, 0x61, 0x61, 0, 0, 0]);
    // The executor's copy of the buffer is in its memory, not this process's.
    expect(typeof where).toBe('bigint');
    expect(Number(heap.call(heap.lookup('pid')))).toBe(executor.pid);
    heap.verify();
    heap.close();
    expect(executor.alive).toBe(false);
    expect(alive(executor.pid)).toBe(false);
  });

  it('a lazy function is compiled here from inside a call there, and a call nested in that compile runs there too', () => {
    const executor = spawnExecutor();
    let nested = -1n;
    const heap = executorHeap(executor, (name) => {
      if (name === 'outer_lazy') nested = heap.call(heap.lookup('inner'), 6);
      return addOne();
    });
    heap.declare('outer_lazy');
    heap.define({ functions: [{ name: 'inner', ...bytes(0x48, 0x8d, 0x04, 0x3f, 0xc3) }, { name: 'caller', ...tailCall('outer_lazy') }] });
    expect(heap.call(heap.lookup('caller'), 41)).toBe(42n);
    expect(nested).toBe(12n);
    expect(heap.node('outer_lazy')!.state).toBe('live');
    heap.verify();
    heap.close();
  });

  it('a backpatch is seen by the next call there, before anything is copied: a redefine, an evict and a stub\'s new target', () => {
    const executor = spawnExecutor();
    let compiles = 0;
    const heap = executorHeap(executor, () => {
      compiles++;
      return constant(300);
    });
    heap.define({
      functions: [{ name: 'value', ...constant(100) }, { name: 'direct', ...tailCall('value') }, { name: 'indirect', ...callThrough('slot') }],
      globals: [{ name: 'slot', size: 8, relocations: [{ offset: 0, type: 'R_X86_64_64', symbol: 'value', via: 'stub' }] }],
    });
    const [direct, indirect] = [heap.lookup('direct'), heap.lookup('indirect')];
    expect([heap.call(direct), heap.call(indirect)]).toEqual([100n, 100n]);
    heap.redefine(heap.lookup('value'), constant(200));
    expect([heap.call(direct), heap.call(indirect)]).toEqual([200n, 200n]);
    heap.evict(heap.lookup('value'));
    expect(heap.call(direct)).toBe(300n);
    expect(heap.call(indirect)).toBe(300n);
    expect(compiles).toBe(1);
    heap.verify();
    heap.close();
  });

  it('libraries load in the executor, and their symbols resolve there', () => {
    const plain = executorHeap(spawnExecutor());
    expectCode(() => plain.define({ functions: [{ name: 'cosine', ...tailCall('cos') }] }), 'UNDEFINED_SYMBOL');
    plain.close();
    const heap = executorHeap(spawnExecutor({ libraries: ['libm.so.6'] }));
    heap.define({ functions: [{ name: 'cosine', ...tailCall('cos') }] });
    expect(heap.bind(heap.lookup('cosine'), { parameters: ['f64'], result: 'f64' })(0)).toBe(1);
    heap.close();
    expectCode(() => spawnExecutor({ libraries: ['libno-such-library.so'] }), 'INVALID_ARGUMENT');
  });

  it('a segfault in the heap\'s code is EXECUTOR_LOST naming where; the heap verifies; respawn() brings every body and global back', () => {
    const executor = spawnExecutor();
    const heap = executorHeap(executor);
    heap.define({
      functions: [{ name: 'segv', ...FAULTS.SIGSEGV.body }, { name: 'add_one', ...addOne() }, { name: 'bump', ...bytes(0x48, 0xff, 0x05, 0, 0, 0, 0, 0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3) }],
      globals: [{ name: 'counter', size: 8 }],
    });
    // bump: inc qword [rip + counter]; mov rax, [rip + counter]; ret
    heap.redefine(heap.lookup('bump'), {
      code: Uint8Array.from([0x48, 0xff, 0x05, 0, 0, 0, 0, 0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3]),
      relocations: [{ offset: 3, type: 'R_X86_64_PC32', symbol: 'counter', addend: -4 }, { offset: 10, type: 'R_X86_64_PC32', symbol: 'counter', addend: -4 }],
    });
    expect(heap.call(heap.lookup('bump'))).toBe(1n);
    const before = heap.stats();
    const first = executor.pid;
    const error = expectCode(() => heap.call(heap.lookup('segv'), 7), 'EXECUTOR_LOST');
    expect(error.message).toMatch(new RegExp(`^call\\(segv\\): SIGSEGV at segv\\+0x0 .*it touched 0x0 .*the executor \\(pid ${first}\\) died of SIGSEGV`));
    expect(executor.alive).toBe(false);
    expect(heap.stats()).toEqual(before);
    heap.verify();
    expect(expectCode(() => heap.call(heap.lookup('add_one'), 1), 'EXECUTOR_LOST').message).toMatch(/respawn\(\) gives the heap a new executor/);
    executor.respawn();
    expect(executor.pid).not.toBe(first);
    expect(alive(first)).toBe(false);
    expect(heap.call(heap.lookup('add_one'), 41)).toBe(42n);
    // The global kept what the first executor wrote: the memfd outlived it.
    expect(heap.call(heap.lookup('bump'))).toBe(2n);
    heap.verify();
    heap.close();
  });

  it('a SIGKILL while a call waits on the host\'s compile is EXECUTOR_LOST; the compile stands, and the heap runs after respawn()', () => {
    const executor = spawnExecutor();
    const heap = executorHeap(executor, () => {
      process.kill(executor.pid, 'SIGKILL');
      return constant(5);
    });
    heap.declare('victim');
    heap.define({ functions: [{ name: 'caller', ...tailCall('victim') }] });
    const error = expectCode(() => heap.call(heap.lookup('caller')), 'EXECUTOR_LOST');
    expect(error.message).toMatch(/died of SIGKILL/);
    heap.verify();
    executor.respawn();
    expect(heap.call(heap.lookup('caller'))).toBe(5n);
    heap.verify();
    heap.close();
  });

  it('no page of the executor is writable and executable: the code r-x and the data rw- at their target addresses, from the shared memfd', () => {
    const executor = spawnExecutor();
    const heap = executorHeap(executor);
    heap.define({ functions: [{ name: 'add_one', ...addOne() }] });
    expect(heap.call(heap.lookup('add_one'), 1)).toBe(2n);
    const maps = readFileSync(`/proc/${executor.pid}/maps`, 'utf8').trim().split('\n').map((line) => {
      const [range, perms, , , , ...path] = line.split(/ +/) as [string, string, ...string[]];
      const [low, high] = range.split('-').map((h) => Number.parseInt(h, 16)) as [number, number];
      return { low, high, perms, path: path.join(' ') };
    });
    for (const m of maps) expect(m.perms.includes('w') && m.perms.includes('x'), `${m.perms} ${m.path}`).toBe(false);
    const { code, data } = heap.stats();
    const at = (address: number) => maps.find((m) => m.low <= address && address < m.high)!;
    expect(at(code.address)).toMatchObject({ perms: 'r-xs', path: expect.stringContaining('memfd:codeheap-executor') });
    expect(at(data.address)).toMatchObject({ perms: 'rw-s', path: expect.stringContaining('memfd:codeheap-executor') });
    heap.close();
  });

  it('a SIGKILL while the code runs there is EXECUTOR_LOST saying so, and the heap runs after respawn()', () => {
    const executor = spawnExecutor();
    const heap = executorHeap(executor);
    heap.define({ functions: [{ name: 'spin', ...bytes(0xeb, 0xfe) }, { name: 'add_one', ...addOne() }] });
    // Killed from another process 200 ms into the call: this one waits in it.
    spawn('sh', ['-c', `sleep 0.2; kill -9 ${executor.pid}`], { stdio: 'ignore', detached: true }).unref();
    expect(expectCode(() => heap.call(heap.lookup('spin')), 'EXECUTOR_LOST').message).toMatch(/^call: the executor \(pid \d+\) died of SIGKILL; respawn\(\)/);
    heap.verify();
    executor.respawn();
    expect(heap.call(heap.lookup('add_one'), 1)).toBe(2n);
    heap.close();
  });

  it('an executor that hangs past timeoutMs is killed, and the call is EXECUTOR_LOST saying so', () => {
    const executor = spawnExecutor({ timeoutMs: 300 });
    const heap = executorHeap(executor);
    // jmp $: forever.
    heap.define({ functions: [{ name: 'spin', ...bytes(0xeb, 0xfe) }, { name: 'add_one', ...addOne() }] });
    const started = performance.now();
    const error = expectCode(() => heap.call(heap.lookup('spin')), 'EXECUTOR_LOST');
    expect(error.message).toMatch(/did not answer within 300 ms, and was killed/);
    expect(performance.now() - started).toBeLessThan(10_000);
    heap.verify();
    executor.respawn();
    expect(heap.call(heap.lookup('add_one'), 1)).toBe(2n);
    heap.close();
  });

  it('read-only data is read-only in the executor, and again after respawn()', () => {
    const executor = spawnExecutor();
    const heap = executorHeap(executor);
    heap.define({
      globals: [{ name: 'table', data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), readOnly: true }],
      // mov rax, [rip + table]; ret   and   mov qword [rip + table], 0 (a write: faults)
      functions: [
        { name: 'read', code: Uint8Array.from([0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3]), relocations: [{ offset: 3, type: 'R_X86_64_PC32', symbol: 'table', addend: -4 }] },
        { name: 'write', code: Uint8Array.from([0x48, 0xc7, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3]), relocations: [{ offset: 3, type: 'R_X86_64_PC32', symbol: 'table', addend: -8 }] },
      ],
    });
    expect(heap.call(heap.lookup('read'))).toBe(0x0807060504030201n);
    expect(expectCode(() => heap.call(heap.lookup('write')), 'EXECUTOR_LOST').message).toMatch(/SIGSEGV at write\+0x0 .*table/);
    executor.respawn();
    expect(heap.call(heap.lookup('read'))).toBe(0x0807060504030201n);
    expect(expectCode(() => heap.call(heap.lookup('write')), 'EXECUTOR_LOST').message).toMatch(/SIGSEGV at write\+0x0/);
    executor.respawn();
    heap.close();
  });

  it('one heap per executor; bad options are INVALID_ARGUMENT', () => {
    const executor = spawnExecutor();
    const heap = executorHeap(executor);
    expectCode(() => executorHeap(executor), 'INVALID_ARGUMENT');
    heap.close();
    for (const options of [{ timeoutMs: 0 }, { timeoutMs: -5 }, { libraries: 'libm.so.6' }, { libraries: [''] }, { processSymbols: 'yes' }]) {
      expectCode(() => spawnExecutor(options as never), 'INVALID_ARGUMENT');
    }
  });
});

describe.runIf(native.available || mustRun)('over TCP on 127.0.0.1, with the bytes copied', () => {
  let listener: Awaited<ReturnType<typeof listenExecutor>> | undefined;
  beforeAll(async () => {
    listener = await listenExecutor();
  });
  afterAll(() => listener?.child.kill());
  const connect = (options: { timeoutMs?: number } = {}): ExecutorMemory => connectExecutor({ host: '127.0.0.1', port: listener!.port, ...options });

  it('calls, a lazy compile from inside a call, a backpatch and a global the code wrote: each write sent before the code runs', () => {
    const executor = connect();
    const heap = executorHeap(executor, () => constant(7));
    heap.declare('later');
    heap.define({
      functions: [
        { name: 'add', ...bytes(0x48, 0x8d, 0x04, 0x37, 0xc3) }, { name: 'caller', ...tailCall('later') },
        { name: 'bump', code: Uint8Array.from([0x48, 0xff, 0x05, 0, 0, 0, 0, 0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3]),
          relocations: [{ offset: 3, type: 'R_X86_64_PC32', symbol: 'counter', addend: -4 }, { offset: 10, type: 'R_X86_64_PC32', symbol: 'counter', addend: -4 }] },
      ],
      globals: [{ name: 'counter', size: 8 }],
    });
    const before = executor.bytesSent;
    expect(heap.call(heap.lookup('add'), 40, 2)).toBe(42n);
    // The unit went in the first call's flush: its blocks, about what they hold.
    expect(executor.bytesSent - before).toBeGreaterThan(0);
    expect(executor.bytesSent - before).toBeLessThan(1024);
    expect(heap.call(heap.lookup('caller'))).toBe(7n);
    heap.redefine(heap.lookup('later'), constant(8));
    expect(heap.call(heap.lookup('caller'))).toBe(8n);
    for (let i = 1; i <= 3; i++) expect(heap.call(heap.lookup('bump'))).toBe(BigInt(i));
    // heap.read fetches what the code wrote there.
    expect(heap.read(heap.lookup('counter').address, 8)[0]).toBe(3);
    heap.verify();
    heap.close();
  });

  it('a crash is EXECUTOR_LOST; respawn() connects again and sends every byte: the heap runs on', () => {
    const executor = connect();
    const heap = executorHeap(executor);
    heap.define({ functions: [{ name: 'segv', ...FAULTS.SIGSEGV.body }, { name: 'add_one', ...addOne() }] });
    expect(heap.call(heap.lookup('add_one'), 1)).toBe(2n);
    const first = executor.pid;
    expect(expectCode(() => heap.call(heap.lookup('segv')), 'EXECUTOR_LOST').message).toMatch(/SIGSEGV at segv\+0x0 .*127\.0\.0\.1:\d+, pid \d+ there\) died of SIGSEGV/);
    heap.verify();
    executor.respawn();
    expect(executor.pid).not.toBe(first);
    expect(heap.call(heap.lookup('add_one'), 41)).toBe(42n);
    heap.close();
  });

  it('a hang past timeoutMs is EXECUTOR_LOST; the executor there sees its connection close and ends', async () => {
    const executor = connect({ timeoutMs: 300 });
    const heap = executorHeap(executor);
    heap.define({ functions: [{ name: 'spin', ...bytes(0xeb, 0xfe) }] });
    const remote = executor.pid;
    expect(expectCode(() => heap.call(heap.lookup('spin')), 'EXECUTOR_LOST').message).toMatch(/did not answer within 300 ms/);
    for (let i = 0; i < 100 && alive(remote); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alive(remote)).toBe(false);
    heap.close();
  });
});
