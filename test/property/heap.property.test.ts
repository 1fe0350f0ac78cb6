// Model-based suite for the CodeHeap facade: random sequences of define, free, lookup, pointer,
// redefine, evict, materialize (with the heap's or a function's own compile callback), declare,
// pin, pin.release and collectCycles, valid and invalid, run side by side against the heap and the
// naive model of heap.model.ts. Two heaps: roomy arenas, where no valid call may fail, and the
// smallest arenas, where any allocating call may end in OUT_OF_MEMORY.
//
// After every command, through the public API only:
//  - verify() passes;
//  - the live functions and globals are exactly the model's, each with the model's kind, state,
//    rc, references, referrers and stub, and an address that never changes while the node keeps
//    its body (semantics 1, 2, 7); stubs held through pointer handles too;
//  - every site of every live and retired body, and every stub's pointer slot, decodes to its
//    target's current address (semantics 2, 4, 5, 7, 8), and the bytes around the sites are the
//    bytes that were defined (a retired body is not reused); live blocks never overlap;
//  - a function's pointer (stub address) never changes while the stub lives;
//  - stats() agrees on node counts, sites, blocks, bytes, nodes reclaimed by rc and by cycles,
//    patches and collections.
// Every invalid command must throw the right CodeHeapError at the right stage (judge) and change
// nothing but the collections the contract lets it run (laws.ts, expectUnchanged).

import { test, fc } from '@fast-check/vitest';
import { expect } from 'vitest';
import {
  arrayBufferMemory, CodeHeap, CodeHeapError, DEFAULT_CODE_ADDRESS, type CompileCallback, type ErrorCode, type FunctionBody, type FunctionDefinition, type GlobalDefinition,
  type Handle, type NodeInfo, type Pin, type RelocationType, type Unit,
} from '../../src/index.js';
import {
  decodeStub, expectCodeHeapError, expectDisjoint, expectFailureChangesNothing, expectRcMatches, expectSiteEncodes,
  expectUnchanged, expectVerifies, isPcRelative, readField, same, snapshot, FIELD_WIDTH, type ExpectedRc,
} from './laws.js';
import {
  CODE_ADDRESS, EXTERNALS, Model, NO_SUCH_SYMBOL, defaultLayout, usedSymbols, type BodySpec, type BuiltBody,
  type BuiltUnit, type Defect, type Failure, type Layout, type MNode, type RefSpec, type SymbolSpec, type TargetSpec,
  type Via,
} from './heap.model.js';

// ---- the system under test ----

class Real {
  readonly heap: CodeHeap;
  /** Parallel to model.handles and model.pins. */
  readonly handles: Handle[] = [];
  readonly pins: Pin[] = [];
  /** What the compile callbacks do next; undefined means "must not be called". */
  compileWith: CompileCallback | undefined = undefined;
  /** Calls of the heap's compile option, and of the per-function callback (`ownCompile`). */
  compileCalls = 0;
  ownCompileCalls = 0;
  readonly ownCompile: CompileCallback = (name, api) => {
    this.ownCompileCalls++;
    if (this.compileWith === undefined) throw new Error(`the compile callback of ${name} was called unexpectedly`);
    return this.compileWith(name, api);
  };
  readonly baseline: { readonly codeBlocks: number; readonly dataBlocks: number; readonly codeBytes: number; readonly dataBytes: number };

  /**
   * tight: arenas so small that allocations fail in the middle of a run; then every allocating
   * call may also end in OUT_OF_MEMORY, which must change nothing but the collection it ran.
   */
  /**
   * What a region that keeps a copy of the bytes elsewhere would hold (an executor over TCP): the
   * ranges Region.written told, copied from the heap's bytes as they were told. It must equal the
   * bytes after every command: a write the heap did not tell would run stale code there.
   */
  mirror: Uint8Array = new Uint8Array(0);

  constructor(readonly layout: Layout, readonly tight: boolean) {
    const memory = arrayBufferMemory();
    this.heap = new CodeHeap({
      arch: 'x86_64',
      memory: {
        reserve: (l) => {
          const region = memory.reserve(l);
          this.mirror = new Uint8Array(region.bytes.length);
          return Object.assign(region, { written: (loc: number, length: number) => this.mirror.set(region.bytes.subarray(loc, loc + length), loc) });
        },
      },
      codeSize: layout.codeSize,
      dataSize: layout.dataSize,
      resolveExternal: (name) => EXTERNALS.get(name),
      compile: (name, api) => {
        this.compileCalls++;
        if (this.compileWith === undefined) throw new Error(`the compile callback was called for ${name}, unexpectedly`);
        return this.compileWith(name, api);
      },
      cycleThreshold: Infinity,
      // Every collection checks what each of its phases promises (cycles/validate.ts).
      validateCollections: true,
    });
    const stats = this.heap.stats();
    this.baseline = {
      codeBlocks: stats.code.usedBlocks, dataBlocks: stats.data.usedBlocks, codeBytes: stats.code.usedBytes, dataBytes: stats.data.usedBytes,
    };
  }
}

type World = { model: Model; real: Real };

function unitDefinition(unit: BuiltUnit, r: Real): { functions: FunctionDefinition[]; globals: GlobalDefinition[] } {
  return {
    functions: unit.symbols.filter((s) => s.kind === 'function')
      .map((s) => (s.ownCompile ? { ...s.definition as FunctionDefinition, compile: r.ownCompile } : s.definition as FunctionDefinition)),
    globals: unit.symbols.filter((s) => s.kind === 'global').map((s) => s.definition as GlobalDefinition),
  };
}

function functionBody(built: BuiltBody): FunctionBody {
  const body: FunctionBody = { code: built.code, relocations: built.relocations };
  if (built.align !== undefined) body.align = built.align;
  return body;
}

/** What a failing call must leave as it was: node() of every name ever used, and of held stubs. */
function subjects(m: Model, r: Real): (string | Handle)[] {
  const result: (string | Handle)[] = [...m.knownNames];
  for (const name of m.knownNames) result.push(`stub(${name})`);
  m.handles.forEach((h, i) => {
    if (!h.freed && h.node.kind === 'stub') result.push(r.handles[i]!);
  });
  return result;
}

// ---- the laws checked after every command ----

function known(value: number | undefined, what: string): number {
  if (value === undefined) return expect.fail(`${what}: the model never learned its address`);
  return value;
}

/**
 * Learns the addresses the last command placed and checks that the others did not move; returns
 * node() of every live function and global.
 */
function learnAddresses(m: Model, r: Real): Map<MNode, NodeInfo> {
  const { heap } = r;
  const infos = new Map<MNode, NodeInfo>();
  for (const n of m.aliveSymbols()) {
    const info = heap.node(n.name);
    if (info === undefined) return expect.fail(`${n.name} is alive in the model, node() finds nothing`);
    infos.set(n, info);
    same(info.name, n.name, `node(${n.name}).name`);
    same(info.kind, n.kind, `${n.name}'s kind`);
    same(info.state, n.lazy ? 'lazy' : 'live', `${n.name}'s state`);
    if (n.body === undefined) {
      same(info.size, 0, `${n.name} is lazy: size`);
      if (n.trampoline === undefined) n.trampoline = info.address;
      same(info.address, n.trampoline, `${n.name}'s trampoline moved`);
    } else {
      if (n.body.address === undefined) {
        n.body.address = info.address;
        n.body.blockSize = info.size;
        if (info.size < n.body.bytes.length) expect.fail(`${n.name}: size ${info.size}, but ${n.body.bytes.length} bytes were defined`);
      }
      same(info.address, n.body.address, `${n.name}'s body moved`);
      same(info.size, n.body.blockSize, `${n.name}'s size changed`);
    }
    if (n.kind === 'function' && n.stub !== undefined) {
      if (info.stub === undefined) return expect.fail(`${n.name} has a stub in the model, node() reports none`);
      same(info.stub.name, n.stub.name, `${n.name}'s stub name`);
      if (n.stub.stubAddress === undefined) n.stub.stubAddress = info.stub.address;
      // The law of function pointers: the same value for as long as the stub lives.
      same(info.stub.address, n.stub.stubAddress, `${n.stub.name}: a function pointer changed`);
    } else {
      same(info.stub, undefined, `${n.name} has no stub in the model`);
    }
  }
  // An external's stub is not reachable by name: learn its address from a site that reaches it.
  for (const stub of m.externStubs.values()) {
    if (stub.stubAddress !== undefined) continue;
    const source = m.sources().find((s) => s.body.sites.some((site) => site.target === stub));
    if (source === undefined) return expect.fail(`${stub.name} is alive but no site targets it`);
    const site = source.body.sites.find((s) => s.target === stub)!;
    const P = known(source.body.address, source.name) + site.offset;
    const value = readField(heap, P, site.type);
    stub.stubAddress = value - site.addend + (isPcRelative(site.type) ? P : 0);
  }
  // Stubs jump through their pointer slot, which holds the function's (or external's) address.
  for (const stub of m.aliveNodes()) {
    if (stub.kind !== 'stub') continue;
    const { slot, target } = decodeStub(heap, known(stub.stubAddress, stub.name), stub.name);
    if (stub.slotAddress === undefined) stub.slotAddress = slot;
    same(slot, stub.slotAddress, `${stub.name}'s slot moved`);
    const expected = stub.of !== undefined ? known(stub.of.address, stub.of.name) : stub.external!.address;
    same(target, expected, `${stub.name}'s slot`);
  }
  return infos;
}

/** The region's copy, from Region.written alone, equals the bytes (Real.mirror). */
function expectMirrored(r: Real): void {
  const { codeSize, dataSize } = r.layout;
  const bytes = r.heap.read(r.heap.stats().code.address, codeSize);
  const data = r.heap.read(r.heap.stats().data.address, dataSize);
  const firstCode = bytes.findIndex((b, i) => b !== r.mirror[i]);
  const firstData = data.findIndex((b, i) => b !== r.mirror[codeSize + i]);
  expect(firstCode, 'the first code byte written and not told').toBe(-1);
  expect(firstData, 'the first data byte written and not told').toBe(-1);
}

function checkAll(m: Model, r: Real): void {
  expectMirrored(r);
  const { heap } = r;
  expectVerifies(heap);
  const infos = learnAddresses(m, r);
  const counts = m.counts();

  // The live functions and globals are the model's, and no other name is.
  for (const name of m.deadNames()) same(heap.node(name), undefined, `${name} is dead in the model`);
  for (const n of m.aliveSymbols()) same(heap.node(`stub(${n.name})`), undefined, 'stubs are not symbols');

  // Counting: every node the public API can name, by brute force.
  const expectedRc: ExpectedRc[] = m.aliveSymbols().map((n) => ({ what: n.name, subject: n.name, rc: counts.get(n) ?? 0 }));
  m.handles.forEach((h, i) => {
    if (!h.freed && h.node.kind === 'stub') expectedRc.push({ what: h.node.name, subject: r.handles[i]!, rc: counts.get(h.node) ?? 0 });
  });
  expectRcMatches(heap, expectedRc);
  for (const [n, info] of infos) {
    same(info.references, m.references(n), `${n.name}'s references`);
    same(info.referrers, m.referrers(n), `${n.name}'s referrers`);
  }

  // Handles: the model's live ones name their node's current address; freed ones stay freed.
  m.handles.forEach((h, i) => {
    const handle = r.handles[i]!;
    same(handle.freed, h.freed, `handle ${i} on ${h.node.name}: freed`);
    if (h.freed) return;
    same(handle.name, h.node.name, `handle ${i}: name`);
    same(handle.kind, h.node.kind, `handle ${i} on ${h.node.name}: kind`);
    same(handle.address, known(h.node.address, h.node.name), `the handle on ${h.node.name}`);
    if (h.node.kind === 'stub') {
      const info = heap.node(handle)!;
      same({ name: info.name, kind: info.kind, state: info.state, address: info.address }, { name: h.node.name, kind: 'stub', state: 'live', address: h.node.stubAddress! }, `node(${h.node.name})`);
      same(info.references, m.references(h.node), `${h.node.name}'s references`);
      same(info.referrers, m.referrers(h.node), `${h.node.name}'s referrers`);
    }
  });

  // Every site of every live or retired body encodes its target's current address, and the
  // bytes around the sites are still the bytes that were defined.
  const codeBlocks: { what: string; address: number; size: number }[] = [];
  const dataBlocks: { what: string; address: number; size: number }[] = [];
  for (const source of m.sources()) {
    const base = known(source.body.address, source.name);
    for (const site of source.body.sites) {
      const S = site.target !== undefined ? known(site.target.address, site.target.name) : site.external!;
      const what = `${source.name}+0x${site.offset.toString(16)} -> ${site.target?.name ?? site.symbol}`;
      expectSiteEncodes(heap, { what, P: base + site.offset, type: site.type, S, A: site.addend });
    }
    const { bytes } = source.body;
    if (bytes.length > 0) {
      const actual = heap.read(base, bytes.length);
      const inSite = new Uint8Array(bytes.length);
      for (const site of source.body.sites) inSite.fill(1, site.offset, site.offset + FIELD_WIDTH[site.type]);
      for (let i = 0; i < bytes.length; i++) {
        if (inSite[i] === 0 && actual[i] !== bytes[i]) {
          expect.fail(`${source.name}: byte ${i} is 0x${actual[i]!.toString(16)}, defined as 0x${bytes[i]!.toString(16)}`);
        }
      }
    }
    const block = { what: source.name, address: base, size: source.body.blockSize! };
    (source.owner.kind === 'global' ? dataBlocks : codeBlocks).push(block);
  }
  for (const n of m.aliveNodes()) {
    if (n.lazy) codeBlocks.push({ what: `${n.name}'s trampoline`, address: n.trampoline!, size: 6 });
    if (n.kind === 'stub') {
      codeBlocks.push({ what: n.name, address: n.stubAddress!, size: 6 });
      dataBlocks.push({ what: `${n.name}'s slot`, address: n.slotAddress!, size: 8 });
    }
  }
  const { layout } = r;
  expectDisjoint(codeBlocks, { name: 'code', address: layout.codeAddress, size: layout.codeSize });
  expectDisjoint(dataBlocks, { name: 'data', address: layout.dataAddress, size: layout.dataSize });

  // The figures.
  const stats = heap.stats();
  const nodes = m.nodeCounts();
  same(stats.nodes, nodes, 'stats().nodes');
  same(stats.sites, m.siteCount(), 'stats().sites');
  same(stats.freedByRc.nodes, m.freedByRc, 'stats().freedByRc.nodes');
  same(stats.freedByCycles.nodes, m.freedByCycles, 'stats().freedByCycles.nodes');
  same(stats.patches, m.patches, 'stats().patches');
  same(stats.collections, m.collections, 'stats().collections');
  same(stats.code.usedBlocks, r.baseline.codeBlocks + nodes.functions + nodes.stubs + nodes.retired, 'code blocks');
  same(stats.data.usedBlocks, r.baseline.dataBlocks + nodes.globals + nodes.stubs, 'data blocks');
  // Bytes: every block as node() reported it, 8 for each trampoline, stub and pointer slot.
  const granules = 8 * (nodes.lazy + nodes.stubs);
  const bodies = (kind: 'function' | 'global'): number => m.sources()
    .filter((s) => s.owner.kind === kind).reduce((sum, s) => sum + s.body.blockSize!, 0);
  same(stats.code.usedBytes, r.baseline.codeBytes + bodies('function') + granules, 'code bytes in use');
  same(stats.data.usedBytes, r.baseline.dataBytes + bodies('global') + 8 * nodes.stubs, 'data bytes in use');
}

// ---- commands ----

interface HandlePick {
  readonly n: number;
  /** Which handles to pick among: unfreed ones on functions, any unfreed one, or any at all. */
  readonly among: 'function' | 'unfreed' | 'any';
}

function pickHandle(m: Model, pick: HandlePick): number | undefined {
  const all = m.handles.map((h, i) => ({ h, i }));
  const unfreed = all.filter(({ h }) => !h.freed);
  const functions = unfreed.filter(({ h }) => h.node.kind === 'function');
  const choices = [
    ...(pick.among === 'function' ? [functions] : []),
    ...(pick.among !== 'any' ? [unfreed] : []),
    all,
  ].find((list) => list.length > 0);
  return choices === undefined ? undefined : choices[pick.n % choices.length]!.i;
}

/**
 * A handle refused before anything else is looked at (freed, or of the wrong kind): the call
 * throws that error and changes nothing. Returns true when it was refused.
 */
function refusedHandle(m: Model, r: Real, index: number, kind: 'function' | 'any', call: () => unknown, what: string): boolean {
  const h = m.handles[index]!;
  const code: ErrorCode | undefined = h.freed ? 'USE_AFTER_FREE' : kind === 'function' && h.node.kind !== 'function' ? 'INVALID_ARGUMENT' : undefined;
  if (code === undefined) return false;
  expectFailureChangesNothing(r.heap, subjects(m, r), code, call, { collections: 0 }, what);
  return true;
}

/** A linking or allocating call, and what the model knows about how it can end. */
interface LinkingCall {
  readonly what: string;
  readonly run: () => void;
  /** The defect it carries, or undefined for a valid call. */
  readonly failure: Failure | undefined;
  /** Names it defines: DUPLICATE_SYMBOL if still live after the collection it then runs. */
  readonly takes?: readonly string[];
  /** Heap symbols it resolves by name: UNDEFINED_SYMBOL if a collection it ran freed one. */
  readonly uses?: readonly string[];
  /** Whether it allocates (so may run out on a tight heap, after a collection). */
  readonly allocates: boolean;
  /** On OUT_OF_MEMORY: true when indeed no free block could hold what it needed. */
  readonly tooSmall?: () => boolean;
  /** It moves a body that an edge site targets: RELOCATION_OUT_OF_RANGE is allowed once placed. */
  readonly mayOverflow?: boolean;
}

type Outcome = ErrorCode | 'ok';

/**
 * Runs a linking or allocating call and judges how it ended against the order in which the heap
 * checks (Stage): shape; fresh names (after one collection, when a name is taken); plan; placement
 * (a failed allocation collects once, plans again and retries once); range. Every collection the
 * call ran is run on the model too. The model lists the (outcome, collections) pairs the contract
 * allows; the observed pair must be one of them. A failed call must change nothing but its
 * collections: when they freed nothing, the snapshot law applies in full; when they freed garbage,
 * checkAll compares the heap with the model that collected the same. Returns true on success;
 * the caller then applies the call to the model.
 */
function judge(m: Model, r: Real, call: LinkingCall): boolean {
  const takenBefore = (call.takes ?? []).some((n) => m.symbol(n) !== undefined);
  const unresolvedBefore = (call.uses ?? []).some((n) => m.symbol(n) === undefined);
  const mayFail = call.failure !== undefined || r.tight || takenBefore || call.mayOverflow === true;
  const collectionsBefore = r.heap.stats().collections;
  const before = mayFail ? snapshot(r.heap, subjects(m, r)) : undefined;
  let outcome: Outcome = 'ok';
  try {
    call.run();
  } catch (error) {
    if (!(error instanceof CodeHeapError)) throw error;
    outcome = error.code;
  }
  const collections = r.heap.stats().collections - collectionsBefore;
  let freed = 0;
  let held = 0;
  for (let i = 0; i < collections; i++) {
    // A linking call that collects before retrying its placement holds the symbols it names
    // through that collection (the one after the duplicate-name check, if that ran too).
    const retry = call.uses !== undefined && !(takenBefore && i === 0);
    const named = retry ? [...new Set((call.uses ?? []).flatMap((n) => m.symbol(n) ?? []))] : [];
    held += named.length;
    freed += m.collect(named);
  }
  // The state the call re-checked and re-planned against: after its collections, with the names
  // it held still held.
  const stillTaken = (call.takes ?? []).some((n) => m.symbol(n) !== undefined);
  const unresolvedAfter = (call.uses ?? []).some((n) => m.symbol(n) === undefined);
  // A failed call lets go of what it held only when it gives up: a named node that only the
  // collected garbage had referenced is reclaimed by counting then. (A call that succeeds counts
  // it from its sites.)
  if (outcome !== 'ok' && collections > 0) m.reclaim();

  const { failure } = call;
  const allowed: [Outcome, number][] = [];
  const settled = (c: number): void => {
    // Placed: only the range check is left.
    allowed.push([failure?.stage === 'check' ? failure.code : 'ok', c]);
    if (call.mayOverflow === true) allowed.push(['RELOCATION_OUT_OF_RANGE', c]);
  };
  const replan = (c: number): void => {
    // After the collection a failed placement ran: plan again, place again (once).
    if (unresolvedAfter) allowed.push(['UNDEFINED_SYMBOL', c]);
    else {
      allowed.push(['OUT_OF_MEMORY', c]);
      if (failure?.stage !== 'place') settled(c);
    }
  };
  if (failure?.stage === 'shape') {
    allowed.push([failure.code, 0]);
  } else if (takenBefore && stillTaken) {
    allowed.push(['DUPLICATE_SYMBOL', 1]);
  } else {
    const c = takenBefore ? 1 : 0;
    const unresolved = takenBefore ? unresolvedAfter : unresolvedBefore;
    if (unresolved || failure?.stage === 'plan') {
      if (unresolved) allowed.push(['UNDEFINED_SYMBOL', c]);
      if (failure?.stage === 'plan') allowed.push([failure.code, c]);
    } else if (failure?.stage === 'place') {
      replan(c + 1);
    } else {
      settled(c);
      if (r.tight && call.allocates) replan(c + 1);
    }
  }
  if (!allowed.some(([o, c]) => o === outcome && c === collections)) {
    expect.fail(`${call.what}: ${outcome} after ${collections} collection(s); the model allows only `
      + allowed.map(([o, c]) => `${o} after ${c}`).join(', or '));
  }
  if (outcome === 'OUT_OF_MEMORY' && failure?.stage !== 'place' && call.tooSmall !== undefined && !call.tooSmall()) {
    expect.fail(`${call.what}: OUT_OF_MEMORY while a free block could hold it`);
  }
  if (outcome !== 'ok' && freed === 0) expectUnchanged(before!, snapshot(r.heap, subjects(m, r)), { collections, held }, call.what);
  return outcome === 'ok';
}

/** No free block holds 8 bytes (a trampoline, a stub's code or its slot: one granule each). */
function noGranule(r: Real, arena: 'code' | 'data'): boolean {
  return r.heap.stats()[arena].largestFreeBlock < 8;
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

abstract class HeapCommand implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    this.apply(m, r);
    checkAll(m, r);
  }
  abstract apply(m: Model, r: Real): void;
  abstract toString(): string;
}

class Define extends HeapCommand {
  constructor(readonly symbols: readonly SymbolSpec[], readonly defect: Defect | null) {
    super();
  }
  apply(m: Model, r: Real): void {
    const built = m.buildUnit(this.symbols, this.defect ?? undefined);
    const names = built.symbols.map((s) => s.name);
    let unit: Unit | undefined;
    const ok = judge(m, r, {
      what: `define(${names.join(', ')})${this.defect === null ? '' : ` with ${this.defect.d}`}`,
      run: () => {
        unit = r.heap.define(unitDefinition(built, r));
      },
      failure: built.failure,
      takes: names,
      uses: built.symbols.flatMap((s) => usedSymbols(s.relocations, names)),
      allocates: true,
    });
    if (!ok) return;
    const handles = m.define(built);
    built.symbols.forEach((s, i) => {
      const handle = unit!.get(s.name);
      if (unit!.get(s.name) !== handle) expect.fail(`unit.get(${s.name}) returns another handle the second time`);
      same(handle.name, s.name, `unit.get(${s.name}).name`);
      same(handle.kind, handles[i]!.node.kind, `unit.get(${s.name}).kind`);
      r.handles.push(handle);
    });
  }
  toString(): string {
    return `define(${show(this.symbols)}, ${show(this.defect)})`;
  }
}

class Declare extends HeapCommand {
  constructor(readonly reuse: number | null, readonly duplicate: number | null, readonly ownCompile: boolean) {
    super();
  }
  apply(m: Model, r: Real): void {
    const live = m.aliveSymbols();
    const dead = m.deadNames();
    const name = this.duplicate !== null && live.length > 0
      ? live[this.duplicate % live.length]!.name
      : this.reuse !== null && dead.length > 0 ? dead[this.reuse % dead.length]! : m.freshName('f');
    let handle: Handle | undefined;
    const ok = judge(m, r, {
      what: `declare(${name})`,
      run: () => {
        handle = this.ownCompile ? r.heap.declare(name, r.ownCompile) : r.heap.declare(name);
      },
      failure: undefined,
      takes: [name],
      allocates: true,
      tooSmall: () => noGranule(r, 'code'),
    });
    if (!ok) return;
    m.declare(name, this.ownCompile);
    r.handles.push(handle!);
  }
  toString(): string {
    return `declare(reuse ${this.reuse}, duplicate ${this.duplicate}, own compile ${this.ownCompile})`;
  }
}

class Lookup extends HeapCommand {
  constructor(readonly pick: number, readonly mode: 'live' | 'dead' | 'stub') {
    super();
  }
  apply(m: Model, r: Real): void {
    const live = m.aliveSymbols();
    if (this.mode === 'live' && live.length > 0) {
      const node = live[this.pick % live.length]!;
      const handle = r.heap.lookup(node.name);
      m.lookup(node);
      r.handles.push(handle);
      return;
    }
    const dead = m.deadNames();
    const name = this.mode === 'dead' && dead.length > 0
      ? dead[this.pick % dead.length]!
      : live.length > 0 ? `stub(${live[this.pick % live.length]!.name})` : NO_SUCH_SYMBOL;
    expectFailureChangesNothing(r.heap, subjects(m, r), 'UNDEFINED_SYMBOL', () => r.heap.lookup(name), { collections: 0 }, `lookup(${name})`);
  }
  toString(): string {
    return `lookup(${this.mode} ${this.pick})`;
  }
}

class PointerTo extends HeapCommand {
  constructor(readonly pick: HandlePick) {
    super();
  }
  apply(m: Model, r: Real): void {
    const i = pickHandle(m, this.pick);
    if (i === undefined) return;
    const handle = r.handles[i]!;
    const what = `pointer(${handle.name})`;
    if (refusedHandle(m, r, i, 'function', () => r.heap.pointer(handle), what)) return;
    const fn = m.handles[i]!.node;
    let pointer: Handle | undefined;
    const ok = judge(m, r, {
      what,
      run: () => {
        pointer = r.heap.pointer(handle);
      },
      failure: undefined,
      allocates: fn.stub === undefined,
      tooSmall: () => noGranule(r, 'code') || noGranule(r, 'data'),
    });
    if (!ok) return;
    const mh = m.pointer(fn);
    same(pointer!.kind, 'stub', `${what}.kind`);
    same(pointer!.name, mh.node.name, `${what}.name`);
    r.handles.push(pointer!);
  }
  toString(): string {
    return `pointer(${show(this.pick)})`;
  }
}

class Free extends HeapCommand {
  constructor(readonly pick: HandlePick, readonly how: 'heap' | 'handle' | 'dispose') {
    super();
  }
  apply(m: Model, r: Real): void {
    const i = pickHandle(m, this.pick);
    if (i === undefined) return;
    const handle = r.handles[i]!;
    if (this.how === 'heap') r.heap.free(handle);
    else if (this.how === 'handle') handle.free();
    else handle[Symbol.dispose]();
    m.free(m.handles[i]!);
    same(handle.freed, true, `free(${handle.name}): handle.freed`);
    expectCodeHeapError(() => r.heap.node(handle), 'USE_AFTER_FREE');
    expectCodeHeapError(() => handle.address, 'USE_AFTER_FREE');
  }
  toString(): string {
    return `free(${show(this.pick)}, ${this.how})`;
  }
}

/** heap.unload(handles): the handles go, and what only their nodes held, cycles among them included (semantics 10). */
class Unload extends HeapCommand {
  constructor(readonly picks: readonly HandlePick[]) {
    super();
  }
  apply(m: Model, r: Real): void {
    const indexes = [...new Set(this.picks.map((pick) => pickHandle(m, pick)).filter((i): i is number => i !== undefined))];
    const handles = indexes.map((i) => r.handles[i]!);
    const collections = r.heap.stats().collections;
    same(r.heap.unload(handles), m.unload(indexes.map((i) => m.handles[i]!)), 'unload(): nodes reclaimed');
    same(r.heap.stats().collections, collections, 'unload() runs no collection');
    for (const handle of handles) same(handle.freed, true, `unload: ${handle.name}.freed`);
  }
  toString(): string {
    return `unload(${this.picks.map(show).join(', ')})`;
  }
}

class Redefine extends HeapCommand {
  constructor(readonly pick: HandlePick, readonly body: BodySpec, readonly defect: Defect | null) {
    super();
  }
  apply(m: Model, r: Real): void {
    const i = pickHandle(m, this.pick);
    if (i === undefined) return;
    const handle = r.handles[i]!;
    const what = `redefine(${handle.name})`;
    if (refusedHandle(m, r, i, 'function', () => r.heap.redefine(handle, { code: new Uint8Array([0xc3]) }), what)) return;
    const fn = m.handles[i]!.node;
    const built = m.buildBody(fn, this.body, this.defect ?? undefined);
    const ok = judge(m, r, {
      what: `${what}${this.defect === null ? '' : ` with ${this.defect.d}`}`,
      run: () => r.heap.redefine(handle, functionBody(built)),
      failure: built.failure,
      uses: usedSymbols(built.relocations, [fn.name]),
      allocates: true,
      mayOverflow: m.mayOverflowOnMove(fn),
    });
    if (ok) m.replaceBody(fn, built);
  }
  toString(): string {
    return `redefine(${show(this.pick)}, ${show(this.body)}, ${show(this.defect)})`;
  }
}

class Evict extends HeapCommand {
  constructor(readonly pick: HandlePick) {
    super();
  }
  apply(m: Model, r: Real): void {
    const i = pickHandle(m, this.pick);
    if (i === undefined) return;
    const handle = r.handles[i]!;
    const what = `evict(${handle.name})`;
    if (refusedHandle(m, r, i, 'function', () => r.heap.evict(handle), what)) return;
    const fn = m.handles[i]!.node;
    const ok = judge(m, r, {
      what,
      run: () => r.heap.evict(handle),
      failure: undefined,
      allocates: !fn.lazy,
      tooSmall: () => noGranule(r, 'code'),
      mayOverflow: !fn.lazy && m.mayOverflowOnMove(fn),
    });
    if (ok) m.evict(fn);
  }
  toString(): string {
    return `evict(${show(this.pick)})`;
  }
}

type CompileFault = Defect | { readonly d: 'throws' } | { readonly d: 'notABody' };

class Materialize extends HeapCommand {
  /**
   * reenter: the callback also materializes the same function again (REENTRANT_CALL, nothing
   * changes) and, when the materialize cannot fail, looks up a live symbol (a new handle: the
   * heap is idle and usable while a callback runs).
   */
  constructor(readonly pick: HandlePick, readonly body: BodySpec, readonly fault: CompileFault | null, readonly reenter: boolean) {
    super();
  }
  apply(m: Model, r: Real): void {
    const i = pickHandle(m, this.pick);
    if (i === undefined) return;
    const handle = r.handles[i]!;
    const what = `materialize(${handle.name})`;
    if (refusedHandle(m, r, i, 'function', () => r.heap.materialize(handle), what)) return;
    const fn = m.handles[i]!.node;
    const calls = { heap: r.compileCalls, own: r.ownCompileCalls };
    if (!fn.lazy) {
      r.heap.materialize(handle);
      same({ heap: r.compileCalls, own: r.ownCompileCalls }, calls, `${what} of a live function compiles nothing`);
      return;
    }
    const fault = this.fault;
    const thrown = new Error(`the compile callback of ${fn.name} failed on purpose`);
    // Built before the call, from the same model state the callback sees.
    const built = fault?.d === 'throws' || fault?.d === 'notABody' ? undefined : m.buildBody(fn, this.body, fault ?? undefined);
    r.compileWith = (name, api) => {
      same(name, fn.name, 'the compile callback is asked for the function materialized');
      same(api.node(name)?.state, 'lazy', `${fn.name} is lazy while it compiles`);
      if (this.reenter) {
        expectFailureChangesNothing(r.heap, subjects(m, r), 'REENTRANT_CALL', () => r.heap.materialize(handle), { collections: 0 }, `${what} from its own compile callback`);
        // Only when the materialize cannot fail: the snapshot law of a failure would see the handle.
        const live = m.aliveSymbols();
        if (fault === null && !r.tight && !m.mayOverflowOnMove(fn) && live.length > 0) {
          const node = live[this.body.fill % live.length]!;
          r.handles.push(r.heap.lookup(node.name));
          m.lookup(node);
        }
      }
      if (built === undefined && fault?.d === 'throws') throw thrown;
      if (built === undefined) return { relocations: [] } as unknown as FunctionBody;
      return functionBody(built);
    };
    try {
      if (fault?.d === 'throws') {
        expectFailureChangesNothing(r.heap, subjects(m, r), { error: thrown }, () => r.heap.materialize(handle), { collections: 0 }, `${what}: the callback throws`);
      } else if (built === undefined) {
        expectFailureChangesNothing(r.heap, subjects(m, r), 'INVALID_ARGUMENT', () => r.heap.materialize(handle), { collections: 0 }, `${what}: the callback returns no body`);
      } else if (judge(m, r, {
        what: `${what}${fault === null ? '' : ` with ${fault.d}`}`,
        run: () => r.heap.materialize(handle),
        failure: built.failure,
        uses: usedSymbols(built.relocations, [fn.name]),
        allocates: true,
        mayOverflow: m.mayOverflowOnMove(fn),
      })) {
        m.replaceBody(fn, built);
      }
    } finally {
      r.compileWith = undefined;
    }
    // Its own callback when it has one (define's or declare's, kept across redefine), else the heap's.
    const expected = fn.ownCompile ? { heap: calls.heap, own: calls.own + 1 } : { heap: calls.heap + 1, own: calls.own };
    same({ heap: r.compileCalls, own: r.ownCompileCalls }, expected, `${what} compiles once, with ${fn.ownCompile ? 'its own callback' : 'the heap\'s'}`);
  }
  toString(): string {
    return `materialize(${show(this.pick)}, ${show(this.body)}, ${show(this.fault)}, reenter ${this.reenter})`;
  }
}

class PinCommand extends HeapCommand {
  constructor(readonly pick: HandlePick) {
    super();
  }
  apply(m: Model, r: Real): void {
    const i = pickHandle(m, this.pick);
    if (i === undefined) return;
    const handle = r.handles[i]!;
    if (refusedHandle(m, r, i, 'any', () => r.heap.pin(handle), `pin(${handle.name})`)) return;
    const pin = r.heap.pin(handle);
    m.pin(m.handles[i]!.node);
    same(pin.name, handle.name, 'pin.name');
    r.pins.push(pin);
  }
  toString(): string {
    return `pin(${show(this.pick)})`;
  }
}

class Release extends HeapCommand {
  constructor(readonly pick: number, readonly unreleased: boolean, readonly how: 'release' | 'dispose') {
    super();
  }
  apply(m: Model, r: Real): void {
    const all = m.pins.map((p, i) => ({ p, i }));
    const open = all.filter(({ p }) => !p.released);
    const chosen = this.unreleased && open.length > 0 ? open : all;
    if (chosen.length === 0) return;
    const { p, i } = chosen[this.pick % chosen.length]!;
    const pin = r.pins[i]!;
    if (this.how === 'release') pin.release();
    else pin[Symbol.dispose]();
    m.release(p);
    same(pin.released, true, 'pin.released after release()');
  }
  toString(): string {
    return `release(${this.pick}, ${this.unreleased ? 'unreleased' : 'any'}, ${this.how})`;
  }
}

/** Another heap, whose handles every call of ours must refuse (INVALID_ARGUMENT). */
let foreignHeap: CodeHeap | undefined;
let foreignHandles: Handle[] = [];

function foreignHandle(n: number): Handle {
  if (foreignHeap === undefined) {
    foreignHeap = new CodeHeap({ arch: 'x86_64', codeSize: 4096, dataSize: 4096, cycleThreshold: Infinity });
    const unit = foreignHeap.define({ functions: [{ name: 'f0', code: new Uint8Array([0xc3]) }], globals: [{ name: 'g0', size: 8 }] });
    const f0 = unit.get('f0');
    foreignHandles = [f0, unit.get('g0'), foreignHeap.pointer(f0)];
  }
  return foreignHandles[n % foreignHandles.length]!;
}

/** A handle of another heap, given to one of ours: INVALID_ARGUMENT, and nothing changes. */
class Foreign extends HeapCommand {
  constructor(readonly pick: number, readonly operation: number) {
    super();
  }
  apply(m: Model, r: Real): void {
    const handle = foreignHandle(this.pick);
    const { heap } = r;
    const operations: [string, () => unknown][] = [
      ['pointer', () => heap.pointer(handle)],
      ['redefine', () => heap.redefine(handle, { code: new Uint8Array([0xc3]) })],
      ['evict', () => heap.evict(handle)],
      ['materialize', () => heap.materialize(handle)],
      ['pin', () => heap.pin(handle)],
      ['free', () => heap.free(handle)],
      ['node', () => heap.node(handle)],
    ];
    const [name, call] = operations[this.operation % operations.length]!;
    expectFailureChangesNothing(heap, subjects(m, r), 'INVALID_ARGUMENT', call, { collections: 0 }, `${name}(a handle of another heap)`);
    same(handle.freed, false, 'the foreign handle stays unfreed');
  }
  toString(): string {
    return `foreign(${this.pick}, ${this.operation})`;
  }
}

/** collectCycles(): frees exactly what no handle or pin reaches (semantics 6, 7). */
class Collect extends HeapCommand {
  apply(m: Model, r: Real): void {
    const result = r.heap.collectCycles();
    same(result.freed, m.collect(), 'collectCycles().freed');
  }
  toString(): string {
    return 'collectCycles()';
  }
}

/** collectCycles({ budget }) in slices of `work` units until done: the same garbage as a whole run. */
class CollectSliced extends HeapCommand {
  constructor(readonly work: number) {
    super();
  }
  apply(m: Model, r: Real): void {
    let freed = 0;
    for (let done = false; !done;) {
      const result = r.heap.collectCycles({ budget: { work: this.work } });
      freed += result.freed;
      done = result.done !== false;
      expectVerifies(r.heap);
    }
    same(freed, m.collect(), `collectCycles({ budget: { work: ${this.work} } }) in slices: freed`);
  }
  toString(): string {
    return `collectCycles({ budget: { work: ${this.work} } }) until done`;
  }
}

// ---- arbitraries ----

const typeArb = fc.constantFrom<RelocationType>('R_X86_64_64', 'R_X86_64_PC32', 'R_X86_64_PLT32', 'R_X86_64_32', 'R_X86_64_32S');

const targetArb: fc.Arbitrary<TargetSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('unit' as const), index: fc.nat(3) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('live' as const), pick: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('extern' as const), which: fc.nat(2) }) },
);

const refArb: fc.Arbitrary<RefSpec> = fc.record({
  type: typeArb,
  via: fc.constantFrom<Via>('none', 'none', 'body', 'stub'),
  addend: fc.oneof(fc.constant(0), fc.constant(-4), fc.integer({ min: -16, max: 16 })),
  target: targetArb,
  jitter: fc.nat(4),
  wide: fc.option(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), { freq: 3 }),
  edge: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const symbolArb: fc.Arbitrary<SymbolSpec> = fc.record({
  global: fc.boolean(),
  refs: fc.array(refArb, { maxLength: 3 }),
  extra: fc.nat(16),
  fill: fc.nat(255),
  zeroFill: fc.boolean(),
  reuse: fc.option(fc.nat(20), { freq: 3 }),
  align: fc.option(fc.constantFrom(1, 8, 16, 64), { freq: 2 }),
  ownCompile: fc.boolean(),
});

const unitArb = fc.array(symbolArb, { minLength: 1, maxLength: 4 });

const bodyArb: fc.Arbitrary<BodySpec> = fc.record({
  refs: fc.array(refArb, { maxLength: 3 }),
  extra: fc.nat(16),
  fill: fc.nat(255),
});

const defectArb: fc.Arbitrary<Defect> = fc.oneof(
  fc.record({ d: fc.constant('undefined' as const), at: fc.nat(3) }),
  fc.record({ d: fc.constant('bounds' as const), at: fc.nat(3), over: fc.integer({ min: 1, max: 8 }), type: typeArb }),
  fc.record({ d: fc.constant('range' as const), at: fc.nat(3), variant: fc.nat(5), pick: fc.nat(20) }),
  fc.record({ d: fc.constant('tooLarge' as const), global: fc.boolean() }),
  fc.record({ d: fc.constant('empty' as const) }),
  fc.record({ d: fc.constant('overlap' as const), at: fc.nat(3) }),
  fc.record({ d: fc.constant('badField' as const), at: fc.nat(3), variant: fc.nat(6) }),
  fc.record({ d: fc.constant('badAlign' as const), at: fc.nat(3) }),
  fc.record({ d: fc.constant('dupUnit' as const), at: fc.nat(3), global: fc.boolean() }),
  fc.record({ d: fc.constant('dupLive' as const), at: fc.nat(3), pick: fc.nat(60) }),
);

const compileFaultArb: fc.Arbitrary<CompileFault> = fc.oneof(
  { weight: 3, arbitrary: defectArb },
  { weight: 1, arbitrary: fc.constant({ d: 'throws' as const }) },
  { weight: 1, arbitrary: fc.constant({ d: 'notABody' as const }) },
);

/** null three times in four: invalid variants of a command are the exception. */
function sometimes<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

const pickArb = (among: fc.Arbitrary<HandlePick['among']>): fc.Arbitrary<HandlePick> => fc.record({ n: fc.nat(1000), among });
const functionPickArb = pickArb(fc.constantFrom<HandlePick['among']>('function', 'function', 'function', 'unfreed', 'any'));
const anyPickArb = pickArb(fc.constantFrom<HandlePick['among']>('unfreed', 'unfreed', 'any'));

const commandArbs: fc.Arbitrary<fc.Command<Model, Real>>[] = [
  fc.tuple(unitArb, sometimes(defectArb)).map(([symbols, defect]) => new Define(symbols, defect)),
  // Twice: garbage (cycles included) needs handles to go.
  fc.tuple(anyPickArb, fc.constantFrom('heap' as const, 'handle' as const, 'dispose' as const)).map(([pick, how]) => new Free(pick, how)),
  fc.tuple(anyPickArb, fc.constantFrom('heap' as const, 'handle' as const, 'dispose' as const)).map(([pick, how]) => new Free(pick, how)),
  fc.array(anyPickArb, { minLength: 1, maxLength: 6 }).map((picks) => new Unload(picks)),
  fc.tuple(fc.nat(60), fc.constantFrom('live' as const, 'live' as const, 'dead' as const, 'stub' as const)).map(([pick, mode]) => new Lookup(pick, mode)),
  functionPickArb.map((pick) => new PointerTo(pick)),
  fc.tuple(functionPickArb, bodyArb, sometimes(defectArb)).map(([pick, body, defect]) => new Redefine(pick, body, defect)),
  functionPickArb.map((pick) => new Evict(pick)),
  fc.tuple(functionPickArb, bodyArb, sometimes(compileFaultArb), fc.boolean())
    .map(([pick, body, fault, reenter]) => new Materialize(pick, body, fault, reenter)),
  fc.tuple(fc.option(fc.nat(20), { freq: 3 }), sometimes(fc.nat(60)), fc.boolean())
    .map(([reuse, duplicate, own]) => new Declare(reuse, duplicate, own)),
  fc.oneof(functionPickArb, anyPickArb).map((pick) => new PinCommand(pick)),
  fc.tuple(fc.nat(60), fc.boolean(), fc.constantFrom('release' as const, 'dispose' as const)).map(([pick, unreleased, how]) => new Release(pick, unreleased, how)),
  fc.constant(null).map(() => new Collect()),
  fc.integer({ min: 1, max: 64 }).map((work) => new CollectSliced(work)),
  fc.tuple(fc.nat(2), fc.nat(6)).map(([pick, operation]) => new Foreign(pick, operation)),
];

// ---- the property ----

/** Roomy arenas: allocation never fails, so every valid call must succeed. */
const ROOMY = defaultLayout(64 * 1024, 64 * 1024);
/** The smallest arenas: allocations start failing a few dozen commands in. */
const TIGHT = defaultLayout(4096, 4096);

test('the model layout is the default one: data right after code at DEFAULT_CODE_ADDRESS', () => {
  expect(DEFAULT_CODE_ADDRESS).toBe(CODE_ADDRESS);
  const stats = new Real(ROOMY, false).heap.stats();
  expect(stats.code.address).toBe(ROOMY.codeAddress);
  expect(stats.data.address).toBe(ROOMY.dataAddress);
});

function runAgainstModel(layout: Layout, tight: boolean, commands: Iterable<fc.Command<Model, Real>>): void {
  const setup = (): World => {
    const world = { model: new Model(layout, tight ? 64 : 1), real: new Real(layout, tight) };
    checkAll(world.model, world.real);
    return world;
  };
  fc.modelRun(setup, commands);
}

test.prop([fc.commands(commandArbs, { size: 'medium' })], { numRuns: 200 })(
  'counts, references, bytes and figures agree with the naive model after every command; failed calls change nothing',
  (commands) => runAgainstModel(ROOMY, false, commands),
);

test.prop([fc.commands(commandArbs, { size: 'medium' })], { numRuns: 200 })(
  'on arenas that fill up, every allocating call either does what the model does or fails with OUT_OF_MEMORY changing nothing',
  (commands) => runAgainstModel(TIGHT, true, commands),
);
