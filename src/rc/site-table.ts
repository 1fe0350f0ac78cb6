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
//
// Free sites form a list of chains. Each chain is linked through nextOut and ends in NONE, so a
// node's whole outgoing list becomes one chain as it stands, in O(1) and without reading a site
// of it; the chains are linked through the nextIn of their first site (a free site is on no
// incoming list). Only the head chain's first site holds a valid link: allocating that site moves
// the link to the next one. A free site's other fields mean nothing.

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
  private readonly addends = new Map<number, number>();

  /** First site of the first free chain (see the header), or NONE. */
  private freeHead = NONE;
  private highWater = 0;
  count = 0;

  allocate(target: number, kindId: number, loc: number, addend: number, usualAddend: number): number {
    let site = this.freeHead;
    if (site !== NONE) {
      const next = this.nextOut[site]!;
      if (next !== NONE) {
        this.nextIn[next] = this.nextIn[site]!;
        this.freeHead = next;
      } else {
        this.freeHead = this.nextIn[site]!;
      }
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

  /** Frees one site: a chain of its own. */
  free(site: number): void {
    this.clearAddend(site);
    this.nextOut[site] = NONE;
    this.pushChain(site);
    this.count--;
  }

  /**
   * Frees a whole outgoing list (chained through nextOut, ending in NONE) without reading a site
   * of it, in O(1). Pre: no site of it has an addend in the side map (hasCustomAddends is false,
   * or the caller walked it with clearAddend). The caller knows how many sites its lists held,
   * and takes them off the count with countFreed.
   */
  freeListUnread(first: number): void {
    this.pushChain(first);
  }

  /** `count` sites freed by freeListUnread leave the count of live sites. */
  countFreed(count: number): void {
    this.count -= count;
  }

  /**
   * Frees a whole outgoing list, walking it to drop the addends of its sites from the side map;
   * returns how many sites it held. O(its sites).
   */
  freeList(first: number): number {
    let count = 0;
    for (let site = first; site !== NONE; site = this.nextOut[site]!) {
      this.clearAddend(site);
      count++;
    }
    this.pushChain(first);
    this.count -= count;
    return count;
  }

  /** Whether any live site has an addend its type does not usually have (the side map is not empty). */
  get hasCustomAddends(): boolean {
    return this.addends.size > 0;
  }

  /**
   * For verify(): a mark per site id ever handed out, 1 for a free site; or null when the free
   * chains do not hold distinct sites (a loop, or an id out of range). O(sites).
   */
  freeSites(): Uint8Array | null {
    const free = new Uint8Array(this.highWater);
    for (let chain = this.freeHead; chain !== NONE; chain = this.nextIn[chain]!) {
      for (let site = chain; site !== NONE; site = this.nextOut[site]!) {
        if (site < 0 || site >= this.highWater || free[site] !== 0) return null;
        free[site] = 1;
      }
    }
    return free;
  }

  private pushChain(first: number): void {
    this.nextIn[first] = this.freeHead;
    this.freeHead = first;
  }

  /** Drops a site's addend from the side map, if it has one there: the site is being freed. */
  clearAddend(site: number): void {
    if (this.hasCustomAddend(site)) this.addends.delete(site);
  }

  targetOf(site: number): number {
    return this.target[site]! & SITE_TARGET_MASK;
  }
  kindOf(site: number): number {
    return (this.target[site]! >>> KIND_SHIFT) & KIND_MASK;
  }
  hasCustomAddend(site: number): boolean {
    return (this.target[site]! & CUSTOM_ADDEND) !== 0;
  }
  /** Entries of the addend side map, for verify(): one per live site with a custom addend. */
  get customAddendCount(): number {
    return this.addends.size;
  }
  addendOf(site: number, usualAddend: number): number {
    return (this.target[site]! & CUSTOM_ADDEND) !== 0 ? this.addends.get(site)! : usualAddend;
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
