// define per function against the system linkers: N functions, each with one call to the next
// (a ring, the collector suite's shape), as a codeheap unit and as an object file.
//
//   object    assembly of N functions, each in a section of its own (.text.f<i>, what
//             gcc -ffunction-sections writes) holding `call f<i+1>@PLT; ret` (an R_X86_64_PLT32
//             site, as gcc writes a call under -fPIC), assembled by gcc -c. Generated as assembly,
//             not C: gcc took about two minutes to compile the C of 100,000 such functions on this
//             machine, the assembler two seconds.
//   ld.bfd    `ld.bfd -shared` of that object, and `ld.gold -shared`: whole-process wall time
//   define    heap.define of the same ring as one unit (bench/shapes.ts: 24-byte functions,
//             the call a PLT32 relocation), in a fresh heap per sample, after one untimed
//   load      loadObject of the same object into a fresh heap, likewise, or the loader's refusal
// Figures are medians, per function. Target: define at most ld.gold's cost per function.
//
// Run: npm run build && npx tsx bench/linkers.bench.ts [--quick]
// (quick: 1,000 and 10,000 functions; full: 1,000, 100,000 and 1,000,000, where the assembler
// takes about 20 s and 6 GiB, and ld.bfd about 14 s a link).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childArgs, isEntry, writeResult } from './child.js';
import { newHeap } from './cycles-heap.js';
import { median } from './harness.js';
import { functionNames, graphUnits, makeGraph } from './shapes.js';

/** The compiled loader, as users run it (see bench/cycles-heap.ts for why a path in a variable). */
const ELF_ENTRY: string = '../dist/elf/index.js';
const { loadObject } = (await import(ELF_ENTRY)) as typeof import('../src/elf/index.js');

export const LINKERS = { bfd: '/usr/bin/ld.bfd', gold: '/usr/bin/ld.gold' } as const;

export interface LinkerRow {
  readonly functions: number;
  readonly samples: number;
  /** Generating and assembling the object, once, in ms; its size in bytes. */
  readonly objectMs: number;
  readonly objectBytes: number;
  /** Medians, ns per function; null where the linker is missing. */
  readonly bfdNs: number | null;
  readonly goldNs: number | null;
  readonly defineNs: number;
  /** null when the loader refused the object (loadRefusal says how). */
  readonly loadObjectNs: number | null;
  readonly loadRefusal: string | null;
}

export interface LinkersResult {
  readonly quick: boolean;
  /** Why nothing ran (gcc missing), or ''. */
  readonly skipped: string;
  readonly rows: LinkerRow[];
  readonly totalSeconds: number;
}

/** The object's assembly: f<i> in .text.f<i>, calling f<(i + 1) mod n> through the PLT. */
export function ringAssembly(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(`\t.section .text.f${i},"ax",@progbits`, `\t.globl f${i}`, `\t.type f${i}, @function`, `f${i}:`,
      `\tcall f${(i + 1) % n}@PLT`, '\tret', `\t.size f${i}, .-f${i}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Whole-process wall time of a command, in ms. */
function wallMs(command: string, args: readonly string[]): number {
  const start = performance.now();
  const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status ?? run.signal})`);
  return performance.now() - start;
}

function samplesFor(n: number, quick: boolean): number {
  if (quick) return 3;
  return n <= 1_000 ? 7 : n <= 100_000 ? 5 : 3;
}

function measure(n: number, quick: boolean, dir: string): LinkerRow {
  const samples = samplesFor(n, quick);
  const source = join(dir, `ring${n}.s`);
  const object = join(dir, `ring${n}.o`);
  let start = performance.now();
  writeFileSync(source, ringAssembly(n));
  execFileSync('gcc', ['-c', source, '-o', object]);
  const objectMs = performance.now() - start;
  const bytes = readFileSync(object);
  rmSync(source);
  const perFunction = (ms: readonly number[]): number => (median(ms) * 1e6) / n;
  const linked = (path: string): number | null => {
    if (!existsSync(path)) return null;
    const ms: number[] = [];
    for (let s = 0; s < samples; s++) ms.push(wallMs(path, ['-shared', object, '-o', join(dir, 'ring.so')]));
    return perFunction(ms);
  };
  const bfdNs = linked(LINKERS.bfd);
  const goldNs = linked(LINKERS.gold);
  const unit = graphUnits(makeGraph('ring', n), functionNames(n));
  const defineMs: number[] = [];
  const loadMs: number[] = [];
  let loadRefusal: string | null = null;
  // Sample -1 is untimed: V8 compiles define and the loader first, as a JIT's own process has.
  for (let s = -1; s < samples; s++) {
    let heap = newHeap(n);
    start = performance.now();
    for (const u of unit) heap.define(u);
    if (s >= 0) defineMs.push(performance.now() - start);
    if (heap.stats().sites !== n) throw new Error(`define of ${n} one-call functions left ${heap.stats().sites} sites`);
    if (loadRefusal !== null) continue;
    heap = newHeap(n);
    start = performance.now();
    try {
      loadObject(heap, bytes, { name: 'ring' });
      if (s >= 0) loadMs.push(performance.now() - start);
    } catch (error) {
      loadRefusal = (error as Error).message;
    }
  }
  return {
    functions: n, samples, objectMs, objectBytes: bytes.length, bfdNs, goldNs, defineNs: perFunction(defineMs),
    loadObjectNs: loadRefusal === null ? perFunction(loadMs) : null, loadRefusal,
  };
}

export function main(opts: { quick?: boolean } = {}): LinkersResult {
  const quick = opts.quick === true;
  const began = performance.now();
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    const skipped = `gcc is missing (${(error as Error).message.split('\n')[0]})`;
    console.log(`  skipped: ${skipped}`);
    return { quick, skipped, rows: [], totalSeconds: 0 };
  }
  const dir = mkdtempSync(join(tmpdir(), 'codeheap-linkers-'));
  const rows: LinkerRow[] = [];
  const ns = (x: number | null): string => (x === null ? '—' : x.toFixed(0)).padStart(7);
  console.log('one-call functions, ns per function: ld.bfd -shared, ld.gold -shared, heap.define, loadObject (medians)');
  try {
    for (const n of quick ? [1_000, 10_000] : [1_000, 100_000, 1_000_000]) {
      const r = measure(n, quick, dir);
      rows.push(r);
      console.log(`  ${String(n).padStart(8)}  bfd ${ns(r.bfdNs)}  gold ${ns(r.goldNs)}  define ${ns(r.defineNs)}  loadObject ${ns(r.loadObjectNs)}`
        + `${r.loadRefusal === null ? '' : ` (refused: ${r.loadRefusal})`}  (object: ${(r.objectMs / 1000).toFixed(1)} s, ${(r.objectBytes / 2 ** 20).toFixed(1)} MiB)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { quick, skipped: '', rows, totalSeconds: (performance.now() - began) / 1000 };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, main({ quick }));
}
