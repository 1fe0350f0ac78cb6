// Unit: what define() returns, the handles it took, one per symbol.

import { CodeHeapError } from './errors.js';
import type { Handle } from './handle.js';

export class Unit {
  readonly #byName = new Map<string, Handle>();

  constructor(handles: readonly Handle[]) {
    for (const handle of handles) this.#byName.set(handle.name, handle);
  }

  /** The unit's own handle for name: the same object on every call, holding define's one count. */
  get(name: string): Handle {
    const handle = this.#byName.get(name);
    if (handle === undefined) throw new CodeHeapError('UNDEFINED_SYMBOL', `the unit defines no symbol named ${String(name)}`);
    return handle;
  }

  get names(): string[] {
    return [...this.#byName.keys()];
  }

  handles(): Handle[] {
    return [...this.#byName.values()];
  }

  /** Frees every handle of the unit (each once; already freed ones are skipped). */
  free(): void {
    for (const handle of this.#byName.values()) handle.free();
  }

  [Symbol.dispose](): void {
    this.free();
  }
}
