// What telling the profilers and gdb costs (README, Debugging and profiling): define and redefine
// on native memory with no profile, with the jitdump, with the jitdump and the perf map, and with
// the GDB JIT interface (no debugger attached: building and registering the objects), each
// with 1, 100 and 10,000 units already defined and live (a unit: 8 functions of 16 bytes). The
// target: under 2x the same call with no profile, and flat in the units registered.
//
// A sample defines one unit and frees it (only the define is timed), or redefines one function
// of a live unit. The four heaps run side by side in one process, sample by sample, on the
// compiled library in dist/; the jitdump goes to a temporary directory, removed at the end.
// Skipped, with the reason, where native memory is not available.
//
// Run: npm run build && npx tsx bench/profile.bench.ts [--quick]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeHeap as Heap, FunctionBody, Unit } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { nowNs } from './harness.js';
import { PROFILES, type ProfileResult, type ProfileRow } from './profile-figures.js';

export type { ProfileResult };

// Paths in variables, so that typechecking a fresh clone does not need dist/ to exist.
const DIST_ENTRY: string = '../dist/index.js';
const DIST_NATIVE: string = '../dist/native/index.js';
const { CodeHeap } = (await import(DIST_ENTRY)) as typeof import('../src/index.js');
const { isNativeAvailable, nativeMemory } = (await import(DIST_NATIVE)) as typeof import('../src/native/index.js');

const FUNCTIONS = 8;
/** The outputs each measured profile asks native memory for. */
const OUTPUTS = { jitdump: ['jitdump'], 'jitdump+perf-map': ['jitdump', 'perf-map'], gdb: ['gdb'] } as const;
const UNITS = [1, 100, 10_000] as const;
/** `mov eax, imm32; ret`, padded with NOPs to 16 bytes: a body whose bytes differ by imm. */
function body(imm: number): FunctionBody {
  const code = new Uint8Array(16).fill(0x90);
  code.set([0xb8, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, 0, 0xc3]);
  return { code };
}

function unitOf(prefix: string): { functions: { name: string; code: Uint8Array }[] } {
  return { functions: Array.from({ length: FUNCTIONS }, (_, i) => ({ name: `${prefix}_${i}`, ...body(i) })) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

export async function main(opts: { quick?: boolean } = {}): Promise<ProfileResult> {
  const quick = opts.quick === true;
  const { available, reason } = isNativeAvailable();
  if (!available) {
    console.log(`  skipped: native memory is not available (${reason})`);
    return { available, reason, functionsPerUnit: FUNCTIONS, rows: [] };
  }
  const dir = mkdtempSync(join(tmpdir(), 'codeheap-profile-bench-'));
  const heaps = PROFILES.map((profile) => new CodeHeap({
    arch: 'x86_64', codeSize: 4 << 20, dataSize: 1 << 16, cycleThreshold: Infinity,
    memory: nativeMemory(profile === 'none' ? {} : { profile: OUTPUTS[profile], jitdumpDirectory: dir }),
  }));
  const live: Unit[][] = heaps.map(() => []);
  const rows: ProfileRow[] = [];
  // Each heap's define, redefine and free run warm before anything is timed.
  heaps.forEach((heap) => {
    for (let i = 0; i < 2_000; i++) {
      const unit = heap.define(unitOf(`warm${i}`));
      heap.redefine(unit.get(`warm${i}_0`), body(i));
      unit.free();
    }
  });
  // Side by side, sample by sample: a round times one define and one redefine on each heap in
  // turn, and a figure is the median of its samples over all rounds. This shared machine's speed
  // drifts by half over seconds, so heaps measured one after another (each for its own stretch)
  // gave ratios that moved by 0.5x from run to run; interleaved, a slow stretch falls on all alike.
  const budgetNs = (quick ? 150 : 1_500) * 1e6;
  let fresh = 0;
  let imm = 0;
  try {
    for (const units of UNITS) {
      heaps.forEach((heap, h) => {
        while (live[h]!.length < units) live[h]!.push(heap.define(unitOf(`live${live[h]!.length}`)));
      });
      const targets = live.map((units) => units[0]!.get('live0_0'));
      const defines: number[][] = PROFILES.map(() => []);
      const redefines: number[][] = PROFILES.map(() => []);
      const started = nowNs();
      while (nowNs() - started < budgetNs) {
        for (let h = 0; h < heaps.length; h++) {
          const heap: Heap = heaps[h]!;
          const input = unitOf(`u${fresh++}`);
          const t0 = nowNs();
          const unit = heap.define(input);
          defines[h]!.push(nowNs() - t0);
          unit.free();
          const next = body(++imm);
          const t1 = nowNs();
          heap.redefine(targets[h]!, next);
          redefines[h]!.push(nowNs() - t1);
        }
      }
      for (const [h, profile] of PROFILES.entries()) {
        const row = { profile, units, defineNs: median(defines[h]!), redefineNs: median(redefines[h]!) };
        console.log(`  ${units} units live, ${profile}: define ${(row.defineNs / 1e3).toFixed(2)} µs, redefine ${(row.redefineNs / 1e3).toFixed(2)} µs (${defines[h]!.length} samples)`);
        rows.push(row);
      }
    }
    for (const heap of heaps) heap.verify();
  } finally {
    for (const heap of heaps) heap.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/tmp/perf-${process.pid}.map`, { force: true });
  }
  return { available, reason, functionsPerUnit: FUNCTIONS, rows };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick }));
}
