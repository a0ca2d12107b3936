/** The Checkpointer on its own, continued: what a write carries, when it is idle, and what close and a failure leave. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditRecord, Checkpoint, MemoryAdapter, StageRecord } from '../../src/index.js';
import { PersistenceError } from '../../src/index.js';
import { AbortScope } from '../../src/internal/abort-scope.js';
import { CheckpointTurns } from '../../src/macro/checkpoint-turns.js';
import { Checkpointer, type CheckpointHost, type Durability } from '../../src/macro/checkpoints.js';
import { stageRecord } from '../support/records.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Saves a stage under `'async'` durability, where `save` returns no write to wait on. */
function queue(checkpointer: Checkpointer, record: StageRecord): void {
  expect(checkpointer.save(record)).toBeUndefined();
}

interface Setup {
  durability?: Durability;
  /** The adapter's first `failures` writes fail. */
  failures?: number;
  /** They throw instead of returning a rejected promise. */
  throws?: boolean;
  /** The host's clock, read once per write. */
  now?: () => number;
  turns?: CheckpointTurns;
  /** Replaces the adapter's saveCheckpoint. */
  saveCheckpoint?: MemoryAdapter['saveCheckpoint'];
}

/** A Checkpointer on an adapter that records what it stores, with a retry that tries once more and records what it was given. */
function setup({
  durability = 'sync',
  failures = 0,
  throws = false,
  now = () => 1,
  turns = new CheckpointTurns(),
  saveCheckpoint,
}: Setup = {}) {
  const writes: Array<{ checkpoint: Checkpoint; audit: readonly AuditRecord[] }> = [];
  const retries: Array<{ operation: string; failedOnce: { readonly error: unknown } | undefined }> = [];
  const errors: PersistenceError[] = [];
  let calls = 0;
  const memory = {
    saveCheckpoint:
      saveCheckpoint ??
      ((_runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]) => {
        calls += 1;
        if (calls <= failures) {
          const error = new Error(`write ${calls} failed`);
          if (throws) throw error;
          return Promise.reject(error);
        }
        try {
          JSON.stringify(checkpoint); // as a durable adapter would
        } catch (error) {
          return Promise.reject(error);
        }
        writes.push({ checkpoint, audit });
        return Promise.resolve();
      }),
  } as unknown as MemoryAdapter;
  const host: CheckpointHost = {
    runId: 'r',
    journal: { timeline: [], errors: [], verdicts: [], artefacts: [], decisions: [], audit: [], seq: 1 },
    scope: AbortScope.root(),
    now,
    checkpointFailed: (error) => errors.push(error),
    retryWrite: async (operation, write, failedOnce) => {
      retries.push({ operation, failedOnce });
      try {
        await write();
        return undefined;
      } catch (error) {
        return new PersistenceError(operation, error);
      }
    },
  };
  const checkpointer = new Checkpointer(host, { memory, durability, turns });
  const stored = () => writes.map((w) => w.checkpoint.stages.map((s) => s.path));
  return { checkpointer, writes, stored, retries, errors };
}

describe('a checkpoint write', () => {
  it('carries empty journal arrays when the journal gained nothing since the previous checkpoint', async () => {
    const { checkpointer, writes } = setup();
    await checkpointer.save(stageRecord('a'));
    const { checkpoint, audit } = writes[0] as { checkpoint: Checkpoint; audit: readonly AuditRecord[] };
    expect([
      checkpoint.timeline,
      checkpoint.errors,
      checkpoint.verdicts,
      checkpoint.artefacts,
      checkpoint.decisions,
      audit,
    ]).toEqual([[], [], [], [], [], []]);
  });

  it('is retried, told the failure, when the adapter throws instead of rejecting', async () => {
    const { checkpointer, stored, retries } = setup({ failures: 1, throws: true });
    await checkpointer.save(stageRecord('a'));
    expect(retries.map((r) => r.failedOnce)).toEqual([{ error: new Error('write 1 failed') }]);
    expect(stored()).toEqual([['a']]);
  });

  it('is retried as a saveCheckpoint operation', async () => {
    const { checkpointer, retries } = setup({ failures: 1 });
    await checkpointer.save(stageRecord('a'));
    expect(retries.map((r) => r.operation)).toEqual(['saveCheckpoint']);
  });

  it('writes the rest of a checkpoint holding a value JSON cannot store as a saveCheckpoint operation', async () => {
    const { checkpointer, retries } = setup();
    await checkpointer.save(stageRecord('a', { n: 1n }));
    expect(retries).toEqual([{ operation: 'saveCheckpoint', failedOnce: undefined }]);
  });

  it('that fails for good leaves the stages saved together for the next stage, with no write of their own', async () => {
    const { checkpointer, stored, errors } = setup({ failures: 2 });
    const a = checkpointer.save(stageRecord('a'));
    const b = checkpointer.save(stageRecord('b'));
    await Promise.all([a, b]);
    expect(errors).toHaveLength(1);
    expect(stored()).toEqual([]);
    await checkpointer.save(stageRecord('c'));
    expect(stored()).toEqual([['a', 'b', 'c']]);
  });
});

describe('a Checkpointer', () => {
  it('is not idle while a write is in flight, and idle once it is stored', async () => {
    let store = () => {};
    const { checkpointer } = setup({
      saveCheckpoint: () =>
        new Promise<void>((resolve) => {
          store = resolve;
        }),
    });
    const saved = checkpointer.save(stageRecord('a'));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(checkpointer.idle).toBe(false);
    store();
    await saved;
    expect(checkpointer.idle).toBe(true);
  });

  it('is not idle once a write has failed, even when its retry stored it', async () => {
    const { checkpointer, stored } = setup({ failures: 1 });
    await checkpointer.save(stageRecord('a'));
    expect(stored()).toEqual([['a']]);
    expect(checkpointer.idle).toBe(false);
  });

  it('is not idle once its host threw while a write was taken', async () => {
    const fault = new Error('clock fault');
    const { checkpointer } = setup({
      now: () => {
        throw fault;
      },
    });
    await expect(checkpointer.save(stageRecord('a'))).rejects.toBe(fault);
    expect(checkpointer.idle).toBe(false);
  });
});

describe("a closed Checkpointer under 'async' durability", () => {
  it('schedules no turn for a stage saved after close', async () => {
    const { checkpointer } = setup({ durability: 'async' });
    await checkpointer.close();
    const made = vi.spyOn(globalThis, 'setImmediate');
    queue(checkpointer, stageRecord('a'));
    expect(made).not.toHaveBeenCalled();
  });

  it('writes nothing in a turn it was closed in before its own write came, and keeps its stages pending', async () => {
    const turns = new CheckpointTurns();
    const { checkpointer, stored } = setup({ durability: 'async', turns });
    turns.add({ takeTurn: () => void checkpointer.close() }); // the run ends, in the turn, before its write
    queue(checkpointer, stageRecord('a'));
    await nextTurn();
    await nextTurn();
    expect(stored()).toEqual([]);
    await checkpointer.flush();
    expect(stored()).toEqual([['a']]);
  });
});
