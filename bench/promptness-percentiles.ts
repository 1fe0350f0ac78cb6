// The figures of bench/promptness.bench.ts: nearest-rank percentiles of delays and durations, and
// the ms format they are printed in.

/** Nearest-rank percentiles of a set of delays; the field that holds them names the unit. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) throw new Error('percentiles of no values');
  const sorted = Float64Array.from(values).sort();
  const rank = (q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1]! };
}

export function ms(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 0)} ms`;
}
