/**
 * Token usage: what agents report through `invocation.usage`, summed per agent and model
 * into `MacroResult.usage`, and shown in the report.
 */
import { describe, expect, it } from 'vitest';
import {
  type Agent,
  type AgentInvocation,
  agentStage,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  predicateGate,
  renderReport,
  type StageDefinition,
  type TokenUsage,
} from '../src/index.js';
import { spendingAgent } from './support/index.js';

function runOf(stages: StageDefinition[], agents: Agent[], memory = new InMemoryMemory()) {
  const macro = defineMacro({ name: 'm', description: 'd', stages: stages as [StageDefinition] });
  return new MacroOrchestrator({ agents, macros: [macro], memory }).run('m', { intent: 'x' });
}

describe('MacroResult.usage', () => {
  it('sums what the agents report, per agent and model, in first-use order', async () => {
    const writer = spendingAgent('writer', {
      model: 'big',
      inputTokens: 100,
      outputTokens: 20,
      cachedInputTokens: 30,
    });
    const checker = spendingAgent('checker', {
      model: 'small',
      inputTokens: 10,
      outputTokens: 1,
      totalTokens: 12,
    });
    const result = await runOf(
      [agentStage('a', writer), agentStage('b', checker), agentStage('c', writer)],
      [writer, checker],
    );
    expect(result.usage).toEqual({
      calls: 3,
      inputTokens: 210,
      outputTokens: 41,
      totalTokens: 252,
      cachedInputTokens: 60,
      byAgent: [
        {
          agent: 'writer',
          model: 'big',
          calls: 2,
          inputTokens: 200,
          outputTokens: 40,
          totalTokens: 240,
          cachedInputTokens: 60,
        },
        {
          agent: 'checker',
          model: 'small',
          calls: 1,
          inputTokens: 10,
          outputTokens: 1,
          totalTokens: 12,
          cachedInputTokens: 0,
        },
      ],
    });
  });

  it('is left out when no agent reports usage', async () => {
    const plain: Agent = { id: 'plain', invoke: () => 'ok' };
    const result = await runOf([agentStage('a', plain)], [plain]);
    expect(result).not.toHaveProperty('usage');
  });

  it('keeps one row per model of the same agent, and one for calls that name none', async () => {
    let call = 0;
    const agent: Agent = {
      id: 'multi',
      invoke: (_: unknown, invocation: AgentInvocation) => {
        call++;
        invocation.usage(call === 2 ? { inputTokens: 1 } : { model: call === 1 ? 'a' : 'b', inputTokens: 1 });
        return call;
      },
    };
    const result = await runOf(
      [agentStage('x', agent), agentStage('y', agent), agentStage('z', agent)],
      [agent],
    );
    expect(result.usage?.byAgent.map((row) => [row.agent, row.model])).toEqual([
      ['multi', 'a'],
      ['multi', undefined],
      ['multi', 'b'],
    ]);
  });

  it('counts the calls of refinement rounds too', async () => {
    const writer = spendingAgent('writer', { inputTokens: 5, outputTokens: 5 }, (n) => `draft ${n}`);
    const final = predicateGate('final', (text: string) => text === 'draft 2');
    const result = await runOf([agentStage('a', writer, { gates: [final] })], [writer]);
    expect(result.output).toBe('draft 2');
    expect(result.usage).toMatchObject({ calls: 2, totalTokens: 20 });
  });

  it('is stored with the result', async () => {
    const memory = new InMemoryMemory();
    const writer = spendingAgent('writer', { inputTokens: 7 });
    const result = await runOf([agentStage('a', writer)], [writer], memory);
    expect((await memory.loadResult(result.runId))?.usage).toEqual(result.usage);
  });

  it.each([
    ['a negative count', { inputTokens: -1 }, 'inputTokens must be a whole number ≥ 0, got -1'],
    ['a fraction', { outputTokens: 1.5 }, 'outputTokens must be a whole number ≥ 0, got 1.5'],
    ['a count as text', { totalTokens: '3' }, 'totalTokens must be a whole number ≥ 0, got "3"'],
    ['NaN', { cachedInputTokens: Number.NaN }, 'cachedInputTokens must be a whole number ≥ 0, got NaN'],
    ['a model that is not text', { model: 42 }, 'model must be a string'],
  ])('fails the call that reports %s, naming the field and the stage', async (_, usage, message) => {
    const agent = spendingAgent('bad', usage as TokenUsage);
    const result = await runOf([agentStage('a', agent)], [agent]);
    expect(result.status).toBe('failed');
    expect(result.errors[0]?.message).toContain(`invocation.usage at m/a: ${message}`);
  });

  it('fails the call that reports something other than an object of counts', async () => {
    const agent = spendingAgent('bad', null as unknown as TokenUsage);
    const result = await runOf([agentStage('a', agent)], [agent]);
    expect(result.errors[0]?.message).toContain('invocation.usage at m/a expects an object of token counts');
  });
});

describe('the report', () => {
  it('shows a token usage table with a row per agent and model and the totals', async () => {
    const writer = spendingAgent('writer', { model: 'big', inputTokens: 100, outputTokens: 20 });
    const report = renderReport(await runOf([agentStage('a', writer)], [writer]));
    expect(report).toContain(
      [
        '## Token usage',
        '',
        '| agent | model | calls | input | output | total | cached input |',
        '|---|---|---|---|---|---|---|',
        '| `writer` | `big` | 1 | 100 | 20 | 120 | 0 |',
        '| **all** | | 1 | 100 | 20 | 120 | 0 |',
      ].join('\n'),
    );
  });

  it('has no usage section when no agent reported usage, or the stored usage is damaged', async () => {
    const plain: Agent = { id: 'plain', invoke: () => 'ok' };
    const result = await runOf([agentStage('a', plain)], [plain]);
    expect(renderReport(result)).not.toContain('Token usage');
    expect(renderReport({ ...result, usage: { byAgent: 'oops' } as never })).not.toContain('Token usage');
  });
});

describe('the cost of usage', () => {
  const priced = (prices: object, usage: TokenUsage) => {
    const agent = spendingAgent('w', usage);
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('a', agent), agentStage('b', agent)],
    });
    return new MacroOrchestrator({ agents: [agent], macros: [macro], prices: prices as never }).run('m', {
      intent: 'x',
    });
  };

  it('is priced per million tokens, cached input at its own price', async () => {
    const result = await priced(
      { big: { inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.3 } },
      { model: 'big', inputTokens: 1_000, cachedInputTokens: 400, outputTokens: 100 },
    );
    // per call: 600 × 3 + 400 × 0.3 + 100 × 15 = 3,420 per million
    expect(result.usage?.costUsd).toBeCloseTo(2 * 0.00342, 10);
    expect(result.usage?.byAgent[0]?.costUsd).toBeCloseTo(2 * 0.00342, 10);
    expect(renderReport(result)).toContain('Cost: $0.0068 (the calls on models with a price).');
  });

  it('is left out for models without a price', async () => {
    const result = await priced(
      { other: { inputPerMillion: 1, outputPerMillion: 1 } },
      { model: 'big', inputTokens: 5 },
    );
    expect(result.usage).not.toHaveProperty('costUsd');
    expect(result.usage?.byAgent[0]).not.toHaveProperty('costUsd');
  });

  it('does not take a price from the prototype of the price table', async () => {
    const result = await priced({}, { model: 'constructor', inputTokens: 5 });
    expect(result.usage).not.toHaveProperty('costUsd');
  });

  it('gives no price to models named toString, hasOwnProperty or __proto__ when the table has none', async () => {
    for (const model of ['toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      const result = await priced(
        { big: { inputPerMillion: 1, outputPerMillion: 1 } },
        { model, inputTokens: 5 },
      );
      expect(result.status).toBe('succeeded');
      expect(result.usage).not.toHaveProperty('costUsd');
    }
  });

  it('refuses a price that is NaN or Infinity, naming it', () => {
    for (const price of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        () =>
          new MacroOrchestrator({
            agents: [],
            macros: [],
            prices: { big: { inputPerMillion: 1, outputPerMillion: price } },
          }),
      ).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('prices.big.outputPerMillion'),
        }),
      );
    }
  });

  it('refuses a price that is not a number ≥ 0, naming it', () => {
    expect(
      () =>
        new MacroOrchestrator({
          agents: [],
          macros: [],
          prices: { big: { inputPerMillion: -1, outputPerMillion: 1 } },
        }),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('prices.big.inputPerMillion'),
      }),
    );
  });
});

describe('invocation.usage', () => {
  it('works taken off the invocation, as report does', async () => {
    const agent: Agent = {
      id: 'a',
      invoke: (_: unknown, { usage }: AgentInvocation) => {
        usage({ inputTokens: 5 });
        return 'ok';
      },
    };
    const result = await runOf([agentStage('s', agent)], [agent]);
    expect(result.usage?.totalTokens).toBe(5);
  });

  it('refuses a report it cannot read (a revoked proxy, a throwing getter), naming the field', async () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const throwing = {
      inputTokens: 1,
      get totalTokens(): number {
        throw new Error('no');
      },
    };
    for (const [usage, field] of [
      [revoked.proxy, 'inputTokens'],
      [throwing, 'totalTokens'],
    ] as const) {
      const agent = spendingAgent('bad', usage as TokenUsage);
      const result = await runOf([agentStage('a', agent)], [agent]);
      expect(result.errors[0]?.message).toContain(`invocation.usage at m/a: ${field} cannot be read`);
    }
  });
});
