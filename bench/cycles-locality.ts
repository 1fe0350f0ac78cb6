// Locality of the collector: a collection over a little garbage in a big live heap, against a
// full mark-sweep of the same heap (see bench/cycles.bench.ts, part 4).

import { newHeap } from './cycles-heap.js';
import { median } from './harness.js';
import { graphUnits, markSweep, type CsrGraph } from './shapes.js';
import { dropUnannounced } from './unannounced.js';

export interface LocalityFigure {
  readonly liveNodes: number;
  readonly garbageNodes: number;
  readonly samples: number;
  /**
   * Median ms of one collectCycles() with the garbage as its only candidates, each sample after a
   * minor V8 collection (as each mark-sweep sample is): the target's figure.
   */
  readonly collectMs: number;
  /**
   * The same collection right after a full V8 collection instead: every cache is cold and the
   * collector's entry code runs for the first time since (reported, not the target's figure).
   */
  readonly collectAfterFullGcMs: number;
  /** Nodes that collection visited (markGray's count) and freed. */
  readonly visited: number;
  readonly freed: number;
  /** Median ms of a full mark-sweep of the same graph (roots: the handles). */
  readonly markSweepMs: number;
  /** markSweepMs / collectMs; target at least TARGETS.localitySpeedup (cycles-targets.ts). */
  readonly speedup: number;
  /** ms of the one collection that first found the 1,000,000 freed-handle candidates live. */
  readonly liveScanMs: number;
}

const LIVE_RINGS = 1_000;
const LIVE_RING = 1_000;
const HELPERS = 16;
const GARBAGE_RING = 10;
const GARBAGE = 1_000;
const WARM_UP_SAMPLES = 5;

/**
 * The locality graph, ids in definition order: live rings [0, live), helpers [live, live +
 * HELPERS), garbage [live + HELPERS, n). Live nodes call their ring's next node (one edge, the
 * cheapest graph to mark, so the mark-sweep is not flattered); garbage nodes also call a helper.
 */
export function localityGraph(): { graph: CsrGraph; names: string[]; roots: Int32Array } {
  const live = LIVE_RINGS * LIVE_RING;
  const nodes = live + HELPERS + GARBAGE;
  const offsets = new Int32Array(nodes + 1);
  const targets: number[] = [];
  const ringNext = (i: number, base: number, size: number): number => base + ((i - base + 1) % size);
  for (let i = 0; i < nodes; i++) {
    offsets[i] = targets.length;
    if (i < live) targets.push(ringNext(i, i - (i % LIVE_RING), LIVE_RING));
    else if (i >= live + HELPERS) {
      const g = i - live - HELPERS;
      targets.push(ringNext(i, i - (g % GARBAGE_RING), GARBAGE_RING), live + (g % HELPERS));
    }
  }
  offsets[nodes] = targets.length;
  const names = Array.from({ length: nodes }, (_, i) =>
    i < live ? `live${i}` : i < live + HELPERS ? `helper${i - live}` : `garbage${i - live - HELPERS}`);
  const roots = new Int32Array(LIVE_RINGS + HELPERS);
  for (let r = 0; r < LIVE_RINGS; r++) roots[r] = r * LIVE_RING;
  for (let h = 0; h < HELPERS; h++) roots[LIVE_RINGS + h] = live + h;
  return { graph: { nodes, offsets, targets: Int32Array.from(targets) }, names, roots };
}

/** V8's gc() (--expose-gc): a full collection, or a minor one (the young generation only). */
export type V8Gc = (options?: { type: 'minor' | 'major' }) => void;

/**
 * Times the locality collection. Before each sample, a minor V8 collection empties the young
 * generation, so that the garbage JavaScript objects of define() are not collected inside the
 * timed call; the mark-sweep samples get the same. A full V8 collection before each sample would
 * also evict every cache and leave the collector's entry code cold, a cost the mark-sweep loop
 * never pays: an empty collectCycles() right after a full gc() took 20 us here, 2 us otherwise.
 * That figure is measured too, in the same loop, and reported beside the target's.
 */
export function timeLocality(samples: number, gc: V8Gc): LocalityFigure {
  const { graph, names, roots } = localityGraph();
  const live = LIVE_RINGS * LIVE_RING;
  const heap = newHeap(graph.nodes);
  const held: { free(): void }[] = [];
  for (const unit of graphUnits(graph, names, LIVE_RING, 0, live)) {
    const handles = heap.define(unit).handles();
    held.push(handles[0]!);
    for (let i = 1; i < handles.length; i++) handles[i]!.free();
  }
  held.push(...heap.define(graphUnits(graph, names, HELPERS, live, live + HELPERS)[0]!).handles());
  // The freed handles left every live function a candidate: one collection finds them all live.
  gc();
  const liveScanMs = heap.collectCycles().ms;
  const garbage = graphUnits(graph, names, GARBAGE, live + HELPERS)[0]!;
  const collectMs: number[] = [];
  const afterFullGcMs: number[] = [];
  let visited = 0;
  let freed = 0;
  const timeOne = (into: number[] | null): void => {
    dropUnannounced(heap, heap.define(garbage));
    const start = performance.now();
    const result = heap.collectCycles();
    into?.push(performance.now() - start);
    ({ visited, freed } = result);
    if (freed !== GARBAGE) throw new Error(`the locality collection freed ${freed} of ${GARBAGE} garbage nodes`);
  };
  // The first samples only warm the collector up on this heap's shape; they are not kept.
  for (let s = -WARM_UP_SAMPLES; s < samples; s++) {
    gc({ type: 'minor' });
    timeOne(s >= 0 ? collectMs : null);
    gc();
    timeOne(s >= 0 ? afterFullGcMs : null);
  }
  if (heap.stats().nodes.total !== live + HELPERS) throw new Error('the locality heap lost live nodes');

  const marks = new Uint8Array(graph.nodes);
  const stack = new Int32Array(graph.nodes);
  const free = new Int32Array(graph.nodes);
  const sweepMs: number[] = [];
  for (let s = -2; s < samples; s++) {
    gc({ type: 'minor' });
    const start = performance.now();
    const swept = markSweep(graph, roots, marks, stack, free);
    if (s >= 0) sweepMs.push(performance.now() - start);
    if (swept !== GARBAGE) throw new Error(`the mark-sweep freed ${swept} of ${GARBAGE} garbage nodes`);
  }
  for (const handle of held) handle.free();
  const figure = { collectMs: median(collectMs), collectAfterFullGcMs: median(afterFullGcMs), markSweepMs: median(sweepMs) };
  return {
    liveNodes: live + HELPERS, garbageNodes: GARBAGE, samples, ...figure, visited, freed,
    speedup: figure.markSweepMs / figure.collectMs, liveScanMs,
  };
}
