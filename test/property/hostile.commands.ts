// Every public call of the heap as a plain-data command whose arguments are hostile recipes, and
// the one function that builds a command's arguments and runs it through step()'s laws; then
// new CodeHeap(hostile options), followed by a small workload through what the options gave.

import { fc } from '@fast-check/vitest';
import { expect } from 'vitest';
import {
  CodeHeap, CodeHeapError, Handle, Pin, type CodeHeapOptions, type Unit, type UnitDefinition,
} from '../../src/index.js';
import { build, type Channel, type Ctx, type Recipe, type ResizableBuffer } from './hostile.values.js';
import { callbackArb, recipeArb } from './hostile.arbitraries.js';
import {
  CODE_BYTES, FRESH_NAMES, argumentSlot, bodySlot, compileSlot, handleSlot, issued, nameSlot, optionsSlot, pinIssued, pinSlot,
  readAddressSlot, readLengthSlot, resolveSlot, unitSlot,
} from './hostile.slots.js';
import { asUnit, describeError, step, World, type Stage } from './hostile.harness.js';

export type Command =
  | { readonly call: 'define'; readonly unit: Recipe; readonly resolve: Recipe }
  | { readonly call: 'declare'; readonly name: Recipe; readonly compile: Recipe }
  | { readonly call: 'lookup'; readonly name: Recipe }
  | { readonly call: 'pointer' | 'evict' | 'pin' | 'free'; readonly handle: Recipe }
  | { readonly call: 'call'; readonly handle: Recipe; readonly args: readonly Recipe[] }
  | { readonly call: 'redefine'; readonly handle: Recipe; readonly body: Recipe; readonly resolve: Recipe }
  | { readonly call: 'materialize'; readonly handle: Recipe; readonly compile: Recipe; readonly resolve: Recipe }
  | { readonly call: 'handle.free' | 'handle[Symbol.dispose]' | 'handle.address'; readonly handle: Recipe }
  | { readonly call: 'pin.release'; readonly pin: Recipe }
  | { readonly call: 'node'; readonly name: Recipe }
  | { readonly call: 'node'; readonly handle: Recipe }
  | { readonly call: 'unit.get'; readonly unit: number; readonly name: Recipe }
  | { readonly call: 'read'; readonly address: Recipe; readonly length: Recipe }
  | { readonly call: 'collectCycles' | 'stats' | 'verify' | 'toDot' };

const handle = recipeArb(handleSlot);
const resolve = callbackArb(resolveSlot);
const compile = callbackArb(compileSlot);
const withHandle = <C extends string>(call: C) => fc.record({ call: fc.constant(call), handle });

export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ call: fc.constant('define' as const), unit: recipeArb(unitSlot), resolve }) },
  { weight: 2, arbitrary: fc.record({ call: fc.constant('declare' as const), name: recipeArb(nameSlot), compile: recipeArb(compileSlot) }) },
  { weight: 1, arbitrary: fc.record({ call: fc.constant('lookup' as const), name: recipeArb(nameSlot) }) },
  { weight: 2, arbitrary: fc.oneof(withHandle('pointer'), withHandle('evict'), withHandle('pin'), withHandle('free')) },
  { weight: 1, arbitrary: fc.record({ call: fc.constant('call' as const), handle, args: fc.array(recipeArb(argumentSlot), { maxLength: 7 }) }) },
  { weight: 4, arbitrary: fc.record({ call: fc.constant('redefine' as const), handle, body: recipeArb(bodySlot), resolve }) },
  { weight: 3, arbitrary: fc.record({ call: fc.constant('materialize' as const), handle, compile, resolve }) },
  { weight: 3, arbitrary: fc.oneof(withHandle('handle.free'), withHandle('handle[Symbol.dispose]'), withHandle('handle.address')) },
  { weight: 1, arbitrary: fc.record({ call: fc.constant('pin.release' as const), pin: recipeArb(pinSlot) }) },
  { weight: 1, arbitrary: fc.oneof(fc.record({ call: fc.constant('node' as const), name: recipeArb(nameSlot) }), withHandle('node')) },
  { weight: 1, arbitrary: fc.record({ call: fc.constant('unit.get' as const), unit: fc.nat(3), name: recipeArb(nameSlot) }) },
  { weight: 1, arbitrary: fc.record({ call: fc.constant('read' as const), address: recipeArb(readAddressSlot), length: recipeArb(readLengthSlot) }) },
  { weight: 1, arbitrary: fc.constantFrom('collectCycles' as const, 'stats' as const, 'verify' as const, 'toDot' as const).map((call) => ({ call })) },
);

/** Whether the value has the class's prototype (a revoked proxy has none that can be asked). */
function hasPrototype(value: unknown, proto: object): boolean {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return false;
  try {
    return proto.isPrototypeOf(value);
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/** Builds the command's arguments in a fresh context and runs it under step()'s laws. */
export function runCommand(world: World, command: Command): void {
  const ctx = world.context();
  world.callbacks(ctx, 'ok', 'ok');
  const { heap } = world;
  const take = (recipe: Recipe): Handle => build(recipe, handleSlot, ctx) as Handle;
  const mustThrow = (recipe: Recipe): boolean => issued(recipe) === 'no';
  switch (command.call) {
    case 'define': {
      world.callbacks(ctx, command.resolve, 'ok');
      const unit = asUnit(build(command.unit, unitSlot, ctx));
      adopt(world, step(world, 'define', () => heap.define(unit)).value);
      return;
    }
    case 'declare': {
      const name = build(command.name, nameSlot, ctx) as string;
      const callback = build(command.compile, compileSlot, ctx) as Parameters<typeof heap.declare>[1];
      adopt(world, step(world, 'declare', () => heap.declare(name, callback)).value);
      return;
    }
    case 'lookup': {
      const name = build(command.name, nameSlot, ctx) as string;
      adopt(world, step(world, 'lookup', () => heap.lookup(name)).value);
      return;
    }
    case 'pointer': case 'pin': {
      const h = take(command.handle);
      const call = command.call;
      adopt(world, step(world, call, () => heap[call](h), { mustThrow: mustThrow(command.handle) }).value);
      return;
    }
    case 'evict': case 'free': {
      const h = take(command.handle);
      const call = command.call;
      step(world, call, () => heap[call](h), { mustThrow: mustThrow(command.handle) });
      return;
    }
    case 'call': {
      const h = take(command.handle);
      const args = command.args.map((r) => build(r, argumentSlot, ctx)) as (number | bigint)[];
      step(world, 'call', () => heap.call(h, ...args), {
        readOnly: true, mustThrow: true, codes: ['NOT_EXECUTABLE', 'INVALID_ARGUMENT', 'USE_AFTER_FREE'],
      });
      return;
    }
    case 'redefine': {
      world.callbacks(ctx, command.resolve, 'ok');
      const h = take(command.handle);
      const body = build(command.body, bodySlot, ctx) as Parameters<typeof heap.redefine>[1];
      step(world, 'redefine', () => heap.redefine(h, body), { mustThrow: mustThrow(command.handle) });
      return;
    }
    case 'materialize': {
      world.callbacks(ctx, command.resolve, command.compile);
      const h = take(command.handle);
      step(world, 'materialize', () => heap.materialize(h), { mustThrow: mustThrow(command.handle) });
      return;
    }
    case 'handle.free': case 'handle[Symbol.dispose]': case 'handle.address': {
      const h = take(command.handle);
      if (!hasPrototype(h, Handle.prototype)) return; // no code of the library would run
      const run = command.call === 'handle.free' ? () => h.free()
        : command.call === 'handle[Symbol.dispose]' ? () => h[Symbol.dispose]() : () => h.address;
      const reading = command.call === 'handle.address';
      // A handle of another heap frees itself in that heap: its own methods accept it.
      const foreign = typeof command.handle === 'object' && command.handle !== null && 'alt' in command.handle
        && command.handle.alt === 'foreign';
      step(world, command.call, run, { readOnly: reading, mustThrow: !reading && !foreign && mustThrow(command.handle) });
      return;
    }
    case 'pin.release': {
      const pin = build(command.pin, pinSlot, ctx) as Pin;
      if (!hasPrototype(pin, Pin.prototype)) return;
      step(world, 'pin.release', () => pin.release(), { mustThrow: pinIssued(command.pin) === 'no' });
      return;
    }
    case 'node': {
      if ('name' in command) {
        const name = build(command.name, nameSlot, ctx) as string;
        step(world, 'node', () => heap.node(name), { readOnly: true });
        return;
      }
      const subject = take(command.handle);
      const outcome = step(world, 'node', () => heap.node(subject), { readOnly: true });
      // A string is a name; anything else the heap never issued is no handle of it.
      if (typeof subject !== 'string' && mustThrow(command.handle) && outcome.value !== undefined) {
        expect.fail(`node: answered with ${outcome.value.name}'s NodeInfo for a value the heap never issued`);
      }
      return;
    }
    case 'unit.get': {
      const unit: Unit = ctx.unitAt(command.unit);
      const name = build(command.name, nameSlot, ctx) as string;
      step(world, 'unit.get', () => unit.get(name), { readOnly: true });
      return;
    }
    case 'read': {
      const address = build(command.address, readAddressSlot, ctx) as number;
      const length = build(command.length, readLengthSlot, ctx) as number;
      // Scribbling on the result must not reach the heap: read returns a copy.
      step(world, 'read', () => heap.read(address, length).fill(0xfe), { readOnly: true });
      return;
    }
    case 'collectCycles': step(world, 'collectCycles', () => heap.collectCycles()); return;
    case 'stats': step(world, 'stats', () => heap.stats(), { readOnly: true }); return;
    case 'verify': step(world, 'verify', () => heap.verify(), { readOnly: true }); return;
    case 'toDot': step(world, 'toDot', () => heap.toDot(), { readOnly: true }); return;
  }
}

function adopt(world: World, value: unknown): void {
  if (value !== undefined) world.adopt(value);
}

// ---- new CodeHeap(options), then a small workload through the callbacks the options gave ----

const WORKLOAD_NAMES = ['w', 'wg', 'wl', 'wx', ...FRESH_NAMES];

function optionsContext(thrown: WeakMap<object, Channel>, reported: unknown[]): Ctx {
  const none = (): never => expect.fail('options recipes name no handle, pin or unit');
  let names = 0;
  const resizable: ResizableBuffer[] = [];
  return {
    get heap(): CodeHeap { return none(); },
    get other(): CodeHeap { return none(); },
    handleAt: none, foreignHandle: none, freedHandle: none, pinAt: none, unitAt: none,
    freshName: () => FRESH_NAMES[names++ % FRESH_NAMES.length]!,
    resizable, detachable: [], lists: [], thrown, reported,
  };
}

/**
 * define (w calls itself and loads wg, wg points at w), define of a function calling 'ext' (so
 * resolveExternal runs), declare and materialize (the compile option), pointer, evict,
 * materialize, read, free, collectCycles, toDot: each under step()'s laws.
 */
function workload(stage: Stage & { handles: Handle[] }): void {
  const { heap } = stage;
  const run = <T>(what: string, call: () => T): T | undefined => step(stage, what, call).value;
  const unit = run('define', () => heap.define({
    functions: [{
      name: 'w', code: Uint8Array.from(CODE_BYTES),
      relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'w', addend: -4 }, { offset: 7, type: 'R_X86_64_64', symbol: 'wg' }],
    }],
    globals: [{ name: 'wg', size: 16, relocations: [{ offset: 0, type: 'R_X86_64_64', symbol: 'w' }] }],
  } satisfies UnitDefinition));
  const external = run('define (calling resolveExternal)', () => heap.define({
    functions: [{ name: 'wx', code: Uint8Array.from(CODE_BYTES), relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'ext', addend: -4 }] }],
  }));
  const lazy = run('declare', () => heap.declare('wl'));
  if (lazy !== undefined) {
    stage.handles.push(lazy);
    run('materialize (the heap\'s compile option)', () => heap.materialize(lazy));
  }
  if (unit !== undefined) {
    const w = unit.get('w');
    stage.handles.push(w, unit.get('wg'));
    const pointer = run('pointer', () => heap.pointer(w));
    if (pointer !== undefined) stage.handles.push(pointer);
    run('evict', () => heap.evict(w));
    run('materialize', () => heap.materialize(w));
    run('read', () => heap.read(heap.stats().code.address, 16));
    run('free', () => unit.free());
    if (pointer !== undefined) run('free', () => heap.free(pointer));
  }
  if (external !== undefined) run('free', () => external.free());
  run('collectCycles', () => heap.collectCycles());
  run('toDot', () => heap.toDot());
}

/** new CodeHeap(options built from the recipe), then the workload: see constructAndUse. */
export function runConstruction(recipe: Recipe): void {
  const thrown = new WeakMap<object, Channel>();
  const reported: unknown[] = [];
  constructAndUse(build(recipe, optionsSlot, optionsContext(thrown, reported)), thrown, reported);
}

/**
 * new CodeHeap(options) throws a CodeHeapError (or the error of the caller's own getter or
 * callback), or the heap it makes keeps every law through the workload.
 */
export function constructAndUse(options: unknown, thrown = new WeakMap<object, Channel>(), reported: unknown[] = []): void {
  let heap: CodeHeap;
  try {
    heap = new CodeHeap(options as CodeHeapOptions);
  } catch (error) {
    const channel = typeof error === 'object' && error !== null ? thrown.get(error) : undefined;
    if (error instanceof CodeHeapError || (channel !== undefined && channel !== 'coercion')) return;
    return expect.fail(`new CodeHeap: ${describeError(error)} escaped`);
  }
  workload({ heap, names: WORKLOAD_NAMES, handles: [], canaries: [], thrown, reported });
}
