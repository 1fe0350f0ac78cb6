// CPU time the host took from this machine (Linux's "steal" in /proc/stat): on a shared virtual
// machine a heap call can last milliseconds with the thread not running at all, and the pause
// figures of a run are read beside it.

import { readFileSync } from 'node:fs';

/** The machine's CPU time so far, in clock ticks: all of it, and what the host stole. */
export interface CpuTicks {
  readonly total: number;
  readonly steal: number;
}

/** The counters of /proc/stat's first line, or undefined where there is none. */
export function cpuTicks(): CpuTicks | undefined {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return undefined;
  return { total: fields.slice(0, 8).reduce((sum, n) => sum + n, 0), steal: fields[7]! };
}

/** The share of CPU time stolen between two readings (0 to 1), or undefined. */
export function stealShare(from: CpuTicks | undefined, to: CpuTicks | undefined): number | undefined {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined;
  return (to.steal - from.steal) / (to.total - from.total);
}
