/**
 * `aiAgent`, `judgeAgent` and `aiJudgeGate` given options they cannot use: refused when the
 * agent is built, by name, instead of failing inside every run that calls it.
 */
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { aiAgent, aiJudgeGate, defaultPrompt, judgeAgent } from '../../src/ai-sdk.js';
import { thrownBy } from '../support/index.js';

const model = new MockLanguageModelV3({ modelId: 'mock-model' });

const refusal = (message: string) =>
  expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(message) });

describe('aiAgent options', () => {
  it('takes a language model object or a model id for the global provider', () => {
    expect(aiAgent({ id: 'a', model }).id).toBe('a');
    expect(aiAgent({ id: 'b', model: 'openai/gpt-4.1' }).id).toBe('b');
  });

  it('refuses a model that is no model id and no language model', () => {
    for (const bad of [42, '', {}, { specificationVersion: 'v3' }, [model], () => model]) {
      expect(thrownBy(() => aiAgent({ id: 'w', model: bad as never }))).toEqual(
        refusal('"model" in aiAgent "w"'),
      );
    }
  });

  it('refuses a streaming agent whose model cannot stream', () => {
    const generateOnly = { specificationVersion: 'v3', doGenerate: () => undefined };
    expect(() => aiAgent({ id: 'w', model: generateOnly as never })).not.toThrow();
    expect(thrownBy(() => aiAgent({ id: 'w', model: generateOnly as never, stream: true }))).toEqual(
      refusal('doStream'),
    );
  });

  it('refuses a model that is a revoked proxy, with the TypeError as the cause', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrownBy(() => aiAgent({ id: 'w', model: proxy as never }))).toMatchObject({
      code: 'INVALID_OPTIONS',
      cause: expect.any(TypeError),
    });
  });

  it('refuses a temperature that is no finite number from 0, naming it', () => {
    for (const temperature of [Number.NaN, -1, Number.POSITIVE_INFINITY, '0.5']) {
      expect(thrownBy(() => aiAgent({ id: 'w', model, temperature: temperature as never }))).toEqual(
        refusal('"temperature"'),
      );
    }
  });

  it('refuses a maxOutputTokens that is no integer from 1, naming it', () => {
    for (const maxOutputTokens of [-5, 0, 1.5, Number.NaN, '100']) {
      expect(thrownBy(() => aiAgent({ id: 'w', model, maxOutputTokens: maxOutputTokens as never }))).toEqual(
        refusal('"maxOutputTokens"'),
      );
    }
  });

  it('refuses an option it does not know, naming it and the ones it knows', () => {
    expect(thrownBy(() => aiAgent({ id: 'w', model, maxTokens: 100 } as never))).toEqual(
      refusal('Unknown option "maxTokens" in aiAgent options (known: id, model'),
    );
  });

  it('refuses options of the wrong kind: system, prompt, stream, tools, telemetry, output', () => {
    const cases: [string, unknown][] = [
      ['system', 42],
      ['prompt', 'Summarise'],
      ['stream', 'yes'],
      ['tools', 42],
      ['telemetry', true],
      ['output', 'string'],
      ['description', 3],
    ];
    for (const [name, value] of cases) {
      expect(thrownBy(() => aiAgent({ id: 'w', model, [name]: value }))).toEqual(refusal(`"${name}"`));
    }
  });

  it('refuses options whose getter throws, with its error as the cause', () => {
    const boom = new Error('boom');
    const options = {
      id: 'w',
      model,
      get temperature(): number {
        throw boom;
      },
    };
    expect(thrownBy(() => aiAgent(options))).toMatchObject({ code: 'INVALID_OPTIONS', cause: boom });
  });

  it('refuses options that are no object', () => {
    for (const options of [null, undefined, 42, 'w']) {
      expect(thrownBy(() => aiAgent(options as never))).toEqual(
        refusal('Expected aiAgent options to be an object'),
      );
    }
  });
});

describe('judge options', () => {
  it('judgeAgent refuses a model, temperature or key it cannot use, naming itself', () => {
    expect(thrownBy(() => judgeAgent({ id: 'j', model: 42 as never }))).toEqual(refusal('judgeAgent "j"'));
    expect(thrownBy(() => judgeAgent({ id: 'j', model, temperature: Number.NaN }))).toEqual(
      refusal('"temperature" in judgeAgent "j"'),
    );
    expect(thrownBy(() => judgeAgent({ id: 'j', model, threshold: 3 } as never))).toEqual(
      refusal('Unknown option "threshold" in judgeAgent options'),
    );
  });

  it('aiJudgeGate refuses no model, an unknown key, or an empty agentId', () => {
    const gate = { id: 'g', criteria: 'Cites sources', threshold: 7 };
    expect(thrownBy(() => aiJudgeGate({ ...gate, model: undefined as never }))).toEqual(
      refusal('aiJudgeGate "g" expects a `model`'),
    );
    expect(thrownBy(() => aiJudgeGate({ ...gate, model, description: 'd' } as never))).toEqual(
      refusal('Unknown option "description" in aiJudgeGate options'),
    );
    expect(thrownBy(() => aiJudgeGate({ ...gate, model, agentId: '' }))).toEqual(refusal('agentId'));
  });

  it('refuses judge options that are a revoked proxy, with the TypeError as the cause', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrownBy(() => judgeAgent(proxy as never))).toMatchObject({
      code: 'INVALID_OPTIONS',
      cause: expect.any(TypeError),
    });
  });
});

describe('defaultPrompt given no invocation', () => {
  it('refuses null, an object without feedback and a revoked proxy, naming itself', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const invocation of [null, undefined, {}, { feedback: 'none' }, proxy]) {
      expect(thrownBy(() => defaultPrompt('x', invocation as never))).toEqual(
        refusal('defaultPrompt expects an AgentInvocation'),
      );
    }
  });
});
