// The heap's code seen by the real gdb through the GDB JIT interface (native memory with profile
// 'gdb'): a breakpoint on a JIT function by name, set before the code exists, and a backtrace
// through two JIT frames that names both; once the unit is unloaded, gdb no longer knows its
// functions. test/native/debugger-child.ts is the program. The breakpoints are hardware ones
// (hbreak): the CPU's view of the code arena is never writable, and ptrace cannot write a
// read-only shared mapping, so gdb cannot plant a software breakpoint there (README, Debugging
// and profiling). Skipped, with the reason printed, where gdb or native memory is missing; on CI
// it must run (.ci/run installs gdb).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isNativeAvailable } from '../../src/native/index.js';

const native = isNativeAvailable();
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64'
  && process.env['CODEHEAP_NATIVE'] !== 'off';

function gdbProblem(): string {
  if (!native.available) return `native memory is not available: ${native.reason}`;
  const probe = spawnSync('gdb', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `gdb is not installed (${probe.error.message}); apt-get install gdb`;
  return '';
}

const problem = gdbProblem();
if (problem !== '') console.warn(`gdb tests skipped: ${problem}`);

describe.runIf(problem === '' || mustRun)('gdb names the heap\'s code', () => {
  it('runs here', () => {
    expect(problem, 'on CI the gdb tests must run').toBe('');
  });

  it('stops at a JIT function by name, shows both JIT frames, and forgets them once unloaded', () => {
    const child = fileURLToPath(new URL('./debugger-child.ts', import.meta.url));
    const run = spawnSync('gdb', [
      '--batch', '-nx', '-ex', 'set breakpoint pending on', '-ex', 'set pagination off',
      '-ex', 'hbreak jit_inner', '-ex', 'hbreak jit_after', '-ex', 'run',
      '-ex', 'bt 3', '-ex', 'continue',
      '-ex', 'info address jit_outer', '-ex', 'bt 1', '-ex', 'continue',
      '--args', process.execPath, '--import', 'tsx', child,
    ], { encoding: 'utf8', timeout: 120_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    const frames = out.split('\n').filter((line) => /^#\d/.test(line));
    expect(frames[0], out).toMatch(/^#0 .* in jit_inner \(\)/);
    expect(frames[1], out).toMatch(/^#1 .* in jit_outer \(\)/);
    expect(frames[2], out).toMatch(/in Call \(\) from .*codeheap_native\.node/);
    expect(out).toContain('result 42');
    // At the second stop the unit is gone: gdb knows jit_after, and jit_outer no more.
    expect(frames[3], out).toMatch(/^#0 .* in jit_after \(\)/);
    expect(out).toMatch(/No symbol "jit_outer" in current context/);
    expect(out).toMatch(/exited normally/);
  }, 150_000);
});
