// vitest globalSetup: compiles SQLite's amalgamation (about 25 s) once, before any worker starts,
// so that no test's time includes it and parallel workers find it in the cache. compileObject
// would also make the workers wait for one compile (its lock); this only moves the wait out of
// the tests. A run filtered to files that cannot need SQLite (`vitest run test/heap`) skips it.

import { sqliteAvailability, sqliteObject } from './sqlite.js';

/** Filters given to `vitest run` on the command line: only a hint, as options' values count too. */
function mayNeedSqlite(): boolean {
  const run = process.argv.findIndex((arg) => arg === 'run' || arg === 'watch' || arg === 'dev');
  const filters = process.argv.slice(run + 1).filter((arg) => !arg.startsWith('-'));
  return run === -1 || filters.length === 0 || filters.some((f) => /elf|loader|sqlite/i.test(f));
}

export default function setup(): void {
  if (!mayNeedSqlite() || !sqliteAvailability().available) return;
  const started = performance.now();
  sqliteObject();
  const seconds = (performance.now() - started) / 1000;
  if (seconds > 1) console.log(`compiled SQLite's amalgamation for the ELF suites in ${seconds.toFixed(1)} s (cached from now on)`);
}
