// The heaps the collector's suite measures.

/**
 * The compiled library (`npm run build` writes it), as users run it; its types are the sources'.
 * A path in a variable, so that typechecking a fresh clone does not need dist/ to exist.
 */
const DIST_ENTRY: string = '../dist/index.js';
export const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
export type CodeHeap = InstanceType<typeof CodeHeap>;

const MiB = 1024 * 1024;

/**
 * A heap sized for `nodes` functions (32 bytes each once FUNCTION_SIZE is rounded up to its
 * alignment; twice over, at least 1 MiB), as a JIT sizes its heap, not one size for every
 * graph: a fresh 256 MiB arena per sample made V8 start
 * incremental marking (its external memory grew), and while that ran, a 1,000-node collection
 * took 170 µs instead of 80 (`--no-incremental-marking` took the difference away).
 */
export function newHeap(nodes: number): CodeHeap {
  const codeSize = Math.max(MiB, 2 ** Math.ceil(Math.log2(2 * nodes * 32)));
  return new CodeHeap({ arch: 'x86_64', codeSize, dataSize: 64 * 1024, cycleThreshold: Infinity });
}
