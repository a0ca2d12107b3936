/** Guards for a suite. Not a test file. */
import { afterEach, beforeEach, expect } from 'vitest';
import { flushMicrotasks } from './clock.js';

/**
 * Counts `unhandledRejection`s during each test of the calling suite and fails the
 * test that caused one.
 */
export function failOnUnhandledRejections(): void {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => {
    seen.push(reason);
  };
  beforeEach(() => {
    seen.length = 0;
    process.on('unhandledRejection', listener);
  });
  afterEach(async () => {
    // Node reports unhandled rejections after the microtask queue drains.
    await flushMicrotasks();
    process.off('unhandledRejection', listener);
    expect(seen).toEqual([]);
  });
}
