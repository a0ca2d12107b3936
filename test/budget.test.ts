/**
 * Token budgets: `run(..., { budget: { maxTokens } })` stops a run once its agents have
 * reported more tokens than that, settling `partial` with every finished output kept.
 */
import { describe, expect, it } from 'vitest';
import {
  type Agent,
  type AgentInvocation,
  agentStage,
  BudgetExceededError,
  defineMacro,
  type MacroDefinition,
  MacroOrchestrator,
  parallel,
  runMacro,
  type StageDefinition,
} from '../src/index.js';

/** An agent that reports `tokens` per call and answers with its id and call number. */
function spender(id: string, tokens: number) {
  const calls: string[] = [];
  const agent: Agent = {
    id,
    invoke: (_: unknown, invocation: AgentInvocation) => {
      calls.push(invocation.path);
      invocation.usage({ inputTokens: tokens });
      return `${id} ${calls.length}`;
    },
  };
  return { agent, calls };
}

function orchestrate(
  stages: StageDefinition[],
  agents: Agent[],
  extra: MacroDefinition[] = [],
  fallback?: string,
) {
  const macro = defineMacro({
    name: 'm',
    description: 'd',
    stages: stages as [StageDefinition],
    ...(fallback === undefined ? {} : { fallback }),
  });
  return new MacroOrchestrator({ agents, macros: [macro, ...extra] });
}

describe('a token budget', () => {
  it('stops the run past maxTokens: partial, BUDGET_EXCEEDED, the finished outputs kept', async () => {
    const { agent } = spender('w', 40);
    const stages = [
      agentStage('a', agent),
      agentStage('b', agent),
      agentStage('c', agent),
      agentStage('d', agent),
    ];
    const result = await orchestrate(stages, [agent]).run(
      'm',
      { intent: 'x' },
      { budget: { maxTokens: 100 } },
    );
    expect(result.status).toBe('partial');
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      message: 'Run m used 120 tokens, over its budget of 100',
    });
    expect(result.stages['m/a']).toMatchObject({ status: 'succeeded', output: 'w 1' });
    expect(result.stages['m/b']).toMatchObject({ status: 'succeeded', output: 'w 2' });
    expect(result.stages['m/c']?.status).toBe('cancelled');
    expect(result.stages['m/d']).toBeUndefined();
    expect(result.usage?.totalTokens).toBe(120);
  });

  it('starts no call once the budget is spent', async () => {
    const { agent, calls } = spender('w', 150);
    const stages = [agentStage('a', agent), agentStage('b', agent)];
    await orchestrate(stages, [agent]).run('m', { intent: 'x' }, { budget: { maxTokens: 100 } });
    expect(calls).toEqual(['m/a']);
  });

  it('aborts the calls in flight with the budget error', async () => {
    const { agent: big } = spender('big', 500);
    let reason: unknown;
    const waiting: Agent = {
      id: 'waiting',
      invoke: (_: unknown, { signal }: AgentInvocation) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(signal.reason);
          }),
        ),
    };
    const stages = [
      parallel('both', [agentStage('slow', waiting), agentStage('spend', big)], { failure: 'settle' }),
    ];
    const result = await orchestrate(stages, [big, waiting]).run(
      'm',
      { intent: 'x' },
      { budget: { maxTokens: 100 } },
    );
    expect(result.status).toBe('partial');
    expect(reason).toBeInstanceOf(BudgetExceededError);
    expect(reason).toMatchObject({ limit: 'tokens', used: 500, max: 100, retryable: false });
  });

  it('leaves a run under its budget alone', async () => {
    const { agent } = spender('w', 10);
    const result = await orchestrate([agentStage('a', agent), agentStage('b', agent)], [agent]).run(
      'm',
      { intent: 'x' },
      { budget: { maxTokens: 20 } },
    );
    expect(result.status).toBe('succeeded');
  });

  it('runs no fallback once spent', async () => {
    const { agent } = spender('w', 300);
    const { agent: rescuer, calls: rescues } = spender('rescuer', 0);
    const rescue = defineMacro({ name: 'rescue', description: 'd', stages: [agentStage('r', rescuer)] });
    const result = await orchestrate([agentStage('a', agent)], [agent, rescuer], [rescue], 'rescue').run(
      'm',
      { intent: 'x' },
      { budget: { maxTokens: 100 } },
    );
    expect(result.status).toBe('partial');
    expect(rescues).toEqual([]);
  });

  it.each([[0], [-5], [1.5], ['100']])('is refused when maxTokens is %j, naming the option', (maxTokens) => {
    const { agent } = spender('w', 1);
    const orchestrator = orchestrate([agentStage('a', agent)], [agent]);
    expect(() =>
      orchestrator.run('m', { intent: 'x' }, { budget: { maxTokens: maxTokens as number } }),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('budget.maxTokens'),
      }),
    );
  });

  it('stops the run once the priced calls cost more than maxCostUsd', async () => {
    const writer: Agent = {
      id: 'w',
      invoke: (_: unknown, invocation: AgentInvocation) => {
        invocation.usage({ model: 'pricey', inputTokens: 1_000_000, outputTokens: 0 });
        return 'ok';
      },
    };
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('a', writer), agentStage('b', writer), agentStage('c', writer)],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [writer],
      macros: [macro],
      prices: { pricey: { inputPerMillion: 2, outputPerMillion: 8 } },
    });
    const result = await orchestrator.run('m', { intent: 'x' }, { budget: { maxCostUsd: 3 } });
    expect(result.status).toBe('partial');
    expect(result.status !== 'succeeded' && result.error.message).toBe(
      'Run m used $4.0000, over its budget of $3',
    );
    expect(result.stages['m/a']?.status).toBe('succeeded');
    expect(result.usage?.costUsd).toBe(4);
  });

  it('is refused when it names neither maxTokens nor maxCostUsd', () => {
    const { agent } = spender('w', 1);
    expect(() =>
      orchestrate([agentStage('a', agent)], [agent]).run('m', { intent: 'x' }, { budget: {} }),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('maxTokens or maxCostUsd'),
      }),
    );
  });

  it('is taken by runMacro too', async () => {
    const { agent } = spender('w', 500);
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('a', agent), agentStage('b', agent)],
    });
    const result = await runMacro(
      'm',
      { intent: 'x' },
      { agents: [agent], macros: [macro], budget: { maxTokens: 10 } },
    );
    expect(result.status).toBe('partial');
  });

  it('is read once: a getter cannot pass the check with one value and run with another', async () => {
    const { agent } = spender('w', 1_000);
    let reads = 0;
    const options = {
      get budget() {
        reads++;
        return reads === 1 ? { maxTokens: 10 } : { maxTokens: 1e9 };
      },
    };
    const result = await orchestrate([agentStage('a', agent), agentStage('b', agent)], [agent]).run(
      'm',
      { intent: 'x' },
      options as never,
    );
    expect(result.status).toBe('partial');
  });
});
