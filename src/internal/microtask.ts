/**
 * Microtasks without Node's per-call wrapper: `queueMicrotask` makes an AsyncResource and
 * a bound function for every callback; a `then` on a settled promise makes its reaction
 * and one promise (~190 against ~110 B a call without AsyncLocalStorage in use; about
 * even with it, on Node 20). Both queue the job at once, in the same queue: callbacks run
 * in the same order, and in the async context of the caller.
 * @internal
 * @module
 */

/** The settled promise every microtask is queued on. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * Calls `callback` in a microtask, as `queueMicrotask` does. The engine's callbacks do
 * not throw (faults are caught where they run); should one, it would be an unhandled
 * rejection rather than an uncaught exception: the process ends by Node's default, but an
 * `unhandledRejection` listener or `--unhandled-rejections=warn` keeps it running.
 */
export function inMicrotask(callback: () => void): void {
  void SETTLED.then(callback);
}
