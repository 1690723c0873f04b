import { defineConfig } from 'vitest/config';
import LongestFirst from './test/helpers/longest-first.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Temporal workers run native code and spawn servers: separate processes, not threads.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Concurrent tests (the end-to-end scenarios, each a whole stack) two at a time per file: 2 cores.
    maxConcurrency: 2,
    sequence: { sequencer: LongestFirst },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
