import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, InMemoryMemory, MacroOrchestrator } from '../../src/index.js';
import { checkpoint, header, memoryAdapterContract, result, stage } from '../../src/testing.js';
import { fnAgent } from '../support/index.js';

/** An array nested `depth` levels deep. */
function nested(depth: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** An object whose property `broken` throws `value` when read. */
const throwingGetter = (value: unknown) =>
  Object.defineProperty({}, 'broken', {
    enumerable: true,
    get() {
      throw value;
    },
  });

memoryAdapterContract('InMemoryMemory', () => new InMemoryMemory(), { describe, it });

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

  it('accepts a result one of whose stage records is undefined, as JSON.stringify does', async () => {
    const memory = new InMemoryMemory();
    const saved = result('r1');
    await memory.saveResult({ ...saved, stages: { ...saved.stages, 'write/gone': undefined } } as never);
    expect(await memory.loadResult('r1')).toEqual(JSON.parse(JSON.stringify(saved)));
  });

  it('accepts what JSON.stringify accepts: shared references, toJSON, dropped functions', async () => {
    const memory = new InMemoryMemory();
    const shared = { n: 1 };
    const output = { a: shared, b: shared, at: new Date(0), skip: () => 1, big: { toJSON: () => '1n' } };
    await memory.saveResult({ ...result('r1'), output } as never);
    expect((await memory.loadResult('r1'))?.output).toEqual(JSON.parse(JSON.stringify(output)));
  });
});

describe('InMemoryMemory checkpoints', () => {
  it('rejects a checkpoint for a run never begun, naming the run', async () => {
    const memory = new InMemoryMemory();
    await expect(
      memory.saveCheckpoint('ghost', checkpoint(1, [stage('write/a', 1)]), []),
    ).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: 'InMemoryMemory saveCheckpoint: run "ghost" was never begun',
    });
  });
});

describe('InMemoryMemory run summaries', () => {
  it('lists copies that the caller can change without changing the store', async () => {
    const memory = new InMemoryMemory();
    await memory.beginRun(header('r1'));
    await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
    const [listed] = (await memory.listRuns()) as unknown as [{ status: string; updatedAt: number }];
    listed.status = 'failed';
    listed.updatedAt = -1;
    expect(await memory.listRuns()).toEqual([
      expect.objectContaining({ runId: 'r1', status: 'running', updatedAt: checkpoint(1, []).at }),
    ]);
  });
});

describe('InMemoryMemory and values JSON.stringify cannot handle', () => {
  it('rejects a result nested too deep for JSON.stringify to copy when loaded, and stores nothing', async () => {
    const memory = new InMemoryMemory();
    await expect(memory.saveResult({ ...result('r1'), output: nested(5_000) } as never)).rejects.toThrow(
      RangeError,
    );
    expect(await memory.loadResult('r1')).toBeUndefined();
  });

  it('rejects a result nested 100,000 levels deep with a RangeError, as JSON.stringify does', async () => {
    const memory = new InMemoryMemory();
    await expect(memory.saveResult({ ...result('r1'), output: nested(100_000) } as never)).rejects.toThrow(
      RangeError,
    );
  });

  it('accepts a result nested 1,000 levels deep', async () => {
    const memory = new InMemoryMemory();
    await memory.saveResult({ ...result('r1'), output: nested(1_000) } as never);
    expect((await memory.loadResult('r1'))?.output).toEqual(nested(1_000));
  });

  it('accepts a checkpoint whose stage output is nested 1,000 levels deep, as it accepts such a result', async () => {
    const memory = new InMemoryMemory();
    await memory.beginRun(header('r1'));
    await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', nested(1_000))]), []);
    expect((await memory.loadRun('r1'))?.checkpoints[0]?.stages[0]?.output).toEqual(nested(1_000));
  });

  it('rejects a checkpoint with a revoked proxy in a stage output with a TypeError', async () => {
    const memory = new InMemoryMemory();
    await memory.beginRun(header('r1'));
    const bad = checkpoint(1, [stage('write/a', { value: revokedProxy() })]);
    await expect(memory.saveCheckpoint('r1', bad, [])).rejects.toThrow(TypeError);
  });

  it('rejects a result whose getter throws a string with a TypeError carrying it', async () => {
    const memory = new InMemoryMemory();
    const saving = memory.saveResult({ ...result('r1'), output: throwingGetter('nope') } as never);
    await expect(saving).rejects.toThrow(TypeError);
    await expect(saving).rejects.toHaveProperty('cause', 'nope');
  });

  it.each([
    ['a revoked proxy', revokedProxy()],
    ['an object without prototype', Object.create(null)],
  ])(
    'rejects a result whose getter throws %s with a TypeError that does not hold it',
    async (_what, value) => {
      const memory = new InMemoryMemory();
      const error = await memory.saveResult({ ...result('r1'), output: throwingGetter(value) } as never).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).cause).toBeUndefined();
    },
  );

  it('stores and loads an object without prototype like a plain one', async () => {
    const memory = new InMemoryMemory();
    const output = Object.assign(Object.create(null) as object, { a: 1 });
    await memory.saveResult({ ...result('r1'), output } as never);
    expect((await memory.loadResult('r1'))?.output).toEqual({ a: 1 });
  });

  it('settles a run whose output throws a revoked proxy when serialised, reporting the failed write', async () => {
    const macro = defineMacro({
      name: 'hostile',
      description: 'an agent whose output cannot be serialised',
      stages: [agentStage('s', 's')],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [fnAgent('s', () => throwingGetter(revokedProxy()))],
      macros: [macro],
      persistenceRetry: { retries: 0 },
    });
    const settled = await orchestrator.run('hostile', { intent: 'go' });
    expect(settled.status).toBe('succeeded');
    expect(settled.persistence?.error).toMatchObject({ code: 'PERSISTENCE_FAILED' });
  });

  it('leaves out of loadRun a checkpoint changed since it was saved into one JSON.stringify rejects', async () => {
    const memory = new InMemoryMemory();
    await memory.beginRun(header('r1'));
    const output: Record<string, unknown> = { n: 1 };
    await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', output)]), []);
    const later = checkpoint(2, [stage('write/b', 'fine')]);
    await memory.saveCheckpoint('r1', later, []);
    output['size'] = 1n;
    expect((await memory.loadRun('r1'))?.checkpoints).toEqual([JSON.parse(JSON.stringify(later))]);
  });
});
