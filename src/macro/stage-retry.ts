/**
 * A stage's retry policy: its attempts under p-retry, with the delay between them read
 * from the error (`retry-after`, capped by the policy's `maxRetryAfterMs`) or the policy's
 * backoff, reported as a `retry` event and waited for under the stage's scope, so that a
 * cancel ends the wait.
 * @internal
 * @module
 */
import pRetry from 'p-retry';
import { toErrorRecord } from '../errors.js';
import { type AbortScope, sleep } from '../internal/abort-scope.js';
import { backoffDelay, type RetryPolicy } from '../model/retry-policy.js';
import type { Journal } from './journal.js';
import { isRetryable, retryAfter } from './retry.js';

/** Runs `attempt` (numbered from 1) until it succeeds, fails for good, or `scope` aborts. */
export function withStageRetry(
  path: string,
  policy: RetryPolicy,
  scope: AbortScope,
  journal: Journal,
  random: () => number,
  attempt: (attemptNumber: number) => Promise<unknown>,
): Promise<unknown> {
  return pRetry(attempt, {
    retries: policy.retries,
    minTimeout: 0, // we wait ourselves, so the delay is known, reported and abortable
    shouldRetry: ({ error }) => isRetryable(error) && !scope.aborted,
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft <= 0 || !isRetryable(error) || scope.aborted) return;
      // A wait the failure asks for (retry-after) replaces the backoff, up to maxRetryAfterMs.
      const hinted = retryAfter(error, journal.now());
      const delayMs =
        hinted === undefined
          ? backoffDelay(policy, attemptNumber, random)
          : Math.min(hinted, policy.maxRetryAfterMs ?? hinted);
      emitRetry(journal, path, attemptNumber, error, delayMs, retriesLeft);
      await sleep(delayMs, scope);
    },
  });
}

/** Emits and audits a stage retry after failed attempt `attempt`. */
function emitRetry(
  journal: Journal,
  path: string,
  attempt: number,
  error: unknown,
  delayMs: number,
  retriesLeft: number,
): void {
  const errorRecord = toErrorRecord(error);
  const event = {
    type: 'retry' as const,
    ...journal.base(path),
    attempt,
    error: errorRecord,
    delayMs,
    retriesLeft,
  };
  journal.emit(event);
  journal.recordAudit('retry', event, { attempt, delayMs, error: errorRecord });
}
