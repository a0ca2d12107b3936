/**
 * Retry classification and the waits failures ask for. (Backoff arithmetic:
 * `backoffDelay`, src/model/retry-policy.ts.)
 * @internal
 * @module
 */
import { isMacroError, isRetryableCause } from '../errors.js';
import { safeGet } from '../internal/safe.js';

/** Whether retrying can help: a MacroError says so itself; anything else by its own fields. */
export function isRetryable(error: unknown): boolean {
  return isMacroError(error) ? error.retryable : isRetryableCause(error);
}

/** A delay in ms, if `value` is a finite number ≥ 0 (Number.isFinite is false for non-numbers). */
function delay(value: unknown, scale: number): number | undefined {
  return Number.isFinite(value) && (value as number) >= 0 ? (value as number) * scale : undefined;
}

/** A header's value, from a `Headers` object or a plain record (names in any case). */
function header(headers: unknown, name: string): unknown {
  const get = safeGet(headers, 'get');
  if (typeof get === 'function') {
    try {
      return get.call(headers, name) ?? undefined;
    } catch {
      return undefined; // a Headers whose get() throws has nothing to read, not even own keys
    }
  }
  try {
    for (const key of Object.keys(headers as object)) {
      if (key.toLowerCase() === name) return safeGet(headers, key);
    }
  } catch {
    // no headers: undefined, null, a revoked proxy
  }
  return undefined;
}

/** A header value as a number: a number as it is, a text that is not blank as `Number()` reads it. */
function headerNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : undefined;
}

/**
 * The wait an HTTP response asks for: `retry-after-ms` (ms), or `retry-after` as
 * seconds or as an HTTP date (counted from `now`).
 */
function headerDelay(headers: unknown, now: number): number | undefined {
  const ms = delay(headerNumber(header(headers, 'retry-after-ms')), 1);
  if (ms !== undefined) return ms;
  const after = header(headers, 'retry-after');
  const seconds = delay(headerNumber(after), 1000);
  if (seconds !== undefined) return seconds;
  // An HTTP date names its day and month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse
  // would also take "-3" as a year. (Anything that is not text parses as no date.)
  if (!/[a-z]/i.test(after as string)) return undefined;
  const date = Date.parse(after as string);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait a failure asks for before the next attempt, if it names one: a
 * `retryAfterMs` (ms) or `retryAfter` (seconds) field, or `retry-after-ms` /
 * `retry-after` in its `responseHeaders` or `headers` (as the Vercel AI SDK's
 * `APICallError` and most HTTP clients' errors carry them), on the error or its
 * `cause` chain up to 4 levels deep. Values that are not finite numbers ≥ 0 are ignored.
 */
export function retryAfter(error: unknown, now: number = Date.now()): number | undefined {
  let current = error;
  // Five reads, whatever the chain: past its end every read is undefined.
  for (let depth = 0; depth < 5; depth++) {
    const hint =
      delay(safeGet(current, 'retryAfterMs'), 1) ??
      delay(safeGet(current, 'retryAfter'), 1000) ??
      headerDelay(safeGet(current, 'responseHeaders'), now) ??
      headerDelay(safeGet(current, 'headers'), now);
    if (hint !== undefined) return hint;
    current = safeGet(current, 'cause');
  }
  return undefined;
}
