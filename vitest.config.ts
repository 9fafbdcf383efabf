import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Prints which Kafka the run uses (the project's own broker or another one on the port).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration suites share one PostgreSQL and one Kafka broker on a 2-core machine; each suite uses its own
    // schema / topic prefix, so files may run in parallel, but not too many at once.
    maxWorkers: 2,
  },
});
