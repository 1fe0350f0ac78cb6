// The real gcc, at test time, for the ELF loader's suites: relocatable objects to load, and the
// honest oracle, the same objects linked by the system linker into a program that calls each
// entry, so that a test compares what heap-loaded code returns with what natively linked code
// returns and writes no expected value by hand.
//
// Everything gcc makes is cached under node_modules/.cache/codeheap-elf by a sha256 of gcc's
// identity, the flags and the source. One process makes a file while any others wanting it wait
// on a lock, and it is written to a temporary name and renamed into place, so parallel vitest
// workers compile each thing once and never read half a file.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mainFor, parseOutput, type NativeCall, type NativeOutcome } from './native-main.js';

export type { Argument, NativeCall, NativeOutcome, ParameterType, ResultType } from './native-main.js';
export { freshArguments } from './native-main.js';

export type Toolchain =
  | { readonly available: true; readonly version: string }
  | { readonly available: false; readonly reason: string };

/** C text, or a file (compiled where it is, so its own `#include "..."` and diagnostics work). */
export type Source = string | { readonly path: string };

const CACHE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../node_modules/.cache/codeheap-elf');

let probed: Toolchain | undefined;

/** Whether gcc is here and makes x86-64 ELF; asked once per process. */
export function toolchain(): Toolchain {
  probed ??= probe();
  return probed;
}

function probe(): Toolchain {
  if (process.platform !== 'linux') return { available: false, reason: `gcc objects are run natively, which needs Linux (this is ${process.platform})` };
  const run = spawnSync('gcc', ['-dumpmachine'], { encoding: 'utf8' });
  if (run.error !== undefined) return { available: false, reason: `gcc could not be run: ${run.error.message}` };
  const machine = run.stdout.trim();
  if (run.status !== 0 || !machine.startsWith('x86_64-')) {
    return { available: false, reason: `gcc makes ${machine || 'nothing'} (${run.stderr.trim()}); the loader reads x86-64 ELF` };
  }
  // The whole banner and the target: a different build of the same version may compile differently.
  const banner = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  return { available: true, version: `${banner} (${machine})` };
}

/** Whether something a suite needs is here, and if not, why. */
export type Availability = { readonly available: true } | { readonly available: false; readonly reason: string };

function gccVersion(): string {
  const found = toolchain();
  if (!found.available) throw new Error(`gcc is not available: ${found.reason}`);
  return found.version;
}

function sha256(...parts: readonly (string | Buffer)[]): string {
  const hash = createHash('sha256');
  // A separator after each part, so that ['ab', 'c'] and ['a', 'bc'] are different keys.
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

/**
 * The cached file for key, made by make(temporaryPath) when it is not there yet. One process
 * makes it while others wait (a lock directory beside it), so that a 25-second compile is not
 * done once per worker; the rename still keeps readers that do not wait from seeing a part.
 */
function cached(key: string, suffix: string, make: (path: string) => void): string {
  const path = resolve(CACHE, `${key}${suffix}`);
  if (existsSync(path)) return path;
  mkdirSync(CACHE, { recursive: true });
  withLock(`${path}.lock`, () => {
    if (existsSync(path)) return;
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      make(temporary);
      renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
  });
  return path;
}

const LOCK_WAIT_MS = 15 * 60_000;

function withLock(lock: string, body: () => void): void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // A holder that died (a killed run) leaves its lock behind: its pid says so.
    if (!holderAlive(lock)) rmSync(lock, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`${lock} was held for more than ${LOCK_WAIT_MS / 60_000} minutes`);
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  try {
    writeFileSync(join(lock, 'pid'), String(process.pid));
    body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function holderAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // No pid yet: the holder is between mkdir and writing it, unless it died there long ago.
    const made = statSync(lock, { throwIfNoEntry: false });
    return made !== undefined && Date.now() - made.mtimeMs < 10_000;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs gcc; a failure throws with the command and gcc's own diagnostics. */
function gcc(args: readonly string[], input?: string): void {
  const run = spawnSync('gcc', args, { encoding: 'utf8', ...(input === undefined ? {} : { input }), maxBuffer: 64 << 20 });
  if (run.error !== undefined) throw new Error(`gcc ${args.join(' ')}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`gcc ${args.join(' ')} failed (exit ${run.status}):\n${run.stderr}`);
}

/**
 * The cache key of an object: gcc, flags, and the source. A file's path is part of it because gcc
 * writes the name it was given into the object (its STT_FILE symbol).
 */
function objectKey(source: Source, flags: readonly string[]): string {
  const text = typeof source === 'string' ? ['text', source] : ['file', resolve(source.path), readFileSync(source.path)];
  return sha256(gccVersion(), ...flags, '--', ...text);
}

/**
 * The path of the cached `gcc -c flags source` object (to hand to readelf or objdump -dr). Headers
 * a file includes are not part of the key: the corpus includes only the system's, which go with
 * gcc's version.
 */
export function compileObjectFile(source: Source, flags: readonly string[]): string {
  if (flags.includes('-c') || flags.includes('-o')) throw new Error(`compileObject adds -c and -o itself: ${flags.join(' ')}`);
  return cached(objectKey(source, flags), '.o', (out) => {
    if (typeof source === 'string') gcc(['-c', ...flags, '-x', 'c', '-', '-o', out], source);
    else gcc(['-c', ...flags, resolve(source.path), '-o', out]);
  });
}

/** `gcc -c flags source`: the bytes of an x86-64 ELF relocatable object (cached). */
export function compileObject(source: Source, flags: readonly string[]): Uint8Array {
  return new Uint8Array(readFileSync(compileObjectFile(source, flags)));
}

/**
 * Makes calls in a natively linked program: each source is compiled exactly as compileObject
 * compiles it (the same cached objects the loader is given), linked by gcc with a generated
 * main() that makes the calls in order, once each, in one process; each call's result and the
 * bytes of its buffer arguments afterwards come back in order. Pass every source the calls need
 * (a file calling another object's function, with that object).
 */
export function nativeCalls(sources: Source | readonly Source[], flags: readonly string[], calls: readonly NativeCall[]): NativeOutcome[] {
  const list: readonly Source[] = typeof sources === 'string' || 'path' in sources ? [sources] : sources;
  const objects = list.map((source) => compileObjectFile(source, flags));
  const main = mainFor(calls);
  const key = sha256(gccVersion(), 'program', ...flags, '--', ...objects, main);
  const program = cached(key, '.exe', (out) => {
    const mainPath = `${out}.main.c`;
    writeFileSync(mainPath, main);
    try {
      // main.c is ours and plain; the flags are for the objects under test, already compiled.
      gcc(['-O0', ...objects, mainPath, '-o', out]);
    } finally {
      rmSync(mainPath, { force: true });
    }
  });
  const run = spawnSync(program, [], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(`the native program for ${sourceNames(list)} failed (${run.error?.message ?? `exit ${run.status}, signal ${run.signal}`}):\n${run.stderr}`);
  }
  return parseOutput(run.stdout, calls);
}

/**
 * The oracle for `long name(void)` entries: what each returns in a natively linked program,
 * called in the order given, once each, in one process (so entries that share state must be
 * called in the same order on one freshly loaded copy to compare).
 */
export function nativeResults(sources: Source | readonly Source[], flags: readonly string[], entries: readonly string[]): Map<string, bigint> {
  const outcomes = nativeCalls(sources, flags, entries.map((name) => ({ name, parameters: [], result: 'i64', args: [] })));
  return new Map(entries.map((name, i) => [name, outcomes[i]?.result as bigint]));
}

function sourceNames(sources: readonly Source[]): string {
  return sources.map((s) => (typeof s === 'string' ? '<C text>' : s.path)).join(', ');
}
