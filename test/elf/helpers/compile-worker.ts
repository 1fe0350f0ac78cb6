// A worker thread of toolchain.test.ts: compiles what it is given through the shared cache and
// posts a digest of the bytes it got, so that racing workers can be compared.

import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { compileObject } from './toolchain.js';

const { source, flags } = workerData as { source: string; flags: string[] };
parentPort?.postMessage(createHash('sha256').update(compileObject(source, flags)).digest('hex'));
