/**
 * The calls an adapter has under way, which its close() lets finish.
 * @internal
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Promises of calls under way, each tracked until it settles. */
export class InFlight {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `call` until it settles; returns it. */
  track<T>(call: Promise<T>): Promise<T> {
    this.#pending.add(call);
    const done = () => this.#pending.delete(call);
    call.then(done, done);
    return call;
  }

  /**
   * Settles once every call tracked has settled (those started meanwhile too), then one
   * turn of the event loop later: what their callers did with the results is done by then.
   */
  async drained(): Promise<void> {
    while (this.#pending.size > 0) {
      await Promise.allSettled(this.#pending);
      await nextTurn();
    }
  }
}
