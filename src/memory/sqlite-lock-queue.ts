/**
 * The queue of `SqliteMemory`'s writes that met a lock (or were made while one waits):
 * each runs as its own transaction once the previous has settled, in the order they were
 * made, trying again after a pause while the lock is held.
 * @internal
 * @module
 */
import { BATCH_SLICE_MS } from './sqlite-batch.js';
import { FIRST_RETRY_DELAY_MS, isLockError, MAX_RETRY_DELAY_MS, sleep } from './sqlite-locks.js';

/** What the queue needs of its adapter. */
export interface LockQueueHost {
  readonly busyTimeoutMs: number;
  /** Whether the database is still open. */
  isOpen(): boolean;
  /** The error of `operation` tried after close(); `cause` is the driver's. */
  afterClose(operation: string, cause: unknown): Error;
  /** The error of `operation` once it waited `waitedMs` for a lock, `cause` the last lock error. */
  lockTimeout(operation: string, waitedMs: number, cause: unknown): Error;
  /** What `operation` rejects with when it threw something other than a lock (a damaged file, named). */
  failed(operation: string, error: unknown): unknown;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Writes waiting for a lock, in order; see {@link LockQueue.enqueue}. */
export class LockQueue {
  readonly #host: LockQueueHost;
  /** Settles after the last queued write; `undefined` when none is queued. */
  #tail: Promise<void> | undefined;
  #queued = 0;
  /** When the queue last let the event loop run (a pause, or a turn given up on purpose). */
  #since = 0;

  constructor(host: LockQueueHost) {
    this.#host = host;
  }

  /** True when no write is queued: a write may run at once. */
  get idle(): boolean {
    return this.#tail === undefined;
  }

  /**
   * Queues `attempt` behind the writes waiting; its budget counts from now. `lockError`:
   * the lock its caller's own try met (it then first pauses), `undefined` to try at once.
   * A long queue runs in slices of {@link BATCH_SLICE_MS}, giving the event loop a turn
   * between them: thousands of writes released at once by a lock do not block it.
   */
  enqueue<T>(operation: string, attempt: () => T, lockError: unknown): Promise<T> {
    const since = performance.now();
    const previous = this.#tail;
    let done: Promise<T>;
    if (previous === undefined) {
      this.#since = since;
      done = this.retry(operation, attempt, since, lockError);
    } else {
      done = previous.then(() => this.#paced(operation, attempt, since, lockError));
    }
    this.#queued += 1;
    this.#tail = done.then(this.#dequeue, this.#dequeue);
    return done;
  }

  /** As {@link retry}, after a turn of the event loop when the queue has run for a slice without one. */
  #paced<T>(operation: string, attempt: () => T, since: number, lockError: unknown): Promise<T> {
    if (performance.now() - this.#since < BATCH_SLICE_MS)
      return this.retry(operation, attempt, since, lockError);
    return nextTurn().then(() => {
      this.#since = performance.now();
      return this.retry(operation, attempt, since, lockError);
    });
  }

  readonly #dequeue = (): void => {
    this.#queued -= 1;
    if (this.#queued === 0) this.#tail = undefined;
  };

  /**
   * Tries `attempt` until it does not meet a lock, pausing between tries with timers (the
   * event loop runs meanwhile), and rejects with the host's `lockTimeout` once
   * `busyTimeoutMs` has passed since `since`. `lockError`: the lock the caller's own try
   * met (the first try is then after a pause); `undefined` to try at once.
   */
  async retry<T>(operation: string, attempt: () => T, since: number, lockError: unknown): Promise<T> {
    const host = this.#host;
    let last = lockError;
    if (last === undefined) {
      try {
        return attempt();
      } catch (error) {
        // Closed while queued behind a write that met a lock: as below.
        if (!isLockError(error))
          throw host.isOpen() ? host.failed(operation, error) : host.afterClose(operation, error);
        last = error;
      }
    }
    const budget = host.busyTimeoutMs;
    for (let delay = FIRST_RETRY_DELAY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
      const waited = performance.now() - since;
      if (waited >= budget) throw host.lockTimeout(operation, waited, last);
      await sleep(Math.min(delay, budget - waited));
      this.#since = performance.now();
      try {
        return attempt();
      } catch (error) {
        // Closed while this waited for the lock: the driver's TypeError becomes the cause.
        if (!isLockError(error))
          throw host.isOpen() ? host.failed(operation, error) : host.afterClose(operation, error);
        last = error;
      }
    }
  }
}
