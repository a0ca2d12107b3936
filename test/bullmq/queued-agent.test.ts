/**
 * Agents whose calls run on an AgentWorker (here in this process, over the real Redis):
 * outputs, errors and their retryability, aborts, usage and progress come back as from a
 * local call.
 */
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentWorker, queuedAgent } from '../../src/bullmq.js';
import {
  type Agent,
  agentStage,
  defineAgent,
  defineMacro,
  MacroOrchestrator,
  retryableStage,
  type StageDefinition,
} from '../../src/index.js';
import { redis } from '../support/services.js';

const connection = await redis();
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** An AgentWorker serving `remote` on a queue of its own, and a run of one stage calling agent `id` through it. */
function served(remote: Agent[], id: string, stage: StageDefinition = agentStage('s', id)) {
  const queue = `mo-agents-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const worker = new AgentWorker({ connection: connection as never, queue, agents: remote, concurrency: 2 });
  const agent = queuedAgent(id, { connection: connection as never, queue });
  open.push(worker, agent);
  const macro = defineMacro({ name: 'm', description: 'one stage', stages: [stage] });
  return new MacroOrchestrator({ agents: [agent], macros: [macro] });
}

/** An agent invocation, as a stage makes one, with `extra` fields. */
function invocation(extra: Record<string, unknown> = {}): never {
  return {
    signal: new AbortController().signal,
    runId: 'x',
    path: 'm/s',
    attempt: 1,
    feedback: [],
    context: { intent: 'i', guidance: '', knowledge: [], metadata: {} },
    report() {},
    usage() {},
    ...extra,
  } as never;
}

describe.skipIf(connection === undefined)('queuedAgent on an AgentWorker', () => {
  it('returns the remote output to the stage', async () => {
    const o = served([defineAgent({ id: 'up', invoke: (s: string) => s.toUpperCase() })], 'up');
    expect(await o.run('m', { intent: 'go' }).result).toMatchObject({ status: 'succeeded', output: 'GO' });
  });

  it('answers every one of many quick calls made at once, with no listener leak warned of', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const o = served([defineAgent({ id: 'up', invoke: (s: string) => s.toUpperCase() })], 'up');
    const runs = Array.from({ length: 60 }, (_, i) => o.run('m', { intent: `x${i}` }).result);
    const results = await Promise.all(runs);
    process.off('warning', onWarning);
    expect(results.filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('gives the remote agent the run id, path and attempt of the call', async () => {
    const seen: string[] = [];
    const o = served(
      [defineAgent({ id: 'who', invoke: (_: unknown, call) => seen.push(`${call.path}#${call.attempt}`) })],
      'who',
    );
    await o.run('m', { intent: 'go' }).result;
    expect(seen).toEqual(['m/s#1']);
  });

  it('retries a remote error that is retryable, as the stage policy says', async () => {
    let calls = 0;
    const flaky = defineAgent({
      id: 'flaky',
      invoke: () => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('busy'), { statusCode: 503 });
        return 'ok';
      },
    });
    const o = served(
      [flaky],
      'flaky',
      retryableStage(agentStage('s', 'flaky'), { retries: 2, minDelayMs: 1 }),
    );
    const result = await o.run('m', { intent: 'go' }).result;
    expect([result.status, result.stages['m/s']?.attempts, calls]).toEqual(['succeeded', 2, 2]);
  });

  it('does not retry a remote error that is not retryable, and keeps its message', async () => {
    let calls = 0;
    const bad = defineAgent({
      id: 'bad',
      invoke: () => {
        calls += 1;
        throw Object.assign(new Error('invalid request'), { statusCode: 400 });
      },
    });
    const o = served([bad], 'bad', retryableStage(agentStage('s', 'bad'), { retries: 2, minDelayMs: 1 }));
    const result = await o.run('m', { intent: 'go' }).result;
    expect([result.status, calls, result.status === 'failed' && result.error.message]).toEqual([
      'failed',
      1,
      expect.stringContaining('invalid request'),
    ]);
  });

  it("aborts the remote call when the stage's timeout passes", async () => {
    let aborted: (reason: unknown) => void = () => {};
    const sawAbort = new Promise<unknown>((resolve) => {
      aborted = resolve;
    });
    const slow = defineAgent({
      id: 'slow',
      invoke: (_: unknown, call) =>
        new Promise((_, reject) => {
          call.signal.addEventListener('abort', () => {
            aborted(call.signal.reason);
            reject(call.signal.reason);
          });
        }),
    });
    const o = served([slow], 'slow', agentStage('s', 'slow', { timeoutMs: 300 }));
    const result = await o.run('m', { intent: 'go' }).result;
    expect(result.status).toBe('partial');
    await expect(sawAbort).resolves.toMatchObject({ code: 'CANCELLED' });
  });

  it('fails the call of an agent the worker does not have with AGENT_NOT_FOUND, unretried', async () => {
    const o = served([], 'ghost', retryableStage(agentStage('s', 'ghost'), { retries: 2, minDelayMs: 1 }));
    const result = await o.run('m', { intent: 'go' }).result;
    expect([result.status, result.stages['m/s']?.attempts]).toEqual(['failed', 1]);
    expect(result.status === 'failed' && result.error.message).toContain(
      'No agent "ghost" on this AgentWorker',
    );
  });

  it('refuses a suspend from a queued call', async () => {
    const o = served(
      [defineAgent({ id: 'asks', invoke: (_: unknown, call) => call.suspend('ok?') })],
      'asks',
    );
    const result = await o.run('m', { intent: 'go' }).result;
    expect(result.status === 'failed' && result.error.message).toContain(
      'cannot suspend a run from a queued call',
    );
  });

  it('gives the remote agent the phase and previous output of a call, under a rate limit', async () => {
    const queue = `mo-agents-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const seen: unknown[] = [];
    const remote = defineAgent({
      id: 'r',
      invoke: (_: unknown, call) => seen.push([call.phase, call.previous]),
    });
    const worker = new AgentWorker({
      connection: connection as never,
      queue,
      agents: [remote],
      limiter: { max: 100, duration: 1_000 },
    });
    const agent = queuedAgent('r', { connection: connection as never, queue });
    open.push(worker, agent);
    await agent.invoke('in', invocation({ attempt: 2, phase: 'refinement', previous: 'draft 1' }));
    expect(seen).toEqual([['refinement', 'draft 1']]);
  });

  it('sends a call without a phase or previous output without them', async () => {
    const queue = `mo-agents-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const seen: unknown[] = [];
    const remote = defineAgent({
      id: 'r',
      invoke: (_: unknown, call) => seen.push(['phase' in call, call.previous]),
    });
    const worker = new AgentWorker({ connection: connection as never, queue, agents: [remote] });
    const agent = queuedAgent('r', { connection: connection as never, queue });
    open.push(worker, agent);
    await agent.invoke('in', invocation());
    expect(seen).toEqual([[true, undefined]]);
  });

  it('passes on only progress that carries a report', async () => {
    const queue = `mo-agents-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const bare = new Worker(
      queue,
      async (job) => {
        await job.updateProgress(50);
        await job.updateProgress({ other: 1 });
        await job.updateProgress({ report: 'r' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        return { output: 'ok', usage: [] };
      },
      { connection: connection as never },
    );
    const agent = queuedAgent('b', { connection: connection as never, queue });
    open.push({ close: () => bare.close() }, agent);
    const reports: unknown[] = [];
    expect(await agent.invoke('in', invocation({ report: (r: unknown) => reports.push(r) }))).toBe('ok');
    expect(reports).toEqual(['r']);
  });

  it('makes no job for a call already aborted', async () => {
    const agent = queuedAgent('x', {
      connection: connection as never,
      queue: 'mo-never-served',
      description: 'remote x',
    });
    open.push(agent);
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(agent.invoke('in', { signal: controller.signal } as never)).rejects.toThrow('gone');
    expect(agent.description).toBe('remote x');
  });

  it('counts the usage the remote agent reports in the run', async () => {
    const metered = defineAgent({
      id: 'metered',
      invoke: (_: unknown, call) => {
        call.usage({ inputTokens: 10, outputTokens: 5 });
        return 'ok';
      },
    });
    const o = served([metered], 'metered');
    const result = await o.run('m', { intent: 'go' }).result;
    expect(result.usage).toMatchObject({ inputTokens: 10, outputTokens: 5 });
  });

  it("delivers the remote agent's progress reports as progress events", async () => {
    const chatty = defineAgent({
      id: 'chatty',
      invoke: async (_: unknown, call) => {
        call.report('half way');
        await new Promise((resolve) => setTimeout(resolve, 100));
        return 'ok';
      },
    });
    const o = served([chatty], 'chatty');
    const run = o.run('m', { intent: 'go' });
    const progress: unknown[] = [];
    run.on('stage:progress', (event) => progress.push(event.data));
    await run.result;
    expect(progress).toEqual([{ type: 'custom', value: 'half way' }]);
  });
});
