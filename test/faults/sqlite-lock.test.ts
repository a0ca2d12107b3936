/**
 * `SqliteMemory` when another connection holds the database lock: waiting for it never
 * blocks the event loop, an operation that waits past `busyTimeoutMs` rejects with
 * `PERSISTENCE_FAILED` and stores nothing, and one that gets the lock in time is stored
 * once, in the order it was made.
 *
 * The lock is held by a real second process (fixtures/sqlite-locker.ts). In WAL mode
 * readers never wait for the writer's `BEGIN IMMEDIATE`; they meet a lock where WAL is not
 * available (a file in rollback journal mode, as on a file system without shared memory)
 * and another process holds `BEGIN EXCLUSIVE`, which is how the read tests set it up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isMacroError, type MacroError } from '../../src/index.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { audit, checkpoint, header, result, stage } from '../../src/testing.js';
import { exited, lines } from '../support/index.js';

const fixture = join(import.meta.dirname, 'fixtures', 'sqlite-locker.ts');

/** The budget of the operations that are meant to give up. */
const BUDGET_MS = 1_000;
/** The budget of the operations that are meant to get the lock: far longer than the test needs. */
const LONG_BUDGET_MS = 15_000;
/** How late an operation may give up: generous, the machine may be busy with other tests. */
const GRACE_MS = 1_500;
/**
 * The longest the event loop may stall while an operation waits. A blocking wait stalls
 * it for the whole budget (1,000 ms); an asynchronous one for a few ms, plus whatever a
 * loaded 2-core machine adds (107 ms was seen once at a load average of 9).
 */
const MAX_STALL_MS = 250;
/** The largest share of a wait the event loop may be busy: a blocking wait keeps it near 1. */
const MAX_UTILIZATION = 0.5;

/** A second process holding the write lock of a database file. */
interface Locker {
  readonly proc: ChildProcess;
  /** Commits, closes the file and waits for the process to exit. */
  release(): Promise<void>;
}

const lockers: Locker[] = [];

/**
 * Starts a process that locks `file` (creating it if missing) and waits until it holds
 * the lock; afterEach kills it.
 */
async function lock(file: string, mode: 'immediate' | 'exclusive' = 'immediate'): Promise<Locker> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture, file, mode], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const out = lines(proc);
  const locker: Locker = {
    proc,
    release: async () => {
      proc.stdin?.write('release\n');
      await out.next((line) => line === 'released');
      await exited(proc);
    },
  };
  lockers.push(locker);
  await out.next((line) => line === 'locked');
  return locker;
}

/** Kills a locker that is still running and waits for it to be gone. */
async function kill({ proc }: Locker): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGKILL');
  await exited(proc);
}

/**
 * Takes `memory`'s file out of WAL mode, into rollback journal mode, as when WAL is not
 * available: there a transaction of another process can hold readers off.
 */
function withoutWal(memory: SqliteMemory): SqliteMemory {
  expect(memory.db.pragma('journal_mode = DELETE', { simple: true })).toBe('delete');
  return memory;
}

const memories: SqliteMemory[] = [];
let dir: string;
let file: string;

function openMemory(busyTimeoutMs: number, path = file, walThread = true): SqliteMemory {
  const memory = new SqliteMemory({ path, busyTimeoutMs, walThread });
  memories.push(memory);
  return memory;
}

/**
 * An adapter on `file` in rollback journal mode, with no WAL thread: a thread of another
 * adapter on the file, reading it as it ticks, made the switch out of WAL mode meet
 * `database is locked` (once in CI, on Node 24).
 */
function openWithoutWal(busyTimeoutMs: number): SqliteMemory {
  return withoutWal(openMemory(busyTimeoutMs, file, false));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-sqlite-lock-'));
  file = join(dir, 'runs.db');
});

afterEach(async () => {
  for (const locker of lockers.splice(0)) await kill(locker);
  for (const memory of memories.splice(0)) await memory.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What `work()` rejected or threw with; fails the test if it resolved. */
async function rejection(work: () => unknown): Promise<MacroError> {
  try {
    await work();
  } catch (error) {
    return error as MacroError;
  }
  throw new Error('expected the operation to fail');
}

/**
 * How the event loop fared while `work()` ran (whether it resolved or rejected):
 * `longestStallMs`, the largest gap between the ticks of a 10 ms interval, counted from the
 * call to the end; `utilization`, the share of the time the loop was busy rather than
 * waiting for I/O or timers (`performance.eventLoopUtilization`). A wait that blocks has
 * one long stall and a utilization near 1; one that polls in short blocking slices has a
 * high utilization.
 */
async function loopDuring(work: () => unknown): Promise<{ longestStallMs: number; utilization: number }> {
  const elu = performance.eventLoopUtilization();
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  try {
    await work();
  } catch {
    // the outcome is other tests' business
  } finally {
    clearInterval(tick);
  }
  return {
    longestStallMs: Math.max(longest, performance.now() - last),
    utilization: performance.eventLoopUtilization(elu).utilization,
  };
}

const cp = (seq: number) => checkpoint(seq, [stage(`write/s${seq}`, { n: seq })]);
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('SqliteMemory while another process holds the write lock', () => {
  let memory: SqliteMemory;
  /** A connection with a longer budget, holding the lease of run p1. */
  let patient: SqliteMemory;
  let locker: Locker;

  beforeEach(async () => {
    memory = openMemory(BUDGET_MS);
    await memory.beginRun(header('r1'));
    patient = openMemory(LONG_BUDGET_MS);
    await patient.beginRun(header('p1'));
    locker = await lock(file);
  });

  it('keeps the event loop turning while a write waits for the lock', async () => {
    const loop = await loopDuring(() => memory.saveResult(result('r1')));
    expect(loop.longestStallMs).toBeLessThan(MAX_STALL_MS);
    expect(loop.utilization).toBeLessThan(MAX_UTILIZATION);
  });

  it("rejects a write with PERSISTENCE_FAILED, caused by the driver's SQLITE_BUSY, once its budget runs out", async () => {
    const error = await rejection(() => memory.saveCheckpoint('r1', cp(1), [audit('r1', 1)]));
    expect({
      code: isMacroError(error) && error.code,
      cause: error.cause instanceof Database.SqliteError && error.cause.code,
    }).toEqual({ code: 'PERSISTENCE_FAILED', cause: 'SQLITE_BUSY' });
  });

  it('says which operation on which file gave up after waiting how long', async () => {
    const error = await rejection(() => memory.saveCheckpoint('r1', cp(1), [audit('r1', 1)]));
    expect(error.message).toContain('saveCheckpoint');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/waited \d+ ms/);
  });

  it('rejects a write no earlier than its budget and within a bounded grace after it', async () => {
    const started = performance.now();
    const settled = memory.saveCheckpoint('r1', cp(1), []).then(
      () => undefined,
      () => performance.now() - started,
    );
    const first = await Promise.race([
      settled.then(() => 'settled'),
      sleep(BUDGET_MS - 200).then(() => 'still waiting'),
    ]);
    const elapsed = await settled;
    expect(first).toBe('still waiting');
    expect(elapsed).toBeGreaterThanOrEqual(BUDGET_MS);
    expect(elapsed).toBeLessThan(BUDGET_MS + GRACE_MS);
  });

  it('stores a write once when the lock is released within its budget', async () => {
    let stored = false;
    const write = patient.saveCheckpoint('p1', cp(1), [audit('p1', 1)]).then(() => {
      stored = true;
    });
    await sleep(300);
    const storedBeforeRelease = stored;
    await locker.release();
    await write;
    expect(storedBeforeRelease).toBe(false);
    expect((await patient.loadRun('p1'))?.checkpoints).toEqual([json(cp(1))]);
    expect(await patient.readAudit('p1')).toEqual([audit('p1', 1)]);
  });

  it('stores nothing of a write that gave up on the lock, also once the lock is released', async () => {
    const error = await rejection(() => memory.saveCheckpoint('r1', cp(1), [audit('r1', 1)]));
    expect(isMacroError(error) && error.code).toBe('PERSISTENCE_FAILED');
    await locker.release();
    await sleep(100); // a retry that outlived its rejection would land by now
    expect((await memory.loadRun('r1'))?.checkpoints).toEqual([]);
    expect(await memory.readAudit('r1')).toEqual([]);
  });

  it('applies the writes that waited for the lock in the order they were made', async () => {
    const writes = [
      patient.saveCheckpoint('p1', cp(1), []),
      sleep(30).then(() => patient.saveCheckpoint('p1', cp(2), [])),
      sleep(200).then(() => patient.saveCheckpoint('p1', cp(3), [])),
    ];
    await sleep(300);
    await locker.release();
    await Promise.all(writes);
    expect((await patient.loadRun('p1'))?.checkpoints.map((c) => c.seq)).toEqual([1, 2, 3]);
  });

  it('saves a result made while a checkpoint of its run waits after that checkpoint, so it supersedes it', async () => {
    const writes = [patient.saveCheckpoint('p1', cp(1), []), patient.saveResult(result('p1'))];
    await sleep(100);
    await locker.release();
    await Promise.all(writes);
    expect((await patient.loadRun('p1'))?.checkpoints).toEqual([]);
  });
});

describe('opening a new file while another process holds its write lock', () => {
  it('fails with PERSISTENCE_FAILED, caused by SQLITE_BUSY, once busyTimeoutMs runs out', async () => {
    await lock(file);
    const error = await rejection(() => openMemory(200));
    expect({
      code: isMacroError(error) && error.code,
      cause: error.cause instanceof Database.SqliteError && error.cause.code,
    }).toEqual({ code: 'PERSISTENCE_FAILED', cause: 'SQLITE_BUSY' });
  });
});

describe('SqliteMemory without WAL while another process holds the file exclusively', () => {
  let memory: SqliteMemory;

  beforeEach(async () => {
    memory = openWithoutWal(BUDGET_MS);
    await memory.beginRun(header('r1'));
  });

  it('keeps the event loop turning while a read waits for the lock', async () => {
    await lock(file, 'exclusive');
    const loop = await loopDuring(() => memory.loadRun('r1'));
    expect(loop.longestStallMs).toBeLessThan(MAX_STALL_MS);
    expect(loop.utilization).toBeLessThan(MAX_UTILIZATION);
  });

  it('returns what is stored from a read that gets the lock within its budget', async () => {
    // Opened before the lock is taken (opening waits by blocking); opening sets WAL mode again.
    const patient = openWithoutWal(LONG_BUDGET_MS);
    const locker = await lock(file, 'exclusive');
    let settled = false;
    const read = patient.loadRun('r1').finally(() => {
      settled = true;
    });
    await sleep(300);
    const settledBeforeRelease = settled;
    await locker.release();
    expect((await read)?.header).toEqual(json(header('r1')));
    expect(settledBeforeRelease).toBe(false);
  });
});

describe('every SqliteMemory method, without WAL while another process holds the file exclusively', () => {
  let tableDir: string;
  let memory: SqliteMemory;
  let locker: Locker;

  beforeAll(async () => {
    tableDir = mkdtempSync(join(tmpdir(), 'macro-sqlite-lock-'));
    const tableFile = join(tableDir, 'runs.db');
    memory = withoutWal(new SqliteMemory({ path: tableFile, busyTimeoutMs: 200, walThread: false }));
    await memory.beginRun(header('r1'));
    locker = await lock(tableFile, 'exclusive');
    lockers.splice(lockers.indexOf(locker), 1); // killed by afterAll, not after the first test
  });

  afterAll(async () => {
    if (locker !== undefined) await kill(locker);
    await memory?.close();
    rmSync(tableDir, { recursive: true, force: true });
  });

  it.each<[string, (m: SqliteMemory) => unknown]>([
    ['beginRun', (m) => m.beginRun(header('r2'))],
    ['saveCheckpoint', (m) => m.saveCheckpoint('r1', cp(1), [audit('r1', 1)])],
    ['saveResult', (m) => m.saveResult(result('r1'))],
    ['appendAudit', (m) => m.appendAudit([audit('r1', 2)])],
    ['deleteRun', (m) => m.deleteRun('r1')],
    ['prune', (m) => m.prune({ endedBefore: Date.now() })],
    ['loadRun', (m) => m.loadRun('r1')],
    ['loadResult', (m) => m.loadResult('r1')],
    ['readAudit', (m) => m.readAudit('r1')],
    ['listRuns', (m) => m.listRuns()],
  ])('rejects %s with PERSISTENCE_FAILED naming it once its budget runs out', async (name, call) => {
    const error = await rejection(() => call(memory));
    expect({
      code: isMacroError(error) && error.code,
      named: error.message.includes(name),
      cause: error.cause instanceof Database.SqliteError && error.cause.code,
    }).toEqual({ code: 'PERSISTENCE_FAILED', named: true, cause: 'SQLITE_BUSY' });
  });
});
