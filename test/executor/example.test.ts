// The README's executor example (examples/executor.ts) runs to its end: a call there, a lazy
// compile from inside it, a recompile seen at once, a symbol of the executor's libm, a crash that
// is EXECUTOR_LOST here, and respawn().

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { isNativeAvailable } from '../../src/native/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const mustRun = process.env['CI'] === 'true' && process.platform === 'linux' && process.arch === 'x64' && process.env['CODEHEAP_NATIVE'] !== 'off';

test.runIf(isNativeAvailable().available || mustRun)('examples/executor.ts runs to its end', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', 'executor.ts')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = run.stdout.split('\n');
  const pid = /executor pid (\d+)/.exec(lines[0]!)![1];
  expect(run.stdout).toContain('add(40, 2) = 42\n  compiling add_one (the executor waits in its first call)\nnext(41) = 42\nnext(41) = 141 after');
  expect(run.stdout).toContain('cos(0) = 1\n');
  expect(run.stdout).toMatch(new RegExp(`crash\\(\\): EXECUTOR_LOST: call\\(crash\\): SIGSEGV at crash\\+0x0 .*the executor \\(pid ${pid}\\) died of SIGSEGV; respawn\\(\\)`));
  expect(run.stdout).toMatch(/respawned: executor pid (\d+); next\(41\) = 141/);
  expect(run.stdout).toContain('heap.close(): the executor ended with its heap');
});
