import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineMacro,
  InMemoryMemory,
  type MacroDefinition,
  MacroOrchestrator,
  type MacroResult,
  type MemoryAdapter,
  predicateGate,
  retryableStage,
} from '../src/index.js';
import { drive, flakyAgent, fnAgent } from './support/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});

const echo = fnAgent('echo', (x: unknown) => x);
const broken = flakyAgent('broken', Number.POSITIVE_INFINITY, 'never');
const ok = defineMacro({ name: 'ok', description: 'd', stages: [agentStage('a', echo)] });
const fails = defineMacro({ name: 'fails', description: 'd', stages: [agentStage('a', broken)] });
const rescued = defineMacro({
  name: 'rescued',
  description: 'd',
  fallback: 'ok',
  stages: [agentStage('a', broken)],
});

function orchestrate(macros: readonly MacroDefinition[] = [ok, fails, rescued], memory?: MemoryAdapter) {
  return new MacroOrchestrator({
    agents: [echo, broken],
    macros,
    random: () => 0,
    ...(memory === undefined ? {} : { memory }),
  });
}

const json = (result: MacroResult<unknown>) => JSON.parse(JSON.stringify(result));

describe('results in memory', () => {
  it('holds the result, as JSON, when the run resolves', async () => {
    const orchestrator = orchestrate();
    const result = await drive(orchestrator.run('ok', { intent: 'remember me' }));
    expect(await orchestrator.loadResult(result.runId)).toEqual(json(result));
  });

  it('holds the result of a failed run too', async () => {
    const orchestrator = orchestrate();
    const result = await drive(orchestrator.run('fails', { intent: 'x' }));
    expect(result.status).toBe('failed');
    expect(await orchestrator.loadResult(result.runId)).toEqual(json(result));
  });

  it('has saved the result before run:end is emitted', async () => {
    const orchestrator = orchestrate();
    const run = orchestrator.run('ok', { intent: 'x' });
    let atRunEnd: Promise<MacroResult | undefined> | undefined;
    run.on('run:end', (event) => {
      atRunEnd = orchestrator.memory.loadResult(event.runId);
    });
    const result = await drive(run);
    expect(await atRunEnd).toEqual(json(result));
  });

  it('saves into an injected adapter', async () => {
    const memory = new InMemoryMemory();
    const orchestrator = orchestrate([ok], memory);
    const result = await drive(orchestrator.run('ok', { intent: 'x' }));
    expect(await memory.loadResult(result.runId)).toEqual(json(result));
  });

  it('returns undefined for a run it never saw', async () => {
    expect(await orchestrate().loadResult('no-such-run')).toBeUndefined();
  });

  it('keeps every finished stage output in the stored result', async () => {
    const macro = defineMacro({
      name: 'two',
      description: 'd',
      stages: [
        agentStage('a', echo),
        agentStage(
          'b',
          fnAgent('len', (s: string) => s.length),
        ),
      ],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [echo, fnAgent('len', (s: string) => s.length)],
      macros: [macro],
    });
    const result = await drive(orchestrator.run('two', { intent: 'hello' }));
    const stored = await orchestrator.loadResult(result.runId);
    expect(stored?.stages['two/a']?.output).toBe('hello');
    expect(stored?.stages['two/b']?.output).toBe(5);
  });

  it('reports a result it could not save in the result and in an event', async () => {
    const memory = new InMemoryMemory();
    memory.saveResult = () => Promise.reject(new Error('disk full'));
    const orchestrator = new MacroOrchestrator({
      agents: [echo],
      macros: [ok],
      memory,
      persistenceRetry: { retries: 1, minDelayMs: 1, jitter: false },
    });
    const run = orchestrator.run('ok', { intent: 'x' });
    const failures: string[] = [];
    run.on('persistence:error', (event) => failures.push(event.error.message));
    const result = await drive(run);
    expect(result.status).toBe('succeeded');
    expect(result.persistence).toMatchObject({ ok: false, error: { code: 'PERSISTENCE_FAILED' } });
    expect(failures).toEqual([expect.stringContaining('disk full')]);
  });
});

describe('listRuns', () => {
  async function history() {
    const orchestrator = orchestrate();
    const ids: string[] = [];
    for (const name of ['ok', 'fails', 'ok', 'rescued'] as const) {
      ids.push((await drive(orchestrator.run(name, { intent: 'x' }))).runId);
    }
    return { memory: orchestrator.memory, ids };
  }

  it('lists every run, most recent first', async () => {
    const { memory, ids } = await history();
    expect((await memory.listRuns()).map((r) => r.runId)).toEqual([...ids].reverse());
  });

  it('filters by the requested macro', async () => {
    const { memory, ids } = await history();
    const runs = await memory.listRuns({ macro: 'ok' });
    expect(runs.map((r) => r.runId)).toEqual([ids[2], ids[0]]);
    expect(runs.every((r) => r.macro === 'ok' && r.producedBy === 'ok')).toBe(true);
  });

  it('filters by status', async () => {
    const { memory, ids } = await history();
    expect((await memory.listRuns({ status: 'failed' })).map((r) => r.runId)).toEqual([ids[1]]);
  });

  it('lists a fallback run under the requested macro, produced by the fallback', async () => {
    const { memory, ids } = await history();
    expect(await memory.listRuns({ macro: 'rescued' })).toEqual([
      expect.objectContaining({ runId: ids[3], macro: 'rescued', producedBy: 'ok', status: 'succeeded' }),
    ]);
  });

  it('returns at most limit runs', async () => {
    const { memory, ids } = await history();
    expect((await memory.listRuns({ limit: 2 })).map((r) => r.runId)).toEqual([ids[3], ids[2]]);
  });

  it('combines filters', async () => {
    const { memory } = await history();
    expect(await memory.listRuns({ macro: 'fails', status: 'succeeded' })).toEqual([]);
  });
});

describe('audit trail', () => {
  it('records each failed attempt and each retry, in order', async () => {
    const flaky = flakyAgent('flaky', 2, 'fine');
    const macro = defineMacro({
      name: 'retrying',
      description: 'd',
      stages: [retryableStage(agentStage('a', flaky), { retries: 3, minDelayMs: 10, jitter: false })],
    });
    const orchestrator = new MacroOrchestrator({ agents: [flaky], macros: [macro] });
    const result = await drive(orchestrator.run('retrying', { intent: 'x' }));
    const audit = await orchestrator.memory.readAudit(result.runId);
    const data = audit.map((r) => r.data as { attempt?: number; delayMs?: number });
    expect(audit.map((r, i) => `${r.kind}:${r.path}:${data[i]?.attempt}`)).toEqual([
      'failure:retrying/a:1',
      'retry:retrying/a:1',
      'failure:retrying/a:2',
      'retry:retrying/a:2',
    ]);
    expect(data.map((d) => d.delayMs).filter((d) => d !== undefined)).toEqual([10, 20]);
    const seqs = audit.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(audit.every((r) => r.runId === result.runId)).toBe(true);
  });

  it('records the failure and the fallback that rescued the run', async () => {
    const orchestrator = orchestrate();
    const result = await drive(orchestrator.run('rescued', { intent: 'x' }));
    const audit = await orchestrator.memory.readAudit(result.runId);
    expect(audit.map((r) => r.kind)).toEqual(['failure', 'fallback']);
    expect(audit[1]?.data).toMatchObject({ from: 'rescued', to: 'ok', error: { code: 'AGENT_FAILED' } });
  });

  it('records failed gate verdicts', async () => {
    const macro = defineMacro({
      name: 'gated',
      description: 'd',
      stages: [
        agentStage('a', echo, { gates: [predicateGate('never', () => false, 'no')], maxRefinements: 0 }),
      ],
    });
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    const result = await drive(orchestrator.run('gated', { intent: 'x' }));
    const audit = await orchestrator.memory.readAudit(result.runId);
    expect(audit.map((r) => r.kind)).toEqual(['gate', 'failure']);
    expect(audit[0]?.data).toMatchObject({ gate: 'never', passed: false, feedback: 'no' });
  });

  it('is empty for a run without incidents', async () => {
    const orchestrator = orchestrate();
    const result = await drive(orchestrator.run('ok', { intent: 'x' }));
    expect(await orchestrator.memory.readAudit(result.runId)).toEqual([]);
  });
});
