// Native memory: the arenas in real pages, executable by the CPU at the heap's target addresses.
//
// The addon maps one memfd twice (see native/codeheap.c): the heap writes through a read-write
// view, exposed here as the region's bytes, and the CPU runs the code arena through a
// read-execute mapping at codeAddress; the data arena is read-write at dataAddress and never
// executable. JavaScript can reach only the view, and only within its bounds.
//
// A region's mappings go at close(), or else once V8 has collected its view and the event loop
// has turned. The addon holds at most half of vm.max_map_count and refuses a heap past that
// (OUT_OF_MEMORY here), so heaps dropped faster than V8 collects them cannot starve the process.

import { CodeHeapError, hex } from '../errors.js';
import type { ArenaLayout, Memory, Region, RegisterValue, ResolveLazy } from '../heap/region.js';
import { loadAddon, type NativeAddon } from './addon.js';
import { Registrations } from './registrations.js';
import { LargeMap } from '../large-map.js';
import { codeTracer, profileOutputs, type CodeTracer, type DebugInfo, type ProfileOutput } from './profile.js';

export interface NativeAvailability {
  readonly available: boolean;
  /** Why not, when not available; '' otherwise. */
  readonly reason: string;
}

export interface NativeMemoryOptions {
  /**
   * Whether symbols the heap cannot resolve are looked up in the process (dlsym), so JIT code
   * can call C library functions such as labs, memcpy or malloc. Default true. A heap's own
   * resolveExternal option is asked first; the process is asked when it returns undefined.
   */
  processSymbols?: boolean;
  /**
   * Names the heap's code to the profilers and debuggers of this process (README, Debugging and
   * profiling): 'perf-map' appends each placement to /tmp/perf-<pid>.map; 'jitdump' writes
   * jit-<pid>.dump for `perf record -k mono` and `perf inject --jit`, which tell apart the
   * functions a reused block or a recompile put at one address; 'gdb' hands gdb each piece of
   * code through the GDB JIT interface, and takes it back when it is freed. One of them or a
   * list. Default: the comma-separated list in the environment variable CODEHEAP_PROFILE, else none.
   */
  profile?: ProfileOutput | readonly ProfileOutput[];
  /** Where the jitdump goes; default the current directory (where perf inject looks for it is in the recording). */
  jitdumpDirectory?: string;
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
  const { processSymbols: given, profile, jitdumpDirectory } = options;
  const processSymbols = given ?? true;
  const outputs = profileOutputs(profile);
  if (jitdumpDirectory !== undefined && typeof jitdumpDirectory !== 'string') {
    throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory: jitdumpDirectory must be a path, got ${String(jitdumpDirectory)}`);
  }
  const directory = jitdumpDirectory ?? process.cwd();
  return {
    chooseAddress(span: number): number | undefined {
      let address: number;
      try {
        address = addon.reserveRange(span);
      } catch (error) {
        throw refusal(error);
      }
      return address === 0 ? undefined : address;
    },
    reserve(layout: ArenaLayout): Region {
      // The profiler's files open with the first heap, before its memory is mapped.
      return new NativeRegion(addon, layout, processSymbols, codeTracer(addon, outputs, directory, layout.codeAddress));
    },
  };
}

/** Native arenas lie in x86-64 user space, above the lowest 64 KiB (Linux's usual mmap_min_addr). */
const LOWEST_ADDRESS = 0x1_0000;
const HIGHEST_ADDRESS = 0x7fff_ffff_f000;

/** The addon's refusal of map(), reserveRange() or unmap(), as the CodeHeapError a caller sees. */
function refusal(error: unknown): CodeHeapError {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const message = `native memory: ${error instanceof Error ? error.message : String(error)}`;
  switch (code) {
    case 'INVALID_ARGUMENT':
      return new CodeHeapError('INVALID_ARGUMENT', message);
    case 'ADDRESS_IN_USE':
      return new CodeHeapError('INVALID_ARGUMENT',
        `${message} (the range is in use: leave codeAddress and dataAddress unset to let native memory choose)`);
    case 'CALL_RUNNING':
      return new CodeHeapError('REENTRANT_CALL', message);
    case 'MAPPING_LIMIT':
      return new CodeHeapError('OUT_OF_MEMORY', `${message}. heap.close() releases a heap's mappings at once; `
        + 'a heap dropped without it keeps them until V8 has collected its memory');
    default:
      return new CodeHeapError('OUT_OF_MEMORY', message);
  }
}

/** Whether dlsym can look `name` up as spelled: C sees a string up to its first NUL, as UTF-8. */
function isCName(name: string, maxBytes: number): boolean {
  // A lone surrogate has no UTF-8: it would be looked up as U+FFFD, another name.
  return typeof name === 'string' && !name.includes('\0') && !/\p{Cs}/u.test(name)
    && Buffer.byteLength(name, 'utf8') <= maxBytes;
}

class NativeRegion implements Region {
  readonly bytes: Uint8Array;
  readonly resolverAddress: number;
  /** Only when a profiler is told (so a heap without one pays nothing for it). */
  declare readonly codePlaced?: NonNullable<Region['codePlaced']>;
  declare readonly codeFreed?: NonNullable<Region['codeFreed']>;
  readonly #tracer: CodeTracer | undefined;
  /** The unwind tables registered with the process's unwinder, by their bodies' addresses. */
  readonly #unwind: Registrations;
  /**
   * Unwind and line tables told and not yet handed to gdb, by their bodies' addresses: the heap
   * tells a link's tables before the placements (events.ts), and each goes with its body's
   * codePlaced (a loaded object's are thousands at once: a list searched per body was quadratic).
   */
  readonly #forGdb = new LargeMap<number, DebugInfo>();
  declare readonly linesPlaced?: NonNullable<Region['linesPlaced']>;
  readonly #addon: NativeAddon;
  readonly #buffer: ArrayBuffer;
  readonly #processSymbols: boolean;
  readonly #mapped: string;
  #closed = false;

  constructor(addon: NativeAddon, layout: ArenaLayout, processSymbols: boolean, tracer: CodeTracer | undefined) {
    const { codeAddress, codeSize, dataAddress, dataSize } = layout;
    for (const [arena, address, size] of [['code', codeAddress, codeSize], ['data', dataAddress, dataSize]] as const) {
      if (address < LOWEST_ADDRESS || address + size > HIGHEST_ADDRESS) {
        throw new CodeHeapError('INVALID_ARGUMENT', `native memory: the ${arena} arena [${hex(address)}, +${size}) must lie in user space, `
          + `between ${hex(LOWEST_ADDRESS)} and ${hex(HIGHEST_ADDRESS)} (page 0 stays unmapped so that null pointers fault)`);
      }
    }
    try {
      this.#buffer = addon.map(codeAddress, codeSize, dataAddress, dataSize);
    } catch (error) {
      throw refusal(error);
    }
    this.#addon = addon;
    this.bytes = new Uint8Array(this.#buffer);
    this.#mapped = `code r-x at ${hex(codeAddress)}, data rw- at ${hex(dataAddress)}`;
    this.resolverAddress = addon.resolverAddress;
    this.#processSymbols = processSymbols;
    this.#tracer = tracer;
    this.#unwind = new Registrations(codeAddress, (id) => addon.unregisterUnwind(id));
    if (tracer !== undefined) {
      const { bytes } = this;
      this.codePlaced = (name, address, size) => {
        const pending = this.#forGdb;
        const debug = pending.size === 0 ? undefined : pending.get(address);
        if (debug !== undefined) pending.delete(address);
        tracer.placed(name, address, size, bytes, address - codeAddress, debug);
      };
      if (tracer.wantsDebugInfo) this.linesPlaced = (address, lines) => { this.#debugInfo(address).lines = lines; };
      this.codeFreed = (address) => tracer.freed(address);
    }
  }

  /** The CPU runs the code arena until close(). */
  get executable(): boolean {
    return !this.#closed;
  }

  get description(): string {
    return this.#closed ? `native memory, closed (${this.#mapped} until then)` : `native memory (${this.#mapped})`;
  }

  protect(address: number, length: number, writable: boolean): void {
    try {
      this.#addon.protect(this.#buffer, address, length, writable);
    } catch (error) {
      throw refusal(error);
    }
  }

  /** The process's unwinder (backtrace(), C++ exceptions) gets the body's table (FunctionBody.unwind). */
  unwindPlaced(address: number, table: Uint8Array): void {
    if (this.#tracer?.wantsDebugInfo === true) this.#debugInfo(address).table = table;
    this.#unwind.replace(address, () => this.#addon.registerUnwind(table));
  }

  /** What waits for gdb with the body at `address`, made on first ask. */
  #debugInfo(address: number): DebugInfo {
    let info = this.#forGdb.get(address);
    if (info === undefined) this.#forGdb.set(address, info = {});
    return info;
  }

  unwindFreed(address: number): void {
    this.#unwind.take(address);
  }

  resolveSymbol(name: string): number | undefined {
    return this.#processSymbols && isCName(name, this.#addon.symbolBytes) ? this.#addon.dlsym(name) : undefined;
  }

  /**
   * Pre: `executable` (not closed): the heap checks it before every call, and a check here too
   * would cost heap.call a tenth of its time; the code of a closed region is gone.
   */
  call(address: number, resolve: ResolveLazy, args: readonly (number | bigint)[]): bigint {
    return this.#addon.call(address, resolve, ...args);
  }

  /**
   * Pre: as call's; and each argument was checked against its parameter type (heap.bind). Only
   * the arguments there are go to the addon (each one costs it a look at its type).
   */
  callTyped(
    address: number, resolve: ResolveLazy, result: number, floats: Float64Array | undefined, ints: readonly RegisterValue[],
  ): number | bigint | undefined {
    const addon = this.#addon;
    switch (ints.length) {
      case 0: return addon.callTyped(address, resolve, result, floats);
      case 1: return addon.callTyped(address, resolve, result, floats, ints[0]!);
      case 2: return addon.callTyped(address, resolve, result, floats, ints[0]!, ints[1]!);
      case 3: return addon.callTyped(address, resolve, result, floats, ints[0]!, ints[1]!, ints[2]!);
      default: return addon.callTyped(address, resolve, result, floats, ...ints);
    }
  }

  /**
   * Unmaps the heap view, the code and the data now, and detaches `bytes` (its length becomes 0);
   * the mappings count against the addon's budget no more. After it `executable` is false (so
   * heap.call is NOT_EXECUTABLE), and closing again does nothing. Refused with REENTRANT_CALL while a
   * call() of this region runs on this thread (the addon checks its running calls, so a call
   * pays nothing for it): the code it returns into must stay. Pre: no other code (another
   * heap's, or C's) will enter this region's code.
   */
  close(): void {
    if (this.#closed) return;
    try {
      this.#addon.unmap(this.#buffer);
    } catch (error) {
      throw refusal(error);
    }
    this.#closed = true;
    this.#tracer?.closed();
    this.#unwind.clear();
  }
}
