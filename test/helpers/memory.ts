// The memory the suites that run code run it in: native memory, or, under
// CODEHEAP_TEST_MEMORY=executor (the vitest project 'executor'), an executor process's
// (codeheap/executor), so that the same tests show every result the same when the code runs
// in another process. Executors are ended after each test (endExecutors), not left to their
// heaps, which most tests do not close.

import { afterEach } from 'vitest';
import type { Memory } from '../../src/index.js';
import { nativeMemory, type NativeMemoryOptions } from '../../src/native/index.js';
import { spawnExecutor, type ExecutorMemory } from '../../src/executor/index.js';

export const ON_EXECUTOR = process.env['CODEHEAP_TEST_MEMORY'] === 'executor';

const started: ExecutorMemory[] = [];

/** nativeMemory(options), or an executor with the same processSymbols. */
export function runningMemory(options: NativeMemoryOptions = {}): Memory {
  if (!ON_EXECUTOR) return nativeMemory(options);
  const executor = spawnExecutor(options.processSymbols === undefined ? {} : { processSymbols: options.processSymbols });
  started.push(executor);
  return executor;
}

if (ON_EXECUTOR) {
  afterEach(() => {
    for (const executor of started.splice(0)) executor.close();
  });
}
