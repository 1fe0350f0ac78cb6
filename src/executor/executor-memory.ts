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
import { connectEndpoint, ExecutorProcess, MSG, spawnEndpoint, type ExecutorEndpoint } from './executor-process.js';
import { LargeMap } from '../large-map.js';
import { setU64 } from '../little-endian.js';

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
  /** Bytes of WRITE messages sent to the executor, framing included (connectExecutor; 0 when the memfd is shared). */
  readonly bytesSent: number;
  /**
   * For benchmarks: a thread of the executor spins on the 8 bytes of the code arena at `address`
   * until they change; the function returned waits for that and gives the CLOCK_MONOTONIC time
   * in ns it saw the change (process.hrtime.bigint()'s clock, on one machine). How soon a
   * backpatch written here is there.
   */
  watch(address: number): () => bigint;
}

/** Where connectExecutor() finds its executor: one listening there (`codeheap_executor --listen HOST:PORT`). */
export interface ConnectOptions extends ExecutorOptions {
  host: string;
  port: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Starts an executor process: `new CodeHeap({ ..., memory: spawnExecutor() })`. */
export function spawnExecutor(options: ExecutorOptions = {}): ExecutorMemory {
  const { addon, settings } = checked('spawnExecutor', options);
  return new Executor(addon, settings, (timeoutMs) => spawnEndpoint(addon, EXECUTOR_PATH, timeoutMs), false);
}

/**
 * An executor on another machine (or this one), listening at host:port: nothing is shared, so
 * the heap's writes are sent as it makes them, before any code runs (batched: one message a
 * flush). respawn() connects again (the listener gives each connection an executor of its own)
 * and sends every byte of the arenas.
 */
export function connectExecutor(options: ConnectOptions): ExecutorMemory {
  const { addon, settings } = checked('connectExecutor', options);
  const { host, port } = options;
  if (typeof host !== 'string' || host === '' || host.length > 255) throw new CodeHeapError('INVALID_ARGUMENT', `connectExecutor: host must be a host name or address, got ${String(host)}`);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new CodeHeapError('INVALID_ARGUMENT', `connectExecutor: port must be 1 to 65535, got ${String(port)}`);
  return new Executor(addon, settings, (timeoutMs) => connectEndpoint(addon, host, port, timeoutMs), true);
}

interface Settings {
  readonly timeoutMs: number;
  readonly libraries: readonly string[];
  readonly processSymbols: boolean;
}

function checked(what: string, options: ExecutorOptions): { addon: ExecutorAddon; settings: Settings } {
  const { addon, reason } = loadAddon();
  if (addon === undefined) throw new CodeHeapError('NOT_EXECUTABLE', `${what}: the executor is built with native memory, which is not available: ${reason}`);
  if (typeof options !== 'object' || options === null) throw new CodeHeapError('INVALID_ARGUMENT', `${what} takes an options object, got ${String(options)}`);
  const { timeoutMs: givenTimeout, libraries: givenLibraries, processSymbols: givenSymbols } = options;
  const timeoutMs = givenTimeout ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
    throw new CodeHeapError('INVALID_ARGUMENT', `${what}: timeoutMs must be a positive number of milliseconds or Infinity, got ${String(timeoutMs)}`);
  }
  const libraries = givenLibraries === undefined ? [] : Array.isArray(givenLibraries) ? [...givenLibraries as unknown[]] : undefined;
  if (libraries === undefined || libraries.some((l) => typeof l !== 'string' || l === '' || l.includes('\0'))) {
    throw new CodeHeapError('INVALID_ARGUMENT', `${what}: libraries must be a list of paths`);
  }
  if (givenSymbols !== undefined && typeof givenSymbols !== 'boolean') {
    throw new CodeHeapError('INVALID_ARGUMENT', `${what}: processSymbols must be a boolean, got ${String(givenSymbols)}`);
  }
  // A timeout past what poll() takes is none.
  const wait = timeoutMs >= 2 ** 31 ? -1 : Math.ceil(timeoutMs);
  return { addon, settings: { timeoutMs: wait, libraries: libraries as string[], processSymbols: givenSymbols ?? true } };
}

const encoder = new TextEncoder();
/** MAP's flag: no memfd comes; the executor makes its own arenas and takes WRITEs (native/executor-protocol.h). */
const MAP_COPY = 1;

class Executor implements ExecutorMemory {
  #process: ExecutorProcess;
  #region: ExecutorRegion | undefined;

  constructor(private readonly addon: ExecutorAddon, private readonly settings: Settings,
    private readonly endpoint: (timeoutMs: number) => ExecutorEndpoint, private readonly copies: boolean) {
    this.#process = this.#start();
  }

  get bytesSent(): number {
    return this.#region?.bytesSent ?? 0;
  }

  get pid(): number {
    return this.#process.pid;
  }

  get alive(): boolean {
    return this.#process.alive;
  }

  #start(): ExecutorProcess {
    const started = new ExecutorProcess(this.addon, this.endpoint(this.settings.timeoutMs), this.settings.timeoutMs);
    try {
      for (const library of this.settings.libraries) started.expectOk(`spawnExecutor: loading ${library}`, MSG.DLOPEN, encoder.encode(library), 'INVALID_ARGUMENT');
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
    this.#region = new ExecutorRegion(this.addon, () => this.#process, layout, this.settings.processSymbols, this.copies,
      () => this.#process.end('its heap was closed'));
    return this.#region;
  }

  close(): void {
    this.#process.end('close() ended it');
  }

  watch(address: number): () => bigint {
    this.#process.expectOk('watch', MSG.WATCH, u64s(address), 'INVALID_ARGUMENT');
    return () => BigInt(this.#process.address('watch', MSG.WATCHED, new Uint8Array(0)));
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
  values.forEach((v, i) => setU64(view, 8 * i, v));
  return new Uint8Array(view.buffer);
}

/** The most bytes one WRITE message carries (a flush of more is several). */
const WRITE_CHUNK = 1 << 20;
/** Ranges waiting past this are sent at once, even with no call coming. */
const PENDING_LIMIT = 4096;

class ExecutorRegion implements Region {
  readonly bytes: Uint8Array;
  /** Shared: the memfd and the host's view of it. Copied (TCP): none, the bytes are this process's own. */
  readonly #shared: [ArrayBuffer, number] | undefined;
  /**
   * The data arena's ranges read-only now, by address, with their lengths: made so again in a
   * respawned executor. A range made writable again goes (the heap protects a read-only global's
   * pages, its own, and unprotects the same range when it is freed), so loads and unloads leave
   * nothing behind.
   */
  readonly #readOnly = new LargeMap<number, number>();
  /** Every symbol the executor resolved, and where: checked again in a respawned executor. */
  readonly #resolved = new LargeMap<string, number>();
  /** Copied: the ranges the heap wrote and the executor has not been sent, as (loc, length) pairs. */
  #pending: number[] = [];
  bytesSent = 0;
  closed = false;
  declare readonly written?: (loc: number, length: number) => void;

  constructor(private readonly addon: ExecutorAddon, private readonly process: () => ExecutorProcess, private readonly layout: ArenaLayout,
    private readonly processSymbols: boolean, private readonly copies: boolean, private readonly ended: () => void) {
    const { codeSize, dataSize } = layout;
    if (copies) {
      this.#shared = undefined;
      this.bytes = new Uint8Array(codeSize + dataSize);
      this.written = (loc, length) => this.#wrote(loc, length);
    } else {
      try {
        this.#shared = addon.executorShare(codeSize + dataSize);
      } catch (error) {
        throw new CodeHeapError('OUT_OF_MEMORY', `executor memory: ${(error as Error).message}`, { cause: error });
      }
      this.bytes = new Uint8Array(this.#shared[0]);
    }
    try {
      this.#map(process());
    } catch (error) {
      if (this.#shared !== undefined) addon.executorUnshare(this.#shared);
      throw error;
    }
  }

  /** A range the heap wrote: merged with the last one when they touch (a unit's blocks are adjacent). */
  #wrote(loc: number, length: number): void {
    const pending = this.#pending;
    const last = pending.length - 2;
    if (last >= 0 && loc >= pending[last]! && loc <= pending[last]! + pending[last + 1]!) {
      pending[last + 1] = Math.max(pending[last + 1]!, loc + length - pending[last]!);
    } else {
      pending.push(loc, length);
    }
    if (pending.length > 2 * PENDING_LIMIT && !this.closed && this.process().alive) this.#flush(this.process());
  }

  /** Sends what waits: one WRITE message per WRITE_CHUNK bytes, each range (loc, length, bytes). */
  #flush(target: ExecutorProcess): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    this.#send(target, pending);
  }

  #send(target: ExecutorProcess, ranges: readonly number[]): void {
    let message = new Uint8Array(0);
    let used = 0;
    const put = (loc: number, length: number): void => {
      if (used + 12 + length > message.length) {
        if (used > 0) this.#sendWrite(target, message.subarray(0, used));
        message = new Uint8Array(Math.max(WRITE_CHUNK, 12 + length));
        used = 0;
      }
      const view = new DataView(message.buffer, used, 12);
      setU64(view, 0, loc);
      view.setUint32(8, length, true);
      message.set(this.bytes.subarray(loc, loc + length), used + 12);
      used += 12 + length;
    };
    for (let i = 0; i < ranges.length; i += 2) put(ranges[i]!, ranges[i + 1]!);
    if (used > 0) this.#sendWrite(target, message.subarray(0, used));
  }

  /** One WRITE message; bytesSent counts it whole (its 8-byte header and each range's 12 included). */
  #sendWrite(target: ExecutorProcess, payload: Uint8Array): void {
    target.send('executor memory: sending the heap\'s writes', MSG.WRITE, payload);
    this.bytesSent += 8 + payload.length;
  }

  /** Every page of the arenas that is not all zero (a new executor's arenas are zero). */
  #everything(): number[] {
    const ranges: number[] = [];
    const page = 4096;
    for (let loc = 0; loc < this.bytes.length; loc += page) {
      const end = Math.min(loc + page, this.bytes.length);
      if (this.bytes.subarray(loc, end).some((b) => b !== 0)) ranges.push(loc, end - loc);
    }
    return ranges;
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
    const request = u64s(codeAddress, codeSize, dataAddress, dataSize, this.copies ? MAP_COPY : 0);
    // Shared: the memfd goes with the request; copied: none does.
    target.expectOk('executor memory: mapping the arenas', MSG.MAP, request, 'INVALID_ARGUMENT', this.#shared?.[1]);
  }

  /** The arenas in a new executor, as they were in the one before (respawn). */
  moveTo(next: ExecutorProcess): void {
    if (this.closed) return;
    this.#map(next);
    if (this.copies) {
      // A new executor's arenas are empty: every byte the heap holds goes, what waited with it.
      this.#pending = [];
      this.#send(next, this.#everything());
    }
    for (const [address, length] of this.#readOnly) this.#protectIn(next, address, length, false);
    for (const [name, address] of this.#resolved) {
      const now = next.address(`respawn: looking ${name} up`, MSG.DLSYM, encoder.encode(name));
      if (now !== address) {
        throw new CodeHeapError('EXECUTOR_LOST', `respawn: ${name} is at ${hex(now)} in the new executor and was at ${hex(address)}; the heap's code refers to the old address`);
      }
    }
  }

  protect(address: number, length: number, writable: boolean): void {
    // What the heap asked for, first: a respawned executor is given it even if this one is lost.
    if (writable) this.#readOnly.delete(address);
    else this.#readOnly.set(address, length);
    this.#protectIn(this.process(), address, length, writable);
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
    const target = this.process();
    return target.call('call', address, this.#forCall(target, resolve), args);
  }

  callTyped(address: number, resolve: ResolveLazy, result: number, floats: Float64Array | undefined, ints: readonly RegisterValue[]): number | bigint | undefined {
    const target = this.process();
    return target.callTyped('call', address, this.#forCall(target, resolve), result, floats, ints);
  }

  /**
   * Copied: what waits is sent before the call, and a compile in the middle of it (which writes
   * the new body here) is sent before the call goes on. Shared: nothing to send.
   */
  #forCall(target: ExecutorProcess, resolve: ResolveLazy): ResolveLazy {
    if (!this.copies) return resolve;
    this.#flush(target);
    return (returnAddress) => {
      const address = resolve(returnAddress);
      this.#flush(target);
      return address;
    };
  }

  /** Copied: what the code wrote there (a global) is fetched into the bytes heap.read is about to read. */
  read(loc: number, length: number): void {
    if (!this.copies || this.closed || length === 0 || !this.process().alive) return;
    const target = this.process();
    this.#flush(target);
    const reply = target.request('heap.read', MSG.READ, u64s(loc, length));
    if (reply.type !== MSG.OK || reply.payload.length !== length) {
      throw new CodeHeapError('EXECUTOR_LOST', `heap.read: the executor answered ${reply.payload.length} bytes for ${length}`);
    }
    this.bytes.set(reply.payload, loc);
  }

  /** The executor ends with its heap; the memfd and the host's view go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended();
    if (this.#shared !== undefined) this.addon.executorUnshare(this.#shared);
  }
}
