// V8's own collections inside timed windows: the part of a timed call that the JavaScript heap's
// collector took (perf_hooks 'gc' entries), for the suites that report it beside their figures.

import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * V8's own collections (perf_hooks 'gc' entries) that start inside a timed window: the part of a
 * timed call that the JavaScript heap's collector took, for instance after the call shrank a Map.
 */
export class V8GcWatch {
  #entries: PerformanceEntry[] = [];
  readonly #observer = new PerformanceObserver((list) => {
    this.#entries.push(...list.getEntries());
  });

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * ms of V8 collections that started in each [start, end) window. Call it once after a series,
   * not between samples: entries arrive a turn of the event loop late, and giving up the thread
   * between samples made the next collectCycles() calls 10x slower (V8 threw away their optimized
   * code: `--trace-deopt` reports "weak objects").
   */
  async within(windows: readonly (readonly [number, number])[]): Promise<number[]> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const ms = windows.map(([start, end]) => {
      let sum = 0;
      for (const entry of this.#entries) if (entry.startTime >= start && entry.startTime < end) sum += entry.duration;
      return sum;
    });
    this.#entries = [];
    return ms;
  }

  stop(): void {
    this.#observer.disconnect();
  }
}
