import { describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineMacro,
  MacroError,
  MacroOrchestrator,
  type RetryPolicyInput,
  retryableStage,
  sequence,
} from '../../src/index.js';
import {
  drive,
  flakyAgent,
  ofType,
  okAgent,
  pairingProblems,
  start,
  throwingAgent,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

function retried(policy: RetryPolicyInput) {
  return defineMacro({
    name: 'retried',
    description: 'one retried stage',
    stages: [retryableStage(agentStage('call', 'flaky'), policy)],
  });
}

describe('an agent that fails N times, then succeeds', () => {
  it('is retried until it succeeds, and the run succeeds', async () => {
    const flaky = flakyAgent('flaky', 2, 'done');
    const { run } = start([retried({ retries: 3, minDelayMs: 10 })], [flaky]);
    const result = await drive(run);
    expect(result.status === 'succeeded' && result.output).toBe('done');
    expect(flaky.calls).toHaveLength(3);
  });

  it('records the number of attempts on the stage', async () => {
    const { run } = start([retried({ retries: 3, minDelayMs: 10 })], [flakyAgent('flaky', 2)]);
    const result = await drive(run);
    expect(result.stages['retried/call']).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('passes the attempt number to the agent', async () => {
    const flaky = flakyAgent('flaky', 2);
    await drive(start([retried({ retries: 3, minDelayMs: 10 })], [flaky]).run);
    expect(flaky.calls.map((c) => c.invocation.attempt)).toEqual([1, 2, 3]);
  });

  it('emits one retry event per failed attempt, with attempt, error, delay and retries left', async () => {
    const { run, events } = start(
      [retried({ retries: 3, minDelayMs: 100, jitter: false })],
      [flakyAgent('flaky', 2)],
    );
    await drive(run);
    expect(
      ofType(events, 'retry').map(({ attempt, delayMs, retriesLeft, error }) => ({
        attempt,
        delayMs,
        retriesLeft,
        code: error.code,
      })),
    ).toEqual([
      { attempt: 1, delayMs: 100, retriesLeft: 3, code: 'AGENT_FAILED' },
      { attempt: 2, delayMs: 200, retriesLeft: 2, code: 'AGENT_FAILED' },
    ]);
  });

  it('keeps the recovered errors in result.errors and every attempt in the timeline', async () => {
    const { run } = start([retried({ retries: 3, minDelayMs: 10 })], [flakyAgent('flaky', 2)]);
    const result = await drive(run);
    expect(result.errors.map((e) => e.code)).toEqual(['AGENT_FAILED', 'AGENT_FAILED']);
    const spans = result.timeline.filter((t) => t.scope === 'stage' && t.path === 'retried/call');
    expect(spans.map((t) => [t.attempt, t.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
  });

  it('keeps the event stream paired across attempts', async () => {
    const { run, events } = start([retried({ retries: 3, minDelayMs: 10 })], [flakyAgent('flaky', 2)]);
    await drive(run);
    expect(pairingProblems(events)).toEqual([]);
  });
});

describe('backoff schedule', () => {
  it('grows minDelayMs × factor^(n-1) without jitter, capped at maxDelayMs', async () => {
    const policy = { retries: 5, minDelayMs: 100, factor: 3, maxDelayMs: 1000, jitter: false };
    const { run, events } = start([retried(policy)], [flakyAgent('flaky', 5)]);
    await drive(run);
    expect(ofType(events, 'retry').map((e) => e.delayMs)).toEqual([100, 300, 900, 1000, 1000]);
  });

  it('multiplies each delay by 1 + random() with jitter', async () => {
    const policy = { retries: 2, minDelayMs: 100, factor: 2, jitter: true };
    const { run, events } = start([retried(policy)], [flakyAgent('flaky', 2)], {
      orchestrator: { random: () => 0.5 },
    });
    await drive(run);
    expect(ofType(events, 'retry').map((e) => e.delayMs)).toEqual([150, 300]);
  });

  it('waits exactly the announced delay before the next attempt', async () => {
    const flaky = flakyAgent('flaky', 1);
    const { run } = start([retried({ retries: 1, minDelayMs: 500, jitter: false })], [flaky]);
    await vi.advanceTimersByTimeAsync(0);
    expect(flaky.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(flaky.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flaky.calls).toHaveLength(2);
    expect((await run).status).toBe('succeeded');
  });

  it('honours a retryAfterMs hint on the thrown error instead of the computed delay', async () => {
    const hinted = (n: number) => Object.assign(new Error(`429 #${n}`), { retryAfterMs: 7_000 });
    const { run, events } = start(
      [retried({ retries: 1, minDelayMs: 100, jitter: false })],
      [flakyAgent('flaky', 1, 'ok', hinted)],
    );
    await drive(run);
    expect(ofType(events, 'retry').map((e) => e.delayMs)).toEqual([7_000]);
  });

  it('honours an HTTP-style retryAfter in seconds on the error’s cause', async () => {
    const hinted = () => new Error('429', { cause: { retryAfter: 3 } });
    const { run, events } = start(
      [retried({ retries: 1, minDelayMs: 100, jitter: false })],
      [flakyAgent('flaky', 1, 'ok', hinted)],
    );
    await drive(run);
    expect(ofType(events, 'retry').map((e) => e.delayMs)).toEqual([3_000]);
  });

  it('does not start the next attempt before a retryAfterMs hint has passed', async () => {
    const hinted = () => Object.assign(new Error('429'), { retryAfterMs: 2_000 });
    const flaky = flakyAgent('flaky', 1, 'ok', hinted);
    const { run } = start([retried({ retries: 1, minDelayMs: 10, jitter: false })], [flaky]);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(flaky.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flaky.calls).toHaveLength(2);
    await run;
  });
});

describe('retry exhaustion', () => {
  it('fails the run with the last attempt’s error', async () => {
    const flaky = flakyAgent('flaky', 10);
    const { run } = start([retried({ retries: 2, minDelayMs: 10 })], [flaky]);
    const result = await drive(run);
    expect(flaky.calls).toHaveLength(3);
    expect(result.status).toBe('failed');
    expect(result.status === 'failed' && result.error.message).toContain('failed on call 3');
  });

  it('records the stage as failed after all its attempts', async () => {
    const { run } = start([retried({ retries: 2, minDelayMs: 10 })], [flakyAgent('flaky', 10)]);
    const result = await drive(run);
    expect(result.stages['retried/call']).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('emits no retry event after the last attempt', async () => {
    const { run, events } = start([retried({ retries: 2, minDelayMs: 10 })], [flakyAgent('flaky', 10)]);
    await drive(run);
    expect(ofType(events, 'retry').map((e) => e.attempt)).toEqual([1, 2]);
  });
});

describe('what is retried', () => {
  it('does not retry a MacroError that says it is not retryable', async () => {
    const fatal = new MacroError('STAGE_FAILED', 'credentials revoked', { retryable: false });
    const agent = throwingAgent('flaky', fatal);
    const { run, events } = start([retried({ retries: 3 })], [agent]);
    await drive(run);
    expect(agent.calls).toHaveLength(1);
    expect(ofType(events, 'retry')).toEqual([]);
  });

  it('retries a plain TypeError thrown by an agent', async () => {
    const flaky = flakyAgent('flaky', 1, 'ok', () => new TypeError('fetch failed'));
    const { run } = start([retried({ retries: 1, minDelayMs: 10 })], [flaky]);
    expect((await drive(run)).status).toBe('succeeded');
  });

  it('applies the macro’s default retry policy to agent stages without one', async () => {
    const macro = defineMacro({
      name: 'defaults',
      description: 'macro-level retry',
      defaults: { retry: { retries: 2, minDelayMs: 10, jitter: false } },
      stages: [agentStage('call', 'flaky')],
    });
    const flaky = flakyAgent('flaky', 2);
    expect((await drive(start([macro], [flaky]).run)).status).toBe('succeeded');
    expect(flaky.calls).toHaveLength(3);
  });

  it('re-runs the whole sequence when a retryable sequence fails', async () => {
    const first = okAgent('first');
    const macro = defineMacro({
      name: 'whole',
      description: 'retried sequence',
      stages: [
        retryableStage(sequence('both', [agentStage('a', 'first'), agentStage('b', 'flaky')]), {
          retries: 1,
          minDelayMs: 10,
        }),
      ],
    });
    const result = await drive(start([macro], [first, flakyAgent('flaky', 1)]).run);
    expect(result.status).toBe('succeeded');
    expect(first.calls).toHaveLength(2);
  });
});

describe('retry policies at load time', () => {
  it('refuses a retryableStage directly inside another', () => {
    const nested = defineMacro({
      name: 'nested',
      description: 'two policies for one stage',
      stages: [retryableStage(retryableStage(agentStage('s', 'flaky'), { retries: 1 }), { retries: 5 })],
    });
    expect(() => new MacroOrchestrator({ agents: [okAgent('flaky')], macros: [nested] })).toThrow(
      /retryableStage directly inside another[\s\S]*macros\[0\]\.stages\[0\]\.stage/,
    );
  });
});
