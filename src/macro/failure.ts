/**
 * How an error caught in a stage becomes a MacroError and the outcome of its macro.
 * (Its stage status: `statusOf`, src/model/stage-status.ts; user callbacks' errors:
 * `wrapUserError`, src/errors.ts.)
 * @internal
 * @module
 */
import { CancelledError, isMacroError, type MacroError, wrapUserError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { statusOf } from '../model/stage-status.js';

/** Turns anything caught at `path` into a MacroError; once `scope` aborted, its reason wins. */
export function normalise(caught: unknown, path: string, scope: AbortScope): MacroError {
  if (isMacroError(caught)) return caught;
  if (scope.aborted) {
    const reason = scope.reason;
    if (isMacroError(reason)) return reason;
    return new CancelledError(path, reason);
  }
  return wrapUserError(caught, path, 'stage');
}

/** How a macro ended. */
export type Outcome =
  | { status: 'succeeded'; output: unknown }
  | { status: 'partial' | 'failed' | 'cancelled' | 'suspended'; error: MacroError };

/**
 * The outcome of a macro that failed with `caught`: a time-out or a spent budget is
 * `partial`, a cancel `cancelled`.
 */
export function failedOutcome(caught: unknown, path: string, scope: AbortScope): Outcome {
  const error = normalise(caught, path, scope);
  if (error.code === 'BUDGET_EXCEEDED') return { status: 'partial', error };
  const stageStatus = statusOf(error);
  return {
    status:
      stageStatus === 'timed-out'
        ? 'partial'
        : stageStatus === 'cancelled' || stageStatus === 'suspended'
          ? stageStatus
          : 'failed',
    error,
  };
}
