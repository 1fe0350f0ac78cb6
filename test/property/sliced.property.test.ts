// Budgeted collection (collectCycles({ budget }), cycles/sliced.ts) with the heap changed between
// its slices, against a naive model: reachability from the handles the test still holds.
//
// Laws, after every step (verify() checks the slice invariant (I) and that nothing live reaches the
// garbage being freed):
//  - safety: every function the held handles reach (through references, by brute force over
//    heap.node) is alive, and verify() passes;
//  - completeness: once the sliced collection is done, one more whole collection leaves exactly
//    the reachable functions (DESIGN semantics 7);
//  - equivalence: with no change between slices, a sliced collection frees exactly what a whole
//    one frees on the same heap.

import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { CodeHeap, type Handle } from '../../src/index.js';
import { asm } from '../helpers/x86.js';

/** A function of the random graph: its name and the functions it calls (by index). */
interface Spec {
  calls: number[];
}

/** A step between two slices. */
type Step =
  | { op: 'drop'; pick: number }
  | { op: 'lookup'; pick: number }
  | { op: 'byName'; pick: number }
  | { op: 'define'; calls: number[] }
  | { op: 'pointer'; pick: number }
  | { op: 'redefine'; pick: number; calls: number[] }
  // A unit of a few functions calling each other and live ones, freed at once: the unload frees its
  // garbage in the middle of the collection. `held`: a lookup of that member is kept; `dropped`:
  // one is taken and dropped first, so the member is a candidate when it goes.
  | { op: 'module'; members: { calls: number[]; held: boolean; dropped: boolean }[] };

const specArb = fc.array(fc.record({ calls: fc.array(fc.nat(40), { maxLength: 3 }) }), { minLength: 2, maxLength: 40 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), pick: fc.nat(200) }),
  fc.record({ op: fc.constant('lookup' as const), pick: fc.nat(200) }),
  fc.record({ op: fc.constant('byName' as const), pick: fc.nat(40) }),
  fc.record({ op: fc.constant('define' as const), calls: fc.array(fc.nat(200), { maxLength: 3 }) }),
  fc.record({ op: fc.constant('pointer' as const), pick: fc.nat(200) }),
  fc.record({ op: fc.constant('redefine' as const), pick: fc.nat(200), calls: fc.array(fc.nat(200), { maxLength: 2 }) }),
  fc.record({
    op: fc.constant('module' as const),
    members: fc.array(fc.record({ calls: fc.array(fc.nat(200), { maxLength: 3 }), held: fc.boolean(), dropped: fc.boolean() }), { minLength: 1, maxLength: 6 }),
  }),
);

function body(targets: string[]): { code: Uint8Array; relocations: import('../../src/index.js').Relocation[] } {
  let a = asm();
  for (const t of targets) a = a.call(t);
  return a.ret().build();
}

class World {
  readonly heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 1 << 16, cycleThreshold: Infinity });
  /** Handles the test holds (lookup's, so that freeing one is an unannounced drop). */
  readonly held: Handle[] = [];
  private fresh = 0;
  private readonly size: number;

  /** The random graph as one unit, held through lookups; `keep` of them stay held, the rest are dropped. */
  constructor(specs: Spec[], keep: boolean[]) {
    const names = specs.map((_, i) => `f${i}`);
    this.size = names.length;
    const unit = this.heap.define({ functions: specs.map((s, i) => ({ name: names[i]!, ...body(s.calls.map((c) => names[c % names.length]!)) })) });
    const lookups = names.map((n) => this.heap.lookup(n));
    unit.free();
    lookups.forEach((h, i) => (keep[i % keep.length] ? this.held.push(h) : h.free()));
  }

  /** Live function names, as the heap answers for them. */
  liveNames(): string[] {
    const names: string[] = [];
    for (const h of this.held) if (!h.freed && h.kind === 'function') names.push(h.name);
    return names;
  }

  apply(step: Step): void {
    const { heap, held } = this;
    const unfreed = held.filter((h) => !h.freed);
    const pick = <T>(list: T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
    if (step.op === 'drop') pick(unfreed, step.pick)?.free();
    else if (step.op === 'lookup') {
      // A name reached through a held function's references: it must still be found.
      const from = pick(unfreed.filter((h) => h.kind === 'function'), step.pick);
      const name = from === undefined ? undefined : pick(heap.node(from)!.references.filter((r) => !r.startsWith('stub(')), step.pick);
      if (name !== undefined) held.push(heap.lookup(name));
    } else if (step.op === 'byName') {
      // Any name of the graph: garbage is not found (freed, or being freed), anything else is held.
      try {
        held.push(heap.lookup(`f${step.pick % this.size}`));
      } catch (error) {
        expect((error as { code?: string }).code).toBe('UNDEFINED_SYMBOL');
      }
    } else if (step.op === 'define') {
      const live = reachable(this);
      const targets = step.calls.map((c) => pick(live, c)).filter((n): n is string => n !== undefined);
      const name = `g${this.fresh++}`;
      const unit = heap.define({ functions: [{ name, ...body(targets) }] });
      held.push(heap.lookup(name));
      unit.free();
    } else if (step.op === 'module') {
      // Calls below 100 go to members (cycles among them), the others to live functions.
      const live = reachable(this);
      const first = this.fresh;
      this.fresh += step.members.length;
      const names = step.members.map((_, j) => `g${first + j}`);
      const unit = heap.define({
        functions: step.members.map((m, j) => ({
          name: names[j]!,
          ...body(m.calls.map((c) => (c < 100 ? names[c % names.length] : pick(live, c))).filter((n): n is string => n !== undefined)),
        })),
      });
      step.members.forEach((m, j) => {
        if (m.dropped) heap.lookup(names[j]!).free();
        if (m.held) held.push(heap.lookup(names[j]!));
      });
      unit.free();
    } else if (step.op === 'pointer') {
      const fn = pick(unfreed.filter((h) => h.kind === 'function'), step.pick);
      if (fn !== undefined) held.push(heap.pointer(fn));
    } else {
      const fn = pick(unfreed.filter((h) => h.kind === 'function'), step.pick);
      const live = reachable(this);
      if (fn !== undefined) heap.redefine(fn, body(step.calls.map((c) => pick(live, c)).filter((n): n is string => n !== undefined)));
    }
  }
}

/** The functions the held handles reach, by brute force over heap.node (the naive model). */
function reachable(world: World): string[] {
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const h of world.held) {
    if (h.freed) continue;
    const name = h.kind === 'stub' ? world.heap.node(h)!.references[0]! : h.name;
    if (!seen.has(name)) {
      seen.add(name);
      stack.push(name);
    }
  }
  while (stack.length > 0) {
    const info = world.heap.node(stack.pop()!);
    expect(info, 'a reachable function is alive and found by name').toBeDefined();
    for (const ref of info!.references) {
      const name = ref.startsWith('stub(') ? ref.slice(5, -1) : ref;
      if (!seen.has(name)) {
        seen.add(name);
        stack.push(name);
      }
    }
  }
  return [...seen].sort();
}

function functionsAlive(heap: CodeHeap): number {
  return heap.stats().nodes.functions;
}

test.prop([specArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), fc.array(stepArb, { maxLength: 30 }), fc.integer({ min: 1, max: 40 })], { numRuns: 150 })(
  'a sliced collection with the heap changed between slices frees only garbage, and one more collection leaves exactly what is reachable',
  (specs, keep, steps, work) => {
    const world = new World(specs, keep);
    const { heap } = world;
    let done = false;
    let i = 0;
    while (!done) {
      done = heap.collectCycles({ budget: { work } }).done !== false;
      heap.verify();
      reachable(world);
      if (i < steps.length) world.apply(steps[i++]!);
      heap.verify();
      reachable(world);
    }
    heap.collectCycles();
    heap.verify();
    expect(functionsAlive(heap)).toBe(reachable(world).length);
  },
);

test.prop([specArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 40 })], { numRuns: 100 })(
  'with no change between slices, a sliced collection frees what a whole collection frees',
  (specs, keep, work) => {
    const sliced = new World(specs, keep);
    const whole = new World(specs, keep);
    let freed = 0;
    for (let done = false; !done;) {
      const result = sliced.heap.collectCycles({ budget: { work } });
      freed += result.freed;
      done = result.done !== false;
      sliced.heap.verify();
    }
    expect(freed).toBe(whole.heap.collectCycles().freed);
    expect(sliced.heap.stats().nodes).toEqual(whole.heap.stats().nodes);
  },
);
