/**
 * The fake clock: waits on it, and driving a run to its end while it is installed.
 * Not a test file.
 */
import { beforeEach, vi } from 'vitest';

/** Waits `ms` on the (possibly fake) clock; rejects with `signal.reason` when it aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Awaits a run under fake timers, firing its timers one by one. Fails instead of
 * spinning forever when the run neither settles nor has a timer left to fire.
 */
export async function drive<R>(run: PromiseLike<R>, maxSteps = 10_000): Promise<R> {
  let done = false;
  const settled = Promise.resolve(run).finally(() => {
    done = true;
  });
  for (let step = 0; !done; step++) {
    if (step >= maxSteps) throw new Error(`run did not settle within ${maxSteps} timer steps`);
    if (vi.getTimerCount() === 0) {
      await flushMicrotasks();
      if (!done && vi.getTimerCount() === 0) {
        throw new Error('run did not settle and has no timer left to fire: it hangs');
      }
    } else {
      await vi.advanceTimersToNextTimerAsync();
      // Let everything the timer set off run before the next timer fires, as a real
      // event loop would (fake timers otherwise fire the next one a few microtasks later).
      await flushMicrotasks(1);
    }
  }
  return settled;
}

// Captured before any test installs fake timers, which replace `setImmediate` too.
const realSetImmediate = globalThis.setImmediate;

/** Lets every queued promise reaction run: waits one real macrotask, `rounds` times. */
export async function flushMicrotasks(rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => realSetImmediate(resolve));
}

/** Fake timers, at 1,000,000 ms, for every test of the calling suite (test/setup.ts restores real ones). */
export function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
}
