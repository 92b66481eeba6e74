import { defineConfig } from 'vitest/config';

/** End-to-end tests: the real `doorstep start`, real services, driven in Debian chromium. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
