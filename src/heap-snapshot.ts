// The node graph as a .heapsnapshot, the format Chrome DevTools' Memory panel opens (V8's heap
// snapshot JSON), so a JIT author can use the views they know from JavaScript: the retainers of a
// node, its retained size, the shortest path from the roots, the biggest functions.
//
// Layout of the format (its `meta` names every field): `nodes` is a flat array of NODE_FIELDS
// numbers per node, `edges` a flat array of EDGE_FIELDS per edge, the edges of each node
// following each other in node order (a node's `edge_count` says how many are its own), an
// edge's `to_node` the index of its target's first field in `nodes`, and every name an index
// into `strings`. Node 0 is the synthetic root; its edges lead to every node held from outside
// (handles, pins, running calls), named by how many hold it. Every other node is one of the heap's:
// functions, stubs and retired bodies as code, globals as native data, each with its bytes as its
// self size; each relocation site is an edge named by what it is and where: `call@0x1`,
// `pointer@0x8`, `interior@0x10`, `data@0x4`, `stub`.
//
// Written in pieces to `write`, never as one string: a heap of millions of nodes makes a
// snapshot longer than the longest string there is. Strings are written by the same piecewise
// escaping as the DOT writer's long names.

import type { HeapGraph } from './rc/heap-graph.js';
import type { Architecture } from './reloc/architecture.js';
import { LargeMap } from './large-map.js';
import * as base from './base.js';
import { referenceKind, siteOffset } from './reference-kind.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { GLOBAL, NONE } = base;

const NODE_FIELDS = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic',
  'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape'];
const EDGE_FIELDS = ['type', 'name_or_index', 'to_node'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];
const CODE = NODE_TYPES.indexOf('code');
const NATIVE = NODE_TYPES.indexOf('native');
const SYNTHETIC = NODE_TYPES.indexOf('synthetic');
const PROPERTY = EDGE_TYPES.indexOf('property');
const SHORTCUT = EDGE_TYPES.indexOf('shortcut');
/** Numbers and strings per write: pieces of bounded length. */
const BATCH = 4096;
const STRING_CHUNK = 1 << 20;

/** Writes the snapshot of the graph to `write`, in pieces. */
export function writeHeapSnapshot(graph: HeapGraph, arch: Architecture, write: (chunk: string) => void): void {
  const { nodes, sites } = graph;
  const strings: string[] = [];
  const stringIndex = new LargeMap<string, number>();
  const intern = (text: string): number => {
    let index = stringIndex.get(text);
    if (index === undefined) {
      index = strings.length;
      strings.push(text);
      stringIndex.set(text, index);
    }
    return index;
  };
  // Each live node's place in `nodes` (its index times NODE_FIELDS.length), by id; 0 is the root.
  const place = new Int32Array(nodes.idLimit).fill(-1);
  let count = 1;
  let rooted = 0;
  let edgeCount = 0;
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    place[id] = count++ * NODE_FIELDS.length;
    if (nodes.roots[id]! > 0) rooted++;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) edgeCount++;
  }
  write(`{"snapshot":{"meta":${JSON.stringify({
    node_fields: NODE_FIELDS,
    node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
    edge_fields: EDGE_FIELDS,
    edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
    trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
    trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
    sample_fields: ['timestamp_us', 'last_assigned_id'],
    location_fields: ['object_index', 'script_id', 'line', 'column'],
  })},"node_count":${count},"edge_count":${edgeCount + rooted},"trace_function_count":0},\n`);

  const batch = new Batch(write);
  write('"nodes":[');
  batch.numbers(SYNTHETIC, intern('(codeheap roots)'), 1, 0, rooted, 0, 0);
  for (let id = 0; id < nodes.idLimit; id++) {
    if (place[id]! < 0) continue;
    const kind = nodes.kindOf(id);
    let edges = 0;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) edges++;
    const name = nodes.isLazy(id) ? `${nodes.nameOf(id)} [lazy]` : nodes.nameOf(id);
    batch.numbers(kind === GLOBAL ? NATIVE : CODE, intern(name), 2 * id + 3, graph.bytesOf(id), edges, 0, 0);
  }
  batch.end('],\n');

  write('"edges":[');
  for (let id = 0; id < nodes.idLimit; id++) {
    if (place[id]! >= 0 && nodes.roots[id]! > 0) batch.numbers(SHORTCUT, intern(`held ${nodes.roots[id]}x`), place[id]!);
  }
  for (let id = 0; id < nodes.idLimit; id++) {
    if (place[id]! < 0) continue;
    for (let s = nodes.firstOut[id]!; s !== NONE; s = sites.nextOf(s)) {
      const what = referenceKind(graph, arch, s);
      batch.numbers(PROPERTY, intern(what === 'stub' ? what : `${what}@0x${siteOffset(graph, s).toString(16)}`), place[sites.targetOf(s)]!);
    }
  }
  batch.end('],\n');
  write('"trace_function_infos":[],"trace_tree":[],"samples":[],"locations":[],\n"strings":[');
  for (let i = 0; i < strings.length; i++) {
    if (i > 0) write(',');
    writeString(strings[i]!, write);
  }
  write(']}\n');
}

/** Numbers joined by commas, written a batch at a time. */
class Batch {
  private parts: number[] = [];
  private first = true;

  constructor(private readonly write: (chunk: string) => void) {}

  numbers(...values: number[]): void {
    for (const v of values) this.parts.push(v);
    if (this.parts.length >= BATCH) this.flush();
  }

  end(after: string): void {
    this.flush();
    this.write(after);
    this.first = true;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.write(`${this.first ? '' : ','}${this.parts.join(',')}`);
    this.first = false;
    this.parts = [];
  }
}

/** A JSON string in pieces of bounded length (a name may be as long as a string can be). */
function writeString(text: string, write: (chunk: string) => void): void {
  write('"');
  for (let at = 0; at < text.length; at += STRING_CHUNK) write(JSON.stringify(text.slice(at, at + STRING_CHUNK)).slice(1, -1));
  write('"');
}
