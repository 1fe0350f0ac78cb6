// The rule that lets a linear-probing table remove an entry without a tombstone (name-table.ts,
// int-table.ts): after emptying slot `hole`, each later entry of the cluster moves back into the
// hole unless its probe, which starts at its home slot, would still reach it with the hole empty.

/** True when the entry at `at`, whose home slot is `home`, stays: home lies cyclically in (hole, at]. */
export function keepsPlace(hole: number, at: number, home: number): boolean {
  return hole <= at ? hole < home && home <= at : hole < home || home <= at;
}
