import { describe, expect, it } from 'vitest';
import {
  agentStage,
  defineMacro,
  InMemoryMemory,
  isMacroError,
  MacroOrchestrator,
  type MacroResult,
} from '../../src/index.js';
import { audit, checkpoint, header, result, stage } from '../../src/testing.js';
import { fnAgent } from '../support/index.js';

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

/** The code and message of what `fn` throws. */
function thrown(fn: () => unknown): { code: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    return { code: isMacroError(error) ? error.code : undefined, message: (error as Error).message };
  }
  throw new Error('did not throw');
}

describe('InMemoryMemory maxRuns', () => {
  it('evicts the oldest finished run past maxRuns', async () => {
    const memory = new InMemoryMemory({ maxRuns: 2 });
    for (const id of ['r1', 'r2', 'r3']) await memory.saveResult(result(id));
    expect(await memory.loadResult('r1')).toBeUndefined();
    expect(await ids(memory)).toEqual(['r3', 'r2']);
  });

  it('evicts the audit trail with its run', async () => {
    const memory = new InMemoryMemory({ maxRuns: 1 });
    await memory.saveResult(result('r1'));
    await memory.appendAudit([audit('r1', 1)]);
    await memory.saveResult(result('r2'));
    expect(await memory.readAudit('r1')).toEqual([]);
  });

  it('never evicts a running run, however many are running', async () => {
    const memory = new InMemoryMemory({ maxRuns: 2 });
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) await memory.beginRun(header(id));
    await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
    expect((await memory.loadRun('r1'))?.checkpoints).toHaveLength(1);
    expect(await ids(memory)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
  });

  it('counts only finished runs against maxRuns', async () => {
    const memory = new InMemoryMemory({ maxRuns: 2 });
    for (const id of ['r1', 'r2', 'r3']) await memory.beginRun(header(id));
    for (const id of ['r4', 'r5']) await memory.saveResult(result(id));
    expect(await ids(memory)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
  });

  it('evicts finished runs in the order they finished, not the order they began', async () => {
    const memory = new InMemoryMemory({ maxRuns: 2 });
    for (const id of ['r1', 'r2']) await memory.beginRun(header(id));
    for (const id of ['r2', 'r1', 'r3']) await memory.saveResult(result(id));
    expect(await ids(memory)).toEqual(['r3', 'r1']);
  });

  it('keeps 1,000 finished runs by default', async () => {
    const memory = new InMemoryMemory();
    for (let i = 0; i < 1_001; i++) await memory.saveResult(result(`r${i}`));
    expect(memory.size.finished).toBe(1_000);
    expect(await memory.loadResult('r0')).toBeUndefined();
  });
});

describe('InMemoryMemory maxBytes', () => {
  it('evicts the oldest finished runs once the estimated size passes maxBytes', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: Math.floor(2.5 * each) });
    for (const id of ['r1', 'r2', 'r3']) await memory.saveResult(result(id));
    expect(await ids(memory)).toEqual(['r3', 'r2']);
    expect(memory.size.bytes).toBe(2 * each);
  });

  it('never evicts a running run to stay within maxBytes', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: each });
    await memory.beginRun(header('r1'));
    await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 'x'.repeat(10 * each))]), []);
    for (const id of ['r2', 'r3']) await memory.saveResult(result(id));
    expect((await memory.loadRun('r1'))?.checkpoints).toHaveLength(1);
    expect(await ids(memory)).toEqual(['r3', 'r1']);
  });

  it('counts a finished run’s header and audit trail with its result', async () => {
    const memory = new InMemoryMemory();
    await memory.beginRun(header('r1'));
    await memory.appendAudit([audit('r1', 1)]);
    await memory.saveResult(result('r1'));
    const extra = JSON.stringify(header('r1')).length + JSON.stringify(audit('r1', 1)).length;
    expect(memory.size.bytes).toBe((await sizeOfOneResult()) + extra);
  });

  it('evicts when an audit trail appended after the result passes maxBytes', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: 2 * each + 10 });
    for (const id of ['r1', 'r2']) await memory.saveResult(result(id));
    await memory.appendAudit([{ ...audit('r2', 1), data: { note: 'x'.repeat(20) } }]);
    expect(await ids(memory)).toEqual(['r2']);
  });

  it('keeps a result larger than maxBytes while it is the newest, evicting nothing for it', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: 3 * each });
    await memory.saveResult(result('r1'));
    await memory.saveResult(bigResult('r2', 5 * each));
    expect(await memory.loadResult('r2')).toEqual(JSON.parse(JSON.stringify(bigResult('r2', 5 * each))));
    expect(await ids(memory)).toEqual(['r2', 'r1']);
  });

  it('evicts a result larger than maxBytes first, once the next run finishes', async () => {
    const each = await sizeOfOneResult();
    const memory = new InMemoryMemory({ maxBytes: 3 * each });
    await memory.saveResult(result('r1'));
    await memory.saveResult(bigResult('r2', 5 * each));
    await memory.saveResult(result('r3'));
    expect(await ids(memory)).toEqual(['r3', 'r1']);
    expect(memory.size.bytes).toBe(2 * each);
  });

  it('estimates a real run’s result within a tenth of its JSON length', async () => {
    const macro = defineMacro({
      name: 'write',
      description: 'three stages with structured outputs',
      stages: [
        agentStage('research', 'writer'),
        agentStage('draft', 'writer'),
        agentStage('review', 'writer'),
      ],
    });
    const writer = fnAgent('writer', (input: unknown) => ({
      text: `more on ${JSON.stringify(input)}`,
      n: 3,
    }));
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    const saved = await orchestrator.run('write', { intent: 'measure the estimate' }, { input: 'WAL' });
    const memory = new InMemoryMemory();
    await memory.saveResult(saved);
    const length = JSON.stringify(saved).length;
    expect(memory.size.bytes).toBeGreaterThan(0.9 * length);
    expect(memory.size.bytes).toBeLessThan(1.1 * length);
  });
});

describe('InMemoryMemory size estimate', () => {
  /** The estimated size of `saved` alone. */
  async function estimate(saved: MacroResult): Promise<number> {
    const memory = new InMemoryMemory();
    await memory.saveResult(saved);
    return memory.size.bytes;
  }

  it('estimates each timeline entry at 150 characters, whatever it holds', async () => {
    const saved = result('r1');
    const [entry] = checkpoint(1, [stage('write/draft', 1)]).timeline;
    const withTimeline = {
      ...saved,
      timeline: [entry, { ...entry, name: 'x'.repeat(1_000) }],
    } as MacroResult;
    expect((await estimate(withTimeline)) - (await estimate(saved))).toBe(2 * 150);
  });

  it('estimates a stage record as its output’s estimate, 140 characters and its path twice', async () => {
    const saved = result('r1');
    const record = stage('write/extra', 'abc', { agent: 'x'.repeat(1_000) });
    const withStage = { ...saved, stages: { ...saved.stages, 'write/extra': record } } as MacroResult;
    // 'abc' is estimated as its JSON, "abc", and a comma.
    expect((await estimate(withStage)) - (await estimate(saved))).toBe(6 + 140 + 2 * 'write/extra'.length);
  });
});

describe('InMemoryMemory size', () => {
  it('tells how many runs are running and finished, and the finished runs’ estimated size', async () => {
    const memory = new InMemoryMemory();
    await memory.beginRun(header('r1'));
    await memory.saveResult(result('r2'));
    expect(memory.size).toEqual({ running: 1, finished: 1, bytes: await sizeOfOneResult() });
  });

  it('no longer counts an evicted run', async () => {
    const memory = new InMemoryMemory({ maxRuns: 1 });
    for (const id of ['r1', 'r2']) await memory.saveResult(result(id));
    expect(memory.size).toEqual({ running: 0, finished: 1, bytes: await sizeOfOneResult() });
  });

  it('counts a result saved twice once', async () => {
    const memory = new InMemoryMemory();
    await memory.saveResult(result('r1'));
    await memory.saveResult(result('r1'));
    expect(memory.size).toEqual({ running: 0, finished: 1, bytes: await sizeOfOneResult() });
  });
});

describe('InMemoryMemory options', () => {
  it('rejects an unknown option, naming it and the known ones', () => {
    expect(thrown(() => new InMemoryMemory({ maxRun: 5 } as never))).toEqual({
      code: 'INVALID_OPTIONS',
      message: 'Unknown option "maxRun" in InMemoryMemory options (known: maxRuns, maxBytes)',
    });
  });

  it('rejects options that are not an object', () => {
    expect(thrown(() => new InMemoryMemory(5 as never)).code).toBe('INVALID_OPTIONS');
  });

  it.each([
    ['maxRuns', 0],
    ['maxRuns', -1],
    ['maxRuns', 1.5],
    ['maxRuns', Number.NaN],
    ['maxRuns', '10'],
    ['maxBytes', 0],
    ['maxBytes', Number.NEGATIVE_INFINITY],
    ['maxBytes', null],
  ])('rejects %s: %s, which is not a positive integer or Infinity', (option, value) => {
    expect(thrown(() => new InMemoryMemory({ [option]: value }))).toEqual({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining(`InMemoryMemory option ${option}`),
    });
  });

  it.each([
    ['maxRuns', 1.5, '1.5'],
    ['maxBytes', Number.NEGATIVE_INFINITY, '-Infinity'],
    ['maxRuns', '10', '"10"'],
    ['maxBytes', null, 'null'],
    ['maxRuns', [], 'array'],
  ])(
    'says what it got for %s: %s, a number or a string as it is and anything else by kind',
    (option, value, got) => {
      expect(thrown(() => new InMemoryMemory({ [option]: value })).message).toBe(
        `Invalid InMemoryMemory option ${option}: expected a positive integer or Infinity, got ${got}`,
      );
    },
  );

  it('accepts Infinity as no bound', async () => {
    const memory = new InMemoryMemory({
      maxRuns: Number.POSITIVE_INFINITY,
      maxBytes: Number.POSITIVE_INFINITY,
    });
    for (let i = 0; i < 1_001; i++) await memory.saveResult(result(`r${i}`));
    expect(memory.size.finished).toBe(1_001);
  });
});
