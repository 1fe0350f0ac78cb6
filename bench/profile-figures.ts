// What bench/profile.bench.ts measures, apart from the suite (which loads dist/ when imported), so
// that the report and its tests can read the figures without it.

export const PROFILES = ['none', 'jitdump', 'jitdump+perf-map', 'gdb'] as const;
export type Profile = (typeof PROFILES)[number];

export interface ProfileRow {
  readonly profile: Profile;
  /** Units defined and live when the sample ran. */
  readonly units: number;
  /** Median ns of one define of a unit of FUNCTIONS functions, and of one redefine. */
  readonly defineNs: number;
  readonly redefineNs: number;
}

export interface ProfileResult {
  readonly available: boolean;
  readonly reason: string;
  readonly functionsPerUnit: number;
  readonly rows: readonly ProfileRow[];
}

