// heap.toDot(): the graph drawn as it is, with a legend: each kind of node by its look, each
// reference by what it is (a call, a pointer, a pointer into a body, a reference to data, a
// stub's link), and the real Graphviz `dot` renders it. On CI the rendering must run (.ci/run
// installs graphviz); elsewhere it is skipped with the reason printed.

import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { referenceSample } from './helpers/reference-sample.js';

const sample = referenceSample;

/** The lines of the DOT text that draw edges, as `from -> to: label`. */
function edges(dot: string, names: Map<string, string>): string[] {
  return [...dot.matchAll(/^ {2}(n\d+) -> (n\d+) \[label="([^"\\]+)\\n([^"]+)"/gm)]
    .map(([, from, to, edge, type]) => `${names.get(from!)} -> ${names.get(to!)}: ${edge} ${type}`).sort();
}

describe('heap.toDot', () => {
  test('references are drawn as calls, pointers, pointers into a body, data and stub links; nodes by kind, the held heavier', () => {
    const { heap } = sample();
    const dot = heap.toDot();
    const names = new Map([...dot.matchAll(/^ {2}(n\d+) \[label="([^\\"]+)\\n/gm)].map(([, id, name]) => [id!, name!]));
    expect(edges(dot, names)).toEqual([
      'method -> counter: data R_X86_64_PC32',
      'method -> helper: call R_X86_64_PLT32',
      'method -> lazy_one: call R_X86_64_PLT32',
      'stub(method) -> method: stub R_X86_64_64',
      'vtable -> method: interior R_X86_64_64',
      'vtable -> stub(method): pointer R_X86_64_64',
    ]);
    expect(dot).toMatch(/label="lazy_one\\nfunction \(lazy: its trampoline\) 0x[0-9a-f]+\\nrc \d+, 1 from outside", shape=box, style=dashed, penwidth=2.5\]/);
    expect(dot).toMatch(/label="stub\(method\)\\nstub 0x[0-9a-f]+\\nrc 1", shape=cds\]/);
    expect(dot).toMatch(/label="counter\\nglobal 0x[0-9a-f]+\\nrc 2, 1 from outside", shape=folder, penwidth=2.5\]/);
    expect(dot).toContain('subgraph cluster_legend');
    for (const edge of ['call', 'pointer', 'interior', 'data', 'stub']) expect(dot).toContain(`[label="${edge}", `);
  });

  const graphviz = spawnSync('dot', ['-V'], { encoding: 'utf8' });
  const mustRun = process.env['CI'] === 'true';
  if (graphviz.error !== undefined && !mustRun) console.warn(`the Graphviz rendering test is skipped: dot is not installed (apt-get install graphviz)`);
  test.runIf(graphviz.error === undefined || mustRun)('Graphviz renders it', () => {
    const { heap } = sample();
    const render = spawnSync('dot', ['-Tsvg'], { input: heap.toDot(), encoding: 'utf8' });
    expect(render.error, 'dot is installed (on CI, by .ci/run)').toBeUndefined();
    expect(render.status, render.stderr).toBe(0);
    expect(render.stderr).toBe('');
    for (const name of ['method', 'stub(method)', 'lazy_one', 'legend']) expect(render.stdout).toContain(name);
  });
});
