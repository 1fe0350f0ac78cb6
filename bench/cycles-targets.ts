// The collector's targets, as ratios of codeheap's figure to the other's (at most) and a speedup
// (at least). In a module of their own so that the report, and its tests, read them without
// loading the suite (which loads the compiled library).

export const TARGETS = { vsLimit: 4, vsCPython: 0.5, localitySpeedup: 100 } as const;
