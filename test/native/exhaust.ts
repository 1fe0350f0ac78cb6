// A child process's part in the native lifetime tests: it uses up something native memory needs,
// in a process of its own so that the test process is never starved, and prints what it saw as
// one line of JSON.
//
//   mappings     maps regions, closing none, until native memory refuses one; then shows that
//                the process still has mappings to spare (V8's heap grows, a worker thread
//                starts: with no budget, V8 aborted the process here) and that closing regions
//                makes room at once
//   descriptors  uses every file descriptor, so that a heap's map() fails after its address
//                range was reserved, a hundred times; measures the reserved address space left
//                behind (in bytes: the kernel merges adjacent reserved ranges into one mapping)

import { closeSync, openSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CodeHeap, CodeHeapError, type ErrorCode, type Region } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';
import { processMappings, reserveRegion, reservedMappings } from '../helpers/native.js';
import { asm } from '../helpers/x86.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const memory = nativeMemory();

/** Bytes of address space reserved (PROT_NONE), by native memory and by V8 alike. */
const reservedBytes = (): number => reservedMappings().reduce((sum, m) => sum + m.high - m.low, 0);

/** What new CodeHeap on native memory threw, or 'none'. */
function refusal(codeSize = 4 * KiB): { code: ErrorCode | 'none'; message: string } {
  try {
    new CodeHeap({ arch: 'x86_64', codeSize, dataSize: 4 * KiB, memory });
    return { code: 'none', message: '' };
  } catch (error) {
    if (!(error instanceof CodeHeapError)) throw error;
    return { code: error.code, message: error.message };
  }
}

/** A worker thread starts, runs and exits: its stack and isolate need mappings of their own. */
function runWorker(): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker('require("node:worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function exhaustMappings(): Promise<object> {
  const regions: Region[] = [];
  let first: { code: string; message: string } | undefined;
  try {
    for (;;) regions.push(reserveRegion(memory));
  } catch (error) {
    first = { code: (error as CodeHeapError).code, message: (error as Error).message };
  }
  const reservedBefore = reservedBytes();
  const refusals = Array.from({ length: 100 }, () => refusal(MiB)); // each reserves 1 MiB + 4 KiB first
  const reservedAfter = reservedBytes();
  const processAtLimit = processMappings().length;
  // V8 still maps what it needs: new pages for its heap, a thread's stack and isolate.
  const objects = Array.from({ length: 3_000_000 }, (_, i) => ({ i, name: `object ${i}` }));
  const fromWorker = await runWorker();
  objects.length = 0;
  for (const region of regions.splice(0, 10)) region.close!();
  const afterClose = refusal();
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 4 * KiB, dataSize: 4 * KiB, memory });
  const abs = heap.define({ functions: [{ name: 'abs', ...asm().jmp('labs').build() }] }).get('abs');
  return {
    regions: regions.length + 10, first, refusals: refusals.map((r) => r.code), lastMessage: refusals[99]!.message,
    reservedGrowth: reservedAfter - reservedBefore, processAtLimit, fromWorker, afterClose: afterClose.code,
    absAfterClose: String(heap.call(abs, -5)),
  };
}

function exhaustDescriptors(): object {
  const reservedBefore = reservedBytes();
  const open: number[] = [];
  try {
    for (;;) open.push(openSync('/dev/null', 'r'));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EMFILE') throw error;
  }
  const refusals = Array.from({ length: 100 }, () => refusal(MiB)); // each reserves 1 MiB + 4 KiB first
  for (const fd of open) closeSync(fd);
  return {
    descriptors: open.length, refusals: refusals.map((r) => r.code), message: refusals[0]!.message,
    reservedGrowth: reservedBytes() - reservedBefore, afterwards: refusal().code,
  };
}

const mode = process.argv[2];
const result = mode === 'mappings' ? await exhaustMappings() : mode === 'descriptors' ? exhaustDescriptors() : undefined;
if (result === undefined) throw new Error(`exhaust.ts mappings|descriptors, not ${String(mode)}`);
console.log(JSON.stringify({ ...result, maxMapCount: Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8')) }));
