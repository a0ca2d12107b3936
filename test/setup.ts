/**
 * Vitest's setup file (`setupFiles` in vitest.config.ts and vitest.mutation.config.ts):
 * runs before every test file, and gives every test two guards, so suites do not each
 * register them:
 * - real timers again after the test: a test or suite that installs fake timers
 *   (`vi.useFakeTimers`, `useFakeClock`) does not restore them itself;
 * - the test fails if an `unhandledRejection` was reported while it ran (the engine must
 *   never leave a rejection unhandled, whatever agents, memory or listeners do).
 * Not a test file.
 */
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { flushMicrotasks } from './support/clock.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});

// Runs after the test file's own afterEach hooks (Vitest runs after-hooks as a stack).
afterEach(async () => {
  try {
    // Node reports unhandled rejections after the microtask queue drains.
    await flushMicrotasks();
  } finally {
    process.off('unhandledRejection', onUnhandled);
    vi.useRealTimers();
  }
  expect(unhandled, 'unhandled rejections while the test ran').toEqual([]);
});
