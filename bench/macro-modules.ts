// The code the JIT-like workload loads: the runtime and the generated modules, as x86-64 machine
// code with the relocations that tie functions, counters and vtables together.
//
// The sizes and counts below are WORKLOAD's (bench/macro-config.ts):
//  - a long-lived runtime module: 16 helpers (half of them call another helper) and a counters
//    global, held for the whole run;
//  - modules of 64 functions of mixed sizes (16..512 bytes at tier 1, most of them small), each
//    incrementing its own counter in the module's counters global (`inc qword [rip+disp32]`,
//    R_X86_64_PC32 with addend 8i - 4) and making 1..6 calls (`call rel32`, R_X86_64_PLT32,
//    addend -4) to runtime helpers, to itself (recursion), to a later function (a back edge:
//    mutual recursion) or to an earlier one. Function 0, the module's initializer, also takes the
//    address of each of the module's two vtables (`lea`, R_X86_64_PC32). A vtable is a global of
//    eight 8-byte slots (R_X86_64_64): function pointers, through stubs, to the module's functions
//    and to one runtime helper. So a module is full of cycles through code and through data, and
//    unloading it leaves most of it to the cycle collector.

import type {
  FunctionBody, FunctionDefinition, GlobalDefinition, Handle, Relocation, Unit,
} from '../src/index.js';
import type { MacroConfig } from './macro-config.js';
import type { XorShift32 } from './shapes.js';

// ---- machine code ----
//
// Every function body is laid out as below; the bytes between the instructions are `nop`s, which
// is all a heap that never scans code needs. Each field is where its relocation says it is.
//
//   +0        48 FF 05 d32   inc qword [rip+counters+8i]  R_X86_64_PC32 counters, A = 8i - 4
//   +7        48 8D 05 d32   lea rax, [rip+vtable]        R_X86_64_PC32 vtable, A = -4  (init only)
//   ...       E8 d32         call target                  R_X86_64_PLT32 target, A = -4
//   ...       90 ...         nop
//   +size-1   C3             ret

const INC_SIZE = 7;
const LEA_SIZE = 7;
const CALL_SIZE = 5;
const RET_SIZE = 1;
const MIN_SIZE = 16;
const MAX_SIZE = 512;
/** Tier t's body is TIER_GROWTH[t - 1] times tier 1's size: an optimizing tier emits more code. */
const TIER_GROWTH = [1, 1.5, 2] as const;

function emit(size: number, counters: string, index: number, leas: readonly string[], calls: readonly string[]): FunctionBody {
  const needed = INC_SIZE + LEA_SIZE * leas.length + CALL_SIZE * calls.length + RET_SIZE;
  if (needed > size) throw new RangeError(`macro bench: ${calls.length} calls and ${leas.length} leas need ${needed} bytes, the body has ${size}`);
  const code = new Uint8Array(size).fill(0x90);
  const relocations: Relocation[] = [];
  code[0] = 0x48;
  code[1] = 0xff;
  code[2] = 0x05;
  relocations.push({ offset: 3, type: 'R_X86_64_PC32', symbol: counters, addend: 8 * index - 4 });
  let at = INC_SIZE;
  for (const symbol of leas) {
    code[at] = 0x48;
    code[at + 1] = 0x8d;
    code[at + 2] = 0x05;
    relocations.push({ offset: at + 3, type: 'R_X86_64_PC32', symbol, addend: -4 });
    at += LEA_SIZE;
  }
  for (const symbol of calls) {
    code[at] = 0xe8;
    relocations.push({ offset: at + 1, type: 'R_X86_64_PLT32', symbol, addend: -4 });
    at += CALL_SIZE;
  }
  code[size - 1] = 0xc3;
  return { code, relocations };
}

/** An 8-byte counter per function, zero-filled. */
export function counters(name: string, count: number): GlobalDefinition {
  return { name, size: 8 * count };
}

function runtimeName(i: number): string {
  return `rt.f${i}`;
}

export const RUNTIME_COUNTERS = 'rt.counters';

/** The runtime: helpers of 48 bytes; helper i < n/2 calls helper i + n/2, so it has an outgoing site. */
export function runtimeModule(n: number): FunctionDefinition[] {
  const functions: FunctionDefinition[] = [];
  for (let i = 0; i < n; i++) {
    const calls = i < n / 2 ? [runtimeName(i + n / 2)] : [];
    functions.push({ name: runtimeName(i), ...emit(48, RUNTIME_COUNTERS, i, [], calls) });
  }
  return functions;
}

// ---- modules ----

/** One loaded (or about to be loaded) module and the simulation's view of its functions. */
export interface Module {
  readonly id: number;
  readonly names: readonly string[];
  readonly counterName: string;
  /** Per function: tier 1's size, the vtables it takes the address of, its calls at tier 1 and above. */
  readonly sizes: readonly number[];
  readonly leas: readonly (readonly string[])[];
  readonly tier1Calls: readonly (readonly string[])[];
  readonly optimizedCalls: readonly (readonly string[])[];
  /** bodies[i][t - 1]: function i's body at tier t, made when first needed (most never tier up). */
  readonly bodies: (FunctionBody | undefined)[][];
  readonly functions: FunctionDefinition[];
  readonly globals: GlobalDefinition[];
  unit: Unit | undefined;
  readonly handles: Handle[];
  /** Current tier (1..3), calls so far, last step called, and 1 while evicted, per function. */
  readonly tier: Uint8Array;
  readonly calls: Int32Array;
  readonly lastCalled: Int32Array;
  readonly lazy: Uint8Array;
}

/** A value in [0, 1). */
export function unit01(random: XorShift32): number {
  return random.next() / 0x1_0000_0000;
}

/** Builds module `id` (names m<id>.*) from the shape stream: tier 1 bodies now, the others when first needed. */
export function generateModule(id: number, config: MacroConfig, random: XorShift32): Module {
  const m = config.functionsPerModule;
  const prefix = `m${id}.`;
  const names = Array.from({ length: m }, (_, i) => `${prefix}f${i}`);
  const counterName = `${prefix}counters`;
  const vtables = Array.from({ length: config.vtablesPerModule }, (_, v) => `${prefix}vt${v}`);
  const runtime = (): string => runtimeName(random.below(config.runtimeFunctions));
  const sizes: number[] = [];
  const leasOf: (readonly string[])[] = [];
  const tier1Calls: string[][] = [];
  const optimizedCalls: string[][] = [];
  for (let i = 0; i < m; i++) {
    const leas = i === 0 ? vtables : [];
    // Sizes skew small (u^2), as most JIT-compiled functions are; the initializer fits its leas.
    let size = MIN_SIZE + Math.floor((MAX_SIZE - MIN_SIZE + 1) * unit01(random) ** 2);
    if (i === 0) size = Math.max(size, 64);
    const room = Math.floor((size - INC_SIZE - LEA_SIZE * leas.length - RET_SIZE) / CALL_SIZE);
    const callCount = Math.max(1, Math.min(room, 1 + Math.floor(size / 96)));
    const tier1: string[] = [];
    for (let c = 0; c < callCount; c++) {
      const r = unit01(random);
      if (r < 0.25) tier1.push(runtime());
      else if (r < 0.35) tier1.push(names[i]!);
      else if (r < 0.5) tier1.push(i + 1 < m ? names[i + 1 + random.below(m - i - 1)]! : names[i]!);
      else tier1.push(i > 0 ? names[random.below(i)]! : runtime());
    }
    // The optimizing tiers inline half the runtime calls and call a sibling (or itself) directly.
    const optimized = tier1.filter((s) => !s.startsWith('rt.') || unit01(random) < 0.5);
    optimized.push(names[random.below(i + 1)]!);
    sizes.push(size);
    leasOf.push(leas);
    tier1Calls.push(tier1);
    optimizedCalls.push(optimized);
  }
  const globals: GlobalDefinition[] = [counters(counterName, m)];
  for (const vt of vtables) {
    const relocations: Relocation[] = [{ offset: 0, type: 'R_X86_64_64', symbol: runtime() }];
    for (let s = 1; s < config.vtableSlots; s++) {
      relocations.push({ offset: 8 * s, type: 'R_X86_64_64', symbol: names[random.below(m)]! });
    }
    globals.push({ name: vt, size: 8 * config.vtableSlots, relocations });
  }
  const module: Module = {
    id, names, counterName, sizes, leas: leasOf, tier1Calls, optimizedCalls,
    bodies: Array.from({ length: m }, () => new Array<FunctionBody | undefined>(TIER_GROWTH.length).fill(undefined)),
    functions: [], globals, unit: undefined, handles: [],
    tier: new Uint8Array(m).fill(1), calls: new Int32Array(m), lastCalled: new Int32Array(m), lazy: new Uint8Array(m),
  };
  for (let i = 0; i < m; i++) module.functions.push({ name: names[i]!, ...bodyAt(module, i, 1) });
  return module;
}

/** Function i's body at tier t (1-based), made once. */
export function bodyAt(module: Module, i: number, tier: number): FunctionBody {
  const made = module.bodies[i]![tier - 1];
  if (made !== undefined) return made;
  const size = Math.round(module.sizes[i]! * TIER_GROWTH[tier - 1]!);
  const calls = tier === 1 ? module.tier1Calls[i]! : module.optimizedCalls[i]!;
  const body = emit(size, module.counterName, i, module.leas[i]!, calls);
  module.bodies[i]![tier - 1] = body;
  return body;
}
