// Unit: what define() returns, the handles it took, one per symbol.

import { CodeHeapError, invalid, show } from './errors.js';
import type { Handle } from './handle.js';
import { LargeMap } from './large-map.js';

/** The heap's way to make a Unit (not exported by the package). */
export let createUnit!: (handles: readonly Handle[], unload: (handles: readonly Handle[]) => number) => Unit;

const TOKEN: unique symbol = Symbol('codeheap: made by define');

/** Units up to this size find a name by looking at each handle; larger ones keep a map. */
const SCANNED = 8;

export class Unit {
  /** The handles by name, made on the first get() of a large unit (most units are only freed). */
  #byName: LargeMap<string, Handle> | null = null;
  /** In definition order. */
  readonly #handles: readonly Handle[];
  /** heap.unload, bound to the heap that made the unit. */
  readonly #unload: (handles: readonly Handle[]) => number;

  /** Units are made by heap.define() only. */
  private constructor(token: typeof TOKEN, handles: readonly Handle[], unload: (handles: readonly Handle[]) => number) {
    if (token !== TOKEN) invalid('units are made by heap.define(), not by new Unit()');
    this.#handles = handles;
    this.#unload = unload;
  }

  /** The unit's own handle for name: the same object on every call, holding define's one count. */
  get(name: string): Handle {
    Unit.#real(this);
    if (typeof name !== 'string') invalid(`unit.get takes a symbol name, got ${show(name)}`);
    const handle = this.#find(name);
    if (handle === undefined) throw new CodeHeapError('UNDEFINED_SYMBOL', `the unit defines no symbol named ${name}`);
    return handle;
  }

  #find(name: string): Handle | undefined {
    const handles = this.#handles;
    if (handles.length <= SCANNED) return handles.find((h) => h.name === name);
    if (this.#byName === null) {
      const byName = new LargeMap<string, Handle>();
      for (const handle of handles) byName.set(handle.name, handle);
      this.#byName = byName;
    }
    return this.#byName.get(name);
  }

  get names(): string[] {
    return Unit.#real(this).#handles.map((h) => h.name);
  }

  handles(): Handle[] {
    return [...Unit.#real(this).#handles];
  }

  /**
   * Frees every handle of the unit (each once; already freed ones are skipped) and reclaims at
   * once what only the unit held, cycles among its nodes included (heap.unload, DESIGN semantics 10).
   */
  free(): void {
    const unit = Unit.#real(this);
    unit.#unload(unit.#handles);
  }

  /** A unit define made, or INVALID_ARGUMENT for an object that only looks like one. */
  static #real(value: Unit): Unit {
    if (typeof value !== 'object' || value === null || !(#handles in value)) invalid('this is not a unit made by heap.define()');
    return value;
  }

  [Symbol.dispose](): void {
    this.free();
  }

  static {
    createUnit = (handles, unload) => new Unit(TOKEN, handles, unload);
  }
}
