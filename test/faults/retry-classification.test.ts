/**
 * Which agent failures are retried, and after how long: the agent's own MacroError,
 * and errors of model SDKs shaped like the Vercel AI SDK's `APICallError`
 * (`isRetryable`, `statusCode`, `responseHeaders`) or OpenAI's `APIError` (`status`, `headers`).
 */
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, MacroError, retryableStage } from '../../src/index.js';
import { drive, flakyAgent, ofType, start, useFakeClock } from '../support/index.js';

useFakeClock();

const retried = defineMacro({
  name: 'retried',
  description: 'a stage retried up to three times',
  stages: [
    retryableStage(agentStage('call', 'model'), {
      retries: 3,
      minDelayMs: 100,
      maxDelayMs: 100,
      jitter: false,
    }),
  ],
});

/** An error shaped like the AI SDK's APICallError. */
function apiCallError(statusCode: number, headers: Record<string, string> = {}, isRetryable?: boolean) {
  return Object.assign(new Error(`HTTP ${statusCode}`), {
    name: 'AI_APICallError',
    statusCode,
    responseHeaders: headers,
    isRetryable: isRetryable ?? (statusCode === 429 || statusCode >= 500),
  });
}

/** Runs `retried` with an agent that fails its first call with `error`, then returns 'ok'. */
async function runWith(error: unknown) {
  const model = flakyAgent('model', 1, 'ok', () => error);
  const { run, events } = start([retried], [model]);
  const result = await drive(run);
  return { result, calls: model.calls.length, retries: ofType(events, 'retry') };
}

describe('an agent that throws its own MacroError', () => {
  it("is retried when the code is AGENT_FAILED, as MacroError's retryable default says", async () => {
    const { result, calls } = await runWith(new MacroError('AGENT_FAILED', 'upstream hiccup'));
    expect(calls).toBe(2);
    expect(result.status).toBe('succeeded');
  });

  it('is not retried when it says retryable: false', async () => {
    const { calls } = await runWith(new MacroError('AGENT_FAILED', 'bad request', { retryable: false }));
    expect(calls).toBe(1);
  });

  it('is not retried when its code is not AGENT_FAILED and it says nothing', async () => {
    const { calls } = await runWith(new MacroError('STAGE_FAILED', 'not for retrying'));
    expect(calls).toBe(1);
  });
});

describe('an SDK error that says whether to retry', () => {
  it('is not retried when it is a 401 with isRetryable: false', async () => {
    const { calls, result } = await runWith(apiCallError(401));
    expect(calls).toBe(1);
    expect(result.status).toBe('failed');
  });

  it('is retried when it is a 500 with isRetryable: true', async () => {
    expect((await runWith(apiCallError(500))).calls).toBe(2);
  });

  it('is not retried when its cause is such an error', async () => {
    const { calls } = await runWith(new Error('model call failed', { cause: apiCallError(403) }));
    expect(calls).toBe(1);
  });

  it('is not retried when it only carries an HTTP status of 400 (no isRetryable)', async () => {
    const { calls } = await runWith(Object.assign(new Error('bad request'), { status: 400 }));
    expect(calls).toBe(1);
  });

  it('is retried when it only carries an HTTP status of 503', async () => {
    const { calls } = await runWith(Object.assign(new Error('unavailable'), { status: 503 }));
    expect(calls).toBe(2);
  });
});

describe('an SDK error with a retry-after header', () => {
  it('waits the seconds of retry-after: 3 instead of the backoff', async () => {
    const { retries } = await runWith(apiCallError(429, { 'retry-after': '3' }));
    expect(retries[0]?.delayMs).toBe(3_000);
  });

  it('waits the milliseconds of retry-after-ms', async () => {
    const { retries } = await runWith(apiCallError(429, { 'retry-after-ms': '1500' }));
    expect(retries[0]?.delayMs).toBe(1_500);
  });

  it('waits until an HTTP date given as retry-after', async () => {
    const at = new Date(Date.now() + 7_000).toUTCString();
    const { retries } = await runWith(apiCallError(429, { 'Retry-After': at }));
    expect(retries[0]?.delayMs).toBeGreaterThan(6_000);
    expect(retries[0]?.delayMs).toBeLessThanOrEqual(7_000);
  });

  it('reads the header from a Headers object', async () => {
    const error = Object.assign(new Error('rate limited'), {
      status: 429,
      headers: new Headers({ 'retry-after': '2' }),
    });
    const { retries } = await runWith(error);
    expect(retries[0]?.delayMs).toBe(2_000);
  });

  it('falls back to the backoff when the header is not a number or a date', async () => {
    const { retries } = await runWith(apiCallError(429, { 'retry-after': 'soon' }));
    expect(retries[0]?.delayMs).toBe(100);
  });
});

describe('an AWS SDK error (a string code and a boolean retryable)', () => {
  it('is wrapped as AGENT_FAILED with its cause, and retried when it says so', async () => {
    const aws = Object.assign(new Error('Rate exceeded'), { code: 'ThrottlingException', retryable: true });
    const { result, calls, retries } = await runWith(aws);
    expect(calls).toBe(2);
    expect(retries[0]?.error).toMatchObject({ code: 'AGENT_FAILED', cause: { message: 'Rate exceeded' } });
    expect(result.status).toBe('succeeded');
  });

  it('is not retried when it says retryable: false', async () => {
    const aws = Object.assign(new Error('Access denied'), {
      code: 'AccessDeniedException',
      retryable: false,
    });
    expect((await runWith(aws)).calls).toBe(1);
  });
});

describe("a retry-after longer than the policy's maxRetryAfterMs", () => {
  const capped = defineMacro({
    name: 'retried',
    description: 'a stage whose hinted waits are capped at 2 s',
    stages: [
      retryableStage(agentStage('call', 'model'), { retries: 1, maxRetryAfterMs: 2_000, jitter: false }),
    ],
  });

  it('is cut to maxRetryAfterMs', async () => {
    const model = flakyAgent('model', 1, 'ok', () => apiCallError(429, { 'retry-after': '60' }));
    const { run, events } = start([capped], [model]);
    expect((await drive(run)).output).toBe('ok');
    expect(ofType(events, 'retry')[0]?.delayMs).toBe(2_000);
  });

  it('is waited whole when it is shorter', async () => {
    const model = flakyAgent('model', 1, 'ok', () => apiCallError(429, { 'retry-after-ms': '1500' }));
    const { run, events } = start([capped], [model]);
    await drive(run);
    expect(ofType(events, 'retry')[0]?.delayMs).toBe(1_500);
  });
});
