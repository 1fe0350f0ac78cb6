// The real gcc, at test time: objects to load, and the same sources linked natively as the
// oracle (what each `long test_*(void)` returns in a normal program), so no expected value is
// written by hand. Compiled files are cached by a hash of gcc's version, the flags and the source
// (node_modules/.cache/codeheap-elf), written atomically so parallel workers can share them.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = resolve(here, '../../node_modules/.cache/codeheap-elf');

function probe(): { available: true; version: string } | { available: false; reason: string } {
  try {
    return { available: true, version: execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0]! };
  } catch (error) {
    return { available: false, reason: `gcc is not installed (${(error as Error).message.split('\n')[0]})` };
  }
}

export const gcc = probe();

/** Skips outside CI when gcc is missing (printing why); under CI a missing gcc fails the suite. */
export function gccSkip(): boolean {
  if (gcc.available) return false;
  if (process.env['CI'] === 'true') throw new Error(`CI: the object-loader suites need gcc: ${gcc.reason}`);
  console.warn(`skipping the object-loader suites: ${gcc.reason}`);
  return true;
}

export function corpusPath(name: string): string {
  return join(here, 'corpus', name);
}

function cached(key: string, suffix: string, make: (path: string) => void): string {
  const hash = createHash('sha256').update(gcc.available ? gcc.version : '').update('\0').update(key).digest('hex').slice(0, 32);
  const path = join(cacheDir, `${hash}${suffix}`);
  if (!existsSync(path)) {
    mkdirSync(cacheDir, { recursive: true });
    const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    make(temp);
    renameSync(temp, path);
  }
  return path;
}

/** `gcc -c flags source` (a file path), cached; the object's bytes. */
export function compileObject(source: string, flags: readonly string[]): Uint8Array {
  const text = readFileSync(source);
  const path = cached(`${flags.join(' ')}\0${text.toString('latin1')}`, '.o', (out) => {
    execFileSync('gcc', ['-c', ...flags, '-x', 'c', source, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
  return new Uint8Array(readFileSync(path));
}

/** What each entry returns when the sources are linked into a normal program (the oracle). */
export function nativeResults(sources: readonly string[], flags: readonly string[], entries: readonly string[]): Map<string, bigint> {
  const main = [
    '#include <stdio.h>',
    ...entries.map((e) => `long ${e}(void);`),
    'int main(void) {',
    ...entries.map((e) => `  printf("%ld\\n", ${e}());`),
    '  return 0;',
    '}',
  ].join('\n');
  const texts = sources.map((s) => readFileSync(s, 'latin1')).join('\0');
  const exe = cached(`exe\0${flags.join(' ')}\0${texts}\0${main}`, '.exe', (out) => {
    const mainPath = `${out}.main.c`;
    writeFileSync(mainPath, main);
    execFileSync('gcc', [...flags.filter((f) => f !== '-fPIC'), ...sources, mainPath, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
  const lines = execFileSync(exe, { encoding: 'utf8' }).trim().split('\n');
  return new Map(entries.map((e, i) => [e, BigInt(lines[i]!)]));
}

/** The flag variants every corpus file is loaded with. */
export const VARIANTS: readonly (readonly string[])[] = [
  ['-O0', '-fPIC', '-ffunction-sections', '-fdata-sections'],
  ['-O1', '-fPIC', '-ffunction-sections', '-fdata-sections'],
  ['-O2', '-fPIC', '-ffunction-sections', '-fdata-sections'],
  ['-O2', '-fPIC', '-fno-plt', '-ffunction-sections', '-fdata-sections'],
  ['-O1', '-fPIC'],
  ['-O2', '-fPIC', '-fcommon', '-ffunction-sections', '-fdata-sections'],
];
