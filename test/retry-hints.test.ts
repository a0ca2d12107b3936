import { describe, expect, it } from 'vitest';
import { MacroError } from '../src/index.js';
import { isRetryable, retryAfter } from '../src/macro/retry.js';
import { backoffDelay } from '../src/model/retry-policy.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

/** `hint` at `depth` in a chain of causes. */
function nested(hint: object, depth: number): unknown {
  let error: unknown = Object.assign(new Error('innermost'), hint);
  for (let i = 0; i < depth; i++) error = new Error(`level ${i}`, { cause: error });
  return error;
}

describe('retryAfter', () => {
  it('reads retryAfterMs in ms and retryAfter in seconds', () => {
    expect(retryAfter({ retryAfterMs: 250 }, NOW)).toBe(250);
    expect(retryAfter({ retryAfter: 3 }, NOW)).toBe(3_000);
  });

  it('prefers retryAfterMs to retryAfter', () => {
    expect(retryAfter({ retryAfterMs: 250, retryAfter: 3 }, NOW)).toBe(250);
  });

  it('takes a hint of 0', () => {
    expect(retryAfter({ retryAfterMs: 0 }, NOW)).toBe(0);
    expect(retryAfter({ retryAfter: 0 }, NOW)).toBe(0);
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY], ['5'], [null]])('ignores a hint of %s', (hint) => {
    expect(retryAfter({ retryAfterMs: hint }, NOW)).toBeUndefined();
    expect(retryAfter({ retryAfter: hint }, NOW)).toBeUndefined();
  });

  it('looks through causes four levels deep, not five', () => {
    expect(retryAfter(nested({ retryAfterMs: 5 }, 4), NOW)).toBe(5);
    expect(retryAfter(nested({ retryAfterMs: 5 }, 5), NOW)).toBeUndefined();
  });

  it('takes the outermost hint', () => {
    const error = Object.assign(new Error('outer', { cause: { retryAfterMs: 9 } }), { retryAfterMs: 1 });
    expect(retryAfter(error, NOW)).toBe(1);
  });

  it('stops at a cause that is null', () => {
    expect(retryAfter(new Error('x', { cause: null }), NOW)).toBeUndefined();
  });

  it('has none for a value that is not an object', () => {
    expect(retryAfter('429', NOW)).toBeUndefined();
    expect(retryAfter(undefined, NOW)).toBeUndefined();
  });

  describe('from response headers', () => {
    const withHeaders = (headers: unknown, key = 'responseHeaders') => ({ [key]: headers });

    it('reads retry-after-ms as milliseconds', () => {
      expect(retryAfter(withHeaders({ 'retry-after-ms': '1500' }), NOW)).toBe(1_500);
    });

    it('reads retry-after as seconds', () => {
      expect(retryAfter(withHeaders({ 'retry-after': '3' }), NOW)).toBe(3_000);
    });

    it('prefers retry-after-ms to retry-after', () => {
      expect(retryAfter(withHeaders({ 'retry-after': '3', 'retry-after-ms': '10' }), NOW)).toBe(10);
    });

    it('falls back to retry-after when retry-after-ms is not a number', () => {
      expect(retryAfter(withHeaders({ 'retry-after-ms': 'x', 'retry-after': '2' }), NOW)).toBe(2_000);
    });

    it('reads retry-after as an HTTP date, counted from now', () => {
      const at = new Date(NOW + 7_000).toUTCString();
      expect(retryAfter(withHeaders({ 'retry-after': at }), NOW)).toBe(7_000);
    });

    it('waits 0 for an HTTP date in the past', () => {
      const at = new Date(NOW - 7_000).toUTCString();
      expect(retryAfter(withHeaders({ 'retry-after': at }), NOW)).toBe(0);
    });

    it('finds a header named in any case', () => {
      expect(retryAfter(withHeaders({ 'Retry-After': '4' }), NOW)).toBe(4_000);
    });

    it('reads a Headers object, also under `headers`', () => {
      expect(retryAfter(withHeaders(new Headers({ 'retry-after': '2' }), 'headers'), NOW)).toBe(2_000);
    });

    it('reads a header given as a number', () => {
      expect(retryAfter(withHeaders({ 'retry-after-ms': 1500 }), NOW)).toBe(1_500);
      expect(retryAfter(withHeaders({ 'retry-after': 2 }), NOW)).toBe(2_000);
    });

    it.each([[''], ['  ']])('falls back to retry-after when retry-after-ms is %j', (value) => {
      expect(retryAfter(withHeaders({ 'retry-after-ms': value, 'retry-after': '2' }), NOW)).toBe(2_000);
    });

    it('reads nothing more from headers whose get() throws', () => {
      const headers = {
        get() {
          throw new Error('no');
        },
        'retry-after': '3',
      };
      expect(retryAfter(withHeaders(headers), NOW)).toBeUndefined();
    });

    it.each([[''], ['  '], ['soon'], ['-3']])('ignores a retry-after of %j', (value) => {
      expect(retryAfter(withHeaders({ 'retry-after': value }), NOW)).toBeUndefined();
    });

    it('ignores headers that are not an object, and a header that is neither text nor number', () => {
      expect(retryAfter(withHeaders('retry-after: 3'), NOW)).toBeUndefined();
      expect(retryAfter(withHeaders({ 'retry-after': true }), NOW)).toBeUndefined();
    });

    it('ignores headers whose get() throws', () => {
      const headers = {
        get() {
          throw new Error('no');
        },
      };
      expect(retryAfter(withHeaders(headers), NOW)).toBeUndefined();
    });

    it('ignores headers that are a revoked proxy', () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      expect(retryAfter(withHeaders(proxy), NOW)).toBeUndefined();
    });
  });
});

describe('isRetryable', () => {
  it('asks a MacroError', () => {
    expect(isRetryable(new MacroError('AGENT_FAILED', 'x'))).toBe(true);
    expect(isRetryable(new MacroError('AGENT_FAILED', 'x', { retryable: false }))).toBe(false);
  });

  it('classifies anything else by its fields, retrying what says nothing', () => {
    expect(isRetryable(new Error('x'))).toBe(true);
    expect(isRetryable({ statusCode: 401 })).toBe(false);
  });
});

describe('backoffDelay', () => {
  const policy = { retries: 5, factor: 2, minDelayMs: 100, maxDelayMs: 1_000, jitter: false };

  it('grows by the factor per retry', () => {
    expect([1, 2, 3].map((n) => backoffDelay(policy, n, () => 0))).toEqual([100, 200, 400]);
  });

  it('is capped at maxDelayMs', () => {
    expect(backoffDelay(policy, 10, () => 0)).toBe(1_000);
  });

  it('multiplies by 1 + random() with jitter', () => {
    expect(backoffDelay({ ...policy, jitter: true }, 1, () => 0.5)).toBe(150);
  });
});
