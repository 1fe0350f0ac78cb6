// The tiny JIT: a program's functions declared lazily (each is compiled at tier 0 on its first
// call, from inside the call, by codeheap's resolver), its tables and call counters defined as
// globals, hot functions recompiled at tier 1 with redefine (codeheap backpatches every call to
// them; the tables point through stubs and do not change), and the whole program unloaded at once.

import type { CodeHeap, Handle, Unit } from '../../src/index.js';
import { compile, counterOf, type Tier } from './emit.js';
import { parse, type Program } from './language.js';

/** Calls at tier 0 before a function is recompiled at tier 1. */
export const HOT = 50;

export interface Loaded {
  readonly program: Program;
  /** Each function's handle (held by the program until it is unloaded). */
  readonly functions: ReadonlyMap<string, Handle>;
  readonly tiers: Map<string, Tier>;
  readonly globals: Unit;
  /** The source file name in its line tables. */
  readonly file: string | undefined;
}

export class TinyJit {
  /** Functions compiled so far, by tier: what the tests and the demo look at. */
  readonly compiled = { tier0: 0, tier1: 0 };

  constructor(readonly heap: CodeHeap) {}

  /**
   * Declares the program's functions (nothing is compiled yet) and defines its tables and
   * counters. `file` names the source in the code's line tables (a debugger shows `file:line`).
   */
  load(source: string, file = 'program.tiny'): Loaded {
    return this.loadProgram(parse(source), file);
  }

  /** load() of a program already parsed (or built as a tree); `file` as load's, none for no line tables. */
  loadProgram(program: Program, file?: string): Loaded {
    const tableSizes = new Map(program.tables.map((t) => [t.name, t.entries.length]));
    const tiers = new Map<string, Tier>();
    const functions = new Map<string, Handle>();
    for (const fn of program.functions) {
      // The compile callback runs on the first call: from heap.call's resolver, mid-call.
      functions.set(fn.name, this.heap.declare(fn.name, () => {
        tiers.set(fn.name, 0);
        this.compiled.tier0++;
        return compile(fn, 0, tableSizes, file);
      }));
    }
    const globals = this.heap.define({
      globals: [
        ...program.functions.map((fn) => ({ name: counterOf(fn.name), size: 8 })),
        ...program.tables.map((t) => ({
          name: t.name,
          size: 8 * t.entries.length,
          relocations: t.entries.map((entry, i) => ({ offset: 8 * i, type: 'R_X86_64_64' as const, symbol: entry, via: 'stub' as const })),
        })),
      ],
    });
    return { program, functions, tiers, globals, file };
  }

  /** Runs fn(...args), then recompiles what got hot. */
  run(loaded: Loaded, name: string, ...args: bigint[]): bigint {
    const handle = loaded.functions.get(name);
    if (handle === undefined) throw new Error(`no function ${name}`);
    const result = this.heap.call(handle, ...args);
    this.tierUp(loaded);
    return result;
  }

  /** Each tier-0 function called HOT times or more is compiled again at tier 1, in place of the old body. */
  tierUp(loaded: Loaded): void {
    const tableSizes = new Map(loaded.program.tables.map((t) => [t.name, t.entries.length]));
    for (const fn of loaded.program.functions) {
      if (loaded.tiers.get(fn.name) !== 0 || this.calls(loaded, fn.name) < HOT) continue;
      this.heap.redefine(loaded.functions.get(fn.name)!, compile(fn, 1, tableSizes, loaded.file));
      loaded.tiers.set(fn.name, 1);
      this.compiled.tier1++;
    }
  }

  /** How many times fn ran at tier 0 (its counter, read from the heap). */
  calls(loaded: Loaded, name: string): number {
    const counter = loaded.globals.get(counterOf(name));
    return Number(new DataView(this.heap.read(counter.address, 8).buffer).getBigUint64(0, true));
  }

  /** The whole program goes: its functions, stubs, tables and counters, cycles among them included. */
  unload(loaded: Loaded): number {
    return this.heap.unload([...loaded.functions.values(), ...loaded.globals.handles()]);
  }
}
