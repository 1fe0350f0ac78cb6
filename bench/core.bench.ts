// Benchmarks of the heap's core operations, each beside the limit it is measured against.
//
//  1. retain + release of one node's count: the node table's counting (HeapGraph, internal) and
//     the public pin() + release() pair, beside an Int32Array increment + decrement, which is
//     the cheapest count there can be.
//  2. backpatching one function with K = 1 .. 100,000 call sites: redefine (and evict +
//     materialize) of a function that K rel32 calls target. Both also link a new body; that
//     fixed cost is measured with K = 0 and subtracted, so ns per site should be flat in K.
//  3. define + link throughput in relocation sites per second: units of 256 functions with four
//     relocations each, to earlier functions of the unit, a library function and two globals.
//  4. metadata: stats().metadata for 100,000 functions with 4 sites each, and, for context, what
//     the whole heap costs on the JavaScript side (tables, names, symbol map, handles).
//
// Benchmarks may use internals (HeapGraph); tests may not.
//
// Run: npx tsx bench/core.bench.ts [--quick]

import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { do_not_optimize } from 'mitata';
import { CodeHeap, DEFAULT_CODE_ADDRESS, arrayBufferMemory, type Handle, type Relocation } from '../src/index.js';
import { Arenas } from '../src/heap/arenas.js';
import { HeapGraph } from '../src/rc/heap-graph.js';
import { FUNCTION } from '../src/base.js';
import { x86_64 } from '../src/reloc/x86-64.js';
import { formatNs, nowNs, time, timeManual, type Timing } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Repetitions inside one timed call of the cheap operations, so mitata times more than its own loop. */
const REPEAT = 64;

export interface CoreResults {
  retainRelease: {
    /** HeapGraph.retain + release on a node with a handle and an outgoing site. */
    graph: Timing;
    /** The same on a node with no outgoing sites (never a cycle candidate). */
    graphLeaf: Timing;
    /** heap.pin(h) + pin.release(): validation, a Pin object, a hold on the body. */
    pin: Timing;
    /** Int32Array increment + decrement: the limit. */
    int32: Timing;
  };
  backpatch: {
    k: number;
    redefine: Timing;
    evictMaterialize: Timing;
    /** (redefine(K) - redefine(0)) / K. */
    redefineNsPerSite: number;
    /** (round(K) - round(0)) / 2K: a round backpatches every site twice. */
    evictMaterializeNsPerSite: number;
  }[];
  defineLink: {
    functionsPerUnit: number;
    sitesPerUnit: number;
    define: Timing;
    sitesPerSecond: number;
  };
  metadata: {
    functions: number;
    sitesPerFunction: number;
    figures: MetadataFigure[];
  };
}

export interface MetadataFigure {
  /** Code bytes of each function. */
  codeBytes: number;
  /** stats().metadata.perNode and perSite. */
  perNode: number;
  perSite: number;
  tableBytes: number;
  /** Whole-process bytes per function (JS heap + ArrayBuffers, arenas excluded); NaN without gc. */
  processBytesPerFunction: number;
}

// ---- machine code fragments --------------------------------------------------------------------

const CALL = 0xe8;
const RET = 0xc3;

/** `n` calls (E8 rel32) then ret; each call's rel32 is an R_X86_64_PLT32 site, addend -4. */
function callsThenRet(targets: readonly string[]): { code: Uint8Array; relocations: Relocation[] } {
  const code = new Uint8Array(targets.length * 5 + 1);
  const relocations: Relocation[] = [];
  targets.forEach((symbol, i) => {
    code[i * 5] = CALL;
    relocations.push({ offset: i * 5 + 1, type: 'R_X86_64_PLT32', symbol, addend: -4 });
  });
  code[code.length - 1] = RET;
  return { code, relocations };
}

const leafBody = (): { code: Uint8Array } => ({ code: Uint8Array.from([0x31, 0xc0, RET]) }); // xor eax, eax; ret

// ---- 1. retain + release ---------------------------------------------------------------------

async function retainRelease(quick: boolean): Promise<CoreResults['retainRelease']> {
  console.log(`retain + release of one count (${REPEAT} pairs per timed call, figures per pair)`);
  const layout = { codeAddress: DEFAULT_CODE_ADDRESS, codeSize: 64 * KiB, dataAddress: DEFAULT_CODE_ADDRESS + 64 * KiB, dataSize: 4 * KiB };
  const graph = new HeapGraph(new Arenas(layout, arrayBufferMemory().reserve(layout)));
  const { nodes } = graph;
  const node = (name: string): number => {
    const id = nodes.allocate(FUNCTION, name, graph.arenas.code.allocator.allocate(16, 16));
    nodes.symbols.bind(name, id);
    nodes.roots[id] = 1; // one handle
    nodes.rc[id] = 1;
    return id;
  };
  const leaf = node('leaf');
  const caller = node('caller');
  const plt32 = x86_64.kind('R_X86_64_PLT32')!;
  graph.addSite(caller, leaf, plt32.id, graph.arenas.code.loc(nodes.block[caller]!) + 1, -4, plt32.usualAddend);

  const graphPair = await time('HeapGraph.retain + release (node with an outgoing site)', () => {
    for (let i = 0; i < REPEAT; i++) {
      graph.retain(caller);
      graph.release(caller);
    }
  }, { quick, operations: REPEAT });
  const leafPair = await time('HeapGraph.retain + release (leaf node: never a candidate)', () => {
    for (let i = 0; i < REPEAT; i++) {
      graph.retain(leaf);
      graph.release(leaf);
    }
  }, { quick, operations: REPEAT });
  if (nodes.rc[caller] !== 1 || nodes.rc[leaf] !== 2) throw new Error('retain/release changed a count');

  const counts = new Int32Array(64);
  let slot = 0;
  const int32 = await time('Int32Array increment + decrement (the limit)', () => {
    const i = slot++ & 63;
    for (let k = 0; k < REPEAT; k++) {
      counts[i]!++;
      counts[i]!--;
    }
    do_not_optimize(counts);
  }, { quick, operations: REPEAT });

  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 * KiB, dataSize: 4 * KiB });
  const f = heap.define({ functions: [{ name: 'f', ...leafBody() }] }).get('f');
  const pin = await time('heap.pin(h) + pin.release() (public API, one Pin object each)', () => {
    heap.pin(f).release();
  }, { quick });
  heap.verify();
  return { graph: graphPair, graphLeaf: leafPair, pin, int32 };
}

// ---- 2. backpatching ------------------------------------------------------------------------

/** Call sites per caller function: 64 rel32 calls then ret (321 bytes). */
const SITES_PER_CALLER = 64;
const CALLERS_PER_UNIT = 256;

/** A heap with `target` and callers holding k call sites to it, all held by handles. */
function backpatchHeap(k: number): { heap: CodeHeap; target: Handle } {
  const codeSize = Math.max(1 * MiB, 2 ** Math.ceil(Math.log2(k * 6 + 256 * KiB)));
  const heap = new CodeHeap({ arch: 'x86_64', codeSize, dataSize: 64 * KiB });
  const target = heap.define({ functions: [{ name: 'target', ...leafBody(), compile: leafBody }] }).get('target');
  let remaining = k;
  let caller = 0;
  while (remaining > 0) {
    const functions = [];
    for (let i = 0; i < CALLERS_PER_UNIT && remaining > 0; i++) {
      const sites = Math.min(SITES_PER_CALLER, remaining);
      remaining -= sites;
      functions.push({ name: `caller${caller++}`, ...callsThenRet(new Array<string>(sites).fill('target')) });
    }
    heap.define({ functions }); // the unit's handles keep the callers alive
  }
  if (heap.node(target)!.rc !== k + 1) throw new Error(`expected ${k} sites on target, found rc ${heap.node(target)!.rc}`);
  return { heap, target };
}

async function backpatching(quick: boolean): Promise<CoreResults['backpatch']> {
  const ks = quick ? [0, 100, 100_000] : [0, 1, 10, 100, 1_000, 10_000, 100_000];
  console.log('backpatching one function with K call sites (figures per call; K = 0 is the fixed cost of linking a body)');
  // Warm up the paths first, or the K = 0 baseline pays for the JIT compiling them.
  const warm = backpatchHeap(10);
  const warmUntil = performance.now() + (quick ? 100 : 300);
  while (performance.now() < warmUntil) {
    warm.heap.redefine(warm.target, leafBody());
    warm.heap.evict(warm.target);
    warm.heap.materialize(warm.target);
  }
  const rows: { k: number; redefine: Timing; evictMaterialize: Timing }[] = [];
  for (const k of ks) {
    const { heap, target } = backpatchHeap(k);
    const body = leafBody();
    const redefine = await time(`redefine, K = ${k.toLocaleString('en-US')}`, () => heap.redefine(target, body), { quick });
    const evictMaterialize = await time(`evict + materialize, K = ${k.toLocaleString('en-US')}`, () => {
      heap.evict(target);
      heap.materialize(target);
    }, { quick });
    heap.verify();
    if (heap.node(target)!.rc !== k + 1) throw new Error(`target lost sites: rc ${heap.node(target)!.rc}, expected ${k + 1}`);
    rows.push({ k, redefine, evictMaterialize });
  }
  const base = rows[0]!;
  const results = rows.filter((r) => r.k > 0).map((r) => ({
    ...r,
    redefineNsPerSite: (r.redefine.medianNs - base.redefine.medianNs) / r.k,
    evictMaterializeNsPerSite: (r.evictMaterialize.medianNs - base.evictMaterialize.medianNs) / (2 * r.k),
  }));
  for (const r of results) {
    console.log(`  K = ${r.k.toLocaleString('en-US').padStart(7)}: ${formatNs(r.redefineNsPerSite).padStart(9)}/site by redefine, ${formatNs(r.evictMaterializeNsPerSite).padStart(9)}/site by evict + materialize`);
  }
  return results;
}

// ---- 3. define + link throughput -------------------------------------------------------------

const UNIT_FUNCTIONS = 256;

/**
 * Function i of the unit (25 bytes):
 *   +0   E8 rel32            call f(i-1) (f0: call lib)   R_X86_64_PLT32, addend -4
 *   +5   E8 rel32            call lib                     R_X86_64_PLT32, addend -4
 *   +10  48 8B 05 rel32      mov rax, [rip + counter]     R_X86_64_PC32 (library global), addend -4
 *   +17  48 8D 0D rel32      lea rcx, [rip + table]       R_X86_64_PC32 (the unit's global), addend -4
 *   +24  C3                  ret
 */
function throughputUnit(): { functions: { name: string; code: Uint8Array; relocations: Relocation[] }[]; globals: { name: string; size: number }[] } {
  const code = Uint8Array.from([
    CALL, 0, 0, 0, 0, CALL, 0, 0, 0, 0, 0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x48, 0x8d, 0x0d, 0, 0, 0, 0, RET,
  ]);
  const functions = [];
  for (let i = 0; i < UNIT_FUNCTIONS; i++) {
    functions.push({
      name: `f${i}`,
      code,
      relocations: [
        { offset: 1, type: 'R_X86_64_PLT32', symbol: i === 0 ? 'lib' : `f${i - 1}`, addend: -4 },
        { offset: 6, type: 'R_X86_64_PLT32', symbol: 'lib', addend: -4 },
        { offset: 13, type: 'R_X86_64_PC32', symbol: 'counter', addend: -4 },
        { offset: 20, type: 'R_X86_64_PC32', symbol: 'table', addend: -4 },
      ] satisfies Relocation[],
    });
  }
  return { functions, globals: [{ name: 'table', size: 64 }] };
}

async function defineLink(quick: boolean): Promise<CoreResults['defineLink']> {
  console.log(`define + link of a unit of ${UNIT_FUNCTIONS} functions x 4 relocations (timed: define only)`);
  const heap = new CodeHeap({ arch: 'x86_64', codeSize: 4 * MiB, dataSize: 256 * KiB });
  heap.define({ functions: [{ name: 'lib', ...leafBody() }], globals: [{ name: 'counter', size: 8 }] });
  const unit = throughputUnit();
  const sitesPerUnit = unit.functions.length * 4;
  // Warm up first: a short budget would otherwise be spent largely on code the JIT has not
  // optimized yet.
  const warmUntil = performance.now() + (quick ? 150 : 400);
  while (performance.now() < warmUntil) {
    heap.define(unit).free();
    heap.collectCycles();
  }
  const define = await timeManual(`define: ${sitesPerUnit} sites`, () => {
    const t0 = nowNs();
    const linked = heap.define(unit);
    const elapsed = nowNs() - t0;
    linked.free();
    heap.collectCycles(); // gives back the ids of nodes that were candidates when counting freed them
    return elapsed;
  }, { quick });
  const sitesPerSecond = sitesPerUnit / (define.medianNs / 1e9);
  console.log(`  ${Math.round(sitesPerSecond).toLocaleString('en-US').padStart(10)}  sites/s`);
  heap.verify();
  if (heap.stats().nodes.total !== 2) throw new Error('the units were not reclaimed');
  return { functionsPerUnit: UNIT_FUNCTIONS, sitesPerUnit, define, sitesPerSecond };
}

// ---- 4. metadata ----------------------------------------------------------------------------

/** A garbage-collection function when the runtime allows one, for the process-memory figure. */
function collector(): (() => void) | undefined {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  return typeof gc === 'function' ? (gc as () => void) : undefined;
}

function processBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * A heap of `functions` functions, each with three calls to earlier functions (or the library)
 * and one load of a global: 4 sites. `size` is the code size in bytes (23, or padded with nops).
 */
function metadataHeap(functions: number, size: number, gc: (() => void) | undefined): MetadataFigure {
  const perUnit = 1000;
  gc?.();
  const before = processBytes();
  const codeSize = 8 * MiB;
  const dataSize = 64 * KiB;
  const heap = new CodeHeap({ arch: 'x86_64', codeSize, dataSize });
  heap.define({ functions: [0, 1, 2].map((i) => ({ name: `lib${i}`, ...leafBody() })), globals: [{ name: 'counter', size: 8 }] });
  const units = [];
  for (let first = 0; first < functions; first += perUnit) {
    const list = [];
    for (let i = first; i < first + perUnit; i++) {
      const { code, relocations } = callsThenRet([1, 2, 3].map((d) => (i - d >= 0 ? `f${i - d}` : `lib${d - 1}`)));
      // 3 calls (15 bytes), then mov rax, [rip + counter] (7 bytes), nops, ret
      const body = new Uint8Array(size).fill(0x90);
      body.set(code.subarray(0, 15));
      body.set([0x48, 0x8b, 0x05, 0, 0, 0, 0], 15);
      body[size - 1] = RET;
      relocations.push({ offset: 18, type: 'R_X86_64_PC32', symbol: 'counter', addend: -4 });
      list.push({ name: `f${i}`, code: body, relocations });
    }
    units.push(heap.define({ functions: list }));
  }
  const stats = heap.stats();
  gc?.();
  const after = processBytes();
  heap.verify();
  if (stats.sites !== functions * 4) throw new Error(`expected ${functions * 4} sites, found ${stats.sites}`);
  do_not_optimize(units);
  const figure = {
    codeBytes: size,
    perNode: stats.metadata.perNode,
    perSite: stats.metadata.perSite,
    tableBytes: stats.metadata.bytes,
    processBytesPerFunction: gc === undefined ? Number.NaN : (after - before - codeSize - dataSize) / functions,
  };
  console.log(`  ${size}-byte functions: ${figure.perNode.toFixed(1)} B per node, ${figure.perSite.toFixed(1)} B per site` +
    ` (tables ${(figure.tableBytes / MiB).toFixed(2)} MiB); whole process ${Number.isNaN(figure.processBytesPerFunction) ? 'n/a' : `${figure.processBytesPerFunction.toFixed(0)} B`} per function`);
  return figure;
}

function metadata(): CoreResults['metadata'] {
  const functions = 100_000;
  console.log(`metadata: stats().metadata for ${functions.toLocaleString('en-US')} functions with 4 sites each`);
  const gc = collector();
  // 23 bytes: not a multiple of the 16-byte function alignment, as most code is.
  // 32 bytes: a multiple of it, so the functions pack with no gaps between them.
  return { functions, sitesPerFunction: 4, figures: [metadataHeap(functions, 23, gc), metadataHeap(functions, 32, gc)] };
}

export async function main(opts: { quick?: boolean } = {}): Promise<CoreResults> {
  const quick = opts.quick === true;
  const retain = await retainRelease(quick);
  const backpatch = await backpatching(quick);
  const link = await defineLink(quick);
  const meta = metadata();
  return { retainRelease: retain, backpatch, defineLink: link, metadata: meta };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main({ quick: process.argv.includes('--quick') });
}
