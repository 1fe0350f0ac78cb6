// The heap's code seen by the real gdb through the GDB JIT interface (native memory with profile
// 'gdb'): a breakpoint on a JIT function by name, set before the code exists (a lazy function of
// the tiny JIT, compiled by its first call), and a backtrace through JIT frames that names each;
// once the program is unloaded, gdb no longer knows its functions (test/native/debugger-child.ts);
// and loaded C compiled without frame pointers, which gdb steps through by the unwind tables each
// function's object carries (debugger-unwind-child.ts). The breakpoints are hardware ones
// (hbreak): the CPU's view of the code arena is never writable, and ptrace cannot write a
// read-only shared mapping, so gdb cannot plant a software breakpoint there (README, Debugging
// and profiling). Skipped, with the reason printed, where gdb or native memory is missing; on CI
// it must run (.ci/run installs gdb).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isNativeAvailable } from '../../src/native/index.js';
import { compileObjectFile, toolchain } from '../elf/helpers/toolchain.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';

function gdbProblem(): string {
  if (!native.available) return `native memory is not available: ${native.reason}`;
  const probe = spawnSync('gdb', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `gdb is not installed (${probe.error.message}); apt-get install gdb`;
  return '';
}

/** The function a backtrace line names: `#1  0x... in f () at ...`, or `#0  f () at ...` at a line's first instruction. */
function functionOf(frame: string): string | undefined {
  return /^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(/.exec(frame)?.[1];
}

const problem = gdbProblem();
if (problem !== '') console.warn(`gdb tests skipped: ${problem}`);

describe.runIf(problem === '' || mustRun)('gdb names the heap\'s code', () => {
  it('runs here', () => {
    expect(problem, 'on CI the gdb tests must run').toBe('');
  });

  it('stops at a JIT function by name, shows the JIT frames of a recursion, and forgets them once unloaded', () => {
    const child = fileURLToPath(new URL('./debugger-child.ts', import.meta.url));
    const run = spawnSync('gdb', [
      '--batch', '-nx', '-ex', 'set breakpoint pending on', '-ex', 'set pagination off',
      '-ex', 'hbreak fib', '-ex', 'hbreak after_unload', '-ex', 'run',
      // The third stop in fib is fib(4), called by fib(5), called by fib(6), called by start.
      '-ex', 'continue', '-ex', 'continue', '-ex', 'bt 5', '-ex', 'delete 1', '-ex', 'continue',
      '-ex', 'info address fib', '-ex', 'bt 1', '-ex', 'continue',
      '--args', process.execPath, '--import', 'tsx', child,
    ], { encoding: 'utf8', timeout: 120_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    const frames = out.split('\n').filter((line) => /^#\d/.test(line));
    expect(frames.slice(0, 4).map(functionOf), out).toEqual(['fib', 'fib', 'fib', 'start']);
    // Each frame at its source line: the stop in fib at its first statement, past the prologue
    // (gdb skips to the body's second row: the `if` on line 3), the recursive calls on line 4, start's on 5.
    expect(frames.slice(0, 4).map((f) => / at (\S+)$/.exec(f)?.[1]), out).toEqual(['fib.tiny:3', 'fib.tiny:4', 'fib.tiny:4', 'fib.tiny:5']);
    expect(frames[4], out).toMatch(/in Call \(\) from .*codeheap_native\.node/);
    expect(out).toContain('result 8');
    // At the last stop the program is gone: gdb knows after_unload, and fib no more.
    expect(frames[5], out).toMatch(/^#0 .* in after_unload \(\)/);
    expect(out).toMatch(/No symbol "fib" in current context/);
    expect(out).toMatch(/exited normally/);
  }, 150_000);

  it.runIf(toolchain().available || mustRun)('steps through loaded C that keeps no frame pointer, by the unwind tables it hands gdb with each function, and names its source lines', () => {
    const source = fileURLToPath(new URL('../elf/fixtures/backtrace.c', import.meta.url));
    const object = compileObjectFile({ path: source }, ['-g', '-O1', '-fPIC', '-ffunction-sections', '-fomit-frame-pointer']);
    // Where each call is in the source: the frames must name these lines.
    const lineOf = (text: string): number => readFileSync(source, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
    const child = fileURLToPath(new URL('./debugger-unwind-child.ts', import.meta.url));
    const run = spawnSync('gdb', [
      '--batch', '-nx', '-ex', 'set breakpoint pending on', '-ex', 'set pagination off',
      // Inside libc's backtrace(): depth is past its prologue (a 528-byte frame, no rbp), and so
      // are inner and outer. Without their tables gdb's walk ends in garbage after depth.
      '-ex', 'break backtrace', '-ex', 'run', '-ex', 'bt 6', '-ex', 'continue',
      '--args', process.execPath, '--import', 'tsx', child, object,
    ], { encoding: 'utf8', timeout: 120_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    const frames = out.split('\n').filter((line) => /^#\d/.test(line));
    expect(frames.slice(1, 4).map(functionOf), out).toEqual(['depth', 'inner', 'outer']);
    // The line tables of -g, read from the object's .debug_line and handed to gdb with each function.
    expect(frames.slice(1, 4).map((f) => / at (\S+):(\d+)/.exec(f)?.slice(1)), out).toEqual([
      [source, String(lineOf('return backtrace('))], [source, String(lineOf('int inner('))], [source, String(lineOf('int outer('))],
    ]);
    expect(frames[4], out).toMatch(/in Call \(\) from .*codeheap_native\.node/);
    expect(out).toMatch(/exited normally/);
  }, 150_000);
});
