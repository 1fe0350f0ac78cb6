// Naming the heap's code to the profilers of this process: a perf map and a jitdump file.
//
//  - perf map (/tmp/perf-<pid>.map): a line `start size name` (hex) for each placement, appended.
//    perf reads it when it reports, so it knows only the last name at an address: a block freed
//    and given to another function, or a body moved by a recompile, leaves earlier samples under
//    the later name. It needs nothing from perf record.
//  - jitdump (jit-<pid>.dump): a JIT_CODE_LOAD record for each placement, with its code and the
//    CLOCK_MONOTONIC time it was placed (process.hrtime, as `perf record -k mono` stamps its
//    samples). `perf inject --jit` turns each record into a small ELF object mapped from that
//    time on, so a sample is named by what was at its address when it was taken: a reused block
//    and a moved function are told apart. perf finds the file through an executable mapping of
//    it (the addon's markForProfiler), recorded like any other mmap.
//
// One file of each per process, shared by every heap that asks (written in batches by
// trace-file.ts, to files opened for appending, so heaps on worker threads share them too). The record layout is perf's
// tools/perf/Documentation/jitdump-specification.txt.

import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CodeHeapError } from '../errors.js';
import type { NativeAddon } from './addon.js';
import { setU64 } from '../little-endian.js';
import { TraceFile } from './trace-file.js';
import { DebuggerRegistry } from './debugger.js';
import type { CheckedLines } from '../heap/region.js';

/** The tools a heap's native memory tells of its code: see the header (gdb: debugger.ts). */
export type ProfileOutput = 'perf-map' | 'jitdump' | 'gdb';

const JITDUMP_MAGIC = 0x4a695444;
const JITDUMP_VERSION = 1;
const EM_X86_64 = 62;
const HEADER_SIZE = 40;
const JIT_CODE_LOAD = 0;
/** A load record's fixed part: the record header (16) and pid, tid, vma, code_addr, code_size, code_index. */
const LOAD_FIXED = 16 + 4 + 4 + 8 * 4;

/**
 * This process's id, read once: `process` is an accessor of globalThis, and reading it twice a
 * record was a tenth of the record's time.
 */
const PID = process.pid;

/** The files of this process, opened on first use. */
let perfMap: PerfMap | undefined;
/** The jitdumps opened, by path: one per directory asked for, so a short list. */
const jitdumps: { path: string; dump: Jitdump }[] = [];
/** Numbers JIT_CODE_LOAD records across every heap of the process (perf names its objects by it). */
let codeIndex = 0;

/** What gdb is handed with a body beside its name: its unwind table and its line table, each when it has one. */
export interface DebugInfo {
  table?: Uint8Array;
  lines?: CheckedLines;
}

/** What a heap's native memory tells the tools it was asked to tell (Region.codePlaced, codeFreed). */
export interface CodeTracer {
  /**
   * The code is `size` bytes of `bytes` (the region's own) at `at`. `debug`: the body's unwind
   * table (absolute: Region.unwindPlaced) and line table (Region.linesPlaced) when it has them, for
   * gdb.
   */
  placed(name: string, address: number, size: number, bytes: Uint8Array, at: number, debug: DebugInfo | undefined): void;
  /** Whether `placed` wants each body's unwind and line tables (gdb does). */
  readonly wantsDebugInfo: boolean;
  freed(address: number): void;
  /** The heap's memory is unmapped: nothing of it is code any more. */
  closed(): void;
}

/** The outputs named by the `profile` option, or by CODEHEAP_PROFILE when the option is absent. */
export function profileOutputs(given: unknown): ProfileOutput[] {
  const env = process.env['CODEHEAP_PROFILE'];
  const source = given === undefined ? (env === undefined || env === '' ? [] : env.split(',').map((s) => s.trim())) : given;
  const list = typeof source === 'string' ? [source] : source;
  if (!Array.isArray(list)) {
    throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory: profile must be 'perf-map', 'jitdump', 'gdb' or a list of them, got ${String(source)}`);
  }
  const outputs: ProfileOutput[] = [];
  for (const output of list as unknown[]) {
    if (output !== 'perf-map' && output !== 'jitdump' && output !== 'gdb') {
      const from = given === undefined ? `CODEHEAP_PROFILE=${env}` : 'the profile option';
      throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory: ${from} names ${JSON.stringify(output)}; the outputs are perf-map, jitdump and gdb`);
    }
    if (!outputs.includes(output)) outputs.push(output);
  }
  return outputs;
}

/** A tracer writing to the outputs given (opening this process's files if no heap has yet), or undefined for none. */
export function codeTracer(addon: NativeAddon, outputs: readonly ProfileOutput[], directory: string, codeAddress: number): CodeTracer | undefined {
  if (outputs.length === 0) return undefined;
  const map = outputs.includes('perf-map') ? openPerfMap() : undefined;
  const dump = outputs.includes('jitdump') ? openJitdump(addon, directory) : undefined;
  const gdb = outputs.includes('gdb') ? new DebuggerRegistry(addon, codeAddress) : undefined;
  return {
    wantsDebugInfo: gdb !== undefined,
    placed(name, address, size, bytes, at, debug) {
      map?.line(name, address, size);
      dump?.load(name, address, size, bytes, at);
      gdb?.placed(name, address, size, debug?.table, debug?.lines);
    },
    freed(address) {
      gdb?.freed(address);
    },
    closed() {
      gdb?.closed();
    },
  };
}

function openPerfMap(): PerfMap {
  perfMap ??= new PerfMap(opened(`/tmp/perf-${process.pid}.map`, 'a'));
  return perfMap;
}

class PerfMap {
  readonly #file: TraceFile;

  constructor(fd: number) {
    this.#file = new TraceFile(fd);
  }

  /** `start size name` in hex; a line break in the name would start another line, so none is kept. */
  line(name: string, address: number, size: number): void {
    const nameLength = utf8Length(name);
    const addressDigits = hexDigits(address);
    const sizeDigits = hexDigits(size);
    const at = this.#file.reserve(addressDigits + sizeDigits + nameLength + 3);
    const { bytes } = this.#file;
    putHex(bytes, at, address, addressDigits);
    bytes[at + addressDigits] = 0x20;
    const sizeAt = at + addressDigits + 1;
    putHex(bytes, sizeAt, size, sizeDigits);
    bytes[sizeAt + sizeDigits] = 0x20;
    const nameAt = sizeAt + sizeDigits + 1;
    putText(bytes, nameAt, name, nameLength, true);
    bytes[nameAt + nameLength] = 0x0a;
  }
}

/** The ASCII of each hex digit, lower case. */
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const TWO_32 = 2 ** 32;

/**
 * Hex digits of a non-negative safe integer (at least one). In 32-bit halves, each measured by its
 * leading zeros: the divisions of a digit-by-digit loop were a tenth of a define's time.
 */
function hexDigits(value: number): number {
  const high = Math.floor(value / TWO_32);
  if (high > 0) return 8 + ((35 - Math.clz32(high)) >> 2);
  const digits = (35 - Math.clz32(value >>> 0)) >> 2;
  return digits === 0 ? 1 : digits;
}

/** Writes `value` in lower-case hex, its `digits` digits, at `at`: the low half by shifts, then the high. */
function putHex(bytes: Uint8Array, at: number, value: number, digits: number): void {
  const end = at + digits;
  let low = value >>> 0;
  for (let i = end - 1, last = digits > 8 ? end - 8 : at; i >= last; i--) {
    bytes[i] = HEX[low & 15]!;
    low >>>= 4;
  }
  let high = Math.floor(value / TWO_32);
  for (let i = end - 9; i >= at; i--) {
    bytes[i] = HEX[high & 15]!;
    high >>>= 4;
  }
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`: its length when it is ASCII, as names almost always are. */
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  return text.length;
}

/**
 * Writes `text` (`length` UTF-8 bytes) at `at`: ASCII byte by byte, anything else encoded. `oneLine`:
 * a line break becomes a space (a perf map line ends at the first).
 */
function putText(bytes: Uint8Array, at: number, text: string, length: number, oneLine = false): void {
  if (length === text.length) {
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i);
      bytes[at + i] = oneLine && (c === 0x0a || c === 0x0d) ? 0x20 : c;
    }
  } else {
    encoder.encodeInto(text, bytes.subarray(at, at + length));
    if (oneLine) for (let i = at; i < at + length; i++) if (bytes[i] === 0x0a || bytes[i] === 0x0d) bytes[i] = 0x20;
  }
}

function openJitdump(addon: NativeAddon, directory: string): Jitdump {
  const path = join(directory, `jit-${process.pid}.dump`);
  const known = jitdumps.find((j) => j.path === path);
  if (known !== undefined) return known.dump;
  const dump = new Jitdump(addon, path);
  jitdumps.push({ path, dump });
  return dump;
}

function opened(path: string, flags: string): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory: cannot open ${path} for the profiler: ${(error as Error).message}`);
  }
}

// nowNs: the CLOCK_MONOTONIC time in ns, as perf record -k mono stamps samples, as a number (a
// BigInt a record cost 50 ns). performance.now() is milliseconds of that clock since this
// process's time origin (both are libuv's hrtime), so the origin is taken once from
// process.hrtime; a sum below 2^53 ns (104 days since boot) is exact to the nanosecond
// performance.now() resolves.
const ORIGIN_NS = Number(process.hrtime.bigint()) - performance.now() * 1e6;
function nowNs(): number {
  return Math.round(ORIGIN_NS + performance.now() * 1e6);
}

class Jitdump {
  readonly #file: TraceFile;

  constructor(addon: NativeAddon, path: string) {
    // The file is this process's (its pid is in the name). One a heap on another thread of this
    // process began is appended to; a stale one, left by an earlier process with this pid, is
    // begun again: its header was written before this process started. Readable too: mmap needs it.
    const fd = isOurs(path) ? opened(path, 'a+') : opened(path, 'w+');
    try {
      if (fstatSync(fd).size === 0) writeSync(fd, header());
      addon.markForProfiler(fd);
    } catch (error) {
      closeSync(fd);
      throw new CodeHeapError('NOT_EXECUTABLE', `nativeMemory: ${path} cannot be shown to perf: ${(error as Error).message}`);
    }
    this.#file = new TraceFile(fd);
  }

  /** A JIT_CODE_LOAD record: the code at `address` (in `code` at `codeAt`) is `name` from now on. */
  load(name: string, address: number, size: number, code: Uint8Array, codeAt: number): void {
    const nameLength = utf8Length(name) + 1;
    const total = LOAD_FIXED + nameLength + size;
    const at = this.#file.reserve(total);
    const { bytes, view } = this.#file;
    view.setUint32(at, JIT_CODE_LOAD, true);
    view.setUint32(at + 4, total, true);
    setU64(view, at + 8, nowNs());
    view.setUint32(at + 16, PID, true);
    view.setUint32(at + 20, PID, true);
    // Addresses and sizes are below 2^53: two 32-bit halves each, with no BigInt made.
    setU64(view, at + 24, address);
    setU64(view, at + 32, address);
    setU64(view, at + 40, size);
    setU64(view, at + 48, codeIndex++);
    const nameAt = at + LOAD_FIXED;
    putText(bytes, nameAt, name, nameLength - 1);
    bytes[nameAt + nameLength - 1] = 0;
    copyCode(bytes, nameAt + nameLength, code, codeAt, size);
  }
}


/**
 * Copies `size` bytes of `code` from `from` to `at`: a small body byte by byte (a view and
 * TypedArray.set cost more than the copy for the 16 to 128 bytes most bodies are), a larger one
 * with set.
 */
function copyCode(bytes: Uint8Array, at: number, code: Uint8Array, from: number, size: number): void {
  if (size <= 128) {
    for (let i = 0; i < size; i++) bytes[at + i] = code[from + i]!;
  } else {
    bytes.set(code.subarray(from, from + size), at);
  }
}

/** The file header: magic, version, its size, the machine, the pid and when it was begun. */
function header(): Uint8Array {
  const view = new DataView(new ArrayBuffer(HEADER_SIZE));
  view.setUint32(0, JITDUMP_MAGIC, true);
  view.setUint32(4, JITDUMP_VERSION, true);
  view.setUint32(8, HEADER_SIZE, true);
  view.setUint32(12, EM_X86_64, true);
  view.setUint32(16, 0, true);
  view.setUint32(20, process.pid, true);
  setU64(view, 24, nowNs());
  setU64(view, 32, 0);
  return new Uint8Array(view.buffer);
}

/** Whether the jitdump at `path` was begun by this process (on another thread): see Jitdump. */
function isOurs(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const header = Buffer.alloc(HEADER_SIZE);
    if (readSync(fd, header, 0, HEADER_SIZE, 0) < HEADER_SIZE) return false;
    const started = nowNs() - process.uptime() * 1e9;
    const begun = header.readUInt32LE(24) + header.readUInt32LE(28) * 2 ** 32;
    return header.readUInt32LE(0) === JITDUMP_MAGIC && header.readUInt32LE(20) === process.pid && begun >= started;
  } finally {
    closeSync(fd);
  }
}
