// Loading the native-memory addon (native/codeheap.c), built by native/install.mjs at install time.
//
// The addon is optional. When it is missing or cannot load here, the reason is kept for
// isNativeAvailable(), and nothing else in codeheap depends on it.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { RegisterValue } from '../heap/region.js';

/**
 * The addon's exports. Addresses are numbers: x86-64 user space fits in 47 bits. Refusals are
 * Errors with a `code`: map() and reserveRange() throw MAPPING_LIMIT when the mappings the addon
 * holds would pass half of vm.max_map_count, before mapping anything.
 */
export interface NativeAddon extends ExecutorAddon {
  /**
   * Maps one memfd twice: read-execute code and read-write data at the target addresses; returns
   * the heap's read-write view. Takes over the reserveRange() range the arenas lie in, which any
   * refusal releases. Refuses with INVALID_ARGUMENT, MAPPING_LIMIT, ADDRESS_IN_USE (a fixed range
   * the process uses), NOT_EXECUTABLE (no memfd) or OUT_OF_MEMORY.
   */
  map(codeAddress: number, codeSize: number, dataAddress: number, dataSize: number): ArrayBuffer;
  /**
   * Unmaps the heap view map() returned, its code and its data now, and detaches the view (its
   * byteLength becomes 0). A view detached already is left alone; one map() did not return is
   * INVALID_ARGUMENT; CALL_RUNNING while a call() that entered the heap's code runs on this
   * thread. Pre: no other code of the heap runs, or will.
   */
  unmap(view: ArrayBuffer): void;
  /** Sets aside `size` bytes of address space for arenas that map() will place there; its address, or 0. */
  reserveRange(size: number): number;
  /** Runs the code at `address` (System V, up to six integer arguments); rax as a signed BigInt. */
  call(address: number, resolve: (returnAddress: number) => number, ...args: (number | bigint)[]): bigint;
  /**
   * Runs the code at `address` with up to six integer-class arguments (rdi .. r9: a number, a
   * BigInt, a Uint8Array's address, or 0 for null) and the eight raw doubles of `floats` (undefined:
   * all 0) in xmm0 .. xmm7; returns rax or xmm0 as `result` (a RESULT_KINDS number) says.
   */
  callTyped(address: number, resolve: (returnAddress: number) => number, result: number, floats: Float64Array | undefined,
    ...ints: RegisterValue[]): number | bigint | undefined;
  /**
   * Makes whole pages of the data arena's CPU mapping read-only, or read-write again; the heap's
   * view stays writable. INVALID_ARGUMENT for a range that is not whole pages of the arena.
   */
  protect(view: ArrayBuffer, address: number, length: number, writable: boolean): void;
  /** A symbol of the process (`dlsym(RTLD_DEFAULT, name)`), or undefined; also for a name with a NUL or over symbolBytes. */
  dlsym(name: string): number | undefined;
  /**
   * Maps the first page of an open file read-execute for the life of the process, so that `perf
   * record` sees the file (how it finds a jitdump); NOT_EXECUTABLE when mmap refuses.
   */
  markForProfiler(fd: number): void;
  /**
   * The GDB JIT interface: hands gdb an in-memory ELF object naming the code at [address, address
   * + size) `name`, with `ehFrame` (an unwind table, absolute pointers) as its .eh_frame (made in
   * C, held until unregistered), and the DWARF of a line table (`dwarf`: .debug_abbrev, .debug_info
   * and .debug_line back to back, the first two `abbrevLength` and `infoLength` bytes: made by
   * debug-lines.ts), returning an id for debuggerUnregister; O(1). OUT_OF_MEMORY when it cannot be
   * made.
   */
  debuggerRegister(
    name: string, address: number, size: number, ehFrame?: Uint8Array, dwarf?: Uint8Array, abbrevLength?: number, infoLength?: number,
  ): number;
  /** gdb drops the object; O(1). Pre: the id came from debuggerRegister, and is unregistered once. */
  debuggerUnregister(id: number): void;
  /**
   * Registers an unwind table (absolute pointers, no terminator: a copy is kept, terminated) with
   * the process's unwinder (libgcc's __register_frame); returns an id for unregisterUnwind.
   */
  registerUnwind(table: Uint8Array): number;
  /** The unwinder forgets the table (__deregister_frame), and its copy is freed. Pre: each id once. */
  unregisterUnwind(id: number): void;
  /** The machine-code resolver every reentry trampoline calls. */
  readonly resolverAddress: number;
  readonly pageSize: number;
  /** The longest name dlsym() looks up, in UTF-8 bytes. */
  readonly symbolBytes: number;
}

/**
 * The host's side of an executor process (native/executor-host.c; src/executor/). What fails is
 * an Error with code EXECUTOR_LOST and a `reason`: 'closed', 'timeout' (the executor was killed),
 * 'protocol', or 'fault' (with a fault's fields, as a MACHINE_FAULT error has them).
 */
export interface ExecutorAddon {
  /** Starts the executor at `path` with its end of a socket pair as fd 3: [pid, fd, resolverAddress]. */
  executorSpawn(path: string, timeoutMs: number): [number, number, number];
  /** A fresh memfd of `size` bytes and the host's read-write view of it: [view, fd]. */
  executorShare(size: number): [ArrayBuffer, number];
  /** Unmaps the view now (detaching it) and closes the memfd. */
  executorUnshare(shared: [ArrayBuffer, number]): void;
  /** One request and its reply: [replyType, replyPayload]; passFd goes with the payload (SCM_RIGHTS). */
  executorRequest(fd: number, pid: number, timeoutMs: number, type: number, payload?: Uint8Array, passFd?: number): [number, Uint8Array];
  /** A call run in the executor, served to its end (lazy functions resolved through `resolve`). */
  executorCall(fd: number, pid: number, timeoutMs: number, resolve: (returnAddress: number) => number, address: number, result: number,
    floats: Float64Array | undefined, ...ints: RegisterValue[]): number | bigint | undefined;
  /** Waits for the executor to end: [exit status or -1, signal or 0]. */
  executorReap(pid: number): [number, number];
  executorKill(pid: number): void;
  executorClose(fd: number): void;
  /** A TCP connection to an executor listening at host:port: [fd, resolverAddress, its pid there]. */
  executorConnect(host: string, port: number, timeoutMs: number): [number, number, number];
  /** A message with no answer (WRITE). */
  executorSend(fd: number, type: number, payload: Uint8Array): void;
}

export type AddonLoad = { addon: NativeAddon; reason?: undefined } | { addon?: undefined; reason: string };

// The same path from src/native (tests, tsx) and from dist/native (the package).
const ADDON = new URL('../../build/Release/codeheap_native.node', import.meta.url);
const STATUS = new URL('../../build/native-status.json', import.meta.url);
/** The executor program, built with the addon (native/executor.c). */
export const EXECUTOR_PATH = fileURLToPath(new URL('../../build/Release/codeheap_executor', import.meta.url));

let loaded: AddonLoad | undefined;

/** The addon, loaded once; or why it is not available. */
export function loadAddon(): AddonLoad {
  loaded ??= load();
  return loaded;
}

function load(): AddonLoad {
  if (process.env['CODEHEAP_NATIVE'] === 'off') return { reason: 'turned off by CODEHEAP_NATIVE=off' };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { reason: `native memory is for Linux x86-64, and this is ${process.platform} ${process.arch}` };
  }
  if (!existsSync(ADDON)) return { reason: `the addon was not built: ${buildReason()}` };
  try {
    const addon = createRequire(import.meta.url)(fileURLToPath(ADDON)) as NativeAddon;
    return { addon };
  } catch (error) {
    return { reason: `the addon did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** What the install script recorded about the build, or a hint when it did not run. */
function buildReason(): string {
  try {
    const status = JSON.parse(readFileSync(STATUS, 'utf8')) as { reason?: unknown };
    if (typeof status.reason === 'string' && status.reason !== '') return status.reason;
  } catch {
    // no record: the install script did not run (npm install --ignore-scripts, say)
  }
  const script = fileURLToPath(new URL('../../native/install.mjs', import.meta.url));
  return `its install script did not run (scripts turned off, or not approved: npm install-scripts approve codeheap); build it with \`node ${script}\``;
}
