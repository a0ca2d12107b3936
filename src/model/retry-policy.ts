/**
 * A retry policy: its shape (zod, with defaults) and the backoff delay it gives each retry.
 * Used by retryable stages and by memory writes.
 * @module
 */
import { z } from 'zod';

/** Retry with exponential backoff. Delays grow `minDelayMs * factor^(n-1)`, capped at `maxDelayMs`. */
export const RetryPolicySchema = z.strictObject({
  /** Retries after the first attempt. @default 2 */
  retries: z.number().int().min(0).max(100).default(2),
  /** Backoff growth factor. @default 2 */
  factor: z.number().min(1).max(10).default(2),
  /** First delay in ms. @default 200 */
  minDelayMs: z.number().min(0).default(200),
  /** Largest delay in ms. @default 10_000 */
  maxDelayMs: z.number().min(0).default(10_000),
  /** Multiply each delay by a random factor in [1, 2). @default true */
  jitter: z.boolean().default(true),
  /**
   * Longest wait a failure's own hint (`retry-after`, `retryAfterMs`) may ask for before a
   * stage's next attempt: a longer one is cut to this. Hints replace the backoff, so
   * `maxDelayMs` does not cap them. (Memory-write retries read no hints.) @default no cap
   */
  maxRetryAfterMs: z.number().min(0).optional(),
});
/** A retry policy as written by users (every field optional). */
export type RetryPolicyInput = z.input<typeof RetryPolicySchema>;
/** A retry policy with its defaults applied. */
export type RetryPolicy = z.output<typeof RetryPolicySchema>;

/**
 * Delay before retry `retryNumber` (1-based): exponential, capped, with optional jitter.
 * @internal
 */
export function backoffDelay(policy: RetryPolicy, retryNumber: number, random: () => number): number {
  const base = policy.minDelayMs * policy.factor ** (retryNumber - 1);
  const jittered = policy.jitter ? base * (1 + random()) : base;
  return Math.round(Math.min(jittered, policy.maxDelayMs));
}
