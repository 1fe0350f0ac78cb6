// The memory the suites that run code run it in: native memory, or, under CODEHEAP_TEST_MEMORY
// (the vitest projects 'executor' and 'executor-tcp'), an executor process's (codeheap/executor):
// one started with the memfd shared, or one reached over TCP on 127.0.0.1 with the bytes copied,
// so that the same tests show every result the same when the code runs elsewhere. Executors are
// ended after each test, not left to their heaps, which most tests do not close.

import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Memory } from '../../src/index.js';
import { isNativeAvailable, nativeMemory, type NativeMemoryOptions } from '../../src/native/index.js';
import { connectExecutor, spawnExecutor, type ExecutorMemory } from '../../src/executor/index.js';
import { EXECUTOR_PATH } from '../../src/native/addon.js';

const kind = process.env['CODEHEAP_TEST_MEMORY'];
export const ON_EXECUTOR = kind === 'executor' || kind === 'executor-tcp';

const started: ExecutorMemory[] = [];
/** Over TCP: the listener every connection of this test file goes to, and its port. */
let listener: { child: ChildProcess; port: number } | undefined;

/**
 * An executor listening on 127.0.0.1 (a port the system chose: its first line), each connection
 * given an executor of its own.
 */
export async function listenExecutor(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(EXECUTOR_PATH, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim())));
  });
  return { child, port };
}

/** nativeMemory(options), or an executor with the same processSymbols. */
export function runningMemory(options: NativeMemoryOptions = {}): Memory {
  if (!ON_EXECUTOR) return nativeMemory(options);
  const symbols = options.processSymbols === undefined ? {} : { processSymbols: options.processSymbols };
  const executor = kind === 'executor-tcp' ? connectExecutor({ host: '127.0.0.1', port: listener!.port, ...symbols }) : spawnExecutor(symbols);
  started.push(executor);
  return executor;
}

if (ON_EXECUTOR) {
  afterEach(() => {
    for (const executor of started.splice(0)) executor.close();
  });
}
// Where the addon (and the executor with it) is not built, the suites skip: no listener is started.
if (kind === 'executor-tcp' && isNativeAvailable().available) {
  beforeAll(async () => {
    listener = await listenExecutor();
  });
  afterAll(() => {
    listener?.child.kill();
    listener = undefined;
  });
}
