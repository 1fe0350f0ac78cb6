// The cycle candidate buffer: node ids whose count was decremented to a non-zero value.
//
// Bacon & Rajan, ECOOP 2001, section 3 ("Roots"): such a node may be the last external handle on
// a garbage cycle, so it is remembered (colored purple) for the collector. The BUFFERED flag in
// the node table guarantees an id is pushed at most once.
//
// Departure from the paper: a buffered node reclaimed by counting (DEAD) frees its memory at once,
// but its entry cannot be found in O(1) without a buffer position per node (4 more bytes on every
// node record). So its entry is dropped at once when it is the last one (a node released and then
// freed, the common case), and otherwise stays, DEAD, with its id reserved, until the entries are
// compacted: as soon as DEAD entries outnumber live ones, which is amortized O(1) per entry and
// keeps the reserved ids below the live candidates (plus COMPACT_MIN). Acyclic garbage therefore
// never accumulates ids or buffer space, whether or not a collection ever runs.

import { grown } from '../base.js';
import type { NodeTable } from './node-table.js';
import * as nodeTable from './node-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ALIVE } = nodeTable;

/** Entries of a new buffer. */
const INITIAL = 64;
/** The buffer while a collection holds its array: empty, so that a push (none is expected) grows a new one. */
const TAKEN = new Int32Array(0);

/** DEAD entries tolerated before compaction is worth a pass over the buffer. */
export const COMPACT_MIN = 64;

export class CandidateBuffer {
  ids = new Int32Array(INITIAL);
  length = 0;
  /** Entries whose node was reclaimed by counting while buffered (DEAD). */
  dead = 0;

  push(id: number): void {
    if (this.length === this.ids.length) this.ids = grown(this.ids, Math.max(INITIAL, this.ids.length * 2));
    this.ids[this.length++] = id;
  }

  /** Candidates whose node is alive: what stats() reports and the trigger policy counts. */
  get live(): number {
    return this.length - this.dead;
  }

  /** True when the DEAD entries should be compacted away (see the header). */
  get crowded(): boolean {
    return this.dead >= COMPACT_MIN && this.dead > this.length - this.dead;
  }

  /**
   * Hands the whole buffer to the collector as its roots. Post: the buffer is empty (a fresh small
   * array, should anything be pushed during the collection); giveBack returns the array after.
   */
  take(): { ids: Int32Array<ArrayBuffer>; length: number } {
    const taken = { ids: this.ids, length: this.length };
    this.ids = TAKEN;
    this.length = 0;
    this.dead = 0;
    return taken;
  }

  /** The collector is done with the array it took: it serves again, emptied, unless pushes came since. */
  giveBack(ids: Int32Array<ArrayBuffer>): void {
    if (this.length === 0) this.ids = ids;
  }

  /**
   * A buffered node was reclaimed by counting (it is DEAD): its entry goes at once if it is the
   * buffer's last, with any DEAD entries before it; otherwise it waits, and the buffer is
   * compacted once DEAD entries outnumber live ones (see candidates.ts).
   */
  reclaimed(id: number, nodes: NodeTable): void {
    const candidates = this;
    candidates.dead++;
    if (candidates.ids[candidates.length - 1] !== id) {
      if (candidates.crowded) this.compact(nodes);
      return;
    }
    while (candidates.length > 0) {
      const last = candidates.ids[candidates.length - 1]!;
      if ((nodes.flags[last]! & ALIVE) !== 0) break;
      candidates.length--;
      candidates.dead--;
      nodes.releaseId(last);
    }
  }

  /** Drops every DEAD entry from the buffer and frees their ids; keeps the order. */
  private compact(nodes: NodeTable): void {
    const candidates = this;
    const { ids } = candidates;
    let kept = 0;
    for (let i = 0; i < candidates.length; i++) {
      const id = ids[i]!;
      if ((nodes.flags[id]! & ALIVE) !== 0) ids[kept++] = id;
      else nodes.releaseId(id);
    }
    candidates.length = kept;
    candidates.dead = 0;
  }

  metadataBytes(): number {
    return this.ids.byteLength;
  }
}
