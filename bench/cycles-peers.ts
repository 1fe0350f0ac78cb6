// The peers of the collector's suite: CPython's collector (bench/python/gc_shapes.py, run here)
// and PHP's (bench/php-peer.ts), and the rule for skipping a peer that cannot run.
//
// A peer that fails before it has ever given a figure (not installed, too old, broken) is skipped
// for the rest of the run, with its first reason. One that fails after giving figures (a crash at
// one size: a stack limit that could not be raised) loses only that row; its version stays, and
// the reason is printed and kept.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { edgeChecksum, type CsrGraph, type Shape } from './shapes.js';

/** What a peer did over a run: its version and the rows it failed, or why it never ran. */
export type PeerOutcome =
  | { readonly version: string; readonly failures: readonly string[] }
  | { readonly skipped: string };

export class Peer {
  #version: string | undefined;
  #skipped: string | undefined;
  readonly #failures: string[] = [];

  constructor(readonly name: string) {}

  /** ns per node from `run` (which returns a reason when it could not run), or null. */
  figure(row: string, run: () => { version: string; nsPerNode: number } | string): number | null {
    if (this.#skipped !== undefined) return null;
    const figure = run();
    if (typeof figure !== 'string') {
      this.#version = figure.version;
      return figure.nsPerNode;
    }
    if (this.#version === undefined) {
      this.#skipped = figure;
      console.log(`  ${this.name} skipped: ${figure}`);
    } else {
      this.#failures.push(`${row}: ${figure}`);
      console.log(`  ${this.name} failed on ${row}: ${figure}`);
    }
    return null;
  }

  outcome(): PeerOutcome {
    if (this.#version !== undefined) return { version: this.#version, failures: [...this.#failures] };
    return { skipped: this.#skipped ?? 'no sizes were run' };
  }
}

interface PythonFigure {
  shape: Shape;
  nodes: number;
  ns_per_node_net: number;
  collected: number;
  checksum: number;
  python: string;
}

const SCRIPT = fileURLToPath(new URL('./python/gc_shapes.py', import.meta.url));
/** Far more than the 1,000,000-node random graph takes; only a hung interpreter meets it. */
const TIMEOUT_MS = 15 * 60 * 1000;

/**
 * CPython's gc.collect() on the same graph (checked by checksum), in ns per node net of its fixed
 * cost, or the reason it could not run. Other edges or a wrong count are a bug of ours, not a
 * reason to skip, so they throw.
 */
export function runCPython(shape: Shape, graph: CsrGraph, samples: number): { version: string; nsPerNode: number } | string {
  const run = spawnSync('python3', [SCRIPT, '--shape', shape, '--nodes', String(graph.nodes), '--samples', String(samples)], {
    encoding: 'utf8', maxBuffer: 1 << 20, timeout: TIMEOUT_MS,
  });
  if (run.error !== undefined) return `python3 could not be run (${run.error.message})`;
  if (run.status !== 0) return `gc_shapes.py exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`;
  let figure: PythonFigure;
  try {
    figure = JSON.parse(run.stdout) as PythonFigure;
  } catch {
    return `gc_shapes.py printed no JSON: ${JSON.stringify(run.stdout.slice(0, 200))}`;
  }
  const checksum = edgeChecksum(graph);
  if (figure.checksum !== checksum) throw new Error(`CPython built other edges for ${shape} ${graph.nodes}: checksum ${figure.checksum}, ours ${checksum}`);
  if (figure.collected !== graph.nodes) throw new Error(`CPython collected ${figure.collected} of ${graph.nodes} ${shape} nodes`);
  return { version: figure.python, nsPerNode: figure.ns_per_node_net };
}
