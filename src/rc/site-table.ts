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
// addend that differs from its type's usual one (-4 for rel32, 0 otherwise) sits in a side map
// (an IntTable on typed arrays: int-table.ts).
// Backpatching needs neither: it adds the target's displacement to the value already encoded.
//
// Packed target word:
//
//    31   30       29 .. 27    26 .. 0
//  +----+--------+-----------+--------------------+
//  | 0  | ADDEND | kind id   | target node id     |
//  +----+--------+-----------+--------------------+
//
// 24 bytes per site: target 4, loc 4, nextOut 4, nextIn 4, prevIn 4, source 4 (so that a node's
// referrers cost its in-degree, not a walk over every site). The target word and nextOut
// sit side by side in `links` (site s at 2s and 2s + 1): walking an outgoing list reads both for
// every site, the collector a million of them, and one stream of memory costs less than two.
// The other fields are read on other paths (backpatching, unlinking) and keep arrays of their own.
//
// Free sites form a list of chains. Each chain is linked through nextOut and ends in NONE, so a
// node's whole outgoing list becomes one chain as it stands, in O(1) and without reading a site
// of it; the chains are linked through the nextIn of their first site (a free site is on no
// incoming list). Only the head chain's first site holds a valid link: allocating that site moves
// the link to the next one. A free site's other fields mean nothing.

import { grown } from '../base.js';
import { CodeHeapError } from '../errors.js';
import { IntTable } from '../int-table.js';
import * as base from '../base.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;

const TARGET_BITS = 27;
/** The target node id's bits of a site's packed target word. */
export const SITE_TARGET_MASK = (1 << TARGET_BITS) - 1;
const KIND_SHIFT = TARGET_BITS;
const KIND_MASK = 0b111;
const CUSTOM_ADDEND = 1 << 30;

export const SITE_RECORD_BYTES = 6 * 4;
/** An entry of the addend side map: its key and its value (int-table.ts). */
const ADDEND_ENTRY_BYTES = 4 + 8;

/** Sites a table can hold: `links` indexes stay below 2^31. */
export const MAX_SITES = 1 << 30;

export class SiteTable {
  /** Per site, two words: [2s] the packed target word, [2s + 1] nextOut (see the header). */
  links = new Int32Array(0);
  /** Heap position (local byte index) of the field. */
  loc = new Int32Array(0);
  nextIn = new Int32Array(0);
  prevIn = new Int32Array(0);
  /** The node each site is out of: who references a node costs its in-degree (heap.node's referrers). */
  sources = new Int32Array(0);
  /** Addends that differ from their type's usual addend, by site id. */
  private readonly addends = new IntTable();

  /** First site of the first free chain (see the header), or NONE. */
  private freeHead = NONE;
  private highWater = 0;
  count = 0;

  allocate(target: number, kindId: number, loc: number, addend: number, usualAddend: number): number {
    let site = this.freeHead;
    if (site !== NONE) {
      const next = this.nextOf(site);
      if (next !== NONE) {
        this.nextIn[next] = this.nextIn[site]!;
        this.freeHead = next;
      } else {
        this.freeHead = this.nextIn[site]!;
      }
    } else {
      if (this.highWater === this.loc.length) this.reserve(1);
      site = this.highWater++;
    }
    let word = target | (kindId << KIND_SHIFT);
    if (addend !== usualAddend) {
      word |= CUSTOM_ADDEND;
      this.addends.set(site, addend);
    }
    this.links[site << 1] = word;
    this.loc[site] = loc;
    this.links[(site << 1) + 1] = NONE;
    this.count++;
    return site;
  }

  /** Frees one site: a chain of its own. */
  free(site: number): void {
    this.clearAddend(site);
    this.setNext(site, NONE);
    this.pushChain(site);
    this.count--;
  }

  /**
   * Frees a whole outgoing list (chained through nextOut, ending in NONE) without reading a site
   * of it, in O(1). Pre: no site of it has an addend in the side map (customAddendCount is 0,
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
    for (let site = first; site !== NONE; site = this.nextOf(site)) {
      this.clearAddend(site);
      count++;
    }
    this.pushChain(first);
    this.count -= count;
    return count;
  }


  /**
   * For verify(): a mark per site id ever handed out, 1 for a free site; or null when the free
   * chains do not hold distinct sites (a loop, or an id out of range). O(sites).
   */
  freeSites(): Uint8Array | null {
    const free = new Uint8Array(this.highWater);
    for (let chain = this.freeHead; chain !== NONE; chain = this.nextIn[chain]!) {
      for (let site = chain; site !== NONE; site = this.nextOf(site)) {
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

  /** The next site of the same outgoing list (or free chain), or NONE. */
  nextOf(site: number): number {
    return this.links[(site << 1) + 1]!;
  }
  setNext(site: number, next: number): void {
    this.links[(site << 1) + 1] = next;
  }
  targetOf(site: number): number {
    return this.links[site << 1]! & SITE_TARGET_MASK;
  }
  kindOf(site: number): number {
    return (this.links[site << 1]! >>> KIND_SHIFT) & KIND_MASK;
  }
  hasCustomAddend(site: number): boolean {
    return (this.links[site << 1]! & CUSTOM_ADDEND) !== 0;
  }
  /** Entries of the addend side map: one per live site with a custom addend. */
  get customAddendCount(): number {
    return this.addends.size;
  }
  addendOf(site: number, usualAddend: number): number {
    return this.hasCustomAddend(site) ? this.addends.get(site, usualAddend) : usualAddend;
  }
  /** Ids ever handed out (free ones included). */
  get idLimit(): number {
    return this.highWater;
  }

  /** The table's footprint: every id handed out, free ones included, and the addend side map. */
  metadataBytes(): number {
    return this.highWater * SITE_RECORD_BYTES + this.addends.byteLength;
  }

  /** Bytes the live sites use: their records and their side-map addends. */
  bytesInUse(): number {
    return this.count * SITE_RECORD_BYTES + this.addends.size * ADDEND_ENTRY_BYTES;
  }

  /**
   * Makes sure `extra` more sites can be allocated without growing, so that a commit never fails
   * half done: OUT_OF_MEMORY (nothing changed) past MAX_SITES or when the arrays cannot be had.
   * Free sites count: every id below the high-water mark is live or free.
   */
  reserve(extra: number): void {
    const available = this.loc.length - this.count;
    if (extra <= available) return;
    const needed = this.highWater + (extra - (this.highWater - this.count));
    // Site s's words are at 2s and 2s + 1, which must stay int32 indexes.
    if (needed > MAX_SITES) {
      throw new CodeHeapError('OUT_OF_MEMORY', `the site table holds at most ${MAX_SITES} sites; ${this.count} are live and ${extra} more were asked for`);
    }
    let size = Math.max(256, this.loc.length * 2);
    while (size < needed) size *= 2;
    size = Math.min(size, MAX_SITES);
    let arrays;
    try {
      arrays = [grown(this.links, 2 * size), grown(this.loc, size), grown(this.nextIn, size), grown(this.prevIn, size),
        grown(this.sources, size)] as const;
    } catch (error) {
      throw new CodeHeapError('OUT_OF_MEMORY', `the site table cannot grow to ${size} sites (${size * SITE_RECORD_BYTES} bytes)`, { cause: error });
    }
    [this.links, this.loc, this.nextIn, this.prevIn, this.sources] = arrays;
  }
}
