// Suites that run in a process of their own: how bench/run.ts starts one and reads its result,
// and how the suite, run directly, hands its result back.
//
// A suite runs apart when the V8 flags it needs would change the others' figures, or theirs
// would change its own: the collector's suite needs --single-threaded-gc, the object-per-node
// baseline --expose-gc, and the FinalizationRegistry suite must run with none at all (its point is
// when V8 collects by itself). Each prints its own lines as it goes and writes its result as JSON
// to the file named by --json=.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** True when `moduleUrl` (a suite's import.meta.url) is the script node was started with. */
export function isEntry(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && moduleUrl === pathToFileURL(entry).href;
}

/** The suite's command line: --quick, and where to write the result (--json=path), if anywhere. */
export function childArgs(): { quick: boolean; json: string | undefined } {
  return {
    quick: process.argv.includes('--quick'),
    json: process.argv.find((a) => a.startsWith('--json='))?.slice('--json='.length),
  };
}

/** Writes a suite's result where --json= asked (a suite run by hand may not ask). */
export function writeResult(json: string | undefined, result: unknown): void {
  if (json !== undefined) writeFileSync(json, JSON.stringify(result));
}

/**
 * Runs bench/<script> in a new node process with `flags`, passing --quick when asked and `args`
 * after the script, and returns the result it wrote. Its output goes straight to ours. Throws
 * when it fails.
 */
export function runChild<T>(script: string, flags: readonly string[], quick: boolean, args: readonly string[] = []): T {
  const json = join(here, 'results', `.${script}-${process.pid}.json`);
  mkdirSync(dirname(json), { recursive: true });
  const argv = [...flags, '--import', 'tsx', join(here, script), ...args, `--json=${json}`];
  if (quick) argv.push('--quick');
  const run = spawnSync(process.execPath, argv, { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`bench/${script} failed (${run.status ?? run.signal})`);
  const result = JSON.parse(readFileSync(json, 'utf8')) as T;
  rmSync(json);
  return result;
}
