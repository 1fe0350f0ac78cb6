// The growth suite's figures and its target, apart from the suite (which loads the compiled
// library) so that the report and its tests can judge a run without loading it.

export const GROWTH_POLICIES = ['unload', 'auto'] as const;
export type GrowthPolicy = (typeof GROWTH_POLICIES)[number];
/** The end within this factor of the start; RSS and heapUsed within it plus SLACK_BYTES. */
export const GROWTH_TARGET = 1.25;
export const SLACK_BYTES = 8 * 1024 * 1024;

export interface GrowthPoint {
  readonly rounds: number;
  readonly metadataBytes: number;
  readonly metadataPerNode: number;
  readonly metadataPerSite: number;
  readonly candidates: number;
  readonly nodes: number;
  readonly sites: number;
  readonly collections: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

export interface GrowthRow {
  readonly policy: GrowthPolicy;
  readonly rounds: number;
  readonly seconds: number;
  /** The candidates the policy may leave waiting: its threshold (Infinity: none are buffered by unload). */
  readonly threshold: number;
  readonly start: GrowthPoint;
  readonly end: GrowthPoint;
}

export interface GrowthResult {
  readonly quick: boolean;
  readonly rows: GrowthRow[];
  readonly totalSeconds: number;
}

/** True when the end is within the target of the start: metadata, candidates, the process. */
export function bounded(row: GrowthRow): boolean {
  const { start: s, end: e } = row;
  const within = (a: number, b: number, slack = 0): boolean => b <= a * GROWTH_TARGET + slack;
  return within(s.metadataBytes, e.metadataBytes) && within(s.metadataPerNode, e.metadataPerNode)
    && within(s.metadataPerSite, e.metadataPerSite) && e.candidates <= Math.max(s.candidates, Math.min(row.threshold, e.nodes))
    && within(s.rssBytes, e.rssBytes, SLACK_BYTES) && within(s.heapUsedBytes, e.heapUsedBytes, SLACK_BYTES);
}
