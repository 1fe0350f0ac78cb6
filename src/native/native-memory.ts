// Native memory: the arenas in real pages, executable by the CPU at the heap's target addresses.
//
// The addon maps one memfd twice (see native/codeheap.c): the heap writes through a read-write
// view, exposed here as the region's bytes, and the CPU runs the code arena through a
// read-execute mapping at codeAddress; the data arena is read-write at dataAddress and never
// executable. JavaScript can reach only the view, and only within its bounds.

import { CodeHeapError, hex } from '../errors.js';
import type { ArenaLayout, Memory, Region, ResolveLazy } from '../heap/region.js';
import { loadAddon, type NativeAddon } from './addon.js';

export interface NativeAvailability {
  readonly available: boolean;
  /** Why not, when not available; '' otherwise. */
  readonly reason: string;
}

export interface NativeMemoryOptions {
  /**
   * Whether symbols the heap cannot resolve are looked up in the process (dlsym), so JIT code
   * can call C library functions such as labs, memcpy or malloc. Default true. A heap's own
   * resolveExternal option takes precedence either way.
   */
  processSymbols?: boolean;
}

/** Whether nativeMemory() can be used in this process, and if not, why. */
export function isNativeAvailable(): NativeAvailability {
  const { reason } = loadAddon();
  return reason === undefined ? { available: true, reason: '' } : { available: false, reason };
}

/** Executable memory for a CodeHeap: `new CodeHeap({ ..., memory: nativeMemory() })`. */
export function nativeMemory(options: NativeMemoryOptions = {}): Memory {
  const { addon, reason } = loadAddon();
  if (addon === undefined) throw new CodeHeapError('NOT_EXECUTABLE', `nativeMemory: native memory is not available: ${reason}`);
  if (typeof options !== 'object' || options === null) {
    throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory takes an options object, got ${String(options)}`);
  }
  const processSymbols = options.processSymbols ?? true;
  return {
    chooseAddress(span: number): number | undefined {
      const address = addon.reserveRange(span);
      return address === 0 ? undefined : address;
    },
    reserve(layout: ArenaLayout): Region {
      return new NativeRegion(addon, layout, processSymbols);
    },
  };
}

/** Native arenas lie in x86-64 user space, above the lowest 64 KiB (Linux's usual mmap_min_addr). */
const LOWEST_ADDRESS = 0x1_0000;
const HIGHEST_ADDRESS = 0x7fff_ffff_f000;

class NativeRegion implements Region {
  readonly bytes: Uint8Array;
  readonly executable = true;
  readonly description: string;
  readonly resolverAddress: number;
  private readonly processSymbols: boolean;

  constructor(private readonly addon: NativeAddon, layout: ArenaLayout, processSymbols: boolean) {
    const { codeAddress, codeSize, dataAddress, dataSize } = layout;
    for (const [arena, address, size] of [['code', codeAddress, codeSize], ['data', dataAddress, dataSize]] as const) {
      if (address < LOWEST_ADDRESS || address + size > HIGHEST_ADDRESS) {
        throw new CodeHeapError('INVALID_ARGUMENT', `native memory: the ${arena} arena [${hex(address)}, +${size}) must lie in user space, `
          + `between ${hex(LOWEST_ADDRESS)} and ${hex(HIGHEST_ADDRESS)} (page 0 stays unmapped so that null pointers fault)`);
      }
    }
    let buffer: ArrayBuffer;
    try {
      buffer = addon.map(codeAddress, codeSize, dataAddress, dataSize);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      const taken = code === 'ADDRESS_IN_USE'
        ? ' (the range is in use: leave codeAddress and dataAddress unset to let native memory choose)'
        : '';
      throw new CodeHeapError(code === 'ADDRESS_IN_USE' ? 'INVALID_ARGUMENT' : 'OUT_OF_MEMORY',
        `native memory: ${message}${taken}`);
    }
    this.bytes = new Uint8Array(buffer);
    this.description = `native memory (code r-x at ${hex(codeAddress)}, data rw- at ${hex(dataAddress)})`;
    this.resolverAddress = addon.resolverAddress;
    this.processSymbols = processSymbols;
  }

  resolveSymbol(name: string): number | undefined {
    return this.processSymbols ? this.addon.dlsym(name) : undefined;
  }

  call(address: number, resolve: ResolveLazy, args: readonly (number | bigint)[]): bigint {
    return this.addon.call(address, resolve, ...args);
  }
}
