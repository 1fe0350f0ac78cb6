// LoadedObject: what loadObject returns, the one owner of everything the load took.
//
// It holds one handle on every node the object defined (and the lazy functions it declared),
// exactly as a Unit holds define's counts. Unloading (free, or `using`) runs the destructors,
// drops those handles, takes the object's exports off the heap's registry, and reclaims at once
// (heap.unload: trial deletion over the object's own nodes): an object's code is usually a cycle (a static function calling itself, f and g calling each
// other, a table of pointers to functions that load the table), and an unload must give every
// byte back in the call (DESIGN semantics 10), not when the adaptive collector next runs.

import { symbolKind, type CodeHeap } from '../code-heap.js';
import { CodeHeapError, invalid, show } from '../errors.js';
import type { Handle } from '../handle.js';
import { LargeMap } from '../large-map.js';
import { objectsOf } from './registry.js';
import type { Export } from './targets.js';

/** A constructor or destructor: the function a `.init_array` or `.fini_array` entry names. */
export interface Constructor {
  readonly node: string;
  /** Where in the node the function starts (not 0 in an object built without -ffunction-sections). */
  readonly offset: number;
  readonly section: string;
}

/** Where an exported symbol lies: its node's handle and its offset in that node. */
export interface ObjectSymbol {
  readonly name: string;
  readonly handle: Handle;
  readonly offset: number;
  /** handle.address + offset, now. */
  readonly address: number;
}

export let createLoadedObject!: (
  heap: CodeHeap, name: string, handles: readonly Handle[], exports: LargeMap<string, Export>,
  constructors: readonly Constructor[], destructors: readonly Constructor[], lazy: boolean,
) => LoadedObject;

const TOKEN: unique symbol = Symbol('codeheap/elf: made by loadObject');

export class LoadedObject {
  /** The object's name: its private symbols are `name:symbol`. */
  readonly name: string;
  readonly #heap: CodeHeap;
  readonly #handles: readonly Handle[];
  readonly #byNode = new LargeMap<string, Handle>();
  readonly #exports: LargeMap<string, Export>;
  readonly #constructors: readonly Constructor[];
  readonly #destructors: readonly Constructor[];
  readonly #lazy: readonly Handle[];
  /** Entries made by get() for functions in the middle of a section. */
  readonly #entries: Handle[] = [];
  #constructed = false;
  #freed = false;

  private constructor(
    token: typeof TOKEN, heap: CodeHeap, name: string, handles: readonly Handle[], exports: LargeMap<string, Export>,
    constructors: readonly Constructor[], destructors: readonly Constructor[], lazy: boolean,
  ) {
    if (token !== TOKEN) invalid('objects are made by loadObject(), not by new LoadedObject()');
    this.#heap = heap;
    this.name = name;
    this.#handles = handles;
    for (const handle of handles) this.#byNode.set(handle.name, handle);
    this.#exports = exports;
    this.#constructors = constructors;
    this.#destructors = destructors;
    this.#lazy = lazy ? handles.filter((h) => h.kind === 'function') : [];
  }

  /** The names the object exports (its global and weak definitions that other code can bind to). */
  get symbols(): string[] {
    return [...this.#exports].map(([name]) => name);
  }

  /**
   * The object's own handle on an exported symbol's node: the same object on every call, holding
   * the count the load took (as unit.get). A symbol in the middle of its section has no node of
   * its own: symbol() gives its node and offset.
   */
  get(name: string): Handle {
    const symbol = this.symbol(name);
    if (symbol.offset === 0) return symbol.handle;
    if (symbol.handle.kind !== 'function') {
      invalid(`${this.name}: ${name} lies at +0x${symbol.offset.toString(16)} of ${symbol.handle.name}, not at the start of a node of its own; symbol(${JSON.stringify(name)}).address is its address`);
    }
    return this.#entry(`${this.name}:${name}@entry`, symbol.handle, symbol.offset);
  }

  /**
   * A function in the middle of its section (an object built without -ffunction-sections) gets an
   * entry of its own, made on first get: `jmp name`, an interior reference into the section's node,
   * so heap.call, heap.bind and heap.pointer work on it like on any function. It goes on unload.
   */
  #entry(entryName: string, node: Handle, offset: number): Handle {
    const made = this.#byNode.get(entryName);
    if (made !== undefined) return made;
    // An interior reference needs a body to point into: a lazy section is compiled first.
    this.#heap.materialize(node);
    const code = new Uint8Array([0xe9, 0, 0, 0, 0]);
    const unit = this.#heap.define({
      functions: [{ name: entryName, code, relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: node.name, addend: offset - 4 }] }],
    });
    const handle = unit.get(entryName);
    this.#entries.push(handle);
    this.#byNode.set(entryName, handle);
    return handle;
  }

  /** Where an exported symbol lies: its node's handle, its offset there, and its address now. */
  symbol(name: string): ObjectSymbol {
    this.#live();
    if (typeof name !== 'string') invalid(`${this.name}: get takes a symbol name, got ${show(name)}`);
    const e = this.#exports.get(name);
    const handle = e === undefined ? undefined : this.#byNode.get(e.node);
    if (e === undefined || handle === undefined) throw new CodeHeapError('UNDEFINED_SYMBOL', `${this.name} exports no symbol named ${name}`);
    return { name, handle, offset: e.offset, get address() { return handle.address + e.offset; } };
  }

  /** How many functions (executable sections) the object defined or declared. */
  get functions(): number {
    return this.#handles.filter((h) => h.kind === 'function').length;
  }

  /** Of a lazily loaded object's functions, how many have been compiled (materialized) so far. */
  get materialized(): number {
    let count = 0;
    for (const handle of this.#lazy) if (!handle.freed && symbolKind(this.#heap, handle.name) === 'function') count++;
    return count;
  }

  /** Runs the constructors (.init_array, by priority then in order), once; for `constructors: 'defer'`. */
  runConstructors(): void {
    this.#live();
    if (this.#constructed) return;
    this.#constructed = true;
    for (const c of this.#constructors) this.#heap.call(this.#function(c));
  }

  /** The handle that runs a constructor or destructor: its node's, or an entry at its offset. */
  #function(c: Constructor): Handle {
    const node = this.#byNode.get(c.node)!;
    return c.offset === 0 ? node : this.#entry(`${this.name}:${c.node}+0x${c.offset.toString(16)}@entry`, node, c.offset);
  }

  /**
   * Unloads: the destructors run (.fini_array in reverse, when the constructors ran), the object's
   * handles go, and what only it held is reclaimed now, cycles included. Twice does nothing.
   * A destructor that throws still leaves the object unloaded; its error is thrown after.
   */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    try {
      if (this.#constructed) for (let i = this.#destructors.length - 1; i >= 0; i--) this.#heap.call(this.#function(this.#destructors[i]!));
    } finally {
      this.#heap.unload([...this.#entries, ...this.#handles]);
      const registry = objectsOf(this.#heap);
      for (const [name, e] of this.#exports) if (registry.exports.get(name) === e) registry.exports.delete(name);
      registry.names.delete(this.name);
    }
  }

  [Symbol.dispose](): void {
    this.free();
  }

  #live(): void {
    if (this.#freed) throw new CodeHeapError('USE_AFTER_FREE', `${this.name} was unloaded`);
  }

  static {
    createLoadedObject = (heap, name, handles, exports, constructors, destructors, lazy) =>
      new LoadedObject(TOKEN, heap, name, handles, exports, constructors, destructors, lazy);
  }
}
