/**
 * A run's time budget: the earlier of its `timeoutMs` and `deadline`, counted from the
 * call, enforced by a timer that aborts the run's scope.
 * @internal
 * @module
 */
import { StageTimeoutError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { startTimer, type Timer } from '../internal/timers.js';

/** The part of run options that sets a budget. */
interface BudgetOptions {
  readonly timeoutMs?: number;
  readonly deadline?: number;
}

/**
 * Starts the time budget of `options` (the earlier of `timeoutMs` and `deadline`),
 * counted from `now`: when it runs out, `scope` aborts with a `RUN_TIMEOUT` error.
 */
export function startBudget(
  scope: AbortScope,
  options: BudgetOptions,
  name: string | (() => string),
  now: number,
): Timer | undefined {
  const budget = runBudget(options, now);
  if (budget === undefined || budget === Number.POSITIVE_INFINITY) return undefined;
  const fire = () =>
    scope.abort(new StageTimeoutError(typeof name === 'string' ? name : name(), budget, 'run'));
  return startTimer(fire, budget);
}

function runBudget(options: BudgetOptions, now: number): number | undefined {
  const fromDeadline = options.deadline === undefined ? undefined : options.deadline - now;
  if (options.timeoutMs === undefined) return fromDeadline;
  return fromDeadline === undefined ? options.timeoutMs : Math.min(options.timeoutMs, fromDeadline);
}
