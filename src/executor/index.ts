// codeheap/executor: a heap's code run in another process (executor-memory.ts).
export { spawnExecutor, type ExecutorMemory, type ExecutorOptions } from './executor-memory.js';
