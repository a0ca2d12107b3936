/**
 * One abort tree per run: run → stage → attempt → agent call. Children are linked
 * through sets, not `addEventListener`, so a fan-out of 100,000 branches costs O(1)
 * per branch to link and unlink, and nothing stays attached once its work ends.
 * @internal
 * @module
 */

function noop(): void {}

export class AbortScope {
  readonly #controller = new AbortController();
  #parent: AbortScope | undefined;
  #children: Set<AbortScope> | undefined;
  #racers: Set<(reason: unknown) => void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #external: { signal: AbortSignal; listener: () => void } | undefined;

  /** A root scope, aborted when `external` aborts (with `mapReason` applied to its reason). */
  static root(external?: AbortSignal, mapReason: (reason: unknown) => unknown = (r) => r): AbortScope {
    const scope = new AbortScope();
    if (external !== undefined) {
      if (external.aborted) scope.abort(mapReason(external.reason));
      else {
        const listener = () => scope.abort(mapReason(external.reason));
        external.addEventListener('abort', listener, { once: true });
        scope.#external = { signal: external, listener };
      }
    }
    return scope;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#controller.signal.aborted;
  }

  get reason(): unknown {
    return this.#controller.signal.reason;
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
    if (timeoutMs !== undefined) child.#timer = setTimeout(() => child.abort(onTimeout?.()), timeoutMs);
    return child;
  }

  /** Aborts this scope and every scope below it. The first reason wins. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.#clearTimer();
    this.#controller.abort(reason);
    if (this.#racers !== undefined) {
      const racers = this.#racers;
      this.#racers = undefined;
      for (const reject of racers) reject(reason);
    }
    if (this.#children !== undefined) {
      for (const child of this.#children) child.abort(reason);
    }
  }

  /**
   * Settles with `promise`, or rejects with the abort reason as soon as the scope
   * aborts. Work that ignores its signal is left behind; its late rejection is
   * swallowed so that it never becomes an unhandled rejection.
   */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.aborted) {
      promise.catch(noop);
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (reason: unknown) => {
        promise.catch(noop);
        reject(reason);
      };
      if (this.#racers === undefined) this.#racers = new Set();
      this.#racers.add(onAbort);
      promise.then(
        (value) => {
          this.#racers?.delete(onAbort);
          resolve(value);
        },
        (error: unknown) => {
          this.#racers?.delete(onAbort);
          reject(error);
        },
      );
    });
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
      this.#external.signal.removeEventListener('abort', this.#external.listener);
      this.#external = undefined;
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** Waits `ms`, rejecting with the scope's reason if it aborts first. */
export function sleep(ms: number, scope: AbortScope): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wait = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return scope.race(wait).finally(() => clearTimeout(timer));
}
