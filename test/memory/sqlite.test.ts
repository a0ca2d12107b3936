import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMacroError, type MacroResult, type StageRecord } from '../../src/index.js';
import { SQLITE_SCHEMA_VERSION, SqliteMemory, type SqliteMemoryOptions } from '../../src/sqlite.js';
import { audit, checkpoint, header, memoryAdapterContract, result, stage } from '../../src/testing.js';

/** A stage record with its keys in the order the engine makes them (the fixture's `agent` comes earlier). */
function engineStage(path: string, output: unknown): StageRecord {
  const { agent, ...rest } = stage(path, output);
  return { ...rest, agent } as StageRecord;
}

/** `result(runId)` with an engine-made record. */
function engineResult(runId: string): MacroResult {
  return { ...result(runId), stages: { 'write/draft': engineStage('write/draft', { title: 'WAL' }) } };
}

const open: SqliteMemory[] = [];
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-sqlite-'));
});
afterEach(async () => {
  for (const memory of open.splice(0)) await memory.close();
  rmSync(dir, { recursive: true, force: true });
});

function sqlite(pathOrOptions: string | SqliteMemoryOptions = ':memory:'): SqliteMemory {
  const memory = new SqliteMemory(pathOrOptions);
  open.push(memory);
  return memory;
}

/** What `new SqliteMemory({ path })` throws (fails the test if it opens). */
function opening(path: string): unknown {
  try {
    sqlite({ path });
  } catch (error) {
    return error;
  }
  throw new Error(`${path} opened`);
}

/** A file of 8 KiB of bytes that are no SQLite database, in `folder`. */
function garbage(folder: string): string {
  const file = join(folder, 'garbage.db');
  writeFileSync(file, Buffer.alloc(8192, 'not a database '));
  return file;
}

/** An SQLite file of this adapter whose table of runs is overwritten with garbage: it opens, and breaks at first use. */
function damagedRuns(folder: string): string {
  const file = join(folder, 'damaged.db');
  const db = new SqliteMemory({ path: file, walThread: false });
  db.db.exec(
    "INSERT INTO runs (run_id, macro, produced_by, status, started_at, updated_at) VALUES ('r1', 'm', 'm', 'running', 1, 1)",
  );
  const { page, size } = db.db
    .prepare(
      "SELECT rootpage AS page, (SELECT page_size FROM pragma_page_size) AS size FROM sqlite_schema WHERE name = 'runs'",
    )
    .get() as { page: number; size: number };
  void db.close(); // no thread (walThread: false): closed when it returns
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(size, 0xee), 0, size, (page - 1) * size);
  closeSync(fd);
  return file;
}

// `dispose` closes each test's connection as soon as it ends; afterEach closes any other.
const harness = { describe, it, dispose: (memory: SqliteMemory) => memory.close() };
memoryAdapterContract('SqliteMemory', () => sqlite(), harness);
memoryAdapterContract('SqliteMemory on a file', () => sqlite(join(dir, 'runs.db')), harness);

describe('SqliteMemory', () => {
  it('keeps runs, checkpoints and audit records across reopening the file', async () => {
    const file = join(dir, 'runs.db');
    const first = sqlite(file);
    await first.beginRun(header('r1'));
    await first.saveCheckpoint('r1', checkpoint(4, [stage('write/a', { n: 1 })]), [audit('r1', 2)]);
    await first.close();
    const second = sqlite(file);
    expect((await second.loadRun('r1'))?.checkpoints[0]?.stages[0]?.output).toEqual({ n: 1 });
    expect(await second.readAudit('r1')).toEqual([audit('r1', 2)]);
  });

  it('stores the spans and records of checkpoints and results as tuples, and loads them as they were', async () => {
    const memory = sqlite();
    const saved = checkpoint(1, [engineStage('write/a', { n: 1 })]);
    await memory.beginRun(header('r1'));
    await memory.saveCheckpoint('r1', saved, []);
    const data = memory.db.prepare('SELECT data FROM checkpoints').pluck().get() as string;
    const checkpoints = (await memory.loadRun('r1'))?.checkpoints;
    await memory.saveResult(engineResult('r1'));
    const row = memory.db.prepare('SELECT result FROM runs').pluck().get() as string;
    expect([
      Array.isArray(JSON.parse(data).stages[0]),
      Array.isArray(JSON.parse(data).timeline[0]),
      Array.isArray(JSON.parse(row).stages['write/draft']),
      JSON.stringify(checkpoints),
      JSON.stringify(await memory.loadResult('r1')),
    ]).toEqual([true, true, true, JSON.stringify([saved]), JSON.stringify(engineResult('r1'))]);
  });

  it('loads checkpoints and results an earlier version stored with objects for spans and records', async () => {
    const memory = sqlite();
    const saved = checkpoint(1, [engineStage('write/a', { n: 1 })]);
    await memory.beginRun(header('r1'));
    memory.db
      .prepare(
        "INSERT INTO checkpoints (run_no, seq, at, data) VALUES ((SELECT id FROM runs WHERE run_id = 'r1'), ?, ?, ?)",
      )
      .run(1, saved.at, JSON.stringify(saved));
    memory.db
      .prepare(
        'INSERT INTO runs (run_id, macro, produced_by, status, started_at, updated_at, result) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run('r2', 'write', 'write', 'succeeded', 1_000, 1_500, JSON.stringify(result('r2')));
    expect([(await memory.loadRun('r1'))?.checkpoints, await memory.loadResult('r2')]).toEqual([
      [saved],
      result('r2'),
    ]);
  });

  it('puts a file database in WAL mode', () => {
    const memory = sqlite(join(dir, 'runs.db'));
    expect(memory.db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('records the schema version it migrated to', () => {
    const memory = sqlite(join(dir, 'runs.db'));
    expect(memory.db.prepare('SELECT max(version) AS v FROM schema_version').get()).toEqual({
      v: SQLITE_SCHEMA_VERSION,
    });
  });

  it('does not migrate a file that is already at the current version again', async () => {
    const file = join(dir, 'runs.db');
    await sqlite(file).close();
    const memory = sqlite(file);
    expect(memory.db.prepare('SELECT count(*) AS n FROM schema_version').get()).toEqual({
      n: SQLITE_SCHEMA_VERSION,
    });
  });

  it('refuses a file whose schema is newer than it knows', async () => {
    const file = join(dir, 'runs.db');
    await sqlite(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SQLITE_SCHEMA_VERSION + 1);
    db.close();
    let caught: unknown;
    try {
      sqlite(file);
    } catch (error) {
      caught = error;
    }
    expect(isMacroError(caught) && caught.code).toBe('PERSISTENCE_FAILED');
  });

  it.each([
    ['a directory', (d: string) => d, 'unable to open database file'],
    [
      'a file in a folder that does not exist',
      (d: string) => join(d, 'missing', 'runs.db'),
      'directory does not exist',
    ],
    ['a file of garbage bytes', (d: string) => garbage(d), 'file is not a database'],
  ])('refuses to open %s with PERSISTENCE_FAILED naming it, the driver error its cause', (_, path, says) => {
    const file = path(dir);
    const error = opening(file);
    expect(error).toMatchObject({ code: 'PERSISTENCE_FAILED', message: expect.stringContaining(says) });
    expect((error as Error).message).toContain(JSON.stringify(file));
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(isMacroError((error as Error).cause)).toBe(false);
  });

  it('rejects a read of a file damaged since it was written with PERSISTENCE_FAILED naming it', async () => {
    const file = damagedRuns(dir);
    await expect(sqlite(file).listRuns()).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: expect.stringContaining(`listRuns on ${JSON.stringify(file)} failed: the file is damaged`),
      cause: { code: 'SQLITE_CORRUPT' },
    });
  });

  it('rejects a write to a file damaged since it was written with PERSISTENCE_FAILED naming it', async () => {
    const file = damagedRuns(dir);
    await expect(sqlite(file).deleteRun('r1')).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: expect.stringContaining(`deleteRun on ${JSON.stringify(file)} failed: the file is damaged`),
      cause: { code: 'SQLITE_CORRUPT' },
    });
  });

  it.each([
    { path: 'committed together on its connection', writeThread: false },
    { path: 'committed together in the write thread', writeThread: true },
  ])(
    'rejects the writes of a busy turn to a damaged file, $path, with PERSISTENCE_FAILED naming it',
    async ({ writeThread }) => {
      const file = damagedRuns(dir);
      const memory = sqlite({ path: file, writeThread });
      // Past the first few of a turn, writes wait for its end and commit together: 300 go to the thread.
      const begun = await Promise.allSettled(
        Array.from({ length: 300 }, (_, i) => memory.beginRun(header(`b${i}`))),
      );
      expect(begun.filter((outcome) => outcome.status === 'rejected')).toHaveLength(300);
      for (const outcome of begun)
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({
          code: 'PERSISTENCE_FAILED',
          message: expect.stringContaining(`beginRun on ${JSON.stringify(file)} failed: the file is damaged`),
          cause: { code: 'SQLITE_CORRUPT' },
        });
    },
  );

  it("rejects a write that waited for another connection's lock on a damaged file with PERSISTENCE_FAILED naming it", async () => {
    const file = damagedRuns(dir);
    const memory = sqlite({ path: file, busyTimeoutMs: 5_000 });
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const write = memory.deleteRun('r1');
    setTimeout(() => {
      other.exec('COMMIT');
      other.close();
    }, 20);
    await expect(write).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: expect.stringContaining(`deleteRun on ${JSON.stringify(file)} failed: the file is damaged`),
      cause: { code: 'SQLITE_CORRUPT' },
    });
  });

  it('deletes a run with its checkpoints and audit trail', async () => {
    const memory = sqlite();
    await memory.beginRun(header('r1'));
    await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [audit('r1', 1)]);
    expect(await memory.deleteRun('r1')).toBe(true);
    expect(await memory.loadRun('r1')).toBeUndefined();
    expect(await memory.readAudit('r1')).toEqual([]);
    expect(memory.db.prepare('SELECT count(*) AS n FROM checkpoints').get()).toEqual({ n: 0 });
  });

  it('prunes finished runs that ended before a time and keeps running ones', async () => {
    const memory = sqlite();
    await memory.saveResult({ ...result('old'), endedAt: 100 });
    await memory.saveResult({ ...result('new'), endedAt: 900 });
    await memory.beginRun(header('live', { startedAt: 50 }));
    expect(await memory.prune({ endedBefore: 500 })).toBe(1);
    expect((await memory.listRuns()).map((r) => r.runId)).toEqual(['live', 'new']);
  });

  it.each([['x'], [Number.NaN], [undefined], [Number.POSITIVE_INFINITY]])(
    'refuses to prune before %j with INVALID_OPTIONS, deleting nothing',
    async (endedBefore) => {
      const memory = sqlite();
      await memory.saveResult({ ...result('old'), endedAt: 100 });
      await expect(memory.prune({ endedBefore } as never)).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('endedBefore'),
      });
      expect((await memory.listRuns()).map((r) => r.runId)).toEqual(['old']);
    },
  );

  it('keeps a suspended run when pruning, however long ago it suspended', async () => {
    const memory = sqlite();
    await memory.saveResult({ ...result('waiting', 'suspended'), endedAt: 100 });
    expect(await memory.prune({ endedBefore: 500 })).toBe(0);
    expect((await memory.listRuns()).map((r) => r.runId)).toEqual(['waiting']);
  });

  it('sees what another connection to the same file wrote', async () => {
    const file = join(dir, 'runs.db');
    const writer = sqlite(file);
    const reader = sqlite(file);
    await writer.beginRun(header('r1'));
    expect((await reader.listRuns({ status: 'running' })).map((r) => r.runId)).toEqual(['r1']);
  });
});

/** The error `open` throws, as `{ code, message }`; undefined when it does not throw. */
function openError(open: () => unknown): { code: unknown; message: string } | undefined {
  try {
    open();
  } catch (error) {
    return { code: isMacroError(error) ? error.code : undefined, message: (error as Error).message };
  }
  return undefined;
}

describe('SqliteMemory options', () => {
  it('rejects the unknown option filename with INVALID_OPTIONS naming it and the known ones', () => {
    const options = { filename: join(dir, 'runs.db') } as SqliteMemoryOptions;
    expect(openError(() => sqlite(options))).toEqual({
      code: 'INVALID_OPTIONS',
      message:
        'Unknown option "filename" in SqliteMemory options (known: path, synchronous, busyTimeoutMs, walThread, writeThread, owner, leaseMs)',
    });
  });

  it('creates no database file when an option is unknown', () => {
    const file = join(dir, 'runs.db');
    openError(() => sqlite({ path: file, busyTimeout: 100 } as SqliteMemoryOptions));
    expect(existsSync(file)).toBe(false);
  });

  it.each([
    ['options that are null', null],
    ['options that are an array', ['runs.db']],
    ['an empty path string', ''],
    ['an empty path option', { path: '' }],
    ['a path that is not a string', { path: 42 }],
    ['synchronous "off"', { synchronous: 'off' }],
    ['synchronous in capitals', { synchronous: 'FULL' }],
    ['a negative busyTimeoutMs', { busyTimeoutMs: -1 }],
    ['a busyTimeoutMs of NaN', { busyTimeoutMs: Number.NaN }],
    ['an infinite busyTimeoutMs', { busyTimeoutMs: Number.POSITIVE_INFINITY }],
    ['a busyTimeoutMs given as a string', { busyTimeoutMs: '5000' }],
  ])('rejects %s with INVALID_OPTIONS', (_, options) => {
    expect(openError(() => sqlite(options as SqliteMemoryOptions))?.code).toBe('INVALID_OPTIONS');
  });

  it('rejects a path with a NUL character with INVALID_OPTIONS, opening no file at the part before it', () => {
    const file = join(dir, 'runs.db');
    expect(openError(() => sqlite(`${file}\0.bak`))).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('Invalid option "path" in SqliteMemory options'),
    });
    expect(existsSync(file)).toBe(false);
  });
});

describe('SqliteMemory closed while its connection is busy', () => {
  it('rejects close() with PERSISTENCE_FAILED naming the file, and closes when called again once the iteration is over', async () => {
    const path = join(dir, 'runs.db');
    const memory = sqlite(path);
    await memory.beginRun(header('r1'));
    let closing: Promise<void> | undefined;
    for (const _ of memory.db.prepare('SELECT run_id FROM runs').iterate()) closing = memory.close();
    await expect(closing).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: `SqliteMemory close() on ${JSON.stringify(path)} failed: This database connection is busy executing a query`,
      cause: expect.any(TypeError),
    });
    expect(memory.db.open).toBe(true);
    await memory.close();
    expect(memory.db.open).toBe(false);
  });
});

describe('SqliteMemory closed while a write waits for the lock', () => {
  it('rejects that write with PERSISTENCE_FAILED, the driver error its cause', async () => {
    const path = join(dir, 'runs.db');
    const memory = sqlite({ path, busyTimeoutMs: 10_000 });
    await memory.listRuns(); // the schema exists before the other connection locks
    const other = new Database(path);
    other.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE'); // holds the write lock
    const waiting = memory.beginRun(header('r1'));
    void memory.close(); // rejects `waiting` at once; afterEach awaits the thread
    other.exec('ROLLBACK');
    other.close();
    const error = await waiting.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: 'SqliteMemory beginRun after close(): the adapter is closed',
    });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });
});
