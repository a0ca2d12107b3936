/**
 * Token usage per stage and per attempt: `StageRecord.usage` sums every call of a stage
 * (per agent and model), a stage span of the timeline holds its attempt's; a resumed run
 * counts the tokens its finished stages spent before it was interrupted.
 */
import { describe, expect, it } from 'vitest';
import {
  type Agent,
  agentStage,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  type MacroResult,
  parallel,
  predicateGate,
  retryableStage,
  type StageDefinition,
  sequence,
} from '../src/index.js';
import { spendingAgent, stuckAgent } from './support/index.js';

async function run(stages: StageDefinition[], agents: Agent[]): Promise<MacroResult> {
  const macro = defineMacro({ name: 'm', description: 'd', stages: stages as [StageDefinition] });
  return await new MacroOrchestrator({ agents, macros: [macro] }).run('m', { intent: 'x' });
}

const stageSpans = (result: MacroResult, path: string) =>
  result.timeline.filter((span) => span.scope === 'stage' && span.path === path);

describe('stage usage', () => {
  it("is on the stage's record, per agent and model, summed over its attempts", async () => {
    const flaky = spendingAgent('flaky', { model: 'mini', inputTokens: 5, outputTokens: 1 }, (call) => {
      if (call === 1) throw new Error('503');
      return 'ok';
    });
    const stage = retryableStage(agentStage('a', flaky), { retries: 1, minDelayMs: 0, jitter: false });
    const result = await run([stage], [flaky]);
    expect(result.stages['m/a']?.usage).toEqual({
      calls: 2,
      inputTokens: 10,
      outputTokens: 2,
      totalTokens: 12,
      cachedInputTokens: 0,
      byAgent: [
        {
          agent: 'flaky',
          model: 'mini',
          calls: 2,
          inputTokens: 10,
          outputTokens: 2,
          totalTokens: 12,
          cachedInputTokens: 0,
        },
      ],
    });
  });

  it("puts each attempt's tokens on that attempt's stage span", async () => {
    const flaky = spendingAgent('flaky', { inputTokens: 5 }, (call) => {
      if (call === 1) throw new Error('503');
      return 'ok';
    });
    const stage = retryableStage(agentStage('a', flaky), { retries: 1, minDelayMs: 0, jitter: false });
    const spans = stageSpans(await run([stage], [flaky]), 'm/a');
    expect(spans.map((span) => [span.attempt, span.status, span.usage?.totalTokens])).toEqual([
      [1, 'failed', 5],
      [2, 'succeeded', 5],
    ]);
  });

  it('is on the record of a stage that failed', async () => {
    const broken = spendingAgent('broken', { outputTokens: 9 }, () => {
      throw new Error('no');
    });
    const result = await run([agentStage('a', broken)], [broken]);
    expect(result.stages['m/a']).toMatchObject({ status: 'failed', usage: { totalTokens: 9 } });
  });

  it('is left out of the records and spans of stages whose agents reported none', async () => {
    const quiet: Agent = { id: 'quiet', invoke: () => 'ok' };
    const paid = spendingAgent('paid', { inputTokens: 1 });
    const result = await run([agentStage('a', quiet), agentStage('b', paid)], [quiet, paid]);
    expect(result.stages['m/a']).not.toHaveProperty('usage');
    expect(stageSpans(result, 'm/a')[0]).not.toHaveProperty('usage');
    expect(result.stages['m/b']?.usage?.totalTokens).toBe(1);
  });

  it('is priced as the run is', async () => {
    const paid = spendingAgent('paid', { model: 'big', inputTokens: 1_000_000 });
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('a', paid)] });
    const orchestrator = new MacroOrchestrator({
      agents: [paid],
      macros: [macro],
      prices: { big: { inputPerMillion: 2, outputPerMillion: 8 } },
    });
    const result = await orchestrator.run('m', { intent: 'x' });
    expect(result.stages['m/a']?.usage?.costUsd).toBe(2);
    expect(stageSpans(result, 'm/a')[0]?.usage?.costUsd).toBe(2);
  });
});

describe('usage across a resume', () => {
  const macro = defineMacro({
    name: 'm',
    description: 'd',
    stages: [agentStage('a', 'writer'), agentStage('b', 'stuck')],
  });
  const writer = spendingAgent('writer', { model: 'mini', inputTokens: 40, outputTokens: 2 });

  it("counts the tokens of the stages finished before the interruption in the resumed run's totals", async () => {
    const memory = new InMemoryMemory();
    const hanging = stuckAgent('stuck');
    const first = new MacroOrchestrator({ agents: [writer, hanging], macros: [macro], memory });
    const { runId } = first.run('m', { intent: 'x' });
    await hanging.reached;
    await new Promise((resolve) => setImmediate(resolve)); // a's checkpoint lands

    const answering = spendingAgent('stuck', { model: 'mini', inputTokens: 1 });
    const second = new MacroOrchestrator({ agents: [writer, answering], macros: [macro], memory });
    const result = await second.resume(runId);
    expect(result.status).toBe('succeeded');
    expect(result.usage).toMatchObject({
      calls: 2,
      inputTokens: 41,
      byAgent: [
        { agent: 'writer', model: 'mini', calls: 1, inputTokens: 40 },
        { agent: 'stuck', model: 'mini', calls: 1, inputTokens: 1 },
      ],
    });
    expect(result.stages['m/a']).toMatchObject({ status: 'restored', usage: { inputTokens: 40 } });
  });

  it('keeps to the budget with the tokens spent before the interruption', async () => {
    const memory = new InMemoryMemory();
    const hanging = stuckAgent('stuck');
    const first = new MacroOrchestrator({ agents: [writer, hanging], macros: [macro], memory });
    const { runId } = first.run('m', { intent: 'x' });
    await hanging.reached;
    await new Promise((resolve) => setImmediate(resolve));

    const answering = spendingAgent('stuck', { inputTokens: 10 });
    const second = new MacroOrchestrator({ agents: [writer, answering], macros: [macro], memory });
    const result = await second.resume(runId, { budget: { maxTokens: 50 } });
    expect(result).toMatchObject({ status: 'partial', error: { code: 'BUDGET_EXCEEDED' } });
  });
});

describe('usage on records and spans, in corner cases', () => {
  it('counts a stage run again by its retried parent afresh on its spans', async () => {
    const a = spendingAgent('a', { inputTokens: 5 });
    let bCalls = 0;
    const b: Agent = {
      id: 'b',
      invoke: () => {
        bCalls++;
        if (bCalls === 1) throw new Error('503');
        return 'ok';
      },
    };
    const stage = retryableStage(sequence('s', [agentStage('a', a), agentStage('b', b)]), {
      retries: 1,
      minDelayMs: 0,
      jitter: false,
    });
    const result = await run([stage], [a, b]);
    expect(stageSpans(result, 'm/s/a').map((span) => span.usage?.totalTokens)).toEqual([5, 5]);
    expect(result.stages['m/s/a']?.usage?.totalTokens).toBe(10); // every run of the stage
  });

  it("counts a Harmony judge's tokens in the retried group's own attempt", async () => {
    const judge: Agent = {
      id: 'judge',
      invoke: (_input, invocation) => {
        invocation.usage({ inputTokens: 7 });
        return { winner: 0, rationale: 'first' };
      },
    };
    let leftCalls = 0;
    const left: Agent = {
      id: 'left',
      invoke: () => {
        leftCalls++;
        if (leftCalls === 1) throw new Error('503');
        return 'L';
      },
    };
    const group = parallel('p', [agentStage('l', 'left'), agentStage('r', 'right')], {
      harmony: { strategy: 'judge', judge: 'judge' },
    });
    const stage = retryableStage(group, { retries: 1, minDelayMs: 0, jitter: false });
    const result = await run([stage], [judge, left, { id: 'right', invoke: () => 'R' }]);
    expect(result.status).toBe('succeeded');
    expect(stageSpans(result, 'm/p').map((span) => [span.attempt, span.usage?.totalTokens])).toEqual([
      [1, undefined],
      [2, 7],
    ]);
  });

  it('restores the number of calls a stage made before the interruption', async () => {
    const memory = new InMemoryMemory();
    const writer = spendingAgent('writer', { inputTokens: 3 }, (call) => `draft ${call}`);
    const second = predicateGate('second', (text: string) => text === 'draft 2');
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('a', 'writer', { gates: [second] }), agentStage('b', 'stuck')],
    });
    const hanging = stuckAgent('stuck');
    const { runId } = new MacroOrchestrator({ agents: [writer, hanging], macros: [macro], memory }).run('m', {
      intent: 'x',
    });
    await hanging.reached;
    await new Promise((resolve) => setImmediate(resolve));
    const answering: Agent = { id: 'stuck', invoke: () => 'done' };
    const result = await new MacroOrchestrator({
      agents: [writer, answering],
      macros: [macro],
      memory,
    }).resume(runId);
    expect(result.usage).toMatchObject({
      calls: 2,
      inputTokens: 6,
      byAgent: [{ agent: 'writer', calls: 2 }],
    });
  });
});
