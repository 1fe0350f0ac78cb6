#!/usr/bin/env python3
"""CPython's cycle collector on the garbage shapes of bench/cycles.bench.ts.

Builds one shape with plain Python objects, drops every reference to it, and times one
gc.collect() that finds and frees it all. Each node is a list holding its out-edges (lists are
tracked by the collector, so every node is a container it must traverse); nothing else refers
to the nodes once the builder returns, so the whole graph is cyclic garbage.

The graph is the one bench/shapes.ts builds for the same (shape, nodes, seed): the same xorshift32
sequence drawn in the same order. The printed checksum (FNV-1a over the edge targets) lets the
caller check that both sides built the same edges.

Automatic collection is off from the start (gc.disable()), so the collection timed is the one
we ask for, and the objects are still in the youngest generation, as a fresh program's would be.
The interpreter's own objects (modules, functions: about 12,000) are moved to the permanent
generation with gc.freeze() before building, so gc.collect() traverses only the graph, as
codeheap's collector does; what remains of a collection's fixed cost is timed on an empty heap
(`baseline_ns`) and subtracted in `ns_per_node_net`.

Usage: python3 bench/python/gc_shapes.py --shape ring --nodes 100000 [--samples 5] [--seed N]
Prints one JSON object: shape, nodes, edges, samples, ns_per_node (median, gross),
ns_per_node_net (median, baseline subtracted), baseline_ns, collected, checksum, python.
"""

import argparse
import gc
import json
import platform
import statistics
import time
from array import array

MASK = 0xFFFFFFFF
DEFAULT_SEED = 0x2545F491
SHAPES = ("pairs", "ring", "random4")


def edges_per_node(shape):
    return 4 if shape == "random4" else 1


def make_targets(shape, nodes, seed):
    """Edge targets, node i's at [i * per, (i + 1) * per): bench/shapes.ts's makeGraph."""
    per = edges_per_node(shape)
    targets = array("i", bytes(4 * nodes * per))
    if shape == "pairs":
        if nodes % 2 != 0:
            raise SystemExit(f"pairs needs an even node count, got {nodes}")
        for i in range(nodes):
            targets[i] = i ^ 1
    elif shape == "ring":
        for i in range(nodes):
            targets[i] = (i + 1) % nodes
    else:
        # xorshift32 (shifts 13, 17, 5), inlined: this loop runs millions of times.
        s = seed & MASK
        order = array("i", range(nodes))
        for i in range(nodes - 1, 0, -1):
            s ^= (s << 13) & MASK
            s ^= s >> 17
            s ^= (s << 5) & MASK
            j = s % (i + 1)
            order[i], order[j] = order[j], order[i]
        for k in range(nodes):
            targets[order[k] * per] = order[(k + 1) % nodes]
        for i in range(nodes):
            for e in range(1, per):
                s ^= (s << 13) & MASK
                s ^= s >> 17
                s ^= (s << 5) & MASK
                targets[i * per + e] = s % nodes
    return per, targets


def checksum(targets):
    """FNV-1a over the targets as 32-bit words, like bench/shapes.ts's edgeChecksum."""
    h = 0x811C9DC5
    for t in targets:
        h = ((h ^ (t & MASK)) * 0x01000193) & MASK
    return h


def build_garbage(nodes, per, targets):
    """Creates the graph and returns with no reference to it left: all of it is cyclic garbage."""
    graph = [[] for _ in range(nodes)]
    k = 0
    for node in graph:
        for _ in range(per):
            node.append(graph[targets[k]])
            k += 1


def timed_collect():
    """One full collection: (nanoseconds, unreachable objects found)."""
    start = time.perf_counter_ns()
    found = gc.collect()
    return time.perf_counter_ns() - start, found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=SHAPES, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()

    gc.disable()
    per, targets = make_targets(args.shape, args.nodes, args.seed)
    gc.collect()
    gc.freeze()
    gross, net, baselines, collected = [], [], [], []
    for _ in range(args.samples):
        baseline = min(timed_collect()[0] for _ in range(3))
        build_garbage(args.nodes, per, targets)
        elapsed, found = timed_collect()
        gross.append(elapsed / args.nodes)
        net.append(max(0, elapsed - baseline) / args.nodes)
        baselines.append(baseline)
        collected.append(found)

    print(json.dumps({
        "shape": args.shape,
        "nodes": args.nodes,
        "edges": len(targets),
        "samples": args.samples,
        "ns_per_node": statistics.median(gross),
        "ns_per_node_net": statistics.median(net),
        "baseline_ns": statistics.median(baselines),
        "collected": min(collected),
        "checksum": checksum(targets),
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
