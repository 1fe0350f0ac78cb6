// The objects loaded into each heap, and what they export: how one object binds to another's
// symbols (a symbol in the middle of a section has no heap name of its own, so the heap's symbol
// index alone cannot find it), and how object names stay unique.

import type { CodeHeap } from '../code-heap.js';
import { LargeMap } from '../large-map.js';
import type { Export } from './targets.js';

interface HeapObjects {
  /** Exported symbols of every loaded object, by name. */
  readonly exports: LargeMap<string, Export>;
  /** Names of the objects loaded now. */
  readonly names: LargeMap<string, true>;
}

// One entry per heap that ever loaded an object; it goes with the heap.
const heaps = new WeakMap<CodeHeap, HeapObjects>();

export function objectsOf(heap: CodeHeap): HeapObjects {
  let objects = heaps.get(heap);
  if (objects === undefined) {
    objects = { exports: new LargeMap(), names: new LargeMap() };
    heaps.set(heap, objects);
  }
  return objects;
}

/** A name no loaded object of this heap has: `base`, else `base#2`, `base#3`... (claimed when the load succeeds). */
export function freeName(heap: CodeHeap, base: string): string {
  const { names } = objectsOf(heap);
  if (!names.has(base)) return base;
  let n = 2;
  while (names.has(`${base}#${n}`)) n++;
  return `${base}#${n}`;
}
