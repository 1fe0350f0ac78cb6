// Growth: many define/free rounds of a small unit on one heap, and what the heap and the process
// hold at the start and at the end. Nothing should grow without bound.
//
// A round defines a unit of four functions with fresh names (a <-> b a cycle; c calls a and a live
// helper; d calls c and b) and frees it. Beside them lives a base of 1,000 functions (a ring, held
// by its unit), so the per-node and per-site figures are of a heap with something in it. Two
// policies, each on a heap of its own:
//   unload    cycleThreshold: Infinity, the unit freed by heap.unload(its handles), which
//             reclaims its cycle in the call: the heap never collects
//   auto      the default policy, the unit dropped unannounced (bench/unannounced.ts: its nodes
//             held by lookup() handles while it goes, those freed after), so its cycle is left
//             to the automatic collector
// Figures after the first tenth of the rounds (the start: every table has grown to its working
// size) and after the last round: stats().metadata (bytes, per live node, per live site), the
// candidates buffered, nodes and sites, and the process's RSS and V8 heapUsed after a full V8
// collection. Target: each at the end within 1.25x of the start (RSS and heapUsed: plus 8 MiB,
// what V8 may keep for its own reasons), and the candidates no more than the policy lets wait.
//
// Run: npm run build && node --expose-gc --import tsx bench/growth.bench.ts [--quick]
// (quick: 4 s a policy; full: up to 1,000,000 rounds or 60 s a policy, whichever comes first).

import type { HeapStats, Unit, UnitDefinition } from '../src/index.js';
import { childArgs, isEntry, writeResult } from './child.js';
import { CodeHeap } from './cycles-heap.js';
import { bounded, GROWTH_POLICIES, type GrowthPoint, type GrowthPolicy, type GrowthResult, type GrowthRow } from './growth-targets.js';
import { functionNames, graphUnits, makeGraph } from './shapes.js';
import { dropUnannounced } from './unannounced.js';

const MAX_ROUNDS = 1_000_000;
const BASE = 1_000;

const CODE = new Uint8Array([0xe8, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0, 0xc3]);

/** Round r's unit: a <-> b, c -> a and the base's f0, d -> c and b. */
function roundUnit(r: number): UnitDefinition {
  const n = (x: string): string => `r${r}_${x}`;
  const calls = (...targets: string[]) => targets.map((symbol, c) => ({ offset: c * 5 + 1, type: 'R_X86_64_PLT32' as const, symbol, addend: -4 }));
  return {
    functions: [
      { name: n('a'), code: CODE, relocations: calls(n('b')) },
      { name: n('b'), code: CODE, relocations: calls(n('a')) },
      { name: n('c'), code: CODE, relocations: calls(n('a'), 'f0') },
      { name: n('d'), code: CODE, relocations: calls(n('c'), n('b')) },
    ],
  };
}

function point(heap: CodeHeap, rounds: number, gc: () => void): GrowthPoint {
  gc();
  const s: HeapStats = heap.stats();
  const memory = process.memoryUsage();
  return {
    rounds, metadataBytes: s.metadata.bytes, metadataPerNode: s.metadata.perNode, metadataPerSite: s.metadata.perSite,
    candidates: s.candidates, nodes: s.nodes.total, sites: s.sites, collections: s.collections,
    rssBytes: memory.rss, heapUsedBytes: memory.heapUsed,
  };
}

function run(policy: GrowthPolicy, budgetMs: number, gc: () => void): GrowthRow {
  const heap = new CodeHeap({
    arch: 'x86_64', codeSize: 4 * 1024 * 1024, dataSize: 64 * 1024, ...(policy === 'unload' ? { cycleThreshold: Infinity } : {}),
  });
  const base = heap.define(graphUnits(makeGraph('ring', BASE), functionNames(BASE))[0]!);
  const free = policy === 'unload'
    ? (unit: Unit) => void heap.unload(unit.handles())
    : (unit: Unit) => dropUnannounced(heap, unit);
  const began = performance.now();
  let start: GrowthPoint | undefined;
  let rounds = 0;
  // The budget is checked every 1,000 rounds; the start is taken when a tenth of it has passed.
  while (rounds < MAX_ROUNDS) {
    for (let k = 0; k < 1_000; k++, rounds++) free(heap.define(roundUnit(rounds)));
    const elapsed = performance.now() - began;
    if (start === undefined && elapsed >= budgetMs / 10) start = point(heap, rounds, gc);
    if (elapsed >= budgetMs) break;
  }
  const seconds = (performance.now() - began) / 1000;
  const end = point(heap, rounds, gc);
  heap.verify();
  base.free();
  return { policy, rounds, seconds, threshold: heap.stats().cycleThreshold, start: start ?? end, end };
}

export function main(opts: { quick?: boolean } = {}): GrowthResult {
  const quick = opts.quick === true;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('growth.bench.ts needs node --expose-gc');
  const began = performance.now();
  const rows: GrowthRow[] = [];
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  for (const policy of GROWTH_POLICIES) {
    const row = run(policy, quick ? 4_000 : 60_000, gc);
    rows.push(row);
    const { start: s, end: e } = row;
    console.log(`  ${policy.padEnd(6)} ${row.rounds} rounds in ${row.seconds.toFixed(1)} s: metadata ${s.metadataBytes} -> ${e.metadataBytes} B`
      + ` (${s.metadataPerNode.toFixed(1)} -> ${e.metadataPerNode.toFixed(1)} B/node, ${s.metadataPerSite.toFixed(1)} -> ${e.metadataPerSite.toFixed(1)} B/site),`
      + ` candidates ${s.candidates} -> ${e.candidates}, nodes ${s.nodes} -> ${e.nodes}, collections ${e.collections},`
      + ` RSS ${mib(s.rssBytes)} -> ${mib(e.rssBytes)}, heapUsed ${mib(s.heapUsedBytes)} -> ${mib(e.heapUsedBytes)}: ${bounded(row) ? 'bounded' : 'GROWS'}`);
  }
  return { quick, rows, totalSeconds: (performance.now() - began) / 1000 };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, main({ quick }));
}
