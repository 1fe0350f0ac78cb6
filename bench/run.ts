// Runs every benchmark suite in sequence, prints one summary table and writes the results.
//
//   npm run bench          the full run (about ten minutes on 2 cores, most of it building million-node
//                          heaps for the collector): bench/results/latest.json and .md
//   npm run bench:quick    fewer cases, shorter budgets (about a minute): bench/results/quick.json and .md
//
// Both build dist/ first: the collector's suite measures the compiled library, in a process of
// its own started with the V8 flags it needs (see bench/cycles.bench.ts).
//
// Each row sets codeheap's figure beside its limit (the cheapest thing that could do the job) or
// its peer (another library doing the same job), with the ratio and the target it is held to.
// Figures are medians of mitata's samples.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as allocator from './allocator.bench.js';
import * as peers from './allocator-peers.bench.js';
import * as core from './core.bench.js';
import { TARGETS as CYCLE_TARGETS, type CyclesBenchResult } from './cycles.bench.js';
import { formatNs } from './harness.js';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));

interface Row {
  point: string;
  codeheap: string;
  limit: string;
  peer: string;
  ratio: string;
  target: string;
  met: 'yes' | 'no' | '—';
}

function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(here, '..', 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

const environment = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${platform()} ${arch()}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  mitata: packageVersion('mitata'),
  '@thi.ng/malloc': packageVersion('@thi.ng/malloc'),
  quick,
  /** One-minute load average when the run started and when it ended: other work skews figures. */
  loadAverage: { start: loadavg()[0]!, end: Number.NaN },
};

console.log(`codeheap benchmarks${quick ? ' (quick)' : ''}: node ${environment.node}, ${environment.cpu}, ${environment.cores} cores\n`);
const started = performance.now();

console.log('--- bench/allocator.bench.ts');
const allocatorFigures = await allocator.main({ quick });
for (const f of allocatorFigures) console.log(`  ${formatNs(f.nsPerOperation).padStart(10)}  ${f.name} (mean)`);
console.log('\n--- bench/allocator-peers.bench.ts');
const peerFigures = await peers.main({ quick });
console.log('\n--- bench/core.bench.ts');
const coreResults = await core.main({ quick });
console.log('\n--- bench/cycles.bench.ts (a process of its own: see the flags there)');
const cyclesResults = runCyclesBench();
const seconds = (performance.now() - started) / 1000;
environment.loadAverage.end = loadavg()[0]!;

/** The collector's suite, in a child process with the V8 flags it needs; its JSON result. */
function runCyclesBench(): CyclesBenchResult {
  const json = join(here, 'results', `.cycles-${process.pid}.json`);
  mkdirSync(dirname(json), { recursive: true });
  const args = ['--expose-gc', '--single-threaded-gc', '--import', 'tsx', join(here, 'cycles.bench.ts'), `--json=${json}`];
  if (quick) args.push('--quick');
  const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`bench/cycles.bench.ts failed (${run.status ?? run.signal})`);
  const result = JSON.parse(readFileSync(json, 'utf8')) as CyclesBenchResult;
  rmSync(json);
  return result;
}

// ---- the summary -------------------------------------------------------------------------------

const rows: Row[] = [];
const times = (x: number): string =>
  x >= 100 ? `${x.toFixed(0)}x` : x >= 10 ? `${x.toFixed(1)}x` : x >= 0.1 ? `${x.toFixed(2)}x` : `${x.toPrecision(2)}x`;
const count = (n: number): string => n.toLocaleString('en-US');

// Allocate + free: TLSF against the bump limit and the MemPool peer, all from one suite's run.
const bump = peerFigures.find((f) => f.contender === 'bump');
const tlsf = peerFigures.filter((f) => f.contender === 'tlsf');
const fewest = tlsf[0];
for (const ours of tlsf) {
  const pool = peerFigures.find((f) => f.contender === 'malloc' && f.live === ours.live);
  const flat = fewest === undefined ? Number.NaN : ours.medianNs / fewest.medianNs;
  rows.push({
    point: `allocate + free, ${count(ours.live)} live`,
    codeheap: formatNs(ours.medianNs),
    limit: bump === undefined ? '—' : `${formatNs(bump.medianNs)} bump`,
    peer: pool === undefined ? 'not run (a)' : `${formatNs(pool.medianNs)} malloc`,
    ratio: [
      bump === undefined ? '' : `${times(ours.medianNs / bump.medianNs)} bump`,
      pool === undefined ? '' : `${times(ours.medianNs / pool.medianNs)} malloc`,
    ].filter((s) => s !== '').join(', '),
    target: `flat: <= 2x ${count(fewest?.live ?? 0)}-live`,
    met: flat <= 2 ? 'yes' : 'no',
  });
}

// Backpatching: ns per site, flat in K. Below K = 100 the fixed cost of linking a body dominates
// and the subtraction is noise, so those rows are shown without a target.
const largest = coreResults.backpatch[coreResults.backpatch.length - 1];
for (const b of coreResults.backpatch) {
  const judged = b.k >= 100 && largest !== undefined;
  const ratio = largest === undefined ? Number.NaN : b.redefineNsPerSite / largest.redefineNsPerSite;
  rows.push({
    point: `backpatch, K = ${count(b.k)} sites`,
    codeheap: `${formatNs(b.redefineNsPerSite)}/site`,
    limit: '—',
    peer: '—',
    ratio: `${formatNs(b.redefine.medianNs)} per redefine`,
    target: judged ? `flat: <= 2x K = ${count(largest.k)}` : '— (fixed cost dominates)',
    met: judged ? (ratio <= 2 && ratio >= 0.5 ? 'yes' : 'no') : '—',
  });
}

const link = coreResults.defineLink;
rows.push({
  point: 'define + link',
  codeheap: `${count(Math.round(link.sitesPerSecond))} sites/s`,
  limit: '—',
  peer: '—',
  ratio: `${formatNs(link.define.medianNs)} per ${link.sitesPerUnit} sites`,
  target: '>= 1,000,000 sites/s',
  met: link.sitesPerSecond >= 1_000_000 ? 'yes' : 'no',
});

const rr = coreResults.retainRelease;
for (const [point, timing] of [
  ['retain + release (HeapGraph)', rr.graph],
  ['retain + release, leaf node', rr.graphLeaf],
  ['pin() + release() (public)', rr.pin],
] as const) {
  rows.push({
    point,
    codeheap: formatNs(timing.medianNs),
    limit: `${formatNs(rr.int32.medianNs)} Int32Array`,
    peer: '—',
    ratio: times(timing.medianNs / rr.int32.medianNs),
    target: '— (reported)',
    met: '—',
  });
}

for (const m of coreResults.metadata.figures) {
  rows.push({
    point: `metadata per node, ${m.codeBytes}-byte fns`,
    codeheap: `${m.perNode.toFixed(1)} B`,
    limit: '—',
    peer: '—',
    ratio: Number.isNaN(m.processBytesPerFunction) ? '' : `process: ${m.processBytesPerFunction.toFixed(0)} B/fn`,
    target: '<= 48 B',
    met: m.perNode <= 48 ? 'yes' : 'no',
  });
}
const perSite = coreResults.metadata.figures[0];
if (perSite !== undefined) {
  rows.push({
    point: 'metadata per site',
    codeheap: `${perSite.perSite.toFixed(1)} B`,
    limit: '—',
    peer: '—',
    ratio: '',
    target: '<= 16 B',
    met: perSite.perSite <= 16 ? 'yes' : 'no',
  });
}

// Cycle collection: the largest size of each shape, per node, beside the traversal limit and CPython.
for (const shape of ['pairs', 'ring', 'random4'] as const) {
  const shapeRows = cyclesResults.rows.filter((r) => r.shape === shape);
  const r = shapeRows[shapeRows.length - 1];
  if (r === undefined) continue;
  const metLimit = r.vsLimit <= CYCLE_TARGETS.vsLimit;
  const metPeer = r.vsCPython === null ? null : r.vsCPython <= CYCLE_TARGETS.vsCPython;
  rows.push({
    point: `collectCycles, ${shape}, ${count(r.nodes)} nodes`,
    codeheap: `${r.codeheapNsPerNode.toFixed(1)} ns/node`,
    limit: `${r.limitNsPerNode.toFixed(1)} traversal`,
    peer: r.cpythonNsPerNode === null ? 'not run (b)' : `${r.cpythonNsPerNode.toFixed(1)} CPython`,
    ratio: [`${times(r.vsLimit)} limit`, r.vsCPython === null ? '' : `${times(r.vsCPython)} CPython`].filter((x) => x !== '').join(', '),
    target: `<= ${CYCLE_TARGETS.vsLimit}x limit, <= ${CYCLE_TARGETS.vsCPython}x CPython`,
    met: metLimit && metPeer !== false ? 'yes' : 'no',
  });
}
const loc = cyclesResults.locality;
rows.push({
  point: `collectCycles locality, ${count(loc.garbageNodes)} garbage in ${count(loc.liveNodes)} live`,
  codeheap: `${(loc.collectMs * 1e3).toFixed(0)} µs, visited ${count(loc.visited)}`,
  limit: `${(loc.markSweepMs * 1e3).toFixed(0)} µs mark-sweep`,
  peer: '—',
  ratio: `${loc.speedup.toFixed(0)}x faster`,
  target: `>= ${CYCLE_TARGETS.localitySpeedup}x faster`,
  met: loc.speedup >= CYCLE_TARGETS.localitySpeedup ? 'yes' : 'no',
});

const columns: (keyof Row)[] = ['point', 'codeheap', 'limit', 'peer', 'ratio', 'target', 'met'];
const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
const notes = [
  `(a) @thi.ng/malloc is not run past ${count(peers.POOL_LIVE_LIMIT)} live blocks: its set-up is quadratic (see bench/allocator-peers.bench.ts).`,
  'malloc is @thi.ng/malloc\'s MemPool (default options); bump is a bump allocator that never frees.',
  'Ratios are codeheap / limit and codeheap / peer: below 1x codeheap is faster.',
  'collectCycles: one collection of a fresh heap that is all garbage cycles (median over fresh heaps); the traversal is one'
    + ' explicit-stack pass over the same graph in flat typed arrays; CPython is gc.collect() on the same graph of lists'
    + `${'version' in cyclesResults.cpython ? ` (${cyclesResults.cpython.version})` : ''}. Every size: the "cycles" rows of ${quick ? 'quick' : 'latest'}.json.`,
];
if ('skipped' in cyclesResults.cpython) notes.push(`(b) CPython was not run: ${cyclesResults.cpython.skipped}`);

console.log(`\nsummary (medians; ${seconds.toFixed(0)} s in all; load average ${environment.loadAverage.start.toFixed(2)} at the start, ${environment.loadAverage.end.toFixed(2)} at the end)\n`);
console.log(line(columns));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(columns.map((c) => r[c])));
for (const note of notes) console.log(note);

// ---- results ------------------------------------------------------------------------------------

const markdown = [
  `# codeheap benchmarks${quick ? ' (quick run)' : ''}`,
  '',
  `${environment.date.slice(0, 10)}; node ${environment.node}; ${environment.cpu}, ${environment.cores} cores; ${environment.platform};` +
    ` load average ${environment.loadAverage.start.toFixed(2)} at the start, ${environment.loadAverage.end.toFixed(2)} at the end.`,
  '',
  `| ${columns.join(' | ')} |`,
  `|${columns.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${columns.map((c) => r[c].replace(/\|/g, '\\|')).join(' | ')} |`),
  '',
  ...notes,
  '',
].join('\n');

const outDir = join(here, 'results');
mkdirSync(outDir, { recursive: true });
const base = quick ? 'quick' : 'latest';
writeFileSync(join(outDir, `${base}.json`), `${JSON.stringify({
  environment,
  seconds,
  summary: rows,
  allocator: allocatorFigures,
  allocatorPeers: peerFigures,
  core: coreResults,
  cycles: cyclesResults,
}, null, 2)}\n`);
writeFileSync(join(outDir, `${base}.md`), markdown);
console.log(`\nwrote bench/results/${base}.json and bench/results/${base}.md`);
