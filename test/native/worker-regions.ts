// A worker thread's part in the native lifetime test: regions reserved and closed in a loop while
// other threads do the same, through the one registry the addon keeps for the process. Every
// tenth region is left open: the worker's exit releases it through its finalizer.

import { parentPort, workerData } from 'node:worker_threads';
import type { Region } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';
import { reserveRegion } from '../helpers/native.js';

const { rounds } = workerData as { rounds: number };
const memory = nativeMemory();
const open: Region[] = [];
for (let i = 0; i < rounds; i++) {
  const region = reserveRegion(memory);
  region.bytes[0] = i & 0xff;
  if (i % 10 === 0) open.push(region);
  else region.close!();
}
parentPort!.postMessage(open.length);
