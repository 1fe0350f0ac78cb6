// The reference-counted graph: nodes, counted relocation edges, and reclamation at zero.
//
// Collins' reference counting with Bacon & Rajan's candidate buffering (ECOOP 2001, section 3:
// Increment, Decrement, Release, PossibleRoot). Departures from the paper:
//  - Release is an explicit worklist, not recursion, because a chain of ten million functions
//    freed by one handle must not overflow the JavaScript stack.
//  - A node with no outgoing sites is "green" (it cannot be on a cycle) and is never buffered;
//    the paper marks acyclic objects by type, we know it per node from its edges.
//  - A buffered node reclaimed by counting frees its memory at once (acyclic garbage goes
//    promptly) and only its id waits, DEAD, in the buffer.
//
// This layer knows nodes, edges and blocks, not byte encodings: callers that create a site have
// already written its bytes, and backpatching lives above.

import type { Arena, Arenas } from '../heap/arenas.js';
import { CandidateBuffer } from './candidates.js';
import { grown } from '../base.js';
import { KIND_NAMES, NodeTable } from './node-table.js';
import * as base from '../base.js';
import * as nodeTable from './node-table.js';
import { SiteTable } from './site-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ALIVE, BUFFERED, CLASS_MASK, COLOR_MASK, EXTERN, GREEN, KIND_MASK, LAZY, PURPLE_BITS } = nodeTable;
const { FUNCTION, GLOBAL, NONE, STUB } = base;

export type ReclaimReason = 'rc' | 'cycles';

/** reclaimGarbage's `closedSites` for garbage that may reach survivors (scan ran). */
export const OPEN_GARBAGE = -1;

export interface ReclaimedNode {
  name: string;
  /** A lazy function's reclaimed block is its trampoline. */
  kind: 'function' | 'global' | 'stub' | 'retired' | 'trampoline';
  address: number;
  size: number;
  by: ReclaimReason;
}

export class HeapGraph {
  readonly nodes = new NodeTable();
  readonly sites = new SiteTable();
  readonly candidates = new CandidateBuffer();

  readonly freed = { rc: { nodes: 0, bytes: 0 }, cycles: { nodes: 0, bytes: 0 } };
  /** When not null, each reclaimed node is appended (an observer is listening). */
  log: ReclaimedNode[] | null = null;

  private work = new Int32Array(64);

  constructor(readonly arenas: Arenas) {}

  /** The arena a node's block lives in: data for globals, code for everything else. */
  arenaOf(id: number): Arena {
    return this.nodes.kindOf(id) === GLOBAL ? this.arenas.data : this.arenas.code;
  }

  /** Where references to the node point: body, trampoline (lazy), block or stub code. */
  addressOf(id: number): number {
    return this.arenaOf(id).addressOf(this.nodes.block[id]!);
  }

  /** Bytes a node holds in the arenas: its block, plus the pointer slot for a stub. */
  bytesOf(id: number): number {
    const size = this.arenaOf(id).sizeOf(this.nodes.block[id]!);
    return this.nodes.kindOf(id) === STUB ? size + this.arenas.data.sizeOf(this.nodes.slotOf(id)) : size;
  }

  retain(id: number): void {
    this.nodes.rc[id]!++;
  }

  /** Decrement: reclaim at zero (cascading), otherwise remember the node as a cycle candidate. */
  release(id: number): void {
    if (--this.nodes.rc[id]! === 0) this.reclaimFrom(id);
    else this.possibleRoot(id);
  }

  /**
   * Adds a site from source to target and counts it. Pre: the field's bytes already encode the
   * target's current address. The site goes to the head of both lists.
   */
  addSite(source: number, target: number, kindId: number, loc: number, addend: number, usualAddend: number): number {
    const { nodes, sites } = this;
    const site = sites.allocate(target, kindId, loc, addend, usualAddend);
    sites.setNext(site, nodes.firstOut[source]!);
    nodes.setFirstOut(source, site);
    const head = nodes.firstIn[target]!;
    sites.nextIn[site] = head;
    sites.prevIn[site] = NONE;
    if (head !== NONE) sites.prevIn[head] = site;
    nodes.firstIn[target] = site;
    nodes.rc[target]!++;
    return site;
  }

  /**
   * Drops every site of an outgoing list (a released body's, or a reclaimed node's): each
   * target loses one count, and targets reaching zero are reclaimed, iteratively.
   */
  dropSites(firstOut: number): void {
    this.drain(this.dropList(firstOut, 0), 'rc');
  }

  /** Nodes reachable from `id` whose count reaches zero are reclaimed, without recursion. */
  private reclaimFrom(id: number): void {
    this.work[0] = id;
    this.drain(1, 'rc');
  }

  /**
   * Reclaims the nodes on the worklist, and every node whose count their sites take to zero;
   * returns how many. `by`: counting, or the collector (a leaf only garbage held goes with it).
   */
  private drain(top: number, by: ReclaimReason): number {
    let freed = 0;
    while (top > 0) {
      const id = this.work[--top]!;
      const firstOut = this.nodes.firstOut[id]!;
      this.nodes.firstOut[id] = NONE;
      this.forgetStub(id, firstOut);
      this.freeNode(id, by);
      freed++;
      top = this.dropList(firstOut, top);
    }
    this.nodes.symbols.compact();
    return freed;
  }

  /** Unlinks and frees the sites of a list; pushes targets that reach zero onto the worklist. */
  private dropList(site: number, top: number): number {
    const { nodes, sites } = this;
    while (site !== NONE) {
      const next = sites.nextOf(site);
      const target = sites.targetOf(site);
      this.unlinkIn(site, target);
      sites.free(site);
      if (--nodes.rc[target]! === 0) {
        if (top === this.work.length) this.work = grown(this.work, top * 2);
        this.work[top++] = target;
      } else {
        this.possibleRoot(target);
      }
      site = next;
    }
    return top;
  }

  /**
   * For the collector: reclaims the nodes of garbage[0 .. count) whose color is `garbageColor`
   * (white after scan; gray when markRoots found the whole gray list garbage and scan was
   * skipped) as one batch, in one pass over the list. A listed node of another color (the
   * collector restored it after listing it) is skipped.
   *
   * `closedSites` is OPEN_GARBAGE, or the number of sites out of the listed nodes when the
   * garbage is closed under its edges (scan was skipped: everything the gray nodes reach is gray,
   * and every one of them is listed here or in the other batch). Closed garbage reads no site: no
   * target needs looking at, and each outgoing list joins the free sites whole.
   *
   * Pre: a listed node may still be flagged buffered only if the buffer is cleared next; trial
   * deletion has already taken away the count of every edge out of the garbage (so no count
   * changes here), and every site into a garbage node comes from garbage. Post: the garbage
   * nodes and their sites are freed; a site into a survivor is unlinked from its in-list, a site
   * into garbage is not (that list goes whole, and a freed id's firstIn is reset when the id is
   * handed out again). Blocks go back to the arenas as one batch each, so a run of neighbours is
   * merged before any free list is touched. Returns how many leaves the garbage alone held, freed
   * with it (see freeOpenList).
   */
  reclaimGarbage(garbage: Int32Array, count: number, garbageColor: number, closedSites: number): number {
    const { nodes, sites, arenas, log } = this;
    const { code, data } = arenas;
    const { flags, firstOut, block } = nodes;
    const closed = closedSites !== OPEN_GARBAGE;
    // Closed garbage whose sites all have their usual addends frees each outgoing list unread.
    const listsUnread = closed && sites.customAddendCount === 0;
    let freed = 0;
    // Live counts leave by runs of one class (a module is mostly functions): a decrement per node
    // of a shared counter is a chain through memory that the loop would wait on.
    let runClass = 0;
    let runLength = 0;
    // Leaves whose count the garbage took to zero, on the worklist (see freeOpenList).
    let leaves = 0;
    for (let i = 0; i < count; i++) {
      const id = garbage[i]!;
      const f = flags[id]!;
      if ((f & COLOR_MASK) !== garbageColor) continue;
      freed++;
      if ((f & CLASS_MASK) !== runClass) {
        nodes.dropLiveOfClass(runClass, runLength);
        runClass = f & CLASS_MASK;
        runLength = 0;
      }
      runLength++;
      const kind = f & KIND_MASK;
      const first = firstOut[id]!;
      if (first !== NONE) {
        if (kind === STUB) this.forgetStub(id, first);
        if (listsUnread) sites.freeListUnread(first);
        else if (closed) sites.freeList(first);
        else leaves = this.freeOpenList(first, garbageColor, leaves);
      }
      if (log !== null) this.logReclaim(id, this.addressOf(id), this.bytesOf(id), 'cycles');
      this.forgetNames(id, kind);
      // Each block is freed in its arena's batch as it is listed: a global's block and a stub's
      // pointer slot in the data arena, every other block (a stub's code too) in the code arena.
      if (kind === GLOBAL) data.freeInBatch(block[id]!);
      else code.freeInBatch(block[id]!);
      if (kind === STUB) data.freeInBatch(nodes.slotOf(id));
      nodes.releaseId(id);
    }
    nodes.dropLiveOfClass(runClass, runLength);
    // Lists freed unread were not counted: the caller counted their sites.
    if (listsUnread) sites.countFreed(closedSites);
    const bytes = code.finishBatch() + data.finishBatch();
    // Leaves only the garbage held go with it, once its blocks are back.
    const leavesFreed = leaves > 0 ? this.drain(leaves, 'cycles') : 0;
    this.freed.cycles.nodes += freed;
    this.freed.cycles.bytes += bytes;
    nodes.symbols.compact();
    return leavesFreed;
  }

  /**
   * Frees the outgoing list of a garbage node that may reach survivors, in one walk, and returns
   * the worklist's new top. A site into a leaf (GREEN) releases its count as counting does, since
   * markGray left it real: a leaf at zero goes on the worklist, to be reclaimed once the batch is
   * done. A site into any other live node not of the garbage color is unlinked from its in-list
   * (markGray took its count, and scanBlack, its source being garbage, did not give it back).
   * Freed garbage reads as not alive, garbage still to come by its color: neither keeps an in-list.
   */
  private freeOpenList(first: number, garbageColor: number, top: number): number {
    const { nodes, sites } = this;
    const { flags, rc } = nodes;
    let count = 0;
    for (let site = first; site !== NONE; site = sites.nextOf(site)) {
      count++;
      sites.clearAddend(site);
      const target = sites.targetOf(site);
      const targetFlags = flags[target]!;
      if ((targetFlags & ALIVE) === 0 || (targetFlags & COLOR_MASK) === garbageColor) continue;
      this.unlinkIn(site, target);
      if ((targetFlags & GREEN) !== 0 && --rc[target]! === 0) {
        if (top === this.work.length) this.work = grown(this.work, top * 2);
        this.work[top++] = target;
      }
    }
    sites.freeListUnread(first);
    sites.countFreed(count);
    return top;
  }

  /** The function a stub jumps to (the target of its slot's site), or -1 for an external's stub. */
  functionOfStub(stub: number): number {
    const slotSite = this.nodes.firstOut[stub]!;
    return slotSite === NONE ? NONE : this.sites.targetOf(slotSite);
  }

  /** A function's stub is going away (its sites start at firstOut): the function has none now. */
  private forgetStub(id: number, firstOut: number): void {
    if (this.nodes.kindOf(id) !== STUB || firstOut === NONE) return;
    // In a collection the function may be garbage freed before its stub: its id is free then, and
    // a free id has no stub to forget.
    const fn = this.sites.targetOf(firstOut);
    if (this.nodes.isAlive(fn)) this.nodes.link[fn] = NONE;
  }

  private unlinkIn(site: number, target: number): void {
    const { nodes, sites } = this;
    const prev = sites.prevIn[site]!;
    const next = sites.nextIn[site]!;
    if (prev === NONE) nodes.firstIn[target] = next;
    else sites.nextIn[prev] = next;
    if (next !== NONE) sites.prevIn[next] = prev;
  }

  /** PossibleRoot: buffer a node that may now head a garbage cycle. Green nodes are skipped. */
  private possibleRoot(id: number): void {
    // One read of the flags and at most one write: a node released again and again (a hot
    // function's handle taken and dropped) is already buffered and purple, and costs no store.
    const { flags } = this.nodes;
    const f = flags[id]!;
    if ((f & GREEN) !== 0) return;
    const purple = (f & ~COLOR_MASK) | PURPLE_BITS;
    if ((f & BUFFERED) === 0) {
      flags[id] = purple | BUFFERED;
      this.candidates.push(id);
    } else if (f !== purple) {
      flags[id] = purple;
    }
  }

  /** Returns a node's blocks and names to the heap. Pre: rc is 0 and its sites are detached. */
  private freeNode(id: number, by: ReclaimReason): void {
    const { nodes, arenas } = this;
    const kind = nodes.kindOf(id);
    const block = nodes.block[id]!;
    const arena = this.arenaOf(id);
    const size = this.bytesOf(id);
    if (this.log !== null) this.logReclaim(id, arena.addressOf(block), size, by);
    this.forgetNames(id, kind);
    arena.free(block);
    if (kind === STUB) arenas.data.free(nodes.slotOf(id));
    this.freed[by].nodes++;
    this.freed[by].bytes += size;
    nodes.dropLive(id);
    const flags = nodes.flags[id]! & ~ALIVE;
    nodes.flags[id] = flags;
    if ((flags & BUFFERED) === 0) nodes.releaseId(id);
  }

  /** Takes a node being reclaimed out of the indexes that name it. Pre: its block is still held. */
  private forgetNames(id: number, kind: number): void {
    const { nodes } = this;
    const flags = nodes.flags[id]!;
    if (kind === FUNCTION || kind === GLOBAL) {
      nodes.symbols.forget();
      if ((flags & LAZY) !== 0) nodes.byTrampoline.delete(this.addressOf(id));
    } else if (kind === STUB && (flags & EXTERN) !== 0) {
      nodes.externalStubs.delete(nodes.names[id]!);
    }
  }

  /** Tells a listening observer what is reclaimed. A stub's size includes its pointer slot. */
  private logReclaim(id: number, address: number, size: number, by: ReclaimReason): void {
    const { nodes } = this;
    const kind = nodes.kindOf(id);
    const reported = kind === FUNCTION && nodes.isLazy(id) ? 'trampoline' : KIND_NAMES[kind]!;
    this.log!.push({ name: nodes.nameOf(id), kind: reported, address, size, by });
  }
}
