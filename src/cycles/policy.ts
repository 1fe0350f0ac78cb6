// When the collector runs by itself: a threshold on the candidate buffer that adapts like PHP's.
//
// A run is due when the buffer holds `threshold` candidates, checked at the end of the public
// call that pushed it there (a safe point: never inside a call). With 'auto', a run that frees
// little means the candidates were mostly live (a program that shares a lot), so the threshold
// rises by a step and runs become rarer; a productive run lowers it a step, back towards the
// initial value. A fixed number never adapts; Infinity turns automatic runs off.

import type { CollectionResult } from '../types.js';

/** A run that frees fewer nodes than this is unproductive (PHP's GC_THRESHOLD_TRIGGER). */
export const UNPRODUCTIVE_BELOW = 100;
/** How far one run moves the threshold (PHP's GC_THRESHOLD_STEP). */
export const THRESHOLD_STEP = 10_000;
/** The threshold never rises past this (PHP's GC_THRESHOLD_MAX). */
export const THRESHOLD_MAX = 1_000_000_000;

export class CollectionPolicy {
  constructor(
    public threshold: number,
    private readonly initial: number,
    private readonly adaptive: boolean,
  ) {}

  due(candidates: number): boolean {
    return candidates >= this.threshold;
  }

  /** Adapts the threshold to how productive an automatic run was. */
  record(result: CollectionResult): void {
    if (!this.adaptive) return;
    if (result.freed < UNPRODUCTIVE_BELOW) {
      this.threshold = Math.min(THRESHOLD_MAX, this.threshold + THRESHOLD_STEP);
    } else if (this.threshold > this.initial) {
      this.threshold = Math.max(this.initial, this.threshold - THRESHOLD_STEP);
    }
  }
}
