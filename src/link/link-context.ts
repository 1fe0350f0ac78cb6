// What every stage of a link works with: the graph it links into, the architecture that encodes
// relocations, and the stubs it may create.

import type { HeapGraph } from '../rc/heap-graph.js';
import type { Architecture } from '../reloc/architecture.js';
import type { StubManager } from '../stubs/stub-manager.js';

export interface LinkContext {
  readonly graph: HeapGraph;
  readonly arch: Architecture;
  readonly stubs: StubManager;
  /**
   * Per kind id, 1 when a site of that kind with its usual addend fits wherever its target and
   * its field lie in the heap (reloc/apply.ts, settledKinds): such a site needs no range check
   * when it is linked to a node of the heap or its target moves.
   */
  readonly settled: Uint8Array;
}
