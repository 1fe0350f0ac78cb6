// What every stage of a link works with: the graph it links into, the architecture that encodes
// relocations, and the stubs it may create.

import type { HeapGraph } from '../rc/heap-graph.js';
import type { Architecture } from '../reloc/architecture.js';
import type { StubManager } from '../stubs/stub-manager.js';

export interface LinkContext {
  readonly graph: HeapGraph;
  readonly arch: Architecture;
  readonly stubs: StubManager;
}
