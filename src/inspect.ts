// Looking at the heap: node snapshots, statistics and the reference graph in DOT.
//
// These are tools for people and tests, not hot paths: each walks the tables it needs. Sites do
// not record their source (it would cost 4 bytes on every site), so naming a node's referrers
// takes one pass over the outgoing lists, done once per call.

import { CodeHeapError, hex } from './errors.js';
import { LargeMap } from './large-map.js';
import { referenceKind } from './reference-kind.js';
import type { HeapGraph } from './rc/heap-graph.js';
import { KIND_NAMES } from './rc/node-table.js';
import * as base from './base.js';
import * as nodeTable from './rc/node-table.js';
import * as siteTable from './rc/site-table.js';
import type { Architecture } from './reloc/architecture.js';
import type { ArenaStats, HeapStats, NodeInfo } from './types.js';
import type { Arena } from './heap/arenas.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { LAZY, NODE_RECORD_BYTES } = nodeTable;
const { FUNCTION, GLOBAL, NONE, RETIRED, STUB } = base;
const { SITE_RECORD_BYTES } = siteTable;

/** Source node of every site in use, by site id (-1 for free site ids). One pass. */
export function siteSources(graph: HeapGraph): Int32Array {
  const { nodes, sites } = graph;
  const sources = new Int32Array(sites.idLimit).fill(NONE);
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) sources[s] = id;
  }
  return sources;
}

export function nodeInfo(graph: HeapGraph, id: number): NodeInfo {
  const { nodes, sites } = graph;
  const kind = nodes.kindOf(id);
  const lazy = nodes.isLazy(id);
  const outgoing: number[] = [];
  for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) outgoing.push(s);
  outgoing.sort((a, b) => sites.loc[a]! - sites.loc[b]!);
  const references = unique(outgoing.map((s) => nodes.nameOf(sites.targetOf(s))));
  const { sources } = sites;
  const referrers: string[] = [];
  for (let s = nodes.firstIn[id]!; s !== NONE; s = sites.nextIn[s]!) referrers.push(nodes.nameOf(sources[s]!));
  const info: NodeInfo = {
    name: nodes.nameOf(id),
    kind: KIND_NAMES[kind] as NodeInfo['kind'],
    state: lazy ? 'lazy' : 'live',
    address: graph.addressOf(id),
    size: lazy ? 0 : graph.arenaOf(id).sizeOf(nodes.block[id]!),
    rc: nodes.rc[id]!,
    references,
    referrers: unique(referrers.sort()),
  };
  const stub = kind === FUNCTION ? nodes.stubOf(id) : NONE;
  if (kind === FUNCTION && stub !== NONE) info.stub = { name: nodes.nameOf(stub), address: graph.addressOf(stub) };
  return info;
}

/** The names in first-seen order, each once (no Set: it holds at most 2^24 entries). */
function unique(names: string[]): string[] {
  const seen = new LargeMap<string, true>();
  const result: string[] = [];
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.set(name, true);
    result.push(name);
  }
  return result;
}

export interface Counters {
  patches: number;
  collections: number;
  cycleThreshold: number;
}

export function heapStats(graph: HeapGraph, counters: Counters): HeapStats {
  const { nodes, sites, arenas } = graph;
  const counts = nodeCounts(nodes.liveByClass);
  const code = arenaStats(arenas.code);
  const data = arenaStats(arenas.data);
  // Block records of used and free blocks: free blocks are overhead the live nodes carry.
  const blockRecords = arenas.code.allocator.metadataBytes() + arenas.data.allocator.metadataBytes();
  const tables = nodes.metadataBytes() + graph.candidates.metadataBytes() + blockRecords + sites.metadataBytes();
  return {
    nodes: counts,
    sites: sites.count,
    code,
    data,
    usedBytes: code.usedBytes + data.usedBytes,
    freeBytes: code.freeBytes + data.freeBytes,
    largestFreeBlock: Math.max(code.largestFreeBlock, data.largestFreeBlock),
    candidates: graph.candidates.length,
    collections: counters.collections,
    freedByRc: { ...graph.freed.rc },
    freedByCycles: { ...graph.freed.cycles },
    patches: counters.patches,
    metadata: {
      bytes: tables,
      perNode: nodes.liveCount === 0 ? NODE_RECORD_BYTES : NODE_RECORD_BYTES + blockRecords / nodes.liveCount,
      perSite: sites.count === 0 ? SITE_RECORD_BYTES : sites.bytesInUse() / sites.count,
    },
    cycleThreshold: counters.cycleThreshold,
  };
}

/** Nodes by kind and state from the node table's live counts by class (kind, LAZY). */
export function nodeCounts(byClass: Int32Array): HeapStats['nodes'] {
  const count = (kind: number, lazy: boolean): number => byClass[kind | (lazy ? LAZY : 0)]!;
  const both = (kind: number): number => count(kind, false) + count(kind, true);
  const named = [FUNCTION, GLOBAL, STUB];
  const lazy = named.reduce((sum, kind) => sum + count(kind, true), 0);
  const live = named.reduce((sum, kind) => sum + count(kind, false), 0);
  return {
    functions: both(FUNCTION), globals: both(GLOBAL), stubs: both(STUB),
    live, lazy, retired: both(RETIRED), total: live + lazy,
  };
}

function arenaStats(arena: Arena): ArenaStats {
  const a = arena.allocator;
  return {
    address: arena.address,
    size: arena.size,
    usedBytes: a.usedBytes,
    freeBytes: a.freeBytes,
    largestFreeBlock: a.largestFree(),
    usedBlocks: a.usedBlocks,
    freeBlocks: a.freeBlocks,
  };
}

/**
 * The reference graph in Graphviz DOT, in pieces that end at line ends (a long name comes in
 * several pieces): one box per node, one edge per relocation site. Pre: the heap does not change
 * while the pieces are taken.
 */
export function* dotLines(graph: HeapGraph, arch: Architecture): Generator<string> {
  const { nodes, sites } = graph;
  yield 'digraph codeheap {\n';
  yield '  node [shape=box, fontname="monospace"];\n';
  yield '  edge [fontname="monospace", fontsize=10];\n';
  yield* legend();
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    const kind = nodes.kindOf(id);
    const lazy = nodes.isLazy(id);
    const look = `${NODE_LOOK[lazy ? LAZY_LOOK : kind]}${nodes.roots[id]! > 0 ? ', penwidth=2.5' : ''}`;
    const what = `${KIND_NAMES[kind]}${lazy ? ' (lazy: its trampoline)' : ''} ${hex(graph.addressOf(id))}\\nrc ${nodes.rc[id]}${nodes.roots[id]! > 0 ? `, ${nodes.roots[id]} from outside` : ''}`;
    const name = nodes.nameOf(id);
    if (name.length <= NAME_CHUNK) {
      yield `  n${id} [label="${escape(name)}\\n${what}", ${look}];\n`;
      continue;
    }
    // A long name goes in pieces, so that no piece can pass the longest string there is.
    yield `  n${id} [label="`;
    for (let at = 0; at < name.length; at += NAME_CHUNK) yield escape(name.slice(at, at + NAME_CHUNK));
    yield `\\n${what}", ${look}];\n`;
  }
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) {
      const edge = referenceKind(graph, arch, s);
      yield `  n${id} -> n${sites.targetOf(s)} [label="${edge}\\n${arch.kinds[sites.kindOf(s)]!.name}", ${EDGE_LOOK[edge]}];\n`;
    }
  }
  yield '}\n';
}

/**
 * How each kind of node is drawn: a function's body a box, a lazy function's trampoline a dashed
 * one, a stub a small tab, a global a folder, a retired body a grey dotted box; a node held from
 * outside (handles, pins, a running call) is drawn heavier.
 */
const LAZY_LOOK = 4;
const NODE_LOOK: Readonly<Record<number, string>> = {
  [FUNCTION]: 'shape=box',
  [GLOBAL]: 'shape=folder',
  [STUB]: 'shape=cds',
  [RETIRED]: 'shape=box, style=dotted, color=grey40, fontcolor=grey40',
  [LAZY_LOOK]: 'shape=box, style=dashed',
};

/**
 * How each reference is drawn: a call (PC-relative, to an entry), a pointer (absolute, to an entry
 * or a stub), a pointer into a body at an offset (an addend other than the usual: a jump table's
 * entry), a reference to a global's data, and a stub's link to its function.
 */
const EDGE_LOOK = {
  call: 'color=black',
  pointer: 'color=blue, fontcolor=blue',
  interior: 'color=darkorange, fontcolor=darkorange, style=bold',
  data: 'color=darkgreen, fontcolor=darkgreen, style=dashed',
  stub: 'color=grey40, fontcolor=grey40, style=dotted',
} as const;

/** A legend: one node of each look, one edge of each kind, in a box of its own. */
function* legend(): Generator<string> {
  yield '  subgraph cluster_legend {\n    label="legend"; fontname="monospace"; color=grey70;\n';
  const samples = [['function', FUNCTION], ['lazy function', LAZY_LOOK], ['stub', STUB], ['global', GLOBAL], ['retired body', RETIRED]] as const;
  for (const [label, look] of samples) yield `    legend_${look} [label="${label}", ${NODE_LOOK[look]}];\n`;
  yield '    legend_root [label="held from outside", shape=box, penwidth=2.5];\n';
  const edges = [['call', FUNCTION, FUNCTION], ['pointer', GLOBAL, STUB], ['interior', GLOBAL, FUNCTION], ['data', FUNCTION, GLOBAL], ['stub', STUB, FUNCTION]] as const;
  for (const [edge, from, to] of edges) yield `    legend_${from} -> legend_${to} [label="${edge}", ${EDGE_LOOK[edge]}];\n`;
  yield '  }\n';
}

/** V8's longest string (2^29 - 24 characters on 64-bit). */
export const MAX_STRING_LENGTH = 2 ** 29 - 24;

/**
 * The DOT text as one string; OUT_OF_MEMORY, with its length, past `limit` characters (the longest
 * string there is, unless a test says less).
 */
export function toDot(graph: HeapGraph, arch: Architecture, limit = MAX_STRING_LENGTH): string {
  let length = 0;
  for (const line of dotLines(graph, arch)) length += line.length;
  if (length > limit) {
    throw new CodeHeapError('OUT_OF_MEMORY',
      `toDot: the graph is ${length} characters of DOT, past the longest string JavaScript makes (${limit}); writeDot(write) streams it in pieces`);
  }
  let text = '';
  for (const line of dotLines(graph, arch)) text += line;
  return text;
}

/** A name inside a DOT string: backslashes and quotes escaped. */
/** Characters of a name escaped at a time (a piece is at most twice as long escaped). */
const NAME_CHUNK = 1 << 20;

function escape(text: string): string {
  return text.replace(/[\\"]/g, '\\$&');
}
