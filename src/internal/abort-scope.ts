/**
 * One abort tree per run: run → stage → attempt → agent call. Children are linked
 * through sets and races through a linked list, not `addEventListener`, so a fan-out
 * of 100,000 branches costs O(1) per branch to link and unlink, and nothing stays
 * attached once its work ends.
 * @internal
 * @module
 */

import { noop } from './noop.js';
import { startTimer, stopTimer, type Timer } from './timers.js';

/**
 * The scopes that follow each external signal, behind one `abort` listener per signal:
 * a listener per run would pass Node's limit of 10 listeners on a signal that many
 * runs share (MaxListenersExceededWarning). The listener is removed once no scope follows.
 */
const followers = new WeakMap<AbortSignal, { scopes: Set<AbortScope>; listener: () => void }>();

function follow(signal: AbortSignal, scope: AbortScope): void {
  let entry = followers.get(signal);
  if (entry === undefined) {
    const scopes = new Set<AbortScope>();
    const listener = () => {
      followers.delete(signal);
      for (const follower of scopes) follower.abortFromExternal();
    };
    entry = { scopes, listener };
    followers.set(signal, entry);
    signal.addEventListener('abort', listener); // a signal aborts once: no `once` needed
  }
  entry.scopes.add(scope);
}

function unfollow(signal: AbortSignal, scope: AbortScope): void {
  const entry = followers.get(signal);
  if (entry === undefined) return;
  entry.scopes.delete(scope);
  if (entry.scopes.size === 0) {
    followers.delete(signal);
    signal.removeEventListener('abort', entry.listener);
  }
}

/**
 * A `race()` waiting on its scope, in the scope's doubly linked list. A list, not a
 * `Set`: every agent call races, and a `Set` that one entry enters and leaves per call
 * is rehashed every few calls (about 120 bytes and 130 ns each time).
 */
interface Racer {
  readonly reject: (reason: unknown) => void;
  readonly outcome: RaceOutcome<never, unknown> | Watcher<never> | undefined;
  previous: Racer | undefined;
  next: Racer | undefined;
}

/**
 * Maps how a raced promise settled into how the race settles, so that a caller needs
 * no async frame of its own to do it: `fulfilled` returns the value to resolve with
 * (or throws the error to reject with); `rejected` returns the error to reject with,
 * for a rejection and for the abort reason alike, and must not throw.
 */
export interface RaceOutcome<T, R> {
  fulfilled(value: T): R;
  rejected(error: unknown): unknown;
}

/** A `hold` on a scope, given back to `release`. */
export type Hold = object;

/** Told how a watched promise settled, or that its scope aborted first (see `AbortScope.watch`). */
export interface Watcher<T> {
  fulfilled(value: T): void;
  rejected(error: unknown): void;
}

export class AbortScope {
  /**
   * Made when the signal is first asked for: most scopes are only ever checked (through
   * `aborted`), and an AbortSignal costs about a microsecond and a kilobyte to create.
   */
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #parent: AbortScope | undefined;
  #children: Set<AbortScope> | undefined;
  /** The most recent race still waiting; `undefined` once aborted. */
  #racers: Racer | undefined;
  #timer: Timer | undefined;
  #external: { signal: AbortSignal; mapReason: (reason: unknown) => unknown } | undefined;

  /** A root scope, aborted when `external` aborts (with `mapReason` applied to its reason). */
  static root(external?: AbortSignal, mapReason: (reason: unknown) => unknown = (r) => r): AbortScope {
    const scope = new AbortScope();
    if (external !== undefined) {
      if (external.aborted) scope.abort(mapReason(external.reason));
      else {
        scope.#external = { signal: external, mapReason };
        follow(external, scope);
      }
    }
    return scope;
  }

  /** Aborts with the external signal's reason, mapped. @internal */
  abortFromExternal(): void {
    const external = this.#external;
    if (external === undefined) return;
    this.#external = undefined;
    this.abort(external.mapReason(external.signal.reason));
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** A child scope; with `timeoutMs`, it aborts itself with `onTimeout()` after that long. */
  child(timeoutMs?: number, onTimeout?: () => unknown): AbortScope {
    const child = new AbortScope();
    if (this.aborted) {
      child.abort(this.reason);
      return child;
    }
    child.#parent = this;
    if (this.#children === undefined) this.#children = new Set();
    this.#children.add(child);
    if (timeoutMs !== undefined) child.#timer = startTimer(() => child.abort(onTimeout?.()), timeoutMs);
    return child;
  }

  /** Aborts this scope and every scope below it. The first reason wins. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.#clearTimer();
    this.#aborted = true;
    // As AbortController does: aborting without a reason aborts with an AbortError.
    this.#reason =
      reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.#controller?.abort(this.#reason);
    let racer = this.#racers;
    this.#racers = undefined;
    while (racer !== undefined) {
      const { next } = racer;
      // Detached as it is told: a promise left pending keeps its own racer, not the others.
      racer.previous = undefined;
      racer.next = undefined;
      racer.reject(racer.outcome === undefined ? this.#reason : racer.outcome.rejected(this.#reason));
      racer = next;
    }
    if (this.#children !== undefined) {
      for (const child of this.#children) child.abort(this.#reason);
    }
  }

  /**
   * Settles with `promise`, or rejects with the abort reason as soon as the scope
   * aborts; with `outcome`, settles with what it maps either into. Work that ignores
   * its signal is left behind; its late rejection is swallowed so that it never
   * becomes an unhandled rejection.
   */
  race<T>(promise: Promise<T>): Promise<T>;
  race<T, R>(promise: Promise<T>, outcome: RaceOutcome<T, R>): Promise<R>;
  race<T, R>(promise: Promise<T>, outcome?: RaceOutcome<T, R>): Promise<T | R> {
    if (this.aborted) {
      promise.catch(noop);
      return Promise.reject(outcome === undefined ? this.reason : outcome.rejected(this.reason));
    }
    return new Promise<T | R>((resolve, reject) => {
      // `abort()` calls `reject` itself. The handlers below are attached either way, so
      // the left-behind promise's late rejection is handled, and settling twice is a no-op.
      const racer: Racer = { reject, outcome, previous: undefined, next: this.#racers };
      if (this.#racers !== undefined) this.#racers.previous = racer;
      this.#racers = racer;
      promise.then(
        (value) => {
          this.#unlink(racer);
          if (outcome === undefined) resolve(value);
          else {
            try {
              resolve(outcome.fulfilled(value));
            } catch (error) {
              reject(error);
            }
          }
        },
        (error: unknown) => {
          this.#unlink(racer);
          reject(outcome === undefined ? error : outcome.rejected(error));
        },
      );
    });
  }

  /**
   * Like `race(promise, outcome)`, for a caller that goes on in callbacks: calls
   * `watcher.fulfilled` or `watcher.rejected` once `promise` settles, or
   * `watcher.rejected(reason)` as soon as the scope aborts, whichever comes first, and
   * makes no promise of its own. The watcher must not throw, and must ignore a second call.
   */
  watch<T>(promise: Promise<T>, watcher: Watcher<T>): void {
    if (this.aborted) {
      promise.catch(noop);
      watcher.rejected(this.reason);
      return;
    }
    const racer: Racer = { reject: noop, outcome: watcher, previous: undefined, next: this.#racers };
    if (this.#racers !== undefined) this.#racers.previous = racer;
    this.#racers = racer;
    promise.then(
      (value) => {
        this.#unlink(racer);
        watcher.fulfilled(value);
      },
      (error: unknown) => {
        this.#unlink(racer);
        watcher.rejected(error);
      },
    );
  }

  /**
   * Calls `watcher.rejected(reason)` as soon as the scope aborts, until `release` is given
   * what this returns: a wait on no promise (a stage waiting for a turn of the event loop).
   * Returns undefined, having called it already, if the scope has aborted.
   */
  hold(watcher: Watcher<never>): Hold | undefined {
    if (this.aborted) {
      watcher.rejected(this.reason);
      return undefined;
    }
    // A literal of its own: sharing race's and watch's allocation site made every stage slower.
    const racer: Racer = { reject: noop, outcome: watcher, previous: undefined, next: this.#racers };
    if (this.#racers !== undefined) this.#racers.previous = racer;
    this.#racers = racer;
    return racer;
  }

  /**
   * Ends a `hold`: its watcher is no longer told of an abort. Idempotent. Released while
   * the scope is aborting (from another watcher's call), it may still be told: a watcher
   * ignores a call that comes late.
   */
  release(hold: Hold): void {
    this.#unlink(hold as Racer);
  }

  #unlink(racer: Racer): void {
    // Once aborted, the list is dropped and abort() may be walking it: a racer released
    // from inside one of its calls (a stage ending at once) must not cut the walk short.
    if (this.#aborted) return;
    const { previous, next } = racer;
    if (previous !== undefined) previous.next = next;
    else if (this.#racers === racer) this.#racers = next;
    if (next !== undefined) next.previous = previous;
    racer.previous = undefined;
    racer.next = undefined;
  }

  /** Detaches from the parent (or external signal) and clears the timer. Idempotent. */
  dispose(): void {
    this.#clearTimer();
    const parent = this.#parent;
    if (parent !== undefined) {
      parent.#children?.delete(this);
      this.#parent = undefined;
    }
    if (this.#external !== undefined) {
      unfollow(this.#external.signal, this);
      this.#external = undefined;
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      stopTimer(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** Waits `ms` (any duration, see startTimer), rejecting with the scope's reason if it aborts first. */
export function sleep(ms: number, scope: AbortScope): Promise<void> {
  let timer: Timer | undefined;
  const wait = new Promise<void>((resolve) => {
    timer = startTimer(resolve, ms);
  });
  return scope.race(wait).finally(() => stopTimer(timer as Timer));
}
