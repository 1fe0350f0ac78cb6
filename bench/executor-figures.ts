// What bench/executor.bench.ts measures, apart from the suite (which loads dist/ when imported),
// so that the report and its tests can read the figures without it.

export interface ExecutorResult {
  readonly available: boolean;
  readonly reason: string;
  /** Median and p99 ns of heap.call of a two-argument leaf: in an executor, and in this process (native memory). */
  readonly call: { readonly executorNs: number; readonly executorP99Ns: number; readonly nativeNs: number; readonly nativeP99Ns: number };
  /**
   * Median ns of a redefine whose new body one direct call site is backpatched to, on each
   * memory; `seenEveryTime`: the call right after each redefine, with nothing sent between,
   * ran the new body in the executor every time.
   */
  readonly redefine: { readonly executorNs: number; readonly nativeNs: number; readonly samples: number; readonly seenEveryTime: boolean };
  /**
   * A thread of the executor spinning on the caller's site while the host redefines its target:
   * the median ns from redefine's start to the executor seeing the new site, against redefine's
   * own median; `beforeReturn`: how many of the `samples` it saw before redefine returned.
   */
  readonly visibility?: { readonly seenNs: number; readonly redefineNs: number; readonly beforeReturn: number; readonly samples: number };
  /**
   * Over TCP on 127.0.0.1 (connectExecutor, the bytes copied): the round trip's median and p99,
   * and the bytes sent for one define of a unit of `functions` functions of 16 bytes (median),
   * and for one redefine with its backpatched caller.
   */
  readonly tcp?: { readonly callNs: number; readonly callP99Ns: number; readonly functions: number; readonly bytesPerDefine: number; readonly bytesPerRedefine: number };
}

/** The round trip's target (issue 18): under 20 µs on one machine. */
export const ROUND_TRIP_TARGET_NS = 20_000;
