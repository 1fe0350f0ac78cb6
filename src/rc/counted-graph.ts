// The reference-counted graph: nodes, counted relocation edges, and reclamation at zero.
// (heap-graph.ts adds the named writers the layers above change nodes through.)
//
// Collins' reference counting with Bacon & Rajan's candidate buffering (ECOOP 2001, section 3:
// Increment, Decrement, Release, PossibleRoot). Departures from the paper:
//  - Release is an explicit worklist, not recursion, because a chain of ten million functions
//    freed by one handle must not overflow the JavaScript stack.
//  - A node with no outgoing sites is "green" (it cannot be on a cycle) and is never buffered;
//    the paper marks acyclic objects by type, we know it per node from its edges.
//  - A buffered node reclaimed by counting frees its memory at once (acyclic garbage goes
//    promptly); its buffer entry goes at once or soon after (see candidates.ts).
//
// This layer knows nodes, edges and blocks, not byte encodings: callers that create a site have
// already written its bytes, and backpatching lives above.

import type { Arena, Arenas } from '../heap/arenas.js';
import * as base from '../base.js';
import { grown } from '../base.js';
import { BodyHolds } from './body-holds.js';
import { CandidateBuffer } from './candidates.js';
import { KIND_NAMES, NodeTable } from './node-table.js';
import * as nodeTable from './node-table.js';
import { SiteTable } from './site-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ALIVE, BUFFERED, COLOR_MASK, DOOMED_MASK, EXTERN, FRESH, GREEN, KEPT, LAZY, PURPLE_BITS, SEEN } = nodeTable;
const { FUNCTION, GLOBAL, NONE, STUB, inDataArena } = base;

export type ReclaimReason = 'rc' | 'cycles';

export interface ReclaimedNode {
  name: string;
  /** A lazy function's reclaimed block is its trampoline. */
  kind: 'function' | 'global' | 'stub' | 'retired' | 'trampoline';
  address: number;
  size: number;
  by: ReclaimReason;
}


export class CountedGraph {
  readonly nodes = new NodeTable();
  readonly sites = new SiteTable();
  readonly candidates = new CandidateBuffer();
  readonly holds = new BodyHolds();

  readonly freed = { rc: { nodes: 0, bytes: 0 }, cycles: { nodes: 0, bytes: 0 } };
  /** When not null, each reclaimed node is appended (an observer is listening). */
  log: ReclaimedNode[] | null = null;

  /**
   * While a sliced collection runs (cycles/sliced.ts): the nodes of its set whose count changed
   * since it saw them, marked KEPT here and waiting for it to keep what they reach too. Every
   * change of a count goes through this class, so none is missed.
   */
  touched = new Int32Array(64);
  touchedTop = 0;
  /** True while a sliced collection frees its garbage: its own drops keep nothing. */
  freeingSlice = false;
  /**
   * The flags a node joins the candidate buffer with: BUFFERED, and FRESH too while a sliced
   * collection takes the roots it took from the buffer (see node-flags.ts).
   */
  bufferedBits = BUFFERED;

  /** Nodes at zero waiting to be reclaimed: the explicit stack of the cascade. */
  private work = new Int32Array(64);
  private workTop = 0;

  constructor(readonly arenas: Arenas) {}

  /** The arena a node's block lives in: data for globals, code for everything else. */
  arenaOf(id: number): Arena {
    return inDataArena(this.nodes.kindOf(id)) ? this.arenas.data : this.arenas.code;
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

  // ---- counts ----

  retain(id: number): void {
    if ((this.nodes.flags[id]! & SEEN) !== 0) this.touch(id);
    this.nodes.rc[id]!++;
  }

  /** Decrement: reclaim at zero (cascading), otherwise remember the node as a cycle candidate. */
  release(id: number): void {
    if ((this.nodes.flags[id]! & SEEN) !== 0) this.touch(id);
    if (--this.nodes.rc[id]! === 0) this.reclaimFrom(id);
    else this.possibleRoot(id);
  }

  /** A count held from outside the graph (handle, pin, running call), so verify() can recount it. */
  retainRoot(id: number): void {
    if ((this.nodes.flags[id]! & SEEN) !== 0) this.touch(id);
    this.nodes.roots[id]!++;
    this.nodes.rc[id]!++;
  }

  releaseRoot(id: number): void {
    this.nodes.roots[id]!--;
    this.release(id);
  }

  /**
   * releaseRoot for an unload: a node another root still holds is not made a candidate. It is
   * live, and the release of its last root will buffer it, so a unit freed while lookup() handles
   * hold its nodes adds no candidates.
   */
  releaseRootOfUnload(id: number): void {
    if (--this.nodes.roots[id]! > 0) {
      if ((this.nodes.flags[id]! & SEEN) !== 0) this.touch(id);
      this.nodes.rc[id]!--;
    } else {
      this.release(id);
    }
  }

  /**
   * Drops a root count without making the node a candidate. Pre: no collection ran since the
   * count was taken. A node's count then returns to what it was, and every decrement that could
   * have left a garbage cycle in between buffered its node itself (a collection would have seen
   * the node held and left a cycle through it, hence the precondition).
   */
  releaseRootUnbuffered(id: number): void {
    if ((this.nodes.flags[id]! & SEEN) !== 0) this.touch(id);
    this.nodes.roots[id]!--;
    if (--this.nodes.rc[id]! === 0) this.reclaimFrom(id);
  }

  // ---- sites ----

  /**
   * Adds a site from source to target and counts it. Pre: the field's bytes already encode the
   * target's current address. The site goes to the head of both lists.
   */
  addSite(source: number, target: number, kindId: number, loc: number, addend: number, usualAddend: number): number {
    const { nodes, sites } = this;
    const site = sites.allocate(target, kindId, loc, addend, usualAddend);
    sites.sources[site] = source;
    sites.setNext(site, nodes.firstOut[source]!);
    nodes.setFirstOut(source, site);
    const head = nodes.firstIn[target]!;
    sites.nextIn[site] = head;
    sites.prevIn[site] = NONE;
    if (head !== NONE) sites.prevIn[head] = site;
    nodes.firstIn[target] = site;
    if ((nodes.flags[target]! & SEEN) !== 0) this.touch(target);
    nodes.rc[target]!++;
    return site;
  }

  /**
   * Drops every site of an outgoing list (a released body's, or a reclaimed node's): each
   * target loses one count, and targets reaching zero are reclaimed, iteratively.
   */
  dropSites(firstOut: number): void {
    this.dropList(firstOut);
    this.reclaimScheduled('rc');
  }

  /**
   * Drops a live node's outgoing sites, keeping the node (it is garbage, and goes when the last
   * count on it does): how a sliced collection frees the garbage it found, a node at a time. The
   * frees it causes are the collector's.
   * Pre: not a stub (a stub's site is the link to its function, which its reclaim follows).
   */
  dropOutgoing(id: number): number {
    const list = this.nodes.firstOut[id]!;
    this.nodes.setFirstOut(id, NONE);
    this.dropList(list);
    return this.reclaimScheduled('cycles');
  }

  /** Unlinks a site from its target's incoming list, in O(1). */
  unlinkIn(site: number, target: number): void {
    const { nodes, sites } = this;
    const prev = sites.prevIn[site]!;
    const next = sites.nextIn[site]!;
    if (prev === NONE) nodes.firstIn[target] = next;
    else sites.nextIn[prev] = next;
    if (next !== NONE) sites.prevIn[next] = prev;
  }

  // ---- reclamation ----

  /** Nodes reachable from `id` whose count reaches zero are reclaimed, without recursion. */
  private reclaimFrom(id: number): void {
    this.scheduleReclaim(id);
    this.reclaimScheduled('rc');
  }

  /** A node whose count reached zero; reclaimScheduled frees it (the collector uses it too). */
  scheduleReclaim(id: number): void {
    if (this.workTop === this.work.length) this.work = grown(this.work, this.workTop * 2);
    this.work[this.workTop++] = id;
  }

  /**
   * Reclaims the scheduled nodes, and every node whose count their sites take to zero; returns
   * how many. `by`: counting, or the collector (a leaf only garbage held goes with it).
   */
  reclaimScheduled(by: ReclaimReason): number {
    const { nodes } = this;
    let freed = 0;
    while (this.workTop > 0) {
      const id = this.work[--this.workTop]!;
      const firstOut = nodes.firstOut[id]!;
      nodes.firstOut[id] = NONE;
      this.forgetReclaimed(id, nodes.kindOf(id), firstOut);
      this.freeNode(id, by);
      freed++;
      this.dropList(firstOut);
    }
    // In proportion to the frees, so in a slice too.
    if (freed > 0) nodes.symbols.tidy(freed);
    return freed;
  }

  /** Unlinks and frees the sites of a list; schedules targets that reach zero. */
  private dropList(site: number): void {
    const { sites } = this;
    while (site !== NONE) {
      const next = sites.nextOf(site);
      this.releaseTargetOf(site, sites.targetOf(site));
      sites.free(site);
      site = next;
    }
  }

  /**
   * A site goes (its caller frees it): it leaves its target's list of referrers and the target
   * loses the count; a target at zero is scheduled, one above zero may now head a garbage cycle.
   */
  releaseTargetOf(site: number, target: number): void {
    const { nodes } = this;
    this.unlinkIn(site, target);
    if ((nodes.flags[target]! & SEEN) !== 0) this.touch(target);
    if (--nodes.rc[target]! === 0) this.scheduleReclaim(target);
    else this.possibleRoot(target);
  }

  /**
   * The mutator changed the count of a node a sliced collection has seen: the node is kept (its
   * trial count no longer says anything), and so will be all it reaches in the set.
   */
  private touch(id: number): void {
    const f = this.nodes.flags[id]!;
    if (this.freeingSlice || (f & KEPT) !== 0) return;
    this.nodes.flags[id] = f | KEPT;
    if (this.touchedTop === this.touched.length) this.touched = grown(this.touched, this.touchedTop * 2);
    this.touched[this.touchedTop++] = id;
  }

  /** PossibleRoot: buffer a node that may now head a garbage cycle. Green nodes are skipped. */
  private possibleRoot(id: number): void {
    // One read of the flags and at most one write: a node released again and again (a hot
    // function's handle taken and dropped) is already buffered and purple, and costs no store.
    const { flags } = this.nodes;
    const f = flags[id]!;
    if ((f & GREEN) !== 0) return;
    // Garbage a sliced collection is freeing is no candidate: it goes as the freeing goes on.
    if (this.freeingSlice && (f & DOOMED_MASK) === SEEN) return;
    const purple = (f & ~COLOR_MASK) | PURPLE_BITS;
    if ((f & BUFFERED) === 0) {
      flags[id] = purple | this.bufferedBits;
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
    arena.free(block);
    if (kind === STUB) arenas.data.free(nodes.slotOf(id));
    this.freed[by].nodes++;
    this.freed[by].bytes += size;
    nodes.dropLive(id);
    this.releaseFreedId(id);
  }

  /**
   * A node's memory went: it is no longer ALIVE, and its id is free now, or once the candidate
   * buffer (or a sliced collection's roots) that lists it lets it go.
   */
  releaseFreedId(id: number): void {
    const { nodes } = this;
    const flags = nodes.flags[id]! & ~ALIVE;
    nodes.flags[id] = flags;
    if ((flags & BUFFERED) === 0) nodes.releaseId(id);
    // A root a sliced collection has yet to take: it is in the collection's array, not the
    // buffer, and the collection releases its id when it gets there.
    else if ((flags & FRESH) === 0 && this.bufferedBits !== BUFFERED) return;
    else this.candidates.reclaimed(id, nodes);
  }

  /**
   * Takes a node being reclaimed out of the indexes that name it: the symbol and trampoline
   * indexes, the external stub index, and its function's stub link when it is a stub (whose sites
   * start at firstOut). Pre: its block is still held.
   */
  forgetReclaimed(id: number, kind: number, firstOut: number): void {
    const { nodes } = this;
    const flags = nodes.flags[id]!;
    if (kind === FUNCTION || kind === GLOBAL) {
      nodes.symbols.forget();
      if ((flags & LAZY) !== 0) nodes.byTrampoline.delete(this.addressOf(id));
    } else if (kind === STUB) {
      if ((flags & EXTERN) !== 0) {
        nodes.externalStubs.delete(nodes.names[id]!);
      } else if (firstOut !== NONE) {
        // In a collection the function may be garbage freed before its stub: its id is free
        // then, and a free id has no stub to forget.
        const fn = this.sites.targetOf(firstOut);
        if (nodes.isAlive(fn)) nodes.setStubOf(fn, NONE);
      }
    }
  }

  /** Tells a listening observer what is reclaimed. A stub's size includes its pointer slot. */
  logReclaim(id: number, address: number, size: number, by: ReclaimReason): void {
    const { nodes } = this;
    const kind = nodes.kindOf(id);
    const reported = kind === FUNCTION && nodes.isLazy(id) ? 'trampoline' : KIND_NAMES[kind]!;
    this.log!.push({ name: nodes.nameOf(id), kind: reported, address, size, by });
  }
}
