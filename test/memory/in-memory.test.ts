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
