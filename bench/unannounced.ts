// Garbage the collector must find: a unit dropped the way a JIT drops references it never
// announced. unit.free() (and freeing a unit's last handle) reclaims what only the unit held at
// once (DESIGN semantics 10), so a benchmark of collectCycles makes its garbage another way: a
// lookup() handle holds each node while the unit is freed (its unload finds everything held),
// and those handles are freed after, each leaving its node a candidate.

import type { CodeHeap, Unit } from '../src/index.js';

export function dropUnannounced(heap: CodeHeap, unit: Unit): void {
  const held = unit.handles().map((handle) => heap.lookup(handle.name));
  unit.free();
  for (const handle of held) handle.free();
}
