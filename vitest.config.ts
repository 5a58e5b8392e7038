import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/cli/**', 'test/security/**', 'test/console/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/helpers/setup.ts'],
    // Tests run in a random order inside each file (the seed is printed; replay with
    // --sequence.shuffle.tests --sequence.seed=<seed>), so none can lean on another's leftovers.
    sequence: { shuffle: { files: false, tests: true } },
    env: { AWS_EC2_METADATA_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
  },
});
