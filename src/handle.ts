// Handles and pins: the external owners of counts, and so the roots of the heap.
//
// A Handle owns exactly one count on its node until freed; freeing twice does nothing. A Pin
// owns one count too, and also holds the body that was current when it was taken (rc/body-holds).
// Both carry the heap they belong to, so a handle of another heap is refused, and the node id,
// which cannot be recycled while the handle's count keeps the node alive.
//
// Only the heap makes them. Their state is in private fields, their constructors refuse to run
// without this module's private token, and the heap reaches that state through `handleState`
// and `pinState`, which this module exports to the library but the package does not export: a
// forged object (`Object.create(Handle.prototype)`, a plain `{ name, kind }`, `new Handle(...)`)
// has no state, and every call refuses it with INVALID_ARGUMENT. Nothing reachable from the
// public types can change a count.

import { CodeHeapError, invalid } from './errors.js';
import type { BodyHold } from './rc/body-holds.js';
import type { HandleApi, NodeKind } from './types.js';

/**
 * The nodes one define() made, as the handles it returned share them: when the last of those
 * handles goes, what only these nodes held is reclaimed in that call (DESIGN semantics 10). Each
 * node is remembered by id and generation (rc/node-table.ts), since a node freed earlier may have
 * left its id to another.
 */
export interface UnitMembers {
  readonly ids: Int32Array;
  readonly generations: Uint8Array;
  /** The unit's handles not yet freed. */
  open: number;
}

/** What a handle asks of its heap (an object the heap keeps private). */
export interface HandleOwner {
  address(handle: Handle): number;
  free(handle: Handle): void;
  release(pin: Pin): void;
}

/** The heap's access to handles (not exported by the package). */
export let handleState!: {
  create(owner: HandleOwner, id: number, name: string, kind: NodeKind, unit: UnitMembers | null): Handle;
  /**
   * The node id of a live handle `owner` made, in one look; else NOT_A_HANDLE, OTHER_OWNER or
   * FREED (the heap's hot path: heap.call checks its handle so on every call).
   */
  check(value: unknown, owner: HandleOwner): number;
  is(value: unknown): value is Handle;
  owner(handle: Handle): HandleOwner;
  id(handle: Handle): number;
  /** The unit a define() handle belongs to; null for any other handle. */
  unit(handle: Handle): UnitMembers | null;
  /** True the first time only. */
  markFreed(handle: Handle): boolean;
};

/** The heap's access to pins (not exported by the package). */
export let pinState!: {
  create(owner: HandleOwner, id: number, name: string, hold: BodyHold | undefined): Pin;
  is(value: unknown): value is Pin;
  owner(pin: Pin): HandleOwner;
  id(pin: Pin): number;
  /** The body this pin keeps, or undefined when it was taken on a lazy function. */
  hold(pin: Pin): BodyHold | undefined;
  markReleased(pin: Pin): boolean;
};

const TOKEN: unique symbol = Symbol('codeheap: made by the heap');

/** handleState.check's answers for a value that is not a live handle of the owner. */
export const NOT_A_HANDLE = -2;
export const OTHER_OWNER = -3;
export const FREED = -4;

export class Handle implements HandleApi {
  readonly #owner: HandleOwner;
  readonly #id: number;
  readonly #unit: UnitMembers | null;
  #freed = false;
  readonly name: string;
  readonly kind: NodeKind;

  /** Handles are made by the heap only: define, declare, lookup, pointer. */
  private constructor(token: typeof TOKEN, owner: HandleOwner, id: number, name: string, kind: NodeKind, unit: UnitMembers | null) {
    if (token !== TOKEN) invalid('handles are made by the heap (define, declare, lookup, pointer), not by new Handle()');
    this.#owner = owner;
    this.#id = id;
    this.#unit = unit;
    this.name = name;
    this.kind = kind;
  }

  /** Current body or block address (a lazy function's trampoline; a stub's code). */
  get address(): number {
    return Handle.#real(this, 'address').#owner.address(this);
  }

  get freed(): boolean {
    return Handle.#real(this, 'freed').#freed;
  }

  free(): void {
    Handle.#real(this, 'free').#owner.free(this);
  }

  [Symbol.dispose](): void {
    this.free();
  }

  toString(): string {
    return `Handle(${this.kind} ${this.name})`;
  }

  /** A handle the heap made, or INVALID_ARGUMENT for an object that only looks like one. */
  static #real(value: Handle, operation: string): Handle {
    if (typeof value !== 'object' || value === null || !(#owner in value)) invalid(`handle.${operation}: this is not a handle made by a heap`);
    return value;
  }

  static {
    handleState = {
      create: (owner, id, name, kind, unit) => new Handle(TOKEN, owner, id, name, kind, unit),
      is: (value): value is Handle => typeof value === 'object' && value !== null && #id in value,
      check: (value, owner) => {
        if (typeof value !== 'object' || value === null || !(#id in value)) return NOT_A_HANDLE;
        if (value.#owner !== owner) return OTHER_OWNER;
        return value.#freed ? FREED : value.#id;
      },
      owner: (handle) => handle.#owner,
      id: (handle) => handle.#id,
      unit: (handle) => handle.#unit,
      markFreed: (handle) => {
        if (handle.#freed) return false;
        handle.#freed = true;
        return true;
      },
    };
  }
}

export class Pin {
  readonly #owner: HandleOwner;
  readonly #id: number;
  readonly #hold: BodyHold | undefined;
  #released = false;
  readonly name: string;

  /** Pins are made by heap.pin() only. */
  private constructor(token: typeof TOKEN, owner: HandleOwner, id: number, name: string, hold: BodyHold | undefined) {
    if (token !== TOKEN) invalid('pins are made by heap.pin(), not by new Pin()');
    this.#owner = owner;
    this.#id = id;
    this.name = name;
    this.#hold = hold;
  }

  get released(): boolean {
    return Pin.#real(this, 'released').#released;
  }

  release(): void {
    Pin.#real(this, 'release').#owner.release(this);
  }

  /** A pin the heap made, or INVALID_ARGUMENT for an object that only looks like one. */
  static #real(value: Pin, operation: string): Pin {
    if (typeof value !== 'object' || value === null || !(#owner in value)) invalid(`pin.${operation}: this is not a pin made by a heap`);
    return value;
  }

  [Symbol.dispose](): void {
    this.release();
  }

  static {
    pinState = {
      create: (owner, id, name, hold) => new Pin(TOKEN, owner, id, name, hold),
      is: (value): value is Pin => typeof value === 'object' && value !== null && #id in value,
      owner: (pin) => pin.#owner,
      id: (pin) => pin.#id,
      hold: (pin) => pin.#hold,
      markReleased: (pin) => {
        if (pin.#released) return false;
        pin.#released = true;
        return true;
      },
    };
  }
}

/** USE_AFTER_FREE for an operation on a freed handle. */
export function usedAfterFree(operation: string, handle: Handle): never {
  throw new CodeHeapError('USE_AFTER_FREE', `${operation}: the handle on ${handle.name} was freed`);
}
