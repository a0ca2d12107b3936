/**
 * Microtasks without Node's per-call cost: `queueMicrotask` makes an AsyncResource and a
 * bound function for every callback (~1.6 KB a call with their bookkeeping, V8's sampling
 * heap profiler); a `then` on a settled promise makes its reaction and one promise. Both
 * queue the job at once, so callbacks run in the same order.
 * @internal
 * @module
 */

/** The settled promise every microtask is queued on. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * Calls `callback` in a microtask, as `queueMicrotask` does. A throw in it is an unhandled
 * rejection instead of an uncaught exception: by Node's default, the same crash.
 */
export function inMicrotask(callback: () => void): void {
  void SETTLED.then(callback);
}
