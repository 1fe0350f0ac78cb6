// Loading real compiler output: SQLite's object (gcc -O1 -fPIC, per-function sections), measured
// the way a user meets it, each figure beside its peer in the same run, medians reported.
//
//   load     a cold process that reads, parses, defines and links sqlite3.o into a heap, against a
//            cold `ld -shared sqlite3.o` (GNU ld.bfd) on the same file: whole-process wall time;
//            and, inside the process, relocation sites linked per second
//   run      the test suite's SQL workload (10,000 rows, aggregates, GROUP BY, a join, errors)
//            through the heap's SQLite, one bound call per row (the shim packs parameters and
//            rows, as better-sqlite3's C++ does), against the same SQL through better-sqlite3;
//            beside it, the same with a bound call per C function (ten or so per row)
//   unload   lib.free() of a loaded, used SQLite: the collection that reclaims it, per node
//   lazy     load time and bytes in use with lazy: true against eager, for the same workload
//
// Runs in a process of its own (bench/child.ts); needs gcc, ld and native memory, else it says why.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeHeap } from '../src/index.js';
import { isNativeAvailable, nativeMemory } from '../src/native/index.js';
import { HeapSqlite } from '../test/elf/helpers/sqlite-driver.js';
import { runWithBetterSqlite3, workload } from '../test/elf/helpers/sql-workload.js';
import { shimObject, sqliteObject } from '../test/elf/helpers/sqlite.js';
import { childArgs, isEntry, writeResult } from './child.js';

export interface ElfResults {
  available: boolean;
  reason: string;
  figures: {
    loadMs: number; ldMs: number; loadInProcessMs: number; sitesPerSecond: number; sites: number;
    runMs: number; perCallMs: number; betterSqlite3Ms: number;
    unloadMs: number; unloadNodes: number; unloadNsPerNode: number;
    lazyLoadMs: number; eagerLoadMs: number; lazyBytes: number; eagerBytes: number; lazyMaterialized: number; functions: number;
  } | null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function heap(): CodeHeap {
  return new CodeHeap({ arch: 'x86_64', codeSize: 8 << 20, dataSize: 4 << 20, memory: nativeMemory() });
}

/** The whole-process wall time of a command, in ms. */
function timed(command: string, args: readonly string[]): number {
  const start = performance.now();
  const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) throw new Error(`${command} failed (${run.status ?? run.signal})`);
  return performance.now() - start;
}

export function main(opts: { quick?: boolean } = {}): ElfResults {
  const quick = opts.quick === true;
  const { available, reason } = isNativeAvailable();
  let gccReason = '';
  try {
    execFileSync('ld', ['--version'], { stdio: 'ignore' });
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    gccReason = `gcc or ld is missing (${(error as Error).message.split('\n')[0]})`;
  }
  if (!available || gccReason !== '') {
    const why = available ? gccReason : reason;
    console.log(`  skipped: ${why}`);
    return { available: false, reason: why, figures: null };
  }
  const object = sqliteObject();
  const shim = shimObject();
  const dir = mkdtempSync(join(tmpdir(), 'codeheap-elf-'));
  const path = join(dir, 'sqlite3.o');
  writeFileSync(path, object);
  const rounds = quick ? 2 : 7;
  // Cold processes, one after the other: ours (tsx would add its own start-up, so plain node on dist/) and ld's.
  const loader = join(dir, 'load.mjs');
  const dist = new URL('../dist/', import.meta.url).href;
  writeFileSync(loader, [
    `import { readFileSync } from 'node:fs';`,
    `import { CodeHeap } from '${dist}index.js';`,
    `import { nativeMemory } from '${dist}native/index.js';`,
    `import { loadObject } from '${dist}elf/index.js';`,
    `const heap = new CodeHeap({ arch: 'x86_64', codeSize: 8 << 20, dataSize: 4 << 20, memory: nativeMemory() });`,
    `loadObject(heap, readFileSync(${JSON.stringify(path)}), { name: 'sqlite3' });`,
  ].join('\n'));
  const loadMs: number[] = [];
  const ldMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    loadMs.push(timed(process.execPath, [loader]));
    ldMs.push(timed('ld', ['-shared', path, '-o', join(dir, 'sqlite3.so')]));
  }
  // In this process: the load alone, its sites, then the workload against better-sqlite3, then unload.
  const statements = workload();
  const inProcess: number[] = [];
  const runMs: number[] = [];
  const perCallMs: number[] = [];
  const peerMs: number[] = [];
  const unloadMs: number[] = [];
  let sites = 0;
  let unloadNodes = 0;
  for (let i = 0; i < rounds; i++) {
    const h = heap();
    let start = performance.now();
    const db = new HeapSqlite(h, object, shim);
    inProcess.push(performance.now() - start);
    sites = h.stats().sites;
    // Each side once before it is timed, so that both are measured warm (V8's and SQLite's).
    db.runAll(statements, true);
    runWithBetterSqlite3(statements);
    start = performance.now();
    db.runAll(statements, true);
    runMs.push(performance.now() - start);
    start = performance.now();
    db.runAll(statements);
    perCallMs.push(performance.now() - start);
    start = performance.now();
    runWithBetterSqlite3(statements);
    peerMs.push(performance.now() - start);
    unloadNodes = h.stats().nodes.total;
    start = performance.now();
    db.free();
    unloadMs.push(performance.now() - start);
    h.close();
  }
  const lazy = { load: [] as number[], bytes: 0, materialized: 0, functions: 0 };
  const eager = { load: [] as number[], bytes: 0 };
  for (let i = 0; i < rounds; i++) {
    for (const mode of [true, false]) {
      const h = heap();
      const start = performance.now();
      const db = new HeapSqlite(h, object, shim, mode);
      const ms = performance.now() - start;
      db.runAll(statements);
      const used = h.stats().usedBytes;
      if (mode) {
        lazy.load.push(ms);
        lazy.bytes = used;
        lazy.materialized = db.sqlite.materialized;
        lazy.functions = db.sqlite.functions;
      } else {
        eager.load.push(ms);
        eager.bytes = used;
      }
      db.free();
      h.close();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const figures = {
    loadMs: median(loadMs), ldMs: median(ldMs), loadInProcessMs: median(inProcess), sites,
    sitesPerSecond: sites / (median(inProcess) / 1000),
    runMs: median(runMs), perCallMs: median(perCallMs), betterSqlite3Ms: median(peerMs),
    unloadMs: median(unloadMs), unloadNodes, unloadNsPerNode: (median(unloadMs) * 1e6) / unloadNodes,
    lazyLoadMs: median(lazy.load), eagerLoadMs: median(eager.load), lazyBytes: lazy.bytes, eagerBytes: eager.bytes,
    lazyMaterialized: lazy.materialized, functions: lazy.functions,
  };
  console.log(`  load (cold process)   ${figures.loadMs.toFixed(1)} ms   ld -shared ${figures.ldMs.toFixed(1)} ms   ratio ${(figures.loadMs / figures.ldMs).toFixed(2)}x (target <= 1)`);
  console.log(`  load (in process)     ${figures.loadInProcessMs.toFixed(1)} ms for ${sites} sites: ${(figures.sitesPerSecond / 1e6).toFixed(2)}M sites/s (target >= 1M)`);
  console.log(`  SQL workload          ${figures.runMs.toFixed(1)} ms (a bound call per row; ${figures.perCallMs.toFixed(1)} ms with a call per C function)   better-sqlite3 ${figures.betterSqlite3Ms.toFixed(1)} ms   ratio ${(figures.runMs / figures.betterSqlite3Ms).toFixed(2)}x (target <= 1.2)`);
  console.log(`  unload                ${figures.unloadMs.toFixed(2)} ms for ${unloadNodes} nodes: ${figures.unloadNsPerNode.toFixed(0)} ns/node`);
  console.log(`  lazy vs eager load    ${figures.lazyLoadMs.toFixed(1)} vs ${figures.eagerLoadMs.toFixed(1)} ms; bytes in use after the workload ${figures.lazyBytes} vs ${figures.eagerBytes}; ${figures.lazyMaterialized} of ${figures.functions} functions compiled`);
  return { available: true, reason: '', figures };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, main({ quick }));
}

