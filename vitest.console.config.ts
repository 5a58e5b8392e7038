import { defineConfig } from 'vitest/config';

/** The web console in a real headless Chromium (npm run test:console). */
export default defineConfig({
  test: {
    include: ['test/console/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
    env: { AWS_EC2_METADATA_DISABLED: 'true' },
  },
});
