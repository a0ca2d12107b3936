/**
 * Suspend and resume with input: a stage waits for a person (an `approval`, or an agent
 * calling `invocation.suspend`), the run settles `suspended` keeping what finished, and
 * `resume(runId, { input })` goes on from there without running anything again.
 */

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Agent,
  agentStage,
  approval,
  defineMacro,
  forEach,
  InMemoryMemory,
  MacroOrchestrator,
  type MacroResult,
  parallel,
} from '../src/index.js';
import { recordEvents, scriptedAgent } from './support/index.js';

const Decision = z.object({ approved: z.boolean(), text: z.string() });

const review = defineMacro({
  name: 'review',
  description: 'draft, a person approves or edits it, publish',
  stages: [
    agentStage('draft', 'writer'),
    approval('sign-off', { prompt: 'Publish this draft?', schema: Decision }),
    agentStage('publish', 'publisher'),
  ],
});

function world(memory = new InMemoryMemory()) {
  const writer = scriptedAgent('writer', () => 'a draft');
  const publisher = scriptedAgent('publisher', (_n, decision) => {
    const { approved, text } = decision as z.infer<typeof Decision>;
    return approved ? `published: ${text}` : 'withdrawn';
  });
  const orchestrator = new MacroOrchestrator({ agents: [writer, publisher], macros: [review], memory });
  return { orchestrator, writer, publisher, memory };
}

const suspensionOf = (result: MacroResult) => (result.status === 'suspended' ? result.suspension : undefined);

describe('an approval stage', () => {
  it('suspends the run with its input and prompt, keeping what finished', async () => {
    const { orchestrator, publisher } = world();
    const run = orchestrator.run('review', { intent: 'x' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.status).toBe('suspended');
    expect(suspensionOf(result)).toEqual({
      path: 'review/sign-off',
      payload: { prompt: 'Publish this draft?', input: 'a draft' },
      token: expect.any(String),
    });
    expect(result.stages['review/draft']).toMatchObject({ status: 'succeeded', output: 'a draft' });
    expect(result.stages['review/sign-off']?.status).toBe('suspended');
    expect(publisher.calls).toHaveLength(0);
    expect(events.find((e) => e.type === 'suspended')).toMatchObject({
      path: 'review/sign-off',
      token: suspensionOf(result)?.token,
    });
    expect(events.at(-1)).toMatchObject({ type: 'run:end', status: 'suspended' });
  });

  it('is found by listRuns({ status: suspended })', async () => {
    const { orchestrator, memory } = world();
    const { runId } = await orchestrator.run('review', { intent: 'x' });
    expect((await memory.listRuns({ status: 'suspended' })).map((r) => r.runId)).toEqual([runId]);
  });

  it('resumed with input, outputs it and goes on without running the finished stages again', async () => {
    const { orchestrator, writer, publisher, memory } = world();
    const { runId } = await orchestrator.run('review', { intent: 'x' });
    const result = await orchestrator.resume(runId, { input: { approved: true, text: 'edited draft' } });
    expect(result.status === 'succeeded' && result.output).toBe('published: edited draft');
    expect(writer.calls).toHaveLength(1);
    expect(publisher.calls).toHaveLength(1);
    expect(result.stages['review/sign-off']).toMatchObject({
      status: 'succeeded',
      output: { approved: true, text: 'edited draft' },
    });
    expect(await memory.listRuns({ status: 'suspended' })).toEqual([]);
  });

  it('refuses input its schema rejects with INVALID_RESUME_INPUT, and the run stays suspended', async () => {
    const { orchestrator, memory } = world();
    const { runId } = await orchestrator.run('review', { intent: 'x' });
    await expect(orchestrator.resume(runId, { input: { approved: 'yes' } })).rejects.toMatchObject({
      code: 'INVALID_RESUME_INPUT',
      path: 'review/sign-off',
      message: expect.stringContaining('approved'),
    });
    expect((await memory.listRuns({ status: 'suspended' })).map((r) => r.runId)).toEqual([runId]);
    const result = await orchestrator.resume(runId, { input: { approved: false, text: '' } });
    expect(result.status === 'succeeded' && result.output).toBe('withdrawn');
  });

  it('refuses a resume without input, which would answer for the person', async () => {
    const { orchestrator } = world();
    const { runId } = await orchestrator.run('review', { intent: 'x' });
    await expect(orchestrator.resume(runId)).rejects.toMatchObject({
      code: 'INVALID_RESUME_INPUT',
      message:
        'Cannot resume the run suspended at review/sign-off: it waits for input; pass resume(runId, { input })',
    });
  });

  it('refuses a token that names another suspension', async () => {
    const { orchestrator } = world();
    const { runId } = await orchestrator.run('review', { intent: 'x' });
    await expect(
      orchestrator.resume(runId, { input: { approved: true, text: 't' }, token: 'not-this-one' }),
    ).rejects.toMatchObject({ code: 'INVALID_RESUME_INPUT' });
  });

  it('refuses input for a run that waits for none', async () => {
    const { orchestrator } = world();
    const done = await orchestrator.resume((await orchestrator.run('review', { intent: 'x' })).runId, {
      input: { approved: true, text: 't' },
    });
    expect(done.status).toBe('succeeded');
    await expect(orchestrator.resume(done.runId, { input: 'more' })).rejects.toMatchObject({
      code: 'INVALID_RESUME_INPUT',
      message: expect.stringContaining('is succeeded, not suspended'),
    });
  });

  it('resumed, ends at once: one in a forEach ends before the next element starts', async () => {
    const macro = defineMacro({
      name: 'each',
      description: 'one approval per element',
      stages: [forEach('fe', approval('ok'), { items: () => [1, 2] })],
    });
    const orchestrator = new MacroOrchestrator({ agents: [], macros: [macro], memory: new InMemoryMemory() });
    const { runId } = await orchestrator.run('each', { intent: 'i' });
    const resumed = orchestrator.resume(runId, { input: 'yes' });
    const events = recordEvents(resumed);
    await resumed;
    const order = events
      .filter((e) => (e.type === 'stage:start' || e.type === 'stage:end') && e.path !== 'each/fe')
      .map((e) => `${e.type} ${e.path}`);
    expect(order.slice(0, 3)).toEqual([
      'stage:start each/fe[0]',
      'stage:end each/fe[0]',
      'stage:start each/fe[1]',
    ]);
  });

  it('is cancelled for good when resumed already cancelled', async () => {
    const { orchestrator, memory, publisher } = world();
    const { runId } = await orchestrator.run('review', { intent: 'x' });
    const result = await orchestrator.resume(runId, {
      input: { approved: true, text: 't' },
      signal: AbortSignal.abort('no longer needed'),
    });
    expect(result.status).toBe('cancelled');
    expect(publisher.calls).toHaveLength(0);
    expect(await memory.listRuns({ status: 'suspended' })).toEqual([]);
  });
});

describe('an agent that suspends', () => {
  it('is called again on resume, with the input in invocation.resumed', async () => {
    const seen: unknown[] = [];
    const asker: Agent = {
      id: 'asker',
      invoke: (question: string, invocation) => {
        seen.push(invocation.resumed);
        if (invocation.resumed === undefined) invocation.suspend({ question });
        return `answer: ${String(invocation.resumed?.input)}`;
      },
    };
    const macro = defineMacro({ name: 'ask', description: 'd', stages: [agentStage('q', 'asker')] });
    const orchestrator = new MacroOrchestrator({ agents: [asker], macros: [macro] });
    const first = await orchestrator.run('ask', { intent: 'x' }, { input: 'why?' });
    expect(suspensionOf(first)?.payload).toEqual({ question: 'why?' });
    const result = await orchestrator.resume(first.runId, { input: 'because' });
    expect(result.status === 'succeeded' && result.output).toBe('answer: because');
    expect(seen).toEqual([undefined, { path: 'ask/q', input: 'because' }]);
  });

  it('cannot suspend the run once its call has ended', async () => {
    let later!: (payload?: unknown) => never;
    const leaver: Agent = {
      id: 'leaver',
      invoke: (_: unknown, invocation) => {
        later = invocation.suspend;
        return 'done';
      },
    };
    const macro = defineMacro({ name: 'late', description: 'd', stages: [agentStage('q', 'leaver')] });
    const result = await new MacroOrchestrator({ agents: [leaver], macros: [macro] }).run('late', {
      intent: 'x',
    });
    expect(result.status).toBe('succeeded');
    expect(() => later('too late')).toThrow('The call at late/q has ended: it can no longer suspend the run');
  });

  it("fails the stage that calls an ended call's suspend, as nothing would wait", async () => {
    let stale!: (payload?: unknown) => never;
    const first: Agent = {
      id: 'first',
      invoke: (_: unknown, invocation) => {
        stale = invocation.suspend;
        return 'done';
      },
    };
    const second: Agent = { id: 'second', invoke: () => stale('too late') };
    const macro = defineMacro({
      name: 'late',
      description: 'd',
      stages: [agentStage('a', 'first'), agentStage('b', 'second')],
    });
    const result = await new MacroOrchestrator({ agents: [first, second], macros: [macro] }).run('late', {
      intent: 'x',
    });
    expect(result).toMatchObject({ status: 'failed', error: { code: 'SUSPENDED', path: 'late/a' } });
    expect(result.stages['late/b']?.status).toBe('failed');
    expect('suspension' in result).toBe(false);
  });

  it('stops its siblings in flight, which run again on resume', async () => {
    let slowCalls = 0;
    const slow: Agent = {
      id: 'slow',
      invoke: (_: unknown, { signal }) => {
        slowCalls += 1;
        return new Promise((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
          setTimeout(() => resolve('slow done'), 5);
        });
      },
    };
    const asker: Agent = {
      id: 'asker',
      invoke: (_: unknown, invocation) => (invocation.resumed ? 'ok' : invocation.suspend('?')),
    };
    const macro = defineMacro({
      name: 'both',
      description: 'd',
      stages: [parallel('p', [agentStage('s', 'slow'), agentStage('a', 'asker')])],
    });
    const orchestrator = new MacroOrchestrator({ agents: [asker, slow], macros: [macro] });
    const first = await orchestrator.run('both', { intent: 'x' });
    expect(first.status).toBe('suspended');
    expect(first.stages['both/p/s']?.status).toBe('suspended');
    const result = await orchestrator.resume(first.runId, { input: 'go' });
    expect(result.status === 'succeeded' && result.output).toEqual(['slow done', 'ok']);
    expect(slowCalls).toBe(2);
  });
});

describe('suspension, at the edges', () => {
  it('refuses input for a run still running in this process, as from a suspended listener', async () => {
    const { orchestrator } = world();
    const run = orchestrator.run('review', { intent: 'x' });
    let refused: unknown;
    run.on('suspended', () => {
      try {
        orchestrator.resume(run.runId, { input: { approved: true, text: 't' } });
      } catch (error) {
        refused = error;
      }
    });
    await run;
    expect(refused).toMatchObject({
      code: 'INVALID_RESUME_INPUT',
      message: expect.stringContaining('still running here'),
    });
  });

  it("checks the input against the schema of an approval in the run's fallback macro", async () => {
    const primary = defineMacro({
      name: 'primary',
      description: 'd',
      fallback: 'manual',
      stages: [agentStage('a', 'broken')],
    });
    const manual = defineMacro({
      name: 'manual',
      description: 'd',
      stages: [approval('approve', { schema: z.object({ ok: z.literal(true) }) })],
    });
    const broken: Agent = {
      id: 'broken',
      invoke: () => {
        throw Object.assign(new Error('down'), { isRetryable: false });
      },
    };
    const orchestrator = new MacroOrchestrator({ agents: [broken], macros: [primary, manual] });
    const first = await orchestrator.run('primary', { intent: 'x' });
    expect(suspensionOf(first)?.path).toBe('manual/approve');
    await expect(orchestrator.resume(first.runId, { input: { ok: false } })).rejects.toMatchObject({
      code: 'INVALID_RESUME_INPUT',
      path: 'manual/approve',
    });
  });

  it("waits for a slow memory's writes when the run suspends: its own abort does not cut them short", async () => {
    class SlowMemory extends InMemoryMemory {
      override async saveResult(result: MacroResult): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return super.saveResult(result);
      }
    }
    const memory = new SlowMemory();
    const { orchestrator } = world(memory);
    const result = await orchestrator.run('review', { intent: 'x' });
    expect(result.status).toBe('suspended');
    expect(result.persistence).toBeUndefined();
    expect((await memory.loadResult(result.runId))?.status).toBe('suspended');
  });
});
