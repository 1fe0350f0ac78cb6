// The figures of bench/promptness.bench.ts: nearest-rank percentiles of delays and durations, and
// the ms format they are printed in.

import { percentile } from './harness.js';

/** Nearest-rank percentiles of a set of delays; the field that holds them names the unit. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) throw new Error('percentiles of no values');
  return { count: values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: percentile(values, 1) };
}

export function ms(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 0)} ms`;
}
