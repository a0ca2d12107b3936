import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  agentStage,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  type MemoryAdapter,
  type OrchestratorOptions,
} from '../../src/index.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { drive, flakyMemory, ofType, okAgent, scriptedAgent, start, useFakeClock } from '../support/index.js';

useFakeClock();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sqlite(): SqliteMemory {
  const dir = mkdtempSync(join(tmpdir(), 'unstorable-'));
  dirs.push(dir);
  return new SqliteMemory(join(dir, 'runs.db'));
}

/** `a` returns a value JSON cannot store; `b` and `c` return plain text. */
const poisoned = defineMacro({
  name: 'poisoned',
  description: 'a stage whose output holds a BigInt, then two plain ones',
  stages: [agentStage('a', 'big'), agentStage('b', 'plain'), agentStage('c', 'plain')],
});

const big = () => okAgent('big', { n: 10n });
const plain = () => scriptedAgent('plain', (n) => `plain-${n}`);

function orchestratorWith(memory: MemoryAdapter, options: OrchestratorOptions = {}) {
  return new MacroOrchestrator({
    agents: [big(), plain()],
    macros: [poisoned],
    memory,
    durability: 'sync',
    persistenceRetry: { retries: 0 },
    ...options,
  });
}

describe('a stage whose output JSON cannot store', () => {
  it('does not keep the later stages from being checkpointed', async () => {
    const memory = sqlite();
    const orchestrator = orchestratorWith(memory);
    const run = orchestrator.run('poisoned', { intent: 'x' });
    const loads: Promise<string[]>[] = [];
    run.on('stage:end', (event) => {
      if (event.path !== 'poisoned/c') return;
      loads.push(
        memory
          .loadRun(run.runId)
          .then((loaded) => loaded?.checkpoints.flatMap((c) => c.stages.map((s) => s.path)) ?? []),
      );
    });
    await drive(run);
    const stored = await Promise.all(loads);
    expect(stored[0]).toEqual(['poisoned/b', 'poisoned/c']);
  });

  it('is reported once, as a persistence:error naming its path', async () => {
    const orchestrator = orchestratorWith(sqlite());
    const run = orchestrator.run('poisoned', { intent: 'x' });
    const errors: Array<{ path: string; operation: string; code: string }> = [];
    run.on('persistence:error', (e) =>
      errors.push({ path: e.path, operation: e.operation, code: e.error.code }),
    );
    await drive(run);
    expect(errors.filter((e) => e.operation === 'saveCheckpoint')).toEqual([
      { path: 'poisoned/a', operation: 'saveCheckpoint', code: 'PERSISTENCE_FAILED' },
    ]);
  });

  it('keeps its value in the result the caller receives', async () => {
    const result = await drive(orchestratorWith(sqlite()).run('poisoned', { intent: 'x' }));
    expect(result.stages['poisoned/a']?.output).toEqual({ n: 10n });
    expect(result.status).toBe('succeeded');
  });

  it('marks the run finished in memory, with the result stored without that value', async () => {
    const memory = sqlite();
    const result = await drive(orchestratorWith(memory).run('poisoned', { intent: 'x' }));
    const stored = await memory.loadResult(result.runId);
    expect(stored?.status).toBe('succeeded');
    expect(stored?.stages['poisoned/a']).not.toHaveProperty('output');
    expect(stored?.stages['poisoned/b']?.output).toBe('plain-1');
    expect(stored?.persistence?.error.message).toContain('stages["poisoned/a"].output');
    expect(await memory.listRuns({ status: 'running' })).toEqual([]);
  });

  it('says in the result that the value was not stored', async () => {
    const result = await drive(orchestratorWith(sqlite()).run('poisoned', { intent: 'x' }));
    expect(result.persistence).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'PERSISTENCE_FAILED',
        message: expect.stringContaining('BigInt'),
      }),
    });
  });

  it("leaves no checkpoint behind a result stored without that value, under 'async' durability", async () => {
    const memory = sqlite();
    const result = await drive(
      orchestratorWith(memory, { durability: 'async' }).run('poisoned', { intent: 'x' }),
    );
    const stored = await memory.loadRun(result.runId);
    expect(stored?.result?.status).toBe('succeeded');
    expect(stored?.checkpoints).toEqual([]);
  });

  it('is not run again from scratch by resumeIncomplete()', async () => {
    const memory = sqlite();
    await drive(orchestratorWith(memory).run('poisoned', { intent: 'x' }));
    const restarted = orchestratorWith(memory);
    expect(await restarted.resumeIncomplete()).toEqual([]);
  });

  it('fails alone on the default in-memory adapter too', async () => {
    const memory = new InMemoryMemory();
    const result = await drive(orchestratorWith(memory).run('poisoned', { intent: 'x' }));
    expect((await memory.loadResult(result.runId))?.stages['poisoned/c']?.output).toBe('plain-2');
  });
});

describe('a result that cannot be saved', () => {
  /** An adapter whose every saveResult fails. */
  function unsaved() {
    return flakyMemory({ failures: { saveResult: Number.POSITIVE_INFINITY } });
  }
  const line = defineMacro({
    name: 'line',
    description: 'three plain stages',
    stages: [agentStage('a', 'plain'), agentStage('b', 'plain'), agentStage('c', 'plain')],
  });

  it("leaves every finished stage checkpointed under 'async' durability, so resume runs none again", async () => {
    const { memory } = unsaved();
    const first = new MacroOrchestrator({
      agents: [plain()],
      macros: [line],
      memory,
      persistenceRetry: { retries: 0 },
    });
    const result = await drive(first.run('line', { intent: 'x' }));
    expect(result.persistence?.ok).toBe(false);
    const again = plain();
    const second = new MacroOrchestrator({ agents: [again], macros: [line], memory });
    const resumed = await drive(second.resume(result.runId));
    expect(resumed.status).toBe('succeeded');
    expect(again.calls).toHaveLength(0);
  });

  it('emits a persistence:error for the audit trail and one for the result when both fail', async () => {
    const { memory } = flakyMemory({
      failures: { saveResult: Number.POSITIVE_INFINITY, appendAudit: Number.POSITIVE_INFINITY },
    });
    const failing = defineMacro({
      name: 'audited',
      description: 'a failing stage, so the run has an audit trail',
      stages: [agentStage('a', 'broken')],
    });
    const { run, events } = start(
      [failing],
      [scriptedAgent('broken', () => Promise.reject(new Error('boom')))],
      { orchestrator: { memory, persistenceRetry: { retries: 0 }, durability: 'sync' } },
    );
    await drive(run);
    expect(ofType(events, 'persistence:error').map((e) => e.operation)).toEqual([
      'appendAudit',
      'saveResult',
    ]);
  });
});

describe('memory writes that throw a TypeError', () => {
  it('are retried like any other failure', async () => {
    const { memory, calls } = flakyMemory({
      failures: { saveResult: 2 },
      error: () => new TypeError('Cannot read properties of undefined'),
    });
    const { run } = start([poisoned], [okAgent('big', 'fine'), plain()], {
      orchestrator: { memory, persistenceRetry: { retries: 3, minDelayMs: 1, jitter: false } },
    });
    const result = await drive(run);
    expect(calls['saveResult']).toBe(3);
    expect(result.persistence).toBeUndefined();
  });
});
