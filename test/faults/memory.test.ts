import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, InMemoryMemory, retryableStage } from '../../src/index.js';
import {
  drive,
  flakyAgent,
  flakyMemory,
  ofType,
  pairingProblems,
  start,
  useFakeClock,
  type WriteFaults,
} from '../support/index.js';

useFakeClock();

const macro = defineMacro({
  name: 'saved',
  description: 'a retried stage, so the run has an audit trail',
  stages: [retryableStage(agentStage('s', 'flaky'), { retries: 1, minDelayMs: 1, jitter: false })],
});

const ALWAYS = Number.POSITIVE_INFINITY;

function startWith(faults: WriteFaults, retries = 2) {
  const { memory, calls } = flakyMemory(faults);
  const started = start([macro], [flakyAgent('flaky', 1, 'the output')], {
    orchestrator: { memory, persistenceRetry: { retries, minDelayMs: 1, jitter: false } },
  });
  return { calls, ...started };
}

describe('a memory adapter whose result write fails', () => {
  it('is retried, and the result is saved once a write succeeds', async () => {
    const { calls, run, orchestrator } = startWith({ failures: { saveResult: 2 } });
    const result = await drive(run);
    expect(calls['saveResult']).toBe(3);
    expect(result.persistence).toBeUndefined();
    expect(await orchestrator.loadResult(result.runId)).toEqual(JSON.parse(JSON.stringify(result)));
  });

  it('is tried retries + 1 times when it keeps failing', async () => {
    const { calls, run } = startWith({ failures: { saveResult: ALWAYS } }, 3);
    await drive(run);
    expect(calls['saveResult']).toBe(4);
  });

  it('still lets the run settle with its status and output', async () => {
    const result = await drive(startWith({ failures: { saveResult: ALWAYS } }).run);
    expect(result.status === 'succeeded' && result.output).toBe('the output');
  });

  it('reports the persistence failure in the result', async () => {
    const result = await drive(startWith({ failures: { saveResult: ALWAYS } }).run);
    expect(result.persistence).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'PERSISTENCE_FAILED',
        message: expect.stringContaining('saveResult'),
      }),
    });
  });

  it('emits one persistence:error event, right before run:end', async () => {
    const { run, events } = startWith({ failures: { saveResult: ALWAYS } });
    await drive(run);
    expect(ofType(events, 'persistence:error')).toMatchObject([
      { operation: 'saveResult', error: { code: 'PERSISTENCE_FAILED' } },
    ]);
    expect(events.at(-2)?.type).toBe('persistence:error');
  });

  it('hands run:end listeners the same result the caller receives', async () => {
    const { run, events } = startWith({ failures: { saveResult: ALWAYS } });
    const result = await drive(run);
    expect(ofType(events, 'run:end')[0]?.result).toBe(result);
  });

  it('retries a write that rejects with a non-Error', async () => {
    const { calls, run } = startWith({ failures: { saveResult: 1 }, error: () => 'EBUSY' });
    const result = await drive(run);
    expect(calls['saveResult']).toBe(2);
    expect(result.persistence).toBeUndefined();
  });

  it('quotes a non-Error rejection in the persistence error', async () => {
    const result = await drive(startWith({ failures: { saveResult: ALWAYS }, error: () => 'EBUSY' }).run);
    expect(result.persistence?.error.message).toContain('EBUSY');
  });

  it('lets the run settle when the write throws synchronously', async () => {
    const memory = new InMemoryMemory();
    memory.saveResult = () => {
      throw new Error('sync failure');
    };
    const { run } = start([macro], [flakyAgent('flaky', 0)], {
      orchestrator: { memory, persistenceRetry: { retries: 1, minDelayMs: 1 } },
    });
    const result = await drive(run);
    expect(result.persistence?.error.message).toContain('sync failure');
  });
});

describe('a memory adapter whose checkpoint write does not return a promise', () => {
  it('reports a checkpoint write that throws synchronously, and the run succeeds', async () => {
    const memory = new InMemoryMemory();
    memory.saveCheckpoint = () => {
      throw new Error('sync checkpoint failure');
    };
    const { run, events } = start([macro], [flakyAgent('flaky', 0, 'the output')], {
      orchestrator: {
        memory,
        durability: 'sync',
        persistenceTimeoutMs: Number.POSITIVE_INFINITY, // unbounded: the throw reaches the engine as it is
        persistenceRetry: { retries: 1, minDelayMs: 1 },
      },
    });
    const result = await drive(run);
    expect(result.status === 'succeeded' && result.output).toBe('the output');
    expect(ofType(events, 'persistence:error')).toMatchObject([
      { operation: 'saveCheckpoint', error: { message: expect.stringContaining('sync checkpoint failure') } },
    ]);
  });

  it('stores the checkpoints of an adapter whose saveCheckpoint returns nothing', async () => {
    const memory = new InMemoryMemory();
    const stored: number[] = [];
    const save = memory.saveCheckpoint.bind(memory);
    memory.saveCheckpoint = ((runId, checkpoint, audit) => {
      stored.push(checkpoint.seq);
      void save(runId, checkpoint, audit);
    }) as InMemoryMemory['saveCheckpoint'];
    const { run, events } = start([macro], [flakyAgent('flaky', 0, 'the output')], {
      orchestrator: { memory, durability: 'sync', persistenceTimeoutMs: Number.POSITIVE_INFINITY },
    });
    const result = await drive(run);
    expect(result.status).toBe('succeeded');
    expect(stored.length).toBeGreaterThan(0);
    expect(new Set(stored).size).toBe(stored.length); // each written once: not retried as a failure
    expect(ofType(events, 'persistence:error')).toEqual([]);
  });
});

describe('a memory adapter whose every write fails', () => {
  it('still lets the run settle with its status and output', async () => {
    const result = await drive(startWith({ otherWrites: ALWAYS }).run);
    expect(result.status === 'succeeded' && result.output).toBe('the output');
  });

  it('reports the failure in the result and in at least one persistence:error event', async () => {
    const { run, events } = startWith({ otherWrites: ALWAYS });
    const result = await drive(run);
    expect(result.persistence?.error.code).toBe('PERSISTENCE_FAILED');
    expect(ofType(events, 'persistence:error').length).toBeGreaterThan(0);
  });

  it('keeps the event stream paired, with run:end last', async () => {
    const { run, events } = startWith({ otherWrites: ALWAYS });
    await drive(run);
    expect(pairingProblems(events)).toEqual([]);
  });

  it('keeps every finished stage in the result', async () => {
    const result = await drive(startWith({ otherWrites: ALWAYS }).run);
    expect(result.stages['saved/s']).toMatchObject({
      status: 'succeeded',
      output: 'the output',
      attempts: 2,
    });
  });
});

describe('a memory adapter whose writes never settle', () => {
  function hangingWrites() {
    const inner = new InMemoryMemory();
    const never = () => new Promise<void>(() => {});
    return Object.assign(Object.create(inner) as InMemoryMemory, {
      saveResult: never,
      saveCheckpoint: never,
      beginRun: never,
      appendAudit: never,
    });
  }

  it('cannot keep the run from settling: the write times out and is reported', async () => {
    const { run, events } = start([macro], [flakyAgent('flaky', 0, 'the output')], {
      orchestrator: {
        memory: hangingWrites(),
        persistenceTimeoutMs: 1_000,
        persistenceRetry: { retries: 1, minDelayMs: 1, jitter: false },
      },
    });
    const result = await drive(run);
    expect(result.status === 'succeeded' && result.output).toBe('the output');
    // The result names the first failure; every write that failed has its event.
    expect(result.persistence?.error).toEqual(
      expect.objectContaining({ code: 'PERSISTENCE_FAILED', message: expect.stringContaining('beginRun') }),
    );
    expect(ofType(events, 'persistence:error').map((e) => e.operation)).toEqual(['beginRun', 'saveResult']);
  });
  it('is bounded too when the adapter is an InMemoryMemory with a write replaced on the instance', async () => {
    const memory = Object.assign(new InMemoryMemory(), { saveResult: () => new Promise<void>(() => {}) });
    const { run } = start([macro], [flakyAgent('flaky', 0, 'the output')], {
      orchestrator: {
        memory,
        persistenceTimeoutMs: 1_000,
        persistenceRetry: { retries: 1, minDelayMs: 1, jitter: false },
      },
    });
    const result = await drive(run);
    expect(result.persistence?.error).toEqual(
      expect.objectContaining({ code: 'PERSISTENCE_FAILED', message: expect.stringContaining('saveResult') }),
    );
  });
});

describe('a checkpoint write that fails for good', () => {
  it('is logged as a warning, and the run goes on', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const { memory } = flakyMemory({ failures: { saveCheckpoint: Number.POSITIVE_INFINITY } });
    const { run } = start([macro], [flakyAgent('flaky', 0, 'the output')], {
      orchestrator: { memory, logger, durability: 'sync', persistenceRetry: { retries: 0 } },
    });
    expect((await drive(run)).status).toBe('succeeded');
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'a memory write failed during the run; the run goes on' }),
    );
  });
});
