import { describe, expect, it } from 'vitest';
import { AgentError, agentStage, defineMacro, isMacroError, MacroError, sequence } from '../../src/index.js';
import {
  drive,
  ofType,
  okAgent,
  pairingProblems,
  scriptedAgent,
  start,
  throwingAgent,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

const oneStage = defineMacro({
  name: 'one',
  description: 'one agent',
  stages: [agentStage('work', 'worker')],
});

describe('an agent that throws', () => {
  it('fails its stage with AGENT_FAILED and the run with status failed', async () => {
    const { run } = start([oneStage], [throwingAgent('worker', new Error('model overloaded'))]);
    const result = await drive(run);
    expect(result.status).toBe('failed');
    expect(result.stages['one/work']).toMatchObject({ status: 'failed', error: { code: 'AGENT_FAILED' } });
  });

  it('keeps the thrown error as the cause of the recorded error', async () => {
    const { run } = start([oneStage], [throwingAgent('worker', new RangeError('model overloaded'))]);
    const result = await drive(run);
    expect(result.status === 'failed' && result.error.cause).toMatchObject({
      name: 'RangeError',
      message: 'model overloaded',
    });
  });

  it('fails the same way when it throws synchronously or rejects', async () => {
    const sync = await drive(start([oneStage], [throwingAgent('worker', new Error('boom'))]).run);
    const rejecting = scriptedAgent('worker', async () => {
      throw new Error('boom');
    });
    const async = await drive(start([oneStage], [rejecting]).run);
    expect(async.stages['one/work']?.error).toEqual(sync.stages['one/work']?.error);
  });

  it('stops the sequence: later stages never start', async () => {
    const later = okAgent('later');
    const macro = defineMacro({
      name: 'seq',
      description: 'two stages',
      stages: [agentStage('first', 'worker'), agentStage('second', 'later')],
    });
    const { run, events } = start([macro], [throwingAgent('worker', new Error('boom')), later]);
    await drive(run);
    expect(later.calls).toHaveLength(0);
    expect(ofType(events, 'stage:start').map((e) => e.path)).toEqual(['seq/first']);
  });

  it('closes every started stage and phase with exactly one end event', async () => {
    const macro = defineMacro({
      name: 'nested',
      description: 'a failing stage inside a sequence',
      stages: [sequence('outer', [agentStage('ok', 'fine'), agentStage('bad', 'worker')])],
    });
    const { run, events } = start([macro], [okAgent('fine'), throwingAgent('worker', new Error('boom'))]);
    await drive(run);
    expect(pairingProblems(events)).toEqual([]);
  });
});

describe('an agent that throws something that is not an Error', () => {
  const nonErrors: Array<[string, unknown, string]> = [
    ['a string', 'rate limited', 'rate limited'],
    ['a number', 429, '429'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a plain object', { status: 503 }, '{"status":503}'],
    ['a symbol', Symbol('nope'), 'Symbol(nope)'],
  ];

  it.each(nonErrors)('fails its stage with AGENT_FAILED when it throws %s', async (_what, value, text) => {
    const { run } = start([oneStage], [throwingAgent('worker', value)]);
    const result = await drive(run);
    expect(result.status).toBe('failed');
    expect(result.stages['one/work']?.error).toMatchObject({
      code: 'AGENT_FAILED',
      message: expect.stringContaining(text),
    });
  });

  it('records the thrown value as a NonError cause', async () => {
    const { run } = start([oneStage], [throwingAgent('worker', { status: 503 })]);
    const result = await drive(run);
    expect(result.stages['one/work']?.error?.cause).toEqual({
      name: 'NonError',
      code: 'UNKNOWN',
      message: '{"status":503}',
    });
  });

  it('fails its stage when it rejects with a non-Error', async () => {
    const agent = scriptedAgent('worker', () => Promise.reject('quota exceeded'));
    const result = await drive(start([oneStage], [agent]).run);
    expect(result.stages['one/work']?.error?.message).toContain('quota exceeded');
  });

  it('produces a result that survives JSON serialisation', async () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    const result = await drive(start([oneStage], [throwingAgent('worker', cyclic)]).run);
    expect(() => JSON.stringify(result)).not.toThrow();
    expect(result.status).toBe('failed');
  });

  it('wraps the value in an AgentError that keeps it as cause', async () => {
    const thrown = { status: 503 };
    const { run, orchestrator } = start([oneStage], [throwingAgent('worker', thrown)]);
    const result = await drive(run);
    const error = new AgentError('worker', 'one/work', thrown);
    expect(isMacroError(error) && error.cause).toBe(thrown);
    expect(result.stages['one/work']?.error?.message).toBe(error.message);
    expect(await orchestrator.loadResult(result.runId)).toBeDefined();
  });
});

describe('an agent that returns a broken thenable', () => {
  it('fails its stage when reading `then` throws', async () => {
    const agent = scriptedAgent('worker', () => {
      const broken = {};
      Object.defineProperty(broken, 'then', {
        get() {
          throw new Error('then getter exploded');
        },
      });
      return broken;
    });
    const result = await drive(start([oneStage], [agent]).run);
    expect(result.stages['one/work']?.error).toMatchObject({
      code: 'AGENT_FAILED',
      message: expect.stringContaining('then getter exploded'),
    });
  });

  it('fails its stage when its `then` throws', async () => {
    const agent = scriptedAgent('worker', () => ({
      // biome-ignore lint/suspicious/noThenProperty: a deliberately broken thenable.
      then() {
        throw new Error('then exploded');
      },
    }));
    const result = await drive(start([oneStage], [agent]).run);
    expect(result.stages['one/work']?.error?.message).toContain('then exploded');
  });

  it('lets a MacroError thrown by the agent through unchanged', async () => {
    const own = new MacroError('STAGE_FAILED', 'the tool refused', { retryable: false });
    const result = await drive(start([oneStage], [throwingAgent('worker', own)]).run);
    expect(result.stages['one/work']?.error).toMatchObject({
      code: 'STAGE_FAILED',
      message: 'the tool refused',
    });
  });
});
