// Summary rows and a detail section for the costs a JIT meets outside the collector's steady
// state: the first collection of a process, queries as the heap grows, defining against the
// system linkers, freeing in a fragmented heap, and growth over many rounds. Figures only, read
// from the suites' results; each ratio is of figures of the same run.

import { TARGETS as CYCLE_TARGETS } from './cycles-targets.js';
import type { FirstCollectionResult } from './first-collection.bench.js';
import { bounded, GROWTH_TARGET, type GrowthResult } from './growth-targets.js';
import { formatNs } from './harness.js';
import type { LinkersResult } from './linkers.bench.js';
import { PROFILES, type ProfileResult, type ProfileRow } from './profile-figures.js';
import { executorRows } from './report-executor.js';
import type { QueriesResult, QueryRow } from './queries.bench.js';
import { count, table, times, TARGETS, type BenchResults, type Row } from './report.js';

/** A fragmented heap's cost per freed node: at most this many times the all-garbage collection's. */
export const FRAGMENTED_TARGET = 2;

const met = (ok: boolean): Row['met'] => (ok ? 'yes' : 'no');
const ns1 = (x: number): string => x.toFixed(1);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Notes under the summary table for these rows. */
export function costNotes(r: BenchResults): string[] {
  const refused = (r.linkers?.rows ?? []).find((x) => x.loadRefusal !== null);
  return refused === undefined || refused.loadRefusal === null ? [] : [
    `(b) loadObject refused the object of ${count(refused.functions)} functions: ${refused.loadRefusal}`,
  ];
}

export function costRows(r: BenchResults): Row[] {
  return [
    ...firstCollectionRows(r.firstCollection), ...queryRows(r.queries), ...linkerRows(r.linkers),
    ...fragmentedRows(r), ...growthRows(r.growth), ...pauseRows(r), ...profileRows(r.profile), ...executorRows(r.executor),
  ];
}

/** Profilers told (issue 17): define and redefine against the same heap with no profile, at each number of units live. */
export function profileRows(p: ProfileResult | undefined): Row[] {
  if (p === undefined || p.rows.length === 0) return [];
  const none = new Map(p.rows.filter((x) => x.profile === 'none').map((x) => [x.units, x]));
  const rows: Row[] = [];
  for (const profile of PROFILES.filter((x) => x !== 'none')) {
    const told = p.rows.filter((x) => x.profile === profile && none.has(x.units));
    for (const call of ['define', 'redefine'] as const) {
      const ns = (x: ProfileRow): number => (call === 'define' ? x.defineNs : x.redefineNs);
      const ratios = told.map((x) => ns(x) / ns(none.get(x.units)!));
      const figures = told.map(ns);
      const worst = Math.max(...ratios);
      // Flat: what telling the tools adds, against the define measured beside it, does not grow
      // with the units registered. On the ratios, not the figures: this machine's speed drifts
      // between the unit counts' stretches, and moves both sides of a ratio alike.
      const flat = worst <= 1.5 * Math.min(...ratios);
      rows.push({
        point: `${call}${call === 'define' ? ` of ${p.functionsPerUnit} functions` : ''} with ${profile}, ${told.map((x) => count(x.units)).join(' / ')} units live`,
        codeheap: figures.map((x) => formatNs(x)).join(' / '),
        limit: '—',
        peer: `${told.map((x) => formatNs(ns(none.get(x.units)!))).join(' / ')} no profile`,
        ratio: `${times(worst)} at worst`,
        target: '<= 2x no profile, flat (worst ratio <= 1.5x best)',
        met: met(worst <= 2 && flat),
      });
    }
  }
  return rows;
}

/** Bounded pauses (issue 16): the p99 pause with and without slices, and what slicing costs in throughput. */
export function pauseRows(r: BenchResults): Row[] {
  const whole = r.macro;
  const sliced = r.macroSliced;
  if (sliced?.slices === undefined || sliced.calls === undefined) return [];
  const ms = (x: number): string => `${x.toFixed(2)} ms`;
  return [
    {
      point: 'JIT-like workload: collector pause p99 (nearest rank)',
      codeheap: `${ms(sliced.slices.longestP99Ms)} longest slice (cyclePause ${sliced.config.cyclePause} ms; ` +
        `${sliced.slices.longestP50Ms === undefined ? '' : `p50 ${ms(sliced.slices.longestP50Ms)}, p90 ${ms(sliced.slices.longestP90Ms ?? NaN)}, `}` +
        `max ${ms(sliced.slices.longestMaxMs)}, ${sliced.slices.perCollection} slices a collection)`,
      limit: '—', peer: `${ms(whole.collector.pauseP99Ms)} whole collections`,
      ratio: times(sliced.slices.longestP99Ms / whole.collector.pauseP99Ms), target: '<= 1 ms', met: met(sliced.slices.longestP99Ms <= 1),
    },
    ...(sliced.slices.withoutV8Gc === undefined ? [] : [{
      point: 'JIT-like workload: longest slice less the V8 collections in it, p99',
      codeheap: `${ms(sliced.slices.withoutV8Gc.longestP99Ms)} (max ${ms(sliced.slices.withoutV8Gc.longestMaxMs)}; ` +
        `${sliced.slices.withoutV8Gc.withV8Gc} of ${count(sliced.collector.collections)} longest slices had one)`,
      limit: '—', peer: '—', ratio: '', target: '<= 1 ms',
      met: met(sliced.slices.withoutV8Gc.longestP99Ms <= 1),
    } satisfies Row]),
    {
      point: 'JIT-like workload: every heap call, p99 / p99.9 / max',
      codeheap: `${ms(sliced.calls.p99Ms)} / ${ms(sliced.calls.p999Ms)} / ${ms(sliced.calls.maxMs)} in slices`,
      limit: '—', peer: whole.calls === undefined ? '—' : `${ms(whole.calls.p99Ms)} / ${ms(whole.calls.p999Ms)} / ${ms(whole.calls.maxMs)} whole`,
      ratio: '', target: '—', met: '—',
    },
    ...(sliced.calls.withoutV8Gc === undefined ? [] : [{
      point: 'JIT-like workload: heap calls with no V8 collection in them, p99 / p99.9 / max',
      codeheap: `${ms(sliced.calls.withoutV8Gc.p99Ms)} / ${ms(sliced.calls.withoutV8Gc.p999Ms)} / ${ms(sliced.calls.withoutV8Gc.maxMs)} in slices` +
        ` (${sliced.calls.overOneMsWithV8Gc} of ${sliced.calls.overOneMs} calls over 1 ms had one` +
        `${sliced.stealShare === undefined ? '' : `; the host took ${(sliced.stealShare * 100).toFixed(1)}% of the CPU meanwhile`})`,
      limit: '—', peer: '—', ratio: '', target: '—', met: '—',
    } satisfies Row]),
    {
      point: 'JIT-like workload: throughput with collections in slices',
      codeheap: `${count(sliced.stepsPerSecond)} steps/s`, limit: '—', peer: `${count(whole.stepsPerSecond)} steps/s whole`,
      ratio: times(sliced.stepsPerSecond / whole.stepsPerSecond), target: '>= 0.9x', met: met(sliced.stepsPerSecond >= 0.9 * whole.stepsPerSecond),
    },
  ];
}

export function firstCollectionRows(f: FirstCollectionResult | undefined): Row[] {
  if (f === undefined) return [];
  return f.rows.flatMap((c) => [
    ['first collection in a fresh process', c.firstNsPerNode, c.firstVsTraversal, c.firstVsWarm],
    ['collection right after a full V8 gc()', c.afterGcNsPerNode, c.afterGcVsTraversal, c.afterGcVsWarm],
  ].map(([what, ns, vsTraversal, vsWarm]) => ({
    point: `${what}, ${c.shape}, ${count(c.nodes)} nodes`,
    codeheap: `${ns1(ns as number)} ns/node`,
    limit: `${ns1(c.traversalNsPerNode)} traversal`,
    peer: `${ns1(c.warmNsPerNode)} warm`,
    ratio: `${times(vsTraversal as number)} traversal, ${times(vsWarm as number)} warm (${c.samples} processes)`,
    target: `<= ${CYCLE_TARGETS.vsLimit}x traversal`,
    met: met((vsTraversal as number) <= CYCLE_TARGETS.vsLimit),
  })));
}

/** One row per query: its figure at every size, judged flat against the smallest heap's. */
export function queryRows(q: QueriesResult | undefined): Row[] {
  if (q === undefined || q.rows.length === 0) return [];
  const smallest = q.rows[0]!;
  const largest = q.rows[q.rows.length - 1]!;
  return ([['heap.node(name)', 'nodeNs'], ['heap.lookup(name) + free', 'lookupNs'], ['heap.stats()', 'statsNs']] as const).map(([what, key]) => {
    const worst = Math.max(...q.rows.map((x: QueryRow) => x[key])) / smallest[key];
    return {
      point: `${what}, ${count(smallest.nodes)} to ${count(largest.nodes)} nodes`,
      codeheap: q.rows.map((x) => formatNs(x[key])).join(', '),
      limit: '—',
      peer: '—',
      ratio: `${times(largest[key] / smallest[key])} largest / smallest heap`,
      target: `flat: every size <= ${TARGETS.flat}x the smallest`,
      met: met(worst <= TARGETS.flat),
    };
  });
}

export function linkerRows(l: LinkersResult | undefined): Row[] {
  if (l === undefined) return [];
  if (l.rows.length === 0) return [{ point: 'define against the linkers', codeheap: 'not run', limit: '—', peer: '—', ratio: l.skipped, target: '—', met: '—' }];
  return l.rows.map((x) => {
    const per = (v: number | null): string => (v === null ? 'not run' : `${formatNs(v)}`);
    const load = x.loadObjectNs === null ? 'loadObject refused (b)' : `loadObject ${formatNs(x.loadObjectNs)}`;
    return {
      point: `define per function, ${count(x.functions)} one-call functions`,
      codeheap: `${formatNs(x.defineNs)}; ${load}`,
      limit: '—',
      peer: `${per(x.goldNs)} ld.gold, ${per(x.bfdNs)} ld.bfd`,
      ratio: [
        x.goldNs === null ? '' : `${times(x.defineNs / x.goldNs)} gold`,
        x.bfdNs === null ? '' : `${times(x.defineNs / x.bfdNs)} bfd`,
        x.loadObjectNs === null || x.goldNs === null ? '' : `loadObject ${times(x.loadObjectNs / x.goldNs)} gold`,
      ].filter((s) => s !== '').join(', '),
      target: '<= 1x ld.gold',
      met: x.goldNs === null ? '—' : met(x.defineNs <= x.goldNs),
    };
  });
}

/** Freed nodes in a fragmented heap against the all-garbage collection of the largest pairs heap of the run. */
export function fragmentedRows(r: BenchResults): Row[] {
  const pairs = r.cycles.rows.filter((c) => c.shape === 'pairs');
  const anchor = pairs[pairs.length - 1];
  if (anchor === undefined) return [];
  const limit = `${ns1(anchor.codeheapNsPerNode)} all-garbage pairs, ${count(anchor.nodes)} (warm)`;
  const rows: Row[] = [];
  const judge = (point: string, ns: number, note: string): Row => ({
    point, codeheap: `${ns.toFixed(0)} ns/freed node`, limit, peer: '—',
    ratio: `${times(ns / anchor.codeheapNsPerNode)}; ${note}`, target: `<= ${FRAGMENTED_TARGET}x all-garbage`,
    met: met(ns <= FRAGMENTED_TARGET * anchor.codeheapNsPerNode),
  });
  const c = r.macro.collector;
  if (c.nsPerFreedNode !== undefined) {
    rows.push(judge('JIT-like workload: a collection, per freed node', c.nsPerFreedNode, `${count(c.collections)} collections, median ${count(c.freedMedian)} freed`));
  }
  const e = r.elf?.figures;
  if (e !== undefined && e !== null) rows.push(judge('unload SQLite, per freed node', e.unloadNsPerNode, `${e.unloadNodes} nodes`));
  return rows;
}

export function growthRows(g: GrowthResult | undefined): Row[] {
  if (g === undefined) return [];
  return g.rows.map((x) => {
    const { start: s, end: e } = x;
    return {
      point: `growth: ${count(x.rounds)} define/free rounds, ${x.policy === 'unload' ? 'cycleThreshold Infinity, heap.unload' : 'default policy, dropped unannounced'}`,
      codeheap: `metadata ${s.metadataPerNode.toFixed(1)} -> ${e.metadataPerNode.toFixed(1)} B/node, ${s.metadataPerSite.toFixed(1)} -> ${e.metadataPerSite.toFixed(1)} B/site;`
        + ` candidates ${count(s.candidates)} -> ${count(e.candidates)}`,
      limit: '—',
      peer: '—',
      ratio: `RSS ${mib(s.rssBytes)} -> ${mib(e.rssBytes)}, heapUsed ${mib(s.heapUsedBytes)} -> ${mib(e.heapUsedBytes)} (${x.seconds.toFixed(0)} s)`,
      target: `bounded: end <= ${GROWTH_TARGET}x start`,
      met: met(bounded(x)),
    };
  });
}

/** The detail section: the linkers' table, the growth runs' tables; the rest is in the summary. */
export function costSection(r: BenchResults): string[] {
  const lines: string[] = [];
  const l = r.linkers;
  if (l !== undefined && l.rows.length > 0) {
    const cell = (v: number | null): string => (v === null ? '—' : formatNs(v));
    lines.push(
      '## Defining against the linkers',
      '',
      'N functions, each calling the next (a ring), per function, medians (bench/linkers.bench.ts): `ld.bfd -shared` and'
        + ' `ld.gold -shared` of an object of N per-function sections (whole process), `heap.define` of the same ring as one'
        + ' unit, `loadObject` of the same object (each in a fresh heap, warm).',
      '',
      ...table(['functions', 'define', 'load', 'gold', 'bfd', 'object'], l.rows.map((x) => ({
        functions: count(x.functions), define: cell(x.defineNs), load: x.loadRefusal === null ? cell(x.loadObjectNs) : `refused: ${x.loadRefusal}`,
        gold: cell(x.goldNs), bfd: cell(x.bfdNs), object: `${(x.objectBytes / 2 ** 20).toFixed(1)} MiB, ${(x.objectMs / 1000).toFixed(1)} s to write and assemble`,
      })), ['functions', 'heap.define', 'loadObject', 'ld.gold', 'ld.bfd', 'the object']),
      '',
    );
  }
  const g = r.growth;
  if (g !== undefined) {
    lines.push('## Growth', '', 'bench/growth.bench.ts: a unit of four functions with a cycle defined and freed round after round beside 1,000'
      + ' live functions; the start is after a tenth of the run, RSS and heapUsed after a full V8 collection.', '');
    lines.push(...table(['policy', 'at', 'rounds', 'bytes', 'node', 'site', 'candidates', 'nodes', 'rss', 'heapUsed'], g.rows.flatMap((x) =>
      (['start', 'end'] as const).map((at) => {
        const p = x[at];
        return {
          policy: x.policy, at, rounds: count(p.rounds), bytes: count(p.metadataBytes), node: p.metadataPerNode.toFixed(1), site: p.metadataPerSite.toFixed(1),
          candidates: count(p.candidates), nodes: count(p.nodes), rss: mib(p.rssBytes), heapUsed: mib(p.heapUsedBytes),
        };
      })), ['policy', '', 'rounds', 'metadata bytes', 'B/node', 'B/site', 'candidates', 'nodes', 'RSS', 'heapUsed']), '');
  }
  return lines;
}
