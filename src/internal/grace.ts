/**
 * Waits that end with a run's budget or cancellation, however slow or hung the awaited
 * work is, yet do not cut short work that reacts to the abort at once.
 * @internal
 * @module
 */
import type { AbortScope, Watcher } from './abort-scope.js';

let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((reason: unknown) => void) | undefined;

/** The executor of every Grace's promise: a module function, so no closure per wait. */
function capture(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * One wait: watches its promise through the scope (one `then` for both the settlement
 * and the abort), and once the scope has aborted gives the promise one more turn.
 */
class Grace<T, F> implements Watcher<T> {
  readonly promise: Promise<T | F>;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (reason: unknown) => void;
  readonly #scope: AbortScope;
  readonly #leftBehind: (scope: AbortScope) => F;
  /** Set when the scope aborted: from then on the promise's rejection is the answer. */
  #waiting = false;

  constructor(promise: Promise<T>, scope: AbortScope, leftBehind: (scope: AbortScope) => F) {
    this.promise = new Promise(capture) as Promise<T | F>;
    this.#resolve = capturedResolve as (value: unknown) => void;
    this.#reject = capturedReject as (reason: unknown) => void;
    capturedResolve = capturedReject = undefined;
    this.#scope = scope;
    this.#leftBehind = leftBehind;
    if (scope.aborted) {
      // watch() would report the abort and never the settlement: both are needed here.
      promise.then(this.#resolve, this.#reject);
      this.#giveUpLater();
    } else scope.watch(promise, this);
  }

  // Settling a promise twice does nothing: the first of the promise and the grace wins.

  fulfilled(value: T): void {
    this.#resolve(value);
  }

  /**
   * The promise rejected, or the scope aborted (watch() reports both here; the abort
   * comes first if it comes at all): then the promise gets one more turn.
   */
  rejected(error: unknown): void {
    if (this.#scope.aborted && !this.#waiting) this.#giveUpLater();
    else this.#reject(error);
  }

  #giveUpLater(): void {
    this.#waiting = true;
    setImmediate(giveUp, this); // a module function and an argument: no closure per wait
  }

  /** The grace is over: settles with what `leftBehind` gives, unless the promise settled first. */
  giveUp(): void {
    try {
      this.#resolve(this.#leftBehind(this.#scope));
    } catch (error) {
      this.#reject(error);
    }
  }
}

function giveUp(grace: Grace<unknown, unknown>): void {
  grace.giveUp();
}

/**
 * Settles as `promise` does, unless `scope` aborts first: then `promise` gets one more
 * turn of the event loop (what reacts to an abort settles within microtasks, and a
 * healthy memory adapter's write within the turn), after which the result is
 * `leftBehind(scope)` (or its throw). Work that is left behind goes on unwatched; its
 * late rejection is handled.
 */
export function withGrace<T, F>(
  promise: Promise<T>,
  scope: AbortScope,
  leftBehind: (scope: AbortScope) => F,
): Promise<T | F> {
  return new Grace(promise, scope, leftBehind).promise;
}

/** A `leftBehind` for waits that fail with the abort reason once their grace is over. */
export function abortReason(scope: AbortScope): never {
  throw scope.reason;
}
