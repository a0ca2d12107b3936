/** The Checkpointer on its own: what each write carries, when writes happen, and what a failed one does. */
import { describe, expect, it, vi } from 'vitest';
import type {
  AuditRecord,
  Checkpoint,
  MemoryAdapter,
  PersistenceError,
  StageRecord,
} from '../../src/index.js';
import { PersistenceError as PersistenceErrorClass } from '../../src/index.js';
import { AbortScope } from '../../src/internal/abort-scope.js';
import { CheckpointTurns } from '../../src/macro/checkpoint-turns.js';
import {
  Checkpointer,
  type CheckpointHost,
  type Durability,
  restorePoint,
} from '../../src/macro/checkpoints.js';
import { stageRecord } from '../support/records.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Saves a stage under `'async'` durability, where `save` returns no write to wait on. */
function queue(checkpointer: Checkpointer, record: StageRecord): void {
  expect(checkpointer.save(record)).toBeUndefined();
}

interface Journal {
  timeline: Checkpoint['timeline'][number][];
  errors: Checkpoint['errors'][number][];
  verdicts: Checkpoint['verdicts'][number][];
  artefacts: Checkpoint['artefacts'][number][];
  decisions: Checkpoint['decisions'][number][];
  audit: AuditRecord[];
}

const emptyJournal = (): Journal => ({
  timeline: [],
  errors: [],
  verdicts: [],
  artefacts: [],
  decisions: [],
  audit: [],
});

/** Appends one entry to every array of the journal, tagged `n`. */
function append(journal: Journal, n: number): void {
  journal.timeline.push({
    scope: 'stage',
    path: `t${n}`,
    name: 'agent',
    status: 'succeeded',
    attempt: 1,
    startedAt: n,
    endedAt: n,
    durationMs: 0,
  });
  journal.errors.push({ name: 'Error', code: 'UNKNOWN', message: `e${n}` });
  journal.verdicts.push({ gate: `g${n}`, path: 'p', passed: true, pass: 1 });
  journal.artefacts.push({ name: `a${n}`, mediaType: 'text/plain', content: n, path: 'p' });
  journal.decisions.push({ id: `d${n}` } as Checkpoint['decisions'][number]);
  journal.audit.push({ runId: 'r', seq: n, at: n, kind: 'retry', path: 'p', data: { n } });
}

interface Setup {
  failures?: number;
  durability?: Durability;
  retry?: (
    write: () => Promise<void>,
    failedOnce?: { error: unknown },
  ) => Promise<PersistenceError | undefined>;
  journal?: Journal;
  /** A failing write empties the checkpoint's stages it was given before it throws. */
  emptiesFailed?: boolean;
}

function setup({
  failures = 0,
  durability = 'sync',
  retry,
  journal = emptyJournal(),
  emptiesFailed = false,
}: Setup = {}) {
  const writes: Array<{ checkpoint: Checkpoint; audit: readonly AuditRecord[] }> = [];
  const errors: PersistenceError[] = [];
  const retries: Array<{ error: unknown } | undefined> = [];
  let calls = 0;
  const memory = {
    async saveCheckpoint(_runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]) {
      calls += 1;
      if (calls <= failures) {
        if (emptiesFailed) (checkpoint as unknown as { stages: StageRecord[] }).stages = [];
        throw new Error(`write ${calls} failed`);
      }
      JSON.stringify(checkpoint); // as a durable adapter would
      writes.push({ checkpoint, audit });
    },
  } as unknown as MemoryAdapter;
  // Each checkpoint is stamped with the next seq and time: the journal's seq counts its reads.
  let seq = 0;
  const host: CheckpointHost = {
    runId: 'r',
    journal: {
      ...journal,
      get seq() {
        return ++seq;
      },
    },
    scope: AbortScope.root(),
    now: () => 100 + seq,
    checkpointFailed: (error) => errors.push(error),
    retryWrite: retry
      ? (_operation, write, failedOnce) => retry(write, failedOnce)
      : async (_operation, write, failedOnce) => {
          retries.push(failedOnce);
          try {
            await write();
            return undefined;
          } catch (error) {
            return new PersistenceErrorClass('saveCheckpoint', error);
          }
        },
  };
  const turns = new CheckpointTurns();
  const checkpointer = new Checkpointer(host, { memory, durability, turns });
  return { checkpointer, writes, errors, retries, journal };
}

describe("a Checkpointer under 'sync' durability", () => {
  it('writes each stage before the promise it returns resolves', async () => {
    const { checkpointer, writes } = setup();
    await checkpointer.save(stageRecord('a'));
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a']]);
  });

  it('stamps each checkpoint with the current sequence number and time', async () => {
    const { checkpointer, writes } = setup();
    await checkpointer.save(stageRecord('a'));
    await checkpointer.save(stageRecord('b'));
    expect(writes.map((w) => [w.checkpoint.seq, w.checkpoint.at])).toEqual([
      [1, 101],
      [2, 102],
    ]);
  });

  it('carries only what the journal gained since the previous checkpoint', async () => {
    const journal = emptyJournal();
    append(journal, 0); // there before: restored, already stored
    const { checkpointer, writes } = setup({ journal });
    append(journal, 1);
    await checkpointer.save(stageRecord('a'));
    append(journal, 2);
    await checkpointer.save(stageRecord('b'));
    const second = writes[1] as { checkpoint: Checkpoint; audit: readonly AuditRecord[] };
    expect(second.checkpoint.timeline.map((t) => t.path)).toEqual(['t2']);
    expect(second.checkpoint.errors.map((e) => e.message)).toEqual(['e2']);
    expect(second.checkpoint.verdicts.map((v) => v.gate)).toEqual(['g2']);
    expect(second.checkpoint.artefacts.map((a) => a.name)).toEqual(['a2']);
    expect(second.checkpoint.decisions.map((d) => d.id)).toEqual(['d2']);
    expect(second.audit.map((a) => a.seq)).toEqual([2]);
    expect((writes[0] as { audit: readonly AuditRecord[] }).audit.map((a) => a.seq)).toEqual([1]);
  });

  it('lets stages queued while a write is pending share the next write', async () => {
    const { checkpointer, writes } = setup();
    const first = checkpointer.save(stageRecord('a'));
    const second = checkpointer.save(stageRecord('b'));
    await Promise.all([first, second]);
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a', 'b']]);
  });
});

describe("a Checkpointer under 'async' durability", () => {
  it('writes nothing before the event loop turns, then the stages of the turn in one write', async () => {
    const { checkpointer, writes } = setup({ durability: 'async' });
    expect(checkpointer.save(stageRecord('a'))).toBeUndefined();
    queue(checkpointer, stageRecord('b'));
    expect(writes).toHaveLength(0);
    await nextTurn();
    await nextTurn();
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a', 'b']]);
  });

  it('takes one more turn for stages saved after a write started', async () => {
    const { checkpointer, writes } = setup({ durability: 'async' });
    queue(checkpointer, stageRecord('a'));
    await nextTurn();
    queue(checkpointer, stageRecord('b'));
    await nextTurn();
    await nextTurn();
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a'], ['b']]);
  });
});

/** A Checkpointer under `'async'` durability whose writes wait until released, one at a time. */
function slowSetup() {
  const started: string[][] = [];
  const waiting: Array<(failed?: boolean) => void> = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const memory = {
    saveCheckpoint(_runId: string, checkpoint: Checkpoint) {
      started.push(checkpoint.stages.map((s) => s.path));
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      return new Promise<void>((resolve, reject) => {
        waiting.push((failed?: boolean) => {
          inFlight--;
          if (failed === true) reject(new Error('write failed'));
          else resolve();
        });
      });
    },
  } as unknown as MemoryAdapter;
  const host: CheckpointHost = {
    runId: 'r',
    journal: { ...emptyJournal(), seq: 1 },
    scope: AbortScope.root(),
    now: () => 1,
    checkpointFailed: () => {},
    retryWrite: async () => undefined,
  };
  const checkpointer = new Checkpointer(host, { memory, durability: 'async', turns: new CheckpointTurns() });
  const release = async () => {
    waiting.shift()?.();
    await nextTurn();
  };
  /** Settles the write in flight (stored, or failed and then retried well) without a turn of the loop. */
  const settle = async (failed = false) => {
    waiting.shift()?.(failed);
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { checkpointer, started, release, settle, mostInFlight: () => mostInFlight };
}

describe("a Checkpointer under 'async' durability with a slow adapter", () => {
  it("starts a turn's write once the write in flight has ended, never two at once", async () => {
    const { checkpointer, started, release, mostInFlight } = slowSetup();
    queue(checkpointer, stageRecord('a'));
    await nextTurn();
    queue(checkpointer, stageRecord('b'));
    await nextTurn();
    queue(checkpointer, stageRecord('c'));
    await nextTurn();
    expect(started).toEqual([['a']]);
    await release();
    expect(started).toEqual([['a'], ['b', 'c']]);
    await release();
    queue(checkpointer, stageRecord('d'));
    await nextTurn();
    expect(started).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(mostInFlight()).toBe(1);
  });

  it('starts the write of a turn within the turn when none is in flight', async () => {
    vi.useFakeTimers({ toFake: ['setImmediate'] });
    try {
      const { checkpointer, started, release } = slowSetup();
      await checkpointer.flush(); // nothing to write: it still ends
      queue(checkpointer, stageRecord('a'));
      vi.runOnlyPendingTimers();
      expect(started).toEqual([['a']]); // at once, not a microtask later down the chain
      vi.useRealTimers();
      await release();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("a Checkpointer under 'async' durability once its write in flight has ended", () => {
  it.each([
    ['was stored', false],
    ['failed and was retried', true],
  ])('starts the next write within its turn when the write before it %s', async (_, failed) => {
    vi.useFakeTimers({ toFake: ['setImmediate'] });
    try {
      const { checkpointer, started, settle } = slowSetup();
      queue(checkpointer, stageRecord('a'));
      vi.runOnlyPendingTimers();
      await settle(failed);
      queue(checkpointer, stageRecord('b'));
      vi.runOnlyPendingTimers();
      expect(started).toEqual([['a'], ['b']]); // at once: nothing left counted in flight
      await settle();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a Checkpointer whose adapter changes what it was given', () => {
  it('still moves past what a stored write took', async () => {
    const journal = emptyJournal();
    const writes: Array<{ timeline: string[]; audit: number[] }> = [];
    const failures: PersistenceError[] = [];
    const memory = {
      async saveCheckpoint(_runId: string, checkpoint: Checkpoint, audit: AuditRecord[]) {
        writes.push({ timeline: checkpoint.timeline.map((t) => t.path), audit: audit.map((a) => a.seq) });
        // Stored; then it tidies up what it was handed.
        delete (checkpoint as { timeline?: unknown }).timeline;
        audit.length = 0;
      },
    } as unknown as MemoryAdapter;
    const host: CheckpointHost = {
      runId: 'r',
      journal: { ...journal, seq: 1 },
      scope: AbortScope.root(),
      now: () => 1,
      checkpointFailed: (error) => failures.push(error),
      retryWrite: async () => undefined,
    };
    const checkpointer = new Checkpointer(host, { memory, durability: 'sync', turns: new CheckpointTurns() });
    append(journal, 1);
    await checkpointer.save(stageRecord('a'));
    append(journal, 2);
    await checkpointer.save(stageRecord('b'));
    expect(writes).toEqual([
      { timeline: ['t1'], audit: [1] },
      { timeline: ['t2'], audit: [2] },
    ]);
    expect(failures).toEqual([]);
  });
});

describe('a closed Checkpointer', () => {
  it('takes no turn for stages saved after close, nor for one pending at close', async () => {
    const { checkpointer, writes } = setup({ durability: 'async' });
    queue(checkpointer, stageRecord('a'));
    await checkpointer.close();
    queue(checkpointer, stageRecord('b'));
    await nextTurn();
    await nextTurn();
    expect(writes).toHaveLength(0);
  });

  it('takes no turn for a stage saved after close when none was pending', async () => {
    const { checkpointer, writes } = setup({ durability: 'async' });
    await checkpointer.close();
    queue(checkpointer, stageRecord('a'));
    await nextTurn();
    await nextTurn();
    expect(writes).toHaveLength(0);
  });

  it('takes no turn for several stages pending at close', async () => {
    const { checkpointer, writes } = setup({ durability: 'async' });
    queue(checkpointer, stageRecord('a'));
    queue(checkpointer, stageRecord('b'));
    await checkpointer.close();
    queue(checkpointer, stageRecord('c'));
    await nextTurn();
    await nextTurn();
    expect(writes).toHaveLength(0);
  });

  it('writes what is pending on flush()', async () => {
    const { checkpointer, writes } = setup({ durability: 'async' });
    queue(checkpointer, stageRecord('a'));
    await checkpointer.close();
    await checkpointer.flush();
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a']]);
  });

  it('writes nothing on flush() after discard()', async () => {
    const { checkpointer, writes } = setup({ durability: 'async' });
    queue(checkpointer, stageRecord('a'));
    await checkpointer.close();
    checkpointer.discard();
    await checkpointer.flush();
    expect(writes).toHaveLength(0);
  });

  it('hands the audit records no checkpoint carried to takeAudit(), once', async () => {
    const journal = emptyJournal();
    const { checkpointer } = setup({ journal, durability: 'async' });
    append(journal, 1);
    await checkpointer.close();
    expect(checkpointer.takeAudit().map((a) => a.seq)).toEqual([1]);
    expect(checkpointer.takeAudit()).toEqual([]);
  });
});

describe('a checkpoint write that fails', () => {
  it('is retried, told the first failure', async () => {
    const { checkpointer, writes, retries } = setup({ failures: 1 });
    await checkpointer.save(stageRecord('a'));
    expect(retries).toEqual([{ error: new Error('write 1 failed') }]);
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a']]);
  });

  it('is reported when it fails for good, and its stages ride with the next write', async () => {
    const { checkpointer, writes, errors } = setup({ failures: 2 });
    await checkpointer.save(stageRecord('a'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe('Memory saveCheckpoint failed: write 2 failed');
    await checkpointer.save(stageRecord('b'));
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a', 'b']]);
  });

  it("keeps its own list of a failed write's stages, whatever the adapter did to the checkpoint", async () => {
    const { checkpointer, writes } = setup({ failures: 2, emptiesFailed: true });
    await checkpointer.save(stageRecord('a'));
    await checkpointer.save(stageRecord('b'));
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['a', 'b']]);
  });

  it('keeps the journal delta for the next write when it fails for good', async () => {
    const journal = emptyJournal();
    const { checkpointer, writes } = setup({ failures: 2, journal });
    append(journal, 1);
    await checkpointer.save(stageRecord('a'));
    append(journal, 2);
    await checkpointer.save(stageRecord('b'));
    expect(writes[0]?.checkpoint.timeline.map((t) => t.path)).toEqual(['t1', 't2']);
  });
});

describe('a checkpoint holding a value JSON cannot store', () => {
  it('leaves that stage out, reports it by path, and writes the rest', async () => {
    const { checkpointer, writes, errors } = setup();
    const a = checkpointer.save(stageRecord('a', { n: 1n }));
    const b = checkpointer.save(stageRecord('b'));
    await Promise.all([a, b]);
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['b']]);
    expect(errors.map((e) => [e.path, e.operation])).toEqual([['a', 'saveCheckpoint']]);
    expect(errors[0]?.message).toContain('the output of stage a is not JSON-serialisable');
  });

  it('reports a journal item that cannot be stored once, however many writes fail meanwhile', async () => {
    const journal = emptyJournal();
    const { checkpointer, errors } = setup({
      journal,
      retry: async () => new PersistenceErrorClass('saveCheckpoint', new Error('down')),
    });
    journal.verdicts.push({ gate: 'g', path: 'p', passed: true, pass: 1, score: 1n } as never);
    await checkpointer.save(stageRecord('a'));
    await checkpointer.save(stageRecord('b'));
    expect(errors.filter((e) => e.message.includes('verdicts[0]'))).toHaveLength(1);
  });

  it('writes the rest as a fresh write, not as a retry of the failed one', async () => {
    const { checkpointer, retries } = setup();
    await checkpointer.save(stageRecord('a', { n: 1n }));
    expect(retries).toEqual([undefined]);
  });

  it('keeps the stages it could store pending when the rest fails for good too', async () => {
    let down = true;
    const { checkpointer, writes } = setup({
      retry: async (write) => {
        if (down) return new PersistenceErrorClass('saveCheckpoint', new Error('down'));
        await write();
        return undefined;
      },
    });
    const a = checkpointer.save(stageRecord('a', { n: 1n }));
    const b = checkpointer.save(stageRecord('b'));
    await Promise.all([a, b]);
    expect(writes).toHaveLength(0);
    down = false;
    await checkpointer.close();
    await checkpointer.flush();
    expect(writes.map((w) => w.checkpoint.stages.map((s) => s.path))).toEqual([['b']]);
  });
});

describe('restorePoint', () => {
  it('takes the last record of each stage, the highest sequence number, and every journal entry in order', () => {
    const journal = emptyJournal();
    append(journal, 1);
    const cp = (seq: number, stages: StageRecord[], n?: number): Checkpoint => {
      const j = emptyJournal();
      if (n !== undefined) append(j, n);
      return { seq, at: seq, stages, ...j };
    };
    const point = restorePoint({
      checkpoints: [cp(5, [stageRecord('a', 1)], 1), cp(3, [stageRecord('a', 2), stageRecord('b')], 2)],
    });
    expect(point.seq).toBe(5);
    expect(point.stages.get('a')?.output).toBe(2);
    expect([...point.stages.keys()]).toEqual(['a', 'b']);
    expect(point.journal.timeline.map((t) => t.path)).toEqual(['t1', 't2']);
    expect(point.journal.errors.map((e) => e.message)).toEqual(['e1', 'e2']);
    expect(point.journal.verdicts.map((v) => v.gate)).toEqual(['g1', 'g2']);
    expect(point.journal.artefacts.map((a) => a.name)).toEqual(['a1', 'a2']);
    expect(point.journal.decisions.map((d) => d.id)).toEqual(['d1', 'd2']);
  });

  it('reads a checkpoint written without journal arrays as empty ones', () => {
    const old = { seq: 1, at: 1, stages: [stageRecord('a')] } as unknown as Checkpoint;
    const point = restorePoint({ checkpoints: [old] });
    expect(point.journal.timeline).toEqual([]);
    expect(point.stages.size).toBe(1);
  });
});
