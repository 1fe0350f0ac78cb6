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
// One file of each per process, shared by every heap that asks (each record is one write to a
// file opened for appending, so heaps on worker threads share it too). The record layout is perf's
// tools/perf/Documentation/jitdump-specification.txt.

import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CodeHeapError } from '../errors.js';
import type { NativeAddon } from './addon.js';

/** What a heap's native memory tells profilers: see the header. */
export type ProfileOutput = 'perf-map' | 'jitdump';

const JITDUMP_MAGIC = 0x4a695444;
const JITDUMP_VERSION = 1;
const EM_X86_64 = 62;
const HEADER_SIZE = 40;
const JIT_CODE_LOAD = 0;
/** A load record's fixed part: the record header (16) and pid, tid, vma, code_addr, code_size, code_index. */
const LOAD_FIXED = 16 + 4 + 4 + 8 * 4;

/** The files of this process, opened on first use. */
let perfMap: number | undefined;
const jitdumps = new Map<string, Jitdump>();
/** Numbers JIT_CODE_LOAD records across every heap of the process (perf names its objects by it). */
let codeIndex = 0;

/** A place-in-time for code of this process, told to each output a heap's memory asked for. */
export interface CodeTracer {
  placed(name: string, address: number, size: number, bytes: Uint8Array): void;
}

/** The outputs named by the `profile` option, or by CODEHEAP_PROFILE when the option is absent. */
export function profileOutputs(given: unknown): ProfileOutput[] {
  const env = process.env['CODEHEAP_PROFILE'];
  const source = given === undefined ? (env === undefined || env === '' ? [] : env.split(',').map((s) => s.trim())) : given;
  const list = typeof source === 'string' ? [source] : source;
  if (!Array.isArray(list)) {
    throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory: profile must be 'perf-map', 'jitdump' or a list of them, got ${String(source)}`);
  }
  const outputs: ProfileOutput[] = [];
  for (const output of list as unknown[]) {
    if (output !== 'perf-map' && output !== 'jitdump') {
      const from = given === undefined ? `CODEHEAP_PROFILE=${env}` : 'the profile option';
      throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory: ${from} names ${JSON.stringify(output)}; the outputs are perf-map and jitdump`);
    }
    if (!outputs.includes(output)) outputs.push(output);
  }
  return outputs;
}

/** A tracer writing to the outputs given (opening this process's files if no heap has yet), or undefined for none. */
export function codeTracer(addon: NativeAddon, outputs: readonly ProfileOutput[], directory: string): CodeTracer | undefined {
  if (outputs.length === 0) return undefined;
  const map = outputs.includes('perf-map') ? openPerfMap() : undefined;
  const dump = outputs.includes('jitdump') ? openJitdump(addon, directory) : undefined;
  return {
    placed(name, address, size, bytes) {
      if (map !== undefined) writeSync(map, `${address.toString(16)} ${size.toString(16)} ${name.replace(/[\n\r]/g, ' ')}\n`);
      dump?.load(name, address, size, bytes);
    },
  };
}

function openPerfMap(): number {
  perfMap ??= opened(`/tmp/perf-${process.pid}.map`, 'a');
  return perfMap;
}

function openJitdump(addon: NativeAddon, directory: string): Jitdump {
  const path = join(directory, `jit-${process.pid}.dump`);
  let dump = jitdumps.get(path);
  if (dump === undefined) {
    dump = new Jitdump(addon, path);
    jitdumps.set(path, dump);
  }
  return dump;
}

function opened(path: string, flags: string): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    throw new CodeHeapError('INVALID_ARGUMENT', `nativeMemory: cannot open ${path} for the profiler: ${(error as Error).message}`);
  }
}

/** The CLOCK_MONOTONIC time in ns, as perf record -k mono stamps samples. */
function now(): bigint {
  return process.hrtime.bigint();
}

class Jitdump {
  readonly #fd: number;

  constructor(addon: NativeAddon, path: string) {
    // The file is this process's (its pid is in the name). One a heap on another thread of this
    // process began is appended to; a stale one, left by an earlier process with this pid, is
    // begun again: its header was written before this process started.
    // Readable too: mmap needs it.
    const fd = isOurs(path) ? opened(path, 'a+') : opened(path, 'w+');
    this.#fd = fd;
    try {
      if (fstatSync(fd).size === 0) this.#header();
      addon.markForProfiler(fd);
    } catch (error) {
      closeSync(fd);
      throw new CodeHeapError('NOT_EXECUTABLE', `nativeMemory: ${path} cannot be shown to perf: ${(error as Error).message}`);
    }
  }

  #header(): void {
    const header = new DataView(new ArrayBuffer(HEADER_SIZE));
    header.setUint32(0, JITDUMP_MAGIC, true);
    header.setUint32(4, JITDUMP_VERSION, true);
    header.setUint32(8, HEADER_SIZE, true);
    header.setUint32(12, EM_X86_64, true);
    header.setUint32(16, 0, true);
    header.setUint32(20, process.pid, true);
    header.setBigUint64(24, now(), true);
    header.setBigUint64(32, 0n, true);
    writeSync(this.#fd, new Uint8Array(header.buffer));
  }

  /** A JIT_CODE_LOAD record: the code at `address` is `name` from now on. */
  load(name: string, address: number, size: number, bytes: Uint8Array): void {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const total = LOAD_FIXED + nameBytes.length + size;
    const record = new Uint8Array(total);
    const view = new DataView(record.buffer);
    view.setUint32(0, JIT_CODE_LOAD, true);
    view.setUint32(4, total, true);
    view.setBigUint64(8, now(), true);
    view.setUint32(16, process.pid, true);
    view.setUint32(20, process.pid, true);
    view.setBigUint64(24, BigInt(address), true);
    view.setBigUint64(32, BigInt(address), true);
    view.setBigUint64(40, BigInt(size), true);
    view.setBigUint64(48, BigInt(codeIndex++), true);
    record.set(nameBytes, LOAD_FIXED);
    record.set(bytes.subarray(0, size), LOAD_FIXED + nameBytes.length);
    writeSync(this.#fd, record);
  }
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
    const started = now() - BigInt(Math.round(process.uptime() * 1e9));
    return header.readUInt32LE(0) === JITDUMP_MAGIC && header.readUInt32LE(20) === process.pid && header.readBigUInt64LE(24) >= started;
  } finally {
    closeSync(fd);
  }
}
