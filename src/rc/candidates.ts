// The cycle candidate buffer: node ids whose count was decremented to a non-zero value.
//
// Bacon & Rajan, ECOOP 2001, section 3 ("Roots"): such a node may be the last external handle on
// a garbage cycle, so it is remembered (colored purple) for the collector. The BUFFERED flag in
// the node table guarantees an id is pushed at most once; a buffered node reclaimed by counting
// stays DEAD in the buffer and is let go by whoever drains it.

import { grown } from '../base.js';

export class CandidateBuffer {
  ids = new Int32Array(64);
  length = 0;

  push(id: number): void {
    if (this.length === this.ids.length) this.ids = grown(this.ids, this.ids.length * 2);
    this.ids[this.length++] = id;
  }

  clear(): void {
    this.length = 0;
  }

  metadataBytes(): number {
    return this.ids.byteLength;
  }
}
