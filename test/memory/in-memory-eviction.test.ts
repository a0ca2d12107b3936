/**
 * InMemoryMemory's bookkeeping of what it holds as runs finish, are begun again and
 * grow audit trails: what `size` counts and which runs its bounds evict.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryMemory, type MacroResult } from '../../src/index.js';
import { audit, checkpoint, header, result, stage } from '../../src/testing.js';

/** The estimated size of `result(id)` for a two-character id, as an InMemoryMemory counts it. */
async function sizeOfOneResult(): Promise<number> {
  const memory = new InMemoryMemory();
  await memory.saveResult(result('r0'));
  return memory.size.bytes;
}

/** `result(id)` with an output of `chars` characters. */
function bigResult(id: string, chars: number): MacroResult {
  return { ...result(id), output: 'x'.repeat(chars) } as MacroResult;
}

const ids = async (memory: InMemoryMemory) => (await memory.listRuns()).map((r) => r.runId);

const length = (value: unknown) => JSON.stringify(value).length;

describe('InMemoryMemory holding a suspended run', () => {
  it('counts it as running and never evicts it, whatever the bounds', async () => {
    const memory = new InMemoryMemory({ maxRuns: 1 });
    await memory.beginRun(header('waiting'));
    await memory.saveResult(result('waiting', 'suspended'));
    await memory.saveResult(result('r1'));
    await memory.saveResult(result('r2'));
    expect(await ids(memory)).toEqual(['r2', 'waiting']);
    expect(memory.size).toMatchObject({ running: 1, finished: 1 });
  });
});

describe('InMemoryMemory counting a run begun again', () => {
  it('counts a finished run begun again as running, its result no longer counted', async () => {
    const memory = new InMemoryMemory();
    await memory.saveResult(result('r1'));
    await memory.beginRun(header('r1'));
    expect(memory.size).toEqual({ running: 1, finished: 0, bytes: 0 });
  });

  it('counts a run finished, begun again and finished again once', async () => {
    const memory = new InMemoryMemory();
    await memory.beginRun(header('r1'));
    await memory.saveResult(result('r1'));
    await memory.beginRun(header('r1'));
    await memory.saveResult(result('r1'));
    expect(memory.size).toEqual({
      running: 0,
      finished: 1,
      bytes: (await sizeOfOneResult()) + length(header('r1')),
    });
  });
});

describe('InMemoryMemory counting audit trails', () => {
  it('counts every audit record appended before the run finished', async () => {
    const memory = new InMemoryMemory();
    await memory.appendAudit([audit('r1', 1)]);
    await memory.appendAudit([audit('r1', 2), audit('r1', 3)]);
    await memory.saveResult(result('r1'));
    const records = length(audit('r1', 1)) + length(audit('r1', 2)) + length(audit('r1', 3));
    expect(memory.size.bytes).toBe((await sizeOfOneResult()) + records);
  });

  it('counts an audit record appended after the run finished', async () => {
    const memory = new InMemoryMemory();
    await memory.saveResult(result('r1'));
    await memory.appendAudit([audit('r1', 1)]);
    expect(memory.size.bytes).toBe((await sizeOfOneResult()) + length(audit('r1', 1)));
  });

  it('stops counting an evicted run’s audit records appended after it finished', async () => {
    const memory = new InMemoryMemory({ maxRuns: 1 });
    await memory.saveResult(result('r1'));
    await memory.appendAudit([audit('r1', 1)]);
    await memory.saveResult(result('r2'));
    expect(memory.size).toEqual({ running: 0, finished: 1, bytes: await sizeOfOneResult() });
  });
});

describe('InMemoryMemory evicting around a result larger than maxBytes', () => {
  it('evicts older runs for a result of exactly maxBytes, which does not exceed it', async () => {
    const each = await sizeOfOneResult();
    const sizing = new InMemoryMemory();
    await sizing.saveResult(bigResult('r2', 5 * each));
    const memory = new InMemoryMemory({ maxBytes: sizing.size.bytes });
    await memory.saveResult(result('r1'));
    await memory.saveResult(bigResult('r2', 5 * each));
    expect(await ids(memory)).toEqual(['r2']);
  });

  it('never evicts an oversized result once its run is begun again', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: 3 * each });
    await memory.saveResult(bigResult('r1', 5 * each));
    await memory.beginRun(header('r1'));
    await memory.saveResult(result('r2'));
    expect(await ids(memory)).toEqual(['r2', 'r1']);
    expect((await memory.loadRun('r1'))?.header).toEqual(header('r1'));
  });

  it('keeps an oversized newest result when an older run is begun again and its trail grows', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: 3 * each });
    await memory.saveResult(result('r1'));
    await memory.saveResult(bigResult('r2', 5 * each));
    await memory.beginRun(header('r1'));
    await memory.appendAudit([audit('r2', 1)]);
    expect(await memory.loadResult('r2')).toEqual(JSON.parse(JSON.stringify(bigResult('r2', 5 * each))));
  });

  it('keeps an oversized newest result while older runs are evicted for maxRuns', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxRuns: 2, maxBytes: 3 * each });
    for (const id of ['r1', 'r2']) await memory.saveResult(result(id));
    await memory.saveResult(bigResult('r3', 5 * each));
    expect(await ids(memory)).toEqual(['r3', 'r2']);
  });

  it('never evicts a running run’s checkpoints for an oversized result', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: 3 * each });
    await memory.beginRun(header('r1'));
    await memory.saveResult(bigResult('r2', 5 * each));
    await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [audit('r1', 1)]);
    expect((await memory.loadRun('r1'))?.checkpoints).toHaveLength(1);
    expect(await ids(memory)).toEqual(['r2', 'r1']);
  });
});
