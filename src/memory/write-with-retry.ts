/**
 * Memory writes with retries: a failing adapter never loses a run, it is reported.
 * @internal
 * @module
 */

import { isMacroError, PersistenceError } from '../errors.js';
import { safeGet } from '../internal/safe.js';
import { startTimer } from '../internal/timers.js';
import { logFailure } from '../logger.js';
import type { MacroLogger } from '../model/logger.js';
import { backoffDelay, type RetryPolicy } from '../model/retry-policy.js';
import { leaseRefusal } from './lease.js';

/**
 * Runs `write` with `policy`'s retries (`policy.retries` more attempts after the first,
 * waiting `backoffDelay` between them); resolves with the final failure instead of
 * throwing it. With `failedOnce`, the caller's own first attempt failed with that error.
 * Whatever a write throws or rejects with (a `TypeError`, a string, a revoked proxy)
 * counts as a failed attempt: the loop is ours, not p-retry's, which gives up at once
 * on a `TypeError` or a value that is not an `Error`. The waits are not cancelled: a
 * run stops waiting for its writes (see RunStorage), the writes go on.
 */
export function writeWithRetry(
  operation: string,
  write: () => Promise<void>,
  policy: RetryPolicy,
  random: () => number,
  logger: MacroLogger,
  failedOnce?: { readonly error: unknown },
): Promise<PersistenceError | undefined> {
  // An attempt the caller made itself already failed: only the retries are left.
  if (failedOnce !== undefined)
    return retryFailedWrite(operation, failedOnce.error, write, policy, random, logger);
  // The first attempt runs directly, with no async frame: the retry loop (a scope, a
  // sleep) is only built once a write has failed, which keeps it off the per-run hot path.
  let first: Promise<void>;
  try {
    first = write();
  } catch (error) {
    first = Promise.reject(error);
  }
  return first.then(succeeded, (error: unknown) =>
    retryFailedWrite(operation, error, write, policy, random, logger),
  );
}

function succeeded(): undefined {
  return undefined;
}

/** The retries after a failed first attempt. */
async function retryFailedWrite(
  operation: string,
  firstError: unknown,
  write: () => Promise<void>,
  policy: RetryPolicy,
  random: () => number,
  logger: MacroLogger,
): Promise<PersistenceError | undefined> {
  let error = firstError;
  // Another process holds the run's lease, or the adapter refused what it was given:
  // trying again cannot help (and a write under another's lease must not happen).
  for (let attempt = 1; attempt <= policy.retries && !final(error); attempt++) {
    logFailure(logger, 'warn', error, { operation, attempt }, 'memory write failed');
    const wait = backoffDelay(policy, attempt, random);
    await new Promise<void>((resolve) => startTimer(resolve, wait));
    try {
      await write();
      return undefined;
    } catch (caught) {
      error = caught;
    }
  }
  logFailure(
    logger,
    'error',
    error,
    { operation },
    'memory write kept failing; the result is returned unsaved',
  );
  return new PersistenceError(operation, error);
}

/** An error no retry can change: a lease another holds, or a document the adapter refused (`INVALID_OPTIONS`). */
function final(error: unknown): boolean {
  return (
    leaseRefusal(error) !== undefined || (isMacroError(error) && safeGet(error, 'code') === 'INVALID_OPTIONS')
  );
}
