/**
 * The FULL checkpoint SqliteMemory's close() makes (finalCheckpoint): SQLite gives up at once,
 * with no busy wait, when another connection's checkpoint holds the checkpoint lock (the WAL
 * thread's at its tick), so it is tried again within its bound until the log is copied in.
 * A stand-in connection answers as SQLite would: `busy: 1` while the lock is held.
 */
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { finalCheckpoint } from '../../src/memory/sqlite-wal.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A connection whose checkpoints answer with `answers` in turn (a function throws), then `busy: 0`. */
function connection(answers: (number | (() => never))[], busyTimeout: () => void = () => {}) {
  const pragmas: string[] = [];
  let checkpoints = 0;
  const db = {
    pragma(sql: string) {
      pragmas.push(sql);
      if (sql.startsWith('busy_timeout')) return busyTimeout();
      const answer = answers[checkpoints++] ?? 0;
      if (typeof answer === 'function') return answer();
      return [{ busy: answer, log: 10, checkpointed: answer === 0 ? 10 : 0 }];
    },
  };
  return {
    db: db as unknown as Database.Database,
    pragmas,
    checkpoints: () => checkpoints,
  };
}

const locked = (): never => {
  throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
};

/** `performance.now` from 0, `step` ms further at each reading. */
function steppingClock(step: number): void {
  let clock = -step;
  vi.spyOn(performance, 'now').mockImplementation(() => (clock += step));
}

/** A connection busy at every checkpoint. */
const alwaysBusy = () => connection(Array.from({ length: 1_000 }, () => 1));

describe('finalCheckpoint', () => {
  it('checkpoints once when the log is copied in at the first try, waiting at most 100 ms', () => {
    steppingClock(0);
    const c = connection([0]);
    finalCheckpoint(c.db, 5_000);
    expect(c.pragmas).toEqual(['busy_timeout = 100', 'wal_checkpoint(FULL)']);
  });

  it("tries again while another connection's checkpoint holds the lock, until the log is copied in", () => {
    steppingClock(0);
    const c = connection([1, 1, 0, 1]);
    finalCheckpoint(c.db, 5_000);
    expect(c.checkpoints()).toBe(3);
  });

  it('tries again after a checkpoint that threw busy', () => {
    steppingClock(0);
    const c = connection([locked, 0]);
    finalCheckpoint(c.db, 5_000);
    expect(c.checkpoints()).toBe(2);
  });

  it('gives each try only what is left of the busy timeout, and gives up once it is spent', () => {
    steppingClock(10); // the bound is ceil(25.5) = 26 ms from 0; each try reads the clock twice
    const c = alwaysBusy();
    finalCheckpoint(c.db, 25.5);
    expect(c.pragmas.filter((sql) => sql.startsWith('busy_timeout'))).toEqual([
      'busy_timeout = 16',
      'busy_timeout = 0',
    ]);
  });

  it('waits at most 100 ms in all however long the busy timeout', () => {
    steppingClock(10);
    const c = alwaysBusy();
    finalCheckpoint(c.db, 60_000);
    expect(c.pragmas.filter((sql) => sql.startsWith('busy_timeout'))).toEqual(
      [90, 70, 50, 30, 10].map((ms) => `busy_timeout = ${ms}`),
    );
  });

  it('makes no checkpoint on a connection that cannot take the busy timeout (closed or broken)', () => {
    const c = connection([0], () => {
      throw new TypeError('The database connection is not open');
    });
    finalCheckpoint(c.db, 5_000);
    expect(c.checkpoints()).toBe(0);
  });
});
