/**
 * SqliteMemory's `writeThread`: a busy turn's batch (run headers, checkpoints, results)
 * commits in a worker thread on a connection of its own, with the same outcomes and errors
 * as on the adapter's connection.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IMMEDIATE_WRITES_PER_TURN } from '../../src/memory/sqlite-batch.js';
import { SQL } from '../../src/memory/sqlite-statements.js';
import { driverPath } from '../../src/memory/sqlite-wal.js';
import {
  type RemoteWrite,
  startWriteThread,
  type ThreadReply,
  WriteThread,
  type WriteThreadOptions,
} from '../../src/memory/sqlite-write-thread.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { audit, header, result } from '../../src/testing.js';
import { ids, MANY, outcomes, save } from './sqlite-writes.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-write-thread-'));
  path = join(dir, 'runs.db');
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const originalSend = WriteThread.prototype.send;

/** Counts the writes sent to the thread from now on (a batch may go in slices: their sizes depend on time). */
function sentWrites(): { count: number } {
  const sent = { count: 0 };
  vi.spyOn(WriteThread.prototype, 'send').mockImplementation(function (this: WriteThread, writes, answer) {
    sent.count += writes.length;
    originalSend.call(this, writes, answer);
  });
  return sent;
}

describe('SqliteMemory with writeThread', () => {
  it("commits a busy turn's run headers, checkpoints and results in the thread, each stored", async () => {
    const sent = sentWrites();
    const memory = new SqliteMemory({ path, writeThread: true });
    const runs = ids(MANY);
    await Promise.all(runs.map((id) => memory.beginRun(header(id))));
    await Promise.all(runs.map((id) => save(memory, id)));
    await Promise.all(runs.map((id) => memory.saveResult(result(id))));
    // Past the first few writes of each turn (those commit at once), all in the thread.
    expect(sent.count).toBe(3 * (MANY - IMMEDIATE_WRITES_PER_TURN));
    const reader = new SqliteMemory({ path, walThread: false });
    const stored = await Promise.all(runs.map((id) => reader.loadRun(id)));
    expect(stored.every((s) => s?.header !== undefined && s.result?.status === 'succeeded')).toBe(true);
    expect((await Promise.all(runs.map((id) => reader.readAudit(id)))).map((a) => a.length)).toEqual(
      runs.map(() => 1),
    );
    await Promise.all([memory.close(), reader.close()]);
  });

  it("rejects a checkpoint of a run whose lease is another owner's with LEASE_LOST, and stores the rest of its batch", async () => {
    const memory = new SqliteMemory({ path, owner: 'me', writeThread: true });
    const other = new SqliteMemory({ path, owner: 'other' });
    await other.beginRun(header('theirs'));
    const runs = ids(MANY);
    await Promise.all(runs.map((id) => memory.beginRun(header(id))));
    const saved = await Promise.allSettled([
      ...runs.slice(0, 100).map((id) => save(memory, id)),
      save(memory, 'theirs'),
      ...runs.slice(100).map((id) => save(memory, id)),
    ]);
    expect(outcomes(saved)).toEqual([
      ...runs.slice(0, 100).map(() => 'stored'),
      'LEASE_LOST',
      ...runs.slice(100).map(() => 'stored'),
    ]);
    expect((await other.loadRun('theirs'))?.checkpoints).toEqual([]);
    await Promise.all([memory.close(), other.close()]);
  });

  it('refuses to begin a run another owner holds with RUN_LEASED, as without the thread', async () => {
    const memory = new SqliteMemory({ path, owner: 'me', writeThread: true });
    const other = new SqliteMemory({ path, owner: 'other' });
    await other.beginRun(header('theirs'));
    const runs = ids(MANY);
    const begun = await Promise.allSettled([
      ...runs.map((id) => memory.beginRun(header(id))),
      memory.beginRun(header('theirs')),
    ]);
    expect(outcomes(begun)).toEqual([...runs.map(() => 'stored'), 'RUN_LEASED']);
    await Promise.all([memory.close(), other.close()]);
  });

  it('rejects a checkpoint JSON cannot store with its TypeError, and sends the others of its batch to the thread', async () => {
    const sent = sentWrites();
    const memory = new SqliteMemory({ path, writeThread: true });
    const runs = ids(MANY);
    await Promise.all(runs.map((id) => memory.beginRun(header(id))));
    const unstorable = { ...audit('r10', 2), data: { tokens: 10n } }; // JSON.stringify throws on a BigInt
    const saved = await Promise.allSettled(
      runs.map((id) => save(memory, id, id === 'r10' ? [audit(id, 1), unstorable] : [audit(id, 1)])),
    );
    expect(outcomes(saved)).toEqual(runs.map((id) => (id === 'r10' ? 'TypeError' : 'stored')));
    // Past the first few of each turn: the headers, then the checkpoints but the one made here.
    expect(sent.count).toBe(2 * (MANY - IMMEDIATE_WRITES_PER_TURN) - 1);
    expect(await memory.readAudit('r10')).toEqual([]);
    await memory.close();
  });

  it('commits on its own connection a batch the thread could not commit for a lock', async () => {
    const memory = new SqliteMemory({ path, writeThread: true });
    const runs = ids(MANY);
    await Promise.all(runs.map((id) => memory.beginRun(header(id))));
    const locker = new Database(path);
    const replies: unknown[] = [];
    vi.spyOn(WriteThread.prototype, 'send').mockImplementation(function (this: WriteThread, writes, answer) {
      originalSend.call(this, writes, (reply) => {
        replies.push(reply);
        if (locker.inTransaction) locker.exec('COMMIT'); // the thread gave up: the lock goes
        answer(reply);
      });
    });
    const saving = Promise.allSettled(runs.map((id) => save(memory, id)));
    locker.exec('BEGIN IMMEDIATE'); // the first few are committed; the batch meets the lock
    expect(outcomes(await saving)).toEqual(runs.map(() => 'stored'));
    expect(replies[0]).toEqual({ failed: expect.stringContaining('locked') }); // and its slices after it, if any
    const stored = await Promise.all(runs.map((id) => memory.loadRun(id)));
    expect(stored.map((s) => s?.checkpoints.length)).toEqual(runs.map(() => 1));
    locker.close();
    await memory.close();
  });

  it('waits in close() for a batch in the thread, whose writes are then stored', async () => {
    const memory = new SqliteMemory({ path, writeThread: true });
    const runs = ids(MANY);
    await Promise.all(runs.map((id) => memory.beginRun(header(id))));
    const saving = Promise.allSettled(runs.map((id) => save(memory, id)));
    await new Promise((resolve) => setImmediate(resolve)); // the batch is in the thread
    await memory.close();
    expect(outcomes(await saving)).toEqual(runs.map(() => 'stored'));
    const reader = new SqliteMemory({ path });
    const stored = await Promise.all(runs.map((id) => reader.loadRun(id)));
    expect(stored.map((s) => s?.checkpoints.length)).toEqual(runs.map(() => 1));
    await reader.close();
  });

  it('commits two batches the thread could not commit in the order they were made: headers, then checkpoints', async () => {
    const memory = new SqliteMemory({ path, writeThread: true });
    const runs = ids(MANY);
    const locker = new Database(path);
    const begins = Promise.allSettled(runs.map((id) => memory.beginRun(header(id))));
    locker.exec('BEGIN IMMEDIATE'); // the headers' batch meets the lock in the thread
    const saves = new Promise<PromiseSettledResult<void>[]>((resolve) =>
      setImmediate(() => {
        // The checkpoints' batch goes to the thread before the headers' is answered.
        resolve(Promise.allSettled(runs.map((id) => save(memory, id, []))));
        setTimeout(() => locker.exec('COMMIT'), 100);
      }),
    );
    expect(outcomes(await begins)).toEqual(runs.map(() => 'stored'));
    expect(outcomes(await saves)).toEqual(runs.map(() => 'stored'));
    locker.close();
    await memory.close();
  });

  it('claims stale runs made while a batch is in the thread as a transaction of its own, however that batch ends', async () => {
    const ghost = new SqliteMemory({ path, owner: 'ghost' });
    for (const id of ids(3, 'stale')) await ghost.beginRun(header(id, { macro: 'old' }));
    await ghost.close(); // its leases given back: the runs are stale
    const memory = new SqliteMemory({ path, owner: 'me', writeThread: true });
    const runs = ids(MANY);
    await Promise.all(runs.map((id) => memory.beginRun(header(id))));
    const saves = Promise.allSettled(runs.map((id) => save(memory, id)));
    const [claimed, refused] = await new Promise<[Promise<unknown>, Promise<unknown>]>((resolve) =>
      setImmediate(() =>
        resolve([
          memory.claimStale({ macros: ['old'], limit: 10 }),
          save(memory, 'never-begun').catch((error: Error) => error.message),
        ]),
      ),
    );
    await saves;
    expect(((await claimed) as { runId: string }[]).map((run) => run.runId)).toEqual(ids(3, 'stale'));
    expect(await refused).toBe('SqliteMemory saveCheckpoint: run "never-begun" was never begun');
    await memory.close();
  });

  it("answers in the adapter's async context, not that of the run whose write started the thread", async () => {
    const store = new AsyncLocalStorage<string>();
    const memory = new SqliteMemory({ path, writeThread: true });
    const runs = ids(MANY);
    // Run A's headers start the thread.
    await store.run('run A', () => Promise.all(runs.map((id) => memory.beginRun(header(id)))));
    const contexts: (string | undefined)[] = [];
    vi.spyOn(WriteThread.prototype, 'send').mockImplementation(function (this: WriteThread, writes, answer) {
      originalSend.call(this, writes, (reply) => {
        contexts.push(store.getStore());
        answer(reply);
      });
    });
    await store.run('run B', () => Promise.all(runs.map((id) => save(memory, id))));
    // One answer or more (the batch may go in slices): each in the adapter's context.
    expect(new Set(contexts)).toEqual(new Set([undefined]));
    await memory.close();
  });

  it('rejects a writeThread that is not a boolean with INVALID_OPTIONS naming it', () => {
    expect(() => new SqliteMemory({ path, writeThread: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('writeThread') }),
    );
  });
});

describe('WriteThread', () => {
  /** The thread's settings for the database at `path`, which the adapter has set up. */
  async function settings(): Promise<WriteThreadOptions> {
    await new SqliteMemory({ path, writeThread: false }).close();
    return {
      driver: driverPath(Database),
      file: path,
      synchronous: 'NORMAL',
      autocheckpoint: 1000,
      sql: SQL,
    };
  }
  const reply = (thread: WriteThread, writes: readonly RemoteWrite[] = []) =>
    new Promise<ThreadReply>((resolve) => thread.send(writes, resolve));
  /** A checkpoint of a run never begun: the thread refuses it, and stores nothing. */
  const orphan: RemoteWrite = ['checkpoint', 1, 0, '{}', 'never-begun', 0, []];
  const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;

  it('answers a batch sent to a thread that failed to start as not committed, with its error, and is dead from then on', async () => {
    const thread = new WriteThread({}, { ...(await settings()), driver: join(dir, 'no-such-driver.js') });
    expect(thread.dead).toBe(false);
    expect(await reply(thread)).toEqual({ failed: expect.stringContaining('no-such-driver.js') });
    expect(thread.dead).toBe(true);
    await thread.close();
  });

  it('answers the batches in flight as not committed when the thread ends unasked', async () => {
    let worker: Worker | undefined;
    const post = Worker.prototype.postMessage;
    vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, message) {
      worker = this;
      post.call(this, message);
    });
    const thread = new WriteThread({}, await settings());
    const replies = Promise.all([reply(thread), reply(thread)]);
    await worker?.terminate();
    expect(await replies).toEqual([
      { failed: 'the write thread ended' },
      { failed: 'the write thread ended' },
    ]);
    expect(thread.dead).toBe(true);
  });

  it('is dead once closed', async () => {
    const thread = new WriteThread({}, await settings());
    expect(await reply(thread)).toEqual([]);
    await thread.close();
    expect(thread.dead).toBe(true);
  });

  it('commits no batch after one it could not commit until told to resume', async () => {
    const thread = new WriteThread({}, await settings());
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    expect(await reply(thread, [orphan])).toEqual({ failed: expect.stringContaining('locked') });
    locker.exec('COMMIT');
    locker.close();
    expect(await reply(thread, [orphan])).toEqual({ failed: 'a batch sent before it was not committed' });
    thread.resume();
    expect(await reply(thread, [orphan])).toEqual(['refused']);
    await thread.close();
  });

  it('keeps the process alive while a batch is in flight, and not once the last one is answered', async () => {
    const thread = new WriteThread({}, await settings());
    const idle = ports();
    const alive: number[] = [];
    const first = reply(thread).then(() => alive.push(ports() - idle));
    alive.push(ports() - idle);
    const second = reply(thread).then(() => alive.push(ports() - idle));
    alive.push(ports() - idle);
    await Promise.all([first, second]);
    expect(alive).toEqual([1, 1, 1, 0]);
    await thread.close();
  });

  it("does not start for a better-sqlite3 that is not the adapter's copy", async () => {
    await settings();
    const db = new Database(path);
    expect(startWriteThread(db, path, {}, SQL)).toBeUndefined();
    db.close();
  });

  it("commits a busy turn in the thread for an adapter whose synchronous is 'full'", async () => {
    const replies: ThreadReply[] = [];
    vi.spyOn(WriteThread.prototype, 'send').mockImplementation(function (this: WriteThread, writes, answer) {
      originalSend.call(this, writes, (r) => {
        replies.push(r);
        answer(r);
      });
    });
    const memory = new SqliteMemory({ path, synchronous: 'full', writeThread: true });
    await Promise.all(ids(MANY).map((id) => memory.beginRun(header(id))));
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.every((r) => Array.isArray(r))).toBe(true);
    await memory.close();
  });
});
