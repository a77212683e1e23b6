import { defineConfig } from 'vitest/config';

// A native addon plus blockOn does not mix with a threads pool, and vitest's own timeout is a
// setTimeout that cannot fire while blockOn holds the thread: tests use forks and give every
// blockOn its own wakeloop deadline.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One JSON report per backend: .ci/run sums them into its last line.
    reporters: ['default', 'json'],
    outputFile: { json: `.vitest-report-${process.env.WAKELOOP_BACKEND || 'epoll'}.json` },
  },
});
