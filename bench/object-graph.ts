// The object-per-node baseline: reference counting with Bacon & Rajan's synchronous cycle
// collector, written the way a JavaScript developer would write it first.
//
// Bacon & Rajan, "Concurrent Cycle Collection in Reference Counted Systems", ECOOP 2001,
// section 3 (the synchronous algorithm), followed line by line: Increment, Decrement, Release,
// PossibleRoot, and CollectCycles as MarkRoots / ScanRoots / CollectRoots over MarkGray, Scan,
// ScanBlack and CollectWhite. Each node is a JS object with a Map of its edges (target to
// multiplicity), and every traversal is RECURSIVE, as in the paper.
//
// Why it exists: bench/object-graph.bench.ts measures it on the same graphs as codeheap's
// collector (bench/cycles.bench.ts), as the thing codeheap is compared against, and finds the
// depth of graph at which its recursion overflows the JavaScript stack. It is deliberately naive
// and is not part of the library: codeheap keeps its nodes and sites in typed arrays and never
// recurses over the graph (src/cycles/collect.ts uses explicit worklists), so it has no such
// depth limit. Nothing here is tuned; making it faster or iterative would defeat its purpose.
//
// Freeing a node only drops it: it leaves the candidate buffer and its edges are cleared, and the
// JavaScript collector takes the object. There is no arena and no id to give back.

/**
 * The paper's colors (Table 1, less green: every node here may have edges, so none is known to
 * be acyclic).
 *  black   in use, or free
 *  gray    possible member of a garbage cycle (during markGray)
 *  white   member of a garbage cycle (after scan)
 *  purple  candidate root of a garbage cycle (its count was decremented to a non-zero value)
 */
export type Color = 'black' | 'gray' | 'white' | 'purple';

export class ObjectNode {
  /** References to this node: edges into it (with their multiplicity) plus retains. */
  rc = 0;
  color: Color = 'black';
  /** True while the node is in the candidate buffer (the paper's buffered flag). */
  buffered = false;
  /** Outgoing edges: target to the number of edges from this node to it. */
  readonly edges = new Map<ObjectNode, number>();
  /** Set once the node is freed (by counting or by the collector); for tests and checks only. */
  freed = false;
}

export interface ObjectCollection {
  /** Nodes this collectCycles() freed. */
  readonly freed: number;
}

/** One reference-counted object graph: its candidate buffer and its counters. */
export class ObjectGraph {
  /** The paper's Roots: the candidate buffer. */
  private roots: ObjectNode[] = [];
  /** Nodes freed so far, by counting and by the collector. */
  freedCount = 0;

  /** An edge from -> to (edges may repeat: the multiplicity grows). Counts as a reference to `to`. */
  addEdge(from: ObjectNode, to: ObjectNode): void {
    from.edges.set(to, (from.edges.get(to) ?? 0) + 1);
    this.increment(to);
  }

  /** An external reference (a root) to the node. */
  retain(node: ObjectNode): void {
    this.increment(node);
  }

  /** Drops an external reference taken by retain(). */
  release(node: ObjectNode): void {
    this.decrement(node, 1);
  }

  /** The candidates waiting for the next collection. */
  get candidates(): number {
    return this.roots.length;
  }

  /** CollectCycles: the three phases of the paper, in order. */
  collectCycles(): ObjectCollection {
    const before = this.freedCount;
    this.markRoots();
    this.scanRoots();
    this.collectRoots();
    return { freed: this.freedCount - before };
  }

  private increment(node: ObjectNode): void {
    node.rc++;
    node.color = 'black';
  }

  /** Decrement, for `count` references at once (an edge of multiplicity `count` going away). */
  private decrement(node: ObjectNode, count: number): void {
    node.rc -= count;
    if (node.rc === 0) this.releaseNode(node);
    else this.possibleRoot(node);
  }

  /** Release: a node whose count reached zero drops its edges, then is freed unless buffered. */
  private releaseNode(node: ObjectNode): void {
    for (const [child, count] of node.edges) this.decrement(child, count);
    node.edges.clear();
    node.color = 'black';
    // A buffered node stays in the buffer until markRoots frees it.
    if (!node.buffered) this.free(node);
  }

  private possibleRoot(node: ObjectNode): void {
    if (node.color !== 'purple') {
      node.color = 'purple';
      if (!node.buffered) {
        node.buffered = true;
        this.roots.push(node);
      }
    }
  }

  /**
   * MarkRoots: gray what each purple root reaches, subtracting internal edges; drop every other
   * buffered node, freeing those released to zero while buffered.
   */
  private markRoots(): void {
    const kept: ObjectNode[] = [];
    for (const node of this.roots) {
      if (node.color === 'purple' && node.rc > 0) {
        this.markGray(node);
        kept.push(node);
      } else {
        node.buffered = false;
        if (node.color === 'black' && node.rc === 0) this.free(node);
      }
    }
    this.roots = kept;
  }

  private markGray(node: ObjectNode): void {
    if (node.color !== 'gray') {
      node.color = 'gray';
      for (const [child, count] of node.edges) {
        child.rc -= count;
        this.markGray(child);
      }
    }
  }

  private scanRoots(): void {
    for (const node of this.roots) this.scan(node);
  }

  /** Scan: a gray node still referenced from outside is live; at zero it is white. */
  private scan(node: ObjectNode): void {
    if (node.color === 'gray') {
      if (node.rc > 0) {
        this.scanBlack(node);
      } else {
        node.color = 'white';
        for (const child of node.edges.keys()) this.scan(child);
      }
    }
  }

  /** ScanBlack: restore the counts markGray subtracted below a live node. */
  private scanBlack(node: ObjectNode): void {
    node.color = 'black';
    for (const [child, count] of node.edges) {
      child.rc += count;
      if (child.color !== 'black') this.scanBlack(child);
    }
  }

  private collectRoots(): void {
    const roots = this.roots;
    this.roots = [];
    for (const node of roots) {
      node.buffered = false;
      this.collectWhite(node);
    }
  }

  /**
   * CollectWhite: free every white node. Nothing is decremented: markGray already took the
   * counts of the garbage's edges, including those to live nodes.
   */
  private collectWhite(node: ObjectNode): void {
    if (node.color === 'white' && !node.buffered) {
      node.color = 'black';
      for (const child of node.edges.keys()) this.collectWhite(child);
      this.free(node);
    }
  }

  private free(node: ObjectNode): void {
    node.edges.clear();
    node.freed = true;
    this.freedCount++;
  }
}
