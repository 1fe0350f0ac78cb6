// Queries on a live heap as it grows: heap.node(name), heap.lookup(name) with the handle freed,
// and heap.stats(), per call, at 1,000 to 1,000,000 nodes.
//
// The heap is the collector suite's random4 graph (bench/shapes.ts), defined and kept live: every
// function calls four others, so every node has referrers for node() to list. The names queried
// are drawn at random from the heap (the same xorshift sequence at every size), so that no size is
// favoured by a cache. Target: flat in heap size (node() is O(its degree), lookup() and stats() O(1)),
// judged as every size within 2x of the smallest.
// The heap never collects (cycleThreshold: Infinity): a freed lookup handle makes its node a
// candidate, and a collection over live candidates is not what is measured here.
//
// Run: npm run build && npx tsx bench/queries.bench.ts [--quick]   (quick: up to 100,000 nodes)

import { childArgs, isEntry, writeResult } from './child.js';
import { newHeap } from './cycles-heap.js';
import { time, type Timing } from './harness.js';
import { functionNames, graphUnits, makeGraph, XorShift32 } from './shapes.js';

/** Names drawn per size, queried in turn. */
const DRAWN = 4_096;

export interface QueryRow {
  readonly nodes: number;
  readonly sites: number;
  /** Median ns of one call. */
  readonly nodeNs: number;
  readonly lookupNs: number;
  readonly statsNs: number;
  /** Mean referrers of the nodes queried, as node() reported them. */
  readonly meanReferrers: number;
}

export interface QueriesResult {
  readonly quick: boolean;
  readonly rows: QueryRow[];
  readonly totalSeconds: number;
}

/** One query's per-call timing: a name per call, in turn. */
async function timeQuery(label: string, names: readonly string[], query: (name: string) => unknown, quick: boolean): Promise<Timing> {
  let next = 0;
  return time(label, () => query(names[next++ % names.length]!), { quick });
}

export async function main(opts: { quick?: boolean } = {}): Promise<QueriesResult> {
  const quick = opts.quick === true;
  const began = performance.now();
  const sizes = quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000];
  const rows: QueryRow[] = [];
  console.log('queries on a live random4 heap (four calls per function), per call');
  for (const nodes of sizes) {
    const all = functionNames(nodes);
    const heap = newHeap(nodes);
    const units = graphUnits(makeGraph('random4', nodes), all);
    const live = units.map((unit) => heap.define(unit));
    const random = new XorShift32(0x9e3779b9);
    const names = Array.from({ length: DRAWN }, () => all[random.below(nodes)]!);
    let referrers = 0;
    for (const name of names) referrers += heap.node(name)?.referrers.length ?? 0;
    const at = `${nodes.toLocaleString('en-US')} nodes`;
    const node = await timeQuery(`heap.node(name), ${at}`, names, (name) => heap.node(name), quick);
    const lookup = await timeQuery(`heap.lookup(name).free(), ${at}`, names, (name) => heap.lookup(name).free(), quick);
    const stats = await time(`heap.stats(), ${at}`, () => heap.stats(), { quick });
    rows.push({
      nodes, sites: heap.stats().sites, nodeNs: node.medianNs, lookupNs: lookup.medianNs, statsNs: stats.medianNs,
      meanReferrers: referrers / names.length,
    });
    for (const unit of live) unit.free();
  }
  return { quick, rows, totalSeconds: (performance.now() - began) / 1000 };
}

if (isEntry(import.meta.url)) {
  const { quick, json } = childArgs();
  writeResult(json, await main({ quick }));
}
