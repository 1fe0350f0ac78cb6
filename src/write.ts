// heap.write: the caller's bytes into the heap at a target address, where bytes are the caller's:
// inside one live function body or one global, and on none of the relocation fields in it.
//
// Every other byte of the arenas is the heap's: stubs and their pointer slots, trampolines, the
// resolver slot, retired bodies (code that may still be running), free memory (the next define
// fills it), and in functions and globals the fields of relocation sites, which the heap rewrites
// whenever a target moves. A write over any of them would be lost or break what verify() checks,
// so it is refused (INVALID_ARGUMENT) naming what it would overwrite: the node and the offset.
//
// Finding the node an address lies in: nodes do not record it, and the allocator keeps no index
// by offset. So the first few writes after the arenas change (Arena.changes: any block allocated,
// freed or shrunk) scan the node table, O(nodes) each; the next one lists the owners by position
// (from the allocators' address order, no sort: O(nodes + blocks)), and the writes after it,
// until the next change, search that list, O(log nodes). A JIT that alternates define and write pays
// one scan a write. A hit is checked against the node table and a miss is looked for again by a
// scan, so the index may be slow, never wrong.

import * as base from './base.js';
import { uint8Length } from './base.js';
import { hex, invalid, show } from './errors.js';
import type { Arena } from './heap/arenas.js';
import type { HeapGraph } from './rc/heap-graph.js';
import type { Architecture } from './reloc/architecture.js';
import type { StubManager } from './stubs/stub-manager.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { FUNCTION, GLOBAL, NONE, RETIRED, STUB } = base;

export class HeapWriter {
  readonly #owners: OwnerIndex;

  constructor(private readonly graph: HeapGraph, private readonly arch: Architecture, private readonly stubs: StubManager) {
    this.#owners = new OwnerIndex(graph);
  }

  /** Copies `bytes` to [address, address + length). Pre: the heap is open and idle (the facade checks). */
  write(address: unknown, bytes: unknown): void {
    const length = uint8Length(bytes);
    if (!Number.isSafeInteger(address) || length < 0) {
      invalid(`write(${show(address)}, ${show(bytes)}): takes a target address (a safe integer) and a Uint8Array`);
    }
    const at = address as number;
    const what = `write(${hex(at)}, ${length} bytes)`;
    const { arenas } = this.graph;
    const loc = arenas.locOfRange(at, length);
    if (loc < 0) {
      const { code, data } = arenas;
      invalid(`${what}: [${hex(at)}, +${length}) is not inside the code arena [${hex(code.address)}, +${code.size}) `
        + `or the data arena [${hex(data.address)}, +${data.size})`);
    }
    if (length === 0) return;
    const end = loc + length;
    const owner = this.#owners.find(loc, end);
    if (owner === NONE) invalid(`${what}: ${this.#notOwned(loc, end)}; heap.write writes only inside one function body or global`);
    this.#checkSites(what, owner, loc, end);
    arenas.bytes.set(bytes as Uint8Array, loc);
    arenas.touched(loc, length);
  }

  /** INVALID_ARGUMENT when [loc, end) overlaps a field of one of owner's relocation sites. */
  #checkSites(what: string, owner: number, loc: number, end: number): void {
    const { nodes, sites, arenas } = this.graph;
    for (let s = nodes.firstOut[owner]!; s !== NONE; s = sites.nextOf(s)) {
      const field = sites.loc[s]!;
      const kind = this.arch.kinds[sites.kindOf(s)]!;
      if (field < end && loc < field + kind.width) {
        const start = this.graph.arenaOf(owner).loc(nodes.block[owner]!);
        invalid(`${what}: overlaps the relocation site of ${nodes.nameOf(owner)} at offset ${field - start} `
          + `(${kind.name} -> ${nodes.nameOf(sites.targetOf(s))}, bytes [${hex(arenas.addressOfLoc(field))}, +${kind.width})); `
          + 'the heap rewrites relocation fields when their targets move');
      }
    }
  }

  /** What [loc, end) overlaps when no function body or global holds all of it (a refusal: O(nodes)). */
  #notOwned(loc: number, end: number): string {
    const { nodes, arenas } = this.graph;
    let first = Number.POSITIVE_INFINITY;
    let description = '';
    const consider = (arena: Arena, block: number, name: string): void => {
      const start = arena.loc(block);
      const size = arena.sizeOf(block);
      if (start < end && loc < start + size && start < first) {
        first = start;
        description = `${name} [${hex(arenas.addressOfLoc(start))}, +${size})`;
      }
    };
    for (let id = 0; id < nodes.idLimit; id++) {
      if (!nodes.isAlive(id)) continue;
      const kind = nodes.kindOf(id);
      const arena = this.graph.arenaOf(id);
      const block = nodes.block[id]!;
      const name = nodes.nameOf(id);
      if (kind === FUNCTION) consider(arena, block, nodes.isLazy(id) ? `the trampoline of ${name}` : `the body of ${name}`);
      else if (kind === GLOBAL) consider(arena, block, `global ${name}`);
      else if (kind === RETIRED) consider(arena, block, `${name}, an old body kept while code may still run in it`);
      else if (kind === STUB) {
        consider(arena, block, name);
        consider(arenas.data, nodes.slotOf(id), `the pointer slot of ${name}`);
      }
    }
    consider(arenas.data, this.stubs.resolverSlot, 'the resolver slot (every trampoline calls through it)');
    const range = `[${hex(arenas.addressOfLoc(loc))}, +${end - loc})`;
    return description === '' ? `${range} lies in free memory, which no function or global owns (a later define fills it)`
      : `${range} overlaps ${description}`;
  }
}

/**
 * Writes since a change that scan before the index is built: building costs a few scans (about
 * four, measured at 50,000 nodes), so a change followed by few writes never pays for it, and one
 * followed by many pays about twice, at most, what the best choice made knowing the future would.
 */
const SCANS_BEFORE_INDEX = 4;

/** The blocks of live function bodies and globals by position; see the header. */
class OwnerIndex {
  /** Block starts (heap positions) in increasing order, their ends and their nodes, `count` of each. */
  private starts = new Int32Array(0);
  private ends = new Int32Array(0);
  private ids = new Int32Array(0);
  private count = 0;
  /** The arenas' changes when the index was built, and when the scans were counted from. */
  private builtAt = -1;
  private scannedAt = -1;
  /** Scans since the arenas last changed. */
  private scans = 0;

  constructor(private readonly graph: HeapGraph) {}

  /** The function (with a body) or global whose block holds [loc, end), or NONE. */
  find(loc: number, end: number): number {
    const { code, data } = this.graph.arenas;
    const changes = code.changes + data.changes;
    if (changes !== this.scannedAt) {
      this.scannedAt = changes;
      this.scans = 0;
    }
    if (this.scans >= SCANS_BEFORE_INDEX && changes !== this.builtAt) this.build(changes);
    if (changes === this.builtAt) {
      const id = this.search(loc, end);
      if (id !== NONE && this.holds(id, loc, end)) return id;
    }
    this.scans++;
    return this.scan(loc, end);
  }

  /** Whether id is a live function with a body, or a live global. */
  private isOwner(id: number): boolean {
    const { nodes } = this.graph;
    if (!nodes.isAlive(id)) return false;
    const kind = nodes.kindOf(id);
    return kind === GLOBAL || (kind === FUNCTION && !nodes.isLazy(id));
  }

  /** Whether id is an owner whose block holds [loc, end). */
  private holds(id: number, loc: number, end: number): boolean {
    if (!this.isOwner(id)) return false;
    const arena = this.graph.arenaOf(id);
    const block = this.graph.nodes.block[id]!;
    const start = arena.loc(block);
    return start <= loc && end <= start + arena.sizeOf(block);
  }

  private scan(loc: number, end: number): number {
    const limit = this.graph.nodes.idLimit;
    for (let id = 0; id < limit; id++) if (this.holds(id, loc, end)) return id;
    return NONE;
  }

  private search(loc: number, end: number): number {
    const { starts } = this;
    let low = 0;
    let high = this.count;
    // Invariant: starts[i] <= loc for i < low, starts[i] > loc for i >= high.
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (starts[mid]! <= loc) low = mid + 1;
      else high = mid;
    }
    return low > 0 && end <= this.ends[low - 1]! ? this.ids[low - 1]! : NONE;
  }

  /**
   * Lists the owners by position without sorting, in O(nodes + blocks): each arena's used blocks
   * come in address order from its allocator, and the code arena's positions precede the data's.
   */
  private build(changes: number): void {
    const { nodes, arenas } = this.graph;
    const owners = [arenas.code, arenas.data].map((arena) => new Int32Array(arena.allocator.idLimit).fill(NONE));
    let count = 0;
    for (let id = 0; id < nodes.idLimit; id++) {
      if (!this.isOwner(id)) continue;
      owners[nodes.kindOf(id) === GLOBAL ? 1 : 0]![nodes.block[id]!] = id;
      count++;
    }
    const starts = new Int32Array(count);
    const ends = new Int32Array(count);
    const ids = new Int32Array(count);
    let k = 0;
    for (const [index, arena] of [arenas.code, arenas.data].entries()) {
      const owner = owners[index]!;
      for (const block of arena.allocator.usedInOrder()) {
        const id = owner[block]!;
        if (id === NONE) continue;
        starts[k] = arena.loc(block);
        ends[k] = starts[k]! + arena.sizeOf(block);
        ids[k++] = id;
      }
    }
    this.starts = starts;
    this.ends = ends;
    this.ids = ids;
    this.count = k;
    this.builtAt = changes;
  }
}
