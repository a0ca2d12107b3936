/**
 * Retry classification and backoff arithmetic, shared by stage retries and memory writes.
 * @internal
 * @module
 */
import { isMacroError } from '../errors.js';
import type { RetryPolicy } from './types.js';

/** Delay before retry `retryNumber` (1-based): exponential, capped, with optional jitter. */
export function backoffDelay(policy: RetryPolicy, retryNumber: number, random: () => number): number {
  const base = policy.minDelayMs * policy.factor ** (retryNumber - 1);
  const jittered = policy.jitter ? base * (1 + random()) : base;
  return Math.round(Math.min(jittered, policy.maxDelayMs));
}

/** Whether retrying can help: a MacroError says so itself; anything else is retried. */
export function isRetryable(error: unknown): boolean {
  return isMacroError(error) ? error.retryable : true;
}

/** Honours a `retryAfterMs` (or HTTP-style `retryAfter` seconds) hint on an error or its cause. */
export function retryAfter(error: unknown): number | undefined {
  for (let e: unknown = error, i = 0; e !== undefined && e !== null && i < 4; e = (e as Error).cause, i++) {
    const hint = e as { retryAfterMs?: unknown; retryAfter?: unknown };
    if (typeof hint.retryAfterMs === 'number' && hint.retryAfterMs >= 0) return hint.retryAfterMs;
    if (typeof hint.retryAfter === 'number' && hint.retryAfter >= 0) return hint.retryAfter * 1000;
  }
  return undefined;
}
