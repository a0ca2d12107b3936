import { describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  CancelledError,
  defineMacro,
  type MacroDefinition,
  parallel,
  retryableStage,
} from '../../src/index.js';
import {
  drive,
  flakyAgent,
  hangingAgent,
  ofType,
  okAgent,
  pairingProblems,
  slowAgent,
  start,
  throwingAgent,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

const macro = defineMacro({
  name: 'work',
  description: 'a finished stage, then a long one',
  stages: [agentStage('first', 'fast'), agentStage('second', 'slow')],
});

describe('cancelling a run through options.signal', () => {
  it('aborts the signal the running agent sees', async () => {
    const controller = new AbortController();
    const slow = slowAgent('slow', 60_000);
    const { run } = start([macro], [okAgent('fast'), slow], { run: { signal: controller.signal } });
    await vi.advanceTimersByTimeAsync(100);
    controller.abort(new Error('operator pressed stop'));
    await drive(run);
    expect(slow.calls[0]?.invocation.signal.aborted).toBe(true);
  });

  it('settles the run cancelled with CANCELLED', async () => {
    const controller = new AbortController();
    const { run } = start([macro], [okAgent('fast'), slowAgent('slow', 60_000)], {
      run: { signal: controller.signal },
    });
    await vi.advanceTimersByTimeAsync(100);
    controller.abort('stop');
    const result = await drive(run);
    expect(result.status).toBe('cancelled');
    expect(result.status === 'cancelled' && result.error).toMatchObject({
      code: 'CANCELLED',
      message: 'Run cancelled at work: stop',
    });
  });

  it('settles promptly even when the agent ignores its signal', async () => {
    const controller = new AbortController();
    const { run } = start([macro], [okAgent('fast'), hangingAgent('slow')], {
      run: { signal: controller.signal },
    });
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    let settled = false;
    void run.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
  });

  it('keeps the output of the stages that finished before it', async () => {
    const controller = new AbortController();
    const { run } = start([macro], [okAgent('fast', 'kept'), hangingAgent('slow')], {
      run: { signal: controller.signal },
    });
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    const result = await drive(run);
    expect(result.stages['work/first']).toMatchObject({ status: 'succeeded', output: 'kept' });
    expect(result.stages['work/second']).toMatchObject({ status: 'cancelled' });
  });

  it('invokes no agent when the signal is already aborted', async () => {
    const fast = okAgent('fast');
    const { run } = start([macro], [fast, hangingAgent('slow')], { run: { signal: AbortSignal.abort() } });
    const result = await drive(run);
    expect(result.status).toBe('cancelled');
    expect(fast.calls).toHaveLength(0);
  });

  it('closes every started stage and phase with exactly one end event', async () => {
    const controller = new AbortController();
    const { run, events } = start([macro], [okAgent('fast'), hangingAgent('slow')], {
      run: { signal: controller.signal },
    });
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    await drive(run);
    expect(pairingProblems(events)).toEqual([]);
  });
});

describe('MacroRun.cancel()', () => {
  it('settles the run cancelled and aborts its agents with a CancelledError', async () => {
    const slow = slowAgent('slow', 60_000);
    const { run } = start([macro], [okAgent('fast'), slow]);
    await vi.advanceTimersByTimeAsync(100);
    run.cancel('no longer needed');
    const result = await drive(run);
    expect(result.status).toBe('cancelled');
    expect(slow.calls[0]?.invocation.signal.reason).toBeInstanceOf(CancelledError);
  });

  it('does nothing once the run has settled', async () => {
    const { run } = start([macro], [okAgent('fast'), okAgent('slow')]);
    const result = await drive(run);
    run.cancel();
    expect((await run).status).toBe(result.status);
  });
});

describe('cancellation meets other failure handling', () => {
  it('stops retrying during a backoff delay', async () => {
    const flaky = flakyAgent('flaky', 10);
    const retried = defineMacro({
      name: 'retried',
      description: 'long backoff',
      stages: [retryableStage(agentStage('s', 'flaky'), { retries: 5, minDelayMs: 10_000, jitter: false })],
    });
    const { run } = start([retried], [flaky]);
    await vi.advanceTimersByTimeAsync(100);
    run.cancel();
    const result = await drive(run);
    expect(result.status).toBe('cancelled');
    expect(flaky.calls).toHaveLength(1);
    expect(result.durationMs).toBe(100);
  });

  it('does not run the fallback macro', async () => {
    const withFallback: MacroDefinition = { ...macro, fallback: 'plan-b' };
    const planB = defineMacro({ name: 'plan-b', description: 'fallback', stages: [agentStage('x', 'fast')] });
    const { run, events } = start([withFallback, planB], [okAgent('fast'), hangingAgent('slow')]);
    await vi.advanceTimersByTimeAsync(100);
    run.cancel();
    const result = await drive(run);
    expect(ofType(events, 'fallback')).toEqual([]);
    expect(result.macros).toEqual([{ macro: 'work', status: 'cancelled', error: expect.any(Object) }]);
  });

  it('settles cancelled when a settle-mode branch had already failed', async () => {
    const fan = defineMacro({
      name: 'fan',
      description: 'one failed branch, one still running',
      stages: [
        parallel('group', [agentStage('bad', 'bad'), agentStage('slow', 'slow')], { failure: 'settle' }),
      ],
    });
    const { run } = start([fan], [throwingAgent('bad', new Error('broken')), slowAgent('slow', 60_000)]);
    await vi.advanceTimersByTimeAsync(100);
    run.cancel();
    const result = await drive(run);
    expect(result.status).toBe('cancelled');
    expect(result.stages['fan/group/bad']?.status).toBe('failed');
  });

  it('never starts an invocation still waiting for a scheduling slot', async () => {
    const slow = slowAgent('slow', 60_000);
    const queued = okAgent('queued');
    const fan = defineMacro({
      name: 'fan',
      description: 'one slot, two branches',
      stages: [parallel('group', [agentStage('slow', 'slow'), agentStage('queued', 'queued')])],
    });
    const { run } = start([fan], [slow, queued], { orchestrator: { scheduling: { concurrency: 1 } } });
    await vi.advanceTimersByTimeAsync(100);
    run.cancel();
    await drive(run);
    expect(queued.calls).toHaveLength(0);
  });
});
