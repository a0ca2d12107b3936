/**
 * WriteThread and startWriteThread beyond test/memory/sqlite-write-thread.test.ts: the
 * settings the thread's connection is opened with (`writeThreadOptions`: read from the
 * adapter's connection, no Worker mocked, so that the file also runs in the mutation
 * config's shared module graph), when it counts as dead, and the thread of an adapter
 * dropped without `close()`.
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
import {
  startWriteThread,
  WriteThread,
  type WriteThreadOptions,
  writeThreadOptions,
} from '../../src/memory/sqlite-write-thread.js';
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

describe('writeThreadOptions', () => {
  it("gives the thread's connection synchronous FULL when the adapter's connection has FULL", () => {
    const db = new Database(path);
    db.pragma('synchronous = FULL');
    expect(writeThreadOptions(db, path, Database, SQL).synchronous).toBe('FULL');
    db.close();
  });

  it("gives the thread's connection synchronous NORMAL when the adapter's connection has NORMAL", () => {
    const db = new Database(path);
    db.pragma('synchronous = NORMAL');
    expect(writeThreadOptions(db, path, Database, SQL).synchronous).toBe('NORMAL');
    db.close();
  });

  it("gives the thread the adapter connection's wal_autocheckpoint, file, driver and statements", () => {
    const db = new Database(path);
    db.pragma('wal_autocheckpoint = 321');
    expect(writeThreadOptions(db, path, Database, SQL)).toEqual({
      driver: driverPath(Database),
      file: path,
      synchronous: expect.any(String),
      autocheckpoint: 321,
      sql: SQL,
    });
    db.close();
  });
});

describe('startWriteThread', () => {
  it('starts a live thread for a file database', async () => {
    const db = new Database(path);
    const thread = startWriteThread(db, path, Database, SQL);
    expect(thread?.dead).toBe(false);
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
