// Runs every benchmark suite in sequence, prints one summary table and writes the report.
//
//   npm run bench          the full run (about ten minutes on 2 cores, most of it building million-node
//                          heaps for the collector and the first collections, and ld.bfd linking a
//                          million functions): BENCHMARKS.md, bench/results/latest.json and the
//                          charts bench/results/*.svg
//   npm run bench:quick    a small version of everything, for CI (about two minutes):
//                          bench/results/quick.json, quick.md and bench/results/quick/*.svg
//   npx tsx bench/run.ts --report [--quick]
//                          runs nothing: writes the report and charts again from the last results
//
// Both build dist/ first: the suites that run in a process of their own (bench/child.ts says why)
// measure the compiled library.
//
// Each summary row sets codeheap's figure beside its limit (the cheapest thing that could do the
// job) or its peers (others doing the same job), with the ratio and the target it is held to.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as allocator from './allocator.bench.js';
import * as peers from './allocator-peers.bench.js';
import { ALLOCATOR_CHART, COLLECT_CHART, LINKER_CHART, PAUSE_CHART, renderCharts } from './charts.js';
import { runChild } from './child.js';
import * as core from './core.bench.js';
import type { NativeResults } from './native.bench.js';
import type { CyclesBenchResult } from './cycles.bench.js';
import { printResult as printCycles } from './cycles.bench.js';
import { formatNs } from './harness.js';
import type { ElfResults } from './elf.bench.js';
import * as firstCollection from './first-collection.bench.js';
import type { GrowthResult } from './growth-targets.js';
import type { LinkersResult } from './linkers.bench.js';
import type { ProfileResult } from './profile-figures.js';
import type { ExecutorResult } from './executor-figures.js';
import type { QueriesResult } from './queries.bench.js';
import { costNotes } from './report-costs.js';
import type { MacroResult } from './macro.bench.js';
import type { ObjectGraphResult } from './object-graph.bench.js';
import type { PromptnessResult } from './promptness.bench.js';
import { benchmarksMarkdown } from './report-markdown.js';
import { notes as summaryNotes, plainTable, summaryRows, type BenchResults, type Environment } from './report.js';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Runs every suite and gathers the results. */
async function runSuites(): Promise<BenchResults> {
  const started = performance.now();
  const startLoad = loadavg()[0]!;
  console.log(`codeheap benchmarks${quick ? ' (quick)' : ''}: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores\n`);

  console.log('--- bench/allocator.bench.ts');
  const allocatorFigures = await allocator.main({ quick });
  for (const f of allocatorFigures) console.log(`  ${formatNs(f.nsPerOperation).padStart(10)}  ${f.name} (mean)`);
  console.log('\n--- bench/allocator-peers.bench.ts');
  const peerFigures = await peers.main({ quick });
  console.log('\n--- bench/core.bench.ts');
  const coreResults = await core.main({ quick });
  console.log('\n--- bench/native.bench.ts (a process of its own, no V8 flags)');
  const nativeResults = runChild<NativeResults>('native.bench.ts', [], quick);
  console.log('\n--- bench/cycles.bench.ts (a process of its own: --expose-gc --single-threaded-gc)');
  const cyclesResults = runChild<CyclesBenchResult>('cycles.bench.ts', ['--expose-gc', '--single-threaded-gc'], quick);
  printCycles(cyclesResults);
  console.log('\n--- bench/object-graph.bench.ts (a process of its own: --expose-gc)');
  const objectGraph = runChild<ObjectGraphResult>('object-graph.bench.ts', ['--expose-gc'], quick);
  console.log('\n--- bench/promptness.bench.ts (a process of its own, no V8 flags)');
  const promptness = runChild<PromptnessResult>('promptness.bench.ts', [], quick);
  console.log('\n--- bench/macro.bench.ts (a process of its own, no V8 flags)');
  const macro = runChild<MacroResult>('macro.bench.ts', [], quick);
  console.log('\n--- bench/macro.bench.ts --sliced (the same workload, collections in slices: cyclePause)');
  const macroSliced = runChild<MacroResult>('macro.bench.ts', [], quick, ['--sliced']);
  console.log('\n--- bench/elf.bench.ts (a process of its own: SQLite loaded from gcc output)');
  const elf = runChild<ElfResults>('elf.bench.ts', [], quick);
  console.log('\n--- bench/first-collection.bench.ts (a process per sample: --expose-gc --single-threaded-gc)');
  const firstCollections = firstCollection.main({ quick });
  console.log('\n--- bench/queries.bench.ts (a process of its own, no V8 flags)');
  const queries = runChild<QueriesResult>('queries.bench.ts', [], quick);
  console.log('\n--- bench/linkers.bench.ts (a process of its own: gcc, ld.bfd and ld.gold)');
  const linkers = runChild<LinkersResult>('linkers.bench.ts', [], quick);
  console.log('\n--- bench/growth.bench.ts (a process of its own: --expose-gc)');
  const growth = runChild<GrowthResult>('growth.bench.ts', ['--expose-gc'], quick);
  console.log('\n--- bench/profile.bench.ts (a process of its own: define and redefine with the profilers told)');
  const profile = runChild<ProfileResult>('profile.bench.ts', [], quick);
  console.log('\n--- bench/executor.bench.ts (a process of its own, and an executor process)');
  const executor = runChild<ExecutorResult>('executor.bench.ts', [], quick);

  const environment: Environment = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    packages: Object.fromEntries(['mitata', 'tinybench', '@thi.ng/malloc', 'vega', 'vega-lite'].map((p) => [p, packageVersion(p)])),
    quick,
    loadAverage: { start: startLoad, end: loadavg()[0]! },
  };
  return {
    environment,
    seconds: (performance.now() - started) / 1000,
    allocator: allocatorFigures,
    allocatorPeers: peerFigures,
    core: coreResults,
    native: nativeResults,
    cycles: cyclesResults,
    objectGraph,
    promptness,
    macro,
    macroSliced,
    elf,
    firstCollection: firstCollections,
    queries,
    linkers,
    profile,
    executor,
    growth,
  };
}

const outDir = join(here, 'results');
const base = quick ? 'quick' : 'latest';
// --report: no suite runs; the report, charts included, is written again from the last results
// (after bench/findings.md or the report's layout changed).
const results: BenchResults = process.argv.includes('--report')
  ? JSON.parse(readFileSync(join(outDir, `${base}.json`), 'utf8')) as BenchResults
  : await runSuites();
const { environment, allocatorPeers: peerFigures, cycles: cyclesResults, objectGraph } = results;

// ---- the summary --------------------------------------------------------------------------------

const rows = summaryRows(results);
const notes = [...summaryNotes(results, peers.POOL_LIVE_LIMIT), ...costNotes(results)];
console.log(`\nsummary (medians; ${results.seconds.toFixed(0)} s in all; load average ${environment.loadAverage.start.toFixed(2)} at the start, ${environment.loadAverage.end.toFixed(2)} at the end)\n`);
for (const line of plainTable(rows)) console.log(line);
for (const note of notes) console.log(note);

// ---- the report ---------------------------------------------------------------------------------

const chartDir = quick ? join(outDir, 'quick') : outDir;
mkdirSync(chartDir, { recursive: true });
writeFileSync(join(outDir, `${base}.json`), `${JSON.stringify({ ...results, summary: rows }, null, 2)}\n`);
const objectSeries = objectGraph.rows.flatMap((o) =>
  o.nsPerNode === null ? [] : [{ shape: o.shape, nodes: o.nodes, series: 'object-per-node (recursive)', nsPerNode: o.nsPerNode }]);
const phpSeries = cyclesResults.rows.flatMap((c) =>
  c.phpNsPerNode === null ? [] : [{ shape: c.shape, nodes: c.nodes, series: 'PHP gc_collect_cycles()', nsPerNode: c.phpNsPerNode }]);
const charts = await renderCharts({
  allocatorPeers: peerFigures, cycles: cyclesResults, environment, extraCollectSeries: [...phpSeries, ...objectSeries],
  ...(results.linkers === undefined ? {} : { linkers: results.linkers }),
  macro: results.macro,
  ...(results.macroSliced === undefined ? {} : { macroSliced: results.macroSliced }),
}, chartDir);
const markdownPath = quick ? join(outDir, 'quick.md') : join(root, 'BENCHMARKS.md');
const findingsPath = join(here, 'findings.md');
const markdown = benchmarksMarkdown({
  results,
  rows,
  notes,
  findings: existsSync(findingsPath) ? readFileSync(findingsPath, 'utf8') : '',
  charts: [
    { path: relative(dirname(markdownPath), join(chartDir, COLLECT_CHART)), caption: 'collectCycles: ns per node against nodes, beside the traversal limit and the peers' },
    { path: relative(dirname(markdownPath), join(chartDir, ALLOCATOR_CHART)), caption: 'allocate + free: ns per step against live blocks' },
    ...charts.filter((c) => c.endsWith(LINKER_CHART)).map((c) => ({
      path: relative(dirname(markdownPath), c), caption: 'linking: ns per function against functions, define and loadObject beside ld.bfd and ld.gold',
    })),
    ...charts.filter((c) => c.endsWith(PAUSE_CHART)).map((c) => ({
      path: relative(dirname(markdownPath), c), caption: 'pauses in the JIT-like workload by percentile, whole collections and in slices, beside the 1 ms target',
    })),
  ],
});
writeFileSync(markdownPath, markdown);
console.log(`\nwrote ${relative(root, markdownPath)}, bench/results/${base}.json and ${charts.map((c) => relative(root, c)).join(', ')}`);
