// Pins and retired bodies: the "is it still executing?" rule.
//
// A pin is a real reference (it counts on the function like a handle) and it also holds the body
// that was current when it was taken. When redefine or evict replaces a held body, the old body
// becomes a RETIRED node: nameless, owning the old block and the old body's relocation sites,
// with one count per pin still holding it. Its sites stay counted and keep being backpatched,
// so code still running in the old body calls live, current code. When its last pin goes, the
// retired node reaches zero and ordinary reclamation frees its block and drops its sites.
//
// HotSpot models the same state as not-entrant code; ORC leaves it to clients.

import { BodyHold } from './handle.js';
import type { OldBody } from './link/linker.js';
import type { HeapGraph } from './rc/heap-graph.js';
import * as base from './base.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { RETIRED } = base;

export class Bodies {
  /** Holds on current bodies, by function id; present only while some pin holds the body. */
  private readonly current = new Map<number, BodyHold>();
  constructor(private readonly graph: HeapGraph) {}

  /** A pin's hold on fn's current body, or undefined when fn is lazy (it has no body to hold). */
  holdCurrent(fn: number): BodyHold | undefined {
    if (this.graph.nodes.isLazy(fn)) return undefined;
    let hold = this.current.get(fn);
    if (hold === undefined) {
      hold = new BodyHold(fn);
      this.current.set(fn, hold);
    }
    hold.pins++;
    return hold;
  }

  /** Drops one pin's hold. A retired body loses its count and goes at zero. */
  releaseHold(fn: number, hold: BodyHold): void {
    hold.pins--;
    if (hold.owner !== fn) {
      this.graph.nodes.roots[hold.owner]!--;
      this.graph.release(hold.owner);
    } else if (hold.pins === 0) {
      this.current.delete(fn);
    }
  }

  /**
   * Disposes of a body that redefine, evict or materialize replaced. Pre: the body is detached
   * from fn (fn.block and fn.firstOut already point elsewhere). `kept`: the caller holds one more
   * count on the retired body (a native call is running, and the body may be on its stack), so
   * the body retires even with no pin on it. Returns the retired node, or -1 when the body was
   * freed at once. A trampoline is never retired: nothing returns into one.
   */
  dispose(fn: number, old: OldBody, kept: boolean): number {
    const { graph } = this;
    const { nodes, arenas } = graph;
    const hold = old.wasLazy ? undefined : this.current.get(fn);
    if (hold !== undefined || (kept && !old.wasLazy)) {
      const counts = (hold?.pins ?? 0) + (kept ? 1 : 0);
      const retired = nodes.allocate(RETIRED, nodes.names[fn]!, old.block);
      nodes.setFirstOut(retired, old.firstOut);
      nodes.link[retired] = fn;
      nodes.rc[retired] = counts;
      nodes.roots[retired] = counts;
      if (hold !== undefined) hold.owner = retired;
      this.current.delete(fn);
      return retired;
    }
    if (old.wasLazy) nodes.byTrampoline.delete(arenas.code.addressOf(old.block));
    arenas.code.free(old.block);
    graph.dropSites(old.firstOut);
    return -1;
  }

  /** Pins holding fn's current body (for verify). */
  pinsOnCurrent(fn: number): number {
    return this.current.get(fn)?.pins ?? 0;
  }
}
