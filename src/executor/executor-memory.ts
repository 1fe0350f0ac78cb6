// codeheap/executor: a heap whose code runs in another process (README, Running the code in an
// executor). spawnExecutor() starts the executor (native/executor.c, built with the addon) and
// returns a Memory; the heap reserves its arenas through it as through nativeMemory():
//
//   host (this process)                          executor
//   heap, compiler, counts, the arenas' bytes    the same memfd: code r-x, data rw- at the
//   through a read-write view of one memfd       heap's target addresses
//
// so a backpatch the host writes is in the executor's code at once, with no copy, and no page is
// writable and executable in either process. heap.call and heap.bind run in the executor; a lazy
// function's first call there comes back to the host to be compiled. External symbols are the
// executor's (its dlsym), libraries it loads included. When the executor dies (a fault in the
// heap's code, a kill) or hangs past the timeout, the call in progress is EXECUTOR_LOST, and so is
// every call after, until respawn() starts another and maps the same memfd at the same addresses:
// every live body, stub and global is there again, as it was.

import { CodeHeapError, hex } from '../errors.js';
import type { ArenaLayout, Memory, Region, RegisterValue, ResolveLazy } from '../heap/region.js';
import { EXECUTOR_PATH, loadAddon, type ExecutorAddon } from '../native/addon.js';
import { ExecutorProcess, MSG } from './executor-process.js';
import { LargeMap } from '../large-map.js';

export interface ExecutorOptions {
  /**
   * How long the executor may go without a word before it is taken for hung, killed, and the
   * call in progress is EXECUTOR_LOST: milliseconds, or Infinity for no limit. Default 30,000.
   */
  timeoutMs?: number;
  /** Shared libraries the executor loads (dlopen, RTLD_GLOBAL) before anything runs: their symbols resolve there. */
  libraries?: readonly string[];
  /** Whether symbols the heap cannot resolve are looked up in the executor (dlsym). Default true. */
  processSymbols?: boolean;
}

/** The Memory spawnExecutor() returns: what a heap is given, and the executor's own controls. */
export interface ExecutorMemory extends Memory {
  /** The executor's process id (a new one after respawn()). */
  readonly pid: number;
  /** Whether the executor is there to run calls. */
  readonly alive: boolean;
  /**
   * Starts a new executor in place of a lost one (or of a live one, which is ended first), with
   * the heap's arenas mapped at the same addresses, the same libraries, the data arena's
   * read-only pages read-only again, and every symbol the heap resolved checked to be where it
   * was (EXECUTOR_LOST naming the first that moved).
   */
  respawn(): void;
  /** Ends the executor now (its heap's calls are EXECUTOR_LOST after); its heap's close() does too. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Starts an executor process: `new CodeHeap({ ..., memory: spawnExecutor() })`. */
export function spawnExecutor(options: ExecutorOptions = {}): ExecutorMemory {
  const { addon, reason } = loadAddon();
  if (addon === undefined) throw new CodeHeapError('NOT_EXECUTABLE', `spawnExecutor: the executor is built with native memory, which is not available: ${reason}`);
  if (typeof options !== 'object' || options === null) throw new CodeHeapError('INVALID_ARGUMENT', `spawnExecutor takes an options object, got ${String(options)}`);
  const { timeoutMs: givenTimeout, libraries: givenLibraries, processSymbols: givenSymbols } = options;
  const timeoutMs = givenTimeout ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
    throw new CodeHeapError('INVALID_ARGUMENT', `spawnExecutor: timeoutMs must be a positive number of milliseconds or Infinity, got ${String(timeoutMs)}`);
  }
  const libraries = givenLibraries === undefined ? [] : Array.isArray(givenLibraries) ? [...givenLibraries as unknown[]] : undefined;
  if (libraries === undefined || libraries.some((l) => typeof l !== 'string' || l === '' || l.includes('\0'))) {
    throw new CodeHeapError('INVALID_ARGUMENT', 'spawnExecutor: libraries must be a list of paths');
  }
  if (givenSymbols !== undefined && typeof givenSymbols !== 'boolean') {
    throw new CodeHeapError('INVALID_ARGUMENT', `spawnExecutor: processSymbols must be a boolean, got ${String(givenSymbols)}`);
  }
  // A timeout past what poll() takes is none.
  const wait = timeoutMs >= 2 ** 31 ? -1 : Math.ceil(timeoutMs);
  return new Executor(addon, wait, libraries as string[], givenSymbols ?? true);
}

const encoder = new TextEncoder();

class Executor implements ExecutorMemory {
  #process: ExecutorProcess;
  #region: ExecutorRegion | undefined;

  constructor(private readonly addon: ExecutorAddon, private readonly timeoutMs: number, private readonly libraries: readonly string[],
    private readonly processSymbols: boolean) {
    this.#process = this.#start();
  }

  get pid(): number {
    return this.#process.pid;
  }

  get alive(): boolean {
    return this.#process.alive;
  }

  #start(): ExecutorProcess {
    const started = new ExecutorProcess(this.addon, EXECUTOR_PATH, this.timeoutMs);
    try {
      for (const library of this.libraries) started.expectOk(`spawnExecutor: loading ${library}`, MSG.DLOPEN, encoder.encode(library), 'INVALID_ARGUMENT');
    } catch (error) {
      started.end('a library did not load');
      throw error;
    }
    return started;
  }

  chooseAddress(span: number): number | undefined {
    const address = this.#process.address('spawnExecutor: choosing the arenas\' address', MSG.SPAN, u64s(span));
    return address === 0 ? undefined : address;
  }

  reserve(layout: ArenaLayout): Region {
    if (this.#region !== undefined && !this.#region.closed) {
      throw new CodeHeapError('INVALID_ARGUMENT', `an executor serves one heap, and pid ${this.pid} serves one already (spawn another for another heap)`);
    }
    this.#region = new ExecutorRegion(this.addon, () => this.#process, layout, this.processSymbols, () => this.#process.end('its heap was closed'));
    return this.#region;
  }

  close(): void {
    this.#process.end('close() ended it');
  }

  respawn(): void {
    this.#process.end('respawn() replaced it');
    const next = this.#start();
    try {
      this.#region?.moveTo(next);
    } catch (error) {
      next.end('respawn() could not give it the heap');
      throw error;
    }
    this.#process = next;
  }
}

/** Little-endian u64s, from numbers below 2^53. */
function u64s(...values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((v, i) => {
    view.setUint32(8 * i, v >>> 0, true);
    view.setUint32(8 * i + 4, Math.floor(v / 2 ** 32), true);
  });
  return new Uint8Array(view.buffer);
}

class ExecutorRegion implements Region {
  readonly bytes: Uint8Array;
  readonly #shared: [ArrayBuffer, number];
  /** The data arena's pages made read-only, by address: made so again in a respawned executor. */
  readonly #readOnly: { address: number; length: number; writable: boolean }[] = [];
  /** Every symbol the executor resolved, and where: checked again in a respawned executor. */
  readonly #resolved = new LargeMap<string, number>();
  closed = false;

  constructor(private readonly addon: ExecutorAddon, private readonly process: () => ExecutorProcess, private readonly layout: ArenaLayout,
    private readonly processSymbols: boolean, private readonly ended: () => void) {
    const { codeSize, dataSize } = layout;
    try {
      this.#shared = addon.executorShare(codeSize + dataSize);
    } catch (error) {
      throw new CodeHeapError('OUT_OF_MEMORY', `executor memory: ${(error as Error).message}`, { cause: error });
    }
    this.bytes = new Uint8Array(this.#shared[0]);
    try {
      this.#map(process());
    } catch (error) {
      addon.executorUnshare(this.#shared);
      throw error;
    }
  }

  get resolverAddress(): number {
    return this.process().resolverAddress;
  }

  get executable(): boolean {
    return !this.closed;
  }

  get description(): string {
    const { codeAddress, dataAddress } = this.layout;
    const where = `code r-x at ${hex(codeAddress)}, data rw- at ${hex(dataAddress)}`;
    return this.closed ? `executor memory, closed` : `executor memory (pid ${this.process().pid}: ${where})`;
  }

  #map(target: ExecutorProcess): void {
    const { codeAddress, codeSize, dataAddress, dataSize } = this.layout;
    target.expectOk('executor memory: mapping the arenas', MSG.MAP, u64s(codeAddress, codeSize, dataAddress, dataSize), 'INVALID_ARGUMENT', this.#shared[1]);
  }

  /** The arenas in a new executor, as they were in the one before (respawn). */
  moveTo(next: ExecutorProcess): void {
    if (this.closed) return;
    this.#map(next);
    for (const p of this.#readOnly) this.#protectIn(next, p.address, p.length, p.writable);
    for (const [name, address] of this.#resolved) {
      const now = next.address(`respawn: looking ${name} up`, MSG.DLSYM, encoder.encode(name));
      if (now !== address) {
        throw new CodeHeapError('EXECUTOR_LOST', `respawn: ${name} is at ${hex(now)} in the new executor and was at ${hex(address)}; the heap's code refers to the old address`);
      }
    }
  }

  protect(address: number, length: number, writable: boolean): void {
    this.#protectIn(this.process(), address, length, writable);
    this.#readOnly.push({ address, length, writable });
  }

  #protectIn(target: ExecutorProcess, address: number, length: number, writable: boolean): void {
    const payload = new Uint8Array(24);
    payload.set(u64s(address, length));
    payload[16] = writable ? 1 : 0;
    target.expectOk('executor memory: protect', MSG.PROTECT, payload, 'INVALID_ARGUMENT');
  }

  resolveSymbol(name: string): number | undefined {
    if (!this.processSymbols || name.includes('\0') || /\p{Cs}/u.test(name)) return undefined;
    const address = this.process().address(`executor memory: looking ${name} up`, MSG.DLSYM, encoder.encode(name));
    if (address === 0) return undefined;
    this.#resolved.set(name, address);
    return address;
  }

  call(address: number, resolve: ResolveLazy, args: readonly (number | bigint)[]): bigint {
    return this.process().call('call', address, resolve, args);
  }

  callTyped(address: number, resolve: ResolveLazy, result: number, floats: Float64Array | undefined, ints: readonly RegisterValue[]): number | bigint | undefined {
    return this.process().callTyped('call', address, resolve, result, floats, ints);
  }

  /** The executor ends with its heap; the memfd and the host's view go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended();
    this.addon.executorUnshare(this.#shared);
  }
}
