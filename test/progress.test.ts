/**
 * `stage:progress`: what an agent reports arrives typed (a text delta, a tool call or
 * result, `custom` for anything else), with the attempt and the phase that made the call;
 * the engine emits each `invocation.usage` report as `usage` progress.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Agent,
  type AgentInvocation,
  agentStage,
  defineMacro,
  MacroOrchestrator,
  type ProgressEvent,
  parallel,
  predicateGate,
  retryableStage,
  type StageDefinition,
} from '../src/index.js';
import { progressData } from '../src/model/progress.js';
import { scriptedAgent } from './support/index.js';

function progressOf(stages: StageDefinition[], agents: Agent[]) {
  const macro = defineMacro({ name: 'm', description: 'd', stages: stages as [StageDefinition] });
  const run = new MacroOrchestrator({ agents, macros: [macro] }).run('m', { intent: 'x' });
  const events: ProgressEvent[] = [];
  run.on('stage:progress', (event) => events.push(event));
  return { run, events };
}

describe('progress data', () => {
  it.each([
    ['a text delta', { type: 'text-delta', text: 'Hel' }],
    ['a tool call', { type: 'tool-call', toolName: 'search', toolCallId: 'c1', input: { q: 'x' } }],
    ['a tool result', { type: 'tool-result', toolName: 'search', toolCallId: 'c1', output: [1] }],
    ['custom data', { type: 'custom', value: 42 }],
  ])('passes %s on as it is', (_, data) => {
    expect(progressData(data)).toEqual(data);
  });

  it('copies the fields it read once, so a value that changes later cannot change the kind', () => {
    let reads = 0;
    const shifty = {
      get type() {
        reads++;
        return reads === 1 ? 'text-delta' : 'usage';
      },
      text: 'Hel',
    };
    const data = progressData(shifty);
    expect(data).toEqual({ type: 'text-delta', text: 'Hel' });
    expect(data).not.toBe(shifty);
    expect(data.type).toBe('text-delta');
  });

  it.each([
    ['text', 'working'],
    ['a number', 3],
    ['null', null],
    ['an object of another shape', { token: 'x' }],
    ['a text delta whose text is not text', { type: 'text-delta', text: 5 }],
    ['a tool call without an id', { type: 'tool-call', toolName: 'search' }],
    ['usage, which only the engine emits', { type: 'usage', inputTokens: 500 }],
    ['custom without a value', { type: 'custom' }],
  ])('wraps %s as custom', (_, data) => {
    expect(progressData(data)).toEqual({ type: 'custom', value: data });
  });

  it('wraps a value it cannot read (a revoked proxy) as custom, without throwing', () => {
    const { proxy, revoke } = Proxy.revocable({ type: 'text-delta', text: 'x' }, {});
    revoke();
    const data = progressData(proxy);
    expect(data.type).toBe('custom');
    expect(data.type === 'custom' && data.value === proxy).toBe(true);
  });

  it('always gives one of the five kinds, and custom data holds what was reported', () => {
    fc.assert(
      fc.property(fc.anything(), (reported) => {
        const data = progressData(reported);
        expect(['text-delta', 'tool-call', 'tool-result', 'custom']).toContain(data.type);
        if (data.type === 'custom' && Object.is(data.value, reported)) return; // NaN too
        expect(reported).toMatchObject(data); // a well-formed kind: its fields, copied
      }),
    );
  });
});

describe('stage:progress events', () => {
  it('name the attempt and the phase that made the call', async () => {
    const writer = scriptedAgent('writer', (call, _input, { report }) => {
      report({ type: 'text-delta', text: `draft ${call}` });
      return `draft ${call}`;
    });
    const final = predicateGate('final', (text: string) => text === 'draft 2');
    const { run, events } = progressOf([agentStage('a', 'writer', { gates: [final] })], [writer]);
    expect((await run).status).toBe('succeeded');
    expect(events.map(({ attempt, phase, data }) => ({ attempt, phase, data }))).toEqual([
      { attempt: 1, phase: 'draft', data: { type: 'text-delta', text: 'draft 1' } },
      { attempt: 1, phase: 'refinement', data: { type: 'text-delta', text: 'draft 2' } },
    ]);
  });

  it('count a retried stage attempt by attempt', async () => {
    const flaky = scriptedAgent('flaky', (call, _input, { report }) => {
      report(`call ${call}`);
      if (call === 1) throw new Error('503');
      return 'ok';
    });
    const stage = retryableStage(agentStage('a', 'flaky'), { retries: 1, minDelayMs: 0, jitter: false });
    const { run, events } = progressOf([stage], [flaky]);
    expect((await run).status).toBe('succeeded');
    expect(events.map((event) => event.attempt)).toEqual([1, 2]);
  });

  it("have no phase for a Harmony judge's call", async () => {
    const judge: Agent = {
      id: 'judge',
      invoke: (_: unknown, { report }: AgentInvocation) => {
        report('judging');
        return { winner: 0, rationale: 'first' };
      },
    };
    const group = parallel('p', [agentStage('l', 'left'), agentStage('r', 'right')], {
      harmony: { strategy: 'judge', judge: 'judge' },
    });
    const { run, events } = progressOf(
      [group],
      [judge, scriptedAgent('left', () => 'L'), scriptedAgent('right', () => 'R')],
    );
    expect((await run).status).toBe('succeeded');
    expect(events).toMatchObject([
      { path: 'm/p', phase: undefined, data: { type: 'custom', value: 'judging' } },
    ]);
  });

  it('carry each usage report as usage data, with the counts as checked', async () => {
    const agent = scriptedAgent('writer', (_call, _input, invocation) => {
      invocation.usage({ model: 'mini', inputTokens: 10, outputTokens: 4 });
      return 'ok';
    });
    const { run, events } = progressOf([agentStage('a', 'writer')], [agent]);
    await run;
    expect(events.map((event) => event.data)).toEqual([
      {
        type: 'usage',
        model: 'mini',
        inputTokens: 10,
        outputTokens: 4,
        totalTokens: 14,
        cachedInputTokens: 0,
      },
    ]);
  });

  it('leave out usage reported after the call ended', async () => {
    let late: AgentInvocation['usage'] | undefined;
    const agent = scriptedAgent('writer', (_call, _input, invocation) => {
      late = invocation.usage;
      return 'ok';
    });
    const { run, events } = progressOf([agentStage('a', 'writer')], [agent]);
    await run;
    late?.({ inputTokens: 3 });
    expect(events).toEqual([]);
  });
});
