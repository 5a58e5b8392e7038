import { defineConfig } from 'vitest/config';

/** The attack suite (npm run test:security): authorization matrix, fuzzing, leak scan, SSRF table. */
export default defineConfig({
  test: {
    include: ['test/security/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
    env: { AWS_EC2_METADATA_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
  },
});
