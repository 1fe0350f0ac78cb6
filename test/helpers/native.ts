// Native regions without a heap around them, the process's mappings as /proc/self/maps lists them
// (what the native lifetime tests count), and worker threads that run TypeScript.

import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Memory, Region } from '../../src/index.js';

export const PAGE = 4096;

/** A region of `codeSize` code and `dataSize` data where the memory chooses, as a heap would get it. */
export function reserveRegion(memory: Memory, codeSize = PAGE, dataSize = PAGE): Region {
  const codeAddress = memory.chooseAddress?.(codeSize + dataSize);
  if (codeAddress === undefined) throw new Error('native memory found no free range');
  return memory.reserve({ codeAddress, codeSize, dataAddress: codeAddress + codeSize, dataSize });
}

export interface Mapping {
  readonly low: number;
  readonly high: number;
  /** As maps shows them: 'r-xs', 'rw-s', '---p'. */
  readonly perms: string;
  /** The file mapped ('/memfd:codeheap (deleted)'), or '' for anonymous memory. */
  readonly path: string;
}

/** Every mapping of this process. */
export function processMappings(): Mapping[] {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line !== '').map((line) => {
    const [range, perms, , , , ...path] = line.split(/ +/) as [string, string, ...string[]];
    const [low, high] = range.split('-').map((h) => Number.parseInt(h, 16)) as [number, number];
    return { low, high, perms, path: path.join(' ') };
  });
}

/** The mappings of native memory's memfds: three per region. */
export function codeheapMappings(): Mapping[] {
  return processMappings().filter((m) => m.path.includes('memfd:codeheap'));
}

/** Anonymous PROT_NONE mappings: where reserved ranges show (V8 and thread guards have some too). */
export function reservedMappings(): Mapping[] {
  return processMappings().filter((m) => m.perms === '---p' && m.path === '');
}

/** The mapping that holds `address`, if any. */
export function mappingAt(address: number, mappings = processMappings()): Mapping | undefined {
  return mappings.find((m) => m.low <= address && address < m.high);
}

/**
 * Runs a TypeScript module in a worker thread (tsx's loader registered in the worker itself) and
 * resolves with the first message it posts; rejects on an error or a non-zero exit.
 */
export function runWorker<T>(script: URL, workerData: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); })`;
    const worker = new Worker(boot, { eval: true, workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
  });
}
