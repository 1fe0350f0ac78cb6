// The JIT-like workload's parameters: the shape of its modules and steps (WORKLOAD), and how long
// bench/macro.bench.ts runs it (FULL, QUICK).

const KiB = 1024;
const MiB = 1024 * KiB;

/** The workload's shape and the run's length; quick mode changes only the run's length. */
export interface MacroConfig {
  readonly seed: number;
  /** The heap's cyclePause (automatic collections in slices of about this many ms), or none. */
  readonly cyclePause?: number;
  readonly runtimeFunctions: number;
  readonly functionsPerModule: number;
  readonly vtablesPerModule: number;
  readonly vtableSlots: number;
  /** Modules loaded at once; loading one more unloads the oldest. */
  readonly window: number;
  /** A module is loaded every this many steps. */
  readonly loadEvery: number;
  readonly callsPerStep: number;
  /** Calls after which a function is recompiled at tier 2, and at tier 3. */
  readonly tierThresholds: readonly [number, number];
  readonly evictProbesPerStep: number;
  /** A function not called for this many steps is cold: a probe evicts it. */
  readonly coldSteps: number;
  readonly pointersPerStep: number;
  /** Function pointers held at once; taking one more frees the oldest. */
  readonly pointerRing: number;
  readonly codeSize: number;
  readonly dataSize: number;
  readonly stepsPerIteration: number;
  readonly iterations: number;
  readonly warmupIterations: number;
}

const WORKLOAD = {
  seed: 0x2545f491,
  runtimeFunctions: 16,
  functionsPerModule: 64,
  vtablesPerModule: 2,
  vtableSlots: 8,
  window: 32,
  loadEvery: 2,
  callsPerStep: 128,
  tierThresholds: [8, 64],
  evictProbesPerStep: 8,
  coldSteps: 32,
  pointersPerStep: 2,
  pointerRing: 128,
  // About 1.8x (code) and 2.2x (data) the peak use of the arenas: see the header of
  // bench/macro.bench.ts on fragmentation.
  codeSize: 4 * MiB,
  dataSize: 384 * KiB,
} as const;

/**
 * The collector runs about once per 350 steps (when 10,000 candidates have gathered), so the timed
 * iterations see about 110 collections: enough for a p99 that is not simply the maximum.
 */
export const FULL: MacroConfig = { ...WORKLOAD, stepsPerIteration: 1000, iterations: 40, warmupIterations: 4 };
/** About 14 collections: its p99 is the maximum. */
export const QUICK: MacroConfig = { ...WORKLOAD, stepsPerIteration: 500, iterations: 10, warmupIterations: 4 };

/** The slice the sliced runs ask for: half the 1 ms pause target, the rest left for the call's own work. */
export const SLICED_PAUSE_MS = 0.5;
