// PHP's cycle collector as a peer of codeheap's in the cycle-collector benchmark: runs
// bench/php/gc_shapes.php, which builds the same garbage graph as bench/shapes.ts (same xorshift32
// sequence, checked by checksum) of plain objects and times one gc_collect_cycles(). PHP's
// collector is the synchronous Bacon–Rajan algorithm, as codeheap's is, working from a buffer of
// possible roots rather than over the heap: the most like-for-like of the peers.
//
// PHP is optional: where it cannot be run, is older than 8.0, or its figure does not check out,
// runPhp returns the reason as a string, for the caller to print as the reason the row is skipped.
// The binary is `php` on the PATH unless the environment variable PHP names another (a path, or
// a name to look up), e.g. PHP=php8.3, or PHP=/nonexistent to see the skip path.
//
// PHP is run with -n (no php.ini): a developer's php.ini may load Xdebug or a profiler, whose hooks
// slow the interpreter down, or set a memory limit the 1,000,000-node graphs exceed; the script
// needs only what is built into PHP (getopt, hrtime, gc_status, json_encode).
//
// And it is run with a stack limit of 1 GiB (through sh's ulimit; the default is commonly 8 MiB).
// PHP's collector frees the garbage it found by releasing each object's properties in turn, and a
// release that takes a count to zero frees that object at once, recursively in C: freeing a ring
// recurses once per node (about 100 bytes of stack each), so an 8 MiB stack overflows near 87,000
// nodes and PHP dies of SIGSEGV inside gc_collect_cycles(). A larger limit only reserves address
// space; the time to grow into it is part of the timed collection, as it is part of PHP's cost.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SHAPES, type Shape } from './shapes.js';

/** The oldest PHP the script runs on (it uses PHP 8's union types); a 64-bit build is checked apart. */
export const MIN_PHP_VERSION = [8, 0] as const;

/**
 * How gc_shapes.php represents a node. `props`: one object whose declared properties hold its
 * out-edges, one container per node as CPython's list and codeheap's function (the default).
 * `array`: an object holding its out-edges in an array property, two containers per node.
 */
export type PhpLayout = 'props' | 'array';

/** One figure of gc_shapes.php: the JSON object it prints, checked. Times are medians over samples. */
export interface PhpFigure {
  readonly shape: Shape;
  /** Nodes of the graph (every one garbage). */
  readonly nodes: number;
  /** Edges of the graph: nodes for pairs and ring, 4 x nodes for random4. */
  readonly edges: number;
  /** Fresh graphs built and collected; the times are medians over them. */
  readonly samples: number;
  /** Nanoseconds of the timed gc_collect_cycles() per node, its fixed cost included. */
  readonly ns_per_node: number;
  /** Nanoseconds per node once the cost of a collection on an empty buffer is subtracted. */
  readonly ns_per_node_net: number;
  /** Nanoseconds of a gc_collect_cycles() with nothing buffered (the least of three per sample). */
  readonly baseline_ns: number;
  /**
   * What gc_collect_cycles() returned (the least over the samples): garbage objects and arrays
   * freed, so nodes with the `props` layout and 2 x nodes with `array`; checked by runPhp.
   */
  readonly collected: number;
  /** FNV-1a over the edge targets, as bench/shapes.ts's edgeChecksum; checked by runPhp. */
  readonly checksum: number;
  /** PHP_VERSION of the interpreter that ran it. */
  readonly php: string;
  readonly layout: PhpLayout;
  /**
   * Possible roots buffered just before the timed collection (the most over the samples): the
   * node count when only the graph is buffered, as runPhp checks, so nothing else was timed.
   */
  readonly roots: number;
}

const SCRIPT = fileURLToPath(new URL('./php/gc_shapes.php', import.meta.url));
/**
 * Runs "$0" "$@" with a soft stack limit of 1 GiB (in KiB), or the hard limit where that is lower;
 * where neither can be set it runs with the limit it has, and a deep ring may overflow it.
 */
const WITH_BIG_STACK = 'ulimit -s 1048576 2>/dev/null || ulimit -s "$(ulimit -H -s)" 2>/dev/null; exec "$0" "$@"';
/** Far more than the 1,000,000-node random4 graph takes (seconds): only a hung run meets it. */
const TIMEOUT_MS = 15 * 60 * 1000;

/** The PHP binary to run: $PHP, or `php` on the PATH. */
function phpBinary(): string {
  const configured = process.env['PHP'];
  return configured === undefined || configured === '' ? 'php' : configured;
}

type Probe = { readonly version: string } | { readonly reason: string };
/** Probes by binary, so a change of $PHP between calls is seen. */
const probes = new Map<string, Probe>();

function probe(): Probe {
  const binary = phpBinary();
  let found = probes.get(binary);
  if (found === undefined) {
    found = probeUncached(binary);
    probes.set(binary, found);
  }
  return found;
}

function probeUncached(binary: string): Probe {
  const run = spawnSync(binary, ['-n', '-r', 'echo PHP_VERSION, " ", PHP_INT_SIZE;'], { encoding: 'utf8', timeout: 30_000 });
  if (run.error !== undefined) {
    const code = (run.error as NodeJS.ErrnoException).code;
    return { reason: code === 'ENOENT' ? `${binary} not found (set PHP to a PHP 8 binary)` : `${binary} could not be run (${run.error.message})` };
  }
  if (run.status !== 0) return { reason: `${binary} -r exited with ${run.status ?? run.signal}${detail(run.stderr)}` };
  const match = /^(\d+)\.(\d+)\S* (\d+)$/.exec(run.stdout.trim());
  if (match === null) return { reason: `${binary} printed no PHP version: ${JSON.stringify(run.stdout.slice(0, 200))}` };
  const version = run.stdout.trim().split(' ')[0]!;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const [minMajor, minMinor] = MIN_PHP_VERSION;
  if (major < minMajor || (major === minMajor && minor < minMinor)) {
    return { reason: `PHP ${version} is too old (gc_shapes.php needs ${MIN_PHP_VERSION.join('.')} or later)` };
  }
  // The xorshift and FNV arithmetic shift and multiply 32-bit values into up to 57 bits.
  if (match[3] !== '8') return { reason: `PHP ${version} has ${match[3]}-byte integers; gc_shapes.php needs 64-bit ones` };
  return { version };
}

/** ": " and what a failed run printed to stderr, or nothing when it printed nothing. */
function detail(stderr: string): string {
  const text = stderr.trim();
  return text === '' ? '' : `: ${text}`;
}

/**
 * PHP's gc_collect_cycles() on the garbage graph `shape` of `nodes` nodes (the default seed), over
 * `samples` fresh graphs; or why there is no figure: PHP absent, too old, or the run failed or
 * does not check out (its edges' checksum is not `expectedChecksum`, edgeChecksum(makeGraph(shape,
 * nodes)); it did not collect the whole graph; something besides the graph was buffered).
 */
export function runPhp(
  shape: Shape, nodes: number, samples: number, expectedChecksum: number, layout: PhpLayout = 'props',
): PhpFigure | string {
  const found = probe();
  if ('reason' in found) return found.reason;
  const binary = phpBinary();
  const args = ['-n', SCRIPT, '--shape', shape, '--nodes', String(nodes), '--samples', String(samples), '--layout', layout];
  const options = { encoding: 'utf8', maxBuffer: 1 << 20, timeout: TIMEOUT_MS } as const;
  const run = process.platform === 'win32'
    ? spawnSync(binary, args, options)
    : spawnSync('/bin/sh', ['-c', WITH_BIG_STACK, binary, ...args], options);
  if (run.error !== undefined) return `${binary} could not run gc_shapes.php (${run.error.message})`;
  if (run.signal === 'SIGSEGV') {
    return `PHP crashed (SIGSEGV) on ${shape} ${nodes}: freeing the garbage recurses once per node of a chain, and overflowed the C stack`;
  }
  if (run.status !== 0) return `gc_shapes.php exited with ${run.status ?? run.signal}${detail(run.stderr)}`;

  let figure: PhpFigure;
  try {
    figure = parseFigure(JSON.parse(run.stdout));
  } catch (error) {
    return `gc_shapes.php printed no figure (${(error as Error).message}): ${JSON.stringify(run.stdout.slice(0, 200))}`;
  }
  const containers = layout === 'array' ? 2 * nodes : nodes;
  if (figure.shape !== shape || figure.nodes !== nodes || figure.layout !== layout) {
    return `gc_shapes.php answered for ${figure.shape} ${figure.nodes} (${figure.layout}), not ${shape} ${nodes} (${layout})`;
  }
  if (figure.checksum !== expectedChecksum) {
    return `PHP built other edges for ${shape} ${nodes}: checksum ${figure.checksum}, ours ${expectedChecksum}`;
  }
  if (figure.collected !== containers) {
    return `PHP collected ${figure.collected} of the ${containers} containers of ${shape} ${nodes} (${layout})`;
  }
  if (figure.roots !== nodes) {
    return `PHP had ${figure.roots} possible roots buffered for the ${nodes} nodes of ${shape}: the timed collection traversed more than the graph`;
  }
  return figure;
}

/** The printed object, its fields' types checked (a malformed one throws). */
function parseFigure(value: unknown): PhpFigure {
  if (typeof value !== 'object' || value === null) throw new TypeError('not a JSON object');
  const record = value as Record<string, unknown>;
  const number = (key: keyof PhpFigure): number => {
    const field = record[key];
    if (typeof field !== 'number' || !Number.isFinite(field)) throw new TypeError(`${key} is not a number`);
    return field;
  };
  const string = (key: keyof PhpFigure): string => {
    const field = record[key];
    if (typeof field !== 'string') throw new TypeError(`${key} is not a string`);
    return field;
  };
  const shape = string('shape');
  if (!(SHAPES as readonly string[]).includes(shape)) throw new TypeError(`unknown shape ${shape}`);
  const layout = string('layout');
  if (layout !== 'props' && layout !== 'array') throw new TypeError(`unknown layout ${layout}`);
  return {
    shape: shape as Shape,
    nodes: number('nodes'),
    edges: number('edges'),
    samples: number('samples'),
    ns_per_node: number('ns_per_node'),
    ns_per_node_net: number('ns_per_node_net'),
    baseline_ns: number('baseline_ns'),
    collected: number('collected'),
    checksum: number('checksum'),
    php: string('php'),
    layout,
    roots: number('roots'),
  };
}
