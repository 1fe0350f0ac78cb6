// Regressions of the benchmark report: how a summary row is judged from a run's figures, and how
// a peer that fails is skipped. Each case is one the report once got wrong.

import { describe, expect, test } from 'vitest';
import type { PeerFigure } from '../bench/allocator-peers.bench.js';
import type { CyclesBenchResult, CyclesRow } from '../bench/cycles.bench.js';
import { Peer } from '../bench/cycles-peers.js';
import type { ObjectGraphResult } from '../bench/object-graph.bench.js';
import { allocatorRows, collectorRows, nativeRows } from '../bench/report.js';
import type { Shape } from '../bench/shapes.js';

/** A collector row at 1,000,000 nodes: codeheap's ns per node against the traversal's and CPython's. */
function cyclesRow(shape: Shape, codeheap: number, limit: number, cpython: number | null): CyclesRow {
  return {
    shape, nodes: 1_000_000, edges: 1_000_000, samples: 5,
    codeheapNsPerNode: codeheap, codeheapMinNsPerNode: codeheap, codeheapMaxNsPerNode: codeheap, v8GcNsPerNode: 0,
    freed: 1_000_000, visited: 1_000_000, limitNsPerNode: limit, markSweepNsPerNode: 2,
    cpythonNsPerNode: cpython, phpNsPerNode: null,
    vsLimit: codeheap / limit, vsCPython: cpython === null ? null : codeheap / cpython,
  };
}

function cycles(rows: CyclesRow[]): CyclesBenchResult {
  return {
    quick: false, loadAverage: [0, 0, 0],
    cpython: rows.some((r) => r.cpythonNsPerNode !== null) ? { version: '3', failures: [] } : { skipped: 'python3 not found' },
    php: { skipped: 'php not found' },
    rows,
    locality: {
      liveNodes: 1_000_016, garbageNodes: 1_000, samples: 11, collectMs: 0.05, visited: 1_000, freed: 1_000,
      markSweepMs: 7, speedup: 140, liveScanMs: 50, collectAfterFullGcMs: 0.08,
    },
    totalSeconds: 1,
  };
}

const noObjects: ObjectGraphResult = { quick: false, rows: [], overflowDepth: 8_000, collectedDepth: 7_900, depthTolerance: 0.02, totalSeconds: 1 };

function allocator(contender: PeerFigure['contender'], live: number, medianNs: number): PeerFigure {
  return { name: `${contender} ${live}`, medianNs, meanNs: medianNs, p99Ns: medianNs, minNs: medianNs, maxNs: medianNs, samples: 100, contender, live };
}

describe('summary rows', () => {
  test('a collector row is not judged met when CPython was not run: only a miss of the traversal target is certain', () => {
    const rows = collectorRows(cycles([cyclesRow('pairs', 20, 10, null), cyclesRow('ring', 50, 10, null)]), noObjects);
    expect(rows[0]).toMatchObject({ point: 'collectCycles, pairs, 1,000,000 nodes', met: '—' });
    expect(rows[1]).toMatchObject({ point: 'collectCycles, ring, 1,000,000 nodes', met: 'no' });
  });

  test('with CPython run, a collector row is met only when both ratios are', () => {
    const rows = collectorRows(cycles([cyclesRow('pairs', 20, 10, 50), cyclesRow('ring', 20, 10, 30)]), noObjects);
    expect(rows.map((r) => r.met).slice(0, 2)).toEqual(['yes', 'no']);
    expect(rows[2]).toMatchObject({ point: 'collectCycles locality, 1,000 garbage in 1,000,016 live', met: 'yes' });
  });

  test('allocate + free is flat only when every live count is within 2x of the fastest, whichever is fastest', () => {
    // The fewest live blocks are the slowest here: judged against them, every row would look flat.
    const rows = allocatorRows([
      allocator('tlsf', 16, 9), allocator('tlsf', 4096, 3), allocator('malloc', 16, 20), allocator('bump', 0, 3),
    ]);
    expect(rows.map((r) => r.met)).toEqual(['no', 'yes']);
    const flat = allocatorRows([allocator('tlsf', 16, 5), allocator('tlsf', 4096, 4), allocator('bump', 0, 2)]);
    expect(flat.map((r) => r.met)).toEqual(['yes', 'yes']);
  });
});

describe('a peer that fails', () => {
  test('before any figure: skipped for the rest of the run, with its first reason, and not run again', () => {
    const peer = new Peer('PHP');
    let runs = 0;
    expect(peer.figure('pairs 1000', () => (runs++, 'php not found'))).toBeNull();
    expect(peer.figure('ring 1000', () => (runs++, { version: '8.2', nsPerNode: 30 }))).toBeNull();
    expect(runs).toBe(1);
    expect(peer.outcome()).toEqual({ skipped: 'php not found' });
  });

  test('after giving figures: loses only that row, and keeps its version and its other figures', () => {
    const peer = new Peer('PHP');
    expect(peer.figure('pairs 1000', () => ({ version: '8.2', nsPerNode: 30 }))).toBe(30);
    expect(peer.figure('ring 100000', () => 'exited with SIGSEGV')).toBeNull();
    expect(peer.figure('random4 1000', () => ({ version: '8.2', nsPerNode: 50 }))).toBe(50);
    expect(peer.outcome()).toEqual({ version: '8.2', failures: ['ring 100000: exited with SIGSEGV'] });
  });
});

describe('the native rows', () => {
  test('results written before the native suite existed give no row', () => {
    expect(nativeRows(undefined)).toEqual([]);
  });

  test('a run without native memory says why in one unjudged row', () => {
    const rows = nativeRows({ available: false, reason: 'turned off by CODEHEAP_NATIVE=off', figures: null });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ratio).toContain('CODEHEAP_NATIVE=off');
    expect(rows[0]!.met).toBe('—');
  });
});
