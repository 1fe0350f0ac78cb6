// CodeHeap options: read once, checked once, with defaults made explicit.
//
// The options object is read field by field exactly once (a getter or a proxy cannot hand the
// check one value and the heap another), and so is a Memory provider: its methods are taken once
// and the Region it reserves is copied into the heap's own record, each field checked (the bytes
// must be a Uint8Array holding both arenas, addresses it chooses must be whole pages in user space).

import { hex, invalid, rethrowLater, show } from './errors.js';
import { layoutProblem } from './heap/arenas.js';
import { arrayBufferMemory, type ArenaLayout, type Region } from './heap/region.js';
import { readInput } from './link/definitions.js';
import type { CodeHeapOptions, CompileCallback, Observer } from './types.js';
import { arrayBufferLength, isArrayBuffer, isResizable, plainUint8, uint8Length } from './base.js';

/**
 * Default target address of the code arena: 1 GiB. Low enough that every 32-bit relocation form
 * (R_X86_64_32, R_X86_64_32S) reaches a heap of up to 1 GiB, the small code model's assumption;
 * high enough to stay clear of a typical process's low mappings when native memory maps it there.
 */
export const DEFAULT_CODE_ADDRESS = 0x4000_0000;

/** Default automatic-collection threshold in candidates (PHP's collector starts at 10,000). */
export const DEFAULT_CYCLE_THRESHOLD = 10_000;

export interface ResolvedOptions {
  layout: ArenaLayout;
  /** The reserved memory, as the heap's own record of it. */
  region: Region;
  resolveExternal: ((name: string) => unknown) | undefined;
  compile: CompileCallback | undefined;
  cycleThreshold: number;
  adaptive: boolean;
  /** Milliseconds per automatic slice, or undefined (automatic collections run whole). */
  cyclePause: number | undefined;
  observer: Observer | undefined;
  validateCollections: boolean;
}

/** Reads and checks the options; reserves the memory last, once nothing else can be refused. */
export function resolveOptions(options: CodeHeapOptions): ResolvedOptions {
  const o = readInput('new CodeHeap', () => {
    if (typeof options !== 'object' || options === null) invalid(`new CodeHeap takes an options object, got ${show(options)}`);
    const { arch, codeSize, dataSize, codeAddress, dataAddress, memory, resolveExternal, compile, cycleThreshold, cyclePause, observer, validateCollections } =
      options as unknown as Record<string, unknown>;
    return { arch, codeSize, dataSize, codeAddress, dataAddress, memory, resolveExternal, compile, cycleThreshold, cyclePause, observer, validateCollections };
  });
  if (o.arch !== 'x86_64') invalid(`arch must be 'x86_64', got ${show(o.arch)}`);
  const provider = readInput('new CodeHeap: memory', () => memoryOf(o.memory));
  const layout = layoutAt(o.codeSize, o.dataSize, o.codeAddress ?? DEFAULT_CODE_ADDRESS, o.dataAddress);
  const problem = layoutProblem(layout);
  if (problem !== undefined) invalid(problem);
  if (isArrayBuffer(o.memory) && isResizable(o.memory)) {
    invalid('memory is a resizable ArrayBuffer: shrinking it would take the heap\'s bytes away; give a fixed-length one');
  }
  if (isArrayBuffer(o.memory) && arrayBufferLength(o.memory) < layout.codeSize + layout.dataSize) {
    invalid(`memory holds ${arrayBufferLength(o.memory)} bytes; the arenas need ${layout.codeSize + layout.dataSize}`);
  }
  for (const [key, value] of [['resolveExternal', o.resolveExternal], ['compile', o.compile]] as const) {
    if (value !== undefined && typeof value !== 'function') invalid(`${key} must be a function, got ${show(value)}`);
  }
  const threshold = o.cycleThreshold ?? 'auto';
  const adaptive = threshold === 'auto';
  if (!adaptive && !(typeof threshold === 'number' && threshold >= 1 && !Number.isNaN(threshold))) {
    invalid(`cycleThreshold must be 'auto' or a number of candidates >= 1 (Infinity for never), got ${show(threshold)}`);
  }
  if (o.cyclePause !== undefined && !(typeof o.cyclePause === 'number' && o.cyclePause > 0 && o.cyclePause < Infinity)) {
    invalid(`cyclePause must be a number of milliseconds > 0, got ${show(o.cyclePause)}`);
  }
  const observer = readInput('new CodeHeap: observer', () => observerOf(o.observer));
  if (o.validateCollections !== undefined && typeof o.validateCollections !== 'boolean') {
    invalid(`validateCollections must be a boolean, got ${show(o.validateCollections)}`);
  }
  // Last, once nothing else can be refused: a memory that maps real pages sets a range aside here.
  let placed = layout;
  if (o.codeAddress === undefined && o.dataAddress === undefined && provider.chooseAddress !== undefined) {
    const chosen = readInput('memory.chooseAddress', () => provider.chooseAddress!(layout.codeSize + layout.dataSize));
    if (chosen !== undefined) {
      if (typeof chosen !== 'number') invalid(`memory.chooseAddress returned ${show(chosen)}, not an address`);
      placed = layoutAt(o.codeSize, o.dataSize, chosen, undefined);
      const wrong = layoutProblem(placed);
      if (wrong !== undefined) invalid(`memory.chooseAddress returned ${hex(chosen)}: ${wrong}`);
    }
  }
  return {
    layout: placed,
    region: reserve(provider, placed),
    resolveExternal: o.resolveExternal as ResolvedOptions['resolveExternal'],
    compile: o.compile as CompileCallback | undefined,
    cycleThreshold: adaptive ? DEFAULT_CYCLE_THRESHOLD : (threshold as number),
    adaptive,
    cyclePause: o.cyclePause as number | undefined,
    observer,
    validateCollections: o.validateCollections === true,
  };
}

/** The layout as given (unchecked: layoutProblem judges it); no caller value is coerced. */
function layoutAt(codeSize: unknown, dataSize: unknown, codeAddress: unknown, dataAddress: unknown): ArenaLayout {
  const after = typeof codeAddress === 'number' && typeof codeSize === 'number' ? codeAddress + codeSize : Number.NaN;
  const layout = { codeAddress, codeSize, dataAddress: dataAddress ?? after, dataSize };
  return layout as ArenaLayout;
}

const OBSERVER_METHODS = ['alloc', 'free', 'patch', 'collect', 'error'] as const;

/** The observer's methods, each read once and bound: the heap never reads the caller's object again. */
function observerOf(observer: unknown): Observer | undefined {
  if (observer === undefined) return undefined;
  if (typeof observer !== 'object' || observer === null) {
    invalid(`observer must be an object with optional alloc, free, patch, collect and error methods, got ${show(observer)}`);
  }
  const own: Record<string, (...args: never[]) => void> = {};
  for (const key of OBSERVER_METHODS) {
    const method = (observer as Record<string, unknown>)[key];
    if (method === undefined) continue;
    if (typeof method !== 'function') invalid(`observer.${key} must be a function, got ${show(method)}`);
    own[key] = (...args: never[]) => (method as (...a: never[]) => void).apply(observer, args);
  }
  return own as Observer;
}

/** A Memory's methods, taken once. */
interface Provider {
  reserve(layout: ArenaLayout): unknown;
  chooseAddress?(span: number): unknown;
}

function memoryOf(memory: unknown): Provider {
  if (memory === undefined) return arrayBufferMemory();
  if (isArrayBuffer(memory)) return arrayBufferMemory(memory);
  if (typeof memory === 'object' && memory !== null) {
    const { reserve, chooseAddress } = memory as Record<string, unknown>;
    if (typeof reserve === 'function' && (chooseAddress === undefined || typeof chooseAddress === 'function')) {
      const provider: Provider = { reserve: (layout) => reserve.call(memory, layout) };
      if (chooseAddress !== undefined) provider.chooseAddress = (span) => chooseAddress.call(memory, span);
      return provider;
    }
  }
  invalid(`memory must be an ArrayBuffer or a Memory ({ reserve(layout), chooseAddress?(span) }), got ${show(memory)}`);
}

/** Reserves the arenas and copies the Region into the heap's own record, checking each field. */
function reserve(provider: Provider, layout: ArenaLayout): Region {
  const region = readInput('memory.reserve', () => provider.reserve(layout));
  if (typeof region !== 'object' || region === null) invalid(`memory.reserve returned ${show(region)}, not a Region`);
  // Each field read once (methods included, from wherever they are defined).
  const fields = readInput('memory.reserve', () => {
    const { bytes, executable, description, resolverAddress, call, callTyped, resolveSymbol, close, protect, codePlaced, codeFreed, unwindPlaced, unwindFreed, linesPlaced, written, read } = region as Record<string, unknown>;
    return { bytes, executable, description, resolverAddress, call, callTyped, resolveSymbol, close, protect, codePlaced, codeFreed, unwindPlaced, unwindFreed, linesPlaced, written, read };
  });
  try {
    return ownRegion(region, fields, layout);
  } catch (error) {
    // Refused: what the provider reserved goes back now rather than whenever it is collected.
    if (typeof fields['close'] === 'function') (fields['close'] as () => void).call(region);
    throw error;
  }
}

/** The heap's own record of a reserved Region, every field checked. */
function ownRegion(region: object, fields: Readonly<Record<string, unknown>>, layout: ArenaLayout): Region {
  return readInput('memory.reserve', () => {
    const { bytes, executable, description, resolverAddress, call, callTyped, resolveSymbol, close, protect, codePlaced, codeFreed, unwindPlaced, unwindFreed, linesPlaced, written, read } = fields;
    const size = layout.codeSize + layout.dataSize;
    if (uint8Length(bytes) >= size && isResizable(plainUint8(bytes as Uint8Array).buffer)) {
      invalid('memory.reserve returned bytes over a resizable ArrayBuffer: shrinking it would take the heap\'s bytes away');
    }
    if (uint8Length(bytes) < size) invalid(`memory.reserve returned bytes of ${show(bytes)}; a Uint8Array of at least ${size} bytes is needed`);
    const methods = [['call', call], ['callTyped', callTyped], ['resolveSymbol', resolveSymbol], ['close', close], ['protect', protect], ['codePlaced', codePlaced], ['codeFreed', codeFreed],
      ['unwindPlaced', unwindPlaced], ['unwindFreed', unwindFreed], ['linesPlaced', linesPlaced], ['written', written], ['read', read]] as const;
    for (const [key, value] of methods) {
      if (value !== undefined && typeof value !== 'function') invalid(`memory.reserve returned a Region whose ${key} is ${show(value)}, not a function`);
    }
    if (resolverAddress !== undefined && !(Number.isSafeInteger(resolverAddress) && (resolverAddress as number) >= 0)) {
      invalid(`memory.reserve returned a Region whose resolverAddress is ${show(resolverAddress)}`);
    }
    const own: { -readonly [K in keyof Region]: Region[K] } = {
      bytes: plainUint8(bytes as Uint8Array), executable: executable === true,
      description: typeof description === 'string' ? description : 'a Memory provider',
    };
    if (resolverAddress !== undefined) own.resolverAddress = resolverAddress as number;
    // Bound once: a bound function is as fast to call as the method (this runs on every heap.call).
    if (call !== undefined) own.call = (call as NonNullable<Region['call']>).bind(region);
    if (callTyped !== undefined) own.callTyped = (callTyped as NonNullable<Region['callTyped']>).bind(region);
    if (resolveSymbol !== undefined) own.resolveSymbol = (name: string) => (resolveSymbol as NonNullable<Region['resolveSymbol']>).call(region, name);
    // The provider's errors become CodeHeapErrors: the arenas treat a refused protection as none.
    if (protect !== undefined) {
      own.protect = (address: number, length: number, writable: boolean) =>
        readInput('memory.protect', () => (protect as NonNullable<Region['protect']>).call(region, address, length, writable));
    }
    if (codePlaced !== undefined) own.codePlaced = (codePlaced as NonNullable<Region['codePlaced']>).bind(region);
    if (codeFreed !== undefined) own.codeFreed = (codeFreed as NonNullable<Region['codeFreed']>).bind(region);
    if (unwindPlaced !== undefined) own.unwindPlaced = (unwindPlaced as NonNullable<Region['unwindPlaced']>).bind(region);
    if (unwindFreed !== undefined) own.unwindFreed = (unwindFreed as NonNullable<Region['unwindFreed']>).bind(region);
    if (linesPlaced !== undefined) own.linesPlaced = (linesPlaced as NonNullable<Region['linesPlaced']>).bind(region);
    if (written !== undefined) {
      const tell = (written as NonNullable<Region['written']>).bind(region);
      // Told inside a commit, which cannot fail: what it throws goes to a microtask.
      own.written = (loc: number, length: number) => {
        try {
          tell(loc, length);
        } catch (error) {
          rethrowLater(error);
        }
      };
    }
    if (read !== undefined) own.read = (loc: number, length: number) => readInput('memory.read', () => (read as NonNullable<Region['read']>).call(region, loc, length));
    if (close !== undefined) {
      own.close = () => {
        (close as NonNullable<Region['close']>).call(region);
        own.executable = false;
      };
    }
    return own;
  });
}

export function describeLayout(layout: ArenaLayout): string {
  return `code [${hex(layout.codeAddress)}, +${layout.codeSize}), data [${hex(layout.dataAddress)}, +${layout.dataSize})`;
}
