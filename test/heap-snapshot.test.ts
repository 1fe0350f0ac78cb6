// heap.writeSnapshot(): the node graph in the .heapsnapshot format of Chrome DevTools' Memory
// panel, checked against the format's own schema (the `meta` it carries: field counts, types,
// edge ranges, string indexes) and against the heap: every node with its bytes, every reference
// as an edge to the right node, the root's edges to exactly the nodes held from outside. Then
// loaded by DevTools' own heap snapshot model (its front end's code, as the heap-snapshot-toolkit
// package ships it), whose distances from the root and retained sizes must agree with
// heap.retainers() and heap.retainedSize().

import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as devtoolsParse } from 'heap-snapshot-toolkit';
import { describe, expect, test } from 'vitest';
import type { CodeHeap } from '../src/index.js';
import { expectCode } from './helpers/errors.js';
import { newHeap } from './helpers/heaps.js';
import { asm } from './helpers/x86.js';
import { referenceSample } from './helpers/reference-sample.js';

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[], ...string[]]; edge_fields: string[]; edge_types: [string[], ...string[]] };
    node_count: number;
    edge_count: number;
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The snapshot parsed back into nodes with their edges, every field checked against `meta` on the way. */
function parse(text: string) {
  const s = JSON.parse(text) as Snapshot;
  const { meta, node_count: nodeCount, edge_count: edgeCount } = s.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  expect(meta.node_fields).toEqual(['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness']);
  expect(meta.edge_fields).toEqual(['type', 'name_or_index', 'to_node']);
  expect(s.nodes.length).toBe(nodeCount * nf);
  expect(s.edges.length).toBe(edgeCount * ef);
  const nodes: { type: string; name: string; id: number; size: number; edges: { type: string; name: string; to: number }[] }[] = [];
  const ids = new Set<number>();
  let edge = 0;
  for (let n = 0; n < nodeCount; n++) {
    const [type, name, id, size, edges] = s.nodes.slice(n * nf, n * nf + 5) as [number, number, number, number, number];
    expect(type).toBeLessThan(meta.node_types[0].length);
    expect(name).toBeLessThan(s.strings.length);
    expect(ids.has(id), `node ids are unique (${id})`).toBe(false);
    ids.add(id);
    const node = { type: meta.node_types[0][type]!, name: s.strings[name]!, id, size, edges: [] as { type: string; name: string; to: number }[] };
    for (let e = 0; e < edges; e++, edge++) {
      const [edgeType, edgeName, to] = s.edges.slice(edge * ef, edge * ef + 3) as [number, number, number];
      expect(edgeType).toBeLessThan(meta.edge_types[0].length);
      expect(edgeName).toBeLessThan(s.strings.length);
      expect(to % nf, 'to_node is the index of a node\'s first field').toBe(0);
      expect(to).toBeLessThan(s.nodes.length);
      node.edges.push({ type: meta.edge_types[0][edgeType]!, name: s.strings[edgeName]!, to: to / nf });
    }
    nodes.push(node);
  }
  expect(edge, 'every edge belongs to a node').toBe(edgeCount);
  return nodes;
}

function snapshotOf(heap: CodeHeap): string {
  let text = '';
  heap.writeSnapshot((chunk) => {
    text += chunk;
  });
  return text;
}

/** The reference sample with its unit freed: vtable held by a lookup, the lazy function by its declare. */
function sampleHeap(): CodeHeap {
  const { heap, unit } = referenceSample();
  heap.lookup('vtable');
  unit.free();
  return heap;
}

describe('heap.writeSnapshot', () => {
  test('DevTools\' own snapshot model loads it: its distances from the root are heap.retainers\' chains, its retained sizes of the held nodes heap.retainedSize', async () => {
    const heap = sampleHeap();
    const dir = mkdtempSync(join(tmpdir(), 'codeheap-snapshot-'));
    try {
      const path = join(dir, 'heap.heapsnapshot');
      heap.writeSnapshot(path);
      const snapshot = await devtoolsParse(createReadStream(path));
      const seen: string[] = [];
      let checked = 0;
      for (let n = 1; n < snapshot.nodeCount; n++) {
        const node = snapshot.createNode(n * snapshot.nodeFieldCount);
        const name = node.name().replace(' [lazy]', '');
        seen.push(name);
        // A stub has no name to ask by (and a handle on it would make it a root).
        if (name.startsWith('stub(')) continue;
        const path = heap.retainers(name);
        expect(snapshot.nodeDistances[n], `${name}: DevTools' distance from the root`).toBe(path!.edges.length + 1);
        // A held node nothing else references: what its roots going frees is what it dominates.
        if (path!.edges.length === 0 && heap.node(name)?.referrers.length === 0) {
          expect(snapshot.retainedSizes[n], `${name}: DevTools' retained size`).toBe(heap.retainedSize(name));
          checked++;
        }
      }
      expect(seen.sort()).toEqual(['counter', 'helper', 'lazy_one', 'method', 'stub(method)', 'vtable']);
      expect(checked, 'vtable\'s retained size was compared').toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the format\'s schema holds, and every node, size, reference and root is the heap\'s', () => {
    const heap = sampleHeap();
    const nodes = parse(snapshotOf(heap));
    const [root, ...rest] = nodes;
    expect(root).toMatchObject({ type: 'synthetic', name: '(codeheap roots)' });
    // The root's edges: the nodes held from outside (the lazy function's declare handle and vtable's lookup).
    expect(root!.edges.map((e) => nodes[e.to]!.name).sort()).toEqual(['lazy_one [lazy]', 'vtable']);
    const byName = new Map(rest.map((n) => [n.name, n]));
    for (const name of ['method', 'helper', 'vtable', 'counter', 'stub(method)']) {
      const info = heap.node(name === 'stub(method)' ? heap.pointer(heap.lookup('method')) : name)!;
      const node = byName.get(name)!;
      expect(node.type).toBe(info.kind === 'global' ? 'native' : 'code');
      if (info.kind !== 'stub') expect(node.size).toBe(info.size);
      expect(node.edges.map((e) => nodes[e.to]!.name.replace(' [lazy]', '')).sort()).toEqual([...info.references].sort());
    }
    expect(byName.get('method')!.edges.map((e) => e.name).sort()).toEqual(['call@0x1', 'call@0x6', 'data@0xd']);
    expect(byName.get('vtable')!.edges.map((e) => e.name).sort()).toEqual(['interior@0x0', 'pointer@0x8']);
    expect(byName.get('stub(method)')!.edges.map((e) => e.name)).toEqual(['stub']);
    heap.verify();
  });

  test('to a path, the same text; a path that cannot be written or anything but a path or function is INVALID_ARGUMENT', () => {
    const heap = newHeap();
    heap.define({ functions: [{ name: 'f', ...asm().ret().build() }] });
    const dir = mkdtempSync(join(tmpdir(), 'codeheap-snapshot-'));
    try {
      const path = join(dir, 'heap.heapsnapshot');
      heap.writeSnapshot(path);
      expect(readFileSync(path, 'utf8')).toBe(snapshotOf(heap));
      expectCode(() => heap.writeSnapshot(join(dir, 'missing', 'heap.heapsnapshot')), 'INVALID_ARGUMENT');
      for (const bad of [7, '', null, {}]) expectCode(() => heap.writeSnapshot(bad as string), 'INVALID_ARGUMENT');
      // The writer may only read: a mutating call from it is refused.
      expectCode(() => heap.writeSnapshot(() => heap.define({ functions: [{ name: 'g', ...asm().ret().build() }] })), 'REENTRANT_CALL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a name of 3 MiB goes in pieces; no piece is longer than 2^21 characters', () => {
    const heap = newHeap();
    const long = 'x'.repeat(3 << 20);
    heap.define({ functions: [{ name: long, ...asm().ret().build() }] });
    let longest = 0;
    let text = '';
    heap.writeSnapshot((chunk) => {
      longest = Math.max(longest, chunk.length);
      text += chunk;
    });
    expect(longest).toBeLessThanOrEqual(1 << 21);
    expect(parse(text).some((n) => n.name === long)).toBe(true);
  });
});
