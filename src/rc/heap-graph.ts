// The reference-counted graph: nodes, counted relocation edges, and reclamation at zero.
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
// already written its bytes, and backpatching lives above. It is the only writer of node state
// (the collector's colors and trial counts aside): the layers above change nodes through the
// named writers here, each of which keeps every index (symbols, trampolines, external stubs,
// live counts) in step with the records.

import type { Arena, Arenas } from '../heap/arenas.js';
import * as base from '../base.js';
import { grown, inDataArena } from '../base.js';
import type { CompileCallback } from '../types.js';
import { BodyHolds } from './body-holds.js';
import { CandidateBuffer } from './candidates.js';
import { KIND_NAMES, NodeTable } from './node-table.js';
import * as nodeTable from './node-table.js';
import { SiteTable } from './site-table.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ALIVE, BUFFERED, COLOR_MASK, EXTERN, GREEN, LAZY, PURPLE_BITS } = nodeTable;
const { FUNCTION, GLOBAL, NONE, RETIRED, STUB } = base;

export type ReclaimReason = 'rc' | 'cycles';

export interface ReclaimedNode {
  name: string;
  /** A lazy function's reclaimed block is its trampoline. */
  kind: 'function' | 'global' | 'stub' | 'retired' | 'trampoline';
  address: number;
  size: number;
  by: ReclaimReason;
}

/** A body swapBody took out of its function: still allocated, its sites still counted. */
export interface OldBody {
  readonly block: number;
  readonly firstOut: number;
  readonly wasLazy: boolean;
}

export class HeapGraph {
  readonly nodes = new NodeTable();
  readonly sites = new SiteTable();
  readonly candidates = new CandidateBuffer();
  readonly holds = new BodyHolds();

  readonly freed = { rc: { nodes: 0, bytes: 0 }, cycles: { nodes: 0, bytes: 0 } };
  /** When not null, each reclaimed node is appended (an observer is listening). */
  log: ReclaimedNode[] | null = null;

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
    this.nodes.rc[id]!++;
  }

  /** Decrement: reclaim at zero (cascading), otherwise remember the node as a cycle candidate. */
  release(id: number): void {
    if (--this.nodes.rc[id]! === 0) this.reclaimFrom(id);
    else this.possibleRoot(id);
  }

  /** A count held from outside the graph (handle, pin, running call), so verify() can recount it. */
  retainRoot(id: number): void {
    this.nodes.roots[id]!++;
    this.nodes.rc[id]!++;
  }

  releaseRoot(id: number): void {
    this.nodes.roots[id]!--;
    this.release(id);
  }

  /**
   * Drops a root count without making the node a candidate. Pre: no collection ran since the
   * count was taken. A node's count then returns to what it was, and every decrement that could
   * have left a garbage cycle in between buffered its node itself (a collection would have seen
   * the node held and left a cycle through it, hence the precondition).
   */
  releaseRootUnbuffered(id: number): void {
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
    this.dropList(firstOut);
    this.reclaimScheduled('rc');
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

  // ---- writers for the layers above ----

  /** A new function or global, in the symbol index under its name. Pre: the name is free. */
  createSymbol(kind: number, name: string, block: number, lazy: boolean, compile: CompileCallback | undefined): number {
    const { nodes } = this;
    const id = nodes.allocate(kind, name, block);
    nodes.symbols.bind(name, id);
    nodes.setCompile(id, compile);
    if (lazy) {
      nodes.setLazy(id, true);
      nodes.byTrampoline.set(this.addressOf(id), id);
    }
    return id;
  }

  /** A new stub: its code block and pointer slot; an external's is indexed by the external's name. */
  createStub(name: string, code: number, slot: number, external: boolean): number {
    const { nodes } = this;
    const stub = nodes.allocate(STUB, name, code);
    nodes.setSlot(stub, slot, external);
    if (external) nodes.externalStubs.set(name, stub);
    return stub;
  }

  /** The function a stub jumps to (the target of its slot's site), or -1 for an external's stub. */
  functionOfStub(stub: number): number {
    const slotSite = this.nodes.firstOut[stub]!;
    return slotSite === NONE ? NONE : this.sites.targetOf(slotSite);
  }

  /** stub is fn's canonical stub from now on. */
  setStub(fn: number, stub: number): void {
    this.nodes.setStubOf(fn, stub);
  }

  /**
   * Gives fn a new block (a body, or a trampoline when `lazy`) with no sites yet, and returns the
   * old one detached: still allocated, its outgoing list still counted, for the caller to retire
   * or release. The trampoline index follows: a function is found by its trampoline exactly while
   * it is lazy.
   */
  swapBody(fn: number, block: number, lazy: boolean): OldBody {
    const { nodes } = this;
    const old: OldBody = { block: nodes.block[fn]!, firstOut: nodes.firstOut[fn]!, wasLazy: nodes.isLazy(fn) };
    if (old.wasLazy) nodes.byTrampoline.delete(this.addressOf(fn));
    nodes.setBlock(fn, block);
    nodes.setFirstOut(fn, NONE);
    nodes.setLazy(fn, lazy);
    if (lazy) nodes.byTrampoline.set(this.addressOf(fn), fn);
    return old;
  }

  /**
   * Makes an old body of fn a RETIRED node that owns its block and sites, with `counts` root
   * counts (its pins, and a running call's hold); the pins' hold moves to it. Pre: `old` came from
   * swapBody and was not a trampoline.
   */
  createRetired(fn: number, old: OldBody, counts: number): number {
    const { nodes } = this;
    const retired = nodes.allocate(RETIRED, nodes.names[fn]!, old.block);
    nodes.setFirstOut(retired, old.firstOut);
    nodes.setRetiredFrom(retired, fn);
    nodes.rc[retired] = counts;
    nodes.roots[retired] = counts;
    this.holds.retire(fn, retired);
    return retired;
  }

  /** Frees an old body now: its block goes back and its sites are dropped (which may cascade). */
  releaseBody(old: OldBody): void {
    this.arenas.code.free(old.block);
    this.dropSites(old.firstOut);
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
    nodes.symbols.compact();
    return freed;
  }

  /** Unlinks and frees the sites of a list; schedules targets that reach zero. */
  private dropList(site: number): void {
    const { nodes, sites } = this;
    while (site !== NONE) {
      const next = sites.nextOf(site);
      const target = sites.targetOf(site);
      this.unlinkIn(site, target);
      sites.free(site);
      if (--nodes.rc[target]! === 0) this.scheduleReclaim(target);
      else this.possibleRoot(target);
      site = next;
    }
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
    arena.free(block);
    if (kind === STUB) arenas.data.free(nodes.slotOf(id));
    this.freed[by].nodes++;
    this.freed[by].bytes += size;
    nodes.dropLive(id);
    const flags = nodes.flags[id]! & ~ALIVE;
    nodes.flags[id] = flags;
    if ((flags & BUFFERED) === 0) nodes.releaseId(id);
    else this.bufferedReclaimed(id);
  }

  /**
   * A buffered node was reclaimed by counting (it is DEAD): its entry goes at once if it is the
   * buffer's last, with any DEAD entries before it; otherwise it waits, and the buffer is
   * compacted once DEAD entries outnumber live ones (see candidates.ts).
   */
  private bufferedReclaimed(id: number): void {
    const { candidates, nodes } = this;
    candidates.dead++;
    if (candidates.ids[candidates.length - 1] !== id) {
      if (candidates.crowded) this.compactCandidates();
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

  /** Drops every DEAD entry from the candidate buffer and frees their ids; keeps the order. */
  private compactCandidates(): void {
    const { candidates, nodes } = this;
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
