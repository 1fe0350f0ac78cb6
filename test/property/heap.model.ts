// The reference model of the code heap, for the model-based suite (heap.property.test.ts).
//
// Deliberately naive, so that it cannot share a bug with src/: a plain list of nodes, each with
// the outgoing sites of its current body, and counts recomputed by brute force from scratch every
// time they are needed: rc(n) = sites targeting n among live nodes' current and retired bodies
// (a function's stub contributes its slot site) + unfreed handles on n + unreleased pins on n.
// Reclamation is the definition itself: while some live node counts 0, it dies. Nodes on garbage
// cycles keep counts > 0 and stay until the heap runs a collection; the model's collection is the
// definition of completeness (semantics 7): mark everything reachable from a handle or a pin, and
// every live node left unmarked dies.
//
// The model decides what is referenced and counted; it cannot know where the allocator places
// things, so addresses start unknown and are learned from the heap once, right after the call that
// placed them (node(name).address, NodeInfo.stub.address, or the decoded bytes of the first site
// that reaches an external's stub). From then on the suite checks that they never change while
// the node lives, and that every site's bytes encode them.

import type { GlobalDefinition, FunctionDefinition, Relocation, RelocationType } from '../../src/index.js';
import { FIELD_WIDTH, fitsField, isPcRelative, relocationValue } from './laws.js';

/** Where the arenas are: the default placement, data right after code. */
export interface Layout {
  readonly codeAddress: number;
  readonly codeSize: number;
  readonly dataAddress: number;
  readonly dataSize: number;
}

export const CODE_ADDRESS = 0x4000_0000;

export function defaultLayout(codeSize: number, dataSize: number): Layout {
  return { codeAddress: CODE_ADDRESS, codeSize, dataAddress: CODE_ADDRESS + codeSize, dataSize };
}

/** Symbols outside the heap: one within rel32 reach of every heap address, two far beyond it. */
export const EXTERNALS: ReadonlyMap<string, number> = new Map([
  ['near_helper', 0x4800_0000],
  ['far_libc', 0x7fff_0000_0000],
  ['far_runtime', 0x7fff_1234_5000],
]);
export const EXTERNAL_NAMES = [...EXTERNALS.keys()];
export const FAR_EXTERNAL = 'far_libc';

export function isFar(external: string): boolean {
  return external !== 'near_helper';
}

/** A symbol nobody defines: UNDEFINED_SYMBOL. */
export const NO_SUCH_SYMBOL = 'no_such_symbol';

/** The value an R_X86_64_32S edge site holds (RefSpec.edge). */
const EDGE_32S = 0x7fff_ffff;
/** Edge addends are at least this large; ordinary generated addends are tiny. */
const EDGE_ADDEND = 0x1000_0000;

/** A site of a model body: where it is, how it is computed, and what it counts on. */
export interface MSite {
  readonly offset: number;
  readonly type: RelocationType;
  readonly addend: number;
  readonly symbol: string;
  /** The counted target (function body, global or stub), or undefined for a direct external. */
  readonly target: MNode | undefined;
  /** S of a direct reference to an external. */
  readonly external: number | undefined;
}

/** A function body or a global's bytes, with the sites in them. */
export class MBody {
  /** Learned from the heap after the call that placed it; kept after the body is retired. */
  address: number | undefined = undefined;
  /** NodeInfo.size while it was current (the block the allocator gave it). */
  blockSize: number | undefined = undefined;

  constructor(
    /** Its bytes as defined (a global's zero-padded to its size); sites overwrite their fields. */
    readonly bytes: Uint8Array,
    readonly sites: readonly MSite[],
  ) {}
}

export type MKind = 'function' | 'global' | 'stub';

export class MNode {
  alive = true;
  handles = 0;
  pins = 0;
  /** A function's current body (undefined: lazy), or a global's bytes. */
  body: MBody | undefined = undefined;
  /** A lazy function's reentry trampoline, learned. */
  trampoline: number | undefined = undefined;
  /** A function's canonical stub while it exists. */
  stub: MNode | undefined = undefined;
  /** A function with its own compile callback: materialize must call that one, not the heap's. */
  ownCompile = false;
  /** A stub's code address and pointer slot, learned. */
  stubAddress: number | undefined = undefined;
  slotAddress: number | undefined = undefined;

  constructor(
    readonly kind: MKind,
    /** The name the heap reports: f, g, stub(f), stub(extern printf). */
    readonly name: string,
    /** A function stub's function. */
    readonly of: MNode | undefined,
    /** An external stub's symbol and address. */
    readonly external: { readonly name: string; readonly address: number } | undefined,
  ) {}

  get lazy(): boolean {
    return this.kind === 'function' && this.body === undefined;
  }

  /** Where references to it point, once learned. */
  get address(): number | undefined {
    if (this.kind === 'stub') return this.stubAddress;
    return this.body === undefined ? this.trampoline : this.body.address;
  }
}

export interface MHandle {
  readonly node: MNode;
  freed: boolean;
  /** define()'s handles share their unit: the last of them to go unloads it (semantics 10). */
  unit?: readonly MHandle[];
}

export interface MPin {
  readonly node: MNode;
  /** The body current when the pin was taken; undefined on a lazy function, global or stub. */
  readonly body: MBody | undefined;
  released: boolean;
}

/** A source of sites: a live function's or global's current body, or a retired body. */
export interface MSource {
  /** The name NodeInfo.referrers reports for it. */
  readonly name: string;
  readonly owner: MNode;
  readonly body: MBody;
}

// ---- specs: what the arbitraries generate, resolved against the model when a command runs ----

export type Via = 'none' | 'body' | 'stub';

export type TargetSpec =
  | { readonly t: 'unit'; readonly index: number }
  | { readonly t: 'live'; readonly pick: number }
  | { readonly t: 'extern'; readonly which: number };

export interface RefSpec {
  readonly type: RelocationType;
  readonly via: Via;
  readonly addend: number;
  readonly target: TargetSpec;
  /** Shifts a 4-byte field within its 8-byte slot, so fields are not always aligned. */
  readonly jitter: number;
  /** An R_X86_64_64's addend instead of `addend`: large, often negative (two's complement). */
  readonly wide: number | null;
  /**
   * For a live target: an absolute 32-bit body reference whose value sits exactly at the edge of
   * its field (R_X86_64_32: S + A = 0; R_X86_64_32S: S + A = 2^31 - 1), so that moving the target
   * one way later does not fit: evict, redefine and materialize must then refuse, changing nothing.
   */
  readonly edge: boolean;
}

export interface SymbolSpec {
  readonly global: boolean;
  readonly refs: readonly RefSpec[];
  readonly extra: number;
  readonly fill: number;
  /** A global given by `size` only (zero-filled). */
  readonly zeroFill: boolean;
  /** Reuse the name of a dead symbol, when there is one (picked by this number). */
  readonly reuse: number | null;
  readonly align: number | null;
  /** A function with its own compile callback (FunctionDefinition.compile), not the heap's. */
  readonly ownCompile: boolean;
}

/** A replacement body (redefine, compile callback). Its 'unit' targets mean the function itself. */
export interface BodySpec {
  readonly refs: readonly RefSpec[];
  readonly extra: number;
  readonly fill: number;
}

/** One thing wrong with an otherwise valid unit or body, and the error it must cause. */
export type Defect =
  | { readonly d: 'undefined'; readonly at: number }
  | { readonly d: 'bounds'; readonly at: number; readonly over: number; readonly type: RelocationType }
  | { readonly d: 'range'; readonly at: number; readonly variant: number; readonly pick: number }
  | { readonly d: 'tooLarge'; readonly global: boolean }
  | { readonly d: 'empty' }
  | { readonly d: 'overlap'; readonly at: number }
  | { readonly d: 'badField'; readonly at: number; readonly variant: number }
  | { readonly d: 'badAlign'; readonly at: number }
  | { readonly d: 'dupUnit'; readonly at: number; readonly global: boolean }
  | { readonly d: 'dupLive'; readonly at: number; readonly pick: number };

export type DefectCode =
  | 'UNDEFINED_SYMBOL' | 'RELOCATION_OUT_OF_BOUNDS' | 'RELOCATION_OUT_OF_RANGE' | 'OUT_OF_MEMORY'
  | 'INVALID_ARGUMENT' | 'DUPLICATE_SYMBOL';

/**
 * Where in a linking call a defect is caught, in the order the heap checks:
 *   shape  the definitions themselves (empty code, alignment, a name twice in one unit)
 *   fresh  names still live after one collection (define, declare)
 *   plan   relocations: symbols, bounds, overlap
 *   place  allocation (a collection first, then OUT_OF_MEMORY)
 *   check  relocation values at their final addresses
 */
export type Stage = 'shape' | 'fresh' | 'plan' | 'place' | 'check';

export interface Failure {
  readonly code: DefectCode;
  readonly stage: Stage;
}

/** A symbol of a unit as handed to the heap, with what the model needs to mirror it. */
export interface BuiltSymbol {
  readonly name: string;
  readonly kind: 'function' | 'global';
  /** The bytes the model expects in the node (a global's padded to its size). */
  readonly bytes: Uint8Array;
  readonly relocations: Relocation[];
  readonly definition: FunctionDefinition | GlobalDefinition;
  /** Give it the suite's per-function compile callback (functions only). */
  readonly ownCompile: boolean;
}

/** Heap symbols a list of relocations resolves by name (not the unit's own, not externals). */
export function usedSymbols(relocations: readonly Relocation[], own: readonly string[]): string[] {
  return relocations.map((r) => r.symbol).filter((s) => s !== '' && !own.includes(s) && !EXTERNALS.has(s) && s !== NO_SUCH_SYMBOL);
}

/** A relocation with one malformed field (DESIGN: INVALID_ARGUMENT), otherwise fine. */
function badField(offset: number, variant: number): Relocation {
  const valid = { offset, type: 'R_X86_64_32', symbol: 'near_helper' };
  const bad: Record<string, unknown>[] = [
    { offset: offset + 0.5 },
    { offset: -8 },
    { addend: 2 ** 53 },
    { addend: Number.NaN },
    { type: 'R_X86_64_GOTPCREL' },
    { via: 'plt' },
    { symbol: '' },
  ];
  return { ...valid, ...bad[variant % bad.length] } as unknown as Relocation;
}

export interface BuiltUnit {
  readonly symbols: BuiltSymbol[];
  /** For an invalid unit: the error it must raise, and the stage that raises it. */
  readonly failure: Failure | undefined;
}

export interface BuiltBody {
  readonly code: Uint8Array;
  readonly relocations: Relocation[];
  readonly align: number | undefined;
  readonly failure: Failure | undefined;
}

function pattern(length: number, fill: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (fill + i * 7) & 0xff;
  return bytes;
}

/** Does a call to an external at `address` reach it with rel32 from anywhere in the heap? */
/** The addend of a stub reference: the usual -4 for a PC-relative field in code, else 0. */
export function stubAddend(type: RelocationType, source: 'function' | 'global'): number {
  return isPcRelative(type) && source === 'function' ? -4 : 0;
}

function externalCallFits(layout: Layout, type: RelocationType, address: number, addend: number): boolean {
  const low = fitsField(type, relocationValue(type, address, addend, layout.codeAddress));
  const high = fitsField(type, relocationValue(type, address, addend, layout.dataAddress + layout.dataSize));
  if (low !== high) throw new Error(`model: whether ${type} reaches 0x${address.toString(16)} depends on P; pick other externals`);
  return low;
}

export class Model {
  /** Every node ever created, alive or dead, in creation order. */
  readonly nodes: MNode[] = [];
  readonly handles: MHandle[] = [];
  readonly pins: MPin[] = [];
  readonly externStubs = new Map<string, MNode>();
  /** Every function or global name ever used or tried, so node() can be asked about all of them. */
  readonly knownNames = new Set<string>();
  freedByRc = 0;
  freedByCycles = 0;
  patches = 0;
  collections = 0;
  #serial = 0;

  constructor(
    readonly layout: Layout,
    /** Bytes of padding per unit of a spec's `extra`: large to fill small arenas quickly. */
    readonly padding = 1,
  ) {}

  // ---- lookups ----

  /** The live function or global named name. */
  symbol(name: string): MNode | undefined {
    return this.nodes.find((n) => n.alive && n.kind !== 'stub' && n.name === name);
  }

  aliveSymbols(): MNode[] {
    return this.nodes.filter((n) => n.alive && n.kind !== 'stub');
  }

  aliveNodes(): MNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  deadNames(): string[] {
    const alive = new Set(this.aliveSymbols().map((n) => n.name));
    return [...this.knownNames].filter((name) => !alive.has(name));
  }

  freshName(prefix: 'f' | 'g'): string {
    const name = `${prefix}${this.#serial++}`;
    this.knownNames.add(name);
    return name;
  }

  /** Bodies that a pin holds after they stopped being current, with their function. */
  retiredBodies(): { fn: MNode; body: MBody }[] {
    const seen = new Set<MBody>();
    const result: { fn: MNode; body: MBody }[] = [];
    for (const pin of this.pins) {
      if (pin.released || pin.body === undefined || pin.body === pin.node.body || seen.has(pin.body)) continue;
      seen.add(pin.body);
      result.push({ fn: pin.node, body: pin.body });
    }
    return result;
  }

  /** Every body whose sites are counted: live functions' and globals' current ones, and retired ones. */
  sources(): MSource[] {
    const result: MSource[] = [];
    for (const n of this.nodes) {
      if (n.alive && n.kind !== 'stub' && n.body !== undefined) result.push({ name: n.name, owner: n, body: n.body });
    }
    for (const { fn, body } of this.retiredBodies()) result.push({ name: `${fn.name} (retired)`, owner: fn, body });
    return result;
  }

  /** rc of every live node, by brute force over all sources, handles and pins. */
  counts(): Map<MNode, number> {
    const counts = new Map<MNode, number>();
    for (const n of this.nodes) if (n.alive) counts.set(n, n.handles + n.pins);
    for (const source of this.sources()) {
      for (const site of source.body.sites) {
        if (site.target !== undefined) counts.set(site.target, (counts.get(site.target) ?? 0) + 1);
      }
    }
    for (const n of this.nodes) {
      if (n.alive && n.kind === 'stub' && n.of !== undefined) counts.set(n.of, (counts.get(n.of) ?? 0) + 1);
    }
    return counts;
  }

  rc(n: MNode): number {
    return this.counts().get(n) ?? 0;
  }

  /** Whether moving fn's body may push an edge site (RefSpec.edge) out of its field. */
  mayOverflowOnMove(fn: MNode): boolean {
    return this.sources().some((source) => source.body.sites.some((s) => s.target === fn
      && (s.type === 'R_X86_64_32' || s.type === 'R_X86_64_32S') && Math.abs(s.addend) >= EDGE_ADDEND));
  }

  /** Sites targeting n (its stub's slot included): what backpatching n rewrites. */
  incoming(n: MNode): number {
    return this.rc(n) - n.handles - n.pins;
  }

  referrers(n: MNode): string[] {
    const names: string[] = [];
    for (const source of this.sources()) {
      if (source.body.sites.some((s) => s.target === n)) names.push(source.name);
    }
    if (n.kind === 'function' && n.stub !== undefined) names.push(n.stub.name);
    return [...new Set(names.sort())];
  }

  references(n: MNode): string[] {
    if (n.kind === 'stub') return n.of === undefined ? [] : [n.of.name];
    if (n.body === undefined) return [];
    const sorted = [...n.body.sites].sort((a, b) => a.offset - b.offset);
    return [...new Set(sorted.flatMap((s) => (s.target === undefined ? [] : [s.target.name])))];
  }

  /** Reclamation by definition: while some live node counts 0, it dies (and its sites with it). */
  reclaim(byCycles = false): number {
    let freed = 0;
    for (;;) {
      const counts = this.counts();
      const dead = this.nodes.filter((n) => n.alive && (counts.get(n) ?? 0) === 0);
      if (dead.length === 0) return freed;
      for (const n of dead) this.#kill(n);
      freed += dead.length;
      if (byCycles) this.freedByCycles += dead.length;
      else this.freedByRc += dead.length;
    }
  }

  /**
   * heap.unload, by definition: the handles go (and what counting frees), then the set S of their
   * nodes, and of every unit whose last handle was among them, is unloaded (#unloadSet).
   * Returns how many nodes died in all.
   */
  unload(handles: readonly MHandle[]): number {
    const before = this.freedByRc + this.freedByCycles;
    const nodes: MNode[] = [];
    for (const h of handles) {
      if (h.freed) continue;
      h.freed = true;
      h.node.handles--;
      nodes.push(h.node);
      if (h.unit !== undefined && h.unit.every((u) => u.freed)) nodes.push(...h.unit.map((u) => u.node));
    }
    this.reclaim();
    this.#unloadSet(nodes);
    return this.freedByRc + this.freedByCycles - before;
  }

  /**
   * Of the set S of these nodes (those alive) and their functions' stubs, every node that neither
   * a handle or pin, nor a node outside S (a retired body included), reaches through S dies, with
   * what only it held.
   */
  #unloadSet(nodes: readonly MNode[]): void {
    const set = new Set(nodes.filter((n) => n.alive));
    for (const n of [...set]) if (n.kind === 'function' && n.stub !== undefined && n.stub.alive) set.add(n.stub);
    const edges = (n: MNode): (MNode | undefined)[] => (n.kind === 'stub' ? [n.of] : (n.body?.sites ?? []).map((s) => s.target));
    const live = new Set<MNode>();
    const stack: MNode[] = [];
    const visit = (n: MNode | undefined): void => {
      if (n !== undefined && set.has(n) && !live.has(n)) {
        live.add(n);
        stack.push(n);
      }
    };
    for (const n of set) if (n.handles + n.pins > 0) visit(n);
    for (const n of this.nodes) if (n.alive && !set.has(n)) for (const t of edges(n)) visit(t);
    for (const { body } of this.retiredBodies()) for (const site of body.sites) visit(site.target);
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) for (const t of edges(n)) visit(t);
    const dead = [...set].filter((n) => !live.has(n));
    for (const n of dead) this.#kill(n);
    this.freedByCycles += dead.length;
    this.reclaim(true);
  }

  #kill(n: MNode): void {
    n.alive = false;
    if (n.kind === 'stub') {
      if (n.of !== undefined && n.of.stub === n) n.of.stub = undefined;
      if (n.external !== undefined) this.externStubs.delete(n.external.name);
    }
  }

  /**
   * A collection, by definition: every live node that no handle or pin reaches (through sites and
   * stub slots, retired bodies included) dies. `held` are roots for this collection only: the
   * symbols a linking call names while it collects before retrying. Returns how many died.
   */
  collect(held: readonly MNode[] = []): number {
    this.collections++;
    const marked = new Set<MNode>();
    const stack: MNode[] = [];
    const visit = (n: MNode | undefined): void => {
      if (n !== undefined && n.alive && !marked.has(n)) {
        marked.add(n);
        stack.push(n);
      }
    };
    for (const n of this.nodes) if (n.alive && n.handles + n.pins > 0) visit(n);
    for (const n of held) visit(n);
    for (const { body } of this.retiredBodies()) for (const site of body.sites) visit(site.target);
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      if (n.kind === 'stub') visit(n.of);
      else for (const site of n.body?.sites ?? []) visit(site.target);
    }
    const dead = this.nodes.filter((n) => n.alive && !marked.has(n));
    for (const n of dead) this.#kill(n);
    this.freedByCycles += dead.length;
    return dead.length;
  }

  // ---- building units and bodies from specs ----

  /** A valid unit (or one with exactly the defect given), with fresh or reused dead names. */
  buildUnit(specs: readonly SymbolSpec[], defect: Defect | undefined): BuiltUnit {
    const dead = this.deadNames();
    const names: string[] = [];
    for (const spec of specs) {
      const reusable = dead.filter((d) => !names.includes(d));
      const name = spec.reuse !== null && reusable.length > 0
        ? reusable[spec.reuse % reusable.length]!
        : this.freshName(spec.global ? 'g' : 'f');
      names.push(name);
    }
    const kinds = specs.map((s) => (s.global ? 'global' : 'function') as 'global' | 'function');
    const extraRefs: Relocation[][] = specs.map(() => []);
    const sizes: (number | undefined)[] = specs.map(() => undefined);
    const aligns: (number | null)[] = specs.map((s) => s.align);
    let failure: BuiltUnit['failure'];
    const at = (i: number): number => i % specs.length;
    const extraSymbols: { name: string; kind: 'function' | 'global'; size: number }[] = [];
    if (defect !== undefined) {
      switch (defect.d) {
        case 'dupLive': {
          const live = this.aliveSymbols();
          if (live.length > 0) {
            names[at(defect.at)] = live[defect.pick % live.length]!.name;
            failure = { code: 'DUPLICATE_SYMBOL', stage: 'fresh' };
            break;
          }
          extraRefs[at(defect.at)]!.push({ offset: 0, type: 'R_X86_64_64', symbol: NO_SUCH_SYMBOL });
          failure = { code: 'UNDEFINED_SYMBOL', stage: 'plan' };
          break;
        }
        case 'dupUnit': {
          const name = names[at(defect.at)]!;
          extraSymbols.push({ name, kind: defect.global ? 'global' : 'function', size: 8 });
          failure = { code: 'DUPLICATE_SYMBOL', stage: 'shape' };
          break;
        }
        case 'tooLarge':
          extraSymbols.push({
            name: this.freshName(defect.global ? 'g' : 'f'),
            kind: defect.global ? 'global' : 'function',
            size: (defect.global ? this.layout.dataSize : this.layout.codeSize) + 16,
          });
          failure = { code: 'OUT_OF_MEMORY', stage: 'place' };
          break;
        case 'empty':
          extraSymbols.push({ name: this.freshName('f'), kind: 'function', size: 0 });
          failure = { code: 'INVALID_ARGUMENT', stage: 'shape' };
          break;
        case 'badAlign':
          aligns[at(defect.at)] = 24;
          failure = { code: 'INVALID_ARGUMENT', stage: 'shape' };
          break;
        default: {
          const i = at(defect.at);
          const unitTargets = names.map((name, j) => ({ name, kind: kinds[j]! }));
          failure = this.#relocationDefect(defect, specs[i]!.refs.length, unitTargets, extraRefs[i]!, (size) => {
            sizes[i] = size;
          });
        }
      }
    }
    const unitNames = names.map((name, j) => ({ name, kind: kinds[j]! }));
    const symbols: BuiltSymbol[] = specs.map((spec, i) => {
      const relocations = [...this.#relocations(spec.refs, unitNames, undefined, kinds[i]!), ...extraRefs[i]!];
      const size = sizes[i] ?? Math.max(spec.global ? 0 : 1, 8 * (spec.refs.length + (extraRefs[i]!.length > 0 ? 1 : 0)) + spec.extra * this.padding);
      const symbol = this.#symbol(names[i]!, kinds[i]!, size, spec.fill, spec.global && spec.zeroFill, relocations, aligns[i]!);
      return { ...symbol, ownCompile: !spec.global && spec.ownCompile };
    });
    for (const extra of extraSymbols) symbols.push(this.#symbol(extra.name, extra.kind, extra.size, 0x90, extra.kind === 'global', [], null));
    return { symbols, failure };
  }

  /** A replacement body for fn (redefine or compile callback), or one with the defect given. */
  buildBody(fn: MNode, spec: BodySpec, defect: Defect | undefined): BuiltBody {
    const self = [{ name: fn.name, kind: 'function' as const }];
    const relocations = this.#relocations(spec.refs, self, fn, 'function');
    let size = Math.max(1, 8 * (spec.refs.length + 1) + spec.extra * this.padding);
    let align: number | undefined;
    let failure: BuiltBody['failure'];
    if (defect !== undefined) {
      switch (defect.d) {
        case 'tooLarge':
          size = this.layout.codeSize + 16;
          failure = { code: 'OUT_OF_MEMORY', stage: 'place' };
          break;
        case 'empty':
          size = 0;
          relocations.length = 0;
          failure = { code: 'INVALID_ARGUMENT', stage: 'shape' };
          break;
        case 'badAlign':
          align = 3;
          failure = { code: 'INVALID_ARGUMENT', stage: 'shape' };
          break;
        case 'dupUnit':
        case 'dupLive':
          relocations.push({ offset: 8 * spec.refs.length, type: 'R_X86_64_PC32', symbol: NO_SUCH_SYMBOL, addend: -4 });
          failure = { code: 'UNDEFINED_SYMBOL', stage: 'plan' };
          break;
        default:
          failure = this.#relocationDefect(defect, spec.refs.length, self, relocations, (s) => {
            size = s;
          });
      }
    }
    return { code: pattern(size, spec.fill), relocations, align, failure };
  }

  /** Appends the bad relocation(s) of a relocation defect at slot `slot`; returns the failure. */
  #relocationDefect(
    defect: Defect,
    slot: number,
    unit: readonly { name: string; kind: 'function' | 'global' }[],
    into: Relocation[],
    setSize: (size: number) => void,
  ): Failure {
    const offset = 8 * slot;
    switch (defect.d) {
      case 'undefined':
        into.push({ offset, type: 'R_X86_64_PLT32', symbol: NO_SUCH_SYMBOL, addend: -4 });
        return { code: 'UNDEFINED_SYMBOL', stage: 'plan' };
      case 'bounds': {
        // The field ends 1..8 bytes past the node's last byte.
        const size = offset + 8;
        into.push({ offset: size - FIELD_WIDTH[defect.type] + defect.over, type: defect.type, symbol: 'near_helper' });
        setSize(size);
        return { code: 'RELOCATION_OUT_OF_BOUNDS', stage: 'plan' };
      }
      case 'overlap':
        into.push({ offset, type: 'R_X86_64_32', symbol: 'near_helper' });
        into.push({ offset: offset + 2, type: 'R_X86_64_32', symbol: 'near_helper' });
        return { code: 'INVALID_ARGUMENT', stage: 'plan' };
      case 'range': {
        const [relocation, failure] = this.#outOfRange(offset, defect.variant, defect.pick, unit);
        into.push(relocation);
        return failure;
      }
      case 'badField':
        into.push(badField(offset, defect.variant));
        return { code: 'INVALID_ARGUMENT', stage: 'plan' };
      default:
        throw new Error(`model: ${defect.d} is not a relocation defect`);
    }
  }

  /**
   * A relocation whose 32-bit value cannot fit, whatever the heap's placement (or, variant 4, a
   * pointer with an offset, which a stub reference cannot carry), and the failure it causes.
   */
  #outOfRange(
    offset: number, variant: number, pick: number, unit: readonly { name: string; kind: 'function' | 'global' }[],
  ): [Relocation, Failure] {
    const range: Failure = { code: 'RELOCATION_OUT_OF_RANGE', stage: 'check' };
    const candidates = [...unit, ...this.aliveSymbols().map((n) => ({ name: n.name, kind: n.kind as 'function' | 'global' }))];
    const globals = candidates.filter((c) => c.kind === 'global');
    const functions = candidates.filter((c) => c.kind === 'function');
    switch (variant % 6) {
      case 1:
        // S + A < 0 for the unsigned R_X86_64_32.
        if (globals.length > 0) return [{ offset, type: 'R_X86_64_32', symbol: globals[pick % globals.length]!.name, addend: -0x8000_0000 }, range];
        break;
      case 2:
        // S + A > 2^31 - 1 for the sign-extended R_X86_64_32S.
        if (globals.length > 0) return [{ offset, type: 'R_X86_64_32S', symbol: globals[pick % globals.length]!.name, addend: 0x4000_0000 }, range];
        break;
      case 3:
        // S + A - P > 2^31 - 1 for PC32, whatever P is in the heap.
        if (globals.length > 0) return [{ offset, type: 'R_X86_64_PC32', symbol: globals[pick % globals.length]!.name, addend: 0x8002_0000 }, range];
        break;
      case 4:
        // A pointer (via the stub, maybe a new one) with an offset: INVALID_ARGUMENT when planned.
        if (functions.length > 0) {
          return [{ offset, type: 'R_X86_64_32', symbol: functions[pick % functions.length]!.name, addend: -0x8000_0000 }, { code: 'INVALID_ARGUMENT', stage: 'plan' }];
        }
        break;
      case 5:
        // A body reference with an offset far outside the body: an interior reference must lie
        // inside it (DESIGN semantics 9), INVALID_ARGUMENT when planned.
        if (functions.length > 0) {
          return [{ offset, type: 'R_X86_64_32S', symbol: functions[pick % functions.length]!.name, addend: 0x4000_0000, via: 'body' }, { code: 'INVALID_ARGUMENT', stage: 'plan' }];
        }
        break;
      default:
        break;
    }
    // A non-call reference to an external 128 TiB away.
    const types: RelocationType[] = ['R_X86_64_PC32', 'R_X86_64_32', 'R_X86_64_32S'];
    return [{ offset, type: types[pick % types.length]!, symbol: FAR_EXTERNAL }, range];
  }

  #symbol(
    name: string, kind: 'function' | 'global', size: number, fill: number, zeroFill: boolean,
    relocations: Relocation[], align: number | null,
  ): BuiltSymbol {
    if (kind === 'function') {
      const code = pattern(size, fill);
      const definition: FunctionDefinition = { name, code, relocations };
      if (align !== null) definition.align = align;
      return { name, kind, bytes: code, relocations, definition, ownCompile: false };
    }
    const data = zeroFill ? new Uint8Array(size) : pattern(size, fill);
    const definition: GlobalDefinition = zeroFill ? { name, size, relocations } : { name, data, relocations };
    if (align !== null) definition.align = align;
    return { name, kind, bytes: data, relocations, definition, ownCompile: false };
  }

  /** Relocations of a ref list: slot i is bytes [8i, 8i + 8); valid whatever the placement. */
  #relocations(
    refs: readonly RefSpec[], unit: readonly { name: string; kind: 'function' | 'global' }[], self: MNode | undefined,
    source: 'function' | 'global',
  ): Relocation[] {
    const live = this.aliveSymbols().filter((n) => n !== self);
    return refs.map((ref, i) => {
      const width = FIELD_WIDTH[ref.type];
      const offset = 8 * i + (width === 4 ? ref.jitter % 5 : 0);
      let symbol: string;
      let external = false;
      let targetKind: 'function' | 'global' | 'external' = 'external';
      const target = ref.target;
      if (target.t === 'extern') {
        symbol = EXTERNAL_NAMES[target.which % EXTERNAL_NAMES.length]!;
        external = true;
      } else if (target.t === 'live' && live.length > 0) {
        const node = live[target.pick % live.length]!;
        symbol = node.name;
        targetKind = node.kind === 'global' ? 'global' : 'function';
      } else {
        const entry = unit[(target.t === 'unit' ? target.index : target.pick) % unit.length]!;
        symbol = entry.name;
        targetKind = entry.kind;
      }
      // The unit's own names resolve first (a unit may reuse a live name the collection frees).
      const own = unit.find((u) => u.name === symbol);
      if (own !== undefined && !external) targetKind = own.kind;
      let via = ref.via;
      if (external) {
        // A non-call 32-bit reference to a far external cannot fit: only a call may take a stub.
        if (via === 'stub') via = 'none';
        const body = via === 'body' || (via === 'none' && ref.type === 'R_X86_64_PLT32');
        if (isFar(symbol) && width === 4 && !body) via = 'body';
      }
      // Only a target that stays where it is during this call (not the unit's own, not self, and
      // not a live name the unit redefines: the collection that frees it hands the name to the unit).
      const stays = target.t === 'live' && live.length > 0 && !unit.some((u) => u.name === symbol);
      // An edge addend makes S + A land far from a function's body, which only a global allows.
      const edgeTarget = ref.edge && stays && targetKind === 'global' ? this.symbol(symbol) : undefined;
      if (edgeTarget?.address !== undefined) {
        const S = edgeTarget.address;
        return ref.jitter % 2 === 0
          ? { offset: 8 * i, type: 'R_X86_64_32', symbol, addend: -S, via: 'body' }
          : { offset: 8 * i, type: 'R_X86_64_32S', symbol, addend: EDGE_32S - S, via: 'body' };
      }
      const relocation: Relocation = { offset, type: ref.type, symbol };
      let addend = width === 8 && ref.wide !== null ? ref.wide : ref.addend;
      // A stub reference carries no offset (INVALID_ARGUMENT otherwise, the 'stubOffset' defect):
      // a pointer to a function, and a call to a far external, which goes through its stub.
      const body = via === 'body' || (via === 'none' && ref.type === 'R_X86_64_PLT32');
      const throughStub = external ? body && isFar(symbol) && width === 4 : targetKind === 'function' && !body;
      // A body reference to a function reaches its entry: interior references (into the middle of a
      // body, which evict and redefine refuse to leave behind) are checked by example tests.
      if (throughStub || (!external && targetKind === 'function' && body)) addend = stubAddend(ref.type, source);
      if (addend !== 0) relocation.addend = addend;
      if (via !== 'none') relocation.via = via;
      return relocation;
    });
  }

  // ---- the operations, mirrored ----

  /** Sites of a body, resolved like the heap: the unit's own names, then live symbols, then externals. */
  #resolve(relocations: readonly Relocation[], local: ReadonlyMap<string, MNode>): MSite[] {
    return relocations.map((r) => {
      const addend = r.addend ?? 0;
      const body = r.via === undefined ? r.type === 'R_X86_64_PLT32' : r.via === 'body';
      const node = local.get(r.symbol) ?? this.symbol(r.symbol);
      const site = { offset: r.offset, type: r.type, addend, symbol: r.symbol };
      if (node !== undefined) {
        const target = node.kind === 'global' || body ? node : this.#stubOf(node);
        return { ...site, target, external: undefined };
      }
      const address = EXTERNALS.get(r.symbol);
      if (address === undefined) throw new Error(`model: ${r.symbol} resolves to nothing`);
      if (body && !externalCallFits(this.layout, r.type, address, addend)) {
        return { ...site, target: this.#externStub(r.symbol, address), external: undefined };
      }
      return { ...site, target: undefined, external: address };
    });
  }

  #node(kind: MKind, name: string, of?: MNode, external?: { name: string; address: number }): MNode {
    const node = new MNode(kind, name, of, external);
    this.nodes.push(node);
    return node;
  }

  #stubOf(fn: MNode): MNode {
    if (fn.stub === undefined) fn.stub = this.#node('stub', `stub(${fn.name})`, fn);
    return fn.stub;
  }

  #externStub(name: string, address: number): MNode {
    let stub = this.externStubs.get(name);
    if (stub === undefined) {
      stub = this.#node('stub', `stub(extern ${name})`, undefined, { name, address });
      this.externStubs.set(name, stub);
    }
    return stub;
  }

  #handle(node: MNode): MHandle {
    node.handles++;
    const handle = { node, freed: false };
    this.handles.push(handle);
    return handle;
  }

  /** define(): every symbol gets a node and one handle; sites link within the unit first. */
  define(unit: BuiltUnit): MHandle[] {
    const local = new Map<string, MNode>();
    const created = unit.symbols.map((s) => {
      const node = this.#node(s.kind, s.name);
      local.set(s.name, node);
      return node;
    });
    unit.symbols.forEach((s, i) => {
      created[i]!.body = new MBody(s.bytes, this.#resolve(s.relocations, local));
      created[i]!.ownCompile = s.ownCompile;
    });
    const handles = created.map((node) => this.#handle(node));
    for (const handle of handles) handle.unit = handles;
    return handles;
  }

  declare(name: string, ownCompile: boolean): MHandle {
    this.knownNames.add(name);
    const fn = this.#node('function', name);
    fn.ownCompile = ownCompile;
    return this.#handle(fn);
  }

  lookup(node: MNode): MHandle {
    return this.#handle(node);
  }

  pointer(fn: MNode): MHandle {
    return this.#handle(this.#stubOf(fn));
  }

  /** redefine / materialize: link the new body, backpatch what targets fn, let the old one go. */
  replaceBody(fn: MNode, built: BuiltBody): void {
    // Backpatching rewrites the sites that target fn before the new body's sites (and a stub
    // the new body may create for fn) exist.
    this.patches += this.patchedOnMove(fn);
    const sites = this.#resolve(built.relocations, new Map([[fn.name, fn]]));
    fn.body = new MBody(built.code, sites);
    fn.trampoline = undefined;
    this.reclaim();
  }

  evict(fn: MNode): void {
    if (fn.lazy) return;
    this.patches += this.patchedOnMove(fn);
    fn.body = undefined;
    fn.trampoline = undefined;
    this.reclaim();
  }

  /**
   * Sites a move of fn's body rewrites: every site targeting fn, but for the old body's own calls
   * to fn when that body is freed by the move (no pin holds it); a retired body is patched too.
   */
  patchedOnMove(fn: MNode): number {
    const body = fn.body;
    if (body === undefined || this.pins.some((p) => !p.released && p.body === body)) return this.incoming(fn);
    return this.incoming(fn) - body.sites.filter((s) => s.target === fn).length;
  }

  pin(node: MNode): MPin {
    node.pins++;
    const pin = { node, body: node.kind === 'function' ? node.body : undefined, released: false };
    this.pins.push(pin);
    return pin;
  }

  release(pin: MPin): void {
    if (pin.released) return;
    pin.released = true;
    pin.node.pins--;
    const body = pin.body;
    if (body !== undefined && body !== pin.node.body && !this.pins.some((p) => !p.released && p.body === body)) {
      this.freedByRc++; // the retired node goes with its last pin
    }
    this.reclaim();
  }

  free(handle: MHandle): void {
    if (handle.freed) return;
    handle.freed = true;
    handle.node.handles--;
    this.reclaim();
    // The last handle of a unit unloads it (semantics 10).
    if (handle.unit !== undefined && handle.unit.every((u) => u.freed)) this.#unloadSet(handle.unit.map((u) => u.node));
  }

  /** What stats().nodes must say. */
  nodeCounts(): { functions: number; globals: number; stubs: number; live: number; lazy: number; retired: number; total: number } {
    const alive = this.aliveNodes();
    const functions = alive.filter((n) => n.kind === 'function').length;
    const globals = alive.filter((n) => n.kind === 'global').length;
    const stubs = alive.filter((n) => n.kind === 'stub').length;
    const lazy = alive.filter((n) => n.lazy).length;
    const total = functions + globals + stubs;
    return { functions, globals, stubs, live: total - lazy, lazy, retired: this.retiredBodies().length, total };
  }

  /** What stats().sites must say: counted sites of every source, plus one slot site per function stub. */
  siteCount(): number {
    let count = 0;
    for (const source of this.sources()) count += source.body.sites.filter((s) => s.target !== undefined).length;
    return count + this.aliveNodes().filter((n) => n.kind === 'stub' && n.of !== undefined).length;
  }
}
