/**
 * The abort scope of a stage or phase with a time budget.
 * @internal
 * @module
 */
import { StageTimeoutError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';

/**
 * A child of `parent` that aborts itself with a StageTimeoutError after `ms`. A helper,
 * not an inline closure: written inline in a hot method, the closure's context would be
 * allocated on every call, whether or not a budget is set.
 */
export function timedScope(parent: AbortScope, ms: number, path: string, phase?: string): AbortScope {
  return parent.child(ms, () =>
    phase === undefined ? new StageTimeoutError(path, ms) : new StageTimeoutError(path, ms, 'phase', phase),
  );
}
