// The heap a hostile caller attacks, and the laws every one of its calls must keep.
//
// A World is one heap with a small fixture (f calls g and loads v, v points at f, a lazy function,
// a pointer handle, a freed handle, a released pin) and canaries: a 16-byte function and a 16-byte
// global right after a freed 16-byte hole, so the next 16-byte block placed lands in the hole and a
// copy that runs past its block writes over a canary. Beside it, a second heap, whose handles are
// foreign to the first.
//
// step() runs one public call and checks, through the public API only:
//  - it returns or throws a CodeHeapError; the only other error allowed through is one the caller's
//    own getter or callback threw (the very object, as a compile callback's error reaches
//    the caller), never one from the library's own code and never one from coercing a caller's value;
//  - given a value the heap never issued where a handle or pin goes, it throws (and so changes nothing);
//  - verify() passes after it, on both heaps;
//  - an observer method's error never reaches the call: the observer's own `error` method hears
//    of it, and of nothing else;
//  - when it threw, or it only reads, the heap is unchanged: stats(), node() of every known name and held
//    handle, and every byte of both arenas (laws.ts snapshot/expectUnchanged); a collection it ran
//    may be counted, and frees nothing, since step() collects the garbage before the call;
//  - the canaries' bytes are intact, and every function and global is found by a name the caller
//    gave as a string: none under '' and none under a coerced or re-read value.

import { expect } from 'vitest';
import {
  CodeHeap, CodeHeapError, Handle, Pin, Unit, type CompileCallback, type ErrorCode, type UnitDefinition,
} from '../../src/index.js';
import { expectUnchanged, snapshot, type Snapshot } from './laws.js';
import { build, type Channel, type Ctx, type Recipe, type ResizableBuffer } from './hostile.values.js';
import {
  CODE_BYTES, CODE_SIZE, DATA_SIZE, FRESH_NAMES, INVALID_NAMES, KNOWN_NAMES, compileSlot, resolveDefault, resolveSlot,
} from './hostile.slots.js';

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

export interface Canary {
  readonly name: string;
  readonly address: number;
  readonly bytes: Uint8Array;
}

/** What step() checks a call against: a heap, what it may be asked about, and its canaries. */
export interface Stage {
  readonly heap: CodeHeap;
  /** A second heap the call must leave intact (its handles are foreign to `heap`). */
  readonly other?: CodeHeap;
  /** Every string a run can give as a name. */
  readonly names: readonly string[];
  readonly handles: readonly Handle[];
  readonly canaries: readonly Canary[];
  readonly thrown: WeakMap<object, Channel>;
  /** What the observer's `error` method heard of (see Ctx.reported). */
  readonly reported: unknown[];
}

export class World implements Stage {
  readonly heap: CodeHeap;
  readonly names = KNOWN_NAMES;
  readonly other: CodeHeap;
  readonly handles: Handle[] = [];
  readonly pins: Pin[] = [];
  readonly units: Unit[] = [];
  readonly thrown = new WeakMap<object, Channel>();
  readonly reported: unknown[] = [];
  readonly freed: Handle;
  readonly foreign: Handle;
  readonly releasedPin: Pin;
  readonly canaries: Canary[] = [];
  /** What the heap's resolveExternal and compile options do during the current call. */
  resolve: (name: string) => unknown = resolveDefault;
  compile: CompileCallback;
  #names = 0;

  constructor() {
    this.compile = compileSlot.valid(this.context()) as CompileCallback;
    this.heap = new CodeHeap({
      arch: 'x86_64', codeSize: CODE_SIZE, dataSize: DATA_SIZE, cycleThreshold: Infinity,
      resolveExternal: (name) => this.resolve(name) as number | undefined,
      compile: (name, api) => this.compile(name, api),
    });
    const { heap } = this;
    const main = this.adopt(defineFixture(heap));
    this.adopt(heap.declare('lazy'));
    this.adopt(heap.pointer(main.get('f')));
    this.freed = heap.lookup('g');
    this.freed.free();
    this.releasedPin = heap.pin(main.get('g'));
    this.releasedPin.release();
    const canaries = heap.define({
      functions: [{ name: 'hole', code: bytes(16, 0x90) }, { name: 'canary', code: bytes(16, 0xa5) }],
      globals: [{ name: 'dhole', data: bytes(16, 0) }, { name: 'dcanary', data: bytes(16, 0x5a) }],
    });
    canaries.get('hole').free();
    canaries.get('dhole').free();
    for (const name of ['canary', 'dcanary']) {
      const address = heap.node(name)!.address;
      this.canaries.push({ name, address, bytes: heap.read(address, 16) });
    }
    this.other = new CodeHeap({ arch: 'x86_64', codeSize: CODE_SIZE, dataSize: DATA_SIZE, cycleThreshold: Infinity });
    this.foreign = defineFixture(this.other).get('f');
    heap.verify();
  }

  /** A fresh build context for one call: its own buffers and arrays for mischief to reach. */
  context(): Ctx {
    const resizable: ResizableBuffer[] = [];
    // Getters: the compile option's default is built before the heaps exist.
    const world = this;
    return {
      get heap() { return world.heap; },
      get other() { return world.other; },
      handleAt: (i) => this.handles[i % this.handles.length]!,
      foreignHandle: () => this.foreign,
      freedHandle: () => this.freed,
      pinAt: (i) => (this.pins.length === 0 ? this.releasedPin : this.pins[i % this.pins.length]!),
      unitAt: (i) => this.units[i % this.units.length]!,
      freshName: () => FRESH_NAMES[this.#names++ % FRESH_NAMES.length]!,
      resizable, detachable: [], lists: [], thrown: this.thrown, reported: this.reported,
    };
  }

  /** The first unfreed handle held on name (the fixture's own for f, g, v, lazy). */
  named(name: string): Handle {
    const handle = this.handles.find((h) => !h.freed && h.name === name);
    if (handle === undefined) return expect.fail(`no handle on ${name}`);
    return handle;
  }

  adopt<T>(value: T): T {
    if (value instanceof Handle) this.handles.push(value);
    else if (value instanceof Pin) this.pins.push(value);
    else if (value instanceof Unit) {
      this.units.push(value);
      for (const h of value.handles()) this.handles.push(h);
    }
    return value;
  }

  /** Sets what the heap's resolveExternal and compile options do during the next call. */
  callbacks(ctx: Ctx, resolve: Recipe, compile: Recipe): void {
    this.resolve = build(resolve, resolveSlot, ctx) as (name: string) => unknown;
    this.compile = build(compile, compileSlot, ctx) as CompileCallback;
  }

}

/** node() subjects: every name a run can give, and every handle held. */
function subjects(stage: Stage): (string | Handle)[] {
  return [...stage.names, ...INVALID_NAMES, ...stage.handles.filter((h) => !h.freed)];
}

/** f calls g and loads v; v holds f's pointer (its stub). */
function defineFixture(heap: CodeHeap): Unit {
  return heap.define({
    functions: [
      { name: 'g', code: Uint8Array.from([0xb8, 1, 0, 0, 0, 0xc3]) },
      {
        name: 'f', code: Uint8Array.from(CODE_BYTES),
        relocations: [
          { offset: 1, type: 'R_X86_64_PLT32', symbol: 'g', addend: -4 },
          { offset: 7, type: 'R_X86_64_64', symbol: 'v' },
        ],
      },
    ],
    globals: [{ name: 'v', data: bytes(16, 0), relocations: [{ offset: 0, type: 'R_X86_64_64', symbol: 'f' }] }],
  });
}

// ---- the laws of one call ----

export interface StepOptions {
  /** The call only reads: it changes nothing even when it returns. */
  readonly readOnly?: boolean;
  /** The call was given a value the heap never issued where a handle or pin goes: it must throw. */
  readonly mustThrow?: boolean;
  /** The only codes the call may throw, when the contract names them. */
  readonly codes?: readonly ErrorCode[];
}

export interface Outcome<T> {
  readonly returned: boolean;
  readonly value: T | undefined;
}

/** An error as a report names it: its class, message, and the first frame in the library. */
export function describeError(error: unknown): string {
  // Errors of another realm (a vm context's TypeError) are not instances of this realm's Error.
  if (Object.prototype.toString.call(error) !== '[object Error]') return `a thrown ${typeof error}`;
  const { name, message, stack } = error as Error;
  const realm = error instanceof Error ? '' : ' (of another realm)';
  const frame = stack?.split('\n').find((line) => line.includes('/src/'))?.trim().replace(/^at /, '');
  return `${name}${realm}: ${message.split('\n')[0]}${frame === undefined ? '' : ` (at ${frame.replace(/.*\/src\//, 'src/')})`}`;
}

function safeSnapshot(stage: Stage, what: string, when: string): Snapshot {
  try {
    return snapshot(stage.heap, subjects(stage));
  } catch (error) {
    return expect.fail(`${what}: ${when}, reading the heap (stats, node, read) threw ${describeError(error)}`);
  }
}

function expectVerifies(heap: CodeHeap, what: string, which: string): void {
  try {
    heap.verify();
  } catch (error) {
    expect.fail(`${what}: ${which}verify() then threw ${describeError(error)}`);
  }
}

export function step<T>(world: Stage, what: string, call: () => T, options: StepOptions = {}): Outcome<T> {
  const { heap } = world;
  try {
    heap.collectCycles();
  } catch (error) {
    expect.fail(`${what}: collectCycles() before the call threw ${describeError(error)}`);
  }
  expectReported(world, `${what}: collectCycles() before the call`);
  const before = safeSnapshot(world, what, 'before the call');
  let returned = false;
  let value: T | undefined;
  let thrown: unknown;
  try {
    value = call();
    returned = true;
  } catch (error) {
    thrown = error;
  }
  if (!returned) {
    const channel = typeof thrown === 'object' && thrown !== null ? world.thrown.get(thrown) : undefined;
    // An observer is isolated from the call that caused its events: its error goes to its own
    // `error` method, never to the caller.
    if (!(thrown instanceof CodeHeapError) && (channel === undefined || channel === 'coercion' || channel === 'observer')) {
      const how = channel === 'coercion' ? ' (the library coerced a caller\'s value)' : channel === 'observer' ? ' (an observer\'s error reached the call)' : '';
      expect.fail(`${what}: ${describeError(thrown)} escaped${how}`);
    }
    if (thrown instanceof CodeHeapError && options.codes !== undefined && !options.codes.includes(thrown.code)) {
      expect.fail(`${what}: threw ${thrown.code} (${thrown.message}); expected ${options.codes.join(' or ')}`);
    }
  } else if (options.mustThrow === true) {
    expect.fail(`${what}: accepted a value the heap never issued (it returned ${typeof value})`);
  }
  expectReported(world, what);
  expectVerifies(heap, what, returned ? 'returned; ' : `threw ${describeError(thrown)}; `);
  if (world.other !== undefined) expectVerifies(world.other, what, 'the other heap: ');
  const after = safeSnapshot(world, what, 'after the call');
  if (!returned || options.readOnly === true) {
    const collections = after.stats.collections - before.stats.collections;
    const why = returned ? 'a reading call' : `threw ${describeError(thrown)}, and`;
    if (collections < 0 || collections > (returned ? 0 : 2)) expect.fail(`${what}: ${why} ran ${collections} collections`);
    expectUnchanged(before, after, { collections, held: before.stats.nodes.total + 1 }, `${what} ${why} changed the heap`);
  }
  expectCanaries(world, what);
  expectNamesGiven(world, what, after);
  return { returned, value };
}

/** Every error the observer's `error` method heard of was thrown by one of the observer's methods. */
function expectReported(world: Stage, what: string): void {
  for (const error of world.reported.splice(0)) {
    const channel = typeof error === 'object' && error !== null ? world.thrown.get(error) : undefined;
    if (channel !== 'observer') expect.fail(`${what}: the observer's error method heard of ${describeError(error)}, which no observer method threw`);
  }
}

function expectCanaries(world: Stage, what: string): void {
  for (const canary of world.canaries) {
    if (world.heap.node(canary.name)?.address !== canary.address) continue;
    const now = world.heap.read(canary.address, canary.bytes.length);
    const at = now.findIndex((b, i) => b !== canary.bytes[i]);
    if (at >= 0) {
      expect.fail(`${what}: wrote over ${canary.name} at 0x${(canary.address + at).toString(16)} (0x${canary.bytes[at]!.toString(16)} -> 0x${now[at]!.toString(16)}): a copy ran past its block`);
    }
  }
}

function expectNamesGiven(world: Stage, what: string, after: Snapshot): void {
  const asked = subjects(world);
  for (const name of INVALID_NAMES) {
    if (after.nodes[asked.indexOf(name)] !== undefined) expect.fail(`${what}: a node is named ${JSON.stringify(name)}, which define refuses`);
  }
  const found = world.names.filter((name) => after.nodes[asked.indexOf(name)] !== undefined).length;
  const { functions, globals } = after.stats.nodes;
  if (found !== functions + globals) {
    expect.fail(`${what}: ${functions + globals} functions and globals, ${found} of them under a name the caller gave as a string (a name was re-read or coerced after it was checked)`);
  }
}

export function asUnit(value: unknown): UnitDefinition {
  return value as UnitDefinition;
}
