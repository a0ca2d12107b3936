import { describe, expect, it } from 'vitest';
import { InMemoryMemory } from '../../src/index.js';
import { header, memoryAdapterContract, result } from './memory-adapter.contract.js';

memoryAdapterContract('InMemoryMemory', () => new InMemoryMemory());

describe('InMemoryMemory', () => {
  it('evicts the oldest run past maxRuns', async () => {
    const memory = new InMemoryMemory({ maxRuns: 2 });
    for (const id of ['r1', 'r2', 'r3']) await memory.beginRun(header(id));
    expect(await memory.loadRun('r1')).toBeUndefined();
    expect((await memory.listRuns()).map((r) => r.runId)).toEqual(['r3', 'r2']);
  });

  it('evicts the audit trail with its run', async () => {
    const memory = new InMemoryMemory({ maxRuns: 1 });
    await memory.saveResult(result('r1'));
    await memory.appendAudit([{ runId: 'r1', seq: 1, at: 1, kind: 'retry', path: 'p', data: {} }]);
    await memory.saveResult(result('r2'));
    expect(await memory.readAudit('r1')).toEqual([]);
  });
});

describe('InMemoryMemory results', () => {
  it('returns a copy that the caller can change without changing the store', async () => {
    const memory = new InMemoryMemory();
    await memory.saveResult(result('r1'));
    const loaded = (await memory.loadResult('r1')) as { stages: Record<string, { output: unknown }> };
    (loaded.stages['write/draft'] as { output: unknown }).output = 'changed';
    expect((await memory.loadResult('r1'))?.stages['write/draft']?.output).toEqual({
      title: 'WAL',
      body: 'append-only',
    });
  });

  it('rejects a result with a cycle and stores nothing', async () => {
    const memory = new InMemoryMemory();
    const output: { self?: unknown } = {};
    output.self = output;
    await expect(memory.saveResult({ ...result('r1'), output } as never)).rejects.toThrow(/circular/);
    expect(await memory.loadResult('r1')).toBeUndefined();
  });

  it('rejects a result with a stage output that is not JSON-serialisable', async () => {
    const memory = new InMemoryMemory();
    const saved = result('r1');
    const stages = { ...saved.stages, 'write/count': { ...saved.stages['write/draft'], output: 1n } };
    await expect(memory.saveResult({ ...saved, stages } as never)).rejects.toThrow(/BigInt/);
    expect(await memory.loadResult('r1')).toBeUndefined();
  });

  it('accepts what JSON.stringify accepts: shared references, toJSON, dropped functions', async () => {
    const memory = new InMemoryMemory();
    const shared = { n: 1 };
    const output = { a: shared, b: shared, at: new Date(0), skip: () => 1, big: { toJSON: () => '1n' } };
    await memory.saveResult({ ...result('r1'), output } as never);
    expect((await memory.loadResult('r1'))?.output).toEqual(JSON.parse(JSON.stringify(output)));
  });
});
