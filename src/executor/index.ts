// codeheap/executor: a heap's code run in another process (executor-memory.ts).
export { connectExecutor, spawnExecutor, type ConnectOptions, type ExecutorMemory, type ExecutorOptions } from './executor-memory.js';
