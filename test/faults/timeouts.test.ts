import { describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defaultPipeline,
  defineMacro,
  ExecutionStage,
  MacroConfigurationError,
  MacroOrchestrator,
  type PipelineState,
  parallel,
  predicateGate,
  retryableStage,
  StageTimeoutError,
  sequence,
} from '../../src/index.js';
import {
  drive,
  hangingAgent,
  ofType,
  okAgent,
  pairingProblems,
  scriptedAgent,
  slowAgent,
  start,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

describe('a stage past its timeoutMs', () => {
  const macro = defineMacro({
    name: 'timed',
    description: 'a finished stage, then a hung one',
    stages: [agentStage('first', 'fast'), agentStage('second', 'stuck', { timeoutMs: 1_000 })],
  });

  it('settles the run partial with STAGE_TIMEOUT', async () => {
    const { run } = start([macro], [okAgent('fast'), hangingAgent('stuck')]);
    const result = await drive(run);
    expect(result.status).toBe('partial');
    expect(result.status === 'partial' && result.error).toMatchObject({
      code: 'STAGE_TIMEOUT',
      path: 'timed/second',
    });
  });

  it('settles exactly when the budget runs out', async () => {
    const { run } = start([macro], [okAgent('fast'), hangingAgent('stuck')]);
    let settled = false;
    void run.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  });

  it('aborts the signal its agent sees, with the timeout error as reason', async () => {
    const stuck = hangingAgent('stuck');
    await drive(start([macro], [okAgent('fast'), stuck]).run);
    const signal = stuck.calls[0]?.invocation.signal;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(StageTimeoutError);
  });

  it('cannot be kept open by an agent that ignores its signal', async () => {
    const ignoring = slowAgent('stuck', 60_000, 'late', false);
    const { run } = start([macro], [okAgent('fast'), ignoring]);
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await run;
    expect(result.status).toBe('partial');
  });

  it('cannot be kept open by a thenable that never calls back', async () => {
    // biome-ignore lint/suspicious/noThenProperty: a deliberately silent thenable.
    const silent = scriptedAgent('stuck', () => ({ then() {} }));
    const result = await drive(start([macro], [okAgent('fast'), silent]).run);
    expect(result.stages['timed/second']).toMatchObject({ status: 'timed-out' });
  });

  it('keeps the output of every stage that finished before it', async () => {
    const result = await drive(start([macro], [okAgent('fast', 'kept'), hangingAgent('stuck')]).run);
    expect(result.stages['timed/first']).toMatchObject({ status: 'succeeded', output: 'kept' });
  });

  it('marks the timed-out stage with its error', async () => {
    const result = await drive(start([macro], [okAgent('fast'), hangingAgent('stuck')]).run);
    expect(result.stages['timed/second']).toMatchObject({
      status: 'timed-out',
      error: { code: 'STAGE_TIMEOUT', message: 'Stage timed/second timed out after 1000 ms' },
    });
  });

  it('closes every started stage and phase with exactly one end event', async () => {
    const { run, events } = start([macro], [okAgent('fast'), hangingAgent('stuck')]);
    await drive(run);
    expect(pairingProblems(events)).toEqual([]);
    expect(ofType(events, 'phase:end').at(-1)).toMatchObject({ phase: 'draft', status: 'timed-out' });
  });

  it('ignores what an agent resolves after its stage timed out', async () => {
    const late = slowAgent('stuck', 5_000, 'too late', false);
    const { run, events } = start([macro], [okAgent('fast'), late]);
    const result = await drive(run);
    const count = events.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events).toHaveLength(count);
    expect(result.stages['timed/second']?.output).toBeUndefined();
  });

  it('gets a fresh budget on each retry', async () => {
    const slowThenFast = scriptedAgent('stuck', (n, _input, { signal }) =>
      n === 1 ? new Promise(() => {}) : signal.aborted ? 'aborted' : 'second try',
    );
    const retried = defineMacro({
      name: 'retried',
      description: 'a retried timeout',
      stages: [
        retryableStage(agentStage('s', 'stuck', { timeoutMs: 1_000 }), { retries: 1, minDelayMs: 10 }),
      ],
    });
    const { run, events } = start([retried], [slowThenFast]);
    const result = await drive(run);
    expect(result.status === 'succeeded' && result.output).toBe('second try');
    expect(ofType(events, 'retry')[0]?.error.code).toBe('STAGE_TIMEOUT');
  });

  it('inherits the macro’s default timeoutMs', async () => {
    const defaults = defineMacro({
      name: 'defaults',
      description: 'macro-level timeout',
      defaults: { timeoutMs: 300 },
      stages: [agentStage('s', 'stuck')],
    });
    const result = await drive(start([defaults], [hangingAgent('stuck')]).run);
    expect(result.stages['defaults/s']?.error?.message).toBe('Stage defaults/s timed out after 300 ms');
  });

  it('cannot be kept open by a predicate gate that never settles', async () => {
    const gated = defineMacro({
      name: 'gated',
      description: 'a hung gate',
      stages: [
        agentStage('s', 'fast', {
          timeoutMs: 1_000,
          gates: [predicateGate('hung', () => new Promise<boolean>(() => {}))],
        }),
      ],
    });
    const { run, events } = start([gated], [okAgent('fast')]);
    const result = await drive(run);
    expect(result.stages['gated/s']).toMatchObject({ status: 'timed-out' });
    expect(ofType(events, 'phase:end').at(-1)).toMatchObject({ phase: 'qa', status: 'timed-out' });
  });

  it('cannot be kept open by a parallel merge that never settles', async () => {
    const merging = defineMacro({
      name: 'merging',
      description: 'a hung merge',
      stages: [
        parallel('both', [agentStage('a', 'fast'), agentStage('b', 'fast')], {
          timeoutMs: 1_000,
          merge: () => new Promise<string>(() => {}),
        }),
      ],
    });
    const { run } = start([merging], [okAgent('fast')]);
    const result = await drive(run);
    expect(result.status).toBe('partial');
    expect(result.stages['merging/both']).toMatchObject({ status: 'timed-out' });
    expect(result.stages['merging/both/a']).toMatchObject({ status: 'succeeded', output: 'fast-out' });
  });

  it('cannot be kept open by a deploy function that never settles', async () => {
    const deploying = defineMacro({
      name: 'deploying',
      description: 'a hung deploy',
      stages: [
        agentStage('s', 'fast', {
          timeoutMs: 1_000,
          deliver: (output: string) => [{ name: 'out.txt', content: output }],
          deploy: () => new Promise<void>(() => {}),
        }),
      ],
    });
    const result = await drive(start([deploying], [okAgent('fast')]).run);
    expect(result.stages['deploying/s']).toMatchObject({ status: 'timed-out' });
  });

  it('releases its scheduling slot even when its agent ignores the signal', async () => {
    const fan = defineMacro({
      name: 'fan',
      description: 'one slot: a hung branch, then a quick one',
      stages: [
        parallel('group', [agentStage('stuck', 'stuck', { timeoutMs: 100 }), agentStage('next', 'fast')], {
          failure: 'settle',
        }),
      ],
    });
    const { run } = start([fan], [hangingAgent('stuck'), okAgent('fast', 'got the slot')], {
      orchestrator: { scheduling: { concurrency: 1 } },
      run: { timeoutMs: 10_000 },
    });
    const result = await drive(run);
    expect(result.stages['fan/group/next']).toMatchObject({ status: 'succeeded', output: 'got the slot' });
    expect(result.durationMs).toBe(100);
  });

  it('aborts the children of a timed-out sequence', async () => {
    const stuck = hangingAgent('stuck');
    const nested = defineMacro({
      name: 'nested',
      description: 'a timed sequence',
      stages: [sequence('outer', [agentStage('a', 'fast'), agentStage('b', 'stuck')], { timeoutMs: 500 })],
    });
    const result = await drive(start([nested], [okAgent('fast'), stuck]).run);
    expect(stuck.calls[0]?.invocation.signal.aborted).toBe(true);
    expect(result.stages['nested/outer/b']).toMatchObject({
      status: 'timed-out',
      error: { path: 'nested/outer' },
    });
    expect(result.stages['nested/outer/a']?.status).toBe('succeeded');
  });
});

describe('a phase past its budget (phaseTimeoutsMs)', () => {
  const phased = (phaseTimeoutsMs: Record<string, number>, agent = 'stuck') =>
    defineMacro({
      name: 'phased',
      description: 'per-phase budgets',
      stages: [agentStage('s', agent, { phaseTimeoutsMs })],
    });

  it('fails the stage with STAGE_TIMEOUT naming the phase', async () => {
    const result = await drive(start([phased({ draft: 200 })], [hangingAgent('stuck')]).run);
    expect(result.status).toBe('partial');
    expect(result.stages['phased/s']?.error).toMatchObject({
      code: 'STAGE_TIMEOUT',
      message: 'Phase "draft" of phased/s timed out after 200 ms',
    });
  });

  it('aborts the signal of the agent invoked in that phase', async () => {
    const stuck = hangingAgent('stuck');
    await drive(start([phased({ draft: 200 })], [stuck]).run);
    expect(stuck.calls[0]?.invocation.signal.reason).toMatchObject({ kind: 'phase', phase: 'draft' });
  });

  it('closes the timed-out phase with a timed-out phase:end', async () => {
    const { run, events } = start([phased({ draft: 200 })], [hangingAgent('stuck')]);
    await drive(run);
    expect(ofType(events, 'phase:end')).toMatchObject([{ phase: 'draft', status: 'timed-out' }]);
    expect(pairingProblems(events)).toEqual([]);
  });

  it('does not limit phases that have no budget', async () => {
    const slow = slowAgent('stuck', 5_000, 'slow but fine');
    const result = await drive(start([phased({ qa: 100 })], [slow]).run);
    expect(result.status === 'succeeded' && result.output).toBe('slow but fine');
  });

  it('releases the budget when the phase ends in time', async () => {
    const result = await drive(start([phased({ draft: 1_000 })], [slowAgent('stuck', 999, 'in time')]).run);
    expect(result.status).toBe('succeeded');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('limits a custom phase that ignores its signal', async () => {
    class Hang extends ExecutionStage {
      readonly name = 'hang';
      execute(_state: PipelineState): Promise<void> {
        return new Promise(() => {});
      }
    }
    const macro = defineMacro({
      name: 'custom',
      description: 'a hung custom phase',
      stages: [agentStage('s', 'fast', { pipeline: ['draft', 'hang'], phaseTimeoutsMs: { hang: 300 } })],
    });
    const { run } = start([macro], [okAgent('fast')], {
      orchestrator: { phases: [new Hang()], pipeline: defaultPipeline() },
    });
    const result = await drive(run);
    expect(result.stages['custom/s']?.error?.message).toBe('Phase "hang" of custom/s timed out after 300 ms');
  });

  it('is retried like a stage timeout', async () => {
    const slowThenFast = scriptedAgent('stuck', (n) => (n === 1 ? new Promise(() => {}) : 'second try'));
    const macro = defineMacro({
      name: 'phased',
      description: 'retried phase budget',
      stages: [retryableStage(agentStage('s', 'stuck', { phaseTimeoutsMs: { draft: 100 } }), { retries: 1 })],
    });
    const result = await drive(start([macro], [slowThenFast]).run);
    expect(result.status).toBe('succeeded');
  });

  it('inherits budgets from the macro defaults', async () => {
    const macro = defineMacro({
      name: 'phased',
      description: 'default phase budgets',
      defaults: { phaseTimeoutsMs: { draft: 100 } },
      stages: [agentStage('s', 'stuck')],
    });
    const result = await drive(start([macro], [hangingAgent('stuck')]).run);
    expect(result.stages['phased/s']?.error?.message).toContain('after 100 ms');
  });

  it('lets a stage override a default budget', async () => {
    const macro = defineMacro({
      name: 'phased',
      description: 'default phase budgets',
      defaults: { phaseTimeoutsMs: { draft: 100 } },
      stages: [agentStage('s', 'stuck', { phaseTimeoutsMs: { draft: 500 } })],
    });
    const result = await drive(start([macro], [hangingAgent('stuck')]).run);
    expect(result.stages['phased/s']?.error?.message).toContain('after 500 ms');
  });

  it('refuses a budget for a phase that does not exist, at construction', () => {
    const macro = phased({ drafting: 100 }, 'fast');
    expect(() => new MacroOrchestrator({ agents: [okAgent('fast')], macros: [macro] })).toThrow(
      MacroConfigurationError,
    );
    try {
      new MacroOrchestrator({ agents: [okAgent('fast')], macros: [macro] });
    } catch (error) {
      expect((error as MacroConfigurationError).issues).toEqual([
        {
          path: 'macros[0].stages[0].phaseTimeoutsMs.drafting',
          message: expect.stringContaining('Unknown pipeline phase "drafting"'),
        },
      ]);
    }
  });
});

describe('a run past its timeoutMs or deadline', () => {
  const macro = defineMacro({
    name: 'long',
    description: 'a finished stage, then a hung one',
    stages: [agentStage('first', 'fast'), retryableStage(agentStage('second', 'stuck'), { retries: 5 })],
  });

  it('settles partial with RUN_TIMEOUT', async () => {
    const { run } = start([macro], [okAgent('fast'), hangingAgent('stuck')], { run: { timeoutMs: 2_000 } });
    const result = await drive(run);
    expect(result.status).toBe('partial');
    expect(result.status === 'partial' && result.error).toMatchObject({ code: 'RUN_TIMEOUT', path: 'long' });
  });

  it('is not retried by a retryable stage', async () => {
    const stuck = hangingAgent('stuck');
    const { run, events } = start([macro], [okAgent('fast'), stuck], { run: { timeoutMs: 2_000 } });
    await drive(run);
    expect(stuck.calls).toHaveLength(1);
    expect(ofType(events, 'retry')).toEqual([]);
  });

  it('keeps the outputs of the stages that finished in time', async () => {
    const { run } = start([macro], [okAgent('fast', 'kept'), hangingAgent('stuck')], {
      run: { timeoutMs: 2_000 },
    });
    const result = await drive(run);
    expect(result.stages['long/first']?.output).toBe('kept');
  });

  it('settles at the deadline', async () => {
    const deadline = Date.now() + 3_000;
    const { run } = start([macro], [okAgent('fast'), hangingAgent('stuck')], { run: { deadline } });
    let settledAt: number | undefined;
    void run.then(() => {
      settledAt = Date.now();
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(settledAt).toBe(deadline);
  });

  it('applies the earlier of timeoutMs and deadline', async () => {
    const { run } = start([macro], [okAgent('fast'), hangingAgent('stuck')], {
      run: { timeoutMs: 10_000, deadline: Date.now() + 1_000 },
    });
    const result = await drive(run);
    expect(result.durationMs).toBe(1_000);
  });

  it('ignores an agent that resolves after the deadline', async () => {
    const late = slowAgent('stuck', 5_000, 'late', false);
    const { run, events } = start([macro], [okAgent('fast'), late], {
      run: { deadline: Date.now() + 1_000 },
    });
    const result = await drive(run);
    const count = events.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(result.status).toBe('partial');
    expect(events).toHaveLength(count);
  });

  it('closes every started stage and phase with exactly one end event', async () => {
    const { run, events } = start([macro], [okAgent('fast'), hangingAgent('stuck')], {
      run: { timeoutMs: 100 },
    });
    await drive(run);
    expect(pairingProblems(events)).toEqual([]);
  });

  it('does not run the fallback macro', async () => {
    const fallback = defineMacro({
      name: 'plan-b',
      description: 'fallback',
      stages: [agentStage('x', 'fast')],
    });
    const withFallback = { ...macro, fallback: 'plan-b' };
    const { run, events } = start([withFallback, fallback], [okAgent('fast'), hangingAgent('stuck')], {
      run: { timeoutMs: 100 },
    });
    const result = await drive(run);
    expect(result.producedBy).toBe('long');
    expect(ofType(events, 'fallback')).toEqual([]);
  });
});
