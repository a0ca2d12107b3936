/**
 * SqliteMemory's group commit and write thread at their edges, from an independent review
 * (2026-12-05): each test failed before the fix its comment names.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeldLeases } from '../../src/memory/lease.js';
import { IMMEDIATE_WRITES_PER_TURN } from '../../src/memory/sqlite-batch.js';
import { WriteThread } from '../../src/memory/sqlite-write-thread.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { checkpoint, header, stage } from '../../src/testing.js';
import { ids, MANY, outcomes, save } from './sqlite-writes.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-review-'));
  path = join(dir, 'runs.db');
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('SqliteMemory group commit, at its edges', () => {
  // Was: a batched write's lease check reads the token the adapter holds when the batch
  // runs (leases.expected), but a beginRun in the same batch is held only once the batch
  // has committed (its `committed` hook). A checkpoint or result made right after its run's
  // beginRun, both past the first writes of a turn, is refused with LEASE_LOST although the
  // adapter holds the run (the first 8 writes of a turn, and the lock queue, store it).
  it("stores a checkpoint made right after its run's beginRun when both wait for the end of a busy turn", async () => {
    const memory = new SqliteMemory({ path });
    const first = ids(IMMEDIATE_WRITES_PER_TURN, 'now').map((id) => memory.beginRun(header(id))); // at once
    const begun = memory.beginRun(header('late')); // batched
    const saved = save(memory, 'late'); // batched, after it
    await Promise.all(first);
    expect(outcomes(await Promise.allSettled([begun, saved]))).toEqual(['stored', 'stored']);
    await memory.close();
  });

  // Was: TurnBatch.#send counted the batch in the thread (#inThread++) and WriteThread.send
  // queues its answer before postMessage; when postMessage throws (a value structured clone
  // refuses), the DataCloneError escapes from the turn's Immediate (an uncaught exception),
  // the batch's writes never settle, #inThread never returns to 0 (so close() and every
  // later connection write wait forever), and the stale answer takes the next batch's reply.
  it('rejects a batched write whose value cannot be sent to the thread, and throws nothing out of the turn', async () => {
    const escaped: unknown[] = [];
    process.setUncaughtExceptionCaptureCallback((error) => escaped.push(error));
    let thread: WriteThread | undefined;
    const send = WriteThread.prototype.send;
    vi.spyOn(WriteThread.prototype, 'send').mockImplementation(function (this: WriteThread, writes, answer) {
      thread = this;
      send.call(this, writes, answer);
    });
    const memory = new SqliteMemory({ path, walThread: false, writeThread: true });
    try {
      const runs = ids(MANY);
      await Promise.all(runs.map((id) => memory.beginRun(header(id))));
      const bad = { ...checkpoint(1, [stage('write/a', 1)]), at: Symbol('at') as unknown as number };
      const saving = Promise.allSettled([
        ...runs.slice(0, IMMEDIATE_WRITES_PER_TURN).map((id) => save(memory, id)), // at once
        memory.saveCheckpoint('r0', bad, []), // first of the batch
        ...runs.slice(IMMEDIATE_WRITES_PER_TURN).map((id) => save(memory, id)),
      ]);
      await nextTurn(); // the batch goes to the thread
      expect(escaped).toEqual([]);
      const saved = outcomes(await saving);
      expect(saved.filter((outcome) => outcome !== 'stored')).toHaveLength(1);
      expect(saved[IMMEDIATE_WRITES_PER_TURN]).not.toBe('stored');
      await memory.close();
    } finally {
      process.setUncaughtExceptionCaptureCallback(null);
      if (memory.db.open) memory.db.close();
      await thread?.close();
    }
  });

  // Was: close() flushed the batch (flush(true)) and gives the leases back before it tries
  // db.close(); called inside an iteration over memory.db (the case the docs say to retry
  // after the loop) the connection is busy, so every batched write is rejected with the
  // driver's raw TypeError ("This database connection is busy executing a query"), not
  // stored and not a MacroError; the heartbeat is also stopped for good (HeldLeases.close)
  // while the adapter stays open.
  it('keeps the batched writes of a close() that failed inside an iteration over db, and stores them at the next close()', async () => {
    const memory = new SqliteMemory({ path, walThread: false, writeThread: false });
    const runs = ids(IMMEDIATE_WRITES_PER_TURN + 12);
    for (const id of runs) await memory.beginRun(header(id));
    await nextTurn();
    const saving = Promise.allSettled(runs.map((id) => save(memory, id))); // the last 12 batched
    let closing: Promise<void> | undefined;
    for (const _row of memory.db.prepare('SELECT 1 FROM runs').iterate()) {
      closing = memory.close();
      break;
    }
    await expect(closing).rejects.toMatchObject({ code: 'PERSISTENCE_FAILED' }); // as documented
    await memory.close();
    expect(outcomes(await saving)).toEqual(runs.map(() => 'stored'));
  });

  // Was (async context): HeldLeases.hold started the heartbeat's setInterval in the context
  // of whoever holds the first lease: a run's own (beginRun at once, or the turn's batch,
  // which runs in its first write's context). Every renewal then runs in that run's
  // AsyncLocalStorage context (a driver's instrumentation files them under it), and its
  // store is kept alive as long as any lease is held (under steady load: for good).
  it("renews leases in the adapter's async context, not in that of the run whose lease it held first", async () => {
    const store = new AsyncLocalStorage<string>();
    const memory = new SqliteMemory({ path, leaseMs: 150, walThread: false, writeThread: false });
    const contexts: (string | undefined)[] = [];
    const beat = HeldLeases.prototype.beat;
    const beaten = new Promise<void>((resolve) => {
      vi.spyOn(HeldLeases.prototype, 'beat').mockImplementation(function (this: HeldLeases) {
        contexts.push(store.getStore());
        resolve();
        return beat.call(this);
      });
    });
    await store.run('run A', () => memory.beginRun(header('a')));
    await store.run('run B', () => memory.beginRun(header('b')));
    await beaten; // the heartbeat's first beat (every leaseMs / 3)
    await memory.close();
    expect(contexts[0]).toBeUndefined();
  });
});
