import { describe, expect, it } from 'vitest';
import {
  type Agent,
  agentStage,
  type Checkpoint,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  type MacroResult,
  type OrchestratorOptions,
  parallel,
  retryableStage,
  type StoredRun,
} from '../../src/index.js';
import { flakyAgent, recordEvents } from '../support/index.js';
import { agents, interrupted, spiedMemory } from './support.js';

const line = defineMacro({
  name: 'line',
  description: 'three stages in a row',
  stages: [agentStage('a', 'a'), agentStage('b', 'b'), agentStage('c', 'c')],
});

const fork = defineMacro({
  name: 'fork',
  description: 'two branches',
  stages: [parallel('p', [agentStage('l', 'l'), agentStage('r', 'r')])],
});

function orchestrate(options: Partial<OrchestratorOptions> = {}, memory = spiedMemory()) {
  const orchestrator = new MacroOrchestrator({
    agents: agents(new Map()),
    macros: [line, fork],
    memory: memory.memory,
    persistenceRetry: { retries: 0 },
    ...options,
  });
  return { orchestrator, ...memory };
}

/** The same agents, each waiting for the next turn of the event loop, as an agent waiting on I/O does. */
function slow(fast: readonly Agent[]): Agent[] {
  return fast.map((agent) => ({
    id: agent.id,
    invoke: (input, invocation) =>
      new Promise((resolve) => setImmediate(() => resolve(agent.invoke(input, invocation)))),
  }));
}

const written = (calls: unknown[][]) => calls.map((args) => args[1] as Checkpoint);
const paths = (cps: Checkpoint[]) => cps.map((cp) => cp.stages.map((s) => s.path));

describe('the start of a run', () => {
  it('is recorded in memory before its first stage starts', async () => {
    const { orchestrator, calls } = orchestrate();
    const run = orchestrator.run('line', { intent: 'go' }, { input: 'in' });
    const seen: number[] = [];
    run.on('stage:start', () => seen.push(calls('beginRun').length));
    await run;
    expect(seen[0]).toBe(1);
    expect(calls('beginRun')[0]?.[0]).toEqual({
      runId: run.runId,
      macro: 'line',
      context: { intent: 'go', guidance: '', knowledge: [], metadata: {} },
      input: 'in',
      startedAt: expect.any(Number),
    });
  });
});

describe("checkpoints with durability 'sync'", () => {
  const sync = { durability: 'sync' } as const;

  it('checkpoints each finished stage once, in the order the stages finish', async () => {
    const { orchestrator, calls } = orchestrate(sync);
    await orchestrator.run('line', { intent: 'go' });
    expect(paths(written(calls('saveCheckpoint')))).toEqual([['line/a'], ['line/b'], ['line/c']]);
  });

  it('stores each stage with its output', async () => {
    const { orchestrator, calls } = orchestrate(sync);
    await orchestrator.run('line', { intent: 'go' });
    expect(written(calls('saveCheckpoint'))[1]?.stages[0]).toMatchObject({
      path: 'line/b',
      status: 'succeeded',
      output: 'go>a>b',
      attempts: 1,
      agent: 'b',
    });
  });

  it('has stored the checkpoint when stage:end is emitted', async () => {
    const memory = new InMemoryMemory();
    const { orchestrator } = orchestrate(sync, spiedMemory(memory));
    const run = orchestrator.run('line', { intent: 'go' });
    let atEnd: Promise<StoredRun | undefined> | undefined;
    run.on('stage:end', (event) => {
      if (event.path === 'line/a') atEnd = memory.loadRun(run.runId);
    });
    await run;
    expect((await atEnd)?.checkpoints.flatMap((cp) => cp.stages.map((s) => s.path))).toEqual(['line/a']);
  });

  it('carries only what changed since the previous checkpoint', async () => {
    const { orchestrator, calls } = orchestrate(sync);
    await orchestrator.run('line', { intent: 'go' });
    const second = written(calls('saveCheckpoint'))[1] as Checkpoint;
    expect(new Set(second.timeline.map((entry) => entry.path))).toEqual(new Set(['line/b']));
  });

  it('stores audit records with the next checkpoint and not again at the end', async () => {
    const flaky = flakyAgent('flaky', 1, 'fine');
    const macro = defineMacro({
      name: 'flaky',
      description: 'a retried stage',
      stages: [retryableStage(agentStage('s', flaky), { retries: 1, minDelayMs: 0, jitter: false })],
    });
    const { memory, calls } = spiedMemory();
    const orchestrator = new MacroOrchestrator({ agents: [flaky], macros: [macro], memory, ...sync });
    const result = await orchestrator.run('flaky', { intent: 'go' });
    expect(calls('saveCheckpoint')[0]?.[2]).toMatchObject([{ kind: 'failure' }, { kind: 'retry' }]);
    expect(calls('appendAudit')).toEqual([]);
    expect((await memory.readAudit(result.runId)).map((r) => r.kind)).toEqual(['failure', 'retry']);
  });

  it('joins the branches that finish while a write is pending into one checkpoint', async () => {
    const { orchestrator, calls } = orchestrate(sync);
    await orchestrator.run('fork', { intent: 'go' });
    expect(paths(written(calls('saveCheckpoint')))).toEqual([['fork/p/l', 'fork/p/r'], ['fork/p']]);
  });
});

describe("checkpoints with durability 'async' (the default)", () => {
  it('writes no checkpoint for a run that finishes within one turn of the event loop', async () => {
    const { orchestrator, calls, memory } = orchestrate();
    const result = await orchestrator.run('line', { intent: 'go' });
    expect(calls('saveCheckpoint')).toEqual([]);
    expect((await memory.loadResult(result.runId))?.status).toBe('succeeded');
  });

  it('writes the stages that finished within one turn in one checkpoint', async () => {
    const { memory, calls } = spiedMemory();
    await interrupted(line, memory, new Map(), 'c');
    expect(paths(written(calls('saveCheckpoint')))).toEqual([['line/a', 'line/b']]);
  });

  it('has stored a finished stage once the next stage waits on I/O', async () => {
    const { orchestrator, calls } = orchestrate({ agents: slow(agents(new Map())) });
    await orchestrator.run('line', { intent: 'go' });
    expect(paths(written(calls('saveCheckpoint')))).toEqual([['line/a'], ['line/b']]);
  });

  it('does not make a stage wait for its checkpoint', async () => {
    const { orchestrator, calls } = orchestrate();
    const run = orchestrator.run('line', { intent: 'go' });
    const writesAtEnd: number[] = [];
    run.on('stage:end', () => writesAtEnd.push(calls('saveCheckpoint').length));
    await run;
    expect(writesAtEnd).toEqual([0, 0, 0]);
  });
});

describe('a checkpoint write that fails', () => {
  const sync = { durability: 'sync' } as const;

  it('does not fail the run', async () => {
    const { orchestrator, fail } = orchestrate(sync);
    fail('saveCheckpoint');
    const result = await orchestrator.run('line', { intent: 'go' });
    expect(result.status === 'succeeded' && result.output).toBe('go>a>b>c');
  });

  it('is reported in a persistence:error event', async () => {
    const { orchestrator, fail } = orchestrate(sync);
    fail('saveCheckpoint', 1);
    const run = orchestrator.run('line', { intent: 'go' });
    const events = recordEvents(run);
    await run;
    expect(events.filter((e) => e.type === 'persistence:error')).toMatchObject([
      { operation: 'saveCheckpoint', error: { code: 'PERSISTENCE_FAILED' } },
    ]);
  });

  it('is reported in the result, which memory holds too', async () => {
    const { orchestrator, fail } = orchestrate(sync);
    fail('saveCheckpoint', 1);
    const result = await orchestrator.run('line', { intent: 'go' });
    expect(result.persistence).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('saveCheckpoint') },
    });
    expect((await orchestrator.loadResult(result.runId))?.persistence).toEqual(result.persistence);
  });

  it('leaves its stages to the next checkpoint', async () => {
    const { orchestrator, fail, calls } = orchestrate(sync);
    fail('saveCheckpoint', 1);
    await orchestrator.run('line', { intent: 'go' });
    expect(paths(written(calls('saveCheckpoint')))).toEqual([['line/a'], ['line/a', 'line/b'], ['line/c']]);
  });
});

describe('a run that could not be begun in memory', () => {
  it('is not checkpointed', async () => {
    const { orchestrator, fail, calls } = orchestrate({ durability: 'sync' });
    fail('beginRun');
    await orchestrator.run('line', { intent: 'go' });
    expect(calls('saveCheckpoint')).toEqual([]);
  });

  it('still succeeds and reports why it cannot be resumed', async () => {
    const { orchestrator, fail } = orchestrate();
    fail('beginRun');
    const run = orchestrator.run('line', { intent: 'go' });
    const events = recordEvents(run);
    const result: MacroResult = await run;
    expect(result.status).toBe('succeeded');
    expect(events.filter((e) => e.type === 'persistence:error').map((e) => e.operation)).toEqual([
      'beginRun',
    ]);
    expect(result.persistence?.error.message).toContain('beginRun');
  });
});
