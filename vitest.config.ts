import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ first: worker threads run the built code, never a stale copy.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run test files two at a time so worker-thread tests are not starved.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    // No code-worker warm-up (CodeServiceOptions.warmUp): each of the suite's hundreds of
    // runtimes, and of its crash tests' child processes, would spend ~250 ms of a core on it.
    // The pool's tests turn it on where they test it.
    env: { TESSERA_CODE_WARM_UP: '0' },
  },
});
