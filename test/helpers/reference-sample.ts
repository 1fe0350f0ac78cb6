// A small heap with one reference of each kind the drawings tell apart (toDot, the heap snapshot):
// calls (to a body and to a lazy function), a pointer through a stub, a pointer into a body, a
// reference to a global's data, and the stub's link.

import type { CodeHeap, Unit } from '../../src/index.js';
import { newHeap } from './heaps.js';
import { asm, quads } from './x86.js';

export function referenceSample(): { heap: CodeHeap; unit: Unit } {
  const heap = newHeap({ compile: () => asm().ret().build() });
  heap.declare('lazy_one');
  const unit = heap.define({
    functions: [
      { name: 'method', ...asm().call('helper').call('lazy_one').incGlobal('counter').ret().build() },
      { name: 'helper', ...asm().ret().build() },
    ],
    globals: [
      { name: 'vtable', ...quads(16, [{ offset: 8, symbol: 'method', via: 'stub' }, { offset: 0, symbol: 'method', addend: 5, via: 'body' }]) },
      { name: 'counter', size: 8 },
    ],
  });
  return { heap, unit };
}
