/**
 * A run's time budget: the earlier of its `timeoutMs` and `deadline`, counted from the
 * call, enforced by a timer that aborts the run's scope.
 * @internal
 * @module
 */
import { StageTimeoutError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { startTimer, stopTimer, type Timer } from '../internal/timers.js';

/**
 * Starts the time budget of run options (the earlier of `timeoutMs` and `deadline`, as
 * checked), counted from `now`: when it runs out, `scope` aborts with a `RUN_TIMEOUT` error.
 */
export function startBudget(
  scope: AbortScope,
  timeoutMs: number | undefined,
  deadline: number | undefined,
  name: string | (() => string),
  now: number,
): Timer | undefined {
  const budget = runBudget(timeoutMs, deadline, now);
  if (budget === undefined || budget === Number.POSITIVE_INFINITY) return undefined;
  const fire = () =>
    scope.abort(new StageTimeoutError(typeof name === 'string' ? name : name(), budget, 'run'));
  return startTimer(fire, budget);
}

function runBudget(
  timeoutMs: number | undefined,
  deadline: number | undefined,
  now: number,
): number | undefined {
  const fromDeadline = deadline === undefined ? undefined : deadline - now;
  if (timeoutMs === undefined) return fromDeadline;
  return fromDeadline === undefined ? timeoutMs : Math.min(timeoutMs, fromDeadline);
}

/** Undoes {@link startBudget} and the run's scope, for a run that will not start after all. */
export function stopBudget(scope: AbortScope, budget: Timer | undefined): void {
  if (budget !== undefined) stopTimer(budget);
  scope.dispose();
}
