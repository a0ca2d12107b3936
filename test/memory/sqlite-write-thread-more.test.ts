/**
 * WriteThread and startWriteThread beyond test/memory/sqlite-write-thread.test.ts: the
 * settings the thread's connection is opened with, when it counts as dead, and the thread
 * of an adapter dropped without `close()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SQL } from '../../src/memory/sqlite-statements.js';
import { driverPath } from '../../src/memory/sqlite-wal.js';
import type { WriteThreadOptions } from '../../src/memory/sqlite-write-thread.js';
import { SqliteMemory } from '../../src/sqlite.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'macro-write-thread-more-'));
  path = join(dir, 'runs.db');
  await new SqliteMemory({ path, writeThread: false }).close(); // the file, set up and migrated
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** The thread's settings for the database at `path`. */
const settings = (): WriteThreadOptions => ({
  driver: driverPath(Database),
  file: path,
  synchronous: 'NORMAL',
  autocheckpoint: 1000,
  sql: SQL,
});

/** The settings (`workerData`) of each write thread started in this file, in order. */
const started = vi.hoisted((): WriteThreadOptions[] => []);

vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  /** Node's Worker, noting the settings a write thread is started with. */
  class Worker extends real.Worker {
    constructor(code: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      const data = options?.workerData as WriteThreadOptions | undefined;
      if (data?.sql === SQL) started.push(data);
      super(code, options);
    }
  }
  return { ...real, Worker };
});

// Imported afresh, after the mock: a run that shares one module graph between test files
// (Stryker's, `isolate: false`) may have loaded the module already, with Node's own Worker.
vi.resetModules();
const { startWriteThread, WriteThread } = await import('../../src/memory/sqlite-write-thread.js');

/** The settings of the write threads started from now on. */
function startedWith(): WriteThreadOptions[] {
  started.length = 0;
  return started;
}

describe('startWriteThread', () => {
  it("opens the thread's connection with synchronous FULL when the adapter's connection has FULL", async () => {
    const started = startedWith();
    const db = new Database(path);
    db.pragma('synchronous = FULL');
    const thread = startWriteThread(db, path, Database, SQL);
    expect(started.map((s) => s.synchronous)).toEqual(['FULL']);
    await thread?.close();
    db.close();
  });

  it("opens the thread's connection with synchronous NORMAL when the adapter's connection has NORMAL", async () => {
    const started = startedWith();
    const db = new Database(path);
    db.pragma('synchronous = NORMAL');
    const thread = startWriteThread(db, path, Database, SQL);
    expect(started.map((s) => s.synchronous)).toEqual(['NORMAL']);
    await thread?.close();
    db.close();
  });

  it("gives the thread the adapter connection's wal_autocheckpoint, file and statements", async () => {
    const started = startedWith();
    const db = new Database(path);
    db.pragma('wal_autocheckpoint = 321');
    const thread = startWriteThread(db, path, Database, SQL);
    expect(started).toEqual([expect.objectContaining({ autocheckpoint: 321, file: path, sql: SQL })]);
    await thread?.close();
    db.close();
  });
});

describe('WriteThread', () => {
  it('is dead as soon as close() is called, before its thread has ended', async () => {
    const thread = new WriteThread({}, settings());
    const closing = thread.close();
    expect(thread.dead).toBe(true);
    await closing;
    expect(thread.dead).toBe(true);
  });

  it('ends the thread of an owner that was garbage-collected without close()', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // The owner is referenced by nothing but the registry: the next full collection takes it.
    const thread = new WriteThread({}, settings());
    expect(thread.dead).toBe(false);
    await vi.waitFor(
      () => {
        gc();
        expect(thread.dead).toBe(true); // the thread has closed its connection and ended
      },
      { timeout: 15_000, interval: 50 },
    );
  });
});
