import { describe, expect, it, vi } from 'vitest';
import {
  type AgentInvocation,
  agentStage,
  defineMacro,
  ExecutionStage,
  type PhaseContext,
  type PipelineState,
} from '../../src/index.js';
import {
  delay,
  drive,
  ofType,
  pairingProblems,
  scriptedAgent,
  start,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

// Work an agent or phase leaves running after its stage ended must not reach the run.
describe('work left behind after its stage ended', () => {
  const macro = defineMacro({ name: 'late', description: 'one stage', stages: [agentStage('s', 'chatty')] });

  it('drops progress an agent reports after it resolved', async () => {
    let keepTalking: AgentInvocation['report'] | undefined;
    const chatty = scriptedAgent('chatty', (_n, _input, invocation) => {
      keepTalking = invocation.report;
      invocation.report('working');
      return 'done';
    });
    const { run, events } = start([macro], [chatty]);
    await drive(run);
    keepTalking?.('still here');
    expect(ofType(events, 'stage:progress').map((e) => e.data)).toEqual([
      { type: 'custom', value: 'working' },
    ]);
    expect(events.at(-1)?.type).toBe('run:end');
  });

  it('drops progress an agent reports after its stage timed out', async () => {
    const timed = defineMacro({
      name: 'late',
      description: 'one timed stage',
      stages: [agentStage('s', 'chatty', { timeoutMs: 100 })],
    });
    const chatty = scriptedAgent('chatty', async (_n, _input, { report }) => {
      await delay(500);
      report('too late');
      return 'done';
    });
    const { run, events } = start([timed], [chatty]);
    await drive(run);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ofType(events, 'stage:progress')).toEqual([]);
    expect(pairingProblems(events)).toEqual([]);
  });

  it('refuses agent calls from a phase left behind by its time budget', async () => {
    class SlowRetry extends ExecutionStage {
      readonly name = 'slow-retry';
      async execute(_state: PipelineState, ctx: PhaseContext): Promise<void> {
        await delay(500);
        await ctx.invoke().catch(() => undefined);
      }
    }
    const macro = defineMacro({
      name: 'late',
      description: 'a slow custom phase',
      stages: [
        agentStage('s', 'chatty', {
          pipeline: ['draft', 'slow-retry'],
          phaseTimeoutsMs: { 'slow-retry': 100 },
        }),
      ],
    });
    const chatty = scriptedAgent('chatty', () => 'x');
    const { run } = start([macro], [chatty], { orchestrator: { phases: [new SlowRetry()] } });
    await drive(run);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(chatty.calls).toHaveLength(1);
  });

  it('refuses gate checks from a phase left behind by its time budget', async () => {
    class SlowCheck extends ExecutionStage {
      readonly name = 'slow-check';
      async execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
        await delay(500);
        await ctx.checkGates(state.output).catch(() => undefined);
      }
    }
    const gated = defineMacro({
      name: 'late',
      description: 'a slow custom phase',
      stages: [
        agentStage('s', 'chatty', {
          pipeline: ['draft', 'slow-check'],
          phaseTimeoutsMs: { 'slow-check': 100 },
          gates: [{ kind: 'predicate', id: 'any', check: () => true }],
        }),
      ],
    });
    const { run, events } = start([gated], [scriptedAgent('chatty', () => 'x')], {
      orchestrator: { phases: [new SlowCheck()] },
    });
    await drive(run);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ofType(events, 'gate')).toEqual([]);
    expect(events.at(-1)?.type).toBe('run:end');
  });
});
