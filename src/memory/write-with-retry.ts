/**
 * Memory writes with retries: a failing adapter never loses a run, it is reported.
 * @internal
 * @module
 */
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { describe, PersistenceError } from '../errors.js';
import { AbortScope, sleep } from '../internal/abort-scope.js';
import { backoffDelay } from '../macro/retry.js';
import type { RetryPolicy } from '../macro/types.js';

/** Runs `write` with `policy`'s retries; resolves with the final failure instead of throwing it. */
export function writeWithRetry(
  operation: string,
  write: () => Promise<void>,
  policy: RetryPolicy,
  random: () => number,
  logger: Logger,
): Promise<PersistenceError | undefined> {
  // The first attempt runs directly, with no async frame: retry machinery (p-retry, a
  // scope, a sleep) is only built once a write has failed, which keeps it off the
  // per-run hot path.
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
  logger: Logger,
): Promise<PersistenceError | undefined> {
  if (policy.retries === 0) return fail(operation, firstError, logger);
  logger.warn({ err: firstError, operation, attempt: 1 }, 'memory write failed');
  const scope = AbortScope.root();
  try {
    await sleep(backoffDelay(policy, 1, random), scope);
    const attempt = async () => {
      try {
        await write();
      } catch (error) {
        // p-retry gives up at once on anything that is not an Error.
        throw error instanceof Error ? error : new Error(describe(error), { cause: error });
      }
    };
    await pRetry(attempt, {
      retries: policy.retries - 1,
      minTimeout: 0,
      onFailedAttempt: async ({ attemptNumber, retriesLeft, error }) => {
        // p-retry counts from the second attempt: attempt n here is write attempt n + 1.
        logger.warn({ err: error, operation, attempt: attemptNumber + 1 }, 'memory write failed');
        if (retriesLeft > 0) await sleep(backoffDelay(policy, attemptNumber + 1, random), scope);
      },
    });
    return undefined;
  } catch (error) {
    return fail(operation, error, logger);
  }
}

function fail(operation: string, error: unknown, logger: Logger): PersistenceError {
  logger.error({ err: error, operation }, 'memory write kept failing; the result is returned unsaved');
  return new PersistenceError(operation, error);
}
