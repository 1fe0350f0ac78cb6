// Hostile values for every argument position and every nested field of the public API.
//
// A value is generated as a recipe: plain data that says what to build ('ok', { leaf: 'nullProto' },
// { reads: ['ok', { alt: 'pastEnd' }] }, ...), so a fast-check counterexample reads as what the
// caller passed. build() turns a recipe into a fresh value for one call, in the slot it fills: a
// slot knows its valid value, its plausible alternatives, its fields (an object), its items (a
// list) or what it returns (a callback). The same recipes serve every slot:
//
//   'ok' | { alt }          the slot's valid value, or one of its named alternatives
//   { leaf }                one of LEAVES: Symbols, BigInts, NaN, -0, 2**53, null-prototype objects,
//                           revoked proxies, detached buffers, lying Uint8Array subclasses, ...
//   { proxy }               a transparent Proxy of what the inner recipe builds
//   { fields, proto }       an object slot built field by field, on a plain, null or class prototype
//   { items, trick }        a list slot, as a plain array or one whose length, iterator or species lies
//   { returns, before }     a callback returning the inner recipe's value (after some mischief)
//   { construct }           `new` of the slot's public class (a forged Handle or Pin)
// and, in a field or list item only:
//   'absent' | 'throwingGetter' | { reads, before }   a getter returning reads[i % n] on read i
//
// hostile.arbitraries.ts generates recipes for a slot; hostile.slots.ts defines the slots.
//
// Mischief is what caller code run by the heap (a getter, resolveExternal, a compile callback) does
// to values the caller handed over earlier in the same call: grow, shrink or detach their buffers,
// truncate or push onto their arrays.

import { runInNewContext } from 'node:vm';
import { CodeHeapError, type CodeHeap, type Handle, type Pin, type Unit } from '../../src/index.js';

/**
 * Where an error a caller's own code threw came from: a getter or callback the library reads or
 * calls (it may pass their error on), an observer (it runs once the call has done its work, so
 * the call need not undo it), or a coercion the library should never have made.
 */
export type Channel = 'getter' | 'callback' | 'observer' | 'coercion';

/** The error hostile code throws; `channel` says which of the caller's code threw it. */
export class HostileError extends Error {
  override readonly name = 'HostileError';
  constructor(readonly channel: Channel, what: string) {
    super(`hostile ${channel}: ${what}`);
  }
}

export type Mischief = 'grow' | 'shrink' | 'detach' | 'truncate' | 'push';
export const MISCHIEF: readonly Mischief[] = ['grow', 'shrink', 'detach', 'truncate', 'push'];

/** What building one call's arguments needs: the heaps, the live pools, and what mischief can reach. */
export interface Ctx {
  readonly heap: CodeHeap;
  readonly other: CodeHeap;
  handleAt(index: number): Handle;
  foreignHandle(): Handle;
  freedHandle(): Handle;
  pinAt(index: number): Pin;
  unitAt(index: number): Unit;
  freshName(): string;
  /** Buffers, views and arrays built for this call, which mischief acts on. */
  readonly resizable: ResizableBuffer[];
  readonly detachable: ArrayBuffer[];
  readonly lists: unknown[][];
  /** Errors thrown by this run's hostile code, so a law can tell them from the library's own. */
  readonly thrown: WeakMap<object, Channel>;
  /** What the observer's `error` method heard of: each must be an error an observer method threw. */
  readonly reported: unknown[];
}

export function hostile(ctx: Ctx, channel: Channel, what: string): HostileError {
  const error = new HostileError(channel, what);
  ctx.thrown.set(error, channel);
  return error;
}

/** ES2024's resizable ArrayBuffer (Node 20 has it; the ES2022 lib does not declare it). */
export interface ResizableBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}

export function resizableBuffer(byteLength: number, maxByteLength: number): ResizableBuffer {
  const make = ArrayBuffer as unknown as new (n: number, options: { maxByteLength: number }) => ResizableBuffer;
  return new make(byteLength, { maxByteLength });
}

/** Buffers mischief has detached (Node 20 has no ArrayBuffer.prototype.detached). */
const detached = new WeakSet<ArrayBuffer>();

export function detach(buffer: ArrayBuffer): void {
  if (detached.has(buffer)) return;
  structuredClone(buffer, { transfer: [buffer] });
  detached.add(buffer);
}

export function doMischief(ctx: Ctx, mischief: Mischief): void {
  switch (mischief) {
    case 'grow': for (const b of ctx.resizable) if (!detached.has(b)) b.resize(b.maxByteLength); break;
    case 'shrink': for (const b of ctx.resizable) if (!detached.has(b)) b.resize(0); break;
    case 'detach': for (const b of [...ctx.resizable, ...ctx.detachable]) detach(b); break;
    case 'truncate': for (const list of ctx.lists) if (!Object.isFrozen(list)) list.length = 0; break;
    case 'push': for (const list of ctx.lists) if (!Object.isFrozen(list)) list.push(JUNK); break;
  }
}

/** What 'push' appends: a function definition, a global and a relocation at once, all out of bounds. */
const JUNK = Object.freeze({ name: 'junk', code: new Uint8Array(1), size: 1, offset: 4096, type: 'R_X86_64_64', symbol: 'g' });

// ---- leaves: values that fit no slot, or fit one only by accident ----

/** Claims 16 bytes; holds 64. */
class LyingLength extends Uint8Array {
  override get length(): number {
    return 16;
  }
}

/** 16 bytes whose subarray and slice hand back 4 KiB. */
class LyingSlices extends Uint8Array {
  override subarray(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(4096).fill(0xee);
  }
  override slice(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(4096).fill(0xee);
  }
}

function detachedView(length: number): Uint8Array {
  const buffer = new ArrayBuffer(length);
  const view = new Uint8Array(buffer);
  detach(buffer);
  return view;
}

function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

export const LEAVES = {
  undefined: () => undefined,
  null: () => null,
  true: () => true,
  emptyString: () => '',
  string: () => 'x',
  numericString: () => '16',
  symbol: () => Symbol('hostile'),
  bigint: () => 16n,
  function: () => function hostileFunction(): void {},
  '2**53': () => 2 ** 53,
  '-0': () => -0,
  NaN: () => Number.NaN,
  Infinity: () => Number.POSITIVE_INFINITY,
  '-Infinity': () => Number.NEGATIVE_INFINITY,
  '1.5': () => 1.5,
  '2**31': () => 2 ** 31,
  '-2**31-1': () => -(2 ** 31) - 1,
  '-1': () => -1,
  '-16': () => -16,
  '2**32': () => 2 ** 32,
  MAX_VALUE: () => Number.MAX_VALUE,
  numberObject: () => new Number(16),
  stringObject: () => new String('f'),
  object: () => ({}),
  array: () => [],
  nullProto: () => Object.create(null) as object,
  revokedProxy: () => revoked({}),
  revokedArrayProxy: () => revoked([]),
  throwingToPrimitive: (ctx: Ctx) => ({
    [Symbol.toPrimitive]: () => {
      throw hostile(ctx, 'coercion', 'Symbol.toPrimitive');
    },
  }),
  shiftingValueOf: () => {
    let reads = 0;
    return { valueOf: () => (reads++ % 2 === 0 ? 16 : -16) };
  },
  Int8Array: () => new Int8Array(16),
  Uint8ClampedArray: () => new Uint8ClampedArray(16),
  Uint16Array: () => new Uint16Array(8),
  DataView: () => new DataView(new ArrayBuffer(16)),
  ArrayBuffer: () => new ArrayBuffer(16),
  SharedArrayBuffer: () => new SharedArrayBuffer(16),
  detachedUint8Array: () => detachedView(16),
  detachedArrayBuffer: () => detachedView(16).buffer,
  emptyUint8Array: () => new Uint8Array(0),
  fakeUint8Array: () => Object.create(Uint8Array.prototype) as object,
  proxyOfUint8Array: () => new Proxy(new Uint8Array(16), {}),
  lyingLength: () => new LyingLength(64).fill(0xee),
  lyingSlices: () => new LyingSlices(16).fill(0x90),
  otherRealmUint8Array: () => runInNewContext('new Uint8Array(16)') as unknown,
} satisfies Record<string, (ctx: Ctx) => unknown>;

export type LeafName = keyof typeof LEAVES;
export const LEAF_NAMES = Object.keys(LEAVES) as LeafName[];

// ---- recipes ----

export type ListTrick =
  | 'plain' | 'frozen' | 'sparse' | 'arrayLike' | 'iterator' | 'growingLength' | 'shrinkingLength'
  | 'hugeLength' | 'species';
export const LIST_TRICKS: readonly ListTrick[] = [
  'plain', 'frozen', 'sparse', 'arrayLike', 'iterator', 'growingLength', 'shrinkingLength', 'hugeLength', 'species',
];

export type Recipe =
  | 'ok'
  | { readonly alt: string }
  | { readonly leaf: LeafName }
  | { readonly proxy: Recipe }
  | { readonly fields: Readonly<Record<string, FieldRecipe>>; readonly proto: 'plain' | 'null' | 'class' }
  | { readonly items: readonly FieldRecipe[]; readonly trick: ListTrick }
  | { readonly returns: Recipe; readonly before: Mischief | null }
  | 'throwingCallback'
  | { readonly construct: readonly Recipe[] };

export type FieldRecipe =
  | Recipe
  | 'absent'
  | 'throwingGetter'
  | { readonly reads: readonly Recipe[]; readonly before: Mischief | null };

/** A slot's value is left out (an optional field given no value); read anywhere else, undefined. */
export const ABSENT = Symbol('absent');

const present = (value: unknown): unknown => (value === ABSENT ? undefined : value);

export interface Slot {
  readonly what: string;
  readonly valid: (ctx: Ctx) => unknown;
  readonly alts?: Readonly<Record<string, (ctx: Ctx) => unknown>>;
  readonly fields?: Readonly<Record<string, Slot>>;
  /** The prototype a { proto: 'class' } object gets (Handle.prototype for a handle slot). */
  readonly proto?: object;
  readonly item?: (index: number) => Slot;
  readonly returns?: Slot;
  /** What errors thrown by this slot's getters and callbacks count as (default getter, callback). */
  readonly channel?: Channel;
  /**
   * Only the valid value and the alternatives, never absent: the internals of a forged Handle or
   * Pin (its id, its hold). The library walks lists from a node id it trusts, and today an id
   * that is not a node's loops forever, which would stall the run instead of failing it.
   */
  readonly tame?: boolean;
  readonly construct?: { readonly make: (...args: unknown[]) => unknown; readonly args: readonly Slot[] };
}

const isObject = (value: unknown): value is object =>
  (typeof value === 'object' && value !== null) || typeof value === 'function';

export function build(recipe: Recipe, slot: Slot, ctx: Ctx): unknown {
  if (recipe === 'ok') return slot.valid(ctx);
  if (recipe === 'throwingCallback') {
    return () => {
      throw hostile(ctx, slot.channel ?? 'callback', slot.what);
    };
  }
  if ('alt' in recipe) return slot.alts![recipe.alt]!(ctx);
  if ('leaf' in recipe) return LEAVES[recipe.leaf](ctx);
  if ('proxy' in recipe) {
    const target = build(recipe.proxy, slot, ctx);
    return isObject(target) ? new Proxy(target, {}) : target;
  }
  if ('fields' in recipe) {
    const proto = recipe.proto === 'null' ? null : recipe.proto === 'class' ? slot.proto ?? Object.prototype : Object.prototype;
    const object = Object.create(proto) as Record<string, unknown>;
    for (const [key, field] of Object.entries(recipe.fields)) defineField(object, key, field, slot.fields![key]!, ctx);
    return object;
  }
  if ('items' in recipe) return buildList(recipe, slot, ctx);
  if ('returns' in recipe) {
    const { returns, before } = recipe;
    let done = false;
    return (...args: unknown[]) => {
      if (before !== null && !done) doMischief(ctx, before);
      done = true;
      // 'ok' is the valid callback's answer (resolveExternal's depends on the name asked).
      if (returns === 'ok') return (slot.valid(ctx) as (...a: unknown[]) => unknown)(...args);
      return present(build(returns, slot.returns!, ctx));
    };
  }
  const { make, args } = slot.construct!;
  const values = recipe.construct.map((r, i) => present(build(r, args[i]!, ctx)));
  try {
    return make(...values);
  } catch (error) {
    // The class refuses to be made outside the heap (INVALID_ARGUMENT): the call then gets the
    // object a forger would fall back on, one that only inherits from the class.
    if (!(error instanceof CodeHeapError) || error.code !== 'INVALID_ARGUMENT') throw error;
    return Object.create(slot.proto ?? Object.prototype) as object;
  }
}

/** Puts one field (or list item) on target: a value, nothing, or a getter. Mischief runs once. */
function defineField(target: object, key: string, field: FieldRecipe, slot: Slot, ctx: Ctx): void {
  if (field === 'absent') return;
  if (field === 'throwingGetter') {
    Object.defineProperty(target, key, {
      get: () => {
        throw hostile(ctx, slot.channel ?? 'getter', `${slot.what} getter`);
      },
      enumerable: true, configurable: true,
    });
    return;
  }
  if (typeof field === 'object' && 'reads' in field) {
    const values = field.reads.map((r) => present(build(r, slot, ctx)));
    let reads = 0;
    Object.defineProperty(target, key, {
      get: () => {
        if (reads === 0 && field.before !== null) doMischief(ctx, field.before);
        return values[reads++ % values.length];
      },
      enumerable: true, configurable: true,
    });
    return;
  }
  const value = build(field, slot, ctx);
  if (value !== ABSENT) (target as Record<string, unknown>)[key] = value;
}

/** An Array whose map/filter/slice make a frozen array: every CreateDataProperty on it throws. */
class SpeciesArray extends Array<unknown> {
  static override get [Symbol.species](): ArrayConstructor {
    return function frozen() {
      return Object.freeze([]);
    } as unknown as ArrayConstructor;
  }
}

function buildList(recipe: { readonly items: readonly FieldRecipe[]; readonly trick: ListTrick }, slot: Slot, ctx: Ctx): unknown {
  const { items, trick } = recipe;
  const start = trick === 'sparse' ? 1 : 0;
  const base: unknown[] = trick === 'species' ? new SpeciesArray() : [];
  base.length = items.length + start;
  items.forEach((item, i) => defineField(base, String(i + start), item, slot.item!(i), ctx));
  ctx.lists.push(base);
  const n = base.length;
  switch (trick) {
    case 'frozen': return Object.freeze(base);
    case 'arrayLike': {
      // Descriptors, not values: the items' getters must run when the library reads them.
      const { length: _length, ...items } = Object.getOwnPropertyDescriptors(base);
      return Object.defineProperties({ length: n }, items);
    }
    case 'iterator': {
      // Iteration sees valid items; indexing sees the recipe's.
      const valid = items.map((_, i) => slot.item!(i).valid(ctx));
      Object.defineProperty(base, Symbol.iterator, { value: () => valid[Symbol.iterator]() });
      return base;
    }
    case 'growingLength': return lengthProxy(base, (reads) => (reads === 0 ? n : n + 1));
    case 'shrinkingLength': return lengthProxy(base, (reads) => (reads === 0 ? n : 0));
    case 'hugeLength': return lengthProxy(base, () => 2 ** 32);
    default: return base;
  }
}

function lengthProxy(base: unknown[], length: (reads: number) => number): unknown[] {
  let reads = 0;
  return new Proxy(base, {
    get: (target, key, receiver) => (key === 'length' ? length(reads++) : Reflect.get(target, key, receiver) as unknown),
  });
}
