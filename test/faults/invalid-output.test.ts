import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentStage, defineMacro, judgeGate, retryableStage } from '../../src/index.js';
import {
  drive,
  ofType,
  okAgent,
  pairingProblems,
  scriptedAgent,
  start,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

const Summary = z.object({ title: z.string(), words: z.number().int() });

describe('an agent that returns garbage', () => {
  const macro = defineMacro({
    name: 'summarise',
    description: 'one typed stage',
    stages: [
      retryableStage(agentStage('summary', 'writer', { output: Summary }), { retries: 3, jitter: false }),
    ],
  });

  it('fails its stage with INVALID_AGENT_OUTPUT', async () => {
    const { run } = start([macro], [okAgent('writer', { title: 42 })]);
    const result = await drive(run);
    expect(result.status).toBe('failed');
    expect(result.stages['summarise/summary']?.error).toMatchObject({
      code: 'INVALID_AGENT_OUTPUT',
      message: expect.stringContaining('at title'),
    });
  });

  it('is not retried, even under a retry policy', async () => {
    const writer = okAgent('writer', 'not an object');
    const { run, events } = start([macro], [writer]);
    await drive(run);
    expect(writer.calls).toHaveLength(1);
    expect(ofType(events, 'retry')).toEqual([]);
  });

  it('is checked against the agent’s own schema when the stage declares none', async () => {
    const writer = { ...okAgent('writer', { title: 'x' }), output: Summary };
    const plain = defineMacro({
      name: 'plain',
      description: 'untyped stage',
      stages: [agentStage('s', 'writer')],
    });
    const result = await drive(start([plain], [writer]).run);
    expect(result.stages['plain/s']?.error?.code).toBe('INVALID_AGENT_OUTPUT');
  });

  it('passes the parsed output on, with schema defaults applied', async () => {
    const WithDefault = z.object({ title: z.string(), tags: z.array(z.string()).default([]) });
    const typed = defineMacro({
      name: 'typed',
      description: 'typed stage',
      stages: [agentStage('s', 'writer', { output: WithDefault })],
    });
    const result = await drive(start([typed], [okAgent('writer', { title: 't' })]).run);
    expect(result.status === 'succeeded' && result.output).toEqual({ title: 't', tags: [] });
  });

  it('keeps the event stream paired', async () => {
    const { run, events } = start([macro], [okAgent('writer', null)]);
    await drive(run);
    expect(pairingProblems(events)).toEqual([]);
  });
});

describe('a judge that returns garbage', () => {
  it('fails the judged stage with INVALID_AGENT_OUTPUT', async () => {
    const macro = defineMacro({
      name: 'judged',
      description: 'a judged stage',
      stages: [agentStage('draft', 'writer', { gates: [judgeGate('quality', 'judge', 0.5)] })],
    });
    const judge = scriptedAgent('judge', () => 'looks fine to me');
    const result = await drive(start([macro], [okAgent('writer', 'text'), judge]).run);
    expect(result.stages['judged/draft']?.error).toMatchObject({
      code: 'INVALID_AGENT_OUTPUT',
      message: expect.stringContaining('judge'),
    });
  });
});
