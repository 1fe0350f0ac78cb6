// Relocation sites: the counted edges of the heap, as a struct of typed arrays indexed by site id.
//
// Each site is one place in a node's bytes that holds a reference. It lives on two lists:
//  - its source's outgoing list (singly linked through nextOut): what the node references, walked
//    when the node is reclaimed and by the cycle collector;
//  - its target's incoming list (doubly linked through nextIn/prevIn): who references the node,
//    walked when a function's body moves, so backpatching costs O(its sites), not O(all sites),
//    and unlinked in O(1) when the source goes.
//
// The site does not store its source or its addend: the source owns the outgoing list, and an
// addend that differs from its type's usual one (-4 for rel32, 0 otherwise) sits in a side map.
// Backpatching needs neither: it adds the target's displacement to the value already encoded.
//
// Packed target word:
//
//    31   30       29 .. 27    26 .. 0
//  +----+--------+-----------+--------------------+
//  | 0  | ADDEND | kind id   | target node id     |
//  +----+--------+-----------+--------------------+
//
// 20 bytes per site: target 4, loc 4, nextOut 4, nextIn 4, prevIn 4.

import { growI32, NONE } from './node-table.js';

const TARGET_BITS = 27;
/** The target node id's bits of a site's packed target word. */
export const SITE_TARGET_MASK = (1 << TARGET_BITS) - 1;
const KIND_SHIFT = TARGET_BITS;
const KIND_MASK = 0b111;
const CUSTOM_ADDEND = 1 << 30;

export const SITE_RECORD_BYTES = 5 * 4;

/** About what a small-integer Map entry costs in V8 (key, value, chain link, hash). */
const ADDEND_ENTRY_BYTES = 32;

export class SiteTable {
  target = new Int32Array(0);
  /** Heap position (local byte index) of the field. */
  loc = new Int32Array(0);
  nextOut = new Int32Array(0);
  nextIn = new Int32Array(0);
  prevIn = new Int32Array(0);
  /** Addends that differ from their type's usual addend, by site id. */
  readonly addends = new Map<number, number>();

  /** Head of the free list, threaded through nextOut. */
  private freeHead = NONE;
  private highWater = 0;
  count = 0;

  allocate(target: number, kindId: number, loc: number, addend: number, usualAddend: number): number {
    let site = this.freeHead;
    if (site !== NONE) {
      this.freeHead = this.nextOut[site]!;
    } else {
      if (this.highWater === this.target.length) this.grow();
      site = this.highWater++;
    }
    let word = target | (kindId << KIND_SHIFT);
    if (addend !== usualAddend) {
      word |= CUSTOM_ADDEND;
      this.addends.set(site, addend);
    }
    this.target[site] = word;
    this.loc[site] = loc;
    this.nextOut[site] = NONE;
    this.count++;
    return site;
  }

  free(site: number): void {
    this.clear(site);
    this.nextOut[site] = this.freeHead;
    this.freeHead = site;
    this.count--;
  }

  /** The first half of freeing a site: it no longer names a target. freeChain finishes it. */
  clear(site: number): void {
    if ((this.target[site]! & CUSTOM_ADDEND) !== 0) this.addends.delete(site);
    this.target[site] = NONE;
  }

  /**
   * Frees a whole outgoing list at once: `count` sites from first to last through nextOut, each
   * already cleared. The list becomes the front of the free list as it is.
   */
  freeChain(first: number, last: number, count: number): void {
    this.nextOut[last] = this.freeHead;
    this.freeHead = first;
    this.count -= count;
  }

  targetOf(site: number): number {
    return this.target[site]! & SITE_TARGET_MASK;
  }
  kindOf(site: number): number {
    return (this.target[site]! >>> KIND_SHIFT) & KIND_MASK;
  }
  addendOf(site: number, usualAddend: number): number {
    return (this.target[site]! & CUSTOM_ADDEND) !== 0 ? this.addends.get(site)! : usualAddend;
  }
  isFree(site: number): boolean {
    return this.target[site] === NONE;
  }

  /** Ids ever handed out (free ones included). */
  get idLimit(): number {
    return this.highWater;
  }

  /** The table's footprint: every id handed out, free ones included, and the addend side map. */
  metadataBytes(): number {
    return this.highWater * SITE_RECORD_BYTES + this.addends.size * ADDEND_ENTRY_BYTES;
  }

  /** Bytes the live sites use: their records and their side-map addends. */
  bytesInUse(): number {
    return this.count * SITE_RECORD_BYTES + this.addends.size * ADDEND_ENTRY_BYTES;
  }

  private grow(): void {
    const size = Math.max(256, this.target.length * 2);
    this.target = growI32(this.target, size);
    this.loc = growI32(this.loc, size);
    this.nextOut = growI32(this.nextOut, size);
    this.nextIn = growI32(this.nextIn, size);
    this.prevIn = growI32(this.prevIn, size);
  }
}
