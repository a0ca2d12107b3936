/**
 * Timers for any duration. Node fires a `setTimeout` longer than 2^31-1 ms (about 24.8
 * days) after 1 ms; these chain shorter timers instead, so a deadline a month away
 * waits a month, and `Infinity` never fires.
 * @internal
 * @module
 */

/** The longest delay `setTimeout` honours (2^31 - 1 ms); a longer one fires at once, with a warning. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A timer for a delay past {@link MAX_TIMER_MS}: re-armed in steps until the delay has passed. */
class ChainedTimer {
  #timer: ReturnType<typeof setTimeout> | undefined; // the current step
  #left: number;
  readonly #fire: () => void;

  constructor(fire: () => void, ms: number) {
    this.#fire = fire;
    this.#left = ms;
    this.#arm();
  }

  #arm(): void {
    const step = Math.min(this.#left, MAX_TIMER_MS);
    this.#left -= step;
    this.#timer = setTimeout(this.#tick, step);
  }

  readonly #tick = (): void => {
    if (this.#left > 0) this.#arm();
    else this.#fire();
  };

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** A timer that never fires, for an infinite delay: no Node timer, so it keeps no process alive. */
const NEVER = Object.freeze({});

/** A running timer, stopped with {@link stopTimer}. */
export type Timer = ReturnType<typeof setTimeout> | ChainedTimer | typeof NEVER;

/**
 * Calls `fire` after `ms` (negative or NaN: as soon as possible), for any `ms` up to
 * `Infinity` (never). Delays that fit `setTimeout` use it directly, at no extra cost.
 */
export function startTimer(fire: () => void, ms: number): Timer {
  if (!(ms > MAX_TIMER_MS)) return setTimeout(fire, Math.max(ms, 0));
  return ms === Number.POSITIVE_INFINITY ? NEVER : new ChainedTimer(fire, ms);
}

/** Stops a timer from {@link startTimer}; stopping it twice, or after it fired, does nothing. */
export function stopTimer(timer: Timer): void {
  if (timer instanceof ChainedTimer) timer.clear();
  else clearTimeout(timer as ReturnType<typeof setTimeout>); // a no-op for NEVER
}
