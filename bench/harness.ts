// Timing helpers shared by the suites: mitata's measure() with a time budget, figures in ns.
//
// mitata's run() calibrates for seconds before the first benchmark and prints a report per group;
// the suites here call measure() directly instead, so a quick run stays quick and each figure is
// printed as one line the moment it is known.

import { measure } from 'mitata';

export interface Timing {
  readonly name: string;
  /** Median (p50) time of one operation, in nanoseconds. */
  readonly medianNs: number;
  /** Mean time of one operation, in nanoseconds. */
  readonly meanNs: number;
  /** 99th percentile of one iteration, divided like the others. */
  readonly p99Ns: number;
  /** Fastest and slowest samples mitata kept, divided like the others. */
  readonly minNs: number;
  readonly maxNs: number;
  /** Samples mitata kept (after trimming the two fastest and two slowest). */
  readonly samples: number;
}

export interface TimeOptions {
  readonly quick: boolean;
  /** Operations one call of fn performs; figures are divided by it. Default 1. */
  readonly operations?: number;
  /** Time budget in ms; default 600 (quick: 120). */
  readonly budgetMs?: number;
}

/** Times fn with mitata and prints one line. */
export async function time(name: string, fn: () => unknown, opts: TimeOptions): Promise<Timing> {
  const stats = await measure(fn, { min_cpu_time: budgetNs(opts), gc: false });
  return report(name, stats, opts.operations ?? 1);
}

/**
 * Times only what `step` reports: it does its own set-up and clean-up and returns the
 * nanoseconds of the part that counts (mitata's manual timing).
 */
export async function timeManual(name: string, step: () => number, opts: TimeOptions): Promise<Timing> {
  // mitata's manual mode: a generator yielding { manual }, whose return value is the sample.
  function* manual(): Generator<{ manual: () => number }, void, undefined> {
    yield { manual: step };
  }
  const stats = await measure(manual as unknown as Parameters<typeof measure>[0], {
    min_cpu_time: budgetNs(opts), gc: false,
  });
  return report(name, stats, opts.operations ?? 1);
}

/** Nanoseconds since an earlier `nowNs()`. */
export function nowNs(): number {
  return performance.now() * 1e6;
}

function budgetNs(opts: TimeOptions): number {
  return (opts.budgetMs ?? (opts.quick ? 120 : 600)) * 1e6;
}

function report(
  name: string, stats: { p50: number; avg: number; p99: number; min: number; max: number; samples: number[] }, operations: number,
): Timing {
  const timing: Timing = {
    name,
    medianNs: stats.p50 / operations,
    meanNs: stats.avg / operations,
    p99Ns: stats.p99 / operations,
    minNs: stats.min / operations,
    maxNs: stats.max / operations,
    samples: stats.samples.length,
  };
  console.log(`  ${formatNs(timing.medianNs).padStart(10)}  ${name}`);
  return timing;
}

/** The middle value; the mean of the two middle ones for an even count; 0 when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in (0, 1]) of values; 0 when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** 1.23 ns, 45.6 ns, 7.89 µs, 1.23 ms. */
export function formatNs(ns: number): string {
  if (ns < 10) return `${ns.toFixed(2)} ns`;
  if (ns < 1000) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}
