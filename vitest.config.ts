import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The deep-graph tests (a million-node chain) and the model-based suites take seconds, not
    // milliseconds; the per-test limit is generous so that a loaded CI machine does not flake.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Compiles SQLite's amalgamation for the ELF suites once, before the workers start.
    globalSetup: ['test/elf/helpers/global-setup.ts'],
  },
});
