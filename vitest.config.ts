import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/cli/**', 'test/security/**', 'test/console/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/helpers/setup.ts'],
    env: { AWS_EC2_METADATA_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
  },
});
