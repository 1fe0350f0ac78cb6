// CodeHeap options: checked once, with defaults made explicit.

import { hex, invalid } from './errors.js';
import { layoutProblem } from './heap/arenas.js';
import { arrayBufferMemory, type ArenaLayout, type Memory } from './heap/region.js';
import type { CodeHeapOptions, CompileCallback, Observer } from './types.js';

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
  memory: Memory;
  resolveExternal: ((name: string) => number | undefined) | undefined;
  compile: CompileCallback | undefined;
  cycleThreshold: number;
  adaptive: boolean;
  observer: Observer | undefined;
}

export function resolveOptions(options: CodeHeapOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalid('new CodeHeap takes an options object');
  if (options.arch !== 'x86_64') invalid(`arch must be 'x86_64', got ${String(options.arch)}`);
  const memory = resolveMemory(options);
  let layout = layoutAt(options, options.codeAddress ?? DEFAULT_CODE_ADDRESS);
  const problem = layoutProblem(layout);
  if (problem !== undefined) invalid(problem);
  if (options.memory instanceof ArrayBuffer && options.memory.byteLength < layout.codeSize + layout.dataSize) {
    invalid(`memory holds ${options.memory.byteLength} bytes; the arenas need ${layout.codeSize + layout.dataSize}`);
  }
  for (const key of ['resolveExternal', 'compile'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') invalid(`${key} must be a function`);
  }
  const threshold = options.cycleThreshold ?? 'auto';
  const adaptive = threshold === 'auto';
  if (!adaptive && !(typeof threshold === 'number' && threshold >= 1 && !Number.isNaN(threshold))) {
    invalid(`cycleThreshold must be 'auto' or a number of candidates >= 1 (Infinity for never), got ${String(threshold)}`);
  }
  if (options.observer !== undefined && (typeof options.observer !== 'object' || options.observer === null)) {
    invalid('observer must be an object with optional alloc, free, patch and collect methods');
  }
  // Last, once nothing else can be refused: a memory that maps real pages sets a range aside here.
  const chosen = options.codeAddress === undefined ? chosenAddress(options, memory) : undefined;
  if (chosen !== undefined) layout = layoutAt(options, chosen);
  return {
    layout,
    memory,
    resolveExternal: options.resolveExternal,
    compile: options.compile,
    cycleThreshold: adaptive ? DEFAULT_CYCLE_THRESHOLD : (threshold as number),
    adaptive,
    observer: options.observer,
  };
}

function layoutAt(options: CodeHeapOptions, codeAddress: number): ArenaLayout {
  return {
    codeAddress,
    codeSize: options.codeSize,
    dataAddress: options.dataAddress ?? codeAddress + options.codeSize,
    dataSize: options.dataSize,
  };
}

function resolveMemory(options: CodeHeapOptions): Memory {
  if (options.memory === undefined) return arrayBufferMemory();
  if (options.memory instanceof ArrayBuffer) return arrayBufferMemory(options.memory);
  if (typeof options.memory === 'object' && options.memory !== null && typeof options.memory.reserve === 'function') {
    return options.memory;
  }
  invalid('memory must be an ArrayBuffer or a Memory ({ reserve(layout) })');
}

/** A memory that maps real pages picks a free range, unless the options place the arenas. */
function chosenAddress(options: CodeHeapOptions, memory: Memory): number | undefined {
  if (options.dataAddress !== undefined || memory.chooseAddress === undefined) return undefined;
  const { codeSize, dataSize } = options;
  return memory.chooseAddress(codeSize + dataSize);
}

export function describeLayout(layout: ArenaLayout): string {
  return `code [${hex(layout.codeAddress)}, +${layout.codeSize}), data [${hex(layout.dataAddress)}, +${layout.dataSize})`;
}
