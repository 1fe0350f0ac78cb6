// verify(): every invariant the design states, checked over the whole heap.
//
// What holds between public calls, and what this walk checks:
//  - the allocators are sound (tlsf-verify) and their used blocks are exactly the blocks live
//    nodes own (bodies, trampolines, stub code, globals, pointer slots) plus the resolver slot;
//  - rc(n) = sites targeting n + roots(n), and every live node has rc > 0;
//  - a live node is flagged green exactly when it has no outgoing sites;
//  - every site lies inside its source's bytes, sites of one node do not overlap, and it is on
//    its target's incoming list exactly once, with consistent links;
//  - every site's bytes decode to S + A (- P) for its target's current address (the one applier,
//    in VERIFY mode), and a site into a stub carries no offset;
//  - stubs jump through their slots, trampolines call through the resolver slot, a function and
//    its stub point at each other, and the symbol, stub and trampoline indexes agree with nodes;
//  - the candidate buffer and the roots a sliced collection has yet to take hold exactly the
//    BUFFERED ids, each once; the buffer counts its DEAD entries, and its ids are FRESH while
//    there are such roots.
// Iterative throughout; it allocates a few typed arrays of the tables' size (no Set or Map, which
// hold at most 2^24 entries), so it works at any size the heap accepts.

import { hex } from './errors.js';
import type { Arena } from './heap/arenas.js';
import type { HeapGraph } from './rc/heap-graph.js';
import * as base from './base.js';
import * as nodeTable from './rc/node-table.js';
import { stubAddend } from './link/plan.js';
import { applyRelocation } from './reloc/apply.js';
import * as apply from './reloc/apply.js';
import { relocationValue, type Architecture } from './reloc/architecture.js';
import * as x86 from './reloc/x86-64.js';
import type { StubManager } from './stubs/stub-manager.js';
import { siteSources } from './inspect.js';
import { checkSliced } from './cycles/sliced-verify.js';
import type { SlicedCollector } from './cycles/sliced.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { ALIVE, BUFFERED, CLASS_MASK, FRESH } = nodeTable;
const { MISMATCH, OUT_OF_RANGE, VERIFY } = apply;
const { FUNCTION, GLOBAL, NONE, RETIRED, STUB } = base;
const { R_X86_64_64 } = x86;

export function verifyHeap(graph: HeapGraph, stubs: StubManager, arch: Architecture, sliced: SlicedCollector): string[] {
  const problems: string[] = [];
  const { nodes, sites, arenas } = graph;
  for (const arena of [arenas.code, arenas.data]) {
    for (const p of arena.allocator.verify()) problems.push(`${arena.name} arena: ${p}`);
  }
  // One mark per block id of each arena: the blocks some node owns.
  const owned = { code: new Uint8Array(arenas.code.allocator.idLimit), data: new Uint8Array(arenas.data.allocator.idLimit) };
  const ownedCount = { code: 0, data: 0 };
  const own = (arena: Arena, block: number, what: string): void => {
    const marks = owned[arena.name];
    if (!arena.allocator.isUsed(block)) {
      problems.push(`${what} owns ${arena.name} block ${block}, which is not allocated`);
    } else if (marks[block] !== 0) {
      problems.push(`${what} shares ${arena.name} block ${block} with another owner`);
    } else {
      marks[block] = 1;
      ownedCount[arena.name]++;
    }
  };
  own(arenas.data, stubs.resolverSlot, 'the resolver slot');
  problems.push(...stubs.checkResolverSlot());

  const inCount = new Int32Array(nodes.idLimit);
  const sources = siteSources(graph);
  for (let s = 0; s < sources.length; s++) {
    if (sources[s] !== NONE && sites.sources[s] !== sources[s]) problems.push(`site ${s} is kept as out of node ${sites.sources[s]}, but node ${sources[s]} lists it`);
  }
  const freeSites = sites.freeSites();
  if (freeSites === null) problems.push('the free site chains loop or name a site out of range');
  const isFree = (site: number): boolean => freeSites !== null && freeSites[site] === 1;
  let outTotal = 0;
  let customAddends = 0;
  const byClass = new Int32Array(nodes.liveByClass.length);
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    byClass[nodes.flags[id]! & CLASS_MASK]!++;
    const name = nodes.nameOf(id);
    const kind = nodes.kindOf(id);
    const arena = graph.arenaOf(id);
    own(arena, nodes.block[id]!, name);
    if (kind === STUB) own(arenas.data, nodes.slotOf(id), `${name}'s slot`);
    if (nodes.rc[id]! <= 0) problems.push(`${name} is alive with rc ${nodes.rc[id]}`);
    if (nodes.roots[id]! < 0) problems.push(`${name} has ${nodes.roots[id]} roots`);
    if (nodes.isGreen(id) !== (nodes.firstOut[id] === NONE)) {
      problems.push(`${name} is ${nodes.isGreen(id) ? '' : 'not '}flagged green but has ${nodes.firstOut[id] === NONE ? 'no' : 'outgoing'} sites`);
    }
    checkNode(graph, stubs, id, problems);
    // Outgoing sites: inside the source, non-overlapping, encoding their target's address.
    const spans: [number, number][] = [];
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) {
      outTotal++;
      if (isFree(s)) {
        problems.push(`${name} lists freed site ${s}`);
        break;
      }
      if (sites.hasCustomAddend(s)) customAddends++;
      const target = sites.targetOf(s);
      const kindInfo = arch.kinds[sites.kindOf(s)]!;
      const loc = sites.loc[s]!;
      spans.push([loc, loc + kindInfo.width]);
      if (!nodes.isAlive(target)) {
        problems.push(`${name} has a ${kindInfo.name} site to reclaimed node ${target}`);
        continue;
      }
      inCount[target]!++;
      const holder = kind === STUB ? arenas.data : arena;
      const holderBlock = kind === STUB ? nodes.slotOf(id) : nodes.block[id]!;
      const start = holder.loc(holderBlock);
      if (loc < start || loc + kindInfo.width > start + holder.sizeOf(holderBlock)) {
        problems.push(`${name}: a ${kindInfo.name} site at local ${loc} lies outside its bytes`);
      }
      const P = arenas.addressOfLoc(loc);
      const A = sites.addendOf(s, kindInfo.usualAddend);
      const S = graph.addressOf(target);
      const applied = applyRelocation(arch, arenas.view, VERIFY, kindInfo, loc, S, A, P);
      if (applied === MISMATCH) {
        problems.push(`${name}: the ${kindInfo.name} site at ${hex(P)} to ${nodes.nameOf(target)} holds ${hex(arch.read(arenas.view, loc, kindInfo))}, expected ${hex(relocationValue(kindInfo, S, A, P))} (target at ${hex(S)})`);
      } else if (applied === OUT_OF_RANGE) {
        problems.push(`${name}: the ${kindInfo.name} site at ${hex(P)} to ${nodes.nameOf(target)} no longer fits its field (target at ${hex(S)})`);
      }
      if (nodes.kindOf(target) === STUB && kind !== STUB && A !== stubAddend(kindInfo, kind)) {
        problems.push(`${name}: the ${kindInfo.name} site at ${hex(P)} reaches ${nodes.nameOf(target)} with addend ${A}: a stub reference carries no offset`);
      }
      if (nodes.kindOf(target) === FUNCTION && A !== stubAddend(kindInfo, kind)) {
        // An interior reference (DESIGN semantics 9) lies inside its target's current body.
        const offset = A - stubAddend(kindInfo, kind);
        const size = nodes.isLazy(target) ? 0 : arenas.code.sizeOf(nodes.block[target]!);
        if (offset < 0 || offset >= size) {
          problems.push(`${name}: the ${kindInfo.name} site at ${hex(P)} is an interior reference to ${nodes.nameOf(target)}+${hex(offset)}, outside its current body (${size} bytes${nodes.isLazy(target) ? ', lazy' : ''})`);
        }
      }
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i - 1]![1] > spans[i]![0]) problems.push(`${name}: two sites overlap at local ${spans[i]![0]}`);
    }
  }
  // Incoming lists: consistent links, right target, and as many entries as sites point here.
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    let count = 0;
    let prev = NONE;
    for (let s = nodes.firstIn[id]!; s !== NONE; s = sites.nextIn[s]!) {
      if (sites.prevIn[s] !== prev) problems.push(`${nodes.nameOf(id)}: incoming site ${s} has a broken back link`);
      if (isFree(s) || sites.targetOf(s) !== id) problems.push(`${nodes.nameOf(id)}: incoming site ${s} does not target it`);
      if (sources[s] === NONE) problems.push(`${nodes.nameOf(id)}: incoming site ${s} belongs to no live node`);
      prev = s;
      if (++count > sites.idLimit) {
        problems.push(`${nodes.nameOf(id)}: incoming list loops`);
        break;
      }
    }
    if (count !== inCount[id]) problems.push(`${nodes.nameOf(id)}: ${count} sites on its incoming list, ${inCount[id]} target it`);
    const expectedRc = inCount[id]! + nodes.roots[id]!;
    if (nodes.rc[id] !== expectedRc) {
      problems.push(`${nodes.nameOf(id)}: rc ${nodes.rc[id]}, but ${inCount[id]} sites and ${nodes.roots[id]} handles/pins refer to it`);
    }
  }
  if (outTotal !== sites.count) problems.push(`the site table counts ${sites.count} sites, nodes list ${outTotal}`);
  if (customAddends !== sites.customAddendCount) {
    problems.push(`the addend side map holds ${sites.customAddendCount} entries for ${customAddends} live sites with custom addends`);
  }
  if (freeSites !== null) {
    let free = 0;
    for (let s = 0; s < freeSites.length; s++) free += freeSites[s]!;
    if (free + sites.count !== sites.idLimit) {
      problems.push(`the free site chains hold ${free} sites, but ${sites.idLimit - sites.count} of ${sites.idLimit} sites are free`);
    }
  }
  // The live count is the sum of these, so checking each class checks it too.
  for (let c = 0; c < byClass.length; c++) {
    if (byClass[c] !== nodes.liveByClass[c]) {
      problems.push(`the node table counts ${nodes.liveByClass[c]} live nodes of class ${c} (kind | lazy), ${byClass[c]} are alive`);
    }
  }
  for (const arena of [arenas.code, arenas.data]) {
    if (ownedCount[arena.name] !== arena.allocator.usedBlocks) {
      problems.push(`${arena.name} arena: ${arena.allocator.usedBlocks} blocks allocated, ${ownedCount[arena.name]} owned (a leak or a double free)`);
    }
  }
  checkIndexes(graph, sliced.pendingRoots(), problems);
  problems.push(...checkSliced(graph, sliced, sources));
  return problems;
}

function checkNode(graph: HeapGraph, stubs: StubManager, id: number, problems: string[]): void {
  const { nodes, sites } = graph;
  const name = nodes.nameOf(id);
  const kind = nodes.kindOf(id);

  if (nodes.isLazy(id)) {
    if (kind !== FUNCTION) problems.push(`${name} is lazy but not a function`);
    if (nodes.firstOut[id] !== NONE) problems.push(`${name} is lazy but has relocation sites`);
    problems.push(...stubs.checkTrampoline(id));
  }
  if (kind === FUNCTION || kind === GLOBAL) {
    if (nodes.symbols.owner(nodes.names[id]!) !== id) problems.push(`${name} is missing from the symbol table`);
  }
  const stub = kind === FUNCTION ? nodes.stubOf(id) : NONE;
  if (stub !== NONE && (!nodes.isAlive(stub) || nodes.kindOf(stub) !== STUB || graph.functionOfStub(stub) !== id)) {
    problems.push(`${name}'s stub does not jump to it`);
  }
  if (kind === FUNCTION && graph.holds.pinsOnCurrent(id) > nodes.roots[id]!) problems.push(`${name} has more body pins than roots`);
  if (kind === STUB) {
    problems.push(...stubs.checkStub(id));
    const first = nodes.firstOut[id]!;
    const fn = graph.functionOfStub(id);
    if (nodes.isExternStub(id)) {
      if (nodes.externalStubs.get(nodes.names[id]!) !== id) problems.push(`${name} is missing from the external stub index`);
      if (first !== NONE) problems.push(`${name} is an external's stub but has sites`);
    } else if (first === NONE || sites.nextOf(first) !== NONE || nodes.stubOf(fn) !== id
      || sites.kindOf(first) !== R_X86_64_64 || sites.loc[first] !== graph.arenas.data.loc(nodes.slotOf(id))) {
      problems.push(`${name} must have exactly one site, its slot (R_X86_64_64), to a function whose stub it is`);
    }
  }
  const from = kind === RETIRED ? nodes.retiredFrom(id) : NONE;
  if (kind === RETIRED && (from === NONE || !nodes.isAlive(from) || nodes.kindOf(from) !== FUNCTION)) {
    problems.push(`${name} is a retired body of no live function`);
  }
}

function checkIndexes(graph: HeapGraph, pendingRoots: Int32Array, problems: string[]): void {
  const { nodes, candidates } = graph;
  problems.push(...nodes.symbols.check());
  let held = 0;
  for (let id = 0; id < nodes.idLimit; id++) if (nodes.flags[id] !== 0) held++;
  const free = nodes.countFreeIds();
  if (free === -1 || free + held !== nodes.idLimit) {
    problems.push(`the free id stack holds ${free === -1 ? 'a broken chain' : `${free} ids`}, but ${nodes.idLimit - held} of ${nodes.idLimit} ids are free`);
  }
  for (const [name, id] of nodes.externalStubs) {
    if (!nodes.isAlive(id) || nodes.kindOf(id) !== STUB || !nodes.isExternStub(id) || nodes.names[id] !== name) {
      problems.push(`the external stub index names ${name}, which has no live stub`);
    }
  }
  for (const [address, id] of nodes.byTrampoline) {
    if (!nodes.isAlive(id) || !nodes.isLazy(id) || graph.addressOf(id) !== address) {
      problems.push(`the trampoline index holds ${hex(address)} for a node that is not lazy there`);
    }
  }
  // Every BUFFERED node is in the buffer or among the roots a sliced collection has yet to take,
  // once; the buffer's are FRESH exactly while there are such roots (rc/node-flags.ts).
  const seen = new Uint8Array(nodes.idLimit);
  const taking = graph.bufferedBits !== BUFFERED;
  let dead = 0;
  for (let i = 0; i < candidates.length + pendingRoots.length; i++) {
    const inBuffer = i < candidates.length;
    const id = inBuffer ? candidates.ids[i]! : pendingRoots[i - candidates.length]!;
    const where = inBuffer ? 'the candidate buffer' : 'the roots a sliced collection has yet to take';
    if (id < 0 || id >= nodes.idLimit) {
      problems.push(`${where} names node ${id}, which was never handed out`);
      continue;
    }
    if (seen[id] !== 0) problems.push(`node ${id} is buffered twice`);
    seen[id] = 1;
    const f = nodes.flags[id]!;
    if ((f & BUFFERED) === 0) problems.push(`node ${id} is in ${where} without its BUFFERED flag`);
    if (((f & FRESH) !== 0) !== (inBuffer && taking)) problems.push(`node ${id} in ${where} is ${(f & FRESH) !== 0 ? '' : 'not '}FRESH`);
    if (inBuffer && (f & ALIVE) === 0) dead++;
  }
  if (dead !== candidates.dead) problems.push(`the candidate buffer counts ${candidates.dead} DEAD entries, ${dead} are dead`);
  for (let id = 0; id < nodes.idLimit; id++) {
    const f = nodes.flags[id]!;
    if ((f & BUFFERED) !== 0 && seen[id] === 0) problems.push(`node ${id} is flagged BUFFERED but not in the buffer`);
    if ((f & FRESH) !== 0 && seen[id] === 0) problems.push(`node ${id} is FRESH but not in the buffer`);
  }
}
