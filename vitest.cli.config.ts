import { defineConfig } from 'vitest/config';

/** The real agent CLIs (npm run test:cli): run only inside a loopback-only network namespace. */
export default defineConfig({
  test: {
    include: ['test/cli/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
    env: { AWS_EC2_METADATA_DISABLED: 'true' },
  },
});
