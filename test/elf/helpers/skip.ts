// Skipping the ELF suites where their tools are missing, as the native suites skip without the
// addon: outside CI the reason is printed and the suites skip; under CI=true a missing tool is a
// failing test, because CI is where the loader must be tested. (Apart from toolchain.ts so that
// scripts and worker threads can use the toolchain without importing vitest.)

import { test } from 'vitest';
import { toolchain, type Availability } from './toolchain.js';

/**
 * Call at the top level of an ELF test file, for describe.skipIf: true when its suites must be
 * skipped. Under CI=true it also adds a test that fails with the reason (the suites themselves
 * are skipped, so that the failure is the one line to read).
 */
export function skipWithoutGcc(suite: string): boolean {
  return skipUnavailable(suite, toolchain());
}

/** skipWithoutGcc for any requirement (sqliteAvailability(): gcc and better-sqlite3's amalgamation). */
export function skipUnavailable(suite: string, found: Availability): boolean {
  if (found.available) return false;
  if (process.env['CI'] === 'true') {
    test(`${suite}: required under CI`, () => {
      throw new Error(`${suite} cannot run: ${found.reason}`);
    });
  } else {
    console.warn(`${suite} skipped: ${found.reason}`);
  }
  return true;
}
