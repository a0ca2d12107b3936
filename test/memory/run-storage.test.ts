/** RunStorage on its own: the header write when a run begins, and the final writes when it ends. */
import { describe, expect, it } from 'vitest';
import {
  type AuditRecord,
  type MemoryAdapter,
  PersistenceError,
  type RunHeader,
  type StageRecord,
} from '../../src/index.js';
import { AbortScope } from '../../src/internal/abort-scope.js';
import { CheckpointTurns } from '../../src/macro/checkpoint-turns.js';
import {
  Checkpointer,
  type CheckpointHost,
  type Durability,
  type RunJournal,
} from '../../src/macro/checkpoints.js';
import { RunStorage } from '../../src/macro/run-storage.js';
import { unstorable } from '../../src/macro/unstorable.js';
import { resultRecord } from '../support/records.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const hang = () => new Promise<void>(() => {});

const HEADER: RunHeader = {
  runId: 'r',
  macro: 'm',
  context: { intent: 'x', guidance: '', knowledge: [], metadata: {} },
  input: 'in',
  startedAt: 1,
};

const AUDIT: AuditRecord = { runId: 'r', seq: 1, at: 1, kind: 'retry', path: 'm/a', data: { attempt: 1 } };

const STAGE: StageRecord = {
  path: 'm/a',
  id: 'a',
  kind: 'agent',
  status: 'succeeded',
  output: 'a-out',
  attempts: 1,
  startedAt: 1,
  endedAt: 2,
  durationMs: 1,
};

interface Write {
  readonly method: string;
  readonly value: unknown;
}

/**
 * An adapter whose writes are recorded and resolve, or reject what JSON cannot store, as
 * a real one does; `overrides` replace its methods (and are not recorded).
 */
function fakeMemory(writes: Write[], overrides: Partial<MemoryAdapter>): MemoryAdapter {
  const write = (method: string, value: unknown): Promise<void> => {
    writes.push({ method, value });
    const why = unstorable(value);
    return why === undefined ? Promise.resolve() : Promise.reject(new TypeError(why));
  };
  return {
    beginRun: (header) => write('beginRun', header),
    saveCheckpoint: (_runId, checkpoint, audit) => write('saveCheckpoint', { checkpoint, audit }),
    saveResult: (value) => write('saveResult', value),
    appendAudit: (records) => write('appendAudit', records),
    loadRun: async () => undefined,
    loadResult: async () => undefined,
    readAudit: async () => [],
    listRuns: async () => [],
    ...overrides,
  };
}

interface Retry {
  readonly operation: string;
  readonly failedOnce: { readonly error: unknown } | undefined;
}

interface Setup {
  readonly memory?: Partial<MemoryAdapter>;
  readonly durability?: Durability;
  /** Whether the adapter settles within microtasks (then no write is bounded by the scope). */
  readonly prompt?: boolean;
  /** What the run does with a checkpoint write that failed for good (nothing by default). */
  readonly checkpointFailed?: CheckpointHost['checkpointFailed'];
}

/** A RunStorage on a fake adapter, with a retry that tries once more and records what it was given. */
function setup({
  memory = {},
  durability = 'sync',
  prompt = false,
  checkpointFailed = () => {},
}: Setup = {}) {
  const writes: Write[] = [];
  const retries: Retry[] = [];
  const adapter = fakeMemory(writes, memory);
  const retry: CheckpointHost['retryWrite'] = async (operation, write, failedOnce) => {
    retries.push({ operation, failedOnce });
    try {
      await write();
      return undefined;
    } catch (error) {
      return new PersistenceError(operation, error);
    }
  };
  const scope = AbortScope.root();
  const journal: RunJournal & { audit: AuditRecord[]; seq: number } = {
    seq: 1,
    timeline: [],
    errors: [],
    verdicts: [],
    artefacts: [],
    decisions: [],
    audit: [],
  };
  const host: CheckpointHost = {
    runId: 'r',
    journal,
    scope,
    now: () => 1,
    checkpointFailed,
    retryWrite: retry,
  };
  const turns = new CheckpointTurns();
  const checkpoints = new Checkpointer(host, { memory: adapter, durability, turns });
  const storage = new RunStorage(host, adapter, checkpoints, prompt);
  return { storage, checkpoints, scope, journal, writes, retries };
}

/** Fails the first call with `error` (thrown, or rejected), then resolves. */
function failingOnce(error: Error, how: 'throws' | 'rejects'): () => Promise<void> {
  let calls = 0;
  return () => {
    calls++;
    if (calls > 1) return Promise.resolve();
    if (how === 'throws') throw error;
    return Promise.reject(error);
  };
}

describe('RunStorage.begin', () => {
  it('writes the header and resolves with no failure', async () => {
    const { storage, writes } = setup();
    expect(await storage.begin(HEADER)).toBeUndefined();
    expect(writes).toEqual([{ method: 'beginRun', value: HEADER }]);
  });

  it('fails at once, unretried, with a beginRun error for a header JSON cannot store', async () => {
    const { storage, retries } = setup();
    const header = { ...HEADER, input: { n: 1n } };
    const failure = await storage.begin(header);
    expect(failure).toBeInstanceOf(PersistenceError);
    expect(failure?.operation).toBe('beginRun');
    expect(failure?.message).toBe(
      `Memory beginRun failed: the run's context or input is not JSON-serialisable (${unstorable(header)}); the run goes on without checkpoints`,
    );
    expect(retries).toEqual([]);
  });

  it('retries a header write that failed for another reason, handing the retry its first failure', async () => {
    const boom = new Error('disk full');
    const { storage, retries } = setup({ memory: { beginRun: failingOnce(boom, 'rejects') } });
    expect(await storage.begin(HEADER)).toBeUndefined();
    expect(retries).toHaveLength(1);
    expect(retries[0]?.operation).toBe('beginRun');
    expect(retries[0]?.failedOnce?.error).toBe(boom);
  });

  it('takes an adapter method that throws instead of rejecting for a failed write, and retries it', async () => {
    const boom = new Error('not connected');
    const { storage, retries } = setup({ memory: { beginRun: failingOnce(boom, 'throws') } });
    expect(await storage.begin(HEADER)).toBeUndefined();
    expect(retries.map((r) => r.failedOnce?.error)).toEqual([boom]);
  });

  it('resolves, one turn after the run ends, with a hung header write left behind', async () => {
    const { storage, scope } = setup({ memory: { beginRun: hang } });
    const begun = storage.begin(HEADER);
    const reason = new Error('cancelled by the caller');
    scope.abort(reason);
    const failure = await begun;
    expect(failure).toBeInstanceOf(PersistenceError);
    expect(failure?.operation).toBe('beginRun');
    expect(failure?.cause).toBe(reason);
    expect(failure?.message).toBe(
      'Memory beginRun failed: it did not finish before the run ended (cancelled by the caller); it goes on in the background',
    );
  });
});

describe('RunStorage.finish', () => {
  it.each([
    ['an adapter bounded by the scope', false],
    ['an adapter that settles within microtasks', true],
  ])('saves the audit records no checkpoint carried, then the result, on %s', async (_, prompt) => {
    const { storage, journal, writes } = setup({ prompt });
    journal.audit.push(AUDIT);
    const final = resultRecord();
    expect(await storage.finish(final)).toEqual([]);
    expect(writes).toEqual([
      { method: 'appendAudit', value: [AUDIT] },
      { method: 'saveResult', value: final },
    ]);
  });

  it('saves a result JSON cannot store without what it cannot hold, and resolves with the error naming it', async () => {
    const { storage, writes } = setup();
    const failures = await storage.finish(resultRecord({ output: { n: 1n } }));
    expect(failures.map((f) => f.operation)).toEqual(['saveResult']);
    expect(failures[0]?.message).toMatch(
      /^Memory saveResult failed: not JSON-serialisable, so stored without them: output \(/,
    );
    expect(writes.map((w) => w.method)).toEqual(['saveResult', 'saveResult']);
    expect(writes[1]?.value).not.toHaveProperty('output');
  });

  it("resolves with the retry's failure when the result cannot be saved even without what JSON cannot store", async () => {
    const boom = new Error('disk full');
    const { storage } = setup({ memory: { saveResult: () => Promise.reject(boom) } });
    const failures = await storage.finish(resultRecord({ output: { n: 1n } }));
    expect(failures).toHaveLength(1);
    expect(failures[0]?.operation).toBe('saveResult');
    expect(failures[0]?.cause).toBe(boom);
  });
});

describe('RunStorage.finish on an adapter that settles within microtasks', () => {
  it.each([
    ['checkpoint', 'saveCheckpoint', (run: ReturnType<typeof setup>) => run.checkpoints.save(STAGE)],
    ['header', 'beginRun', (run: ReturnType<typeof setup>) => run.storage.begin(HEADER)],
  ] as const)('saves the result only once the %s write in flight has ended', async (_, method, start) => {
    let ended = () => {};
    const run = setup({
      prompt: true,
      memory: { [method]: () => new Promise<void>((resolve) => (ended = resolve)) },
    });
    void start(run);
    const finished = run.storage.finish(resultRecord());
    await nextTurn();
    expect(run.writes.map((w) => w.method)).toEqual([]);
    ended();
    expect(await finished).toEqual([]);
    expect(run.writes.map((w) => w.method)).toEqual(['saveResult']);
  });

  it('saves the result within the call once the header is stored and no checkpoint write is in flight', async () => {
    const { storage, writes } = setup({ prompt: true });
    expect(await storage.begin(HEADER)).toBeUndefined();
    const finished = storage.finish(resultRecord());
    expect(writes.map((w) => w.method)).toEqual(['beginRun', 'saveResult']);
    expect(await finished).toEqual([]);
  });

  it("writes a suspended run's pending checkpoints before its result, the header stored and no write in flight", async () => {
    const { storage, checkpoints, writes } = setup({ prompt: true, durability: 'async' });
    expect(await storage.begin(HEADER)).toBeUndefined();
    void checkpoints.save(STAGE);
    expect(await storage.finish(resultRecord({ status: 'suspended' }))).toEqual([]);
    expect(writes.map((w) => w.method)).toEqual(['beginRun', 'saveCheckpoint', 'saveResult']);
  });

  it('rejects, as on any adapter, when a checkpoint write threw for a fault of the run (its journal)', async () => {
    const { storage, checkpoints, journal } = setup({ prompt: true });
    const fault = new Error('journal fault');
    Object.defineProperty(journal, 'timeline', {
      get() {
        throw fault;
      },
    });
    await expect(checkpoints.save(STAGE)).rejects.toBe(fault);
    await expect(storage.finish(resultRecord())).rejects.toBe(fault);
  });

  it('rejects, as on any adapter, when reporting a checkpoint write that failed for good threw', async () => {
    const fault = new Error('report fault');
    const { storage, checkpoints } = setup({
      prompt: true,
      memory: { saveCheckpoint: () => Promise.reject(new Error('disk full')) },
      checkpointFailed: () => {
        throw fault;
      },
    });
    await expect(checkpoints.save(STAGE)).rejects.toBe(fault);
    await expect(storage.finish(resultRecord())).rejects.toBe(fault);
  });
});

describe('RunStorage.finish, when the run ends while a write hangs', () => {
  /** The operations `finish` resolves with when the scope aborts one turn after it starts. */
  async function leftBehind(run: ReturnType<typeof setup>, before: () => void = () => {}): Promise<string[]> {
    before();
    const finished = run.storage.finish(resultRecord());
    await nextTurn();
    run.scope.abort(new Error('out of time'));
    return (await finished).map((f) => f.operation);
  }

  it('names beginRun while the header write hangs', async () => {
    const run = setup({ memory: { beginRun: hang } });
    expect(await leftBehind(run, () => void run.storage.begin(HEADER))).toEqual(['beginRun']);
  });

  it('names saveCheckpoint while a checkpoint write in flight hangs', async () => {
    const run = setup({ memory: { saveCheckpoint: hang } });
    expect(await leftBehind(run, () => void run.checkpoints.save(STAGE))).toEqual(['saveCheckpoint']);
  });

  it('names appendAudit while the audit write hangs', async () => {
    const run = setup({ memory: { appendAudit: hang } });
    run.journal.audit.push(AUDIT);
    expect(await leftBehind(run)).toEqual(['appendAudit']);
  });

  it('names saveResult while the result write hangs', async () => {
    expect(await leftBehind(setup({ memory: { saveResult: hang } }))).toEqual(['saveResult']);
  });

  it('names saveCheckpoint while the pending stages are written after the result failed', async () => {
    const run = setup({
      durability: 'async',
      memory: { saveCheckpoint: hang, saveResult: () => Promise.reject(new Error('disk full')) },
    });
    expect(await leftBehind(run, () => void run.checkpoints.save(STAGE))).toEqual(['saveCheckpoint']);
  });
});
