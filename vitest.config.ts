import { defineConfig } from 'vitest/config';

// The suites that run code, run again with the code in an executor (test/helpers/memory.ts).
const EXECUTOR_SUITES = [
  'test/native/native.test.ts', 'test/native/bind.test.ts', 'test/native/bind-lazy.test.ts', 'test/elf/corpus.test.ts', 'test/elf/sqlite.test.ts',
];

export default defineConfig({
  test: {
    // The deep-graph tests (a million-node chain) and the model-based suites take seconds, not
    // milliseconds; the per-test limit is generous so that a loaded CI machine does not flake.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Compiles SQLite's amalgamation for the ELF suites once, before the workers start.
    globalSetup: ['test/elf/helpers/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'codeheap', include: ['test/**/*.test.ts'] } },
      // The suites that run code, again with the code in an executor process (test/helpers/memory.ts).
      {
        extends: true,
        test: {
          name: 'executor',
          include: EXECUTOR_SUITES,
          env: { CODEHEAP_TEST_MEMORY: 'executor' },
        },
      },
      // And with the executor at the end of a TCP connection on 127.0.0.1, the bytes copied.
      {
        extends: true,
        test: {
          name: 'executor-tcp',
          include: EXECUTOR_SUITES,
          env: { CODEHEAP_TEST_MEMORY: 'executor-tcp' },
        },
      },
    ],
  },
});
