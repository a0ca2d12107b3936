/**
 * SqliteMemory's lock queue on its own: writes waiting for a lock run in order, pause 1 ms
 * then twice as long each time up to 50 ms, give up after busyTimeoutMs, and leave the
 * queue idle once the last has settled. The clock is faked: no test waits for real.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LockQueue } from '../../src/memory/sqlite-lock-queue.js';

const busy = () => new Database.SqliteError('database is locked', 'SQLITE_BUSY');

/** A queue whose adapter is open until `open.value` turns false; its errors say what they are. */
function queue(busyTimeoutMs = 100, open = { value: true }) {
  return new LockQueue({
    busyTimeoutMs,
    isOpen: () => open.value,
    afterClose: (operation, cause) => Object.assign(new Error(`${operation} after close`), { cause }),
    lockTimeout: (operation, waitedMs, cause) =>
      Object.assign(new Error(`${operation} waited ${waitedMs}`), { cause }),
    failed: (operation, cause) => Object.assign(new Error(`${operation} failed`), { cause }),
  });
}

/** When the test began on the fake clock: not 0, so that a time mixed up with a duration shows. */
let start = 0;

/** An attempt that meets a lock `times` times, then returns `value`; `at` gets the time of each try, from the start. */
function lockedFor(times: number, value: unknown, at: number[] = []) {
  let tries = 0;
  return () => {
    at.push(performance.now() - start);
    if (tries++ < times) throw busy();
    return value;
  };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
  vi.advanceTimersByTime(1_000);
  start = performance.now();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LockQueue', () => {
  it('pauses 1 ms before the first try of a write that met a lock, then twice as long each time, up to 50 ms', async () => {
    const at: number[] = [];
    const locks = queue(10_000);
    const done = locks.enqueue('saveCheckpoint', lockedFor(8, 'stored', at), busy());
    await vi.advanceTimersByTimeAsync(300);
    await expect(done).resolves.toBe('stored');
    expect(at).toEqual([1, 3, 7, 15, 31, 63, 113, 163, 213]);
  });

  it('gives up once busyTimeoutMs has passed, with the last lock as the cause, after a last try at the deadline', async () => {
    const at: number[] = [];
    const locks = queue(100);
    const done = locks.enqueue('saveCheckpoint', lockedFor(Number.POSITIVE_INFINITY, 'never', at), busy());
    const outcome = expect(done).rejects.toMatchObject({
      message: 'saveCheckpoint waited 100',
      cause: { code: 'SQLITE_BUSY' },
    });
    await vi.advanceTimersByTimeAsync(200);
    await outcome;
    expect(at).toEqual([1, 3, 7, 15, 31, 63, 100]);
  });

  it("rejects a queued write that fails with anything but a lock with the adapter's error for it, at once", async () => {
    const locks = queue(10_000);
    const first = locks.enqueue('beginRun', lockedFor(0, 'begun'), busy());
    const refused = new TypeError('not storable');
    const second = locks.enqueue(
      'saveCheckpoint',
      () => {
        throw refused;
      },
      undefined,
    );
    const outcome = expect(second).rejects.toMatchObject({
      message: 'saveCheckpoint failed',
      cause: refused,
    });
    await vi.advanceTimersByTimeAsync(1);
    await expect(first).resolves.toBe('begun');
    await outcome;
  });

  it("rejects a write that met a lock, then fails with anything but a lock, with the adapter's error for it", async () => {
    const locks = queue(10_000);
    const damaged = new Database.SqliteError('database disk image is malformed', 'SQLITE_CORRUPT');
    const write = locks.enqueue(
      'saveResult',
      () => {
        throw damaged;
      },
      busy(),
    );
    const outcome = expect(write).rejects.toMatchObject({ message: 'saveResult failed', cause: damaged });
    await vi.advanceTimersByTimeAsync(1);
    await outcome;
  });

  it('rejects a queued write whose adapter closed while it waited with the after-close error, the driver error its cause', async () => {
    const open = { value: true };
    const locks = queue(10_000, open);
    const first = locks.enqueue('beginRun', lockedFor(0, 'begun'), busy());
    const closed = new TypeError('The database connection is not open');
    const second = locks.enqueue(
      'saveCheckpoint',
      () => {
        throw closed;
      },
      undefined,
    );
    const outcome = expect(second).rejects.toMatchObject({
      message: 'saveCheckpoint after close',
      cause: closed,
    });
    open.value = false;
    await vi.advanceTimersByTimeAsync(1);
    await first;
    await outcome;
  });

  it('rejects a write whose adapter closed while it waited for a lock with the after-close error', async () => {
    const open = { value: true };
    const locks = queue(10_000, open);
    const closed = new TypeError('The database connection is not open');
    const done = locks.enqueue(
      'saveCheckpoint',
      () => {
        throw open.value ? busy() : closed;
      },
      busy(),
    );
    const outcome = expect(done).rejects.toMatchObject({
      message: 'saveCheckpoint after close',
      cause: closed,
    });
    await vi.advanceTimersByTimeAsync(1); // a first try after the pause: still locked
    open.value = false;
    await vi.advanceTimersByTimeAsync(2);
    await outcome;
  });

  it('runs queued writes in the order they were made, each after the one before has settled', async () => {
    const order: string[] = [];
    const locks = queue(10_000);
    const made = [
      locks.enqueue('a', lockedFor(2, 'a'), busy()),
      locks.enqueue('b', lockedFor(1, 'b'), undefined),
      locks.enqueue('c', () => 'c', undefined),
    ].map((p) => p.then((v) => order.push(v as string)));
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(made);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('is idle once the last queued write has settled, and not before', async () => {
    const locks = queue(10_000);
    expect(locks.idle).toBe(true);
    const first = locks.enqueue('a', lockedFor(0, 'a'), busy());
    const second = locks.enqueue('b', lockedFor(1, 'b'), undefined); // meets the lock again after a
    expect(locks.idle).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await first;
    expect(locks.idle).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    await second;
    await Promise.resolve();
    expect(locks.idle).toBe(true);
  });

  it('gives the event loop a turn once it has run for a slice without one', async () => {
    const locks = queue(10_000);
    const ran: string[] = [];
    const first = locks.enqueue(
      'a',
      () => {
        vi.advanceTimersByTime(20); // a write that took 20 ms: the slice is spent
        ran.push('a');
      },
      undefined,
    );
    const later = locks.enqueue('b', () => ran.push('b'), undefined);
    setImmediate(() => ran.push('turn'));
    await first;
    await vi.advanceTimersByTimeAsync(0);
    await later;
    expect(ran).toEqual(['a', 'turn', 'b']);
  });

  it('runs the next queued write at once while the slice lasts', async () => {
    const locks = queue(10_000);
    const ran: string[] = [];
    const first = locks.enqueue('a', () => ran.push('a'), undefined);
    const later = locks.enqueue('b', () => ran.push('b'), undefined);
    setImmediate(() => ran.push('turn'));
    await first;
    await later;
    expect(ran).toEqual(['a', 'b']);
  });
});
