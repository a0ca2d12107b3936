/**
 * How a run reports the memory writes that failed: a `persistence:error` event each, and
 * the first failure in the result. A write that another process's lease refused stops
 * the run, which that process now runs.
 * @internal
 * @module
 */
import { type PersistenceError, toErrorRecord } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { leaseRefusal } from '../memory/lease.js';
import type { Journal } from './journal.js';
import type { MacroResult } from './types.js';

/** Emits a `persistence:error` event for `failure` at `path`. */
export function emitPersistenceError(journal: Journal, failure: PersistenceError, path: string): void {
  journal.emit({
    type: 'persistence:error',
    ...journal.base(path),
    operation: failure.operation,
    error: toErrorRecord(failure),
  });
}

/** Stops the run (`scope`) when `failure` is a lease refusal: another process runs it now. */
export function stopIfLeaseLost(failure: PersistenceError, scope: AbortScope): void {
  const refusal = leaseRefusal(failure);
  if (refusal !== undefined) scope.abort(refusal);
}

/**
 * `result` with the failures of its final writes reported: an event each, and the run's
 * first persistence failure (`first`, during the run, or else the first of these) named
 * in `result.persistence`.
 */
export function withFinalFailures(
  journal: Journal,
  result: MacroResult,
  first: PersistenceError | undefined,
  failures: readonly PersistenceError[],
  path: string,
): MacroResult {
  if (failures.length === 0) return result;
  const named = first ?? (failures[0] as PersistenceError);
  for (const failure of failures) emitPersistenceError(journal, failure, path);
  return { ...result, persistence: { ok: false, error: toErrorRecord(named) } };
}
