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
export async function writeWithRetry(
  operation: string,
  write: () => Promise<void>,
  policy: RetryPolicy,
  random: () => number,
  logger: Logger,
): Promise<PersistenceError | undefined> {
  const scope = AbortScope.root();
  try {
    const attempt = async () => {
      try {
        await write();
      } catch (error) {
        // p-retry gives up at once on anything that is not an Error.
        throw error instanceof Error ? error : new Error(describe(error), { cause: error });
      }
    };
    await pRetry(attempt, {
      retries: policy.retries,
      minTimeout: 0,
      onFailedAttempt: async ({ attemptNumber, retriesLeft, error }) => {
        logger.warn({ err: error, operation, attempt: attemptNumber }, 'memory write failed');
        if (retriesLeft > 0) await sleep(backoffDelay(policy, attemptNumber, random), scope);
      },
    });
    return undefined;
  } catch (error) {
    logger.error({ err: error, operation }, 'memory write kept failing; the result is returned unsaved');
    return new PersistenceError(operation, error);
  }
}
