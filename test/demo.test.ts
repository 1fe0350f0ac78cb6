// The README's quick start runs examples/demo.ts (npm start): it must run to its end on a fresh
// checkout, whatever the library's semantics became (a regression: it once read a node that
// unload had reclaimed).

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('npm start: the demo runs to its end and verify() passes', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', 'demo.ts')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('heap.verify(): passed');
});
