<?php
/*
 * PHP's cycle collector on the garbage shapes of bench/cycles.bench.ts: the counterpart of
 * bench/python/gc_shapes.py.
 *
 * Builds one shape with plain PHP objects, drops every reference to it, and times one
 * gc_collect_cycles() that finds and frees it all. PHP's collector is the synchronous algorithm of
 * Bacon and Rajan (2001), as codeheap's is: it never scans the heap, only the objects buffered as
 * possible roots and what they reach. So it is the most like-for-like of the peers.
 *
 * What a node is. Each node is one object of a final class with one declared property per
 * out-edge (Node1 for pairs and ring, Node4 for random4). Declared properties live inline in the
 * object (its properties table), and no property hash table is ever made for it (nothing reads the
 * object dynamically), so the collector traverses exactly one container per node and finds the
 * edges inside it: as CPython traverses one list per node, and codeheap one function. Not arrays as
 * nodes: PHP arrays are values (copied on write), so a graph of arrays needs a PHP reference (&)
 * wrapped around every edge, one more container per edge, which no PHP program holding a graph does.
 * `--layout array` builds the other natural shape, an object holding its out-edges in an array
 * property (`$out[]`): the collector then traverses two containers per node (object, then array)
 * and counts both, so `collected` is 2 x nodes.
 *
 * How the graph gets into the root buffer. PHP collects only from its root buffer: a container is
 * buffered as a possible root when a reference count on it is decremented to a value above zero.
 * The builder holds every node in a local array; when it returns, that array's count drops to zero
 * and destroying it decrements each node's count, to its in-degree, which is at least one in every
 * shape: so every node becomes a possible root, once (a buffered container is not buffered
 * again). The edge targets are read through a static property (Edges::$targets), never copied
 * into a local or passed as an argument: leaving a function decrements its parameters' and
 * locals' counts, which would buffer the 1-4 million-element targets array too and make the timed
 * collection scan it. `roots` in the output (gc_status()['roots'] just before the timed call)
 * checks this: it is the node count, nothing else is buffered.
 *
 * The C stack. Having found the garbage, PHP frees it object by object, releasing each one's
 * properties; a release that takes another garbage object's count to zero frees that object at
 * once, recursively (zend_object_std_dtor -> zend_objects_store_del -> ...). A ring is freed in
 * one recursion n deep, about 100 bytes of stack a level: with the usual 8 MiB stack PHP dies of
 * SIGSEGV inside gc_collect_cycles() near 87,000 nodes. Run it with a larger stack for big rings
 * (`ulimit -s 1048576`, as bench/php-peer.ts does). Pairs recurse two deep, and random4 stayed
 * within 8 MiB at 1,000,000 nodes (a node with other edges still to release stops the recursion).
 *
 * The graph is the one bench/shapes.ts builds for the same (shape, nodes, seed): the same
 * xorshift32 sequence drawn in the same order. PHP integers are 64-bit, so every left shift is
 * masked to 32 bits, as gc_shapes.py does (right shifts of a value below 2^32 need no mask). The
 * printed checksum (FNV-1a over the edge targets) lets the caller check that both sides built the
 * same edges.
 *
 * Automatic collection is off from the start (gc_disable()), so the collection timed is the one we
 * ask for: without it PHP collects whenever the buffer reaches its threshold (10,000 roots) while
 * the builder returns. Disabled, the buffer grows to hold every root (to 2^30 entries). One collection
 * before the samples empties the buffer of whatever the set-up left in it (live containers are
 * dropped from it); the fixed cost of a call is timed on an empty buffer (`baseline_ns`, the
 * least of three) and subtracted in `ns_per_node_net`, as gc_shapes.py does.
 *
 * `collected` is what gc_collect_cycles() returns: the number of garbage containers it freed
 * (objects and arrays; PHP references are not counted), the least over the samples.
 *
 * Usage: php bench/php/gc_shapes.php --shape ring --nodes 100000 [--samples 5] [--seed N]
 *        [--layout props|array]
 * Prints one JSON object: shape, nodes, edges, samples, ns_per_node (median, gross),
 * ns_per_node_net (median, baseline subtracted), baseline_ns, collected, checksum, php, and also
 * layout and roots.
 */

declare(strict_types=1);

const MASK = 0xFFFFFFFF;
const DEFAULT_SEED = 0x2545F491;
const SHAPES = ['pairs', 'ring', 'random4'];
const LAYOUTS = ['props', 'array'];

/** A node of one out-edge (pairs, ring), held inline. */
final class Node1
{
    public $a;
}

/** A node of four out-edges (random4), held inline. */
final class Node4
{
    public $a;
    public $b;
    public $c;
    public $d;
}

/** A node holding its out-edges in an array of its own (--layout array). */
final class ListNode
{
    public array $out = [];
}

/**
 * The edge targets, read in place by the builders: a static property is never a local, so no
 * function's exit decrements its count and buffers it as a possible root (see the header).
 */
final class Edges
{
    /** @var list<int> node i's targets at [i * per, (i + 1) * per) */
    public static array $targets = [];
}

function fail(string $message): void
{
    fwrite(STDERR, "gc_shapes.php: $message\n");
    exit(2);
}

function edges_per_node(string $shape): int
{
    return $shape === 'random4' ? 4 : 1;
}

/** Edge targets, node i's at [i * per, (i + 1) * per): bench/shapes.ts's makeGraph. */
function make_targets(string $shape, int $nodes, int $seed): array
{
    $per = edges_per_node($shape);
    $targets = array_fill(0, $nodes * $per, 0);
    if ($shape === 'pairs') {
        if ($nodes % 2 !== 0) fail("pairs needs an even node count, got $nodes");
        for ($i = 0; $i < $nodes; $i++) $targets[$i] = $i ^ 1;
    } elseif ($shape === 'ring') {
        for ($i = 0; $i < $nodes; $i++) $targets[$i] = ($i + 1) % $nodes;
    } else {
        // xorshift32 (shifts 13, 17, 5), inlined: this loop runs millions of times. $s stays in
        // [0, 2^32), so the shifted values fit a 64-bit int before the mask and >> is logical.
        $s = $seed & MASK;
        $order = range(0, $nodes - 1);
        for ($i = $nodes - 1; $i > 0; $i--) {
            $s ^= ($s << 13) & MASK;
            $s ^= $s >> 17;
            $s ^= ($s << 5) & MASK;
            $j = $s % ($i + 1);
            $t = $order[$i];
            $order[$i] = $order[$j];
            $order[$j] = $t;
        }
        for ($k = 0; $k < $nodes; $k++) $targets[$order[$k] * $per] = $order[($k + 1) % $nodes];
        for ($i = 0; $i < $nodes; $i++) {
            for ($e = 1; $e < $per; $e++) {
                $s ^= ($s << 13) & MASK;
                $s ^= $s >> 17;
                $s ^= ($s << 5) & MASK;
                $targets[$i * $per + $e] = $s % $nodes;
            }
        }
    }
    return $targets;
}

/** FNV-1a over the targets as 32-bit words, like bench/shapes.ts's edgeChecksum. */
function checksum(array $targets): int
{
    // $h < 2^32 and the prime < 2^25, so the product fits a 64-bit int before the mask.
    $h = 0x811C9DC5;
    foreach ($targets as $t) $h = (($h ^ ($t & MASK)) * 0x01000193) & MASK;
    return $h;
}

/**
 * Creates the graph and returns with no reference to it left: all of it is cyclic garbage, each
 * node buffered as a possible root when $graph is destroyed on return.
 */
function build_garbage(int $nodes, int $per, string $layout): void
{
    $graph = [];
    if ($layout === 'array') {
        for ($i = 0; $i < $nodes; $i++) $graph[] = new ListNode();
        $k = 0;
        for ($i = 0; $i < $nodes; $i++) {
            for ($e = 0; $e < $per; $e++) $graph[$i]->out[] = $graph[Edges::$targets[$k++]];
        }
    } elseif ($per === 1) {
        for ($i = 0; $i < $nodes; $i++) $graph[] = new Node1();
        for ($i = 0; $i < $nodes; $i++) $graph[$i]->a = $graph[Edges::$targets[$i]];
    } else {
        for ($i = 0; $i < $nodes; $i++) $graph[] = new Node4();
        for ($i = 0, $k = 0; $i < $nodes; $i++, $k += 4) {
            $graph[$i]->a = $graph[Edges::$targets[$k]];
            $graph[$i]->b = $graph[Edges::$targets[$k + 1]];
            $graph[$i]->c = $graph[Edges::$targets[$k + 2]];
            $graph[$i]->d = $graph[Edges::$targets[$k + 3]];
        }
    }
}

/** One full collection: [nanoseconds, garbage containers freed]. */
function timed_collect(): array
{
    $start = hrtime(true);
    $found = gc_collect_cycles();
    return [hrtime(true) - $start, $found];
}

/** The median, as Python's statistics.median: the mean of the middle two for an even count. */
function median(array $values): int|float
{
    sort($values);
    $n = count($values);
    $mid = intdiv($n, 2);
    return $n % 2 === 1 ? $values[$mid] : ($values[$mid - 1] + $values[$mid]) / 2;
}

/** A whole decimal number from the command line, or exit. */
function int_option(array $options, string $name, ?int $default): int
{
    if (!array_key_exists($name, $options)) {
        if ($default === null) fail("--$name is required");
        return $default;
    }
    $value = $options[$name];
    if (!is_string($value) || !preg_match('/^-?\d+$/', $value)) fail("--$name takes one integer");
    return (int) $value;
}

function main(): void
{
    if (PHP_INT_SIZE < 8) fail('needs 64-bit integers');
    if (version_compare(PHP_VERSION, '8.0.0', '<')) fail('needs PHP 8.0 or later, this is ' . PHP_VERSION);
    ini_set('memory_limit', '-1');

    $options = getopt('', ['shape:', 'nodes:', 'samples:', 'seed:', 'layout:']);
    if ($options === false) fail('bad arguments');
    $shape = $options['shape'] ?? null;
    if (!is_string($shape) || !in_array($shape, SHAPES, true)) fail('--shape must be one of ' . implode(', ', SHAPES));
    $layout = $options['layout'] ?? 'props';
    if (!is_string($layout) || !in_array($layout, LAYOUTS, true)) fail('--layout must be one of ' . implode(', ', LAYOUTS));
    $nodes = int_option($options, 'nodes', null);
    $samples = int_option($options, 'samples', 5);
    $seed = int_option($options, 'seed', DEFAULT_SEED);
    if ($nodes < 1) fail('--nodes must be positive');
    if ($samples < 1) fail('--samples must be positive');
    if (($seed & MASK) === 0) fail('xorshift32 needs a seed that is non-zero in its low 32 bits');

    gc_disable();
    $per = edges_per_node($shape);
    Edges::$targets = make_targets($shape, $nodes, $seed);
    gc_collect_cycles();
    $gross = $net = $baselines = $collected = $roots = [];
    for ($s = 0; $s < $samples; $s++) {
        $baseline = min(timed_collect()[0], timed_collect()[0], timed_collect()[0]);
        build_garbage($nodes, $per, $layout);
        $roots[] = gc_status()['roots'];
        [$elapsed, $found] = timed_collect();
        $gross[] = $elapsed / $nodes;
        $net[] = max(0, $elapsed - $baseline) / $nodes;
        $baselines[] = $baseline;
        $collected[] = $found;
    }

    echo json_encode([
        'shape' => $shape,
        'nodes' => $nodes,
        'edges' => count(Edges::$targets),
        'samples' => $samples,
        'ns_per_node' => median($gross),
        'ns_per_node_net' => median($net),
        'baseline_ns' => median($baselines),
        'collected' => min($collected),
        'checksum' => checksum(Edges::$targets),
        'php' => PHP_VERSION,
        'layout' => $layout,
        'roots' => max($roots),
    ], JSON_THROW_ON_ERROR), "\n";
}

main();
